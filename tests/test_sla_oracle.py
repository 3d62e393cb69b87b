"""The SLA rules as a table the tests own: every threshold exactly at, just under and just
over, extensions, returned, on-site and closed cases, each with the milestone, colour and
seconds left the published practice gives (5 min / 20 min / 24 h urgent, 24 h / 7 d
normal; blue below 50% used, yellow below 80%, red from 80% and when overdue).

The expected values are written out by hand, never computed with ``commandcenter.sla``:
a mutant of a threshold, a limit or a comparison changes a row and fails it.
"""

from __future__ import annotations

import numpy as np
import pytest

from commandcenter.domain import Case, CaseState, SlaLevel, Source, Urgency
from commandcenter.sla import Milestone, SlaPolicy
from commandcenter.store import ChangeSet, Store

S = CaseState
U = Urgency
NOW = 1_000_000.0
B, Y, R = SlaLevel.BLUE, SlaLevel.YELLOW, SlaLevel.RED
ASSIGN, ARRIVE, HANDLE, NONE = Milestone.ASSIGN, Milestone.ARRIVE, Milestone.HANDLE, Milestone.NONE

# (state, urgency, seconds since filing, on site?, extension s) -> (milestone, colour, seconds left)
TABLE: list[tuple[tuple, tuple]] = [
    # urgent, not yet dispatched: 300 s to sign and assign; yellow at 150 s, red at 240 s
    ((S.REPORTED, U.URGENT, 0, False, 0), (ASSIGN, B, 300)),
    ((S.REPORTED, U.URGENT, 149, False, 0), (ASSIGN, B, 151)),
    ((S.REPORTED, U.URGENT, 150, False, 0), (ASSIGN, Y, 150)),
    ((S.REPORTED, U.URGENT, 151, False, 0), (ASSIGN, Y, 149)),
    ((S.SIGNED, U.URGENT, 239, False, 0), (ASSIGN, Y, 61)),
    ((S.SIGNED, U.URGENT, 240, False, 0), (ASSIGN, R, 60)),
    ((S.SIGNED, U.URGENT, 241, False, 0), (ASSIGN, R, 59)),
    ((S.DISCOVERED, U.URGENT, 299, False, 0), (ASSIGN, R, 1)),
    ((S.DISCOVERED, U.URGENT, 300, False, 0), (ASSIGN, R, 0)),
    ((S.DISCOVERED, U.URGENT, 301, False, 0), (ASSIGN, R, -1)),
    # an extension counts for handling only, never for signing or arriving
    ((S.REPORTED, U.URGENT, 240, False, 3600), (ASSIGN, R, 60)),
    # returned: races the assign limit again, on the clock started at filing
    ((S.RETURNED, U.URGENT, 100, False, 0), (ASSIGN, B, 200)),
    ((S.RETURNED, U.URGENT, 240, True, 0), (ASSIGN, R, 60)),
    ((S.RETURNED, U.URGENT, 900, False, 3600), (ASSIGN, R, -600)),
    # urgent, dispatched, nobody on site: 1200 s to arrive; yellow at 600, red at 960
    ((S.ASSIGNED, U.URGENT, 599, False, 0), (ARRIVE, B, 601)),
    ((S.ASSIGNED, U.URGENT, 600, False, 0), (ARRIVE, Y, 600)),
    ((S.ASSIGNED, U.URGENT, 959, False, 0), (ARRIVE, Y, 241)),
    ((S.ASSIGNED, U.URGENT, 960, False, 0), (ARRIVE, R, 240)),
    ((S.ASSIGNED, U.URGENT, 1201, False, 7200), (ARRIVE, R, -1)),
    # urgent, on site: 24 h to handle, plus extensions
    ((S.ASSIGNED, U.URGENT, 43_199, True, 0), (HANDLE, B, 43_201)),
    ((S.ASSIGNED, U.URGENT, 43_200, True, 0), (HANDLE, Y, 43_200)),
    ((S.HANDLING, U.URGENT, 69_119, False, 0), (HANDLE, Y, 17_281)),
    ((S.HANDLING, U.URGENT, 69_120, False, 0), (HANDLE, R, 17_280)),
    ((S.HANDLING, U.URGENT, 86_400, True, 0), (HANDLE, R, 0)),
    ((S.HANDLING, U.URGENT, 86_401, True, 0), (HANDLE, R, -1)),
    ((S.HANDLING, U.URGENT, 44_999, True, 3600), (HANDLE, B, 45_001)),
    ((S.HANDLING, U.URGENT, 45_000, True, 3600), (HANDLE, Y, 45_000)),
    ((S.HANDLING, U.URGENT, 72_000, True, 3600), (HANDLE, R, 18_000)),
    ((S.HANDLING, U.URGENT, 86_401, True, 3600), (HANDLE, R, 3599)),
    # normal: 24 h to sign and assign, no on-site limit, 7 days to handle
    ((S.REPORTED, U.NORMAL, 43_199, False, 0), (ASSIGN, B, 43_201)),
    ((S.REPORTED, U.NORMAL, 43_200, False, 0), (ASSIGN, Y, 43_200)),
    ((S.RETURNED, U.NORMAL, 69_120, False, 0), (ASSIGN, R, 17_280)),
    ((S.SIGNED, U.NORMAL, 86_401, False, 0), (ASSIGN, R, -1)),
    ((S.ASSIGNED, U.NORMAL, 1201, False, 0), (HANDLE, B, 603_599)),
    ((S.ASSIGNED, U.NORMAL, 302_400, False, 0), (HANDLE, Y, 302_400)),
    ((S.HANDLING, U.NORMAL, 483_839, True, 0), (HANDLE, Y, 120_961)),
    ((S.HANDLING, U.NORMAL, 483_840, True, 0), (HANDLE, R, 120_960)),
    ((S.HANDLING, U.NORMAL, 604_800, True, 86_400), (HANDLE, R, 86_400)),
    ((S.HANDLING, U.NORMAL, 691_201, True, 86_400), (HANDLE, R, -1)),
    # closed or waiting for verification: no limit runs, no colour, no countdown
    ((S.COMPLETED, U.URGENT, 10**6, True, 0), (NONE, None, 0)),
    ((S.CLOSED, U.URGENT, 10**6, True, 0), (NONE, None, 0)),
    ((S.CALLED_BACK, U.NORMAL, 10**7, False, 3600), (NONE, None, 0)),
    ((S.EVALUATED, U.NORMAL, 5, False, 0), (NONE, None, 0)),
]


def make_case(i: int, state: CaseState, urgency: Urgency, age: float, on_site: bool, ext: float):
    created = NOW - age
    return Case(
        id=f"T{i}",
        version=1,
        category="占道经营",
        source=Source.HOTLINE,
        urgency=urgency,
        state=state,
        township="冠山镇",
        grid="G1",
        lon=0.0,
        lat=0.0,
        created_ts=created,
        # a later state change (a return, an arrival) never restarts the clock
        state_ts=NOW - min(age, 30),
        on_site_ts=(created + 1) if on_site else 0.0,
        extension_s=float(ext),
    )


CASES = [make_case(i, *row) for i, (row, _) in enumerate(TABLE)]
IDS = [
    f"{r[0].value}-{r[1].value}-{r[2]}s-{'onsite' if r[3] else 'away'}-ext{r[4]}" for r, _ in TABLE
]


@pytest.mark.parametrize("policy", [SlaPolicy(), SlaPolicy.from_dict({})], ids=["default", "dict"])
@pytest.mark.parametrize(("i", "expected"), list(enumerate(e for _, e in TABLE)), ids=IDS)
def test_scalar_evaluation_matches_the_table(policy: SlaPolicy, i: int, expected: tuple) -> None:
    milestone, level, left = expected
    s = policy.evaluate(CASES[i], NOW)
    assert s.milestone is milestone
    assert s.level is level
    assert s.remaining == left
    assert s.overdue is (left < 0)
    if milestone is not NONE:
        assert s.deadline == NOW + left


def test_vectorised_evaluation_matches_the_table() -> None:
    store = Store(SlaPolicy())
    for c in CASES:
        store._put_case(c, None, ChangeSet())
    milestone, remaining, level = store.sla_arrays(NOW)
    codes = {B: 0, Y: 1, R: 2, None: -1}
    for i, (_, (m, lvl, left)) in enumerate(TABLE):
        assert (int(milestone[i]), int(level[i])) == (int(m), codes[lvl]), IDS[i]
        assert np.isclose(remaining[i], left), IDS[i]


def test_counts_per_colour_and_overdue_match_the_table() -> None:
    store = Store(SlaPolicy())
    for c in CASES:
        store._put_case(c, None, ChangeSet())
    # counted by hand from TABLE above
    assert store.sla_counts(NOW) == {B: 8, Y: 11, R: 20}
    assert store.overdue_count(NOW) == 6
    assert store.open_count() == 39


def test_thresholds_are_configurable_and_checked() -> None:
    p = SlaPolicy(yellow_at=0.25, red_at=1.0)
    c = make_case(0, S.REPORTED, U.URGENT, 74, False, 0)
    assert p.evaluate(c, NOW).level is B
    assert p.evaluate(make_case(0, S.REPORTED, U.URGENT, 75, False, 0), NOW).level is Y
    assert p.evaluate(make_case(0, S.REPORTED, U.URGENT, 299, False, 0), NOW).level is Y
    assert p.evaluate(make_case(0, S.REPORTED, U.URGENT, 300, False, 0), NOW).level is R
    for yellow, red in [(0.0, 0.5), (0.5, 0.5), (0.6, 0.5), (0.5, 1.01), (-0.1, 0.5)]:
        with pytest.raises(ValueError):
            SlaPolicy(yellow_at=yellow, red_at=red)
    assert SlaPolicy.from_dict({"yellow_at": 0.3, "red_at": 0.9}).red_at == 0.9
