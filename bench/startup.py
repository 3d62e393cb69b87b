"""Start to first live frame, and the app's memory on the demo county.

Not measured yet: the first frame with a 1M-case imported history (it needs the bulk
import of external sources).

Both run the real app (main.py) in a subprocess on the offscreen platform with the
embedded demo county: the clock starts before the interpreter does and stops when the
window first shows live data (main.py --report-first-frame).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.table import Row

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _launch(extra: list[str], hold: float = 0.0, cache: str | None = None) -> tuple[float, float]:
    """(seconds to first live frame, RSS MB after ``hold`` more seconds). ``cache`` is
    the XDG cache directory (the demo's warmed-up history); None: a fresh empty one."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CC_CONFIG_DIR=tmp, CC_STATE_DIR=tmp)
        env["XDG_CACHE_HOME"] = cache or str(Path(tmp) / "cache")
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "main.py"),
                "--report-first-frame",
                "--geometry",
                "1920x1080",
                "--log-level",
                "WARNING",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        try:
            first = float("nan")
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("FIRST_LIVE_FRAME"):
                    first = time.monotonic() - t0
                    break
            time.sleep(hold)
            rss = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        return first, rss


def run(quick: bool = False) -> list[Row]:
    n = 1 if quick else 5
    with tempfile.TemporaryDirectory() as cache:
        first_ever = _launch([], cache=cache)[0]  # builds the county and caches its history
        firsts = [_launch([], cache=cache)[0] for _ in range(n)]
    _, rss = _launch(["--history-hours", "10"], hold=3.0)
    # 10 simulated hours streamed live through client, store and window (rate 1800x, 20 s).
    _, rss_live = _launch(["--history-hours", "1", "--rate", "1800"], hold=20.0)
    return [
        Row(
            "start to first live frame (median of cold starts)",
            statistics.median(firsts),
            "s",
            "<= 1 s",
            baseline=first_ever,
            note=f"{n} new processes, demo history from the disk cache: "
            + ", ".join(f"{x:.2f}" for x in firsts)
            + f"; baseline: first start ever (county built, history lived) {first_ever:.2f} s",
        ),
        Row(
            "app RSS, demo county with 10 h of history",
            rss,
            "MB",
            "",
            note="app + embedded server + simulator in one process",
        ),
        Row(
            "app RSS after 10 simulated hours streamed live",
            rss_live,
            "MB",
            "",
            note="rate 1800x for 20 s: every event through client, store, window",
        ),
    ]
