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

Two engines share the definitions (``definitions``) and the table builder (``table``):
``batch.LeagueTable`` recomputes from a frame (``Store.to_frame()`` columns) with vector
operations, and ``incremental.RankingEngine`` keeps per-entity, per-day accumulators and
a sorted index of handling times (``accumulators``) that change sets update in place,
keyed by case id and version, coded by the store's own interners.
"""

from commandcenter.metrics.windows import (
    ALL_TIME,
    LAST_7_DAYS,
    LAST_30_DAYS,
    TODAY,
    DayCalendar,
    Span,
    Window,
)
from commandcenter.ranking.batch import LeagueTable
from commandcenter.ranking.definitions import (
    DEFAULT_MIN_CASES,
    DEFAULT_REPEAT_DAYS,
    DEPARTMENT,
    DRILL_METRICS,
    GRID,
    LEVELS,
    METRICS,
    OFFICER,
    TABLE_COLUMNS,
    TOWNSHIP,
    RankingConfig,
    Weights,
    departments_from_geography,
)
from commandcenter.ranking.incremental import RankingEngine, UpdateResult

__all__ = [
    "ALL_TIME",
    "DEFAULT_MIN_CASES",
    "DEFAULT_REPEAT_DAYS",
    "DEPARTMENT",
    "DRILL_METRICS",
    "GRID",
    "LAST_7_DAYS",
    "LAST_30_DAYS",
    "LEVELS",
    "METRICS",
    "OFFICER",
    "TABLE_COLUMNS",
    "TODAY",
    "TOWNSHIP",
    "DayCalendar",
    "LeagueTable",
    "RankingConfig",
    "RankingEngine",
    "Span",
    "UpdateResult",
    "Weights",
    "Window",
    "departments_from_geography",
]
