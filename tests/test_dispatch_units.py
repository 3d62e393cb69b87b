"""Dispatch to a person or a vehicle: suggestions by availability, then ETA, each with its
reason in the UI's language; the dialog's keys (Enter sends the first, Up/Down walk both
lists); and an assignment to a grid worker through the real reference server ends
confirmed, the case's assignee that worker in the store."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import uuid

import httpx
import pytest
from PySide6.QtCore import Qt

from commandcenter.actions import ItemState
from commandcenter.dispatch import ROAD_FACTOR, SPEED_MPS, haversine_m, nearest_units
from commandcenter.domain import AssigneeKind, CaseState, Role, UnitKind, UnitStatus
from feeds import protocol as P
from feeds.serve.simulator.county import County
from feeds.serve.simulator.world import World
from tests.support import BUSY_MORNING
from tests.test_case_panels import TOKEN, Desk, Server
from widgets import i18n, registry, theme
from widgets.cases import common
from widgets.cases.dispatch_dialog import DispatchDialog, unit_reason

M_PER_DEG = 6_371_008.8 * math.pi / 180
CASE_AT = (113.6, 37.8)


def _unit(uid: str, status: str, north_m: float, kind: str = "grid_worker", **extra: str) -> Any:
    return SimpleNamespace(
        id=uid,
        lon=CASE_AT[0],
        lat=CASE_AT[1] + north_m / M_PER_DEG,
        status=SimpleNamespace(id=uid, name=f"网格员{uid}", kind=kind, status=status, **extra),
    )


def _store(*units: Any) -> Any:
    return SimpleNamespace(units={u.id: u for u in units})


def test_an_idle_worker_near_comes_before_one_on_the_way_far_off() -> None:
    store = _store(
        _unit("ENROUTE26", "en_route", 26_000, case_id="PD0000001"),
        _unit("BUSY300", "busy", 300, case_id="PD0000002"),
        _unit("IDLE800", "available", 800, grid="G1"),
        _unit("BACK500", "returning", 500, kind="enforcement"),
        _unit("IDLE1500", "available", 1500),
        _unit("CAR3000", "available", 3000, kind="vehicle"),
        _unit("OFF10", "off_duty", 10),
    )
    got = nearest_units(store, *CASE_AT, k=10, township="T1", grid="G1")
    # idle first (by ETA: the car 3 km off at 12 m/s beats the walker 1.5 km off), then
    # returning, then busy and en route together by ETA; off duty is left out
    assert [u.unit_id for u in got] == [
        "IDLE800", "CAR3000", "IDLE1500", "BACK500", "BUSY300", "ENROUTE26",
    ]  # fmt: skip
    first = got[0]
    assert first.eta_min == pytest.approx(800 * ROAD_FACTOR / SPEED_MPS["grid_worker"] / 60)
    assert got[1].eta_min < got[2].eta_min and got[1].distance_m > got[2].distance_m
    assert (first.near, got[2].near, got[-1].case_id) == ("grid", "", "PD0000001")
    assert first.params == {"assignee": "IDLE800", "assignee_kind": "person"}
    assert got[1].params == {"assignee": "CAR3000", "assignee_kind": "unit"}
    assert got[3].assignee_kind is AssigneeKind.PERSON, "an enforcement officer is a person"


def test_equal_availability_ties_go_by_eta_then_distance() -> None:
    store = _store(
        _unit("W2", "available", 2000),
        _unit("W1", "available", 1000),
        _unit("W1b", "available", 1000),
    )
    got = nearest_units(store, *CASE_AT, k=3)
    assert got[0].unit_id in ("W1", "W1b") and got[-1].unit_id == "W2"


@pytest.mark.parametrize(
    ("lang", "want_idle", "want_busy"),
    [
        (i18n.CHINESE, "空闲 · 0.8 km · 约4分钟 · 本网格", "处置中 · 26.0 km · 约125分钟 · 本乡镇 · 正在办 PD0000002"),
        (i18n.ENGLISH, "idle · 0.8 km · ~4 min · same grid", "busy · 26.0 km · ~125 min · same township · on PD0000002"),
    ],
)  # fmt: skip
def test_each_suggestion_says_why_in_the_ui_language(
    qapp: Any, lang: str, want_idle: str, want_busy: str
) -> None:
    store = _store(
        _unit("IDLE", "available", 800, grid="G1"),
        _unit("BUSY", "busy", 26_000, case_id="PD0000002", township="T1"),
        _unit("BACK", "returning", 26_500, township="T1"),
    )
    i18n.set_language(qapp, lang)
    try:
        idle, back, busy = nearest_units(store, *CASE_AT, township="T1", grid="G1")
        assert unit_reason(idle) == want_idle
        assert unit_reason(busy) == want_busy
        assert unit_reason(back).startswith(zh_or_en(lang, "返回途中 · ", "returning · "))
        assert unit_reason(back).endswith(zh_or_en(lang, "本乡镇", "same township"))
    finally:
        i18n.set_language(qapp, i18n.CHINESE)


def zh_or_en(lang: str, zh: str, en: str) -> str:
    return zh if lang == i18n.CHINESE else en


# ---- the dialog's keys, and the real server -------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("dispatch-units") / "state")
    try:
        yield srv
    finally:
        srv.proc.stop()


@pytest.fixture
def desk(qapp: Any, server: Server, tmp_path: Path, monkeypatch) -> Iterator[Desk]:
    monkeypatch.setenv("CC_CONFIG_DIR", str(tmp_path / "config"))
    theme.apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)
    common.sounds().muted = True
    d = Desk(server, tmp_path)
    yield d
    d.close()


def test_up_and_down_walk_both_lists_and_enter_sends(desk: Desk, qtbot: Any) -> None:
    case = desk.pick("signed")
    dlg = DispatchDialog(desk.ctx, case.id)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    assert dlg.unit_suggestions and dlg.suggestions
    assert dlg.params() == dlg.suggestions[0].params, "Enter would send the first suggestion"
    bodies = dlg.bodies.topLevelItemCount()
    for _ in range(bodies):
        qtbot.keyClick(dlg.focusWidget(), Qt.Key.Key_Down)
    assert dlg.focusWidget() is dlg.units
    assert dlg.params() == dlg.unit_suggestions[0].params, "Down past the bodies: the people"
    assert "km" in dlg.units.topLevelItem(0).text(2)
    qtbot.keyClick(dlg.focusWidget(), Qt.Key.Key_Up)
    assert dlg.params() == dlg.suggestions[-1].params, "and Up back"
    qtbot.keyClick(dlg.focusWidget(), Qt.Key.Key_Down)
    qtbot.keyClick(dlg.focusWidget(), Qt.Key.Key_Return)
    (item,) = desk.outbox.items(case.id)
    assert item.action == "assign" and item.params == dlg.unit_suggestions[0].params


def test_assign_to_a_grid_worker_through_the_real_server_ends_confirmed(
    desk: Desk, qtbot: Any
) -> None:
    case = desk.pick("signed")
    detail = registry.create("case_detail", desk.ctx)
    qtbot.addWidget(detail)
    detail.resize(1000, 700)
    detail.show()
    desk.ctx.selection.select([case.id])
    detail.act(common.Action.ASSIGN)
    dlg = detail.dispatch_dialog
    qtbot.waitExposed(dlg)
    row, worker = next(
        (i, u) for i, u in enumerate(dlg.unit_suggestions) if u.kind == "grid_worker"
    )
    dlg.choose_unit(row)
    assert dlg.params() == {"assignee": worker.unit_id, "assignee_kind": "person"}
    assert worker.name in dlg.choice.text() and "人员" in dlg.choice.text()
    dlg.accept()
    assert "待服务器确认" in detail.message.text()
    assert desk.deliver() == 1
    (item,) = desk.outbox.items(case.id)
    assert item.state is ItemState.CONFIRMED
    assert "服务器已确认" in detail.message.text() and "待服务器确认" not in detail.message.text()
    desk.sync()
    got = desk.store.case(case.id)
    assert (got.state, got.assignee, got.assignee_kind) == (
        "assigned",
        worker.unit_id,
        "person",
    )
    assert desk.store.display_name(got.assignee) == worker.name
    assert "承办" in detail.head.text() and worker.name in detail.head.text()
    # the server sends the worker: on the way to this case
    unit = desk.store.units[worker.unit_id].status
    assert (unit.status, unit.case_id) == ("en_route", case.id)


def test_the_server_refuses_an_unknown_kind_of_assignee(desk: Desk) -> None:
    case = desk.pick("signed")
    body = P.encode(
        P.ActionRequest(
            action="assign", actor="值班员", params={"assignee": "R2", "assignee_kind": "robot"}
        )
    )
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
    assert r.status_code == 409, r.text
    assert "unknown kind of assignee 'robot'" in r.json()["reason"]
    desk.sync()
    assert desk.store.case(case.id).state == "signed", "nothing applied"


def test_the_demo_sends_a_vehicle_and_brings_it_back_returning() -> None:
    """The county's vehicles drive home after a case far from base: 返回途中, free to be
    sent again and ranked between the idle and the busy."""
    county = County.build(1, outline_path=False)
    world = World(county, seed=5, start_ts=BUSY_MORNING)
    world.warm_up(hours=1)
    car = next(
        u
        for u in world.units.values()
        if u.d.kind is UnitKind.VEHICLE and u.status is UnitStatus.AVAILABLE
    )
    signed = [c for c in world.cases.values() if c.state is CaseState.SIGNED]
    case = max(signed, key=lambda c: haversine_m(c.lon, c.lat, *car.d.base))
    assert haversine_m(case.lon, case.lat, *car.d.base) > 2000
    params = {"assignee": car.d.id, "assignee_kind": "unit"}
    outcome, _ = world.apply_action(case.id, "assign", "值班员", Role.DUTY_OFFICER, params)
    assert outcome.status == "applied" and car.status is UnitStatus.EN_ROUTE
    seen = [car.status]
    for _ in range(24 * 60):
        world.advance(world.now + 60)
        if car.status is not seen[-1]:
            seen.append(car.status)
        if seen[-1] is UnitStatus.AVAILABLE:
            break
    assert seen == [
        UnitStatus.EN_ROUTE,
        UnitStatus.BUSY,
        UnitStatus.RETURNING,
        UnitStatus.AVAILABLE,
    ]
    assert haversine_m(car.lon, car.lat, *car.d.base) < 50, "back at base"
    assert world.cases[case.id].completed_ts > 0, "the crew finished the case first"
