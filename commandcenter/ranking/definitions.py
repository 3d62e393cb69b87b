"""What every number of a league table means: levels, metrics, weights, configuration.

The contract both engines (``batch`` and ``incremental``) implement; the package's
docstring states it in prose and docs/ranking.md with worked examples. Repeat flags are
a per-case rule both engines need, so they are defined here once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np

from commandcenter.sla import DAY, SlaPolicy

TOWNSHIP: Final = "township"
DEPARTMENT: Final = "department"
GRID: Final = "grid"
OFFICER: Final = "officer"
LEVELS: tuple[str, ...] = (TOWNSHIP, DEPARTMENT, GRID, OFFICER)

DEFAULT_MIN_CASES = 10
DEFAULT_REPEAT_DAYS = 7.0


# What each column of a league table means, for tooltips and the briefing notes.
METRICS: dict[str, tuple[str, str]] = {
    "received": ("受理量", "cases created in the window attributed to the entity"),
    "closed": ("结案量", "received cases closed, called back or evaluated"),
    "closure_rate": ("结案率", "closed / received"),
    "completed": ("办结量", "received cases completed or later, with a completion time"),
    "on_time": (
        "按时办结",
        "completed by its own due date, else created_ts + handle limit + extension",
    ),
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


def group_time_order(group: np.ndarray, created: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows that have a group (>= 0), sorted by (group, created), and their groups."""
    idx = np.flatnonzero(group >= 0)
    g = group[idx]
    n = len(idx)
    if n < 2:
        return idx, g
    c = created[idx]
    order = np.argsort(c)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    # one exact int64 key, group-major and time-minor, sorts ~3x faster than lexsort
    exact = int(g.max()) < (2**62) // (n + 1)
    order = np.argsort(g * n + rank) if exact else np.lexsort((rank, g))
    return idx[order], g[order]


def repeat_flags(
    group: np.ndarray,
    created: np.ndarray,
    window_s: float,
    order: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """True where a case of the same group was created within ``window_s`` before it.

    Sorted by (group, created), the nearest earlier case is the previous row, so one
    comparison per row decides it; a tie in time makes both cases repeats. ``order``:
    ``group_time_order``'s result when the caller has it already.
    """
    out = np.zeros(len(group), dtype=bool)
    rows, gs = order if order is not None else group_time_order(group, created)
    if len(rows) < 2:
        return out
    cs = created[rows]
    same = gs[1:] == gs[:-1]
    gap = cs[1:] - cs[:-1]
    rep = np.zeros(len(rows), dtype=bool)
    rep[1:] |= same & (gap <= window_s)
    rep[:-1] |= same & (gap == 0)
    out[rows] = rep
    return out


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


def make_config(
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


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; one of {LEVELS}")
