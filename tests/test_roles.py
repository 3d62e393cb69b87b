"""Role profiles: what each role's layouts may show and do, derived from the life cycle's
table so that the console and the server cannot disagree, and the server's refusal of a
viewer token proved over real HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from commandcenter.domain import Role
from commandcenter.lifecycle import ALLOWED_ROLES, Action
from feeds import protocol as P
from feeds.serve.server import EmbeddedServer, ServerConfig
from layouts import roles
from tests.support import BUSY_MORNING

PRESETS = Path(__file__).resolve().parent.parent / "layouts" / "presets"
TOKENS = {
    "tok-viewer-0001": Role.VIEWER,
    "tok-duty-0001": Role.DUTY_OFFICER,
    "tok-dispatch-0001": Role.DISPATCHER,
    "tok-leader-0001": Role.LEADER,
    "tok-field-0001": Role.FIELD,
    "tok-system-0001": Role.SYSTEM,
}
TOKEN_OF = {role: tok for tok, role in TOKENS.items()}


def test_actions_are_the_lifecycle_table_seen_per_role() -> None:
    for role in Role:
        prof = roles.profile(role)
        assert prof.actions == {a for a in Action if role in ALLOWED_ROLES[a]}
        for action in Action:
            assert roles.may(role, action) == (role in ALLOWED_ROLES[action])
    assert roles.profile("viewer").read_only
    assert not roles.may(Role.VIEWER, "assign") and not roles.may(Role.LEADER, Action.ASSIGN)
    assert roles.may(Role.LEADER, Action.ESCALATE), "leaders supervise (督办)"
    assert not roles.may(Role.DUTY_OFFICER, "dance")
    with pytest.raises(ValueError):
        roles.profile("emperor")


def test_the_video_wall_role_may_not_dispatch() -> None:
    wall = json.loads((PRESETS / "video_wall.json").read_text(encoding="utf-8"))
    prof = roles.profile(wall["role"])
    assert prof.role is Role.VIEWER
    assert not prof.allows_action(Action.ASSIGN) and not prof.allows_action(Action.SIGN)
    assert prof.actions == frozenset()


def test_check_layout_reports_panels_the_role_may_not_show() -> None:
    doc = {
        "role": "viewer",
        "panels": {
            "a": {"type": "sla_tiles"},
            "b": {"type": "dispatch"},
            "c": {"type": "kpis"},
        },
    }
    problems = roles.check_layout(doc)
    assert [(p.panel_id, p.panel_type) for p in problems] == [("b", "dispatch")]
    assert "viewer" in problems[0].reason
    assert roles.check_layout({**doc, "role": "duty_officer"}) == []
    assert roles.check_layout({"panels": doc["panels"]}) == [], "no role = duty officer"
    assert "unknown role" in roles.check_layout({**doc, "role": "emperor"})[0].reason


# ---- the server says the same -------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    cfg = ServerConfig(
        rate=0.0, heartbeat_s=0.5, tokens=TOKENS, history_hours=2, start_ts=BUSY_MORNING
    )
    with EmbeddedServer(cfg) as srv:
        yield srv


def _post(c: httpx.Client, case_id: str, body: dict, token: str) -> httpx.Response:
    return c.post(
        f"/v1/cases/{case_id}/actions",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
    )


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_server_refuses_a_viewer_token_and_agrees_with_the_profiles(
    server: EmbeddedServer,
) -> None:
    with httpx.Client(base_url=server.url, timeout=5.0) as c:
        r = c.get(
            "/v1/snapshot", headers={"Authorization": f"Bearer {TOKEN_OF[Role.DUTY_OFFICER]}"}
        )
        snap = P.decode_snapshot(r.content)
        case = next(x for x in snap.cases if x.state == "reported")
        body = {"action": "sign", "actor": "大屏", "expected_version": case.version}
        r = _post(c, case.id, body, TOKEN_OF[Role.VIEWER])
        assert r.status_code == 403 and r.json()["status"] == "forbidden"
        assert not roles.may(Role.VIEWER, "sign")
        # Every role x every action: the server refuses (403) exactly what the profile
        # refuses. A stale expected_version makes every allowed action a 409 conflict, so
        # nothing is changed by the sweep.
        for role, token in TOKEN_OF.items():
            for action in Action:
                r = _post(
                    c,
                    case.id,
                    {"action": action.value, "actor": "x", "expected_version": case.version + 99},
                    token,
                )
                assert (r.status_code == 403) == (not roles.may(role, action)), (role, action)
                assert r.status_code in (403, 409), (role, action, r.text)


# ---- the console applies them: case actions by the layout's role, kiosk locks docks ------


@pytest.fixture
def desk(qapp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from tests.test_duty_desk import Desk
    from widgets import i18n, registry, theme
    from widgets.cases import common

    monkeypatch.setenv("CC_CONFIG_DIR", str(tmp_path / "config"))
    theme.apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)
    registry.load_builtin_panels()
    common.sounds().muted = True
    d = Desk(tmp_path)  # the dispatch desk preset (role dispatcher), a duty officer's login
    yield d
    d.close()


def _reported(desk) -> str:
    from commandcenter.domain import CaseState

    return next(
        desk.store.record_at(r).id
        for r in range(len(desk.store))
        if desk.store.record_at(r).state == CaseState.REPORTED
    )


def test_a_layouts_role_limits_the_desk_keys_buttons_and_palette(desk, qtbot) -> None:
    from commandcenter.domain import CaseState
    from widgets.cases import desk as desk_mod
    from widgets.cases.common import Action
    from widgets.cases.detail import CaseDetailPanel
    from widgets.cases.queue import CaseQueuePanel

    q = desk.panel(CaseQueuePanel)
    assert q.ctx.layout_role is Role.DISPATCHER  # the preset's role, not the login's
    cid = _reported(desk)
    assert q.select_case(cid)
    said: list = []
    # 核查结案 is not a dispatcher's: refused with the reason, nothing queued.
    out = desk_mod.run_action(q, q.ctx, cid, Action.VERIFY, said.append)
    assert out is not None and not out.ok and "调度员" in out.message, out
    assert said == [out] and desk.outbox.items(cid) == []
    # 签收 is: it goes to the outbox.
    assert desk_mod.run_action(q, q.ctx, cid, Action.SIGN, said.append).ok
    assert [i.action for i in desk.outbox.items(cid)] == ["sign"]
    # The palette shows the same: a dispatcher's action enabled, the others disabled, why.
    acts = {a.objectName(): a for a in desk_mod.palette_actions(q, q.ctx, [cid], lambda *_: None)}
    assert not acts[f"case-verify-{cid}"].isEnabled()
    assert "调度员" in acts[f"case-verify-{cid}"].toolTip()
    assert "调度员" not in acts[f"case-assign-{cid}"].toolTip()
    # And the detail's buttons: 核查结案 of a completed case, legal for the case, not here.
    done = next(
        desk.store.record_at(r).id
        for r in range(len(desk.store))
        if desk.store.record_at(r).state == CaseState.COMPLETED
    )
    q.ctx.selection.select([done], "test")  # picked on the map, say: the detail shows it
    detail = desk.panel(CaseDetailPanel)
    qtbot.waitUntil(lambda: detail.case_id == done)
    button = detail.buttons[Action.VERIFY]
    assert not button.isEnabled() and "调度员" in button.toolTip(), button.toolTip()


def test_a_viewer_context_takes_no_case_action_at_all(desk) -> None:
    import dataclasses

    from widgets.cases import desk as desk_mod
    from widgets.cases.common import DESK_ACTIONS
    from widgets.cases.queue import CaseQueuePanel

    q = desk.panel(CaseQueuePanel)
    wall = dataclasses.replace(q.ctx, layout_role=Role.VIEWER)
    cid = _reported(desk)
    for action in DESK_ACTIONS:
        out = desk_mod.run_action(q, wall, cid, action, lambda _o: None)
        assert out is not None and not out.ok and "观看席" in out.message, (action, out)
    assert desk.outbox.items(cid) == []
    acts = desk_mod.palette_actions(q, wall, [cid], lambda *_: None)
    assert acts and not any(a.isEnabled() for a in acts)


def test_a_panel_the_layouts_role_may_not_show_is_left_out_and_reported(desk) -> None:
    import copy

    doc = copy.deepcopy(desk.shell.document())
    doc["role"] = "leader"  # the dispatch desk's queue and detail on a leader's screen
    desk.shell.apply_layout(doc)
    shown = {type(p).__name__ for p in desk.shell.panels().values()}
    assert "CaseQueuePanel" not in shown and "CaseDetailPanel" not in shown
    said = [p for p in desk.shell.problems if "queue" in p]
    assert said and "领导" in said[0], desk.shell.problems
    from PySide6.QtWidgets import QApplication

    boxes = [w for w in QApplication.topLevelWidgets() if w.objectName() == "layoutProblem"]
    assert any(b.isVisible() and "queue" in b.text() for b in boxes), "shown, not only logged"
    assert desk.shell.panels(), "the views it may show are still shown"


def test_kiosk_locks_dragging_floating_and_closing_docks(desk) -> None:
    import PySide6QtAds as ads

    from layouts.docking import LOCKED_FEATURES

    F = ads.CDockWidget.DockWidgetFeature
    win = desk.shell.windows[0]
    docks = list(win.manager.dockWidgetsMap().values())
    assert docks and all(d.features() & F.DockWidgetMovable for d in docks)
    win.set_kiosk(True)
    for d in docks:
        assert not any(d.features() & f for f in LOCKED_FEATURES), d.objectName()
    added = desk.shell.add_panel("sla_tiles", win)  # a panel added in kiosk is locked too
    dock = win.manager.findDockWidget(added)
    assert not dock.features() & F.DockWidgetMovable
    win.set_kiosk(False)
    assert all(
        d.features() & F.DockWidgetMovable and d.features() & F.DockWidgetClosable for d in docks
    )
