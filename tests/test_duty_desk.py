"""The duty officer's shift, keyboard first, on the real shell with the dispatch desk
preset over the demo county: focus starts in the queue, the search hands over to the
results, the duty tabs count what they show (live), the palette offers every case action
(disabled ones say why and do not run), and an alarm becomes a signed and dispatched case
in at most four keystrokes. Keys are real key events sent where the keyboard focus is."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import msgspec
import PySide6QtAds as ads
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from commandcenter.actions import Outbox
from commandcenter.alarms import AlarmEngine
from commandcenter.audit import AuditLog
from commandcenter.domain import CaseState, Role
from commandcenter.status import FeedStatus
from feeds import protocol as P
from layouts.library import LayoutLibrary
from layouts.shell import Shell
from tests.demo_county import demo_store
from tests.test_queue import OPEN, in_duty
from widgets import i18n, registry, theme
from widgets.base import hall_context
from widgets.cases import common
from widgets.cases.alarms import AlarmsPanel
from widgets.cases.detail import CaseDetailPanel
from widgets.cases.queue import TABS, CaseQueuePanel
from widgets.chrome.palette import CommandPalette
from widgets.live import LiveBridge


class Desk:
    """The console of main.py over the demo county: outbox, audit, alarms, the shell."""

    def __init__(self, tmp: Path, role: Role = Role.DUTY_OFFICER) -> None:
        self.store = demo_store()
        self.store.set_clock(self.store.clock.now(), rate=0.0)  # the county stands still
        self.status = FeedStatus()
        self.bridge = LiveBridge(self.store, self.status)
        self.audit = AuditLog(tmp / "audit.sqlite3")
        self.outbox = Outbox(tmp / "outbox.sqlite3", audit=self.audit)
        self.alarms = AlarmEngine(self.store, self.audit)
        self.ctx = hall_context(
            self.store, self.status, self.bridge, role=role, outbox=self.outbox,
            audit=self.audit, alarms=self.alarms, actor="值班员王五",
        )  # fmt: skip
        self.shell = Shell(self.ctx, LayoutLibrary(tmp / "user"), interactive=False)
        self.shell.open_layout("dispatch_desk")
        self.keys = 0

    def panel(self, cls: type) -> Any:
        return next(p for p in self.shell.panels().values() if isinstance(p, cls))

    def press(self, qtbot: Any, key: Qt.Key | str) -> None:
        """One keystroke, to whatever has the keyboard focus (as a keyboard does)."""
        target = QApplication.focusWidget()
        assert target is not None, "no widget has the keyboard focus"
        qtbot.keyClick(target, key)
        self.keys += 1

    def update_case(self, case_id: str, **changes: Any) -> None:
        """The server's word on a case (what a confirmed action brings back)."""
        case = self.store.case(case_id)
        new = msgspec.structs.replace(case, version=case.version + 1, **changes)
        self.store.apply([P.Event(self.store.seq + 1, P.CASE_UPDATED, 0.0, new)])
        self.bridge.flush()

    def close(self) -> None:
        self.shell.close_all()
        self.bridge.close()
        self.outbox.close()
        self.audit.close()


@pytest.fixture
def desk(qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    monkeypatch.setenv("CC_CONFIG_DIR", str(tmp_path / "config"))
    theme.apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)
    registry.load_builtin_panels()
    common.sounds().muted = True
    d = Desk(tmp_path)
    yield d
    d.close()


def status_text(desk: Desk) -> str:
    return " ".join(w.status.message.text() for w in desk.shell.windows)


def test_focus_starts_in_the_queue_and_j_moves(desk: Desk, qtbot: Any) -> None:
    q = desk.panel(CaseQueuePanel)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is q.view)
    first = q.current_case_id()
    assert first, "the first row is current: the action keys have a case at once"
    desk.press(qtbot, Qt.Key.Key_J)
    assert q.current_case_id() == q.model.case_id_at(1) != first
    desk.press(qtbot, Qt.Key.Key_K)
    assert q.current_case_id() == first
    desk.press(qtbot, Qt.Key.Key_K)
    assert "已是第一件" in status_text(desk), "a key that cannot move says so"
    desk.press(qtbot, "q")
    assert "“q”键没有操作" in status_text(desk), "a key without an action says so too"
    assert q.current_case_id() == first
    desk.press(qtbot, "5")  # 已超期
    desk.press(qtbot, "]")  # its first stage: 签收
    assert (q.model.filter.duty, q.model.filter.stage) == ("overdue", "sign")
    assert q.model.rowCount() == q.model.counts[("overdue", "sign")]
    assert "已超期 · 签收" in status_text(desk)


def test_search_types_letters_and_down_or_enter_hand_over_to_the_results(
    desk: Desk, qtbot: Any
) -> None:
    q = desk.panel(CaseQueuePanel)
    target = next(
        desk.store.record_at(r)
        for r in range(len(desk.store))
        if desk.store.record_at(r).state == CaseState.REPORTED
    )
    qtbot.waitUntil(lambda: QApplication.focusWidget() is q.view)
    desk.press(qtbot, Qt.Key.Key_Slash)
    assert QApplication.focusWidget() is q.search
    for ch in target.id.lower() + "s":  # 's' is typed here, not an action
        desk.press(qtbot, ch)
    assert q.search.text() == target.id.lower() + "s"
    assert desk.outbox.items() == []
    desk.press(qtbot, Qt.Key.Key_Backspace)
    desk.press(qtbot, Qt.Key.Key_Return)
    assert QApplication.focusWidget() is q.view
    assert q.current_case_id() == target.id
    qtbot.waitUntil(lambda: q.key_states.get(common.Action.SIGN) is True)
    assert not q.key_states[common.Action.ASSIGN], "派遣 looks disabled before 签收"
    assert "line-through" in q.keys_label.text()
    desk.press(qtbot, "s")
    assert [i.action for i in desk.outbox.items(target.id)] == ["sign"]
    assert q.key_states[common.Action.ASSIGN] and not q.key_states[common.Action.SIGN]
    assert "待服务器确认" in status_text(desk)
    # Down from the search box reaches the results too.
    desk.press(qtbot, Qt.Key.Key_Slash)
    desk.press(qtbot, Qt.Key.Key_Down)
    assert QApplication.focusWidget() is q.view


def test_signing_inside_to_sign_keeps_the_case_with_a_note_and_the_next_is_one_key_away(
    desk: Desk, qtbot: Any
) -> None:
    q = desk.panel(CaseQueuePanel)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is q.view)
    desk.press(qtbot, "2")  # 待签收
    assert q.model.filter.duty == "to_sign" and q.model.rowCount() >= 3
    desk.press(qtbot, Qt.Key.Key_J)
    acted, after = q.current_case_id(), q.model.case_id_at(2)
    desk.press(qtbot, "s")
    item = desk.outbox.items(acted)[0]
    # The server confirms: the case is signed and no longer belongs to 待签收.
    desk.outbox.mark_sending(item.key)
    desk.outbox.mark_confirmed(item.key)
    desk.update_case(acted, state=CaseState.SIGNED.value)
    qtbot.waitUntil(lambda: q.model.pinned == acted)
    assert q.current_case_id() == acted, "still selected, still visible"
    assert "已签收，不再属于此筛选" in q.banner.text()
    assert "已签收，不再属于此筛选" in status_text(desk)
    assert "待服务器确认" not in status_text(desk)
    assert q.model.counts[("to_sign", "")] == q.model.rowCount() - 1, "the count is honest"
    desk.press(qtbot, Qt.Key.Key_J)
    assert q.current_case_id() == after, "the next case is one key away"
    qtbot.waitUntil(lambda: q.model.position_of(acted) < 0)
    assert q.current_case_id() == after
    assert q.model.counts[("to_sign", "")] == q.model.rowCount()


def test_refusals_speak_the_ui_language_and_say_why(desk: Desk, qtbot: Any) -> None:
    q = desk.panel(CaseQueuePanel)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is q.view)
    handling = next(
        desk.store.record_at(r).id
        for r in range(len(desk.store))
        if desk.store.record_at(r).state == CaseState.HANDLING
    )
    assert q.select_case(handling)
    desk.press(qtbot, "s")
    said = status_text(desk)
    assert "被拒绝" in said and "处置中" in said and "请等待承办人反馈办结" in said
    assert "cannot" not in said and "handling" not in said
    i18n.set_language(QApplication.instance(), i18n.ENGLISH)
    desk.press(qtbot, "s")
    said = status_text(desk)
    assert "refused" in said and "cannot sign for a case that is handling" in said
    assert "签收" not in said and "请" not in said


def counted(desk: Desk, duty: str, stage: str) -> int:
    """The oracle (tests/test_queue.py's rules, case by case) over the bar's default
    filter: open cases."""
    store = desk.store
    now = store.clock.now()
    records = (store.record_at(r) for r in range(len(store)))
    return sum(
        c.state in OPEN and in_duty(c, store.policy.evaluate(c, now), duty, stage) for c in records
    )


def test_every_tab_counts_the_rows_it_shows_and_counts_follow_live(desk: Desk, qtbot: Any) -> None:
    q = desk.panel(CaseQueuePanel)
    seen = {}
    for i, duty in enumerate(TABS):
        q.tabs.setCurrentIndex(i)
        stages = [""] + (
            ["sign", "dispatch", "on_site", "done"] if duty in ("due_soon", "overdue") else []
        )
        assert q.stages.isVisible() == (len(stages) > 1)
        for j, stage in enumerate(stages):
            q.stages.setCurrentIndex(j)
            shown = q.model.rowCount()
            assert q.model.counts[(duty, stage)] == shown == counted(desk, duty, stage), (
                duty,
                stage,
            )
            total = q.model.counts[(duty, "")]
            assert q.tabs.tabText(i).endswith(f" {total:,}")
            seen[(duty, stage)] = shown
    assert all(seen[(d, "")] > 0 for d in ("", "to_sign", "to_dispatch", "overdue")), seen
    assert (
        sum(seen[("overdue", s)] for s in ("sign", "dispatch", "on_site", "done"))
        == seen[("overdue", "")]
    )
    # Live: a case signed elsewhere leaves 待签收 and joins 待派遣, on every tab's number.
    q.tabs.setCurrentIndex(0)
    reported = next(
        desk.store.record_at(r).id
        for r in range(len(desk.store))
        if desk.store.record_at(r).state == CaseState.REPORTED
    )
    desk.update_case(reported, state=CaseState.SIGNED.value)
    qtbot.waitUntil(lambda: q.model.counts[("to_sign", "")] == seen[("to_sign", "")] - 1)
    assert q.model.counts[("to_dispatch", "")] == seen[("to_dispatch", "")] + 1
    assert "待签收 {:,}".format(seen[("to_sign", "")] - 1) in q.tabs.tabText(1)
    # A supervised case (督办) shows on its tab.
    desk.update_case(reported, supervised=1)
    qtbot.waitUntil(lambda: q.model.counts[("supervised", "")] == counted(desk, "supervised", ""))
    q.tabs.setCurrentIndex(TABS.index("supervised"))
    assert reported in {q.model.case_id_at(r) for r in range(q.model.rowCount())}


def test_the_palette_offers_every_case_action_disabled_ones_say_why(desk: Desk, qtbot: Any) -> None:
    q = desk.panel(CaseQueuePanel)
    reported, other = [
        desk.store.record_at(r).id
        for r in range(len(desk.store))
        if desk.store.record_at(r).state == CaseState.REPORTED
    ][:2]
    assert q.select_case(reported)
    win = desk.shell.windows[0]
    pal = desk.shell.open_palette(win)
    assert isinstance(pal, CommandPalette)
    qtbot.waitExposed(pal)
    labels = pal.visible_labels()
    sign = next(t for t in labels if t.startswith(f"签收 {reported}"))
    verify = next(t for t in labels if t.startswith(f"派遣 {reported}"))
    assert "不可用" not in sign
    assert "不可用" in verify and "请先签收" in verify, "a disabled action says why"
    assert labels.index(sign) < labels.index(verify)
    # Disabled behaves disabled: Enter on it runs nothing and says why.
    pal.query.setText(f"派遣 {reported}")
    assert pal.visible_labels()[0].startswith(f"派遣 {reported}")
    qtbot.keyClick(pal.query, Qt.Key.Key_Return)
    assert pal.isVisible() and "请先签收" in pal.hint.text()
    assert desk.outbox.items(reported) == []
    # Searchable by id: another case's actions, by typing its id.
    pal.query.setText(f"签收 {other}")
    assert pal.visible_labels()[0].startswith(f"签收 {other}")
    qtbot.keyClick(pal.query, Qt.Key.Key_Return)
    assert not pal.isVisible()
    assert [i.action for i in desk.outbox.items(other)] == ["sign"]
    assert q.current_case_id() == other, "the acted case is the selected one"
    # A queued 签收 opens 派遣 at once, in the palette as on the buttons.
    pal = desk.shell.open_palette(win)
    labels = pal.visible_labels()
    assert any(t.startswith(f"派遣 {other}") and "不可用" not in t for t in labels), (
        "dispatch is open once this console's 签收 is queued"
    )
    pal.close()
    detail = desk.panel(CaseDetailPanel)
    qtbot.waitUntil(lambda: detail.case_id == other)
    assert detail.buttons[common.Action.ASSIGN].isEnabled()
    assert not detail.buttons[common.Action.SIGN].isEnabled()


def test_the_detail_takes_the_action_keys_too(desk: Desk, qtbot: Any) -> None:
    q = desk.panel(CaseQueuePanel)
    reported = next(
        desk.store.record_at(r).id
        for r in range(len(desk.store))
        if desk.store.record_at(r).state == CaseState.REPORTED
    )
    assert q.select_case(reported)
    q.open_current()
    detail = desk.panel(CaseDetailPanel)
    qtbot.waitUntil(lambda: detail.case_id == reported)
    # The test screen is small: the detail may be folded into a tab (layouts/folding.py).
    next(
        d for w in desk.shell.windows for d in w.manager.dockWidgetsMap().values()
        if d.widget() is detail
    ).setAsCurrentTab()  # fmt: skip
    detail.buttons[common.Action.SIGN].setFocus()  # the officer tabbed into the detail
    qtbot.waitUntil(lambda: QApplication.focusWidget() is detail.buttons[common.Action.SIGN])
    desk.press(qtbot, "d")  # dispatch before signing
    assert "请先签收" in detail.message.text() and "请先签收" in status_text(desk)
    desk.press(qtbot, "s")
    assert [i.action for i in desk.outbox.items(reported)] == ["sign"]
    assert "待服务器确认" in detail.message.text()
    item = desk.outbox.items(reported)[0]
    desk.outbox.mark_sending(item.key)
    desk.outbox.mark_confirmed(item.key)
    assert "服务器已确认" in detail.message.text() and "待服务器确认" not in detail.message.text()


def test_from_an_alarm_to_a_signed_and_dispatched_case_in_four_keystrokes(
    desk: Desk, qtbot: Any
) -> None:
    alarms = desk.panel(AlarmsPanel)
    case_id = next(
        desk.store.record_at(r).id
        for r in range(len(desk.store))
        if desk.store.record_at(r).state == CaseState.REPORTED
    )
    # A new urgent case waits to be signed: the alarm every duty officer knows.
    desk.alarms.new_window_s = 10 * 86400.0  # the still county's cases count as new
    desk.update_case(case_id, urgency="urgent")
    desk.alarms.evaluate()
    alarms.refresh()
    row = next(i for i, a in enumerate(alarms.model.alarms) if a.case_id == case_id)
    # The officer picks the alarms tab and clicks the alarm (a click, not a keystroke).
    dock = alarms.parentWidget()
    while not isinstance(dock, ads.CDockWidget):
        dock = dock.parentWidget()
    dock.raise_()
    qtbot.waitUntil(alarms.view.isVisible)
    alarms.view.scrollTo(alarms.model.index(row, 0))
    rect = alarms.view.visualRect(alarms.model.index(row, 1))
    qtbot.mouseClick(alarms.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: QApplication.focusWidget() is alarms.view)
    assert alarms.selected_alarm().case_id == case_id
    desk.keys = 0
    desk.press(qtbot, "s")  # 签收
    desk.press(qtbot, "d")  # 派遣: the dialog, its first suggestion chosen
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not alarms.view)
    desk.press(qtbot, Qt.Key.Key_Return)  # send
    assert desk.keys <= 4
    items = desk.outbox.items(case_id)
    assert sorted(i.action for i in items) == ["assign", "sign"]
    assert desk.outbox.project_state(case_id, CaseState.REPORTED) == CaseState.ASSIGNED
    assert "派遣" in status_text(desk) and "待服务器确认" in status_text(desk)
    assert desk.ctx.selection.case_ids == (case_id,), "the detail and the map follow"
