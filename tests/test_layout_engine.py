"""Docking trees round-trip: layout doc -> QtAds docking -> layout doc.

The panels here are small test panels (registered under test-only names), so these
tests do not depend on the real panels' timing or looks.
"""

from __future__ import annotations

import copy
import os
from typing import Any, ClassVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QEvent, QRect
from PySide6.QtWidgets import QApplication

from commandcenter.status import FeedStatus
from commandcenter.store import Store
from layouts import engine, schema
from layouts.library import LayoutLibrary
from layouts.shell import Shell
from widgets import registry
from widgets.base import Panel, PanelContext, Setting
from widgets.live import LiveBridge


class _TestPanel(Panel):
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "rows": Setting("int", 10, "行数", "Rows", minimum=1, maximum=500),
        "mode": Setting("choice", "a", "模式", "Mode", choices=("a", "b", "c")),
        "wall": Setting("bool", False, "大屏", "Wall"),
    }

    def minimumSizeHint(self):
        # Tiny minimums so splitter proportions are not bent by content.
        from PySide6.QtCore import QSize

        return QSize(20, 20)


def _make(name: str) -> type[Panel]:
    return type(f"T_{name}", (_TestPanel,), {"name": name, "title_zh": name, "title_en": name})


TEST_PANELS = [_make(n) for n in ("t_alpha", "t_beta", "t_gamma", "t_delta", "t_eps")]


@pytest.fixture(autouse=True)
def test_panels():
    """Register the test panels for one test only: the registry is global and other
    tests check that it holds exactly the built-in panels."""
    for cls in TEST_PANELS:
        registry.register(cls)
    yield TEST_PANELS
    for cls in TEST_PANELS:
        registry._REGISTRY.pop(cls.name, None)


@pytest.fixture
def ctx(qapp: QApplication):
    store = Store()
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    yield PanelContext(store, status, bridge)
    bridge.close()


@pytest.fixture
def shell(ctx: PanelContext, tmp_path):
    sh = Shell(ctx, LayoutLibrary(tmp_path / "user", tmp_path / "presets"), interactive=False)
    yield sh
    sh.close_all()


def deep_doc() -> dict[str, Any]:
    """Splits nested three deep, tabs with a current tab, sizes, a floating panel and
    settings per panel."""
    panels = {
        f"p{i}": {"type": t, "settings": {"rows": 10 + i, "mode": "abc"[i % 3], "wall": i % 2 == 0}}
        for i, t in enumerate(
            ["t_alpha", "t_beta", "t_gamma", "t_delta", "t_eps", "t_alpha", "t_beta", "t_gamma"],
            start=1,
        )
    }
    return {
        "schema": schema.SCHEMA,
        "version": schema.VERSION,
        "name": "深层布局",
        "role": "duty_officer",
        "schedule": None,
        "panels": panels,
        "screens": [
            {
                "match": {"index": 0},
                "kiosk": False,
                "scale": 1.0,
                "dock": {
                    "split": "horizontal",
                    "sizes": [3, 1],
                    "children": [
                        {
                            "split": "vertical",
                            "sizes": [2, 1],
                            "children": [
                                {"area": ["p1", "p2"], "current": "p2"},
                                {
                                    "split": "horizontal",
                                    "sizes": [1, 1, 2],
                                    "children": [
                                        {"area": ["p3"]},
                                        {"area": ["p4", "p5"], "current": "p5"},
                                        {"area": ["p6"]},
                                    ],
                                },
                            ],
                        },
                        {"area": ["p7"], "current": "p7"},
                    ],
                },
                "floating": [{"panel": "p8", "geometry": [200, 150, 500, 360]}],
            }
        ],
    }


def _settings(doc: dict[str, Any]) -> dict[str, Any]:
    return {pid: (p["type"], p["settings"]) for pid, p in doc["panels"].items()}


def test_save_restore_gives_the_same_tree_and_settings(shell: Shell) -> None:
    doc = deep_doc()
    shell.apply_layout(doc)
    got = shell.capture_layout()
    assert len(got["screens"]) == 1
    want_tree = doc["screens"][0]["dock"]
    diff = engine.tree_difference(want_tree, got["screens"][0]["dock"])
    assert diff is None, diff
    assert _settings(got) == _settings(doc)
    fl = got["screens"][0]["floating"]
    assert [f["panel"] for f in fl] == ["p8"]
    # Floating geometry relative to the screen; width/height as asked (window managers
    # may shift the position by a frame, offscreen does not).
    assert fl[0]["geometry"][2:] == [500, 360]
    assert abs(fl[0]["geometry"][0] - 200) <= 10 and abs(fl[0]["geometry"][1] - 150) <= 40


def test_restore_capture_is_a_fixed_point(shell: Shell) -> None:
    shell.apply_layout(deep_doc())
    first = shell.capture_layout()
    shell.apply_layout(first)
    second = shell.capture_layout()
    assert (
        engine.tree_difference(first["screens"][0]["dock"], second["screens"][0]["dock"], 0.01)
        is None
    )
    assert _settings(first) == _settings(second)
    assert first["screens"][0]["floating"] == second["screens"][0]["floating"]
    assert first["screens"][0]["match"] == second["screens"][0]["match"]


def test_captured_layout_is_valid_json_and_survives_a_file(shell: Shell, tmp_path) -> None:
    shell.apply_layout(deep_doc())
    path = tmp_path / "x.json"
    schema.save_layout_file(path, shell.capture_layout())
    res = schema.load_layout_file(path)
    assert res.doc is not None and res.problem == ""
    shell.apply_layout(res.doc)
    assert engine.same_tree(
        res.doc["screens"][0]["dock"], shell.capture_layout()["screens"][0]["dock"]
    )


def test_unknown_settings_keys_and_unknown_panels_are_kept(shell: Shell) -> None:
    doc = deep_doc()
    doc["panels"]["p1"]["settings"]["from_the_future"] = 42
    doc["panels"]["p3"] = {"type": "no_such_panel_yet", "settings": {"x": [1, 2]}}
    shell.apply_layout(doc)
    got = shell.capture_layout()
    assert got["panels"]["p1"]["settings"]["from_the_future"] == 42
    assert got["panels"]["p3"] == {"type": "no_such_panel_yet", "settings": {"x": [1, 2]}}


def test_normalise_matches_what_qtads_can_express() -> None:
    tree = {
        "split": "horizontal",
        "sizes": [1, 1],
        "children": [
            {"area": []},
            {"split": "vertical", "children": [{"area": ["a"]}]},
        ],
    }
    assert engine.normalise(tree) == {"area": ["a"], "current": "a"}
    nested = {
        "split": "horizontal",
        "sizes": [1, 1],
        "children": [
            {"area": ["a"]},
            {
                "split": "horizontal",
                "sizes": [1, 3],
                "children": [{"area": ["b"]}, {"area": ["c"]}],
            },
        ],
    }
    flat = engine.normalise(nested)
    assert flat is not None
    assert [c["area"] for c in flat["children"]] == [["a"], ["b"], ["c"]]
    assert flat["sizes"] == pytest.approx([0.5, 0.125, 0.375])


def test_tree_difference_names_the_place() -> None:
    a = {"split": "vertical", "sizes": [1, 1], "children": [{"area": ["a"]}, {"area": ["b"]}]}
    b = copy.deepcopy(a)
    b["sizes"] = [3, 1]
    assert "sizes" in (engine.tree_difference(a, b) or "")
    b = copy.deepcopy(a)
    b["children"][1]["area"] = ["c"]
    assert "children[1]" in (engine.tree_difference(a, b) or "")


def test_floating_panel_outside_the_screen_is_brought_back(shell: Shell) -> None:
    doc = deep_doc()
    doc["screens"][0]["floating"][0]["geometry"] = [50_000, 40_000, 400, 300]
    shell.apply_layout(doc)
    screen = shell.windows[0].target_screen.availableGeometry()
    for fc in shell.windows[0].manager.floatingWidgets():
        assert screen.contains(QRect(fc.geometry()))


def test_closing_a_panel_tears_it_down_and_drops_it(shell: Shell) -> None:
    shell.apply_layout(deep_doc())
    panel = shell.panels()["p3"]
    dock = shell.windows[0].manager.findDockWidget("p3")
    dock.closeDockWidget()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert panel.torn_down
    got = shell.capture_layout()
    assert "p3" not in got["panels"]
    assert "p3" not in engine.panel_ids(got["screens"][0]["dock"])


def test_add_panel_places_a_new_tab_and_it_is_saved(shell: Shell) -> None:
    shell.apply_layout(deep_doc())
    pid = shell.add_panel("t_gamma", settings={"rows": 77})
    got = shell.capture_layout()
    assert got["panels"][pid] == {
        "type": "t_gamma",
        "settings": {"rows": 77, "mode": "a", "wall": False},
    }
    scr = got["screens"][0]
    placed = engine.panel_ids(scr["dock"]) + [
        p
        for f in scr["floating"]
        for p in engine.panel_ids(f.get("dock") or {"area": [f["panel"]]})
    ]
    assert pid in placed
    # ...and it is shown as the current tab of its area.
    dock = shell.windows[0].manager.findDockWidget(pid)
    assert dock.dockAreaWidget().currentDockWidget() is dock


# ---- folding onto fewer or smaller monitors (layouts/folding.py) -------------------------

from layouts import folding  # noqa: E402

CONSOLE = {
    "split": "horizontal",
    "sizes": [7, 3],
    "children": [
        {
            "split": "vertical",
            "sizes": [5, 2],
            "children": [{"area": ["queue"]}, {"area": ["alarms"]}],
        },
        {"area": ["detail"]},
    ],
}
WALL = {
    "split": "vertical",
    "children": [{"area": ["tiles"]}, {"area": ["map", "feed"], "current": "map"}],
}
MINS = {
    "queue": (1298, 278),
    "alarms": (784, 242),
    "detail": (453, 118),
    "tiles": (832, 254),
    "map": (563, 200),
    "feed": (516, 600),
}


def test_plan_gives_each_monitor_one_window_and_folds_the_rest_in() -> None:
    plans = folding.plan([0, 0, 1, 0])
    assert [(p.monitor, p.host, p.guests) for p in plans] == [(0, 0, [1, 3]), (1, 2, [])]
    assert [(p.monitor, p.host) for p in folding.plan([1, 0])] == [(1, 0), (0, 1)]


def test_guest_panels_become_tabs_of_the_last_area_without_sizes() -> None:
    tree = folding.fold_screens(CONSOLE, [WALL])
    assert engine.panel_ids(tree) == ["queue", "alarms", "detail", "tiles", "map", "feed"]
    assert tree["children"][1] == {"area": ["detail", "tiles", "map", "feed"], "current": "detail"}
    assert folding.fold_screens(None, [WALL]) == {
        "area": ["tiles", "map", "feed"],
        "current": "tiles",
    }


def test_guest_panels_go_where_the_tree_still_fits() -> None:
    # The last area (detail, 453 wide) would grow to the wall's 832: 1298 + 832 > 1920.
    # Under the queue the wall's panels cost no width.
    room = (1920, 998)
    naive = folding.fold_screens(CONSOLE, [WALL])
    assert folding.min_size(naive, MINS, 4)[0] > room[0]
    tree = folding.fold_screens(CONSOLE, [WALL], MINS, room, 4)
    w, h = folding.min_size(tree, MINS, 4)
    assert w <= room[0] and h <= room[1], (w, h, tree)
    assert sorted(engine.panel_ids(tree)) == sorted(MINS)
    assert "tiles" not in tree["children"][1]["area"]  # it would widen the detail's column


def test_fit_tree_stacks_then_tabs_until_the_minimum_fits() -> None:
    side = {"split": "horizontal", "children": [{"area": ["queue"]}, {"area": ["tiles"]}]}
    # Too wide side by side but tall enough: one above the other.
    stacked = folding.fit_tree(side, MINS, (1366, 700), 4)
    assert stacked["split"] == "vertical" and engine.panel_ids(stacked) == ["queue", "tiles"]
    # Neither fits: tabs, the first panel current.
    tabs = folding.fit_tree(side, MINS, (1366, 400), 4)
    assert tabs == {"area": ["queue", "tiles"], "current": "queue"}
    # Room enough: unchanged.
    assert engine.same_tree(folding.fit_tree(side, MINS, (2560, 1440), 4), side)


@pytest.mark.parametrize("room", [(1366, 686), (1920, 998), (2560, 1358), (800, 500)])
def test_fit_tree_is_deterministic_keeps_every_panel_and_never_grows(room: tuple) -> None:
    tree = folding.fold_screens(CONSOLE, [WALL], MINS, room, 4)
    fitted = folding.fit_tree(tree, MINS, room, 4)
    assert fitted == folding.fit_tree(copy.deepcopy(tree), MINS, room, 4)
    assert sorted(engine.panel_ids(fitted)) == sorted(MINS)
    before, after = folding.min_size(tree, MINS, 4), folding.min_size(fitted, MINS, 4)
    assert after[0] <= max(before[0], room[0]) and after[1] <= max(before[1], room[1])
    widest = max(w for w, _h in MINS.values())
    if room[0] >= widest:  # what fits is made to fit
        assert after[0] <= room[0], (room, fitted)


def test_prune_keeps_only_open_panels_and_their_shape() -> None:
    assert folding.prune(CONSOLE, {"queue", "detail"}) == {
        "split": "horizontal",
        "sizes": [0.7, 0.3],
        "children": [
            {"area": ["queue"], "current": "queue"},
            {"area": ["detail"], "current": "detail"},
        ],
    }
    assert folding.prune(WALL, {"feed"}) == {"area": ["feed"], "current": "feed"}
    assert folding.prune(WALL, set()) is None


def test_fitted_scale_shrinks_with_the_monitor_and_never_below_one() -> None:
    wall = (6656, 1792)
    assert folding.fitted_scale(1.65, wall, wall) == 1.65
    assert folding.fitted_scale(1.65, wall, (1920, 1080)) == 1.0
    assert folding.fitted_scale(1.6, None, (1920, 1080)) == 1.6
    assert folding.fitted_scale(1.6, None, (1366, 768)) == 1.14
    assert folding.fitted_scale(1.6, None, (3840, 2160)) == 1.6  # never above what it asks
    assert folding.made_for({"match": {"geometry": [0, 0, 6656, 1792]}}) == wall
    assert folding.made_for({"match": {"index": 0}}) is None
