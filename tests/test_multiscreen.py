"""Real screens: under Xvfb (one wide screen split into monitors with ``xrandr
--setmonitor``, QT_NOTES item 2) a two-screen layout opens one window per screen; with
one screen attached it folds into one window. Every preset at 1366x768, 1920x1080,
2560x1440 and on two monitors of different sizes stays inside the monitors' available
geometry without overlap; a monitor unplugged and plugged back folds and spreads again.

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

from layouts import engine, folding

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
from widgets.base import PanelContext, hall_context
from widgets.live import LiveBridge
from widgets.theme import apply_theme
apply_theme(app)
doc = json.loads(open(sys.argv[1], encoding="utf-8").read())
store, status = Store(), FeedStatus()
bridge = LiveBridge(store, status)
shell = Shell(hall_context(store, status, bridge), LayoutLibrary(*map(__import__("pathlib").Path, sys.argv[2:4])))
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


def _setmonitor(env: dict[str, str], i: int, x: int, size: tuple[int, int], output: str) -> None:
    w, h = size
    subprocess.run(
        ["xrandr", "--setmonitor", f"SCREEN{i + 1}", f"{w}/{w}x{h}/{h}+{x}+0", output],
        env=env,
        check=True,
        capture_output=True,
    )


@contextmanager
def xvfb(monitors: int | list[tuple[int, int]]) -> Iterator[str]:
    """An Xvfb display split into monitors side by side: ``monitors`` of 1920x1080, or
    one of each size given (``xrandr --setmonitor``; one monitor is the plain screen)."""
    _need("Xvfb", "xrandr")
    sizes = [(W, H)] * monitors if isinstance(monitors, int) else list(monitors)
    for _attempt in range(5):
        disp = f":{random.randint(200, 900)}"
        if not Path(f"/tmp/.X11-unix/X{disp[1:]}").exists():
            break
    total = f"{sum(w for w, _h in sizes)}x{max(h for _w, h in sizes)}x24"
    proc = subprocess.Popen(
        ["Xvfb", disp, "-screen", "0", total, "-nolisten", "tcp", "-noreset"],
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
        if len(sizes) > 1:
            out0 = next(line.split()[0] for line in r.stdout.splitlines() if " connected" in line)
            x = 0
            for i, size in enumerate(sizes):
                _setmonitor(env, i, x, size, out0 if i == 0 else "none")
                x += size[0]
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


def test_one_screen_folds_both_screens_into_one_window(tmp_path: Path) -> None:
    with xvfb(1) as disp:
        got = probe(disp, tmp_path)
    assert len(got["screens"]) == 1, got
    (only,) = got["screens"]
    (win,) = got["windows"]  # never two windows on one monitor: they would overlap
    assert win["visible"] and win["screen"] == only["name"]
    assert _inside(win["geometry"], only["geometry"]), (win, only)
    assert win["panels"] == ["a", "b", "c", "d"]  # the second screen's panels are tabs


# ---- every preset on every set of monitors (layouts/folding.py) ------------------------

PRESETS = sorted(p.stem for p in (ROOT / "layouts" / "presets").glob("*.json"))


class Probe:
    """tests/screen_probe.py on a display: one app for many layouts and screen changes."""

    def __init__(self, disp: str, tmp_path: Path) -> None:
        env = dict(
            os.environ,
            DISPLAY=disp,
            QT_QPA_PLATFORM="xcb",
            CC_CONFIG_DIR=str(tmp_path / "cfg"),
            CC_STATE_DIR=str(tmp_path / "state"),
            PYTHONPATH=str(ROOT),
        )
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "screen_probe.py"), str(tmp_path / "u")],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def ask(self, command: str) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith("PROBE "):
                return json.loads(line[6:])
        raise AssertionError(f"probe ended after {command!r} (exit {self.proc.wait(5)})")

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _overlap(a: list[int], b: list[int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _preset_screens(key: str) -> int:
    doc = json.loads((ROOT / "layouts" / "presets" / f"{key}.json").read_text(encoding="utf-8"))
    return len(doc["screens"])


def _preset_panels(key: str) -> int:
    doc = json.loads((ROOT / "layouts" / "presets" / f"{key}.json").read_text(encoding="utf-8"))
    return len(doc["panels"])


def check_folded(got: dict, key: str) -> None:
    """Every window inside one monitor's available geometry, on its own monitor, no two
    overlapping; as many windows as monitors can be used; every panel shown once."""
    screens = got["screens"]
    wins = got["windows"]
    assert wins, (key, got)
    used = []
    for w in wins:
        assert w["visible"], (key, w)
        homes = [s for s in screens if _inside(w["frame"], s["available"])]
        assert homes, f"{key}: window {w['frame']} beyond every monitor {screens}"
        used.append(homes[0]["name"])
    assert len(set(used)) == len(used), f"{key}: two windows on one monitor {used}"
    for i, a in enumerate(wins):
        for b in wins[i + 1 :]:
            assert not _overlap(a["frame"], b["frame"]), (key, a["frame"], b["frame"])
    # Every monitor is used while the preset has panels to spread (layouts/folding.py).
    assert len(wins) == min(len(screens), _preset_panels(key)), (key, len(wins), screens)
    panels = [p for w in wins for p in w["panels"]]
    assert len(panels) == len(set(panels)), (key, panels)
    assert not got["problems"], (key, got["problems"])


MATRIX = {
    "1366x768": [(1366, 768)],
    "1920x1080": [(1920, 1080)],
    "2560x1440": [(2560, 1440)],
    "1920x1080+1366x768": [(1920, 1080), (1366, 768)],
    "3x1920x1080": [(1920, 1080)] * 3,
}


@pytest.mark.parametrize("monitors", list(MATRIX), ids=list(MATRIX))
def test_every_preset_folds_on_screen_without_overlap(tmp_path: Path, monitors: str) -> None:
    with xvfb(MATRIX[monitors]) as disp:
        probe_ = Probe(disp, tmp_path)
        try:
            results = {key: probe_.ask(f"open {key}") for key in PRESETS}
        finally:
            probe_.close()
    assert len(results["duty_console"]["screens"]) == len(MATRIX[monitors])
    panels_of = {}
    for key, got in results.items():
        check_folded(got, key)
        doc = json.loads((ROOT / "layouts" / "presets" / f"{key}.json").read_text("utf-8"))
        panels_of[key] = sorted(doc["panels"])
        assert sorted(p for w in got["windows"] for p in w["panels"]) == panels_of[key], key


def test_monitor_unplugged_and_back_folds_and_spreads_again(tmp_path: Path) -> None:
    sizes = [(1920, 1080), (1366, 768)]
    with xvfb(sizes) as disp:
        env = dict(os.environ, DISPLAY=disp)
        probe_ = Probe(disp, tmp_path)
        try:
            both = probe_.ask("open duty_console")
            check_folded(both, "duty_console")
            subprocess.run(["xrandr", "--delmonitor", "SCREEN2"], env=env, check=True)
            one = _until(probe_, lambda g: len(g["screens"]) == 1)
            _setmonitor(env, 1, 1920, sizes[1], "none")
            again = _until(probe_, lambda g: len(g["screens"]) == 2 and len(g["windows"]) == 2)
        finally:
            probe_.close()
    assert len(both["windows"]) == 2
    check_folded(one, "duty_console")
    (only,) = one["windows"]
    assert only["screen"] == "SCREEN1"
    assert only["panels"] == sorted(p for w in both["windows"] for p in w["panels"])
    check_folded(again, "duty_console")
    assert [w["panels"] for w in again["windows"]] == [w["panels"] for w in both["windows"]]
    assert [w["screen"] for w in again["windows"]] == ["SCREEN1", "SCREEN2"]


def _until(probe_: Probe, done, tries: int = 20) -> dict:
    """Ask until the shell has seen the change (the platform reports it asynchronously)."""
    got = probe_.ask("state")
    for _ in range(tries):
        if done(got) and not _refolding(got):
            return got
        time.sleep(0.25)
        got = probe_.ask("state")
    return got


def _refolding(got: dict) -> bool:
    names = {s["name"] for s in got["screens"]}
    return any(w["screen"] not in names for w in got["windows"])


# ---- spare monitors: every screen is used ----------------------------------------------


@pytest.mark.parametrize("key", PRESETS)
def test_spare_monitors_get_a_part_of_the_busiest_screen_and_give_it_back(key: str) -> None:
    """Plain data, every preset on one monitor more than it has screens up to one per
    panel and beyond: each monitor gets a window while there are panels to spread, each
    panel is shown once, the main panel (the largest of a split) stays where it was, and
    the parts lent are put back as they were taken (what a save writes)."""
    doc = json.loads((ROOT / "layouts" / "presets" / f"{key}.json").read_text("utf-8"))
    n = len(doc["screens"])
    targets = list(range(n))
    for monitors in range(n, len(doc["panels"]) + 2):
        shown, got = folding.unfold(doc, targets, monitors)
        assert sorted(got) == list(range(min(monitors, max(n, len(doc["panels"])))))
        assert got[:n] == targets, "the layout's screens keep their monitors"
        ids = [p for e in shown["screens"] for p in engine.panel_ids(e["dock"])]
        assert sorted(ids) == sorted(doc["panels"]), (monitors, ids)
        assert all(engine.panel_ids(e["dock"]) for e in shown["screens"]), "none left empty"
        for i, entry in enumerate(doc["screens"]):
            lent = [(e["dock"], e) for e in shown["screens"] if e.get(folding.LENT) == i]
            assert len(lent) == sum(e.get(folding.LENT) == i for e in shown["screens"][n:])
            back = folding.rejoin(shown["screens"][i]["dock"], lent)
            assert engine.same_tree(back, engine.normalise(entry["dock"]), tolerance=0.01), (
                monitors,
                i,
                back,
            )
    # Folded screens (fewer monitors than screens) lend nothing: there is no room spare.
    if n > 1:
        assert folding.unfold(doc, [0] * n, 1) == (doc, [0] * n)


def test_the_dispatch_desk_on_two_monitors_keeps_the_queue_and_lends_the_rest() -> None:
    doc = json.loads((ROOT / "layouts" / "presets" / "dispatch_desk.json").read_text("utf-8"))
    shown, targets = folding.unfold(doc, [0], 2)
    assert targets == [0, 1]
    first, second = (engine.panel_ids(e["dock"]) for e in shown["screens"])
    assert first == ["tiles", "queue"] and second == ["detail", "alarms", "feed", "map"]
    # A tree that is one tabbed area keeps its current tab (and those before it).
    one = {
        **doc,
        "screens": [{**doc["screens"][0], "dock": {"area": ["a", "b", "c"], "current": "b"}}],
    }
    shown, _ = folding.unfold(one, [0], 2)
    assert [e["dock"]["area"] for e in shown["screens"]] == [["a", "b"], ["c"]]
    assert shown["screens"][0]["dock"]["current"] == "b"


def test_a_one_screen_preset_on_three_monitors_uses_all_three_and_saves_one(
    tmp_path: Path,
) -> None:
    with xvfb([(1920, 1080), (1366, 768), (1920, 1080)]) as disp:
        probe_ = Probe(disp, tmp_path)
        try:
            probe_.ask("open dispatch_desk")
            got = probe_.ask("capture")
        finally:
            probe_.close()
    check_folded(got, "dispatch_desk")
    assert [w["screen"] for w in got["windows"]] == ["SCREEN1", "SCREEN2", "SCREEN3"]
    assert "queue" in got["windows"][0]["panels"], "the main panel stays on the first"
    assert got["captured"] == [sorted(_preset_panel_ids("dispatch_desk"))], (
        "a save writes the one screen the layout has, not the parts lent"
    )


def _preset_panel_ids(key: str) -> list[str]:
    doc = json.loads((ROOT / "layouts" / "presets" / f"{key}.json").read_text(encoding="utf-8"))
    return list(doc["panels"])
