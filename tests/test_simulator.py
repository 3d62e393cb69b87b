"""The demo county and its world: right size, inside its borders, reproducible, legal moves."""

from __future__ import annotations

from collections import defaultdict

import msgspec
import numpy as np
import pytest

from commandcenter import lifecycle
from commandcenter.domain import CaseState, Role, UnitStatus
from feeds import protocol as P
from feeds.serve.simulator.county import (
    GRID_COUNT,
    OUTLINE_FILE,
    POPULATION,
    SHARED_EXTERNAL,
    County,
    points_in_polygon,
)
from feeds.serve.simulator.world import LIMITS, World, local_hour

START = 1_795_399_200.0  # 2026-11-23 10:00 in Pingding (UTC+8)
HAVE_SHARED = (SHARED_EXTERNAL / OUTLINE_FILE).is_file()


@pytest.fixture(scope="module")
def synthetic() -> County:
    return County.build(7, outline_path=False)


@pytest.fixture(scope="module")
def county() -> County:
    return County.build(1)


def _check_geography(c: County) -> None:
    assert abs(len(c.grids) - GRID_COUNT) <= 10
    assert abs(c.population - POPULATION) <= POPULATION * 0.02
    cen = np.array([g.centroid for g in c.grids])
    assert c.contains(cen[:, 0], cen[:, 1]).all(), "every grid centroid lies in the county"
    assert len(c.townships) == 10
    assert len({g.code for g in c.grids}) == len(c.grids)
    # the seat is denser: urban grids are smaller and more populous
    urban = [g for g in c.grids if g.urban]
    rural = [g for g in c.grids if not g.urban]
    assert np.mean([g.area_km2 for g in urban]) < np.mean([g.area_km2 for g in rural]) / 4
    assert np.mean([g.population for g in urban]) > np.mean([g.population for g in rural])
    for g in c.grids:
        assert len(g.polygon) >= 3
        assert g.houses > 0 and g.worker
    assert 300 <= len(c.cameras) <= 600
    assert 140 <= len(c.units) <= 160
    geo = msgspec.json.decode(msgspec.json.encode(c.geography()))
    assert {"county", "townships", "grids", "departments", "categories"} <= set(geo)
    assert geo["grids"][0]["polygon"][0][0] > 100  # [lon, lat]


def test_synthetic_county_has_the_right_shape(synthetic: County) -> None:
    assert synthetic.outline_source == "synthetic"
    assert synthetic.townships[0].name == "城关镇"
    assert synthetic.townships[0].code.startswith("999")
    _check_geography(synthetic)


@pytest.mark.skipif(not HAVE_SHARED, reason="../shared/data/external is absent")
def test_real_outline_and_township_names(county: County) -> None:
    assert county.outline_source == "external"
    names = [t.name for t in county.townships]
    assert names[0] == "冠山镇" and "娘子关镇" in names
    assert all(t.code.startswith("140321") for t in county.townships)
    lon, lat = county.outline[:, 0], county.outline[:, 1]
    assert 113.3 < lon.min() < lon.max() < 114.2 and 37.5 < lat.min() < lat.max() < 38.2
    _check_geography(county)


def test_build_is_seeded() -> None:
    a = County.build(3, outline_path=False)
    b = County.build(3, outline_path=False)
    assert [g.polygon for g in a.grids] == [g.polygon for g in b.grids]
    assert [u.name for u in a.units] == [u.name for u in b.units]


def test_components_lie_in_their_grids(synthetic: County) -> None:
    lon, lat, kind = synthetic.components()
    assert lon.size == 74_173 == sum(g.facilities for g in synthetic.grids)
    assert synthetic.contains(lon, lat).mean() > 0.999
    assert kind.min() >= 0 and kind.max() < 10


def test_point_in_polygon_helper() -> None:
    square = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]])
    x = np.array([1.0, 3.0, -0.1, 1.99])
    y = np.array([1.0, 1.0, 1.0, 0.01])
    assert points_in_polygon(x, y, square).tolist() == [True, False, False, True]
    # many points go through the edge loop instead of the broadcast
    xs = np.random.default_rng(0).uniform(-1, 3, 600_000)
    ys = np.full_like(xs, 1.0)
    assert (points_in_polygon(xs, ys, square) == ((xs > 0) & (xs < 2))).all()


def _events(world: World, hours: float, step_s: float = 900.0) -> list[P.Envelope]:
    out = []
    end = world.now + hours * 3600
    while world.now < end:
        out += world.advance(min(world.now + step_s, end))
    return out


def _encode_all(events) -> list[bytes]:
    return [P.encode_envelope(i, e.kind, e.ts, e.data) for i, e in enumerate(events)]


def test_same_seed_same_events(synthetic: County) -> None:
    runs = []
    for _ in range(2):
        w = World(synthetic, seed=11, start_ts=START)
        w.warm_up(2)
        runs.append(_encode_all(w.state_events() + _events(w, 3)))
    assert runs[0] == runs[1]
    other = World(synthetic, seed=12, start_ts=START)
    other.warm_up(2)
    assert _encode_all(other.state_events() + _events(other, 3)) != runs[0]


def test_warm_up_leaves_every_warning_level(county: County) -> None:
    """(How long the warm-up takes is measured in bench/core.py, not asserted here.)"""
    w = World(county, seed=1, start_ts=START)
    w.warm_up(8)
    open_cases = [c for c in w.cases.values() if c.is_open]
    closed = [c for c in w.cases.values() if not c.is_open]
    assert len(open_cases) > 50 and len(closed) > 20
    used = [
        (w.now - c.created_ts) / (LIMITS[c.urgency]["done"] + c.extension_s) for c in open_cases
    ]
    assert min(used) < 0.5, "blue: fresh cases"
    assert any(0.6 <= u < 1.0 for u in used), "yellow/red: close to the limit"
    assert max(used) >= 1.0, "overdue"
    states = {c.state for c in w.cases.values()}
    assert {CaseState.REPORTED, CaseState.ASSIGNED, CaseState.HANDLING} <= states
    assert CaseState.EVALUATED in states or CaseState.CALLED_BACK in states


def test_every_transition_is_legal_and_versions_count_up(county: County) -> None:
    w = World(county, seed=5, start_ts=START)
    w.warm_up(4)
    events = _events(w, 30)
    by_case: dict[str, list[P.CaseData]] = defaultdict(list)
    for e in events:
        if e.kind in (P.CASE_CREATED, P.CASE_UPDATED):
            by_case[e.data.id].append(e.data)
    assert len(by_case) > 300
    kinds = defaultdict(int)
    for records in by_case.values():
        versions = [r.version for r in records]
        assert versions == list(range(versions[0], versions[0] + len(versions)))
        final = records[-1]
        # replay the whole timeline from discovery through the state machine
        state = CaseState.DISCOVERED
        assert final.timeline[0].action == "discover"
        for item in final.timeline[1:]:
            params = {"assignee": item.note or "x", "reason": item.note or "x", "seconds": 1}
            if item.action == "evaluate":
                params["rating"] = int(item.note.split("/")[0])
            assert lifecycle.check(state, item.action, Role.SYSTEM, params) is None, item
            expected = lifecycle.TRANSITIONS[lifecycle.Action(item.action)][state]
            assert item.state == expected.value
            state = expected
            kinds[item.action] += 1
        assert final.state == state.value
    for action in ("report", "sign", "assign", "arrive", "complete", "verify", "evaluate"):
        assert kinds[action] > 0, action
    assert kinds["return"] > 0 and kinds["escalate"] > 0


def test_some_cases_breach_their_limits(county: County) -> None:
    w = World(county, seed=2, start_ts=START)
    w.warm_up(2)
    events = _events(w, 24)
    created = sum(1 for e in events if e.kind == P.CASE_CREATED)
    assert 350 <= created <= 800, created  # default 550 a day
    breaches = [e.data for e in events if e.kind == P.ALERT_RAISED and e.data.kind == "sla.breach"]
    assert breaches
    # roughly 8-15% of cases miss a limit; allow generous bounds for one day's sample
    late = {a.case_id for a in breaches}
    assert 0.03 * created <= len(late) <= 0.30 * created
    kinds = {e.kind for e in events}
    assert {P.UNIT_POSITION, P.UNIT_STATUS, P.GRID_STATS, P.KPI_UPDATE, P.CAMERA_STATUS} <= kinds
    kpis = w._compute_kpis()
    # The platform's closure rate is its own cases' (no constant base): counted by hand
    # over the cases filed since local midnight six days ago.
    midnight = w.now - ((w.now + 8 * 3600) % 86_400) - 6 * 86_400
    filed = [c for c in w.cases.values() if c.created_ts >= midnight]
    closed = [c for c in filed if c.state in ("closed", "called_back", "evaluated")]
    assert kpis["closure_rate"].value == round(100 * len(closed) / len(filed), 2)
    assert 0 < kpis["closure_rate"].value < 100
    assert kpis["online_completion"].label == "网上办结率"


def test_daily_rhythm_is_quiet_at_night(county: County) -> None:
    # positions are irrelevant here: report them rarely to keep the test quick
    w = World(county, seed=3, start_ts=START, cases_per_day=1500, position_interval_s=3600)
    events = _events(w, 24, step_s=3600)
    hours = [local_hour(e.data.created_ts) for e in events if e.kind == P.CASE_CREATED]
    night = sum(1 for h in hours if h < 6)
    peak = sum(1 for h in hours if 9 <= h < 11)
    assert peak > 3 * night


def test_operator_assign_to_a_unit_sends_it(county: County) -> None:
    w = World(county, seed=4, start_ts=START)
    w.warm_up(1)
    case = next(c for c in w.cases.values() if c.state is CaseState.REPORTED)
    res, ev = w.apply_action(case.id, "sign", "值班员", Role.DUTY_OFFICER, {}, case.version)
    assert res.status == "applied" and [e.kind for e in ev] == [P.CASE_UPDATED]
    unit = next(u for u in w.units.values() if u.status is UnitStatus.AVAILABLE)
    params = {"assignee": unit.d.id, "assignee_kind": "unit"}
    stale = w.apply_action(case.id, "assign", "值班员", Role.DUTY_OFFICER, params, case.version)
    assert stale[0].status == "conflict" and stale[0].case.version == case.version + 1
    res, ev = w.apply_action(case.id, "assign", "值班员", Role.DUTY_OFFICER, params, 0)
    assert res.status == "applied"
    assert unit.status is UnitStatus.EN_ROUTE and unit.case_id == case.id
    assert any(e.kind == P.UNIT_STATUS and e.data.id == unit.d.id for e in ev)
    later = _events(w, 2, step_s=60)
    assert any(e.kind == P.UNIT_POSITION and e.data.id == unit.d.id for e in later)
    arrived = [
        e.data
        for e in later
        if e.kind == P.CASE_UPDATED and e.data.id == case.id and e.data.state == "handling"
    ]
    assert arrived, "the unit reached the case and started handling it"
    res, _ = w.apply_action(case.id, "sign", "值班员", Role.DUTY_OFFICER, {}, 0)
    assert res.status == "illegal" and "cannot sign" in res.reason
    res, _ = w.apply_action(case.id, "escalate", "领导", Role.VIEWER, {"reason": "x"}, 0)
    assert res.status == "forbidden"
    assert w.apply_action("nope", "sign", "x", Role.DUTY_OFFICER)[0].status == "not_found"


def test_adopting_a_state_continues_deterministically(synthetic: County) -> None:
    w = World(synthetic, seed=9, start_ts=START)
    w.warm_up(3)
    state = dict(
        now=w.now,
        last_seq=1234,
        cases=w.live_cases(),
        units=w.unit_statuses(),
        positions=w.unit_positions(),
        cameras=w.camera_list(),
        grids=w.grid_stats(),
        kpis=w.kpi_list(),
        alerts=w.alert_list(),
    )
    runs = []
    for _ in range(2):
        fresh = World(synthetic, seed=9, start_ts=0)
        fresh.adopt(**state)
        runs.append(_encode_all(_events(fresh, 2)))
    assert runs[0] == runs[1] and len(runs[0]) > 100
    created = [
        msgspec.json.decode(b)["data"]["id"] for b in runs[0] if b'"kind":"case.created"' in b
    ]
    assert created and min(created) > max(c.id for c in state["cases"])


def test_ten_hours_fast_forward_lands_on_time_and_in_order(county: County) -> None:
    """Ten hours in one call: every event inside the window, in time order, the clock at the
    end, and a busy county's day of filings in it. How long it takes: python -m bench core."""
    w = World(county, seed=1, start_ts=START)
    w.warm_up(8)
    start = w.now
    events = w.advance(start + 10 * 3600)
    stamps = [e.ts for e in events]
    assert stamps == sorted(stamps)
    assert start <= stamps[0] and stamps[-1] <= start + 10 * 3600
    assert w.now == start + 10 * 3600
    filed = [e for e in events if e.kind == P.CASE_CREATED]
    # 10:00-20:00 in the county: filings every hour of it, none of them twice
    hours = {int((e.ts - start) // 3600) for e in filed}
    assert hours == set(range(10))
    assert len({e.data.id for e in filed}) == len(filed)
