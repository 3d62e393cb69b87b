"""The case desk against the real reference server (a child process, county standing
still with ``--rate 0``): sign from the queue by keyboard, dispatch through the dialog to a
suggested body, a refused action shows its reason, a conflict is shown, the server away
(pending) and back (confirmed); the detail's reveal writes an audit row; CSV export."""

from __future__ import annotations

import asyncio
import csv
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import httpx
import msgspec
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from commandcenter.actions import ItemState, Outbox
from commandcenter.alarms import AlarmEngine
from commandcenter.audit import AuditLog
from commandcenter.domain import Role
from commandcenter.selection import Selection
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from feeds import protocol as P
from feeds.actions import ActionSender
from tests.support import BUSY_MORNING, ServerProcess
from widgets import i18n, registry, theme
from widgets.base import PanelContext, hall_context
from widgets.cases import common
from widgets.cases.queue import TABS, CaseQueueModel, CaseQueuePanel
from widgets.live import LiveBridge

pytestmark = pytest.mark.slow
TOKEN = "test-token-0001"


class Server:
    def __init__(self, state: Path) -> None:
        self.args = [
            "--state-dir", str(state), "--rate", "0", "--history-hours", "3", "--seed", "11",
            "--heartbeat", "0.5", "--synthetic-outline", "--start-ts", str(BUSY_MORNING),
        ]  # fmt: skip
        self.proc = ServerProcess(*self.args).start()

    @property
    def url(self) -> str:
        return self.proc.url

    def restart(self) -> None:
        self.proc = ServerProcess(*self.args, port=self.proc.port).start()

    def get(self, path: str) -> httpx.Response:
        r = httpx.get(self.url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        r.raise_for_status()
        return r


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("cases-e2e") / "state")
    try:
        yield srv
    finally:
        srv.proc.stop()


class Desk:
    """A console's pieces without the window: store synced from the server's snapshot,
    outbox, audit, alarms, and one round of the sender on demand."""

    def __init__(self, server: Server, tmp: Path) -> None:
        self.server = server
        self.store = Store()
        self.status = FeedStatus()
        self.bridge = LiveBridge(self.store, self.status)
        self.audit = AuditLog(tmp / "audit.sqlite3")
        self.outbox = Outbox(tmp / "outbox.sqlite3", audit=self.audit)
        self.alarms = AlarmEngine(self.store, self.audit)
        self.ctx = hall_context(
            self.store, self.status, self.bridge, Selection(), Role.DUTY_OFFICER,
            outbox=self.outbox, audit=self.audit, alarms=self.alarms, actor="值班员王五",
        )  # fmt: skip
        self.store.set_geography(server.get("/v1/geography").json())
        self.sync()

    def sync(self) -> None:
        self.store.reset(P.decode_snapshot(self.server.get("/v1/snapshot").content))
        self.bridge.flush()

    def deliver(self) -> int:
        sender = ActionSender(self.outbox, self.audit, self.server.url, TOKEN, connect_timeout=1)
        return asyncio.run(sender.send_due())

    def pick(self, state: str) -> Any:
        taken = {i.case_id for i in self.outbox.items()}
        return next(
            self.store.record_at(r)
            for r in range(len(self.store))
            if self.store.record_at(r).state == state and self.store.record_at(r).id not in taken
        )

    def close(self) -> None:
        self.bridge.close()
        self.outbox.close()
        self.audit.close()


@pytest.fixture
def desk(qapp: Any, server: Server, tmp_path: Path, monkeypatch) -> Iterator[Desk]:
    monkeypatch.setenv("CC_CONFIG_DIR", str(tmp_path / "config"))
    theme.apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)
    common.sounds().muted = True
    d = Desk(server, tmp_path)
    yield d
    d.close()


def queue_panel(desk: Desk, qtbot: Any) -> CaseQueuePanel:
    p = registry.create("case_queue", desk.ctx)
    assert isinstance(p, CaseQueuePanel)
    qtbot.addWidget(p)
    p.resize(1500, 800)
    p.show()
    qtbot.waitExposed(p)
    p.set_filter(p.current_filter().__class__())  # everything
    return p


def marker(p: CaseQueuePanel, case_id: str) -> str:
    pos = p.model.position_of(case_id)
    return str(p.model.index(pos, CaseQueueModel.OUTBOX).data(CaseQueueModel.MarkerRole))


def test_sign_from_the_queue_with_the_keyboard(desk: Desk, qtbot: Any) -> None:
    p = queue_panel(desk, qtbot)
    case = desk.pick("reported")
    assert p.select_case(case.id)
    p.view.setFocus()
    QTest.keyClick(p.view, Qt.Key.Key_J)
    QTest.keyClick(p.view, Qt.Key.Key_K)
    assert p.current_case_id() == case.id, "j then k comes back"
    QTest.keyClick(p.view, Qt.Key.Key_Return)
    assert desk.ctx.selection.case_ids == (case.id,), "Enter opens it for the detail"
    QTest.keyClick(p.view, Qt.Key.Key_S)
    assert marker(p, case.id) == "pending", "shown as pending until the server confirms"
    assert "待服务器确认" in p.banner.text()
    assert desk.deliver() == 1
    assert marker(p, case.id) == "confirmed"
    assert "服务器已确认" in p.banner.text() and "待服务器确认" not in p.banner.text(), (
        "the pending note gives way to the server's answer"
    )
    desk.sync()
    assert desk.store.case(case.id).state == "signed"
    assert desk.store.case(case.id).timeline[-1].actor == "值班员王五"


def test_dispatch_through_the_dialog_to_the_suggested_department(desk: Desk, qtbot: Any) -> None:
    p = queue_panel(desk, qtbot)
    case = desk.pick("signed")
    p.select_case(case.id)
    p.view.setFocus()
    QTest.keyClick(p.view, Qt.Key.Key_D)
    dlg = p.dispatch_dialog
    qtbot.waitExposed(dlg)
    assert dlg.suggestions, "suggestions by category and area"
    top = dlg.suggestions[0]
    assert top.reasons and dlg.params() == top.params, "the first suggestion is preselected"
    assert dlg.bodies.topLevelItem(0).text(2), "each suggestion says why"
    if dlg.unit_suggestions:
        assert "km" in dlg.units.topLevelItem(0).text(2)
    dlg.accept()
    assert desk.deliver() == 1
    desk.sync()
    got = desk.store.case(case.id)
    assert (got.state, got.assignee, got.assignee_kind) == (
        "assigned",
        top.assignee,
        top.assignee_kind.value,
    )


def test_an_illegal_action_is_refused_with_its_reason(desk: Desk, qtbot: Any) -> None:
    p = queue_panel(desk, qtbot)
    case = desk.pick("reported")
    p.select_case(case.id)
    p.view.setFocus()
    QTest.keyClick(p.view, Qt.Key.Key_V)  # verify and close a case nobody signed for
    assert "被拒绝" in p.banner.text() and "请先签收" in p.banner.text()
    assert not re.search("[A-Za-z]{3,}", p.banner.text().removeprefix(case.id)), (
        "the reason is in the UI's language, not the wire's English"
    )
    assert desk.outbox.items(case.id) == [], "nothing stored, nothing sent"
    assert desk.audit.query(case_id=case.id)[0].result == "refused_local"
    # The detail says the same before the click: disabled, the reason as its tooltip.
    d = registry.create("case_detail", desk.ctx)
    qtbot.addWidget(d)
    desk.ctx.selection.select([case.id])
    b = d.buttons[common.Action.VERIFY]
    assert not b.isEnabled() and "请先签收" in b.toolTip()
    assert d.buttons[common.Action.SIGN].isEnabled()


def test_a_conflict_is_shown_not_swallowed(desk: Desk, qtbot: Any) -> None:
    p = queue_panel(desk, qtbot)
    case = desk.pick("reported")
    # Another officer supervises the case first (the console has not seen it yet).
    body = P.encode(P.ActionRequest(action="escalate", actor="领导", params={"reason": "快办"}))
    r = httpx.post(
        f"{desk.server.url}/v1/cases/{case.id}/actions",
        content=body,
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Idempotency-Key": str(uuid.uuid4()),
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    p.select_case(case.id)
    p.view.setFocus()
    QTest.keyClick(p.view, Qt.Key.Key_S)
    desk.deliver()
    assert marker(p, case.id) == "conflict"
    assert "冲突" in p.banner.text() and "版本" in p.banner.text()
    assert p.ack_button.isVisible()
    p.ack_button.click()
    assert desk.outbox.needs_attention() == [] and not p.ack_button.isVisible()


def test_server_down_pending_then_back_confirmed(desk: Desk, qtbot: Any) -> None:
    p = queue_panel(desk, qtbot)
    case = desk.pick("reported")
    desk.server.proc.kill()
    try:
        p.select_case(case.id)
        p.view.setFocus()
        QTest.keyClick(p.view, Qt.Key.Key_S)
        assert desk.deliver() == 0
        item = desk.outbox.items(case.id)[0]
        assert item.state is ItemState.PENDING and item.last_error
        assert marker(p, case.id) == "pending"
        pos = p.model.position_of(case.id)
        tip = p.model.index(pos, CaseQueueModel.OUTBOX).data(Qt.ItemDataRole.ToolTipRole)
        assert "将自动重试" in tip
    finally:
        desk.server.restart()
    desk.outbox.retry_all_now()
    assert desk.deliver() == 1
    assert marker(p, case.id) == "confirmed"


def test_reveal_writes_an_audit_row_and_csv_exports(desk: Desk, qtbot: Any, tmp_path: Path) -> None:
    case = next(
        desk.store.record_at(r)
        for r in range(len(desk.store))
        if desk.store.record_at(r).reporter_phone
    )
    d = registry.create("case_detail", desk.ctx)
    qtbot.addWidget(d)
    d.resize(1000, 700)
    d.show()
    desk.ctx.selection.select([case.id])
    assert case.reporter_phone not in d.reporter.text(), "masked by default"
    d.reveal_button.click()
    assert case.reporter_phone in d.reporter.text()
    rows = desk.audit.query(case_id=case.id, action="reveal_reporter")
    assert [(r.actor, r.result) for r in rows] == [("值班员王五", "shown")]
    log = registry.create("audit_log", desk.ctx)
    qtbot.addWidget(log)
    log.reload()
    assert log.model.rowCount() >= 1
    out = tmp_path / "audit.csv"
    assert log.export_csv(str(out)) >= 1
    with out.open(encoding="utf-8-sig") as f:
        got = list(csv.DictReader(f))
    assert any(r["action"] == "reveal_reporter" and r["case_id"] == case.id for r in got)
    assert all(case.reporter_phone not in r["params"] for r in got), "the log stays masked"


def test_new_urgent_case_flashes_until_acknowledged(desk: Desk, qtbot: Any) -> None:
    p = queue_panel(desk, qtbot)
    case = desk.pick("reported")
    desk.alarms.new_window_s = 10 * 86400.0  # the still county's cases are not new
    urgent = msgspec.structs.replace(case, urgency="urgent", version=case.version + 1)
    desk.store.apply([P.Event(desk.store.seq + 1, P.CASE_UPDATED, 0.0, urgent)])
    desk.alarms.evaluate()
    assert case.id in p.model.flashing and p._flash_timer.isActive()
    p.select_case(case.id)
    p.view.setFocus()
    QTest.keyClick(p.view, Qt.Key.Key_A)
    assert case.id not in p.model.flashing
    assert desk.audit.query(action="alarm.acknowledge", case_id=case.id)


def test_signed_inside_to_sign_stays_with_a_note_after_the_server_confirms(
    desk: Desk, qtbot: Any
) -> None:
    p = queue_panel(desk, qtbot)
    p.tabs.setCurrentIndex(TABS.index("to_sign"))
    assert p.model.filter.duty == "to_sign" and p.model.rowCount() >= 2
    taken = {i.case_id for i in desk.outbox.items()}
    row = next(r for r in range(p.model.rowCount()) if p.model.case_id_at(r) not in taken)
    p.view.selectRow(row)
    p.view.setFocus()
    case_id = p.current_case_id()
    QTest.keyClick(p.view, Qt.Key.Key_S)
    assert desk.deliver() == 1
    desk.sync()  # the snapshot: the case is signed, no longer one to sign
    qtbot.waitUntil(lambda: p.model.pinned == case_id)
    assert p.current_case_id() == case_id
    assert "已签收，不再属于此筛选" in p.banner.text()
    assert p.model.counts[("to_sign", "")] == p.model.rowCount() - 1


def test_a_snapshot_renumbering_the_rows_keeps_the_current_case_and_pins_no_other(
    qtbot: Any,
) -> None:
    """A snapshot numbers the store's rows anew. Read through the list's old rows, the
    current row named whichever case now sat at its old store row: a closed one was then
    kept on screen with "已结案，不再属于此筛选" while the detail showed another case."""
    store = Store()
    bridge = LiveBridge(store, FeedStatus())
    panel = registry.create("case_queue", hall_context(store, FeedStatus(), bridge))
    qtbot.addWidget(panel)
    now = BUSY_MORNING

    def case(cid: str, state: str) -> P.CaseData:
        return P.CaseData(
            id=cid, version=1, category="占道经营", source="hotline", urgency="normal",
            state=state, township="冠山镇", grid="G1", lon=113.6, lat=37.8,
            created_ts=now - 3600, state_ts=now - 3600,
        )  # fmt: skip

    def snapshot(*cases: P.CaseData) -> P.Snapshot:
        return P.Snapshot(v=1, epoch="e1", seq=1, now=now, rate=1.0, cases=list(cases))

    def listed() -> list[str]:
        return [panel.model.case_id_at(r) for r in range(panel.model.rowCount())]

    try:
        assert panel.model.filter.open_only  # the queue lists open cases by default
        store.reset(snapshot(*(case(c, "reported") for c in ("C1", "C2", "C3"))))
        bridge.flush()
        qtbot.waitUntil(lambda: sorted(listed()) == ["C1", "C2", "C3"])
        assert panel.select_case("C2") and panel.current_case_id() == "C2"
        # C2's old store row (1) now holds a closed case
        store.reset(snapshot(case("C1", "reported"), case("X", "closed"), case("C2", "reported"),
                             case("C3", "reported")))  # fmt: skip
        bridge.flush()
        qtbot.waitUntil(lambda: not panel._requery_timer.isActive())
        assert panel.current_case_id() == "C2"
        assert panel.model.pinned == "" and sorted(listed()) == ["C1", "C2", "C3"]
        # the current case itself closed by a snapshot: it stays, with the note
        store.reset(snapshot(case("C2", "closed"), case("C1", "reported"), case("C3", "reported")))
        bridge.flush()
        qtbot.waitUntil(lambda: not panel._requery_timer.isActive())
        assert panel.current_case_id() == "C2" and panel.model.pinned == "C2"
    finally:
        panel.teardown()
        bridge.close()


def test_action_buttons_reflow_to_stay_in_a_narrow_dock(qtbot) -> None:
    """English labels are wider: a 5-button row wider than the dock would push the last
    buttons out of sight, so a narrow detail puts fewer in a row."""
    from PySide6.QtWidgets import QApplication

    from commandcenter.status import FeedStatus
    from tests.demo_county import demo_store
    from widgets import i18n, registry
    from widgets.live import LiveBridge

    app = QApplication.instance()
    i18n.set_language(app, i18n.ENGLISH)
    store, status = demo_store(), FeedStatus()
    bridge = LiveBridge(store, status)
    try:
        p = registry.create("case_detail", PanelContext(store, status, bridge))
        qtbot.addWidget(p)
        p.show_case(store.newest_cases(1)[0].id)
        for width in (1400, 560):
            p.resize(width, 700)
            p.show()
            qtbot.waitExposed(p)
            app.processEvents()
            right = max(b.mapTo(p, b.rect().topRight()).x() for b in p.buttons.values())
            assert right <= p.width(), (width, right)
        assert p._button_cols < 5
    finally:
        i18n.set_language(app, i18n.CHINESE)
        bridge.close()


def test_mini_map_labels_stay_inside_the_map() -> None:
    """A unit's name goes right of its dot, left of it near the right edge (a 60-px name
    beside a dot 20 px from the edge of a 200-px map), never before the left edge."""
    from widgets.cases.detail import label_x

    assert label_x(50.0, 60.0, 200.0) == 57.0  # room on the right: 50 + 7
    assert label_x(180.0, 60.0, 200.0) == 113.0  # 180 - 7 - 60: ends left of the dot
    assert label_x(30.0, 190.0, 200.0) == 2.0  # too long either way: from the edge
