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
