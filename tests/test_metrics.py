"""The metric catalogue: one number per definition, wherever it is shown.

A seeded demo county is lived through several instants of a day; at each, the platform's
KPIs (the simulator's own, from its cases), the catalogue over the console's store, hand
counts over the store's records and the league tables must tell the same story, and the
cases behind each number must be exactly as many as the number says.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commandcenter.domain import OPEN_STATES
from commandcenter.metrics.catalogue import CATALOGUE, KPI_TILES
from commandcenter.metrics.columns import columns_from_cases
from commandcenter.metrics.engine import (
    LiveFigures,
    MetricEngine,
    figures_of,
    platform_difference,
)
from commandcenter.metrics.explain import explain, footnote
from commandcenter.metrics.incremental import Tally
from commandcenter.metrics.windows import ALL_TIME, TODAY, DayCalendar, Window
from commandcenter.ranking import LAST_7_DAYS, LeagueTable
from commandcenter.store import Store
from feeds.serve.simulator.county import County
from feeds.serve.simulator.world import World
from tests.demo_county import START, world_snapshot

ZONE = "Asia/Shanghai"
OPEN = {s.value for s in OPEN_STATES}


@pytest.fixture(scope="module")
def day() -> list[tuple[World, Store, float, dict]]:
    """(world, store, instant, platform KPIs) at 10:00, 13:00 and 17:00 of one day."""
    county = County.build(1)
    world = World(county, seed=5, start_ts=START)
    world.warm_up(hours=8)
    store = Store()
    store.reset(world_snapshot(world, "t"))
    seq = 1
    out = []
    for hours in (0, 3, 4):
        events = []
        for e in world.advance(world.now + hours * 3600):
            seq += 1
            events.append(SimpleNamespace(seq=seq, kind=e.kind, data=e.data, ts=e.ts))
        store.apply(events)
        # the store moves on with the day: take everything of this instant now
        out.append(
            (world, store, world.now, _check_instant(store, world.now, world._compute_kpis()))
        )
    return out


def _check_instant(store: Store, now: float, platform: dict) -> dict:
    """Everything compared at one instant, returned for the tests to assert on."""
    fig = MetricEngine(store, ZONE).figures(now)
    records = [store.record_at(r) for r in range(len(store))]
    return {
        "platform": {k: v.value for k, v in platform.items()},
        "ours": {n: fig.value(n) for n in CATALOGUE},
        "ids": {n: MetricEngine(store, ZONE).case_ids(fig.value(n)) for n in CATALOGUE},
        "records": records,
        "policy": store.policy,
        "now": now,
        "table": LeagueTable.compute(
            store.to_frame(), "township", LAST_7_DAYS, now, store.policy, zone=ZONE
        ),
    }


def test_platform_and_catalogue_agree_in_the_demo(day) -> None:
    for _, _, _, s in day:
        for name in KPI_TILES:
            mv = s["ours"][name]
            if mv.value is None:
                assert name not in s["platform"], name  # neither reports a rate on n < min
                continue
            assert s["platform"][name] == round(mv.value, 2), name
            assert platform_difference(mv, s["platform"][name]) is None


def test_catalogue_equals_hand_counts_over_the_records(day) -> None:
    for _, _, _, s in day:
        recs, policy, now = s["records"], s["policy"], s["now"]
        open_ = [c for c in recs if c.state in OPEN]
        assert s["ours"]["open_cases"].value == len(open_)
        assert s["ours"]["open_urgent"].value == sum(c.urgency == "urgent" for c in open_)
        overdue = [c for c in recs if policy.evaluate(c, now).overdue]
        assert s["ours"]["overdue_now"].value == len(overdue)
        red = [c for c in recs if policy.evaluate(c, now).level == "red"]
        assert s["ours"]["sla_red"].value == len(red)
        # red includes the overdue (the legend says "of which overdue")
        assert {c.id for c in overdue} <= {c.id for c in red}


def test_every_number_selects_exactly_its_cases(day) -> None:
    for _, _, _, s in day:
        for name, mv in s["ours"].items():
            ids = s["ids"][name]
            if mv.reason == "not_case_based":
                continue
            assert len(ids) == mv.n == len(set(ids)), name
            if not mv.metric.is_rate:
                assert len(ids) == mv.value, name


def test_league_table_adds_up_to_the_catalogue(day) -> None:
    for _, _, _, s in day:
        t = s["table"]
        unattributed = int(t.attrs["unattributed"])
        cr, ot = s["ours"]["closure_rate"], s["ours"]["on_time_rate"]
        assert int(t["received"].sum()) + unattributed == cr.n
        if unattributed == 0:
            assert int(t["closed"].sum()) == cr.numerator
            assert int(t["on_time"].sum()) == ot.numerator
            assert int(t["completed"].sum() + t["overdue_now"].sum()) == ot.n
        # a township with an overdue case cannot show a perfect on-time rate
        late = t[t["overdue_now"] > 0]
        assert (late["on_time_rate"] < 1.0).all()


def test_ranked_entities_come_before_the_unranked(day) -> None:
    for _, _, _, s in day:
        ranked = s["table"]["ranked"].to_list()
        assert ranked == sorted(ranked, reverse=True)


def test_explanations_say_window_n_and_as_of(day) -> None:
    s = day[-1][3]
    mv = s["ours"]["closure_rate"]
    tip = explain(mv, True)
    assert f"n = {mv.n}" in tip and "截至" in tip and "窗口" in tip and "整日" in tip
    note = footnote(mv, False)
    assert f"n = {mv.n}" in note and "as of" in note and "window" in note


# ---- updates in any order, duplicated: the same numbers -------------------------------


def _case(i: int, version: int, state: str, created: float, completed: float, rating: int):
    return SimpleNamespace(
        id=f"C{i}",
        version=version,
        state=state,
        urgency="urgent" if i % 3 == 0 else "normal",
        source="hotline",
        supervised=0,
        rating=rating,
        created_ts=created,
        state_ts=created,
        assigned_ts=created + 60 if state != "reported" else 0.0,
        on_site_ts=0.0,
        completed_ts=completed,
        closed_ts=completed + 60 if state in ("closed", "evaluated") else 0.0,
        extension_s=0.0,
        lon=113.6,
        lat=37.8,
        category="占道经营",
        township=f"T{i % 4}",
        grid=f"G{i % 7}",
        assignee="",
        assignee_kind="",
        address="",
    )


STATES = ("reported", "assigned", "handling", "completed", "closed", "evaluated")
NOW = START + 6 * 3600.0


@settings(max_examples=40, deadline=None)
@given(
    versions=st.lists(
        st.tuples(
            st.integers(0, 30),  # case
            st.sampled_from(STATES),
            st.floats(0, 9 * 86_400),  # age at filing
            st.floats(0, 3 * 86_400),  # handling time
            st.integers(0, 5),
        ),
        min_size=1,
        max_size=120,
    ),
    seed=st.integers(0, 2**16),
)
def test_incremental_equals_batch_under_reordered_and_repeated_updates(versions, seed) -> None:
    records = []
    for v, (i, state, age, ht, rating) in enumerate(versions, start=1):
        done = state in ("completed", "closed", "evaluated")
        created = NOW - age
        completed = min(created + ht, NOW) if done else 0.0
        records.append(_case(i, v, state, created, completed, rating if done else 0))
    # the newest version of each case is the truth
    final = {}
    for r in records:
        final[r.id] = r
    rng = np.random.default_rng(seed)
    shuffled = [records[k] for k in rng.permutation(len(records))]
    shuffled += [records[k] for k in rng.integers(0, len(records), len(records) // 2)]
    store = Store()
    engine = MetricEngine(store, ZONE)  # follows every change set: the running counts
    engine.figures(NOW)  # loaded (empty) now: what follows is taken change set by change set
    following = engine.tally
    for k, r in enumerate(shuffled, start=1):  # one event each, as a stream delivers them
        store.apply([SimpleNamespace(seq=k, kind="case.updated", data=r, ts=NOW)])
    # the same deliveries in batches straight into a tally (duplicates within a batch)
    cols = columns_from_cases(shuffled)
    cols.version = np.array([r.version for r in shuffled], dtype=np.int64)
    tally = Tally(store.policy, DayCalendar(ZONE))
    cut = sorted(set(rng.integers(0, len(shuffled), 4).tolist()) | {0, len(shuffled)})
    for a, b in itertools.pairwise(cut):
        tally.update(cols.take(np.arange(a, b)))
    live = engine.figures(NOW)
    assert isinstance(live, LiveFigures) and live.tally is following  # not reloaded
    assert len(following) == len(final)
    batch = figures_of(columns_from_cases(final.values()), NOW, zone=ZONE)
    by_columns = figures_of(store.columns(), NOW, zone=ZONE)  # the store, recomputed
    for window in (None, TODAY, LAST_7_DAYS, ALL_TIME, Window.custom(NOW - 5e4, NOW - 1e3)):
        for name, m in CATALOGUE.items():
            if m.kind in ("units", "cameras"):
                continue
            a, b = live.value(name, window), batch.value(name, window)
            assert (a.value, a.numerator, a.n) == (b.value, b.numerator, b.n), (name, window)
            got = tally.counts(m, NOW, m.window if window is None or m.window is None else window)
            if got is not None:
                assert got == (b.numerator, b.n), (name, window)
            # the rows found on demand are those the columns give
            assert np.array_equal(np.sort(a.rows), np.sort(by_columns.value(name, window).rows))


def test_a_platform_rate_one_report_behind_is_not_a_difference(day) -> None:
    """One case between two platform reports moves a rate by 100/n points and a count by
    one: within that the tile marks nothing; beyond it the difference is flagged."""
    _world, store, now, _ = day[-1]
    fig = MetricEngine(store).figures(now)
    rate = fig.value("closure_rate")
    assert rate.value is not None and rate.n > 20
    one_case = 100.0 / rate.n
    assert platform_difference(rate, rate.value + 0.8 * one_case) is None
    assert platform_difference(rate, rate.value - 0.8 * one_case) is None
    assert platform_difference(rate, rate.value + 1.5 * one_case) == pytest.approx(1.5 * one_case)
    count = fig.value("overdue_now")
    assert platform_difference(count, (count.value or 0) + 1) is None
    assert platform_difference(count, (count.value or 0) - 1) is None
    assert platform_difference(count, (count.value or 0) + 2) == 2


def test_on_time_reads_a_records_own_due_date_first() -> None:
    """Completed a day after filing: on time by the policy's days-long limit, late by the
    record's own 12-hour deadline. The catalogue and the league table agree on it."""
    created = NOW - 2 * 86_400
    cases = []
    for i in range(20):
        c = _case(i, 1, "closed", created + i, created + i + 86_400, 5)
        c.urgency = "normal"
        c.due_ts = created + i + 12 * 3600 if i < 5 else 0.0  # 5 with their own deadline
        cases.append(c)
    store = Store()
    store.reset(SimpleNamespace(epoch="d", seq=1, now=NOW, rate=1.0, cases=cases, units=[],
                                positions=[], cameras=[], grids=[], kpis=[], alerts=[]))  # fmt: skip
    rate = MetricEngine(store).figures(NOW).value("on_time_rate")
    assert (rate.numerator, rate.n) == (15, 20)
    table = LeagueTable.compute(store.to_frame(), "township", LAST_7_DAYS, NOW, store.policy)
    assert int(table["on_time"].sum()) == 15


def test_windows_are_checked_labelled_and_resolved() -> None:
    from commandcenter.metrics.windows import DayCalendar, Span, Window

    with pytest.raises(ValueError, match="days >= 1"):
        Window("days", 0)
    with pytest.raises(ValueError, match="end > start"):
        Window.custom(5.0, 5.0)
    with pytest.raises(ValueError, match="unknown window kind 'weeks'"):
        Window("weeks")
    assert [w.label for w in (Window.today(), Window.last_days(7), Window.all_time())] == [
        "today", "7d", "all",
    ]  # fmt: skip
    cal = DayCalendar(ZONE)
    span, before = Window.custom(1000.0, 1600.0).resolve(0.0, cal)
    assert (span, before) == (Span(1000.0, 1600.0), Span(400.0, 1000.0))
    # 2024-03-01 00:00 in Shanghai (UTC+8) is 2024-02-29 16:00 UTC: 1709222400.
    assert cal.is_midnight(1_709_222_400.0) and not cal.is_midnight(1_709_222_401.0)
    assert not cal.is_midnight(float("nan"))
    today, yesterday = Window.today().resolve(1_709_222_400.0 + 3600, cal)
    assert (today, yesterday) == (
        Span(1_709_222_400.0, 1_709_308_800.0), Span(1_709_136_000.0, 1_709_222_400.0),
    )  # fmt: skip
