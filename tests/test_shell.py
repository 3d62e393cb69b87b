"""The shell: windows per screen, folding, kiosk, commands and palette, teardown, and
the app starting through broken layout files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication

from commandcenter.status import FeedStatus
from commandcenter.store import Store
from layouts import engine, schema
from layouts.library import USER, LayoutLibrary
from layouts.shell import Shell
from tests.test_layout_engine import deep_doc, test_panels  # noqa: F401 (autouse fixture)
from widgets import i18n
from widgets.base import PanelContext, hall_context
from widgets.chrome.palette import CommandPalette, fuzzy_score
from widgets.live import LiveBridge

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def ctx(qapp: QApplication):
    store = Store()
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    yield hall_context(store, status, bridge)
    bridge.close()


@pytest.fixture
def lib(tmp_path: Path) -> LayoutLibrary:
    return LayoutLibrary(tmp_path / "user", tmp_path / "presets")


@pytest.fixture
def shell(ctx: PanelContext, lib: LayoutLibrary):
    sh = Shell(ctx, lib, interactive=False)
    yield sh
    sh.close_all()


def two_screens() -> dict:
    d = deep_doc()
    second = {
        "match": {"name": "NOT-ATTACHED", "index": 1},
        "kiosk": True,
        "scale": 1.0,
        "dock": {
            "split": "vertical",
            "sizes": [1, 1],
            "children": [{"area": ["p7"]}, {"area": ["p8"]}],
        },
        "floating": [],
    }
    d["screens"][0]["dock"]["children"][1] = {"area": ["p6"]}
    inner = d["screens"][0]["dock"]["children"][0]["children"][1]
    inner["children"].pop()
    inner["sizes"].pop()
    d["screens"][0]["floating"] = []
    d["screens"].append(second)
    schema.validate(d)
    return d


def _visible_tops() -> list:
    return [w for w in QApplication.topLevelWidgets() if w.isVisible()]


def test_more_screens_than_attached_fold_into_one_window(shell: Shell) -> None:
    doc = two_screens()
    shell.apply_layout(doc)
    (win,) = shell.windows  # one monitor, one window: two would overlap
    screen = QApplication.primaryScreen().availableGeometry()
    assert win.target_rect() == screen
    assert (win.geometry().topLeft() - screen.topLeft()).manhattanLength() <= 4  # frame
    # The second screen's panels are tabs of the one window.
    assert sorted(win.manager.dockWidgetsMap()) == sorted(doc["panels"])
    assert win.folded and [g for g, _e in win.guests] == [1]
    # Folding keeps the folded screen as it was, so it returns when the monitor does.
    got = shell.capture_layout()
    assert got["screens"][1]["match"] == {"name": "NOT-ATTACHED", "index": 1}
    assert got["screens"][1]["kiosk"] is True
    assert engine.same_tree(got["screens"][1]["dock"], doc["screens"][1]["dock"])
    assert set(engine.panel_ids(got["screens"][0]["dock"])) == set(
        engine.panel_ids(doc["screens"][0]["dock"])
    )


def test_close_all_tears_down_every_panel_and_leaves_no_window(shell: Shell) -> None:
    shell.apply_layout(two_screens())
    panels = list(shell.panels().values())
    assert len(panels) == 8 and _visible_tops()
    shell.close_all()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert all(p.torn_down for p in panels)
    assert shell.windows == [] and _visible_tops() == []


def test_apply_twice_replaces_windows(shell: Shell) -> None:
    shell.apply_layout(two_screens())
    first = list(shell.panels().values())
    shell.apply_layout(deep_doc())
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert all(p.torn_down for p in first)
    assert len(shell.windows) == 1 and len(_visible_tops()) <= 3  # window + floating + none


def test_kiosk_is_frameless_without_menus_and_toggles(shell: Shell) -> None:
    d = deep_doc()
    d["screens"][0]["kiosk"] = True
    shell.apply_layout(d)
    win = shell.windows[0]
    assert win.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert not win.menuBar().isVisible()
    assert win.geometry() == win.target_screen.geometry()
    win.commands.kiosk.trigger()
    assert not win.kiosk and win.menuBar().isVisible()
    assert shell.capture_layout()["screens"][0]["kiosk"] is False


def test_every_action_has_a_shortcut_or_is_in_the_palette_and_a_tooltip(shell: Shell) -> None:
    shell.apply_layout(deep_doc())
    c = shell.windows[0].commands
    in_palette = {id(a) for _, a in c.entries()}
    for key, act in c.actions.items():
        assert act.toolTip(), key
        assert not act.shortcut().isEmpty() or id(act) in in_palette, key
    wanted = {
        "save": "Ctrl+S",
        "palette": "Ctrl+K",
        "toggle_language": "Ctrl+L",
        "full_screen": "F11",
        "quit": "Ctrl+Q",
    }
    for key, seq in wanted.items():
        assert c.actions[key].shortcut().toString() == seq
    labels = [label for label, _ in c.entries()]
    assert any("t_alpha" in x for x in labels)  # Add panel ▸ entries reach the palette


def test_palette_filters_fuzzily_and_enter_runs(shell: Shell, qtbot) -> None:
    assert fuzzy_score("sv", "Save layout") is not None
    assert fuzzy_score("xyz", "Save layout") is None
    assert fuzzy_score("存为", "布局另存为") is not None
    i18n.set_language(QApplication.instance(), "en")
    try:
        shell.apply_layout(deep_doc())
        win = shell.windows[0]
        ran = []
        win.commands.rename.triggered.disconnect()
        win.commands.rename.triggered.connect(lambda: ran.append("rename"))
        pal = CommandPalette(win.commands.entries(), win)
        qtbot.addWidget(pal)
        pal.query.setText("renam")
        assert pal.visible_labels()[0].startswith("Layout › Rename layout")
        qtbot.keyClick(pal.query, Qt.Key.Key_Return)
        assert ran == ["rename"]
    finally:
        i18n.set_language(QApplication.instance(), "zh_CN")


def test_menus_follow_the_language(shell: Shell) -> None:
    app = QApplication.instance()
    shell.apply_layout(deep_doc())
    c = shell.windows[0].commands
    i18n.set_language(app, "zh_CN")
    assert c.layout_menu.title() == "布局(&L)" and c.save.text() == "保存布局(&S)"
    shell.toggle_language()
    try:
        assert c.layout_menu.title() == "&Layout"
    finally:
        i18n.set_language(app, "zh_CN")


def test_save_save_as_rename_and_schedule(shell: Shell, lib: LayoutLibrary) -> None:
    shell.apply_layout(deep_doc(), "builtin", "builtin")
    key = shell.save()
    assert lib.user_path(key).exists() and shell.source == USER
    key2 = shell.save_as("夜班大厅")
    assert key2 == "夜班大厅" and shell.layout_name() == "夜班大厅"
    key3 = shell.rename("夜班大厅二")
    assert not lib.user_path(key2).exists() and lib.user_path(key3).exists()
    shell.bind_schedule({"from": "20:00", "to": "08:00"})
    saved = lib.load(key3).doc
    assert saved["schedule"] == {"from": "20:00", "to": "08:00"}
    assert engine.same_tree(saved["screens"][0]["dock"], deep_doc()["screens"][0]["dock"])
    assert lib.read_current()[0] == key3


def test_import_refusal_keeps_the_shown_layout(shell: Shell, tmp_path: Path) -> None:
    shell.apply_layout(deep_doc())
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 99}', encoding="utf-8")
    with pytest.raises(schema.LayoutError):
        shell.import_file(bad)
    assert shell.layout_name() == "深层布局" and len(shell.windows) == 1
    assert not shell.open_layout("nope")
    assert shell.problems and "nope" in shell.problems[-1]


def test_real_duty_console_preset_opens(shell: Shell) -> None:
    lib = LayoutLibrary(Path("/nonexistent"))
    if not lib.preset_path("duty_console").exists():
        pytest.skip("duty_console preset not shipped yet")
    d = lib.load("duty_console").doc
    shell.apply_layout(d)
    monitors = len(QApplication.screens())
    assert len(shell.windows) == min(monitors, len(d["screens"]))
    shown = {p for w in shell.windows for p in w.manager.dockWidgetsMap()}
    assert shown == set(d["panels"])  # a screen beyond the monitors is folded, not lost
    assert set(shell.capture_layout()["panels"]) == set(d["panels"])


# ---- the app through broken layout files -------------------------------------------------


def _run_app(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        CC_CONFIG_DIR=str(tmp_path / "cfg"),
        CC_STATE_DIR=str(tmp_path / "state"),
    )
    env.pop("CC_FEED_TOKEN", None)
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "--quit-after",
            "1.5",
            "--history-hours",
            "0.5",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"schema": "commandcenter.layout", "version": 1, "na', "not valid JSON"),
        ("", "empty"),
        ('{"schema": "commandcenter.layout", "version": 99}', "newer than this program"),
    ],
    ids=["corrupt", "empty", "version99"],
)
def test_app_starts_through_a_broken_layout_and_says_why(
    tmp_path: Path, content: str, words: str
) -> None:
    user = tmp_path / "cfg" / "layouts"
    user.mkdir(parents=True)
    good = deep_doc()
    good["name"] = "上次的好布局"
    (user / "current.json").write_text(
        json.dumps({"key": "good", "source": "user", "snapshot": good}, ensure_ascii=False),
        encoding="utf-8",
    )
    schema.save_layout_file(user / "good.json", good)
    (user / "broken.json").write_text(content, encoding="utf-8")
    r = _run_app(tmp_path, "--layout", "broken")
    assert r.returncode == 0, r.stderr[-3000:]
    assert words in r.stderr and "broken.json" in r.stderr
    if "newer" not in words:
        assert "上次的好布局" in r.stderr  # says what it shows instead
    if "newer" in words:  # not broken: left in place, untouched, opened read-only
        assert not list(user.glob("broken.json.corrupt-*"))
        assert (user / "broken.json").read_text(encoding="utf-8") == content
        assert "read-only" in r.stderr and "nearest preset" in r.stderr
    else:
        assert list(user.glob("broken.json.corrupt-*")), "the broken file must be kept aside"
    log = (tmp_path / "state" / "logs" / "commandcenter.log").read_text(encoding="utf-8")
    assert words in log


def test_a_layout_for_a_wall_scales_its_type_and_a_console_layout_restores_it(shell: Shell) -> None:
    """Issue 3: a video wall 'scaling type with resolution'. The type scale follows the
    layout's screens (and the size rule of the screens it lands on) and comes back down
    for a console layout."""
    from widgets import theme

    app = QApplication.instance()
    base = theme.current_scale()
    root = Path(__file__).resolve().parents[1]
    wall = json.loads((root / "layouts/presets/video_wall.json").read_text(encoding="utf-8"))
    wall_scale = wall["screens"][0]["scale"]
    assert wall_scale >= 1.5
    # On a monitor smaller than the wall it was made for, the type shrinks with it
    # (layouts/folding.py: ``fitted_scale``), never below the monitor's own size rule.
    from layouts import folding

    g = QApplication.primaryScreen().geometry()
    made_for = folding.made_for(wall["screens"][0])
    expected = max(
        folding.fitted_scale(wall_scale, made_for, (g.width(), g.height())),
        theme.scale_for_screen(g.width(), g.height()),
    )
    assert folding.fitted_scale(wall_scale, made_for, made_for) == wall_scale
    try:
        shell.apply_layout(wall, key="video_wall")
        assert abs(theme.current_scale() - expected) < 0.01
        assert "docking" in app.styleSheet().lower() or "ads--" in app.styleSheet()
        console = json.loads(json.dumps(wall))
        for screen in console["screens"]:
            screen["scale"] = 1.0
        shell.apply_layout(console, key="console")
        assert abs(theme.current_scale() - 1.0) < 0.01
    finally:
        theme.apply_theme(app, theme.current_theme(), base)


def test_a_layout_of_a_newer_version_is_shown_read_only_and_saved_under_a_new_name(
    shell: Shell, lib: LayoutLibrary
) -> None:
    future = {**deep_doc(), "name": "新版布局", "version": 42, "wall_of_v42": True}
    text = json.dumps(future, ensure_ascii=False)
    lib.user_dir.mkdir(parents=True)
    lib.user_path("新版").write_text(text, encoding="utf-8")
    assert shell.open_layout("新版", USER)
    assert "read-only" in shell.read_only and shell.problems[-1].endswith(shell.read_only)
    title = shell.windows[0].windowTitle()
    assert "只读" in title or "read-only" in title
    told = len(shell.problems)
    shell.apply_layout(shell.document(), "新版", USER)  # shown again: told once, not twice
    assert len(shell.problems) == told
    key = shell.save()
    assert key != "新版" and lib.user_path(key).exists()
    assert lib.user_path("新版").read_text(encoding="utf-8") == text  # never written over
    assert shell.layout_name() in shell.problems[-1] and "新版布局" in shell.problems[-1]
    assert shell.read_only == "" and shell.key == key
    assert "只读" not in shell.windows[0].windowTitle()
    assert "read-only" not in shell.windows[0].windowTitle()
    assert lib.load(key).doc["wall_of_v42"] is True  # what it did not understand, kept
