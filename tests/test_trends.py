"""Trend series with known answers: local buckets, last week's partial bucket, closures,
overdue rebuilt from timestamps (and equal to the store's live count on the demo county)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from commandcenter import trends as T
from commandcenter.sla import DAY, HOUR, MINUTE

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=TZ).timestamp()


def frame(rows: list[dict]) -> pd.DataFrame:
    base = {
        "id": "",
        "state": "handling",
        "urgency": "normal",
        "source": "hotline",
        "category": "噪音",
        "created_ts": 0.0,
        "assigned_ts": 0.0,
        "on_site_ts": 0.0,
        "completed_ts": 0.0,
        "closed_ts": 0.0,
        "extension_s": 0.0,
    }
    return pd.DataFrame([{**base, **r} for r in rows])


def test_hour_and_day_edges_are_local() -> None:
    e = T.bucket_edges(NOW, "hour", 3, TZ)
    assert [datetime.fromtimestamp(x, TZ).hour for x in e] == [8, 9, 10, 11]
    d = T.bucket_edges(NOW, "day", 2, TZ)
    assert [datetime.fromtimestamp(x, TZ).strftime("%m-%d %H") for x in d] == [
        "11-22 00",
        "11-23 00",
        "11-24 00",
    ]
    with pytest.raises(ValueError):
        T.bucket_edges(NOW, "week", 2)


def test_arrivals_by_category_and_last_week_cut_at_the_same_minute() -> None:
    rows = [
        {"id": "a", "created_ts": NOW - 10 * MINUTE, "category": "噪音"},  # 10:20
        {"id": "b", "created_ts": NOW - 20 * MINUTE, "category": "噪音"},  # 10:10
        {"id": "c", "created_ts": NOW - 70 * MINUTE, "category": "路灯"},  # 09:20
        {"id": "d", "created_ts": NOW - 7 * DAY - 10 * MINUTE},  # last week 10:20: counted
        {"id": "e", "created_ts": NOW - 7 * DAY + 10 * MINUTE},  # last week 10:40: not yet
        {"id": "f", "created_ts": NOW - 7 * DAY - 80 * MINUTE},  # last week 09:10
    ]
    t = T.arrivals(frame(rows), NOW, "hour", 3, by="category", zone=TZ)
    assert t.total.tolist() == [0, 1, 2]
    assert t.last_week_total.tolist() == [0, 1, 1]
    assert t.keys == ("噪音", "路灯")
    assert t.series["噪音"].tolist() == [0, 0, 2]
    # two cases last week: the data does not cover it, so no percentage
    assert not t.last_week_covered and np.isnan(t.change())
    t1 = T.arrivals(frame(rows), NOW, "hour", 3, by="category", top=1, zone=TZ)
    assert t1.keys == ("噪音", T.OTHER) and t1.series[T.OTHER].tolist() == [0, 1, 0]


def test_closures_count_closed_ts_only() -> None:
    rows = [
        {"id": "a", "created_ts": NOW - DAY, "closed_ts": NOW - 5 * MINUTE, "state": "closed"},
        {
            "id": "b",
            "created_ts": NOW - DAY,
            "completed_ts": NOW - 5 * MINUTE,
            "state": "completed",
        },
    ]
    t = T.closures(frame(rows), NOW, "day", 2, zone=TZ)
    assert t.total.tolist() == [0, 1]


def test_overdue_rebuilt_from_timestamps() -> None:
    rows = [
        # urgent, never assigned: overdue from 5 min after filing
        {"id": "u", "urgency": "urgent", "state": "reported", "created_ts": NOW - HOUR},
        # normal, assigned after 1 h, completed after 8 days: overdue from day 7 to day 8
        {
            "id": "n",
            "state": "closed",
            "created_ts": NOW - 10 * DAY,
            "assigned_ts": NOW - 10 * DAY + HOUR,
            "completed_ts": NOW - 2 * DAY,
            "closed_ts": NOW - 2 * DAY + HOUR,
        },
        # urgent, assigned in time, not on site for 30 min: overdue between 20 and 30 min
        {
            "id": "a",
            "urgency": "urgent",
            "state": "handling",
            "created_ts": NOW - 2 * HOUR,
            "assigned_ts": NOW - 2 * HOUR + MINUTE,
            "on_site_ts": NOW - 2 * HOUR + 30 * MINUTE,
        },
    ]
    f = frame(rows)
    times = [
        NOW - HOUR + 4 * MINUTE,  # u not yet
        NOW - HOUR + 6 * MINUTE,  # u overdue
        NOW - 2 * HOUR + 25 * MINUTE,  # a overdue (arrive), u not filed
        NOW - 2.5 * DAY,  # n overdue (handle limit 7 d passed at day 7)
        NOW - 1.5 * DAY,  # n completed
    ]
    assert T.overdue_at(f, times).tolist() == [0, 1, 1, 1, 0]
    o = T.overdue_trend(f, NOW, "hour", 3, zone=TZ)
    assert o.times[-1] == NOW and o.counts[-1] == 1


def test_overdue_now_equals_the_store_on_the_demo_county() -> None:
    from tests.demo_county import demo_store

    store = demo_store()
    now = store.clock.now()
    assert T.overdue_at(store.to_frame(), [now], store.policy)[0] == store.overdue_count(now)
    t = T.arrivals(store.to_frame(), now, "day", 30)
    assert int(t.total.sum()) == int(np.count_nonzero(store.to_frame()["created_ts"] >= t.edges[0]))


def _week_rows(n_last_week: int, earliest_h: float) -> list[dict]:
    """5 cases this period (hours 08-10), ``n_last_week`` in last week's 08:00-10:30, and
    one case ``earliest_h`` hours before last week's period began (09-16 08:00)."""
    start_lw = datetime(2026, 11, 16, 8, 0, tzinfo=TZ).timestamp()
    rows = [{"id": f"n{i}", "created_ts": NOW - (10 + 20 * i) * MINUTE} for i in range(5)]
    rows += [
        {"id": f"l{i}", "created_ts": start_lw + 60 + i * 9 * MINUTE} for i in range(n_last_week)
    ]
    rows.append({"id": "old", "created_ts": start_lw - earliest_h * HOUR})
    return rows


def test_last_week_compared_only_when_the_data_covers_it() -> None:
    assert T.MIN_LAST_WEEK_CASES == 10
    # 12 cases last week and data from before it: a real comparison, 5 vs 12
    t = T.arrivals(frame(_week_rows(12, 1.0)), NOW, "hour", 3, zone=TZ)
    assert t.last_week_covered and int(t.last_week_total.sum()) == 12
    assert t.change() == pytest.approx((5 - 12) / 12)
    # one case last week (the demo: 8 h of feed plus a backlog): not enough data
    t = T.arrivals(frame(_week_rows(1, 1.0)), NOW, "hour", 3, zone=TZ)
    assert not t.last_week_covered and np.isnan(t.change())
    # 12 cases but the store starts inside last week's period: not covered either
    rows = [r for r in _week_rows(12, 1.0) if r["id"] != "old"]
    assert not T.arrivals(frame(rows), NOW, "hour", 3, zone=TZ).last_week_covered
    # closures and overdue follow the filed cases' coverage
    assert T.closures(frame(_week_rows(12, 1.0)), NOW, "hour", 3, zone=TZ).last_week_covered
    assert not T.overdue_trend(frame(_week_rows(1, 1.0)), NOW, "hour", 3, zone=TZ).last_week_covered


def test_demo_county_has_no_last_week_to_compare_with() -> None:
    from tests.demo_county import demo_store

    store = demo_store()
    t = T.arrivals(store.to_frame(), store.clock.now(), "hour", 12)
    assert int(t.total.sum()) > 50 and not t.last_week_covered
