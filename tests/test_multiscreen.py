"""Real screens: under Xvfb (one wide screen split into monitors with ``xrandr
--setmonitor``, QT_NOTES item 2) a two-screen layout opens one window per screen; with
one screen attached it folds and both windows stay on it.

The shell runs in a subprocess on the xcb platform (the test session itself is
offscreen); it prints each window's screen and geometry as JSON and quits.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
W, H = 1920, 1080

PROBE = r"""
import json, sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from layouts.library import LayoutLibrary
from layouts.shell import Shell
from widgets.base import PanelContext
from widgets.live import LiveBridge
from widgets.theme import apply_theme
apply_theme(app)
doc = json.loads(open(sys.argv[1], encoding="utf-8").read())
store, status = Store(), FeedStatus()
bridge = LiveBridge(store, status)
shell = Shell(PanelContext(store, status, bridge), LayoutLibrary(*map(__import__("pathlib").Path, sys.argv[2:4])))
shell.apply_layout(doc)
for _ in range(20):
    app.processEvents()
out = {
    "screens": [{"name": s.name(), "geometry": s.geometry().getRect()} for s in app.screens()],
    "windows": [
        {"screen": w.screen().name(), "geometry": w.geometry().getRect(),
         "visible": w.isVisible(), "panels": sorted(w.manager.dockWidgetsMap())}
        for w in shell.windows
    ],
}
print("PROBE " + json.dumps(out), flush=True)
shell.close_all()
bridge.close()
"""


def two_screen_doc() -> dict:
    def screen(i: int, ids: list[str]) -> dict:
        return {
            "match": {"name": f"NOPE{i}", "index": i},
            "kiosk": False,
            "scale": 1.0,
            "dock": {"split": "horizontal", "children": [{"area": [p]} for p in ids]},
            "floating": [],
        }

    return {
        "schema": "commandcenter.layout",
        "version": 1,
        "name": "双屏测试",
        "role": "duty_officer",
        "schedule": None,
        "panels": {p: {"type": f"probe_{p}", "settings": {}} for p in ("a", "b", "c", "d")},
        "screens": [screen(0, ["a", "b"]), screen(1, ["c", "d"])],
    }


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install xvfb x11-xserver-utils)")


@contextmanager
def xvfb(monitors: int) -> Iterator[str]:
    """An Xvfb display ``monitors`` x 1920 wide, split into that many monitors."""
    _need("Xvfb", "xrandr")
    for _attempt in range(5):
        disp = f":{random.randint(200, 900)}"
        if not Path(f"/tmp/.X11-unix/X{disp[1:]}").exists():
            break
    proc = subprocess.Popen(
        ["Xvfb", disp, "-screen", "0", f"{W * monitors}x{H}x24", "-nolisten", "tcp", "-noreset"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = dict(os.environ, DISPLAY=disp)
    try:
        deadline = time.monotonic() + 10
        while True:
            r = subprocess.run(["xrandr"], env=env, capture_output=True, text=True, check=False)
            if r.returncode == 0:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"Xvfb {disp} did not start")
            time.sleep(0.1)
        if monitors > 1:
            out0 = next(line.split()[0] for line in r.stdout.splitlines() if " connected" in line)
            for i in range(monitors):
                subprocess.run(
                    [
                        "xrandr",
                        "--setmonitor",
                        f"SCREEN{i + 1}",
                        f"{W}/{W}x{H}/{H}+{i * W}+0",
                        out0 if i == 0 else "none",
                    ],
                    env=env,
                    check=True,
                    capture_output=True,
                )
        yield disp
    finally:
        proc.kill()
        proc.wait(5)


def probe(disp: str, tmp_path: Path) -> dict:
    layout = tmp_path / "two.json"
    layout.write_text(json.dumps(two_screen_doc(), ensure_ascii=False), encoding="utf-8")
    env = dict(
        os.environ,
        DISPLAY=disp,
        QT_QPA_PLATFORM="xcb",
        CC_CONFIG_DIR=str(tmp_path / "cfg"),
        CC_STATE_DIR=str(tmp_path / "state"),
        PYTHONPATH=str(ROOT),
    )
    r = subprocess.run(
        [sys.executable, "-c", PROBE, str(layout), str(tmp_path / "u"), str(tmp_path / "p")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    line = next((x for x in r.stdout.splitlines() if x.startswith("PROBE ")), None)
    assert line, f"no probe output\n{r.stdout}\n{r.stderr[-3000:]}"
    return json.loads(line[6:])


def _inside(rect: list[int], outer: list[int]) -> bool:
    x, y, w, h = rect
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


def test_two_screens_give_one_window_each(tmp_path: Path) -> None:
    with xvfb(2) as disp:
        got = probe(disp, tmp_path)
    assert len(got["screens"]) == 2, got
    wins = got["windows"]
    assert len(wins) == 2
    assert wins[0]["screen"] != wins[1]["screen"], wins
    screens = {s["name"]: s["geometry"] for s in got["screens"]}
    for w in wins:
        assert w["visible"]
        assert _inside(w["geometry"], screens[w["screen"]]), (w, screens)
    assert [w["panels"] for w in wins] == [["a", "b"], ["c", "d"]]


def test_one_screen_folds_and_keeps_both_windows_on_it(tmp_path: Path) -> None:
    with xvfb(1) as disp:
        got = probe(disp, tmp_path)
    assert len(got["screens"]) == 1, got
    (only,) = got["screens"]
    wins = got["windows"]
    assert len(wins) == 2
    for w in wins:
        assert w["visible"] and w["screen"] == only["name"]
        assert _inside(w["geometry"], only["geometry"]), (w, only)
    # Side by side, not on top of each other.
    a, b = (w["geometry"] for w in wins)
    assert a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0], (a, b)
