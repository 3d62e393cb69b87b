"""League tables (排名) of townships, departments, grids and officers, with every number defined.

Leaders brief from these tables, so each number must mean one thing, be reproducible by
hand and lead to the cases behind it. The definitions below are the contract; the same
text, with worked examples, is docs/ranking.md.

**Cohort.** A table describes the cases *received* in a window, as they stand at ``now``.
A window is a set of whole calendar days in the hall's time zone ("today", the last 7 or
30 days including today), a custom span ``[start, end)`` of timestamps, or all time. A
case belongs to the window when ``start <= created_ts < end``.

**Attribution** (an empty value means the case is not attributed at that level; it is
counted in the table's ``attrs["unattributed"]`` and nowhere else):

- township, grid: the case's own ``township`` / ``grid``;
- department: the ``assignee`` when ``assignee_kind == "department"``; otherwise, when a
  category -> department mapping is given (``departments_from_geography``), the
  department responsible for the case's category;
- officer: the ``assignee`` when ``assignee_kind`` is ``"unit"`` or ``"person"``.

**Metrics** of an entity (all over its received cases):

- ``received``: cases created in the window.
- ``closed`` / ``closure_rate``: cases closed or later (closed, called back, evaluated)
  / received. A case completed but not yet verified (办结待核查) is not closed.
- ``completed``: cases completed or later (completed, closed, called back, evaluated)
  that carry a completion time; ``handling time`` = ``completed_ts - created_ts``;
  ``median_handling_s`` and ``p90_handling_s`` are its 50th and 90th percentiles with
  linear interpolation between order statistics (as numpy's and pandas' default).
- ``on_time`` / ``on_time_rate``: completed cases with ``completed_ts <= created_ts +
  handle limit + extension_s`` (the handle limit of ``SlaPolicy`` for the case's urgency
  and category), or ``completed_ts <= due_ts`` for a record that carries its own
  deadline (an import's 办理时限, Open311's ``expected_datetime``) / (completed +
  ``overdue_now``): the cases that were due, so an open overdue case lowers the rate
  instead of leaving it at 100%.
- ``overdue_now``: open cases past the deadline of their current milestone at ``now``
  (``SlaPolicy.evaluate_arrays``: milestone set and time remaining < 0), the record's
  own ``due_ts`` where it has one, as the SLA counts it.
- ``rated``, ``satisfaction``, ``satisfied_share``: cases with a rating 1..5; their mean
  rating; the share of them rated 4 or 5.
- ``repeats`` / ``repeat_rate``: cases for which another case with the same place and
  category was filed in the ``repeat_days`` before it (inclusive; a case filed at the
  very same instant counts as well) / received. The place is the address, or the grid
  when the address is empty; a case with neither is never a repeat. The earlier case may
  lie outside the window and belong to any entity.

**Composite score** (0..100): each metric is mapped to 0..1 by a fixed rule, so an
entity's score does not move when another entity changes: closure rate; on-time rate;
``(satisfaction - 1) / 4``; ``1 - overdue_now / received``; ``1 - repeat_rate``;
``max(0, 1 - median handling / handling_reference_s)``. The score is ``100 * sum(w_i *
s_i) / sum(w_i)`` over the metrics the entity has (no completed case: no on-time or
handling part; no rating: no satisfaction part). Weights are ``Weights``.

**Rank.** Entities with at least ``min_cases`` received and a score are ranked by score,
highest first; equal scores (to 1e-9) share the better rank (1, 2, 2, 4). The others are
listed with ``ranked`` False and rank NaN. ``rank_change`` = rank in the previous window
of equal length (the same number of calendar days just before, or ``[start - L, start)``
for a custom span) minus rank now: positive means the entity moved up.

Two implementations share the per-case rules and the table builder: ``LeagueTable``
recomputes from a frame (``Store.to_frame()`` columns) with vector operations, and
``RankingEngine`` keeps per-entity, per-day accumulators and a sorted index of handling
times that change sets update in place, keyed by case id and version.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import tzinfo
from typing import Any, Final

import numpy as np
import pandas as pd

from commandcenter.metrics.definitions import STATE_INDEX as _STATE_INDEX
from commandcenter.metrics.definitions import case_flags
from commandcenter.metrics.windows import (  # noqa: F401 (re-exported: ranking.Window...)
    ALL_TIME,
    LAST_7_DAYS,
    LAST_30_DAYS,
    TODAY,
    DayCalendar,
    Span,
    Window,
)
from commandcenter.sla import DAY, URGENCY_ORDER, SlaPolicy

TOWNSHIP: Final = "township"
DEPARTMENT: Final = "department"
GRID: Final = "grid"
OFFICER: Final = "officer"
LEVELS: tuple[str, ...] = (TOWNSHIP, DEPARTMENT, GRID, OFFICER)

DEFAULT_MIN_CASES = 10
DEFAULT_REPEAT_DAYS = 7.0

_URGENCY_INDEX = {u.value: i for i, u in enumerate(URGENCY_ORDER)}

# What each column of a league table means, for tooltips and the briefing notes.
METRICS: dict[str, tuple[str, str]] = {
    "received": ("受理量", "cases created in the window attributed to the entity"),
    "closed": ("结案量", "received cases closed, called back or evaluated"),
    "closure_rate": ("结案率", "closed / received"),
    "completed": ("办结量", "received cases completed or later, with a completion time"),
    "on_time": ("按时办结", "completed by its own due date, else created_ts + handle limit + extension"),
    "on_time_rate": ("按时办结率", "on_time / (completed + overdue_now)"),
    "median_handling_s": ("处置时长中位数", "median of completed_ts - created_ts, seconds"),
    "p90_handling_s": ("处置时长P90", "90th percentile of completed_ts - created_ts, seconds"),
    "overdue_now": ("当前超期", "open cases past their current milestone deadline at now"),
    "rated": ("评价量", "received cases with a rating 1..5"),
    "satisfaction": ("满意度", "mean rating of rated cases (1..5)"),
    "satisfied_share": ("满意率", "share of rated cases rated 4 or 5"),
    "repeats": ("重复投诉", "cases with an earlier same place + category case within N days"),
    "repeat_rate": ("重复投诉率", "repeats / received"),
    "score": ("综合得分", "100 * weighted mean of the normalised metrics"),
    "rank": ("排名", "rank by score among entities with at least min_cases received"),
    "rank_change": ("名次变化", "previous window's rank minus this rank (up is positive)"),
}

# drill(metric=...) names: which received cases stand behind each number.
DRILL_METRICS: tuple[str, ...] = (
    "received",
    "closed",
    "completed",
    "on_time",
    "late",
    "overdue_now",
    "open",
    "rated",
    "satisfied",
    "repeats",
)


# ---- configuration ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the composite score; only their ratios matter.

    Defaults put the hall's two published targets (closure, on time) first, then what the
    resident feels (satisfaction) and what is burning now (overdue), then repeats and speed.
    ``handling_reference_s`` is the median handling time that scores 0 (7 days, the
    non-urgent handle limit): half of it scores 0.5.
    """

    closure: float = 0.25
    on_time: float = 0.25
    satisfaction: float = 0.15
    overdue: float = 0.15
    repeat: float = 0.10
    handling: float = 0.10
    handling_reference_s: float = 7 * DAY

    def __post_init__(self) -> None:
        parts = self.parts()
        if any(not math.isfinite(w) or w < 0 for w in parts.values()) or sum(parts.values()) <= 0:
            raise ValueError(f"weights must be >= 0 and not all 0: {parts}")
        if not self.handling_reference_s > 0:
            raise ValueError("handling_reference_s must be > 0")

    def parts(self) -> dict[str, float]:
        return {
            "closure": self.closure,
            "on_time": self.on_time,
            "satisfaction": self.satisfaction,
            "overdue": self.overdue,
            "repeat": self.repeat,
            "handling": self.handling,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Weights:
        """From settings, e.g. {"closure": 0.3, "overdue": 0.2}; unnamed keep their default."""
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown weight(s): {sorted(unknown)}")
        return cls(**{k: float(v) for k, v in raw.items()})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def departments_from_geography(geography: Mapping[str, Any]) -> dict[str, str]:
    """Category -> responsible department, from GET /v1/geography's ``categories``."""
    out: dict[str, str] = {}
    for item in geography.get("categories", []) or []:
        if isinstance(item, dict) and item.get("name") and item.get("department"):
            out[str(item["name"])] = str(item["department"])
    return out


# ---- days and windows ------------------------------------------------------------------

# Windows and calendar days live in commandcenter.metrics.windows (re-exported here).


@dataclass(frozen=True, slots=True)
class RankingConfig:
    """Everything that decides the numbers, in one place (tables record it in ``attrs``)."""

    policy: SlaPolicy = field(default_factory=SlaPolicy)
    weights: Weights = field(default_factory=Weights)
    min_cases: int = DEFAULT_MIN_CASES
    repeat_days: float = DEFAULT_REPEAT_DAYS
    category_departments: Mapping[str, str] = field(default_factory=dict)

    @property
    def repeat_s(self) -> float:
        return self.repeat_days * DAY


# ---- per-case rules (shared by both implementations) -------------------------------------


# The per-case rules live in commandcenter.metrics.definitions (one definition per number).


def _repeat_flags(group: np.ndarray, created: np.ndarray, window_s: float) -> np.ndarray:
    """True where a case of the same group was created within ``window_s`` before it.

    Sorted by (group, created), the nearest earlier case is the previous row, so one
    comparison per row decides it; a tie in time makes both cases repeats.
    """
    out = np.zeros(len(group), dtype=bool)
    idx = np.flatnonzero(group >= 0)
    if len(idx) < 2:
        return out
    g = group[idx]
    c = created[idx]
    n = len(idx)
    order = np.argsort(c)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    # one exact int64 key, group-major and time-minor, sorts ~3x faster than lexsort
    exact = int(g.max()) < (2**62) // (n + 1)
    order = np.argsort(g * n + rank) if exact else np.lexsort((rank, g))
    gs = g[order]
    cs = c[order]
    same = gs[1:] == gs[:-1]
    gap = cs[1:] - cs[:-1]
    rep = np.zeros(n, dtype=bool)
    rep[1:] |= same & (gap <= window_s)
    rep[:-1] |= same & (gap == 0)
    out[idx[order]] = rep
    return out


def _lookup(values: Sequence[Any], fn: Any) -> np.ndarray:
    return np.array([fn(v) for v in values], dtype=np.int64).reshape(-1)


def _codes(frame: pd.DataFrame, col: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes and their string values for a column; -1 never appears (NaN -> "")."""
    n = len(frame)
    if col not in frame.columns:
        return np.zeros(n, dtype=np.int64), [""]
    s = frame[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64)
        cats = s.cat.categories
        if len(cats) > 2 * n:  # a few rows of a big frame: decode only what they use
            used, codes = np.unique(codes, return_inverse=True)
            codes = codes.astype(np.int64)
            if len(used) and used[0] < 0:  # NaN rows: keep them at -1
                used, codes = used[1:], codes - 1
            values = [str(v) for v in cats.take(used)]
        else:
            values = [str(v) for v in cats]
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        codes = codes.astype(np.int64)
        values = [str(v) for v in uniques]
    if n and codes.min(initial=0) < 0:
        codes = np.where(codes < 0, len(values), codes)
        values.append("")
    return codes, values


def _ints(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.zeros(len(frame), dtype=np.int64)
    return frame[col].to_numpy(dtype=np.int64, na_value=0)


def _floats(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.zeros(len(frame))
    return np.nan_to_num(frame[col].to_numpy(dtype=np.float64, na_value=0.0))


# ---- tallies and the table builder -------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    """Sums per entity code (arrays of length E) for one window."""

    received: np.ndarray
    closed: np.ndarray
    timed: np.ndarray
    on_time: np.ndarray
    rated: np.ndarray
    rating_sum: np.ndarray
    satisfied: np.ndarray
    repeats: np.ndarray
    overdue: np.ndarray
    median: np.ndarray
    p90: np.ndarray


def _grouped_quantiles(values_at: Any, counts: np.ndarray, qs: Sequence[float]) -> list[np.ndarray]:
    """Linear-interpolated quantiles of groups laid out one after another, each sorted.

    ``values_at(positions)`` returns the values at positions of that layout, so callers
    need not gather every value when only two per group are read.
    """
    counts = counts.astype(np.int64)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    out = []
    for q in qs:
        res = np.full(len(counts), np.nan)
        c = counts[has]
        if len(c):
            pos = q * (c - 1)
            lo = np.floor(pos).astype(np.int64)
            hi = np.minimum(lo + 1, c - 1)
            frac = pos - lo
            a = values_at(starts[has] + lo)
            b = values_at(starts[has] + hi)
            res[has] = a + (b - a) * frac
        out.append(res)
    return out


def _sort_by_entity_then_value(ent: np.ndarray, val: np.ndarray, n_entities: int) -> np.ndarray:
    """Order putting entity codes ascending and values ascending within each entity.

    Two passes (values, then a stable sort by entity) are ~4x faster than lexsort: the
    value sort is vectorised and the entity sort is a radix sort for < 65,536 entities.
    """
    order = np.argsort(val)
    e = ent[order]
    e = e.astype(np.uint16) if n_entities < 65536 else e
    return order[np.argsort(e, kind="stable")]


@dataclass(slots=True)
class _Cases:
    """Per-case columns both implementations compute on (rows in any order)."""

    ids: Any  # sequence of str, indexable by an int array
    created: np.ndarray
    ent: dict[str, np.ndarray]  # level -> entity code, -1 when unattributed
    names: dict[str, list[str]]  # level -> entity name per code
    closed: np.ndarray
    timed: np.ndarray
    ht: np.ndarray
    on_time: np.ndarray
    rated: np.ndarray
    satisfied: np.ndarray
    rating: np.ndarray
    open: np.ndarray
    repeat: np.ndarray
    state: np.ndarray
    urgency: np.ndarray
    category: np.ndarray
    categories: list[str]
    on_site: np.ndarray
    extension: np.ndarray
    due: np.ndarray  # the record's own deadline; 0: the policy's

    def overdue(self, policy: SlaPolicy, rows: np.ndarray, now: float) -> np.ndarray:
        """Which of ``rows`` are past their current milestone's deadline at ``now``."""
        milestone, remaining, _ = policy.evaluate_arrays(
            now,
            self.state[rows],
            self.urgency[rows],
            self.category[rows],
            self.categories,
            self.created[rows],
            self.on_site[rows],
            self.extension[rows],
            self.due[rows],
        )
        return (milestone > 0) & (remaining < 0)

    def metric_mask(self, metric: str, policy: SlaPolicy, now: float) -> np.ndarray:
        n = len(self.created)
        if metric == "received":
            return np.ones(n, dtype=bool)
        if metric == "overdue_now":
            rows = np.flatnonzero(self.open)
            out = np.zeros(n, dtype=bool)
            out[rows[self.overdue(policy, rows, now)]] = True
            return out
        masks = {
            "closed": self.closed,
            "completed": self.timed,
            "on_time": self.on_time,
            "late": self.timed & ~self.on_time,
            "open": self.open,
            "rated": self.rated,
            "satisfied": self.satisfied,
            "repeats": self.repeat,
        }
        if metric not in masks:
            raise ValueError(f"unknown metric {metric!r}; one of {DRILL_METRICS}")
        return masks[metric]

    def tally(self, level: str, span: Span, policy: SlaPolicy, now: float) -> _Tally:
        """Sums over the rows created in ``span``: the recomputation path."""
        ent = self.ent[level]
        n_ent = len(self.names[level])
        sel = span.contains(self.created) & (ent >= 0)

        def count(flag: np.ndarray) -> np.ndarray:
            return np.bincount(ent[sel & flag], minlength=n_ent).astype(np.int64)

        rated = sel & self.rated
        rating_sum = np.bincount(
            ent[rated], weights=self.rating[rated].astype(np.float64), minlength=n_ent
        )
        open_rows = np.flatnonzero(sel & self.open)
        od = open_rows[self.overdue(policy, open_rows, now)]
        timed_rows = np.flatnonzero(sel & self.timed)
        t_ent = ent[timed_rows]
        t_val = self.ht[timed_rows]
        order = _sort_by_entity_then_value(t_ent, t_val, n_ent)
        sorted_vals = t_val[order]
        timed = np.bincount(t_ent, minlength=n_ent).astype(np.int64)
        median, p90 = _grouped_quantiles(sorted_vals.__getitem__, timed, (0.5, 0.9))
        return _Tally(
            received=np.bincount(ent[sel], minlength=n_ent).astype(np.int64),
            closed=count(self.closed),
            timed=timed,
            on_time=count(self.on_time),
            rated=np.bincount(ent[rated], minlength=n_ent).astype(np.int64),
            rating_sum=np.rint(rating_sum).astype(np.int64),
            satisfied=count(self.satisfied),
            repeats=count(self.repeat),
            overdue=np.bincount(ent[od], minlength=n_ent).astype(np.int64),
            median=median,
            p90=p90,
        )

    def unattributed(self, level: str, span: Span) -> int:
        return int(np.count_nonzero(span.contains(self.created) & (self.ent[level] < 0)))

    def drill(
        self, level: str, entity: str, span: Span, metric: str, policy: SlaPolicy, now: float
    ) -> list[str]:
        names = self.names[level]
        codes = [i for i, name in enumerate(names) if name == entity]
        if not entity or not codes:
            return []
        sel = span.contains(self.created) & np.isin(self.ent[level], codes)
        rows = np.flatnonzero(sel & self.metric_mask(metric, policy, now))
        rows = rows[np.argsort(self.created[rows], kind="stable")]
        return [str(self.ids[r]) for r in rows]


def _score_parts(t: _Tally, w: Weights) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        received = t.received.astype(np.float64)
        timed = t.timed.astype(np.float64)
        rated = t.rated.astype(np.float64)
        return {
            "closure": t.closed / received,
            # due = completed + open and overdue: a late open case lowers the rate too
            "on_time": np.where(timed + t.overdue > 0, t.on_time / (timed + t.overdue), np.nan),
            "satisfaction": np.where(rated > 0, (t.rating_sum / rated - 1.0) / 4.0, np.nan),
            "overdue": 1.0 - t.overdue / received,
            "repeat": 1.0 - t.repeats / received,
            "handling": np.maximum(0.0, 1.0 - t.median / w.handling_reference_s),
        }


def _scores(t: _Tally, w: Weights) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    parts = _score_parts(t, w)
    weights = w.parts()
    num = np.zeros(len(t.received))
    den = np.zeros(len(t.received))
    for name, s in parts.items():
        ok = np.isfinite(s)
        num += np.where(ok, weights[name] * np.nan_to_num(s), 0.0)
        den += np.where(ok, weights[name], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(den > 0, 100.0 * num / den, np.nan)
    return score, parts


def _ranks(t: _Tally, w: Weights, min_cases: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, ranked flag, competition rank with NaN for the unranked) per entity code."""
    score, _ = _scores(t, w)
    ranked = (t.received >= max(min_cases, 1)) & np.isfinite(score)
    rank = np.full(len(score), np.nan)
    if ranked.any():
        # Round so that equal scores reached by different float paths still tie.
        keyed = np.round(score[ranked], 9)
        rank[ranked] = pd.Series(keyed).rank(method="min", ascending=False).to_numpy()
    return score, ranked, rank


TABLE_COLUMNS: tuple[str, ...] = (
    "entity",
    "received",
    "closed",
    "closure_rate",
    "completed",
    "on_time",
    "on_time_rate",
    "median_handling_s",
    "p90_handling_s",
    "overdue_now",
    "rated",
    "satisfaction",
    "satisfied_share",
    "repeats",
    "repeat_rate",
    "score",
    "ranked",
    "rank",
    "prev_rank",
    "rank_change",
)


def _build_table(
    level: str,
    names: list[str],
    now_t: _Tally,
    prev_t: _Tally | None,
    cfg: RankingConfig,
    weights: Weights,
    min_cases: int,
    span: Span,
    prev: Span | None,
    now: float,
    unattributed: int,
) -> pd.DataFrame:
    score, ranked, rank = _ranks(now_t, weights, min_cases)
    _, parts = _scores(now_t, weights)
    prev_rank = np.full(len(names), np.nan)
    if prev_t is not None:
        _, _, pr = _ranks(prev_t, weights, min_cases)
        prev_rank[: len(pr)] = pr
    keep = np.flatnonzero(now_t.received > 0)
    t = now_t

    def per(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.where(den[keep] > 0, num[keep] / np.maximum(den[keep], 1), np.nan)

    columns: dict[str, Any] = {
        "entity": pd.array([names[i] for i in keep], dtype="string"),
        "received": t.received[keep],
        "closed": t.closed[keep],
        "closure_rate": per(t.closed, t.received),
        "completed": t.timed[keep],
        "on_time": t.on_time[keep],
        "on_time_rate": per(t.on_time, t.timed + t.overdue),
        "median_handling_s": t.median[keep],
        "p90_handling_s": t.p90[keep],
        "overdue_now": t.overdue[keep],
        "rated": t.rated[keep],
        "satisfaction": per(t.rating_sum, t.rated),
        "satisfied_share": per(t.satisfied, t.rated),
        "repeats": t.repeats[keep],
        "repeat_rate": per(t.repeats, t.received),
        "score": score[keep],
        "ranked": ranked[keep],
        "rank": rank[keep],
        "prev_rank": prev_rank[keep],
        "rank_change": prev_rank[keep] - rank[keep],
    }
    for name, s in parts.items():
        columns[f"s_{name}"] = s[keep]
    df = pd.DataFrame(columns)
    df = df.sort_values(
        ["ranked", "rank", "received", "entity"],
        ascending=[False, True, False, True],
        kind="stable",
        na_position="last",
    ).reset_index(drop=True)
    df.attrs.update(
        {
            "level": level,
            "start": span.start,
            "end": span.end,
            "prev_start": prev.start if prev else math.nan,
            "prev_end": prev.end if prev else math.nan,
            "now": now,
            "min_cases": min_cases,
            "weights": weights.as_dict(),
            "repeat_days": cfg.repeat_days,
            "unattributed": unattributed,
        }
    )
    return df


# ---- recomputation from a frame ----------------------------------------------------------


def _entities_from_frame(
    frame: pd.DataFrame, cfg: RankingConfig
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    ent: dict[str, np.ndarray] = {}
    names: dict[str, list[str]] = {}
    for level in (TOWNSHIP, GRID):
        codes, values = _codes(frame, level)
        valid = np.array([v != "" for v in values], dtype=bool)
        ent[level] = np.where(valid[codes], codes, -1) if len(codes) else codes
        names[level] = values
    a_codes, a_values = _codes(frame, "assignee")
    k_codes, k_values = _codes(frame, "assignee_kind")
    c_codes, c_values = _codes(frame, "category")
    kind = np.array(k_values, dtype=object)[k_codes] if len(k_codes) else np.empty(0, object)
    is_dept = kind == "department"
    is_unit = (kind == "unit") | (kind == "person")
    # department names: assignees (where they are departments) then mapped categories
    dept_names: list[str] = []
    dept_index: dict[str, int] = {}

    def code(name: str) -> int:
        if not name:
            return -1
        i = dept_index.get(name)
        if i is None:
            i = dept_index[name] = len(dept_names)
            dept_names.append(name)
        return i

    # Intern only the names that really are departments, so the name list stays short.
    n = len(a_codes)
    a_used = np.bincount(a_codes[is_dept], minlength=len(a_values)) > 0 if n else []
    c_used = np.bincount(c_codes[~is_dept], minlength=len(c_values)) > 0 if n else []
    a_dept = _lookup([v if used else "" for v, used in zip(a_values, a_used, strict=False)], code)
    c_dept = _lookup(
        [
            cfg.category_departments.get(c, "") if used else ""
            for c, used in zip(c_values, c_used, strict=False)
        ],
        code,
    )
    if n:
        ent[DEPARTMENT] = np.where(is_dept, a_dept[a_codes], c_dept[c_codes])
    else:
        ent[DEPARTMENT] = np.empty(0, dtype=np.int64)
    names[DEPARTMENT] = dept_names
    valid_a = np.array([v != "" for v in a_values], dtype=bool)
    ent[OFFICER] = np.where(is_unit & valid_a[a_codes], a_codes, -1) if len(a_codes) else a_codes
    names[OFFICER] = a_values
    return ent, names


def _groups_from_frame(frame: pd.DataFrame) -> np.ndarray:
    """Place (address, else grid) + category as one int64 code; -1 when there is no place."""
    a_codes, a_values = _codes(frame, "address")
    g_codes, g_values = _codes(frame, "grid")
    c_codes, c_values = _codes(frame, "category")
    if not len(a_codes):
        return np.empty(0, dtype=np.int64)
    a_ok = np.array([v != "" for v in a_values], dtype=bool)[a_codes]
    g_ok = np.array([v != "" for v in g_values], dtype=bool)[g_codes]
    place = np.where(a_ok, a_codes, len(a_values) + g_codes)
    place = np.where(a_ok | g_ok, place, -1)
    return np.where(place >= 0, place * len(c_values) + c_codes, -1)


def _state_codes(frame: pd.DataFrame, col: str, index: dict[str, int]) -> np.ndarray:
    codes, values = _codes(frame, col)
    try:
        table = np.array([index[v] for v in values], dtype=np.int8)
    except KeyError as err:
        raise ValueError(f"unknown {col} value {err.args[0]!r}") from None
    return table[codes] if len(codes) else np.empty(0, dtype=np.int8)


def _cases_from_frame(frame: pd.DataFrame, cfg: RankingConfig) -> _Cases:
    state = _state_codes(frame, "state", _STATE_INDEX)
    urgency = _state_codes(frame, "urgency", _URGENCY_INDEX)
    cat_codes, categories = _codes(frame, "category")
    created = _floats(frame, "created_ts")
    rating = _ints(frame, "rating")
    extension = _floats(frame, "extension_s")
    due = _floats(frame, "due_ts")
    f = case_flags(
        cfg.policy,
        state,
        urgency,
        cat_codes,
        categories,
        created,
        _floats(frame, "completed_ts"),
        extension,
        rating,
        due,
    )
    ent, names = _entities_from_frame(frame, cfg)
    return _Cases(
        ids=frame["id"].to_numpy(dtype=object) if "id" in frame.columns else np.arange(len(frame)),
        created=created,
        ent=ent,
        names=names,
        closed=f.closed,
        timed=f.timed,
        ht=f.ht,
        on_time=f.on_time,
        rated=f.rated,
        satisfied=f.satisfied,
        rating=rating,
        open=f.open,
        repeat=_repeat_flags(_groups_from_frame(frame), created, cfg.repeat_s),
        state=state,
        urgency=urgency,
        category=cat_codes,
        categories=categories,
        on_site=_floats(frame, "on_site_ts"),
        extension=extension,
        due=due,
    )


def _config(
    policy: SlaPolicy | None,
    weights: Weights | None,
    min_cases: int,
    repeat_days: float,
    category_departments: Mapping[str, str] | None,
) -> RankingConfig:
    return RankingConfig(
        policy=policy or SlaPolicy(),
        weights=weights or Weights(),
        min_cases=min_cases,
        repeat_days=repeat_days,
        category_departments=dict(category_departments or {}),
    )


class LeagueTable:
    """League tables recomputed from scratch from a frame of cases (``Store.to_frame()``).

    The reference implementation: every number follows from the module's definitions
    by vector operations over the whole frame. ``RankingEngine`` must agree with it.
    """

    @staticmethod
    def compute(
        frame: pd.DataFrame,
        level: str,
        window: Window,
        now: float,
        policy: SlaPolicy | None = None,
        weights: Weights | None = None,
        min_cases: int = DEFAULT_MIN_CASES,
        *,
        repeat_days: float = DEFAULT_REPEAT_DAYS,
        zone: str | tzinfo | None = None,
        category_departments: Mapping[str, str] | None = None,
    ) -> pd.DataFrame:
        """One level's table: one row per entity with received > 0 (see TABLE_COLUMNS)."""
        return LeagueTable.compute_all(
            frame,
            window,
            now,
            policy,
            weights,
            min_cases,
            levels=(level,),
            repeat_days=repeat_days,
            zone=zone,
            category_departments=category_departments,
        )[level]

    @staticmethod
    def compute_all(
        frame: pd.DataFrame,
        window: Window,
        now: float,
        policy: SlaPolicy | None = None,
        weights: Weights | None = None,
        min_cases: int = DEFAULT_MIN_CASES,
        *,
        levels: Iterable[str] = LEVELS,
        repeat_days: float = DEFAULT_REPEAT_DAYS,
        zone: str | tzinfo | None = None,
        category_departments: Mapping[str, str] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Several levels at once: the per-case work (flags, repeats) is done once."""
        cfg = _config(policy, weights, min_cases, repeat_days, category_departments)
        levels = tuple(levels)
        for level in levels:
            _check_level(level)
        cases = _cases_from_frame(frame, cfg)
        span, prev = window.resolve(now, DayCalendar(zone))
        out = {}
        for level in levels:
            t_now = cases.tally(level, span, cfg.policy, now)
            t_prev = cases.tally(level, prev, cfg.policy, now) if prev else None
            out[level] = _build_table(
                level,
                cases.names[level],
                t_now,
                t_prev,
                cfg,
                cfg.weights,
                cfg.min_cases,
                span,
                prev,
                now,
                cases.unattributed(level, span),
            )
        return out

    @staticmethod
    def drill(
        frame: pd.DataFrame,
        level: str,
        entity: str,
        window: Window,
        now: float,
        metric: str = "received",
        policy: SlaPolicy | None = None,
        *,
        repeat_days: float = DEFAULT_REPEAT_DAYS,
        zone: str | tzinfo | None = None,
        category_departments: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Ids of the cases behind one number (oldest first): ``metric`` in DRILL_METRICS."""
        _check_level(level)
        cfg = _config(policy, None, 1, repeat_days, category_departments)
        cases = _cases_from_frame(frame, cfg)
        span, _ = window.resolve(now, DayCalendar(zone))
        return cases.drill(level, entity, span, metric, cfg.policy, now)


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; one of {LEVELS}")


# ---- the incremental engine --------------------------------------------------------------

_ACC_METRICS: tuple[str, ...] = (
    "received",
    "closed",
    "timed",
    "on_time",
    "rated",
    "rating_sum",
    "satisfied",
    "repeats",
)
_M = len(_ACC_METRICS)
_REPEATS = _ACC_METRICS.index("repeats")
_RECORDS_AT_ONCE = 10_000  # more changed cases than this are read from the store's columns
_GROUP_CATEGORIES = 1 << 24  # group code = place code * this + category code
_RECORD_FIELDS: tuple[tuple[str, Any], ...] = (
    ("id", ""),
    ("version", 0),
    ("state", "reported"),
    ("urgency", "normal"),
    ("category", ""),
    ("township", ""),
    ("grid", ""),
    ("assignee", ""),
    ("assignee_kind", ""),
    ("address", ""),
    ("created_ts", 0.0),
    ("completed_ts", 0.0),
    ("on_site_ts", 0.0),
    ("extension_s", 0.0),
    ("due_ts", 0.0),
    ("rating", 0),
)


class _Interner:
    """Names -> dense codes that never change; "" is -1 (nothing to attribute)."""

    __slots__ = ("index", "keep_empty", "values")

    def __init__(self, keep_empty: bool = False) -> None:
        self.values: list[str] = []
        self.index: dict[str, int] = {}
        self.keep_empty = keep_empty

    def code(self, value: str) -> int:
        if not value and not self.keep_empty:
            return -1
        i = self.index.get(value)
        if i is None:
            i = self.index[value] = len(self.values)
            self.values.append(value)
        return i

    def lookup(self, values: Sequence[str]) -> np.ndarray:
        return _lookup(values, self.code)


@dataclass(slots=True)
class UpdateResult:
    applied: int = 0  # case records taken (new cases or newer versions)
    stale: int = 0  # records not newer than the version held: ignored


class _Acc:
    """Sums of _ACC_METRICS per (entity, day slot) for one level, grown on demand."""

    def __init__(self) -> None:
        self.a = np.zeros((_M, 8, 8), dtype=np.int64)
        self.unattributed = np.zeros(8, dtype=np.int64)  # received, entity -1, per slot

    def ensure(self, n_entities: int, n_slots: int) -> None:
        _, e, s = self.a.shape
        if n_entities <= e and n_slots <= s:
            return
        e2 = max(e, 1 << max(3, (n_entities - 1).bit_length()))
        s2 = max(s, 1 << max(3, (n_slots - 1).bit_length()))
        b = np.zeros((_M, e2, s2), dtype=np.int64)
        b[:, :e, :s] = self.a
        self.a = b
        u = np.zeros(s2, dtype=np.int64)
        u[:s] = self.unattributed
        self.unattributed = u

    def add(self, ent: np.ndarray, slot: np.ndarray, values: np.ndarray) -> None:
        """values: (_M, k) signed amounts for k cases at (ent, slot); entity -1 only counts
        towards ``unattributed``."""
        ok = ent >= 0
        if not ok.all():
            none = ~ok
            np.add.at(self.unattributed, slot[none], values[0, none])
            ent, slot, values = ent[ok], slot[ok], values[:, ok]
        k = len(ent)
        if not k:
            return
        _, e, s = self.a.shape
        if k * _M * 16 >= self.a.size:  # big batch: bincounts beat scattered adds
            lin = ent * s + slot
            for m in range(_M):
                v = values[m]
                nz = v != 0
                if not nz.any():
                    continue
                if (v[nz] == 1).all():
                    sums = np.bincount(lin[nz], minlength=e * s)
                else:
                    sums = np.rint(np.bincount(lin[nz], weights=v[nz], minlength=e * s))
                self.a[m] += sums.astype(np.int64).reshape(e, s)
        else:
            m = np.repeat(np.arange(_M), k)
            np.add.at(self.a, (m, np.tile(ent, _M), np.tile(slot, _M)), values.ravel())

    def sums(self, n_entities: int, slots: np.ndarray | None) -> tuple[np.ndarray, int]:
        """(_M, n_entities) sums over the slots (None: all), and the unattributed count."""
        a = self.a[:, :n_entities, :]
        if slots is None:
            return a.sum(axis=2), int(self.unattributed.sum())
        return a[:, :, slots].sum(axis=2), int(self.unattributed[slots].sum())


class _SortedTimes:
    """Handling times of one level sorted by (entity, time), with each entry's day.

    Kept sorted under updates (a merge, not a re-sort), so exact medians and p90s of a
    window are read at computed positions instead of sorting a million values per query.
    The key is complex: real part the entity code, imaginary part the handling time;
    numpy orders complex numbers lexicographically, which is exactly (entity, time).
    """

    def __init__(self) -> None:
        self.key = np.empty(0, dtype=np.complex128)
        self.day = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.key)

    def build(self, ent: np.ndarray, ht: np.ndarray, day: np.ndarray, n_entities: int) -> None:
        order = _sort_by_entity_then_value(ent, ht, n_entities)
        self.key = ent[order].astype(np.float64) + 1j * ht[order]
        self.day = day[order].astype(np.int64)

    def _find(self, q: np.ndarray, qday: np.ndarray) -> np.ndarray:
        left = np.searchsorted(self.key, q, side="left")
        right = np.searchsorted(self.key, q, side="right")
        at = np.minimum(left, max(len(self.key) - 1, 0))
        simple = (right - left == 1) & (self.day[at] == qday)
        pos = left.copy()
        hard = np.flatnonzero(~simple)
        if len(hard):  # equal keys (same entity, same time): match the day, never reuse
            used = set(pos[simple].tolist())
            for i in hard:
                for p in range(int(left[i]), int(right[i])):
                    if p not in used and self.day[p] == qday[i]:
                        used.add(p)
                        pos[i] = p
                        break
                else:
                    raise RuntimeError("ranking index out of step: a handling time is missing")
        return pos

    def replace(
        self,
        rm: tuple[np.ndarray, np.ndarray, np.ndarray],
        add: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> None:
        """Remove entries (entity, time, day) and insert others, keeping the order."""
        key, day = self.key, self.day
        if len(rm[0]):
            keep = np.ones(len(key), dtype=bool)
            keep[self._find(rm[0].astype(np.float64) + 1j * rm[1], rm[2])] = False
            key, day = key[keep], day[keep]
        if len(add[0]):
            new = add[0].astype(np.float64) + 1j * add[1]
            order = np.argsort(new)
            new, new_day = new[order], add[2][order]
            at = np.searchsorted(key, new) + np.arange(len(new))
            total = len(key) + len(new)
            old_at = np.ones(total, dtype=bool)
            old_at[at] = False
            k2 = np.empty(total, dtype=np.complex128)
            d2 = np.empty(total, dtype=np.int64)
            k2[at], d2[at] = new, new_day
            k2[old_at], d2[old_at] = key, day
            key, day = k2, d2
        self.key, self.day = key, day

    def quantiles(
        self, counts: np.ndarray, days: tuple[int, int] | None, qs: Sequence[float]
    ) -> list[np.ndarray]:
        times = self.key.imag
        if days is None:
            return _grouped_quantiles(times.__getitem__, counts, qs)
        idx = np.flatnonzero((self.day >= days[0]) & (self.day < days[1]))
        return _grouped_quantiles(lambda p: times[idx[p]], counts, qs)


class _Groups:
    """Rows per repeat group (place + category): a sorted base plus groups edited since."""

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.int64)
        self.rows = np.empty(0, dtype=np.int64)
        self.edited: dict[int, list[int]] = {}

    def build(self, group: np.ndarray) -> None:
        rows = np.flatnonzero(group >= 0)
        order = np.argsort(group[rows], kind="stable")
        self.keys = group[rows][order]
        self.rows = rows[order]
        self.edited = {}

    def members(self, g: int) -> list[int]:
        got = self.edited.get(g)
        if got is not None:
            return got
        lo, hi = np.searchsorted(self.keys, [g, g + 1])
        return self.rows[lo:hi].tolist()

    def members_of(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of several groups at once, and the group of each row."""
        rows: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        edited = np.array([g in self.edited for g in groups.tolist()], dtype=bool)
        for g in groups[edited].tolist():
            got = self.edited[g]
            rows.append(np.array(got, dtype=np.int64))
            labels.append(np.full(len(got), g, dtype=np.int64))
        base = groups[~edited]
        lo = np.searchsorted(self.keys, base, side="left")
        hi = np.searchsorted(self.keys, base, side="right")
        lengths = hi - lo
        total = int(lengths.sum())
        if total:
            first = np.repeat(lo - (np.cumsum(lengths) - lengths), lengths)
            rows.append(self.rows[first + np.arange(total)])
            labels.append(np.repeat(base, lengths))
        if not rows:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(rows), np.concatenate(labels)

    def _own(self, g: int) -> list[int]:
        got = self.edited.get(g)
        if got is None:
            got = self.edited[g] = self.members(g)
        return got

    def move(self, row: int, old: int, new: int) -> None:
        if old >= 0:
            self._own(old).remove(row)
        if new >= 0:
            self._own(new).append(row)


_BOOL_COLS = ("closed", "timed", "on_time", "rated", "satisfied", "open", "repeat")
_F8_COLS = ("created", "ht", "on_site", "extension", "due")
_I8_COLS = ("version", "day", "rating", "category", "group")
_CODE_COLS = ("state", "urgency")  # int8 codes, as SlaPolicy.evaluate_arrays takes them


class RankingEngine:
    """League tables kept up to date as case records arrive (incremental).

    Holds, per case, the derived values of the module's rules (row per case id, like the
    store) and, per level, sums per (entity, local day) and a sorted index of handling
    times. A record replaces the held one only when its version is newer, so duplicates
    and replays never double anything; a changed case first takes back what it
    contributed, then adds what it contributes now. Repeat flags of the other cases at
    the same place and category are re-derived, because a new case can make a later one
    a repeat.

    Tables over whole local days (today, the last N days, all time, custom spans from
    midnight to midnight) are read from the sums and the index; other custom spans are
    recomputed from the held columns, with the same code as ``LeagueTable``.
    """

    def __init__(
        self,
        policy: SlaPolicy | None = None,
        weights: Weights | None = None,
        *,
        min_cases: int = DEFAULT_MIN_CASES,
        repeat_days: float = DEFAULT_REPEAT_DAYS,
        zone: str | tzinfo | None = None,
        category_departments: Mapping[str, str] | None = None,
    ) -> None:
        self.config = _config(policy, weights, min_cases, repeat_days, category_departments)
        self.calendar = DayCalendar(zone)
        self._reset()

    # ---- state ----------------------------------------------------------------------------

    def _reset(self, capacity: int = 1024) -> None:
        self._n = 0
        self._cap = capacity
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._cols: dict[str, np.ndarray] = {}
        for name in _BOOL_COLS:
            self._cols[name] = np.zeros(capacity, dtype=bool)
        for name in _F8_COLS:
            self._cols[name] = np.zeros(capacity, dtype=np.float64)
        for name in _I8_COLS:
            self._cols[name] = np.zeros(capacity, dtype=np.int64)
        for name in _CODE_COLS:
            self._cols[name] = np.zeros(capacity, dtype=np.int8)
        self._ent = {level: np.full(capacity, -1, dtype=np.int64) for level in LEVELS}
        self._names = {level: _Interner() for level in LEVELS}
        self._categories = _Interner(keep_empty=True)
        self._places = _Interner()
        self._slot_of: dict[int, int] = {}
        self._slot_day = np.zeros(0, dtype=np.int64)
        self._acc = {level: _Acc() for level in LEVELS}
        self._times = {level: _SortedTimes() for level in LEVELS}
        self._groups = _Groups()

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(self._cap * 2, 1 << (need - 1).bit_length())

        def grown(a: np.ndarray, fill: Any = 0) -> np.ndarray:
            b = np.full(cap, fill, dtype=a.dtype)
            b[: self._cap] = a
            return b

        self._cols = {k: grown(v) for k, v in self._cols.items()}
        self._ent = {k: grown(v, -1) for k, v in self._ent.items()}
        self._cap = cap

    def __len__(self) -> int:
        return self._n

    def version_of(self, case_id: str) -> int:
        row = self._row.get(case_id)
        return 0 if row is None else int(self._cols["version"][row])

    def _slots(self, days: np.ndarray) -> np.ndarray:
        uniq = np.unique(days)
        for d in uniq.tolist():
            if d not in self._slot_of:
                self._slot_of[d] = len(self._slot_of)
        if len(self._slot_of) != len(self._slot_day):
            self._slot_day = np.array(list(self._slot_of), dtype=np.int64)
        table = np.array([self._slot_of[d] for d in uniq.tolist()], dtype=np.int64)
        return table[np.searchsorted(uniq, days)]

    # ---- input ----------------------------------------------------------------------------

    def load_frame(self, frame: pd.DataFrame) -> UpdateResult:
        """Start over from a whole frame (``Store.to_frame()``), e.g. after a snapshot."""
        self._reset(max(1024, len(frame)))
        return self.update_frame(frame)

    def update(self, cases: Iterable[Any]) -> UpdateResult:
        """Take case records (domain.Case, feeds' CaseData, or alike): new or newer only."""
        cases = list(cases)
        if not cases:
            return UpdateResult()
        cols = {
            name: [getattr(c, name, default) for c in cases] for name, default in _RECORD_FIELDS
        }
        cols["state"] = [str(v) for v in cols["state"]]
        cols["urgency"] = [str(v) for v in cols["urgency"]]
        return self.update_frame(pd.DataFrame(cols))

    def apply_changes(self, store: Any, changes: Any) -> UpdateResult:
        """Follow a ``Store``: pass each ``ChangeSet`` it publishes (a reset reloads).

        Give the engine the store's ``SlaPolicy`` so that both judge time limits alike.
        """
        if changes.reset:
            return self.load_frame(store.to_frame())
        ids = dict.fromkeys([*changes.cases_created, *changes.cases_updated])
        if len(ids) > _RECORDS_AT_ONCE:  # a bulk load: its columns, not a record per case
            frame = store.to_frame()
            return self.update_frame(frame.iloc[[store.row_of(i) for i in ids]])
        return self.update(c for c in (store.case(i) for i in ids) if c is not None)

    def update_frame(self, frame: pd.DataFrame) -> UpdateResult:
        """Take rows with ``Store.to_frame()`` columns: new cases or newer versions only."""
        if not len(frame):
            return UpdateResult()
        ids = frame["id"].astype(str).tolist()
        versions = frame["version"].to_numpy(dtype=np.int64)
        stale = 0
        if len(set(ids)) != len(ids):  # the same case twice in one batch: keep its newest
            newest: dict[str, int] = {}
            for pos in np.argsort(versions, kind="stable").tolist():
                newest[ids[pos]] = pos
            keep = np.array(sorted(newest.values()), dtype=np.int64)
            frame = frame.iloc[keep]
            ids = [ids[i] for i in keep.tolist()]
            stale = len(versions) - len(keep)
            versions = versions[keep]
        if self._n:
            rows = np.array([self._row.get(i, -1) for i in ids], dtype=np.int64)
        else:
            rows = np.full(len(ids), -1, dtype=np.int64)
        held = np.where(rows >= 0, self._cols["version"][np.maximum(rows, 0)], -1)
        accept = (rows < 0) | (versions > held)
        stale += int(np.count_nonzero(~accept))
        if not accept.all():
            idx = np.flatnonzero(accept)
            frame = frame.iloc[idx]
            ids = [ids[i] for i in idx.tolist()]
            rows = rows[idx]
        if not len(ids):
            return UpdateResult(0, stale)
        self._take(frame, ids, rows)
        return UpdateResult(len(ids), stale)

    # ---- the bookkeeping ------------------------------------------------------------------

    def _derive(self, frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The per-case values of a batch, coded with this engine's (stable) codes."""
        cfg = self.config
        state = _state_codes(frame, "state", _STATE_INDEX)
        urgency = _state_codes(frame, "urgency", _URGENCY_INDEX)
        c_codes, c_values = _codes(frame, "category")
        category = self._categories.lookup(c_values)[c_codes]
        created = _floats(frame, "created_ts")
        rating = _ints(frame, "rating")
        extension = _floats(frame, "extension_s")
        due = _floats(frame, "due_ts")
        f = case_flags(
            cfg.policy,
            state,
            urgency,
            category,
            self._categories.values,
            created,
            _floats(frame, "completed_ts"),
            extension,
            rating,
            due,
        )
        local_ent, local_names = _entities_from_frame(frame, cfg)
        ent = {}
        for level in LEVELS:
            lookup = np.append(self._names[level].lookup(local_names[level]), -1)
            ent[level] = lookup[local_ent[level]]  # local -1 picks the appended -1
        a_codes, a_values = _codes(frame, "address")
        g_codes, g_values = _codes(frame, "grid")
        a_place = self._places.lookup([f"a:{v}" if v else "" for v in a_values])[a_codes]
        g_place = self._places.lookup([f"g:{v}" if v else "" for v in g_values])[g_codes]
        place = np.where(a_place >= 0, a_place, g_place)
        group = np.where(place >= 0, place * _GROUP_CATEGORIES + category, -1)
        cols = {
            "created": created,
            "day": self.calendar.days(created),
            "closed": f.closed,
            "timed": f.timed,
            "ht": f.ht,
            "on_time": f.on_time,
            "rated": f.rated,
            "satisfied": f.satisfied,
            "open": f.open,
            "rating": rating,
            "state": state,
            "urgency": urgency,
            "category": category,
            "on_site": _floats(frame, "on_site_ts"),
            "extension": extension,
            "due": due,
            "group": group,
            "version": frame["version"].to_numpy(dtype=np.int64),
        }
        return cols, ent

    def _values(self, rows: np.ndarray) -> np.ndarray:
        """(_M, k) contributions of rows; the repeat row is left 0 (handled on its own)."""
        c = self._cols
        v = np.zeros((_M, len(rows)), dtype=np.int64)
        v[0] = 1
        v[1] = c["closed"][rows]
        v[2] = c["timed"][rows]
        v[3] = c["on_time"][rows]
        v[4] = c["rated"][rows]
        v[5] = np.where(c["rated"][rows], c["rating"][rows], 0)
        v[6] = c["satisfied"][rows]
        return v

    def _repeat_values(self, flags: np.ndarray) -> np.ndarray:
        v = np.zeros((_M, len(flags)), dtype=np.int64)
        v[_REPEATS] = flags
        return v

    def _take(self, frame: pd.DataFrame, ids: list[str], rows: np.ndarray) -> None:
        cols, ent = self._derive(frame)
        c = self._cols
        bulk = self._n == 0
        was_old = rows >= 0
        old = rows[was_old]
        old_ent = {level: self._ent[level][old] for level in LEVELS}
        old_day = c["day"][old]
        old_slot = self._slots(old_day) if len(old) else old
        old_timed = c["timed"][old]
        old_ht = c["ht"][old]
        old_group = c["group"][old]
        old_repeat = c["repeat"][old]
        taken_back = -self._values(old)
        taken_back[_REPEATS] = -old_repeat.astype(np.int64)
        for level in LEVELS:  # take back what the old versions contributed
            self._acc[level].add(old_ent[level], old_slot, taken_back)

        # new rows for new cases
        fresh = np.flatnonzero(rows < 0)
        if len(fresh):
            start = self._n
            self._grow(start + len(fresh))
            rows = rows.copy()
            rows[fresh] = np.arange(start, start + len(fresh))
            new_ids = [ids[pos] for pos in fresh.tolist()]
            self._ids.extend(new_ids)
            self._row.update(zip(new_ids, range(start, start + len(fresh)), strict=True))
            self._n += len(fresh)
            c = self._cols  # grown: new arrays
        for name, values in cols.items():
            c[name][rows] = values
        for level in LEVELS:
            self._ent[level][rows] = ent[level]
        slot = self._slots(cols["day"])
        n_slots = len(self._slot_of)
        contributed = self._values(rows)
        for level in LEVELS:
            acc = self._acc[level]
            acc.ensure(len(self._names[level].values), n_slots)
            acc.add(ent[level], slot, contributed)
            self._update_times(
                level, bulk, was_old, old_ent[level], old_ht, old_timed, old_day, rows
            )
        self._update_repeats(bulk, rows, was_old, old_group, cols["group"])

    def _update_times(
        self,
        level: str,
        bulk: bool,
        was_old: np.ndarray,
        old_ent: np.ndarray,
        old_ht: np.ndarray,
        old_timed: np.ndarray,
        old_day: np.ndarray,
        rows: np.ndarray,
    ) -> None:
        c = self._cols
        new_ent = self._ent[level][rows]
        new_ok = c["timed"][rows] & (new_ent >= 0)
        if bulk:
            r = rows[new_ok]
            self._times[level].build(
                new_ent[new_ok], c["ht"][r], c["day"][r], len(self._names[level].values)
            )
            return
        old_ok = old_timed & (old_ent >= 0)
        # an entry that did not change (e.g. a closed case called back) stays where it is;
        # rows[at] are the old rows in the order of old_* (both follow the batch)
        at = was_old
        same = np.zeros(len(old_ent), dtype=bool)
        if len(old_ent):
            same = (
                old_ok
                & new_ok[at]
                & (old_ent == new_ent[at])
                & (old_ht == c["ht"][rows[at]])
                & (old_day == c["day"][rows[at]])
            )
        rm = old_ok & ~same
        add = new_ok.copy()
        add[np.flatnonzero(at)[same]] = False
        if not rm.any() and not add.any():
            return
        r = rows[add]
        self._times[level].replace(
            (old_ent[rm], old_ht[rm], old_day[rm]),
            (new_ent[add], c["ht"][r], c["day"][r]),
        )

    def _update_repeats(
        self,
        bulk: bool,
        rows: np.ndarray,
        was_old: np.ndarray,
        old_group: np.ndarray,
        new_group: np.ndarray,
    ) -> None:
        c = self._cols
        n = self._n
        if bulk:
            self._groups.build(c["group"][:n])
            flags = _repeat_flags(c["group"][:n], c["created"][:n], self.config.repeat_s)
            c["repeat"][:n] = flags
            slot = self._slots(c["day"][:n])
            for level in LEVELS:
                self._acc[level].add(self._ent[level][:n], slot, self._repeat_values(flags))
            return
        # membership: rows whose group changed move, new rows join
        prev_group = np.full(len(rows), -1, dtype=np.int64)
        prev_group[was_old] = old_group
        for row, g0, g1 in zip(rows.tolist(), prev_group.tolist(), new_group.tolist(), strict=True):
            if g0 != g1:
                self._groups.move(row, g0, g1)
        affected = np.unique(np.concatenate([old_group, new_group]))
        affected = affected[affected >= 0]
        m_rows, labels = self._groups.members_of(affected)
        taken = np.zeros(n, dtype=bool)
        taken[rows] = True
        c["repeat"][rows] = False  # rows without a group are never repeats
        if len(m_rows):
            flags = _repeat_flags(labels, c["created"][m_rows], self.config.repeat_s)
            before = c["repeat"][m_rows].copy()
            c["repeat"][m_rows] = flags
            is_taken = taken[m_rows]
            # taken rows: their old flag was taken back above; add the new one
            # other rows: add the difference
            delta = np.where(is_taken, flags.astype(np.int64), flags.astype(np.int64) - before)
            changed = delta != 0
            if changed.any():
                r = m_rows[changed]
                slot = self._slots(c["day"][r])
                for level in LEVELS:
                    self._acc[level].add(
                        self._ent[level][r], slot, self._repeat_values(delta[changed])
                    )

    # ---- output ---------------------------------------------------------------------------

    def _cases(self) -> _Cases:
        """The held columns as the recomputation path's input (views, no copies)."""
        n = self._n
        c = {k: v[:n] for k, v in self._cols.items()}
        return _Cases(
            ids=self._ids,
            created=c["created"],
            ent={level: e[:n] for level, e in self._ent.items()},
            names={level: self._names[level].values for level in LEVELS},
            closed=c["closed"],
            timed=c["timed"],
            ht=c["ht"],
            on_time=c["on_time"],
            rated=c["rated"],
            satisfied=c["satisfied"],
            rating=c["rating"],
            open=c["open"],
            repeat=c["repeat"],
            state=c["state"],
            urgency=c["urgency"],
            category=c["category"],
            categories=self._categories.values,
            on_site=c["on_site"],
            extension=c["extension"],
            due=c["due"],
        )

    def _days_of(self, span: Span) -> tuple[int, int] | bool | None:
        """Day range of a span made of whole local days; None for all time; False otherwise."""
        if span.start == -math.inf and span.end == math.inf:
            return None
        cal = self.calendar
        if cal.is_midnight(span.start) and cal.is_midnight(span.end):
            return cal.day(span.start), cal.day(span.end)
        return False

    def _tally(
        self, level: str, span: Span, now: float, overdue_rows: np.ndarray
    ) -> tuple[_Tally, int]:
        """Sums of a window and its unattributed count; ``overdue_rows``: every case
        overdue at ``now`` (found once for both windows of a table)."""
        days = self._days_of(span)
        if days is False:
            cases = self._cases()
            return cases.tally(level, span, self.config.policy, now), cases.unattributed(
                level, span
            )
        n_ent = len(self._names[level].values)
        slots = None
        if days is not None:
            slots = np.flatnonzero((self._slot_day >= days[0]) & (self._slot_day < days[1]))
        sums, unattributed = self._acc[level].sums(n_ent, slots)
        timed = sums[_ACC_METRICS.index("timed")]
        median, p90 = self._times[level].quantiles(timed, days, (0.5, 0.9))
        ent = self._ent[level]
        od = overdue_rows[ent[overdue_rows] >= 0]
        if days is not None:
            day = self._cols["day"][od]
            od = od[(day >= days[0]) & (day < days[1])]
        m = dict(zip(_ACC_METRICS, sums, strict=True))
        return _Tally(
            received=m["received"],
            closed=m["closed"],
            timed=timed,
            on_time=m["on_time"],
            rated=m["rated"],
            rating_sum=m["rating_sum"],
            satisfied=m["satisfied"],
            repeats=m["repeats"],
            overdue=np.bincount(ent[od], minlength=n_ent).astype(np.int64),
            median=median,
            p90=p90,
        ), unattributed

    def table(
        self,
        level: str,
        window: Window,
        now: float,
        *,
        weights: Weights | None = None,
        min_cases: int | None = None,
    ) -> pd.DataFrame:
        """The league table of ``level`` (TABLE_COLUMNS), equal to ``LeagueTable.compute``
        over the same cases. Weights and the minimum count may differ per call: they only
        act on the sums."""
        _check_level(level)
        span, prev = window.resolve(now, self.calendar)
        open_rows = np.flatnonzero(self._cols["open"][: self._n])
        overdue_rows = open_rows[self._cases().overdue(self.config.policy, open_rows, now)]
        t_now, unattributed = self._tally(level, span, now, overdue_rows)
        t_prev = self._tally(level, prev, now, overdue_rows)[0] if prev else None
        return _build_table(
            level,
            self._names[level].values,
            t_now,
            t_prev,
            self.config,
            weights or self.config.weights,
            self.config.min_cases if min_cases is None else min_cases,
            span,
            prev,
            now,
            unattributed,
        )

    def drill(
        self,
        level: str,
        entity: str,
        window: Window = ALL_TIME,
        now: float | None = None,
        metric: str = "received",
    ) -> list[str]:
        """Ids of the cases behind one number of ``table`` (oldest first).

        ``metric`` is one of DRILL_METRICS: ``received`` lists the entity's cases in the
        window; the others the subset each count is made of (``late`` = completed, not on
        time; ``satisfied`` = rated 4 or 5).
        """
        _check_level(level)
        now = _time_now() if now is None else now
        span, _ = window.resolve(now, self.calendar)
        return self._cases().drill(level, entity, span, metric, self.config.policy, now)


def _time_now() -> float:
    import time

    return time.time()
