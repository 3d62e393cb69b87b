"""Trends (趋势): cases per hour or day, by category or source, against the same period
last week; closures; cases overdue over time. Qt-free, from ``Store.to_frame()``.

Why these definitions:

- **Buckets** are whole local hours or local calendar days in the hall's time zone
  (``hall_time``), the last one holding ``now`` (so it is partial: the panel says so).
  A leader reads "today 10:00-11:00", not "the 3,600 seconds before now".
- **Same period last week**: each bucket edge moved back seven days on the wall clock
  (so a daylight-saving change keeps 10:00 at 10:00). The current, partial bucket is
  compared with last week's bucket cut at the same instant (``now`` - 7 days): comparing
  half an hour with a whole hour would make every morning look quiet.
- **Last week is compared only when the data covers it** (``Trend.last_week_covered``):
  the store's earliest ``created_ts`` is at or before the start of last week's period
  AND last week's period holds at least ``MIN_LAST_WEEK_CASES`` filed cases. A store
  holding 8 hours of feed plus a backlog of older open cases has a handful of "last
  week" cases; "+18500%" against them is noise, so the panel says "not enough data"
  and draws no dashed line. The same flag governs closures and overdue (they are
  rebuilt from the same cases).
- **Arrivals** count ``created_ts``; **closures** count ``closed_ts`` (a case reaching
  结案); a case with no such time is not counted.
- **Overdue at t** is rebuilt from each case's timestamps with ``SlaPolicy``'s limits: the
  case was filed by ``t``, not completed by ``t``, and its milestone at ``t`` (sign and
  assign until ``assigned_ts``; arrive until ``on_site_ts`` where the class has an
  on-site limit; handle until ``completed_ts``, with the extension known now) was past
  its deadline. The feed records no history of its overdue count, so the timestamps are
  the only honest source; at ``now`` it equals ``Store.overdue_count()`` except for
  cases sent back (退回) after assignment, which the live count treats as unassigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from commandcenter import hall_time
from commandcenter.domain import OPEN_STATES, Urgency
from commandcenter.sla import SlaPolicy

HOUR_STEP: Final = "hour"
DAY_STEP: Final = "day"
STEPS: tuple[str, ...] = (HOUR_STEP, DAY_STEP)
OTHER: Final = "__other__"  # the key of the categories beyond ``top``
WEEK_DAYS: Final = 7
# Last week's period needs at least this many filed cases to be a comparison (see the
# module docstring): below it a percentage change says more about the store than the city.
MIN_LAST_WEEK_CASES: Final = 10


def _zone(zone: str | tzinfo | None) -> tzinfo:
    if zone is None:
        return ZoneInfo(hall_time.zone_name())
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def bucket_edges(now: float, step: str, n: int, zone: str | tzinfo | None = None) -> np.ndarray:
    """``n + 1`` edges of ``n`` whole local hours or days, the last bucket holding ``now``."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}; one of {STEPS}")
    if n < 1:
        raise ValueError("need at least one bucket")
    tz = _zone(zone)
    here = datetime.fromtimestamp(now, tz)
    if step == HOUR_STEP:
        start = here.replace(minute=0, second=0, microsecond=0)
        # hours are absolute: step in UTC so a DST change does not repeat or skip an hour
        end = start.timestamp() + 3600.0
        return end - 3600.0 * np.arange(n, -1, -1, dtype=np.float64)
    day = here.date()
    days = [day - timedelta(days=k) for k in range(n - 1, -2, -1)]
    return np.array(
        [datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() for d in days], dtype=np.float64
    )


def shift_days(ts: np.ndarray, days: int, zone: str | tzinfo | None = None) -> np.ndarray:
    """Each instant moved ``days`` calendar days on the local wall clock."""
    tz = _zone(zone)
    out = [(datetime.fromtimestamp(float(t), tz) + timedelta(days=days)).timestamp() for t in ts]
    return np.array(out, dtype=np.float64)


def counts_in(ts: np.ndarray, edges: np.ndarray, cut: float | None = None) -> np.ndarray:
    """How many of ``ts`` fall in each ``[edges[i], edges[i+1])``; instants at or after
    ``cut`` are left out (the partial bucket of last week). Zeros mean "no time"."""
    ts = ts[(ts > 0)]
    if cut is not None:
        ts = ts[ts < cut]
    idx = np.searchsorted(edges, ts, side="right") - 1
    ok = (idx >= 0) & (idx < len(edges) - 1)
    return np.bincount(idx[ok], minlength=len(edges) - 1).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Trend:
    """Counts per bucket: ``total`` and per key (category, source...), this period and the
    same period last week. ``keys`` lists the series, the largest first, OTHER last."""

    step: str
    edges: np.ndarray  # n + 1, this period
    last_week_edges: np.ndarray
    now: float
    total: np.ndarray
    last_week_total: np.ndarray
    keys: tuple[str, ...] = ()
    series: dict[str, np.ndarray] = field(default_factory=dict)
    last_week: dict[str, np.ndarray] = field(default_factory=dict)
    last_week_covered: bool = True  # the data covers last week's period (docstring)

    @property
    def starts(self) -> np.ndarray:
        return self.edges[:-1]

    def change(self) -> float:
        """Total this period minus the same period last week, as a share of the latter
        (nan when last week had none or the data does not cover it)."""
        last = float(self.last_week_total.sum())
        if not self.last_week_covered:
            return float("nan")
        return (float(self.total.sum()) - last) / last if last else float("nan")


def covers(created: np.ndarray, start: float, count: int) -> bool:
    """Whether data covers a period starting at ``start`` holding ``count`` filed cases:
    the earliest filing is at or before ``start`` and ``count >= MIN_LAST_WEEK_CASES``."""
    created = created[created > 0]
    if not len(created):
        return False
    return float(created.min()) <= start and count >= MIN_LAST_WEEK_CASES


def last_week_covered(
    frame: pd.DataFrame,
    now: float,
    step: str = HOUR_STEP,
    n: int = 24,
    zone: str | tzinfo | None = None,
) -> bool:
    """Whether the store's cases cover the same period last week (module docstring)."""
    created = _column(frame, "created_ts")
    lw_edges = shift_days(bucket_edges(now, step, n, zone), -WEEK_DAYS, zone)
    cut = float(shift_days(np.array([now]), -WEEK_DAYS, zone)[0])
    return covers(created, float(lw_edges[0]), int(counts_in(created, lw_edges, cut).sum()))


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns or not len(frame):
        return np.zeros(len(frame), dtype=np.float64)
    return frame[name].to_numpy(dtype=np.float64, na_value=0.0)


def _labels(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns or not len(frame):
        return np.array([""] * len(frame), dtype=object)
    return frame[name].astype("string").fillna("").to_numpy(dtype=object)


def series_of(
    ts: np.ndarray,
    now: float,
    step: str = HOUR_STEP,
    n: int = 24,
    keys: np.ndarray | None = None,
    top: int = 5,
    zone: str | tzinfo | None = None,
) -> Trend:
    """Bucket instants ``ts`` (optionally split by ``keys``, the ``top`` largest over this
    period named, the rest as OTHER) this period and the same period last week."""
    edges = bucket_edges(now, step, n, zone)
    lw_edges = shift_days(edges, -WEEK_DAYS, zone)
    cut = float(shift_days(np.array([now]), -WEEK_DAYS, zone)[0])
    total = counts_in(ts, edges)
    lw_total = counts_in(ts, lw_edges, cut)
    names: tuple[str, ...] = ()
    series: dict[str, np.ndarray] = {}
    last_week: dict[str, np.ndarray] = {}
    if keys is not None and len(ts):
        in_period = (ts >= edges[0]) & (ts < edges[-1])
        uniq, counts = np.unique(keys[in_period].astype(str), return_counts=True)
        order = sorted(
            zip(uniq.tolist(), counts.tolist(), strict=True), key=lambda kc: (-kc[1], kc[0])
        )
        named = [k for k, _ in order[:top]]
        rest = [k for k, _ in order[top:]]
        for k in named:
            m = keys == k
            series[k] = counts_in(ts[m], edges)
            last_week[k] = counts_in(ts[m], lw_edges, cut)
        if rest:
            m = ~np.isin(keys.astype(str), named)
            series[OTHER] = counts_in(ts[m], edges)
            last_week[OTHER] = counts_in(ts[m], lw_edges, cut)
        names = tuple(series)
    return Trend(step, edges, lw_edges, now, total, lw_total, names, series, last_week)


def arrivals(
    frame: pd.DataFrame,
    now: float,
    step: str = HOUR_STEP,
    n: int = 24,
    by: str | None = None,
    top: int = 5,
    zone: str | tzinfo | None = None,
) -> Trend:
    """Cases filed per bucket (``created_ts``), split by ``by`` ("category", "source",
    "township"... any string column) when given."""
    keys = _labels(frame, by) if by else None
    t = series_of(_column(frame, "created_ts"), now, step, n, keys, top, zone)
    ok = covers(
        _column(frame, "created_ts"), float(t.last_week_edges[0]), int(t.last_week_total.sum())
    )
    return replace(t, last_week_covered=ok)


def closures(
    frame: pd.DataFrame,
    now: float,
    step: str = HOUR_STEP,
    n: int = 24,
    by: str | None = None,
    top: int = 5,
    zone: str | tzinfo | None = None,
) -> Trend:
    """Cases closed (结案, ``closed_ts``) per bucket."""
    keys = _labels(frame, by) if by else None
    t = series_of(_column(frame, "closed_ts"), now, step, n, keys, top, zone)
    return replace(t, last_week_covered=last_week_covered(frame, now, step, n, zone))


def overdue_at(
    frame: pd.DataFrame, times: Sequence[float] | np.ndarray, policy: SlaPolicy | None = None
) -> np.ndarray:
    """How many cases were overdue at each instant of ``times`` (module docstring)."""
    policy = policy or SlaPolicy()
    times = np.asarray(times, dtype=np.float64)
    if not len(frame):
        return np.zeros(len(times), dtype=np.int64)
    created = _column(frame, "created_ts")
    assigned = _column(frame, "assigned_ts")
    on_site = _column(frame, "on_site_ts")
    completed = _column(frame, "completed_ts")
    closed = _column(frame, "closed_ts")
    extension = _column(frame, "extension_s")
    urgency = _labels(frame, "urgency")
    category = _labels(frame, "category")
    state = _labels(frame, "state")
    n = len(frame)
    assign_l = np.empty(n)
    arrive_l = np.full(n, np.nan)
    handle_l = np.empty(n)
    for (u, c), rows in pd.Series(range(n)).groupby([urgency, category]).groups.items():
        lim = policy.limits_for(str(u) or Urgency.NORMAL.value, str(c))
        idx = np.asarray(rows)
        assign_l[idx] = lim.assign
        handle_l[idx] = lim.handle
        if lim.arrive is not None:
            arrive_l[idx] = lim.arrive
    # when the case stopped running a limit: completed, else closed, else (a case that is
    # no longer open without either time, e.g. cancelled) never counted as overdue
    open_now = np.isin(state, [s.value for s in OPEN_STATES])
    done = np.where(completed > 0, completed, np.where(closed > 0, closed, np.inf))
    done = np.where(open_now, np.inf, np.where(np.isinf(done), -np.inf, done))
    inf = np.inf
    a_ts = np.where(assigned > 0, assigned, inf)
    o_ts = np.where(on_site > 0, on_site, inf)
    out = np.zeros(len(times), dtype=np.int64)
    has_arrive = ~np.isnan(arrive_l)
    for i, t in enumerate(times.tolist()):
        live = (created <= t) & (done > t) & (created > 0)
        m_assign = a_ts > t
        m_arrive = ~m_assign & has_arrive & (o_ts > t)
        limit = np.where(m_assign, assign_l, np.where(m_arrive, arrive_l, handle_l + extension))
        out[i] = int(np.count_nonzero(live & (t > created + limit)))
    return out


@dataclass(frozen=True, slots=True)
class OverdueTrend:
    """Cases overdue at each bucket's end (the last point is ``now``), and last week."""

    step: str
    times: np.ndarray
    counts: np.ndarray
    last_week_times: np.ndarray
    last_week: np.ndarray
    last_week_covered: bool = True


def overdue_trend(
    frame: pd.DataFrame,
    now: float,
    step: str = HOUR_STEP,
    n: int = 24,
    policy: SlaPolicy | None = None,
    zone: str | tzinfo | None = None,
) -> OverdueTrend:
    """``overdue_at`` at each bucket end (the current bucket's end replaced by ``now``)."""
    edges = bucket_edges(now, step, n, zone)
    times = edges[1:].copy()
    times[-1] = now
    lw = shift_days(times, -WEEK_DAYS, zone)
    return OverdueTrend(
        step,
        times,
        overdue_at(frame, times, policy),
        lw,
        overdue_at(frame, lw, policy),
        last_week_covered(frame, now, step, n, zone),
    )
