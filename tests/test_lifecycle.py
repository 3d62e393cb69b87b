"""The case state machine: legal paths, refusals with reasons, and invariants under
random action sequences."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commandcenter.domain import OPEN_STATES, Case, CaseState, Role
from commandcenter.lifecycle import (
    ALLOWED_ROLES,
    TRANSITIONS,
    Action,
    IllegalTransition,
    apply,
    check,
    legal_actions,
)
from tests.test_lifecycle_oracle import EDGES, GOOD, WHO, case

S = CaseState
PARAMS = {**GOOD, Action.EVALUATE: {"rating": 5}}


def new_case(state: CaseState = S.REPORTED) -> Case:
    """A fresh case: version 1, every time stamp at zero."""
    return replace(case(state), version=1, state_ts=0.0, completed_ts=0.0, on_site_ts=0.0)


def act(case: Case, action: Action, role: Role = Role.SYSTEM, now: float = 10.0) -> Case:
    return apply(case, action, "tester", role, now, PARAMS.get(action, {}))


def test_the_whole_closed_loop() -> None:
    c = new_case(S.DISCOVERED)
    path = [
        (Action.REPORT, S.REPORTED),
        (Action.SIGN, S.SIGNED),
        (Action.ASSIGN, S.ASSIGNED),
        (Action.ARRIVE, S.HANDLING),
        (Action.COMPLETE, S.COMPLETED),
        (Action.VERIFY, S.CLOSED),
        (Action.CALL_BACK, S.CALLED_BACK),
        (Action.EVALUATE, S.EVALUATED),
    ]
    for i, (action, state) in enumerate(path, start=1):
        c = act(c, action, now=float(i))
        assert c.state is state
        assert c.version == 1 + i
        assert c.timeline[-1].action == action.value and c.timeline[-1].ts == float(i)
    assert c.assignee == "城管局" and c.assigned_ts == 3.0 and c.on_site_ts == 4.0
    assert c.completed_ts == 5.0 and c.closed_ts == 6.0 and c.rating == 5
    assert legal_actions(c.state, Role.DUTY_OFFICER) == []


def test_assign_before_sign_is_refused_with_the_way_forward() -> None:
    with pytest.raises(IllegalTransition) as err:
        act(new_case(S.REPORTED), Action.ASSIGN)
    assert "sign for it first" in err.value.reason


def test_return_and_reassign() -> None:
    c = act(act(act(new_case(), Action.SIGN), Action.ASSIGN), Action.RETURN)
    assert c.state is S.RETURNED and c.timeline[-1].note == "不属于本单位职责"
    assert act(c, Action.ASSIGN).state is S.ASSIGNED


def test_reject_sends_a_completed_case_back_to_handling() -> None:
    c = new_case(S.COMPLETED)
    c.completed_ts = 5.0
    c = act(c, Action.REJECT)
    assert c.state is S.HANDLING and c.completed_ts == 0.0


def test_escalate_keeps_state_and_counts() -> None:
    c = act(act(new_case(S.HANDLING), Action.ESCALATE, Role.LEADER), Action.ESCALATE, Role.LEADER)
    assert c.state is S.HANDLING and c.supervised == 2 and c.version == 3


def test_escalate_needs_an_open_case_and_a_reason() -> None:
    assert check(S.CLOSED, "escalate", Role.LEADER, {"reason": "x"}) is not None
    assert "needs a reason" in check(S.HANDLING, "escalate", Role.LEADER, {})


def test_extension_adds_time() -> None:
    c = act(new_case(S.ASSIGNED), Action.EXTEND, Role.FIELD)
    assert c.extension_s == 3600 and c.state is S.ASSIGNED


@pytest.mark.parametrize(
    ("role", "action", "state"),
    [
        (Role.LEADER, Action.ASSIGN, S.SIGNED),  # a leader supervises, never dispatches
        (Role.VIEWER, Action.SIGN, S.REPORTED),  # a briefing wall reads only
        (Role.FIELD, Action.VERIFY, S.COMPLETED),  # nobody verifies their own work
        (Role.DUTY_OFFICER, Action.COMPLETE, S.HANDLING),
    ],
)
def test_roles_are_enforced(role: Role, action: Action, state: CaseState) -> None:
    reason = check(state, action, role, PARAMS.get(action, {}))
    assert reason is not None and role.value in reason


@pytest.mark.parametrize(
    ("action", "params", "needle"),
    [
        (Action.ASSIGN, {}, "assignee"),
        (Action.EVALUATE, {"rating": 7}, "rating"),
        (Action.EVALUATE, {"rating": True}, "rating"),
        (Action.EXTEND, {"seconds": -5}, "positive"),
        ("teleport", {}, "unknown action"),
    ],
)
def test_bad_parameters_are_refused(action: str, params: dict, needle: str) -> None:
    state = {
        Action.ASSIGN: S.SIGNED,
        Action.EVALUATE: S.CALLED_BACK,
        Action.EXTEND: S.HANDLING,
    }.get(action, S.REPORTED)
    assert needle in check(state, action, Role.SYSTEM, params)


def test_every_action_has_roles_and_moves() -> None:
    assert set(TRANSITIONS) == set(Action) == set(ALLOWED_ROLES)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(Action)), st.sampled_from(list(Role))), max_size=40))
def test_random_sequences_never_reach_an_illegal_state(steps: list[tuple[Action, Role]]) -> None:
    """Acts with the code, judges with the test's own table (tests/test_lifecycle_oracle.py)."""
    c = new_case(S.DISCOVERED)
    for i, (action, role) in enumerate(steps):
        before = c
        legal = (before.state, action) in EDGES and role in WHO[action]
        try:
            c = apply(c, action, "x", role, float(i), PARAMS.get(action, {}))
        except IllegalTransition:
            assert not legal
            assert c is before
            continue
        assert legal
        assert c.state is EDGES[(before.state, action)]
        assert c.version == before.version + 1
        assert len(c.timeline) == len(before.timeline) + 1
        assert before.timeline is not c.timeline  # the old record is untouched
        if c.state not in OPEN_STATES:
            assert action not in (Action.ESCALATE, Action.EXTEND)
