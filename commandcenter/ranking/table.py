"""Tallies, scores, ranks and the table builder: what both engines share after counting.

Each engine only produces a ``Tally`` (sums per entity code for one window) its own way;
turning tallies into the table is this one code path, so the two cannot disagree on a
score, a tie or the order of ranked and unranked entities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas costs ~0.4 s to import: not before the first frame (start-up)
    import pandas as pd

from commandcenter.metrics.windows import Span
from commandcenter.ranking.definitions import DRILL_METRICS, RankingConfig, Weights
from commandcenter.sla import SlaPolicy


@dataclass(slots=True)
class Tally:
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


def grouped_quantiles(values_at: Any, counts: np.ndarray, qs: Sequence[float]) -> list[np.ndarray]:
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


def sort_by_entity_then_value(ent: np.ndarray, val: np.ndarray, n_entities: int) -> np.ndarray:
    """Order putting entity codes ascending and values ascending within each entity.

    Two passes (values, then a stable sort by entity) are ~4x faster than lexsort: the
    value sort is vectorised and the entity sort is a radix sort for < 65,536 entities.
    """
    order = np.argsort(val)
    return order[stable_entity_order(ent[order], n_entities)]


def stable_entity_order(ent: np.ndarray, n_entities: int) -> np.ndarray:
    """A stable order by entity code: the second pass of ``sort_by_entity_then_value``,
    on its own for callers that sort the values once and group them by several levels."""
    e = ent.astype(np.uint16) if n_entities < 65536 else ent
    return np.argsort(e, kind="stable")


@dataclass(slots=True)
class Cases:
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

    def tally(self, level: str, span: Span, policy: SlaPolicy, now: float) -> Tally:
        """Sums over the rows created in ``span``: the recomputation path."""
        return self.tallies((level,), span, policy, now)[level]

    def tallies(
        self, levels: Sequence[str], span: Span, policy: SlaPolicy, now: float
    ) -> dict[str, Tally]:
        """``tally`` of several levels: the window, the overdue cases and the order of the
        handling times are found once and only grouped per level."""
        in_span = span.contains(self.created)
        open_rows = np.flatnonzero(in_span & self.open)
        overdue = np.zeros(len(self.created), dtype=bool)
        overdue[open_rows[self.overdue(policy, open_rows, now)]] = True
        timed_rows = np.flatnonzero(in_span & self.timed)
        timed_rows = timed_rows[np.argsort(self.ht[timed_rows])]
        # the 0/1 counts as bits of one code per case: one bincount per level for all
        flags = (self.closed, self.on_time, self.rated, self.satisfied, self.repeat, overdue)
        bits = np.zeros(len(self.created), dtype=np.int64)
        for b, flag in enumerate(flags):
            bits |= flag.astype(np.int64) << b
        weights = np.array([[(k >> b) & 1 for b in range(len(flags))] for k in range(64)])
        out = {}
        for level in levels:
            ent = self.ent[level]
            n_ent = len(self.names[level])
            rows = np.flatnonzero(in_span & (ent >= 0))
            e = ent[rows]
            per_bits = np.bincount(e * 64 + bits[rows], minlength=n_ent * 64).reshape(n_ent, 64)
            counts = per_bits @ weights  # (n_ent, flags)
            rated = rows[self.rated[rows]]
            rating_sum = np.bincount(
                ent[rated], weights=self.rating[rated].astype(np.float64), minlength=n_ent
            )
            t_rows = timed_rows[ent[timed_rows] >= 0]
            t_ent = ent[t_rows]
            sorted_vals = self.ht[t_rows[stable_entity_order(t_ent, n_ent)]]
            timed = np.bincount(t_ent, minlength=n_ent).astype(np.int64)
            median, p90 = grouped_quantiles(sorted_vals.__getitem__, timed, (0.5, 0.9))
            out[level] = Tally(
                received=per_bits.sum(axis=1).astype(np.int64),
                closed=counts[:, 0].astype(np.int64),
                timed=timed,
                on_time=counts[:, 1].astype(np.int64),
                rated=counts[:, 2].astype(np.int64),
                rating_sum=np.rint(rating_sum).astype(np.int64),
                satisfied=counts[:, 3].astype(np.int64),
                repeats=counts[:, 4].astype(np.int64),
                overdue=counts[:, 5].astype(np.int64),
                median=median,
                p90=p90,
            )
        return out

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


def _score_parts(t: Tally, w: Weights) -> dict[str, np.ndarray]:
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


def _scores(t: Tally, w: Weights) -> tuple[np.ndarray, dict[str, np.ndarray]]:
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


def _ranks(t: Tally, w: Weights, min_cases: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, ranked flag, competition rank with NaN for the unranked) per entity code."""
    score, _ = _scores(t, w)
    ranked = (t.received >= max(min_cases, 1)) & np.isfinite(score)
    rank = np.full(len(score), np.nan)
    if ranked.any():
        # Round so that equal scores reached by different float paths still tie.
        keyed = np.round(score[ranked], 9)
        import pandas as pd

        rank[ranked] = pd.Series(keyed).rank(method="min", ascending=False).to_numpy()
    return score, ranked, rank


def build_table(
    level: str,
    names: list[str],
    now_t: Tally,
    prev_t: Tally | None,
    cfg: RankingConfig,
    weights: Weights,
    min_cases: int,
    span: Span,
    prev: Span | None,
    now: float,
    unattributed: int,
) -> pd.DataFrame:
    import pandas as pd

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
