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
from commandcenter.metrics.columns import CODE_COLUMNS, columns_from_cases
from commandcenter.metrics.engine import (
    LiveFigures,
    MetricEngine,
    figures_of,
    format_number,
    platform_difference,
)
from commandcenter.metrics.explain import explain, footnote
from commandcenter.metrics.incremental import Tally
from commandcenter.metrics.windows import ALL_TIME, TODAY, DayCalendar, Span, Window
from commandcenter.ranking import LAST_7_DAYS, LeagueTable
from commandcenter.sla import SlaPolicy
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

    with pytest.raises(ValueError, match=r"^a window of days needs days >= 1$"):
        Window("days", 0)
    with pytest.raises(ValueError, match=r"^a custom window needs end > start$"):
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


# ---- seven hand-made cases, every number counted by hand -------------------------------
#
# 2024-03-01 10:00 in Shanghai. Limits by default: urgent sign 5 min, arrive 20 min, handle
# 24 h; normal sign 24 h, handle 7 days; yellow from 50% used, red from 80%.

T0 = 1_709_222_400.0 + 10 * 3600  # 2024-03-01 10:00 Asia/Shanghai
MIDNIGHT = 1_709_222_400.0  # 2024-03-01 00:00 there
H, D = 3600.0, 86_400.0


def _hand_case(cid, state, urgency, created, township, completed=0.0, closed=0.0, rating=0,
               due=0.0, on_site=0.0, extension=0.0, version=1):  # fmt: skip
    return SimpleNamespace(
        id=cid, version=version, state=state, urgency=urgency, source="hotline",
        supervised=0, rating=rating, created_ts=created, state_ts=created,
        assigned_ts=0.0, on_site_ts=on_site, completed_ts=completed, closed_ts=closed,
        extension_s=extension, due_ts=due, lon=113.6, lat=37.8, category="占道经营",
        township=township, grid="", assignee="", assignee_kind="", address="",
    )  # fmt: skip


def _hand_cases() -> list:
    return [
        # A: today 09:00, waits for signing, 1 h of 24 used: blue
        _hand_case("A", "reported", "normal", T0 - H, "T1"),
        # B: urgent, filed 10 min ago, sign limit 5 min: overdue, red
        _hand_case("B", "reported", "urgent", T0 - 600, "T1"),
        # C: handled for 5 of 7 days: yellow
        _hand_case("C", "handling", "normal", T0 - 5 * D, "T2"),
        # D: filed 2 days ago, done in 1, closed today 09:00, rated 5: on time, satisfied
        _hand_case("D", "closed", "normal", T0 - 2 * D, "T2", T0 - D, T0 - H, 5),
        # E: urgent, took 2 days of its 24 h, not closed yet: late
        _hand_case("E", "completed", "urgent", T0 - 3 * D, "T1", T0 - D),
        # F: yesterday 10:00, done in 4 h, closed yesterday 16:00, rated 3; no township
        _hand_case("F", "closed", "normal", T0 - D, "", T0 - 20 * H, T0 - 18 * H, 3),
        # G: urgent, dispatched 15 min ago, nobody on site, arrive limit 20 min: yellow
        _hand_case("G", "assigned", "urgent", T0 - 900, "T1"),
    ]


def _hand_figures(**kw):
    return figures_of(columns_from_cases(_hand_cases()), T0, zone=ZONE, **kw)


def test_hand_counted_populations_and_metrics() -> None:
    fig = _hand_figures()
    ids = np.array(fig.cols.ids)
    expected_now = {
        "open": "ABCG", "open_urgent": "BG", "overdue": "B", "red": "B", "yellow": "CG",
        "blue": "A",
    }  # fmt: skip
    for population, want in expected_now.items():
        assert "".join(ids[fig.mask(population)]) == want, population
    expected_7d = {
        "received": "ABCDEFG", "closed": "DF", "completed": "DEF", "on_time": "DF",
        "due": "BDEF", "rated": "DF", "satisfied": "D", "overdue_received": "B",
        "closed_in_window": "DF",
    }  # fmt: skip
    for population, want in expected_7d.items():
        assert "".join(ids[fig.mask(population, LAST_7_DAYS)]) == want, population
    assert "".join(ids[fig.mask("received", TODAY)]) == "ABG"
    assert "".join(ids[fig.mask("closed_in_window", TODAY)]) == "D"
    with pytest.raises(ValueError, match="unknown population 'lost'"):
        fig.mask("lost", TODAY)
    with pytest.raises(ValueError, match="population 'received' needs a window"):
        fig.mask("received")
    got = {n: (v.value, v.numerator, v.n, v.reason) for n, v in fig.values().items()}
    assert got == {
        "open_cases": (4.0, 4, 4, ""),
        "open_urgent": (2.0, 2, 2, ""),
        "overdue_now": (1.0, 1, 1, ""),
        "sla_red": (1.0, 1, 1, ""),
        "sla_yellow": (2.0, 2, 2, ""),
        "sla_blue": (1.0, 1, 1, ""),
        "cases_today": (3.0, 3, 3, ""),
        "closed_today": (1.0, 1, 1, ""),
        "closure_rate": (None, 2, 7, "below_min_sample"),
        "on_time_rate": (None, 2, 4, "below_min_sample"),
        "satisfaction": (None, 1, 2, "below_min_sample"),
        "units_on_duty": (0.0, 0, 0, "not_case_based"),
        "camera_online_rate": (None, 0, 0, "not_case_based"),
    }
    # a window given overrides the catalogue's; a stock keeps none
    today = fig.values(["closure_rate", "open_cases", "closed_today"], TODAY)
    assert {n: (v.numerator, v.n) for n, v in today.items()} == {
        "closure_rate": (0, 3), "open_cases": (4, 4), "closed_today": (1, 1),
    }  # fmt: skip
    assert today["open_cases"].span is None
    assert today["closure_rate"].span == Span(MIDNIGHT, MIDNIGHT + D)
    week = fig.value("closure_rate")
    assert week.span == Span(MIDNIGHT - 6 * D, MIDNIGHT + D) and week.as_of == T0
    assert week.name == "closure_rate" and week.meets is None  # no value, no verdict


def test_a_rate_over_its_minimum_sample_and_without_cases() -> None:
    cases = [_hand_case(f"R{i}", "closed", "normal", T0 - 2 * H - i, "T1", T0 - H, T0 - H, 4)
             for i in range(10)]  # fmt: skip
    cases += [_hand_case(f"O{i}", "reported", "normal", T0 - H - i, "T1") for i in range(6)]
    fig = figures_of(columns_from_cases(cases), T0, zone=ZONE)
    rate = fig.value("closure_rate")  # 10 of 16 filed this week are closed
    assert (rate.value, rate.numerator, rate.n, rate.reason) == (62.5, 10, 16, "")
    assert rate.text() == "62.5%" and rate.meets is False
    sat = fig.value("satisfaction")  # 10 rated, all 4
    assert (sat.value, sat.numerator, sat.n) == (100.0, 10, 10) and sat.meets is True
    empty = figures_of(columns_from_cases(cases), T0 + 30 * D, zone=ZONE)  # a month on
    none = empty.value("closure_rate")
    assert (none.value, none.numerator, none.n, none.reason) == (None, 0, 0, "no_cases")
    assert none.text() == "—"


def test_one_number_per_township_and_the_cases_oldest_first() -> None:
    fig = _hand_figures()
    per = fig.by("township", "open_cases")  # the case without a township is left apart
    assert {k: (v.value, fig.case_ids(v)) for k, v in per.items()} == {
        "T1": (3.0, ["A", "G", "B"]),
        "T2": (1.0, ["C"]),
    }
    today = fig.by("township", "cases_today", TODAY)
    assert {k: v.value for k, v in today.items()} == {"T1": 3.0, "T2": 0.0}
    week = fig.by("township", "closure_rate", LAST_7_DAYS)
    assert {k: (v.numerator, v.n) for k, v in week.items()} == {"T1": (0, 4), "T2": (1, 2)}
    # what a click selects, oldest filed first: the rows are A, B, G; filed A, G, B
    assert fig.case_ids(fig.value("cases_today")) == ["A", "G", "B"]
    assert fig.case_ids(fig.value("closure_rate")) == ["C", "E", "D", "F", "A", "G", "B"]
    assert fig.case_ids(fig.value("overdue_now", within=fig.mask("yellow"))) == []
    none = figures_of(columns_from_cases([]), T0, zone=ZONE)
    assert none.by("township", "open_cases") == {}


def test_units_on_duty_and_cameras_online() -> None:
    units = {
        "u1": "available",
        "u2": "off_duty",
        "u3": SimpleNamespace(status="busy"),  # a payload with its status
        "u4": SimpleNamespace(status=SimpleNamespace(status="off_duty")),  # a record
        "u5": SimpleNamespace(status=SimpleNamespace(status="en_route")),
        "u6": SimpleNamespace(status=None),  # status unknown: not counted
    }
    cams = {"c1": SimpleNamespace(online=True), "c2": SimpleNamespace(online=False),
            "c3": SimpleNamespace(), "c4": SimpleNamespace(online=True)}  # fmt: skip
    fig = _hand_figures(units=units, cameras=cams)
    on = fig.value("units_on_duty")
    assert (on.value, on.numerator, on.n, on.text()) == (3.0, 3, 3, "3")
    cam = fig.value("camera_online_rate")  # c1, c3 (no flag: online) and c4 of four
    assert (cam.value, cam.numerator, cam.n, cam.text()) == (75.0, 3, 4, "75.0%")
    assert cam.meets is False and fig.value("overdue_now").meets is False


def test_numbers_print_as_a_tile_prints_them() -> None:
    assert format_number(87.46, "%") == "87.5%"
    assert format_number(100.0, "%") == "100.0%"
    assert format_number(1234.0, "件") == "1,234"
    assert format_number(1234.5, "件") == "1,234.5"
    assert format_number(7.0, "人") == "7"


def test_a_target_is_met_in_its_direction() -> None:
    up, down, none = CATALOGUE["closure_rate"], CATALOGUE["overdue_now"], CATALOGUE["open_cases"]
    assert (up.target, up.direction, down.target, down.direction) == (95.0, "up", 0.0, "down")
    assert [up.meets(v) for v in (95.0, 94.9, 100.0, None)] == [True, False, True, None]
    assert [down.meets(v) for v in (0.0, 1.0, None)] == [True, False, None]
    assert none.meets(0.0) is None
    from dataclasses import replace

    assert replace(up, direction=None).meets(99.0) is None  # a target without a direction
    assert replace(down, target=None).meets(0.0) is None


def _set_zone(name: str):
    from commandcenter import hall_time

    before = hall_time.zone_name()
    hall_time.set_zone(name)
    return lambda: hall_time.set_zone(before)


def test_tooltips_and_footnotes_word_for_word() -> None:
    from commandcenter.metrics.engine import MetricValue

    restore = _set_zone("Asia/Shanghai")
    try:
        day = Span(MIDNIGHT, MIDNIGHT + D)
        as_of = MIDNIGHT + 3661.0  # 01:01:01
        cr = CATALOGUE["closure_rate"]
        mv = MetricValue(cr, 80.0, 8, 10, as_of, day)
        assert explain(mv, True).split("\n") == [
            "结案率：80.0%",
            cr.formula_zh,
            "窗口：2024-03-01 00:00 – 03-02 00:00（Asia/Shanghai，整日）",
            "n = 10（分母），其中 8 件满足条件",
            "目标 ≥ 95.0%",
            "截至 03-01 01:01:01",
            "点击：在列表和地图中选中这 10 件案件",
        ]
        assert explain(mv, False).split("\n") == [
            "Closure rate: 80.0%",
            cr.formula_en,
            "Window: 2024-03-01 00:00 – 03-02 00:00 (Asia/Shanghai, whole days)",
            "n = 10 (the denominator), 8 of them meet the condition",
            "target ≥ 95.0%",
            "As of 03-01 01:01:01",
            "Click: select these 10 cases in the queue and on the map",
        ]
        assert "Click" not in explain(mv, False, clickable=False)
        assert footnote(mv, True) == "；".join([
            "结案率 80.0%", cr.formula_zh.rstrip("。"),
            "窗口 2024-03-01 00:00 – 03-02 00:00（Asia/Shanghai，整日）",
            "n = 10", "截至 2024-03-01 01:01",
        ])  # fmt: skip
        assert footnote(mv, False) == "; ".join([
            "Closure rate 80.0%", cr.formula_en.rstrip("."),
            "window 2024-03-01 00:00 – 03-02 00:00 (Asia/Shanghai, whole days)",
            "n = 10", "as of 2024-03-01 01:01",
        ])  # fmt: skip
        few = MetricValue(cr, None, 1, 4, as_of, day, reason="below_min_sample")
        assert explain(few, True).split("\n")[0] == "结案率：—"
        assert explain(few, True).split("\n")[4] == "样本 4 件，少于最少 10 件：不给出比率"
        assert explain(few, False).split("\n")[4] == (
            "n = 4, below the minimum sample of 10: no rate shown"
        )
        assert footnote(few, False).endswith(
            "; as of 2024-03-01 01:01; n = 4, below the minimum sample of 10: no rate shown"
        )
        assert footnote(few, True).endswith(
            "；截至 2024-03-01 01:01；样本 4 件，少于最少 10 件：不给出比率"
        )
        nothing = MetricValue(cr, None, 0, 0, as_of, day, reason="no_cases")
        assert explain(nothing, True).split("\n")[4] == "窗口内没有可计算的案件"
        assert explain(nothing, False).split("\n")[4] == (
            "no cases to compute it from in the window"
        )
        od = CATALOGUE["overdue_now"]
        stock = MetricValue(od, 3.0, 3, 3, as_of, None)
        assert explain(stock, True).split("\n") == [
            "当前超期：3", od.formula_zh, "窗口：当前（时点值）", "n = 3", "目标 ≤ 0",
            "截至 03-01 01:01:01", "点击：在列表和地图中选中这 3 件案件",
        ]  # fmt: skip
        assert explain(stock, False).split("\n")[2:5] == [
            "Window: now (a stock, as of the time below)", "n = 3", "target ≤ 0",
        ]  # fmt: skip
        plain = MetricValue(CATALOGUE["open_cases"], 2.0, 2, 2, as_of, None)
        assert explain(plain, True).split("\n")[4] == "无考核目标"
        assert explain(plain, False).split("\n")[4] == "no target"
        assert footnote(plain, False).split("; ")[2:] == [
            "window now (a stock, as of the time below)", "n = 2", "as of 2024-03-01 01:01",
        ]  # fmt: skip
        staff = MetricValue(CATALOGUE["units_on_duty"], 5.0, 5, 5, as_of, None,
                            reason="not_case_based")  # fmt: skip
        assert explain(staff, False).split("\n") == [
            "Staff on duty: 5", CATALOGUE["units_on_duty"].formula_en,
            "Window: now (a stock, as of the time below)", "n = 5", "no target",
            "As of 03-01 01:01:01",
        ]  # fmt: skip
    finally:
        restore()


def test_a_copy_of_the_columns_is_whole_and_its_own() -> None:
    cols = columns_from_cases(_hand_cases())
    for version in (None, np.arange(1, 8, dtype=np.int64)):
        cols.version = version
        dup = cols.copy()
        for name in ("state", "urgency", "rating", "created", "completed", "closed",
                     "on_site", "extension", "due"):  # fmt: skip
            assert np.array_equal(getattr(dup, name), getattr(cols, name)), name
            getattr(dup, name)[0] = 99  # its own memory
            assert getattr(cols, name)[0] != 99, name
        assert list(dup.ids) == list("ABCDEFG") and dup.values is cols.values
        assert set(dup.codes) == set(cols.codes)
        for k in cols.codes:
            assert np.array_equal(dup.codes[k], cols.codes[k])
            dup.codes[k][0] = 42
            assert cols.codes[k][0] != 42
        if version is None:
            assert dup.version is None
        else:
            assert dup.version.tolist() == [1, 2, 3, 4, 5, 6, 7] and dup.version is not version
    part = cols.take(np.array([6, 3]))  # G and D
    assert list(part.ids) == ["G", "D"] and part.version.tolist() == [7, 4]
    assert part.created.tolist() == [T0 - 900, T0 - 2 * D]
    assert part.completed.tolist() == [0.0, T0 - D] and part.closed.tolist() == [0.0, T0 - H]
    assert part.rating.tolist() == [0, 5] and part.urgency.tolist() == [0, 1]  # urgent, normal
    assert part.state.tolist() == [cols.state[6], cols.state[3]]
    assert part.state.tolist() != [part.state[0]] * 2
    cols.on_site[6], cols.extension[3], cols.due[3] = T0 - 60, 600.0, T0
    part = cols.take(np.array([6, 3]))
    assert part.on_site.tolist() == [T0 - 60, 0.0] and part.extension.tolist() == [0.0, 600.0]
    assert part.due.tolist() == [0.0, T0] and part.values is cols.values
    assert [part.values["township"][c] for c in part.codes["township"]] == ["T1", "T2"]
    cols.version = None
    assert cols.take(np.array([1])).version is None


def test_columns_intern_strings_in_order_of_first_sight() -> None:
    cases = _hand_cases()
    cases[0].rating = None  # a missing rating and time read as 0
    cases[0].completed_ts = None
    cols = columns_from_cases(cases)
    assert cols.values["township"] == ["T1", "T2", ""]
    assert cols.codes["township"].tolist() == [0, 0, 1, 1, 0, 2, 0]
    assert cols.rating.tolist() == [0, 0, 0, 5, 0, 3, 0]
    assert cols.completed[0] == 0.0 and cols.closed[3] == T0 - H
    assert cols.state.dtype == np.int8 and cols.codes["grid"].dtype == np.int32
    assert cols.urgency.dtype == np.int8 and cols.rating.dtype == np.int8
    assert cols.created.dtype == np.float64
    assert len(cols) == 7 and cols.version is None
    # a record with only what every case has: the rest reads as 0 and ""
    bare = columns_from_cases([SimpleNamespace(id=7, state="reported", urgency="normal")])
    assert list(bare.ids) == ["7"] and bare.rating.tolist() == [0]
    for name in ("created", "completed", "closed", "on_site", "extension", "due"):
        assert getattr(bare, name).tolist() == [0.0], name
    assert bare.values == {c: [""] for c in CODE_COLUMNS}
    assert all(bare.codes[c].tolist() == [0] for c in CODE_COLUMNS)


def test_the_engine_answers_one_number_at_an_instant_and_a_window() -> None:
    store = Store()
    store.reset(SimpleNamespace(epoch="h", seq=1, now=T0, rate=1.0, cases=_hand_cases(),
                                units=[], positions=[], cameras=[], grids=[], kpis=[],
                                alerts=[]))  # fmt: skip
    engine = MetricEngine(store, ZONE)
    assert engine.value("open_cases", now=T0).value == 4.0
    assert engine.value("overdue_now", now=T0 - 300).value == 0.0  # B's 5 min not up yet
    cr = engine.value("closure_rate", now=T0, window=TODAY)
    assert (cr.numerator, cr.n) == (0, 3)
    assert (engine.value("closure_rate", now=T0).numerator, cr.span) == (
        2, Span(MIDNIGHT, MIDNIGHT + D),
    )  # fmt: skip
    assert engine.case_ids(engine.value("cases_today", now=T0)) == ["A", "G", "B"]
    assert engine.tally.stats() == {"cases": 7, "days": 5, "open": 4}
    engine.close()


def test_local_days_of_a_zone_with_a_23_hour_day() -> None:
    from datetime import date

    cal = DayCalendar("Europe/Berlin")
    d31 = (date(2024, 3, 31) - date(1970, 1, 1)).days  # the clocks go forward that night
    assert cal.midnight(d31) == 1_711_839_600.0  # 2024-03-30 23:00 UTC
    assert cal.midnight(d31 + 1) == 1_711_922_400.0  # 23 hours later
    got = cal.days(np.array([1_711_839_599.0, 1_711_839_600.0, 1_711_922_399.0, 1_711_922_400.0]))
    assert got.tolist() == [d31 - 1, d31, d31, d31 + 1] and got.dtype == np.int64
    # asked for earlier and later days afterwards: the midnights kept grow both ways
    assert cal.day(1_700_000_000.0) == (date(2023, 11, 14) - date(1970, 1, 1)).days
    assert cal.day(1_735_689_600.0) == (date(2025, 1, 1) - date(1970, 1, 1)).days
    assert cal.day(1_711_922_399.0) == d31
    assert cal.days(np.array([])).tolist() == [] and cal.days(np.array([])).dtype == np.int64
    # absurd times are clipped to 1970 .. 2100 (00:00 UTC is 01:00 in Berlin then)
    far = cal.days(np.array([-5e9, np.nan, np.inf, 9e12]))
    assert far.tolist() == [0, 0, 47_482, 47_482]  # 2100-01-01 is day 47482
    assert DayCalendar(None).zone.key == "Asia/Shanghai"
    from zoneinfo import ZoneInfo

    assert DayCalendar(ZoneInfo("UTC")).day(86_400.0 * 3 - 1) == 2


def test_spans_of_whole_days_and_the_span_before() -> None:
    cal = DayCalendar(ZONE)
    d = cal.day(MIDNIGHT)
    assert d == 19_783  # 2024-03-01
    assert cal.whole_days(Span(MIDNIGHT - 6 * D, MIDNIGHT + D)) == (d - 6, d + 1)
    assert cal.whole_days(Span(-np.inf, np.inf)) is None
    assert cal.whole_days(Span(MIDNIGHT, MIDNIGHT + H)) is False
    assert cal.whole_days(Span(MIDNIGHT + H, MIDNIGHT + D)) is False
    assert cal.whole_days(Span(-np.inf, MIDNIGHT)) is False
    assert Span(10.0, 20.0).contains(np.array([9.9, 10.0, 19.9, 20.0])).tolist() == [
        False, True, True, False,
    ]  # fmt: skip
    span, before = LAST_7_DAYS.resolve(T0, cal)
    assert (span, before) == (Span(MIDNIGHT - 6 * D, MIDNIGHT + D),
                              Span(MIDNIGHT - 13 * D, MIDNIGHT - 6 * D))  # fmt: skip
    assert ALL_TIME.resolve(T0, cal) == (Span(-np.inf, np.inf), None)
    assert TODAY.resolve(MIDNIGHT, cal)[0] == Span(MIDNIGHT, MIDNIGHT + D)  # 00:00 is today
    assert TODAY.resolve(MIDNIGHT - 1, cal)[0] == Span(MIDNIGHT - D, MIDNIGHT)
    assert [Window.last_days(30).label, Window.custom(1, 2).label] == ["30d", "custom"]
    assert Window.custom(1, 2) == Window("custom", start=1.0, end=2.0)
    assert Window.last_days(1) == Window.today() == Window("days", 1)
    assert Window("days", 1).days == 1 and Window.all_time().kind == "all"


def test_per_case_flags_judge_on_time_at_the_deadline_itself() -> None:
    from commandcenter.metrics.definitions import STATE_INDEX, case_flags
    from commandcenter.sla import SlaPolicy

    c = 1_700_000_000.0
    week, day = 7 * D, D
    rows = [  # state, urgency (0 urgent, 1 normal), completed, rating, due, extension
        ("completed", 1, c + week, 4, 0.0, 0.0),  # at the deadline: on time
        ("completed", 1, c + week + 1, 5, 0.0, 0.0),  # a second late
        ("closed", 1, c + 7200, 3, c + 3600, 0.0),  # its own deadline (1 h) beats 7 days
        ("evaluated", 1, c + week + 1800, 1, 0.0, 3600.0),  # an extension of an hour
        ("closed", 0, c + day, 0, 0.0, 0.0),  # urgent: 24 h, just in time
        ("called_back", 0, c + day + 1, 6, 0.0, 0.0),  # urgent, late; 6 is no rating
        ("closed", 1, 0.0, 2, 0.0, 0.0),  # never recorded as completed: not timed
        ("handling", 1, c + 60, 5, 0.0, 0.0),  # open: no completion counts
    ]
    state = np.array([STATE_INDEX[r[0]] for r in rows], dtype=np.int8)
    urgency = np.array([r[1] for r in rows], dtype=np.int8)
    completed = np.array([r[2] for r in rows])
    rating = np.array([r[3] for r in rows], dtype=np.int8)
    due = np.array([r[4] for r in rows])
    ext = np.array([r[5] for r in rows])
    n = len(rows)
    created = np.full(n, c)
    cat = np.zeros(n, dtype=np.int64)
    policy = SlaPolicy()
    f = case_flags(policy, state, urgency, cat, ["占道经营"], created, completed, ext, rating, due)
    assert f.closed.tolist() == [False, False, True, True, True, True, True, False]
    assert f.timed.tolist() == [True, True, True, True, True, True, False, False]
    assert f.on_time.tolist() == [True, False, False, True, True, False, False, False]
    assert f.rated.tolist() == [True, True, True, True, False, False, True, True]
    assert f.satisfied.tolist() == [True, True, False, False, False, False, False, True]
    assert f.open.tolist() == [False] * 7 + [True]
    assert f.ht[:6].tolist() == [week, week + 1, 7200.0, week + 1800, day, day + 1]
    assert np.isnan(f.ht[6:]).all()
    # a due column of another length is no due column: the policy's deadlines
    g = case_flags(policy, state, urgency, cat, ["占道经营"], created, completed, ext, rating,
                   due[:3])  # fmt: skip
    assert g.on_time.tolist() == [True, False, True, True, True, False, False, False]
    # per-category limits are the policy's own: 燃气泄漏 handled within one hour
    gas = SlaPolicy.from_dict({"categories": {"燃气泄漏": {"normal": {"handle": 3600}}}})
    got = gas.handle_deadlines(np.array([1, 1, 0], dtype=np.int8), np.array([0, 1, 1]),
                               ["占道经营", "燃气泄漏"], np.full(3, c), np.array([0.0, 60.0, 0.0]))  # fmt: skip
    assert got.tolist() == [c + week, c + 3600 + 60, c + day]


def test_running_counts_take_each_case_once_at_its_newest_version() -> None:
    from commandcenter.metrics.incremental import _NO_DAY

    cal = DayCalendar(ZONE)
    tally = Tally(SlaPolicy(), cal)
    cols = columns_from_cases(_hand_cases())
    with pytest.raises(ValueError, match="without versions"):
        tally.update(cols)
    cols.version = np.ones(7, dtype=np.int64)
    assert tally.update(columns_from_cases([])) == 0
    before = tally.mutations
    assert tally.update(cols) == 7 and len(tally) == 7 and tally.mutations == before + 1
    assert tally.update(cols) == 0 and tally.mutations == before + 1  # all stale
    cr, today = CATALOGUE["closure_rate"], CATALOGUE["cases_today"]
    assert tally.counts(cr, T0, LAST_7_DAYS) == (2, 7)
    assert tally.counts(CATALOGUE["on_time_rate"], T0, LAST_7_DAYS) == (2, 4)
    assert tally.counts(CATALOGUE["closed_today"], T0, TODAY) == (1, 1)
    assert tally.counts(CATALOGUE["closed_today"], T0, ALL_TIME) == (2, 2)
    assert tally.counts(CATALOGUE["overdue_now"], T0, None) == (1, 1)
    assert tally.counts(CATALOGUE["sla_yellow"], T0, None) == (2, 2)
    assert tally.counts(CATALOGUE["open_urgent"], T0, None) == (2, 2)
    assert tally.counts(today, T0, Window.custom(T0 - H, T0)) is None  # part days
    with pytest.raises(ValueError, match="'received' needs a window of whole days"):
        tally.counts(today, T0, None)
    # A is signed and closed at version 2; B's version 2 is in the same batch as an older
    # version 0 of it, listed after it: the newest wins whatever the order
    a2 = _hand_case("A", "closed", "normal", T0 - H, "T1", T0 - 600, T0 - 300, 4, version=2)
    b2 = _hand_case("B", "signed", "urgent", T0 - 600, "T1", version=2)
    b0 = _hand_case("B", "closed", "urgent", T0 - 600, "T1", T0, T0, 5, version=0)
    more = columns_from_cases([a2, b2, b0])
    more.version = np.array([2, 2, 0], dtype=np.int64)
    assert tally.update(more) == 2 and len(tally) == 7
    assert tally.counts(cr, T0, LAST_7_DAYS) == (3, 7)
    assert tally.counts(CATALOGUE["closed_today"], T0, TODAY) == (2, 2)
    assert tally.counts(CATALOGUE["open_cases"], T0, None) == (3, 3)
    assert tally.counts(CATALOGUE["satisfaction"], T0, LAST_7_DAYS) == (2, 3)
    assert tally.stats() == {"cases": 7, "days": 5, "open": 3}
    # closed without a closing time: counted in all time only
    undated = _hand_case("U", "closed", "normal", T0 - H, "T1", T0 - 600, 0.0, 0)
    ucols = columns_from_cases([undated])
    ucols.version = np.ones(1, dtype=np.int64)
    tally.update(ucols)
    assert tally.counts(CATALOGUE["closed_today"], T0, TODAY) == (2, 2)
    assert tally.counts(CATALOGUE["closed_today"], T0, ALL_TIME) == (4, 4)
    assert _NO_DAY not in {d for d, k in tally._closed_on.items() if k}
    # far more cases than the first capacity (1024): every one counted
    many = [_hand_case(f"M{i}", "reported", "normal", T0 - 60 - i, "T3") for i in range(1500)]
    mcols = columns_from_cases(many)
    mcols.version = np.ones(1500, dtype=np.int64)
    assert tally.update(mcols) == 1500 and len(tally) == 1508
    assert tally.counts(today, T0, TODAY) == (1504, 1504)
    assert tally.stats() == {"cases": 1508, "days": 5, "open": 1503}


def test_a_tally_by_store_rows_and_loaded_afresh() -> None:
    cal = DayCalendar(ZONE)
    cols = columns_from_cases(_hand_cases())
    cols.version = np.ones(7, dtype=np.int64)
    tally = Tally(SlaPolicy(), cal)
    assert tally.load(cols, by_row=True) == 7
    assert tally.counts(CATALOGUE["closure_rate"], T0, LAST_7_DAYS) == (2, 7)
    # row 0 (A) at version 2, closed today; row 1 (B) stale at version 1
    a2 = columns_from_cases([_hand_case("A", "closed", "normal", T0 - H, "T1", T0 - 60,
                                        T0 - 30, 5), _hand_cases()[1]])  # fmt: skip
    a2.version = np.array([2, 1], dtype=np.int64)
    assert tally.update(a2, np.array([0, 1])) == 1
    assert tally.counts(CATALOGUE["closed_today"], T0, TODAY) == (2, 2)
    assert tally.counts(CATALOGUE["open_cases"], T0, None) == (3, 3)
    # a row far beyond those held
    late = columns_from_cases([_hand_case("Z", "reported", "urgent", T0 - 60, "T1")])
    late.version = np.ones(1, dtype=np.int64)
    assert tally.update(late, np.array([3000])) == 1
    assert tally.counts(CATALOGUE["open_urgent"], T0, None) == (3, 3)
    assert len(tally) == 8 and tally.stats()["cases"] == 3001
    assert tally.load(cols) == 7 and len(tally) == 7  # start over, keyed by id
    assert tally.counts(CATALOGUE["open_cases"], T0, None) == (4, 4)


def test_the_engine_follows_the_store_change_by_change() -> None:
    store = Store()
    store.reset(SimpleNamespace(epoch="h", seq=1, now=T0, rate=1.0, cases=_hand_cases(),
                                units=[], positions=[], cameras=[], grids=[], kpis=[],
                                alerts=[]))  # fmt: skip
    engine = MetricEngine(store, ZONE)
    fig = engine.figures(T0)
    assert isinstance(fig, LiveFigures) and engine.figures(T0) is fig  # one per instant
    tally = engine.tally
    signed = _hand_case("B", "assigned", "urgent", T0 - 600, "T1", on_site=T0 - 60, version=2)
    new = _hand_case("N", "reported", "urgent", T0 - 30, "T2")
    store.apply([SimpleNamespace(seq=2, kind="case.updated", data=signed, ts=T0),
                 SimpleNamespace(seq=3, kind="case.created", data=new, ts=T0)])  # fmt: skip
    assert engine.tally is tally  # followed, not reloaded
    fig2 = engine.figures(T0)
    assert fig2 is not fig
    assert fig2.value("overdue_now").value == 0.0  # B on site: 24 h to handle
    assert fig2.value("open_urgent").value == 3.0  # B, G, N
    assert fig2.value("cases_today").value == 4.0
    assert engine.case_ids(fig2.value("open_urgent")) == ["G", "B", "N"]
    assert fig2.value("open_cases", within=fig2.mask("red")).value == 0.0
    assert fig2.value("cases_today", Window.custom(T0 - 700, T0)).value == 2.0  # B, N
    engine.close()
    engine.close()  # idempotent
    store.apply([SimpleNamespace(seq=4, kind="case.created", ts=T0,
                                 data=_hand_case("Q", "reported", "normal", T0, "T2"))])  # fmt: skip
    assert engine.tally.mutations == tally.mutations and len(engine.tally) == 8


def test_platform_figures_differ_only_beyond_one_case() -> None:
    from commandcenter.metrics.engine import MetricValue

    rate, count = CATALOGUE["closure_rate"], CATALOGUE["open_cases"]

    def mv(m, value, n):
        return MetricValue(m, value, 0, n, T0, None)

    ten = mv(rate, 80.0, 10)  # one case moves the rate by 10 points
    assert [platform_difference(ten, p) for p in (89.0, 90.0, 91.0, 70.0, 69.0, "91")] == [
        None, None, 11.0, None, -11.0, 11.0,
    ]  # fmt: skip
    assert platform_difference(ten, 90.05) == pytest.approx(10.05)  # just over 100 / 10
    for nothing in (None, "n/a", float("nan"), float("inf"), [1]):
        assert platform_difference(ten, nothing) is None
    assert platform_difference(mv(rate, None, 10), 50.0) is None
    assert platform_difference(mv(rate, 50.0, 1), 99.0) is None  # one case: 100 points
    assert platform_difference(mv(rate, 80.0, 1000), 80.5) == pytest.approx(0.5)
    # never finer than the tenth a tile prints: 0.05 points, whatever n
    big = mv(rate, 80.0, 100_000)
    assert platform_difference(big, 80.04) is None
    assert platform_difference(big, 80.08) == pytest.approx(0.08)
    assert platform_difference(mv(rate, 50.0, 0), 50.1) == pytest.approx(0.1)
    five = mv(count, 5.0, 5)  # a count: one case either way
    assert [platform_difference(five, p) for p in (6.0, 4.0, 6.5, 7.0, 3.0)] == [
        None, None, 1.5, 2.0, -2.0,
    ]  # fmt: skip


def test_figures_over_columns_take_the_zone_calendar_and_policy_given() -> None:
    cols = columns_from_cases(_hand_cases())
    # 10:00 in Shanghai is 02:00 UTC: a UTC day began at 08:00 Shanghai time, so A (09:00),
    # G and B are of that day as well; D and F closed before it
    utc = figures_of(cols, T0, zone="UTC")
    assert utc.value("cases_today").value == 3.0
    late = T0 + 14 * H  # 2024-03-02 00:00 in Shanghai, 16:00 UTC of March 1
    assert figures_of(cols, late, zone="UTC").value("cases_today").value == 3.0
    assert figures_of(cols, late, zone=ZONE).value("cases_today").value == 0.0
    cal = DayCalendar("UTC")
    assert figures_of(cols, late, zone=ZONE, calendar=cal).value("cases_today").value == 3.0
    strict = SlaPolicy(yellow_at=0.01, red_at=0.02)  # A's 1 h of 24 is red now
    fig = figures_of(cols, T0, policy=strict, zone=ZONE)
    assert fig.value("sla_red").value == 4.0 and fig.value("sla_blue").value == 0.0
    assert fig.policy is strict and fig.now == T0 and fig.calendar.zone.key == ZONE


def test_every_value_carries_its_instant_window_and_rows() -> None:
    units = {"u1": "available"}
    cams = {"c1": SimpleNamespace(online=True)}  # one camera is enough for a rate (min 1)
    fig = _hand_figures(units=units, cameras=cams)
    today = Span(MIDNIGHT, MIDNIGHT + D)
    for name, span in (("cases_today", today), ("open_cases", None),
                       ("closure_rate", Span(MIDNIGHT - 6 * D, MIDNIGHT + D)),
                       ("units_on_duty", None), ("camera_online_rate", None)):  # fmt: skip
        v = fig.value(name)
        assert (v.as_of, v.span, v.name) == (T0, span, name), name
    cam = fig.value("camera_online_rate")
    assert (cam.value, cam.numerator, cam.n, cam.reason) == (100.0, 1, 1, "not_case_based")
    assert fig.value("units_on_duty").reason == "not_case_based"
    assert fig.value("cases_today").reason == ""
    assert fig.value("cases_today").rows.tolist() == [0, 1, 6]  # A, B, G
    assert fig.value("closure_rate").rows.tolist() == [0, 1, 2, 3, 4, 5, 6]  # its n
    assert fig.value("closure_rate", TODAY).rows.tolist() == [0, 1, 6]
    # a rate on exactly its minimum sample is shown: ten filed this week, four closed
    cases = [_hand_case(f"R{i}", "closed" if i < 4 else "reported", "normal", T0 - H - i, "T1",
                        T0 - 60, T0 - 60) for i in range(10)]  # fmt: skip
    ten = figures_of(columns_from_cases(cases), T0, zone=ZONE).value("closure_rate")
    assert (ten.value, ten.numerator, ten.n, ten.reason) == (40.0, 4, 10, "")
    nine = figures_of(columns_from_cases(cases[1:]), T0, zone=ZONE).value("closure_rate")
    assert (nine.value, nine.numerator, nine.n, nine.reason) == (None, 3, 9, "below_min_sample")


def test_cases_filed_at_one_instant_are_selected_in_row_order() -> None:
    # twenty cases at two instants, alternating: a click lists each instant's cases in
    # the order the store holds them (a sort that is not stable would shuffle them)
    cases = [_hand_case(f"S{i:02d}", "reported", "normal", T0 - (60 if i % 2 else 120), "T1")
             for i in range(20)]  # fmt: skip
    want = [f"S{i:02d}" for i in range(0, 20, 2)] + [f"S{i:02d}" for i in range(1, 20, 2)]
    fig = figures_of(columns_from_cases(cases), T0, zone=ZONE)
    assert fig.case_ids(fig.value("open_cases")) == want
    store = Store()
    store.reset(SimpleNamespace(epoch="s", seq=1, now=T0, rate=1.0, cases=cases, units=[],
                                positions=[], cameras=[], grids=[], kpis=[], alerts=[]))  # fmt: skip
    engine = MetricEngine(store, ZONE)
    assert engine.case_ids(engine.value("open_cases", now=T0)) == want
    assert engine.case_ids(engine.value("overdue_now", now=T0)) == []
    engine.close()


def _hand_store(cases) -> Store:
    store = Store()
    store.reset(SimpleNamespace(epoch="h", seq=1, now=T0, rate=1.0, cases=cases, units=[],
                                positions=[], cameras=[], grids=[], kpis=[], alerts=[]))  # fmt: skip
    return store


def test_running_counts_give_the_hand_counts_of_every_metric() -> None:
    # two more: one whose sign limit ends exactly now (not overdue yet: no time left is
    # not less than none) and one with half a second left
    cases = [
        *_hand_cases(),
        _hand_case("X", "reported", "urgent", T0 - 300, "T2"),
        _hand_case("Y", "reported", "urgent", T0 - 299.5, "T2"),
    ]
    engine = MetricEngine(_hand_store(cases), ZONE)
    live = engine.figures(T0)
    assert isinstance(live, LiveFigures)
    got = {n: (v.value, v.numerator, v.n, v.reason) for n, v in live.values().items()}
    assert got == {
        "open_cases": (6.0, 6, 6, ""),
        "open_urgent": (4.0, 4, 4, ""),
        "overdue_now": (1.0, 1, 1, ""),  # B only
        "sla_red": (3.0, 3, 3, ""),  # B, X (all used) and Y (99.8%)
        "sla_yellow": (2.0, 2, 2, ""),
        "sla_blue": (1.0, 1, 1, ""),
        "cases_today": (5.0, 5, 5, ""),
        "closed_today": (1.0, 1, 1, ""),
        "closure_rate": (None, 2, 9, "below_min_sample"),
        "on_time_rate": (None, 2, 4, "below_min_sample"),
        "satisfaction": (None, 1, 2, "below_min_sample"),
        "units_on_duty": (0.0, 0, 0, "not_case_based"),
        "camera_online_rate": (None, 0, 0, "not_case_based"),
    }
    week = Span(MIDNIGHT - 6 * D, MIDNIGHT + D)
    for name, span in (("cases_today", Span(MIDNIGHT, MIDNIGHT + D)), ("open_cases", None),
                       ("closure_rate", week)):  # fmt: skip
        v = live.value(name)
        assert (v.as_of, v.span, v.name) == (T0, span, name)
    # the rows behind a running count, found when asked, for the window asked
    assert live.value("cases_today").rows.tolist() == [0, 1, 6, 7, 8]
    assert live.value("closure_rate", TODAY).rows.tolist() == [0, 1, 6, 7, 8]
    assert live.value("overdue_now").rows.tolist() == [1]
    assert live.value("closed_today", ALL_TIME).rows.tolist() == [3, 5]
    # one township's cases, and a custom span, come from the columns
    t2 = np.array(live.cols.codes["township"]) == live.cols.values["township"].index("T2")
    assert live.value("open_urgent", within=t2).value == 2.0  # X, Y
    part = live.value("cases_today", Window.custom(T0 - 400, T0))
    assert (part.value, part.span) == (2.0, Span(T0 - 400, T0))  # X, Y
    assert live.value("units_on_duty").reason == "not_case_based"
    # a rate of the running counts at its minimum sample and over it
    ten = [_hand_case(f"R{i}", "closed" if i < 4 else "reported", "normal", T0 - H - i, "T1",
                      T0 - 60, T0 - 60, 5) for i in range(10)]  # fmt: skip
    e10 = MetricEngine(_hand_store(ten), ZONE)
    rate = e10.value("closure_rate", now=T0)
    assert (rate.value, rate.numerator, rate.n, rate.reason) == (40.0, 4, 10, "")
    assert (rate.as_of, rate.span) == (T0, week) and rate.rows.tolist() == list(range(10))
    nine = MetricEngine(_hand_store(ten[1:]), ZONE).value("closure_rate", now=T0)
    assert (nine.value, nine.reason) == (None, "below_min_sample")
    gone = e10.value("closure_rate", now=T0 + 30 * D)  # a month on: nothing filed
    assert (gone.value, gone.numerator, gone.n, gone.reason) == (None, 0, 0, "no_cases")
    for e in (engine, e10):
        e.close()


def test_no_time_left_is_not_overdue_in_the_columns_either() -> None:
    cases = [_hand_case("X", "reported", "urgent", T0 - 300, "T1"),
             _hand_case("Y", "reported", "urgent", T0 - 299.5, "T1"),
             _hand_case("Z", "reported", "urgent", T0 - 300.5, "T1")]  # fmt: skip
    fig = figures_of(columns_from_cases(cases), T0, zone=ZONE)
    assert fig.case_ids(fig.value("overdue_now")) == ["Z"]
    assert fig.value("on_time_rate").n == 1  # due: Z, overdue; nothing completed
    assert fig.value("sla_red").value == 3.0


def test_edges_of_the_running_counts() -> None:
    first_day = MIDNIGHT - 6 * D  # 2024-02-24 00:00, the first day of the last 7
    cases = [
        # filed in the first hour of the window's first day, never signed: overdue
        _hand_case("W", "reported", "normal", first_day + 600, "T1"),
        # filed the second before the window: overdue as well, but not this week's
        _hand_case("V", "reported", "normal", first_day - 1, "T1"),
        # completed (not closed) with a closing time left from an earlier closing
        _hand_case("K", "completed", "normal", T0 - H, "T1", T0 - 600, T0 - 300),
    ]
    cols = columns_from_cases(cases)
    cols.version = np.ones(3, dtype=np.int64)
    tally = Tally(SlaPolicy(), DayCalendar(ZONE))
    assert tally.update(cols) == 3
    fig = figures_of(columns_from_cases(cases), T0, zone=ZONE)
    for name, window, want in (
        ("on_time_rate", LAST_7_DAYS, (1, 2)),  # K on time; due: K and W
        ("overdue_now", None, (2, 2)),  # W and V
        ("closed_today", TODAY, (0, 0)),  # K is not in a closed state
        ("closed_today", ALL_TIME, (0, 0)),
    ):
        got = tally.counts(CATALOGUE[name], T0, window)
        v = fig.value(name, window)
        assert got == (v.numerator, v.n) == want, name
    # one new case twice in a batch (versions 1 and 2): one row, the newer version
    n1 = _hand_case("N", "reported", "urgent", T0 - 60, "T1", version=1)
    n2 = _hand_case("N", "closed", "urgent", T0 - 60, "T1", T0 - 30, T0 - 10, 5, version=2)
    both = columns_from_cases([n2, n1])
    both.version = np.array([2, 1], dtype=np.int64)
    assert tally.update(both) == 1 and len(tally) == 4
    assert tally.counts(CATALOGUE["closed_today"], T0, TODAY) == (1, 1)
    assert tally.counts(CATALOGUE["open_urgent"], T0, None) == (0, 0)


def test_windows_and_rows_pass_through_every_path() -> None:
    fig = _hand_figures(units={"u1": "available", "u2": SimpleNamespace(name="no status")})
    assert fig.value("units_on_duty").value == 1.0  # a unit without a status is not on duty
    week = fig.by("township", "closure_rate")
    today = fig.by("township", "closure_rate", TODAY)  # filed today: A, B, G of T1
    assert {k: (v.numerator, v.n) for k, v in week.items()} == {"T1": (0, 4), "T2": (1, 2)}
    assert {k: (v.numerator, v.n) for k, v in today.items()} == {"T1": (0, 3), "T2": (0, 0)}
    engine = MetricEngine(_hand_store(_hand_cases()), ZONE)
    live = engine.figures(T0)
    t1 = np.array(live.cols.codes["township"]) == live.cols.values["township"].index("T1")
    part = live.value("closure_rate", TODAY, within=t1)
    assert (part.numerator, part.n, part.span) == (0, 3, Span(MIDNIGHT, MIDNIGHT + D))
    assert live.value(CATALOGUE["open_cases"]).value == 4.0  # a Metric, not its name
    # a new snapshot replaces every case the running counts held
    store = engine.store
    store.reset(SimpleNamespace(epoch="h2", seq=9, now=T0, rate=1.0,
                                cases=[_hand_case("A", "reported", "urgent", T0 - 60, "T1")],
                                units=[], positions=[], cameras=[], grids=[], kpis=[],
                                alerts=[]))  # fmt: skip
    assert engine.value("open_cases", now=T0).value == 1.0
    assert engine.value("cases_today", now=T0).value == 1.0
    assert engine.value("open_urgent", now=T0).value == 1.0
    engine.close()


def test_an_engine_keeps_its_zone_its_clock_and_changes_before_its_first_read() -> None:
    snap = SimpleNamespace(epoch="z", seq=1, now=T0, rate=0.0, cases=_hand_cases(), units=[],
                           positions=[], cameras=[], grids=[], kpis=[], alerts=[])  # fmt: skip
    store = Store()
    store.reset(snap)  # rate 0: the store's clock stands at T0
    utc = MetricEngine(store, "UTC")
    late = T0 + 14 * H  # midnight in Shanghai, still March 1 in UTC: A, B, G filed today
    assert utc.value("cases_today", now=late).value == 3.0
    assert MetricEngine(store, ZONE).value("cases_today", now=late).value == 0.0
    assert utc.figures().now == T0  # no instant given: the store's clock
    assert utc.value("open_cases").value == 4.0
    # a change that comes before anything was read is taken at the first read
    fresh = MetricEngine(store, ZONE)
    store.apply([SimpleNamespace(seq=2, kind="case.created", ts=T0,
                                 data=_hand_case("N", "reported", "urgent", T0 - 30, "T2"))])  # fmt: skip
    assert fresh.value("open_urgent", now=T0).value == 3.0  # B, G, N
    utc.close()
    fresh.close()


def test_running_counts_judge_open_cases_by_every_rule_of_the_policy() -> None:
    gas = SlaPolicy.from_dict({"categories": {"燃气泄漏": {"normal": {"handle": 3600}}}})
    cases = [
        # on site within its 20 minutes: now racing 24 h of handling, not overdue
        _hand_case("S", "assigned", "urgent", T0 - 1800, "T1", on_site=T0 - 1500),
        # 7.5 days handled, with one day granted: half a day left
        _hand_case("L", "handling", "normal", T0 - 7.5 * D, "T1", extension=D),
        # its own deadline passed an hour ago, though the policy gives it 7 days
        _hand_case("O", "handling", "normal", T0 - D, "T1", due=T0 - H),
        # a gas leak handled for two hours of its one
        _hand_case("G", "handling", "normal", T0 - 2 * H, "T1"),
    ]
    cases[3].category = "燃气泄漏"
    # S again at version 2, no longer on site; one interner for every batch, as a store's
    late = _hand_case("S", "assigned", "urgent", T0 - 1800, "T1", version=2)
    every = columns_from_cases([*cases, late])
    every.version = np.array([1, 1, 1, 1, 2], dtype=np.int64)
    tally = Tally(gas, DayCalendar(ZONE))
    tally.load(every.take(np.array([1, 2, 3, 0])))  # S held last
    fig = figures_of(columns_from_cases(cases), T0, policy=gas, zone=ZONE)
    overdue = CATALOGUE["overdue_now"]
    assert tally.counts(overdue, T0, None) == (2, 2)  # O and G
    assert fig.case_ids(fig.value("overdue_now")) == ["O", "G"]
    # asked at other instants, in any order: each instant's own answer
    assert tally.counts(overdue, T0 - 2 * H, None) == (0, 0)  # O's deadline not yet
    assert tally.counts(overdue, T0 - 1.5 * H, None) == (0, 0)  # G: half an hour left
    assert tally.counts(overdue, T0, None) == (2, 2)
    assert tally.counts(overdue, T0 + 0.5 * D + 1, None) == (3, 3)  # L's day ran out
    # a change at the same instant is counted at once; the load was keyed by id
    assert tally.counts(overdue, T0, None) == (2, 2)
    assert tally.update(every.take(np.array([4]))) == 1 and len(tally) == 4
    assert tally.counts(overdue, T0, None) == (3, 3)  # S: 30 of its 20 minutes to arrive
    assert tally.counts(overdue, T0 + 0.5 * D + 1, None) == (4, 4)  # L is still held


def test_counts_print_as_whole_numbers_and_unknown_names_are_named() -> None:
    ten = [_hand_case(f"R{i}", "closed" if i < 4 else "reported", "normal", T0 - H - i, "T1",
                      T0 - 60, T0 - 60, 5) for i in range(10)]  # fmt: skip
    engine = MetricEngine(_hand_store(ten), ZONE)
    rate = engine.value("closure_rate", now=T0)  # from the running counts
    assert explain(rate, True).split("\n")[3] == "n = 10（分母），其中 4 件满足条件"
    assert explain(rate, False).split("\n")[3] == (
        "n = 10 (the denominator), 4 of them meet the condition"
    )
    engine.close()
    from commandcenter.metrics.catalogue import metric

    with pytest.raises(KeyError, match=r"unknown metric 'nope'; known: open_cases, open_urgent, "):
        metric("nope")


def test_a_case_filed_after_the_window_is_not_in_it() -> None:
    # a clock ahead of the hall's: filed a minute after tonight's midnight
    ahead = [_hand_case("F1", "reported", "normal", MIDNIGHT + D + 60, "T1")]
    cols = columns_from_cases(ahead)
    cols.version = np.ones(1, dtype=np.int64)
    tally = Tally(SlaPolicy(), DayCalendar(ZONE))
    tally.update(cols)
    fig = figures_of(columns_from_cases(ahead), T0, zone=ZONE)
    for name, window in (("cases_today", TODAY), ("closure_rate", LAST_7_DAYS)):
        v = fig.value(name, window)
        assert tally.counts(CATALOGUE[name], T0, window) == (v.numerator, v.n) == (0, 0)
    assert tally.counts(CATALOGUE["cases_today"], T0, ALL_TIME) == (1, 1)


def test_running_counts_refuse_category_codes_of_another_value_list() -> None:
    """Codes index their own value list: columns coded by a second list would make the
    held cases read other names (and other per-category time limits), so they are refused;
    a list that only grew (a store's append-only interner) is taken."""
    tally = Tally(SlaPolicy(), DayCalendar(ZONE))
    first = columns_from_cases([_hand_case("A", "reported", "normal", T0 - H, "T1")])
    first.version = np.ones(1, dtype=np.int64)
    assert tally.update(first) == 1
    grown = columns_from_cases([_hand_case("B", "reported", "normal", T0 - H, "T1")])
    grown.values["category"] = [*first.values["category"], "燃气泄漏"]
    grown.version = np.ones(1, dtype=np.int64)
    assert tally.update(grown) == 1
    other = columns_from_cases([_hand_case("C", "reported", "normal", T0 - H, "T1")])
    other.values["category"] = ["燃气泄漏", *first.values["category"]]
    other.version = np.ones(1, dtype=np.int64)
    with pytest.raises(ValueError, match="another value list"):
        tally.update(other)
