"""Start to first live frame (embedded demo; with a 1M-case imported history), and the
app's memory on the demo county.

Every row runs the real app (main.py) in a subprocess on the offscreen platform with one
1920x1080 screen (the offscreen plugin's default screen is 800x600, where the duty
console would be folded and squeezed as on no real console): the clock starts before the
interpreter does and stops when the window first shows live data
(main.py --report-first-frame).

Bytecode: a console installed from a wheel has its modules compiled; a source checkout
run with PYTHONDONTWRITEBYTECODE compiles ~130 modules at every start. The cold starts
keep bytecode in the bench's own cache directory, written by the first start ever (the
baseline); one row shows the starts without it.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.table import Row

ROOT = Path(__file__).resolve().parents[1]
SCREEN = {
    "screens": [
        {
            "name": "bench-1080p",
            "x": 0,
            "y": 0,
            "width": 1920,
            "height": 1080,
            "logicalDpi": 96,
            "logicalBaseDpi": 96,
            "dpr": 1,
        }
    ]
}
HISTORY_TIMEOUT_S = 60.0  # a start with 1M imported cases that takes longer is reported


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _first_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> bool:
    """Whether ``proc`` printed a line starting with ``prefix`` within ``timeout``."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            return False
        if not line:
            return False  # the app ended
        if line.startswith(prefix):
            return True
    return False


class Launcher:
    """Starts the app as an operator would, each time in a new process with fresh state
    (a copy of ``state`` when given), sharing the demo's history cache and the bytecode."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.cache = tmp / "cache"  # XDG cache: the demo county's warmed-up history
        self.pycache = tmp / "pycache"
        self.screen = tmp / "screen.json"
        self.screen.write_text(json.dumps(SCREEN), encoding="utf-8")
        self.runs = 0

    def env(self, state: Path, bytecode: bool = True) -> dict[str, str]:
        env = dict(
            os.environ,
            QT_QPA_PLATFORM=f"offscreen:configfile={self.screen}",
            CC_CONFIG_DIR=str(state / "config"),
            CC_STATE_DIR=str(state),
            XDG_CACHE_HOME=str(self.cache),
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if bytecode:
            env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def launch(
        self,
        extra: list[str],
        hold: float = 0.0,
        state: Path | None = None,
        bytecode: bool = True,
        timeout: float = 60.0,
    ) -> tuple[float, float]:
        """(seconds to first live frame or NaN after ``timeout``, RSS MB ``hold`` seconds
        later)."""
        self.runs += 1
        run_state = self.tmp / f"state-{self.runs}"
        if state is not None:
            shutil.copytree(state, run_state)
        run_state.mkdir(exist_ok=True)
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
            env=self.env(run_state, bytecode),
            text=True,
        )
        try:
            shown = _first_line(proc, "FIRST_LIVE_FRAME", timeout)
            first = time.monotonic() - t0 if shown else float("nan")
            time.sleep(hold)
            rss = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(run_state, ignore_errors=True)
        return first, rss

    def imported_history(self, n: int) -> Path:
        """A state directory whose journal holds ``n`` cases imported by ``main.py import``
        (the 12345-style export of bench/sources.py)."""
        from bench.sources import PROFILE, make_frame

        d = self.tmp / f"history-{n}"
        d.mkdir()
        csv, profile = d / "export.csv", d / "bench.toml"
        make_frame(n).to_csv(csv, index=False)
        profile.write_text(PROFILE, encoding="utf-8")
        state = d / "state"
        state.mkdir()
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "main.py"),
                "import",
                "--profile",
                str(profile),
                "--journal",
                str(state / "journal.sqlite3"),
                str(csv),
            ],
            env=self.env(state),
            check=True,
            capture_output=True,
        )
        csv.unlink()
        return state


def _times(xs: list[float]) -> str:
    return ", ".join("—" if x != x else f"{x:.2f}" for x in xs)


def _median(xs: list[float]) -> float:
    ok = [x for x in xs if x == x]
    return statistics.median(ok) if len(ok) == len(xs) else float("nan")


def run(quick: bool = False) -> list[Row]:
    n = 1 if quick else 5
    n_hist = 1 if quick else 3
    cases = 100_000 if quick else 1_000_000
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        app = Launcher(Path(tmp))
        first_ever = app.launch([])[0]  # builds the county, caches its history and bytecode
        firsts = [app.launch([])[0] for _ in range(n)]
        no_bytecode = [app.launch([], bytecode=False)[0] for _ in range(max(1, n // 2))]
        history = app.imported_history(cases)
        with_history = [
            app.launch([], state=history, timeout=HISTORY_TIMEOUT_S)[0] for _ in range(n_hist)
        ]
        _, rss = app.launch(["--history-hours", "10"], hold=3.0)
        # 10 simulated hours streamed live through client, store and window (rate 1800x).
        _, rss_live = app.launch(["--history-hours", "1", "--rate", "1800"], hold=20.0)
    cold = _median(firsts)
    hist = _median(with_history)
    return [
        Row(
            "start to first live frame (median of cold starts)",
            cold,
            "s",
            "<= 1 s",
            baseline=first_ever,
            note=f"{n} new processes, demo history and bytecode from the disk cache: "
            + _times(firsts)
            + f"; baseline: first start ever (county built, history lived, modules "
            f"compiled) {first_ever:.2f} s; load average {load:.2f}",
        ),
        Row(
            "start to first live frame without bytecode cache",
            _median(no_bytecode),
            "s",
            "",
            baseline=cold,
            note="PYTHONDONTWRITEBYTECODE (a source checkout): " + _times(no_bytecode),
        ),
        Row(
            f"start to first live frame, {cases:,} imported cases in the history",
            hist,
            "s",
            "",
            baseline=cold if hist == hist else None,
            note=f"{n_hist} cold starts, journal filled by `main.py import` (bench/sources.py "
            f"export): {_times(with_history)}"
            + (f"; — = no live frame within {HISTORY_TIMEOUT_S:.0f} s" if hist != hist else "")
            + "; baseline: the demo's cold start",
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
