"""Briefing mode in the shell: a playlist started from a layout, stepped by presenter keys
and the timer, blanked, stopped back to the layout shown before; masking by role on the
leader and wall presets (and its absence on a duty console, so the check can fail); the
briefing forcing masking whatever the layout's role; the one-key export."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QApplication, QLabel, QWidget

from commandcenter.briefing import State
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from feeds.protocol import Alert, CaseData, Event
from layouts.library import LayoutLibrary
from layouts.shell import Shell
from tests.demo_county import demo_store
from widgets import i18n
from widgets.base import hall_context
from widgets.chrome.briefing import BlankCover
from widgets.live import LiveBridge
from widgets.theme import apply_theme

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ROOT / "layouts" / "presets"

# A reporter planted in free text everywhere a hotline puts it: the title, the address,
# an alert quoting both. None of it may reach a masked screen.
NAME = "欧阳娜娜"
PHONE = "13912345678"
HOUSE = "锦绣路13号"


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def store() -> Store:
    s = demo_store(hours=4.0)
    now = s.clock.now()
    case = CaseData(
        id="PD999999999999",
        version=1,
        category="占道经营",
        source="hotline",
        urgency="urgent",
        state="reported",
        township="冠山镇",
        grid="G01",
        lon=113.6,
        lat=37.85,
        created_ts=now + 1,
        state_ts=now + 1,
        title=f"{NAME}反映门口占道经营，电话{PHONE}",
        description=f"来电人：{NAME}，{PHONE}，{HOUSE}门口",
        address=f"冠山镇{HOUSE}3单元501室",
        reporter_name=NAME,
        reporter_phone=PHONE,
    )
    alert = Alert(
        id="AL-T1",
        level="red",
        kind="sensor",
        message=f"物联感知告警：冠山镇{HOUSE} 联系人：{NAME} {PHONE}",
        case_id=case.id,
        grid="G01",
        ts=now + 2,
    )
    seq = s.seq
    s.apply(
        [
            Event(seq + 1, "case.created", now + 1, case),
            Event(seq + 2, "alert.raised", now + 2, alert),
        ]
    )
    return s


@pytest.fixture
def shell(qapp: QApplication, store: Store, tmp_path: Path) -> Iterator[Shell]:
    apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)  # the texts below are the Chinese UI's, whatever ran before
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    lib = LayoutLibrary(tmp_path / "user", PRESETS)
    sh = Shell(hall_context(store, status, bridge), lib, interactive=False)
    yield sh
    sh.close_all()
    bridge.close()
    apply_theme(qapp)  # the briefing's scale is restored by stop; be sure for the next test


def preset(name: str) -> dict:
    return json.loads((PRESETS / f"{name}.json").read_text(encoding="utf-8"))


def duty_doc_with_playlist() -> dict:
    """A one-screen duty layout (role duty_officer: unmasked) carrying a briefing."""
    return {
        "schema": "commandcenter.layout",
        "version": 1,
        "name": "值班测试",
        "role": "duty_officer",
        "schedule": None,
        "panels": {
            "cases": {"type": "newest_cases", "settings": {"limit": 30}},
            "alerts": {"type": "alerts", "settings": {"min_level": "blue", "limit": 30}},
        },
        "screens": [
            {
                "match": {"index": 0},
                "kiosk": False,
                "scale": 1.0,
                "dock": {
                    "split": "horizontal",
                    "sizes": [1, 1],
                    "children": [{"area": ["cases"]}, {"area": ["alerts"]}],
                },
                "floating": [],
            }
        ],
        "briefing": {
            "format": 1,
            "title": "测试汇报",
            "items": [
                {"kind": "panel", "target": "newest_cases", "duration_s": 10, "title": "最新案件"},
                {"kind": "panel", "target": "alerts", "duration_s": 10, "title": "平台告警"},
                {"kind": "panel", "target": "kpis", "duration_s": 10, "title": "考核指标"},
            ],
        },
    }


# ---- walking what a screen shows ----------------------------------------------------------


def model_texts(model: QAbstractItemModel) -> list[str]:
    out: list[str] = []
    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)
    try:
        columns = model.columnCount(QModelIndex())
    except TypeError:  # a list model: one column (its columnCount is private in PySide)
        columns = 1
    for r in range(model.rowCount(QModelIndex())):
        for c in range(columns):
            idx = model.index(r, c, QModelIndex())
            out.extend(str(v) for role in roles if (v := model.data(idx, role)))
    return out


def shown_texts(windows: list[QWidget]) -> str:
    """Every label, button, tooltip and model cell (display and tooltip) in the windows."""
    out: list[str] = []
    seen_models: set[int] = set()
    for win in windows:
        for w in [win, *win.findChildren(QWidget)]:
            out.append(w.toolTip())
            if isinstance(w, QLabel | QAbstractButton):
                out.append(w.text())
            model = w.model() if isinstance(w, QAbstractItemView) else None
            if model is not None and id(model) not in seen_models:
                seen_models.add(id(model))
                out.extend(model_texts(model))
    return "\n".join(out)


def every_tab_text(shell: Shell) -> str:
    """``shown_texts`` of every window and every dock: the test screen is small, so panels
    fold into tabs, and QtAds keeps a tab that is not current out of its window's
    children."""
    docks = [d for w in shell.windows for d in w.manager.dockWidgetsMap().values()]
    return shown_texts([*shell.windows, *docks])


def leaks(text: str, store: Store) -> list[str]:
    """Reporter names and phone numbers of the store that appear in ``text`` unmasked."""
    found = [x for x in (NAME, PHONE, HOUSE) if x in text]
    digits = re.sub(r"[\s-]", "", text)
    for r in range(len(store)):
        rec = store.record_at(r)
        phone = re.sub(r"\D", "", getattr(rec, "reporter_phone", "") or "")
        if len(phone) >= 7 and phone in digits:
            found.append(phone)
    return sorted(set(found))


# ---- masking by role ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["leader_briefing", "video_wall"])
def test_presets_mask_reporters_and_the_duty_role_does_not(
    shell: Shell, store: Store, name: str
) -> None:
    doc = preset(name)
    shell.apply_layout(doc)
    assert shell.panel_context(doc).mask.enabled
    types = {type(p).__name__ for p in shell.panels().values()}
    assert len(shell.panels()) == len(doc["panels"]), types
    text = every_tab_text(shell)
    assert leaks(text, store) == []
    # Positive control: the same panels on a duty officer's screen show the reporter.
    duty = copy.deepcopy(doc)
    duty["role"] = "duty_officer"
    shell.apply_layout(duty)
    assert not shell.panel_context(duty).mask.enabled
    full = every_tab_text(shell)
    if any(d["type"] in ("newest_cases", "alerts") for d in doc["panels"].values()):
        assert NAME in full and PHONE in full


# ---- the briefing ----------------------------------------------------------------------------


def test_keys_timer_blank_and_escape_restore(shell: Shell, store: Store) -> None:
    clock = FakeClock()
    shell.briefing.clock = clock
    doc = duty_doc_with_playlist()
    shell.apply_layout(doc, "duty-test", "user")
    before = set(shell.panels())
    unmasked = every_tab_text(shell)
    assert NAME in unmasked  # a duty console shows the reporter

    shell.windows[0].briefing.start.trigger()  # View ▸ Briefing ▸ Start (F5)
    b = shell.briefing
    assert b.active and b.timer.isActive() and b.player is not None
    assert b.player.index == 0 and shell.layout_name() == "最新案件"
    bar = b.bars[0]
    assert (bar.title.text(), bar.position.text(), bar.remaining.text()) == (
        "最新案件",
        "1/3",
        "0:10",
    )
    # Forced masking: the playlist's screens are masked though the layout is a duty one.
    assert shell.panel_context(shell.document()).mask.enabled
    assert leaks(every_tab_text(shell), store) == []

    QTest.keyClick(shell.windows[0], Qt.Key.Key_PageDown)
    assert b.player.index == 1 and b.bars[0].position.text() == "2/3"
    assert leaks(every_tab_text(shell), store) == []
    QTest.keyClick(shell.windows[0], Qt.Key.Key_PageUp)
    assert b.player.index == 0
    QTest.keyClick(shell.windows[0], Qt.Key.Key_Right)
    assert b.player.index == 1

    clock.t += 4
    b.tick()
    assert b.player.index == 1 and b.bars[0].remaining.text() == "0:06"
    clock.t += 7  # time is up: the timer moves on
    b.tick()
    assert b.player.index == 2 and shell.layout_name() == "考核指标"

    QTest.keyClick(shell.windows[0], Qt.Key.Key_B)
    covers = shell.windows[0].findChildren(BlankCover)
    assert b.player.blanked and covers and covers[0].isVisible()
    assert covers[0].geometry() == shell.windows[0].rect()
    clock.t += 60
    b.tick()
    assert b.player.index == 2, "a blanked briefing never advances"
    QTest.keyClick(shell.windows[0], Qt.Key.Key_Period)
    assert not b.player.blanked and not covers[0].isVisible()

    QTest.keyClick(shell.windows[0], Qt.Key.Key_P)
    assert b.player.state is State.PAUSED and shell.windows[0].briefing.pause.isChecked()
    assert b.bars[0].state.isVisibleTo(b.bars[0])
    QTest.keyClick(shell.windows[0], Qt.Key.Key_P)
    assert b.player.state is State.PLAYING

    QTest.keyClick(shell.windows[0], Qt.Key.Key_Home)
    assert b.player.index == 0
    QTest.keyClick(shell.windows[0], Qt.Key.Key_End)
    assert b.player.index == 2

    QTest.keyClick(shell.windows[0], Qt.Key.Key_Escape)
    assert not b.active and not b.timer.isActive()
    assert shell.layout_name() == "值班测试" and set(shell.panels()) == before
    assert (shell.key, shell.source) == ("duty-test", "user")
    assert not shell.panel_context(shell.document()).mask.enabled
    assert NAME in shown_texts(shell.windows), "the duty console has its full detail back"
    # Keys are the presenter's only while briefing: P on a duty console does nothing.
    QTest.keyClick(shell.windows[0], Qt.Key.Key_PageDown)
    assert not b.active


def test_leader_preset_playlist_runs_in_large_type(shell: Shell, store: Store) -> None:
    assert shell.open_layout("leader_briefing")
    assert shell.briefing.start()
    b = shell.briefing
    assert b.player is not None and len(b.player.playlist.items) >= 4
    from widgets import theme

    assert theme.current_scale() >= 1.5
    titles = []
    for _ in b.player.playlist.items:
        titles.append(b.bars[0].title.text())
        assert b.bars[0].masked.isVisibleTo(b.bars[0])
        assert leaks(every_tab_text(shell), store) == []
        b.player.next()
    assert titles[:2] == ["一屏观全城", "红黄蓝预警"]
    assert "视频" in titles
    assert not b.active and shell.layout_name() == "领导研判大屏"  # next on the last stops


def test_actions_are_in_the_palette_with_shortcuts_and_tooltips(shell: Shell) -> None:
    shell.apply_layout(duty_doc_with_playlist())
    win = shell.windows[0]
    in_palette = {id(a) for _, a in win.commands.entries()}
    assert {id(win.briefing.start), id(win.briefing.export)} <= in_palette
    assert win.briefing.start.shortcut().toString() == "F5"
    assert win.briefing.export.shortcut().toString() == "Ctrl+Shift+E"
    assert not win.briefing.next.isEnabled(), "presenter keys only while briefing"
    shell.briefing.start()
    win = shell.windows[0]
    in_palette = {id(a) for _, a in win.commands.entries()}
    for key, act in win.briefing.actions.items():
        assert id(act) in in_palette, key  # while briefing, every command is offered
        assert not act.shortcut().isEmpty() and act.toolTip(), key
    shell.briefing.stop()


# ---- one-key export ---------------------------------------------------------------------------


def pdf_text(path: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext not installed")
    return subprocess.run(
        [tool, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_one_key_export_from_a_duty_console_is_masked(
    shell: Shell, store: Store, tmp_path: Path
) -> None:
    doc = duty_doc_with_playlist()
    shell.apply_layout(doc, "duty-test", "user")
    started = time.monotonic()
    shell.export_folder = tmp_path / "out"
    shell._export_briefing_ui(shell.windows[0])  # what Ctrl+Shift+E runs
    assert shell.last_export is not None and not shell.problems
    shots, pdf = shell.last_export
    assert len(shots) == len(shell.windows) and all(p.stat().st_size > 10_000 for p in shots)
    assert pdf.parent.parent == tmp_path / "out" and pdf.stat().st_size > 10_000
    text = pdf_text(pdf)
    assert "考核" in text or "指标" in text, "Chinese text extracts"
    assert leaks(text, store) == []
    names = {
        n
        for r in range(len(store))
        if len(n := (getattr(store.record_at(r), "reporter_name", "") or "")) >= 2
    }
    assert not [n for n in names if n in text]
    # The duty console is back, unmasked, as it was.
    assert shell.layout_name() == "值班测试" and NAME in shown_texts(shell.windows)
    assert "briefing-" in shell.windows[0].statusBar().currentMessage() or shots
    assert time.monotonic() - started < 30
