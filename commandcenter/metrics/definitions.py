"""Per-case rules every metric is built from (closed, completed, on time, rated, open...).

Written once and used by the metric engine, both league-table implementations and the
demo simulator's own KPIs, so a case cannot be "closed" in one panel and open in another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from commandcenter.domain import OPEN_STATES
from commandcenter.sla import STATE_ORDER, SlaPolicy

STATE_INDEX = {s.value: i for i, s in enumerate(STATE_ORDER)}
CLOSED_CODES = np.array(
    [STATE_INDEX[s] for s in ("closed", "called_back", "evaluated")], dtype=np.int8
)
DONE_CODES = np.array(
    [STATE_INDEX[s] for s in ("completed", "closed", "called_back", "evaluated")], dtype=np.int8
)
OPEN_CODES = np.array(sorted(STATE_INDEX[s.value] for s in OPEN_STATES), dtype=np.int8)


def _lookup(codes: np.ndarray) -> np.ndarray:
    """state code -> member of ``codes``: an index instead of np.isin over every case."""
    table = np.zeros(len(STATE_INDEX), dtype=bool)
    table[codes] = True
    return table


_CLOSED = _lookup(CLOSED_CODES)
_DONE = _lookup(DONE_CODES)
_OPEN = _lookup(OPEN_CODES)


@dataclass(slots=True)
class Flags:
    closed: np.ndarray
    timed: np.ndarray
    ht: np.ndarray
    on_time: np.ndarray
    rated: np.ndarray
    satisfied: np.ndarray
    open: np.ndarray


def case_flags(
    policy: SlaPolicy,
    state: np.ndarray,
    urgency: np.ndarray,
    category: np.ndarray,
    categories: list[str],
    created: np.ndarray,
    completed_ts: np.ndarray,
    extension: np.ndarray,
    rating: np.ndarray,
    due: np.ndarray | None = None,
) -> Flags:
    """Per-case flags. On time is judged as the SLA judges it: against the record's own
    deadline (``due``, e.g. an import's 办理时限) where it has one (> 0), else created +
    the policy's handle limit + extension. The catalogue and the ranking both read this
    one rule, so 按期办结率 is the same number on every screen."""
    closed = _CLOSED[state]
    ht = completed_ts - created
    timed = _DONE[state] & (completed_ts > 0) & np.isfinite(ht)
    ht = np.where(timed, ht, np.nan)
    # Only a completed case is judged on time, and a record's own due date needs no
    # policy: the policy's deadline is computed for the rest alone.
    own = due is not None and len(due) == len(created)
    has_due = (due > 0) if own else np.zeros(len(created), dtype=bool)
    judged = np.flatnonzero(timed & ~has_due)
    deadline = np.where(has_due, due, 0.0) if own else np.zeros(len(created))
    deadline[judged] = policy.handle_deadlines(
        urgency[judged],
        category[judged],
        categories,
        created[judged],
        extension[judged],
    )
    on_time = timed & (completed_ts <= deadline)
    rated = (rating >= 1) & (rating <= 5)
    return Flags(
        closed=closed,
        timed=timed,
        ht=ht,
        on_time=on_time,
        rated=rated,
        satisfied=rated & (rating >= 4),
        open=_OPEN[state],
    )
