"""The life cycle restated as the test's own table, from the domain reference
(../shared/domain/COMMAND_HALL.md: discover → report → sign and assign → handle →
complete → verify and close → call back → evaluate, with return, reject, 督办 and
extension): every (state, action, role) is tried, every legal edge must be allowed with
its effect, every other one refused with a reason.

Nothing here reads ``lifecycle.TRANSITIONS`` or ``ALLOWED_ROLES``: a new edge, a lost
edge or a role that gains an action fails a named case.
"""

from __future__ import annotations

import itertools

import pytest

from commandcenter.domain import Case, CaseState, Role, Source, Urgency
from commandcenter.lifecycle import Action, IllegalTransition, apply, check, legal_actions

S = CaseState
A = Action
OPEN = [S.DISCOVERED, S.REPORTED, S.SIGNED, S.ASSIGNED, S.RETURNED, S.HANDLING]

# (from state, action) -> to state; the whole closed loop and nothing more
EDGES: dict[tuple[CaseState, Action], CaseState] = {
    (S.DISCOVERED, A.REPORT): S.REPORTED,
    (S.REPORTED, A.SIGN): S.SIGNED,
    (S.SIGNED, A.ASSIGN): S.ASSIGNED,
    (S.RETURNED, A.ASSIGN): S.ASSIGNED,
    (S.ASSIGNED, A.ARRIVE): S.HANDLING,
    (S.ASSIGNED, A.RETURN): S.RETURNED,
    (S.HANDLING, A.RETURN): S.RETURNED,
    (S.HANDLING, A.COMPLETE): S.COMPLETED,
    (S.COMPLETED, A.VERIFY): S.CLOSED,
    (S.COMPLETED, A.REJECT): S.HANDLING,
    (S.CLOSED, A.CALL_BACK): S.CALLED_BACK,
    (S.CALLED_BACK, A.EVALUATE): S.EVALUATED,
    # marks that keep the state
    **{(s, A.ESCALATE): s for s in OPEN},
    (S.ASSIGNED, A.EXTEND): S.ASSIGNED,
    (S.HANDLING, A.EXTEND): S.HANDLING,
}

HALL = {Role.DUTY_OFFICER, Role.DISPATCHER, Role.SYSTEM}
WHO: dict[Action, set[Role]] = {
    A.REPORT: {Role.FIELD, Role.DUTY_OFFICER, Role.SYSTEM},
    A.SIGN: HALL,
    A.ASSIGN: HALL,
    A.ARRIVE: {Role.FIELD, Role.SYSTEM},
    A.RETURN: {Role.FIELD, Role.SYSTEM},
    A.COMPLETE: {Role.FIELD, Role.SYSTEM},
    A.VERIFY: {Role.DUTY_OFFICER, Role.SYSTEM},  # never the one who did the work
    A.REJECT: {Role.DUTY_OFFICER, Role.SYSTEM},
    A.CALL_BACK: {Role.DUTY_OFFICER, Role.SYSTEM},
    A.EVALUATE: {Role.DUTY_OFFICER, Role.SYSTEM},
    A.ESCALATE: {Role.DUTY_OFFICER, Role.LEADER, Role.SYSTEM},
    A.EXTEND: {Role.FIELD, Role.DUTY_OFFICER, Role.SYSTEM},
}

GOOD = {
    A.ASSIGN: {"assignee": "城管局", "assignee_kind": "department"},
    A.RETURN: {"reason": "不属于本单位职责"},
    A.ESCALATE: {"reason": "群众反复投诉"},
    A.REJECT: {"reason": "现场未整改"},
    A.EVALUATE: {"rating": 4},
    A.EXTEND: {"seconds": 3600, "reason": "需要协调"},
}


def case(state: CaseState) -> Case:
    return Case(
        id="C1",
        version=7,
        category="占道经营",
        source=Source.HOTLINE,
        urgency=Urgency.NORMAL,
        state=state,
        township="冠山镇",
        grid="G1",
        lon=113.6,
        lat=37.8,
        created_ts=0.0,
        state_ts=1.0,
        completed_ts=50.0 if state is S.COMPLETED else 0.0,
        on_site_ts=20.0 if state is S.HANDLING else 0.0,
    )


ALL = list(itertools.product(CaseState, Action, Role))


@pytest.mark.parametrize(
    ("state", "action", "role"), ALL, ids=[f"{s.value}-{a.value}-{r.value}" for s, a, r in ALL]
)
def test_every_edge_for_every_role(state: CaseState, action: Action, role: Role) -> None:
    legal = (state, action) in EDGES and role in WHO[action]
    params = GOOD.get(action, {})
    reason = check(state, action, role, params)
    before = case(state)
    if legal:
        assert reason is None
        after = apply(before, action, "王丽", role, 100.0, params)
        assert after.state is EDGES[(state, action)]
        assert after.version == 8
        assert after.state_ts == (100.0 if after.state is not state else 1.0)
        entry = after.timeline[-1]
        assert (entry.ts, entry.action, entry.actor, entry.state) == (
            100.0,
            action.value,
            "王丽",
            after.state,
        )
        assert len(after.timeline) == 1 and before.timeline == [] and before.version == 7
    else:
        assert reason, "an illegal move must say why"
        if role not in WHO[action]:
            assert role.value in reason
        else:
            assert state.value in reason
        with pytest.raises(IllegalTransition) as err:
            apply(before, action, "王丽", role, 100.0, params)
        assert err.value.reason == reason
        assert before.state is state and before.version == 7


@pytest.mark.parametrize(("state", "role"), list(itertools.product(CaseState, Role)))
def test_what_a_console_offers(state: CaseState, role: Role) -> None:
    expected = [a for a in Action if (state, a) in EDGES and role in WHO[a]]
    assert legal_actions(state, role) == expected


def test_every_state_has_a_way_forward_in_the_refusal() -> None:
    hints = {
        S.DISCOVERED: "report it first",
        S.REPORTED: "sign for it first",
        S.SIGNED: "dispatch it first",
        S.ASSIGNED: "wait for the assignee to arrive",
        S.RETURNED: "dispatch it again",
        S.HANDLING: "report it done",
        S.COMPLETED: "verify or reject it",
        S.CLOSED: "call the reporter back",
        S.CALLED_BACK: "record the evaluation",
        S.EVALUATED: "it is finished",
    }
    for state, hint in hints.items():
        action = A.ARRIVE if state is not S.ASSIGNED else A.VERIFY
        assert hint in check(state, action, Role.SYSTEM, {})


@pytest.mark.parametrize(
    ("state", "action", "params"),
    [
        (S.SIGNED, A.ASSIGN, {}),
        (S.SIGNED, A.ASSIGN, {"assignee": "   "}),
        (S.ASSIGNED, A.RETURN, {}),
        (S.HANDLING, A.RETURN, {"reason": " "}),
        (S.COMPLETED, A.REJECT, {}),
        (S.HANDLING, A.ESCALATE, {"reason": ""}),
        (S.CALLED_BACK, A.EVALUATE, {}),
        (S.CALLED_BACK, A.EVALUATE, {"rating": 0}),
        (S.CALLED_BACK, A.EVALUATE, {"rating": 6}),
        (S.CALLED_BACK, A.EVALUATE, {"rating": True}),
        (S.CALLED_BACK, A.EVALUATE, {"rating": "3"}),
        (S.CALLED_BACK, A.EVALUATE, {"rating": 3.0}),
        (S.HANDLING, A.EXTEND, {}),
        (S.HANDLING, A.EXTEND, {"seconds": 0}),
        (S.HANDLING, A.EXTEND, {"seconds": -1}),
        (S.HANDLING, A.EXTEND, {"seconds": True}),
        (S.HANDLING, A.EXTEND, {"seconds": "60"}),
    ],
)
def test_missing_or_bad_parameters_are_refused(state, action, params) -> None:
    reason = check(state, action, Role.SYSTEM, params)
    assert reason and action.value in reason
    with pytest.raises(IllegalTransition):
        apply(case(state), action, "x", Role.SYSTEM, 1.0, params)


@pytest.mark.parametrize("rating", [1, 5])
def test_ratings_at_both_ends_are_accepted(rating: int) -> None:
    after = apply(case(S.CALLED_BACK), A.EVALUATE, "x", Role.SYSTEM, 9.0, {"rating": rating})
    assert after.rating == rating and after.timeline[-1].note == f"{rating}/5"


def test_each_action_records_what_it_did() -> None:
    c = apply(case(S.SIGNED), A.ASSIGN, "x", Role.DUTY_OFFICER, 10.0, {"assignee": "城管局"})
    assert (c.assignee, c.assignee_kind, c.assigned_ts) == ("城管局", "department", 10.0)
    assert c.timeline[-1].note == "城管局"
    c = apply(
        case(S.RETURNED),
        A.ASSIGN,
        "x",
        Role.SYSTEM,
        11.0,
        {"assignee": "冠山镇", "assignee_kind": "township"},
    )
    assert (c.assignee_kind, c.assigned_ts) == ("township", 11.0)
    c = apply(case(S.ASSIGNED), A.ARRIVE, "x", Role.FIELD, 12.0)
    assert c.on_site_ts == 12.0
    earlier = case(S.ASSIGNED)
    earlier.on_site_ts = 5.0  # returned after arriving once: the first arrival counts
    assert apply(earlier, A.ARRIVE, "x", Role.FIELD, 12.0).on_site_ts == 5.0
    c = apply(case(S.HANDLING), A.COMPLETE, "x", Role.FIELD, 13.0)
    assert c.completed_ts == 13.0
    c = apply(case(S.COMPLETED), A.REJECT, "x", Role.DUTY_OFFICER, 14.0, {"reason": "未整改"})
    assert c.completed_ts == 0.0 and c.timeline[-1].note == "未整改"
    c = apply(case(S.COMPLETED), A.VERIFY, "x", Role.DUTY_OFFICER, 15.0)
    assert c.closed_ts == 15.0 and c.completed_ts == 50.0
    c = apply(case(S.HANDLING), A.ESCALATE, "x", Role.LEADER, 16.0, {"reason": "催办"})
    c = apply(c, A.ESCALATE, "x", Role.LEADER, 17.0, {"reason": "再催"})
    assert c.supervised == 2 and c.state_ts == 1.0
    c = apply(case(S.HANDLING), A.EXTEND, "x", Role.FIELD, 18.0, {"seconds": 600})
    c = apply(c, A.EXTEND, "x", Role.FIELD, 19.0, {"seconds": 1.5})
    assert c.extension_s == 601.5
    c = apply(case(S.CLOSED), A.CALL_BACK, "x", Role.SYSTEM, 20.0, {"note": "满意"})
    assert c.timeline[-1].note == "满意"


def test_the_old_record_is_never_touched() -> None:
    before = case(S.HANDLING)
    before.extra = {"k": 1}
    after = apply(before, A.ESCALATE, "x", Role.LEADER, 5.0, {"reason": "催办"})
    after.extra["k"] = 2
    assert before.extra == {"k": 1} and before.timeline == [] and before.supervised == 0
