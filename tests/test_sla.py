"""Time limits and red/yellow/blue levels, scalar and vectorised, against hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commandcenter.domain import Case, CaseState, SlaLevel, Source, Urgency
from commandcenter.sla import (
    DAY,
    HOUR,
    MINUTE,
    Limits,
    Milestone,
    SlaPolicy,
    format_remaining,
)
from commandcenter.store import ChangeSet, Store

S = CaseState


def case(
    state: CaseState, urgency: Urgency = Urgency.URGENT, category: str = "占道经营", **kw
) -> Case:
    c = Case(
        id=kw.pop("id", "C1"),
        version=1,
        category=category,
        source=Source.HOTLINE,
        urgency=urgency,
        state=state,
        township="冠山镇",
        grid="G1",
        lon=0,
        lat=0,
        created_ts=1000.0,
        state_ts=1000.0,
    )
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_urgent_case_must_be_signed_and_assigned_in_five_minutes() -> None:
    p = SlaPolicy()
    s = p.evaluate(case(S.REPORTED), now=1000 + 2 * MINUTE)
    assert s.milestone is Milestone.ASSIGN
    assert s.deadline == 1000 + 5 * MINUTE and s.remaining == 3 * MINUTE
    assert s.level is SlaLevel.BLUE  # 40% used
    assert p.evaluate(case(S.SIGNED), now=1000 + 3 * MINUTE).level is SlaLevel.YELLOW  # 60%
    late = p.evaluate(case(S.SIGNED), now=1000 + 6 * MINUTE)
    assert late.level is SlaLevel.RED and late.overdue and late.remaining == -MINUTE


def test_urgent_assigned_case_races_to_arrive_then_to_handle() -> None:
    p = SlaPolicy()
    s = p.evaluate(case(S.ASSIGNED), now=1000 + 10 * MINUTE)
    assert s.milestone is Milestone.ARRIVE and s.deadline == 1000 + 20 * MINUTE
    arrived = p.evaluate(case(S.ASSIGNED, on_site_ts=1500.0), now=1000 + 10 * MINUTE)
    assert arrived.milestone is Milestone.HANDLE and arrived.deadline == 1000 + 24 * HOUR
    assert p.evaluate(case(S.HANDLING), now=1000).milestone is Milestone.HANDLE


def test_normal_case_limits_and_extension() -> None:
    p = SlaPolicy()
    assert p.evaluate(case(S.REPORTED, Urgency.NORMAL), now=1000).deadline == 1000 + DAY
    s = p.evaluate(case(S.ASSIGNED, Urgency.NORMAL), now=1000)
    assert s.milestone is Milestone.HANDLE and s.deadline == 1000 + 7 * DAY  # no on-site limit
    ext = p.evaluate(case(S.HANDLING, Urgency.NORMAL, extension_s=DAY), now=1000)
    assert ext.deadline == 1000 + 8 * DAY


def test_closed_cases_have_no_level() -> None:
    for state in (S.COMPLETED, S.CLOSED, S.CALLED_BACK, S.EVALUATED):
        s = SlaPolicy().evaluate(case(state), now=1e9)
        assert s.level is None and not s.overdue


def test_category_limits_and_thresholds_from_settings() -> None:
    p = SlaPolicy.from_dict(
        {
            "yellow_at": 0.25,
            "red_at": 0.5,
            "limits": {"normal": {"assign": 7200}},
            "categories": {"燃气泄漏": {"urgent": {"assign": 120, "arrive": 600}}},
        }
    )
    assert p.limits_for("normal").assign == 7200 and p.limits_for("normal").handle == 7 * DAY
    gas = case(S.REPORTED, category="燃气泄漏")
    assert p.evaluate(gas, now=1000 + 60).level is SlaLevel.RED  # 50% of 2 min
    assert p.evaluate(gas, now=1000 + 40).level is SlaLevel.YELLOW
    assert p.evaluate(case(S.ASSIGNED, category="燃气泄漏"), now=1000).deadline == 1600


@pytest.mark.parametrize(
    "bad", [{"yellow_at": 0.9, "red_at": 0.5}, {"limits": {"urgent": {"assign": 0}}}]
)
def test_nonsense_policy_is_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        SlaPolicy.from_dict(bad)


def test_format_remaining() -> None:
    assert format_remaining(272) == "4:32"
    assert format_remaining(-61) == "-1:01"
    assert format_remaining(3 * HOUR + 12 * MINUTE) == "3h12m"
    assert format_remaining(2 * DAY + 5 * HOUR) == "2d05h"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(CaseState)),
            st.sampled_from(list(Urgency)),
            st.sampled_from(["占道经营", "燃气泄漏"]),
            st.floats(0, 20 * DAY),
            st.booleans(),
            st.sampled_from([0.0, 3600.0]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.floats(0, 30 * DAY),
)
def test_vectorised_evaluation_matches_scalar(rows, now) -> None:
    policy = SlaPolicy(
        category_limits={"燃气泄漏": {Urgency.URGENT: Limits(assign=120, arrive=600, handle=HOUR)}}
    )
    store = Store(policy)
    cases = []
    for i, (state, urg, cat, created, on_site, ext) in enumerate(rows):
        c = case(
            state,
            urg,
            cat,
            id=f"C{i}",
            created_ts=created,
            on_site_ts=created + 1 if on_site else 0.0,
            extension_s=ext,
        )
        cases.append(c)
        store._put_case(c, None, ChangeSet())
    milestone, remaining, level = store.sla_arrays(now)
    for i, c in enumerate(cases):
        s = policy.evaluate(c, now)
        assert milestone[i] == s.milestone
        if s.level is None:
            assert level[i] == -1
        else:
            assert ["blue", "yellow", "red"][level[i]] == s.level.value
            assert np.isclose(remaining[i], s.remaining)


def test_handle_deadlines_of_completed_cases_by_hand() -> None:
    """created + handle limit + extension, whatever the state: a category's own limit
    for its urgency only, the defaults otherwise (urgent 24 h, normal 7 days to handle),
    and a category code the list does not name (or below 0) gets the defaults."""
    policy = SlaPolicy(
        category_limits={"燃气泄漏": {Urgency.URGENT: Limits(assign=120, arrive=600, handle=HOUR)}}
    )
    categories = ["占道经营", "燃气泄漏"]
    urgent, normal = 0, 1  # URGENCY_ORDER
    got = policy.handle_deadlines(
        np.array([urgent, normal, urgent, normal, urgent, urgent], dtype=np.int8),
        np.array([1, 1, 0, 0, 2, -1]),  # 2: beyond the list; -1: no category code
        categories,
        np.array([1000.0, 0.0, 5.0, 7.0, 0.0, 10.0]),
        np.array([0.0, HOUR, 0.0, 2 * DAY, 0.0, 0.0]),
    )
    assert got.tolist() == [
        1000.0 + HOUR,
        7 * DAY + HOUR,
        5.0 + DAY,
        7.0 + 9 * DAY,
        DAY,
        10.0 + DAY,
    ]
