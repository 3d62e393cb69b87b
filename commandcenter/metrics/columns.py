"""Cases as columns: what the metric engine counts over, from the store or from any list.

The store hands out views of its own numpy columns and interners (no copy, so the
catalogue over a million cases costs vector passes, not a frame build). The demo
simulator and tests build the same columns from a list of case records, so every number
of theirs is computed by the very code that computes the console's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from commandcenter.metrics.definitions import STATE_INDEX
from commandcenter.sla import URGENCY_ORDER

URGENCY_INDEX = {u.value: i for i, u in enumerate(URGENCY_ORDER)}
CODE_COLUMNS = ("category", "township", "grid", "assignee", "assignee_kind", "address")


@dataclass(slots=True)
class CaseColumns:
    """One row per case; ``codes[c]`` index into ``values[c]`` (the interner's strings)."""

    ids: Sequence[str]
    state: np.ndarray  # int8 index into sla.STATE_ORDER
    urgency: np.ndarray  # int8 index into sla.URGENCY_ORDER
    rating: np.ndarray
    created: np.ndarray
    completed: np.ndarray
    closed: np.ndarray
    on_site: np.ndarray
    extension: np.ndarray
    due: np.ndarray  # the record's own deadline (an import's 办理时限); 0: the policy's
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)
    version: np.ndarray | None = None  # the records' versions (the store's; None: unknown)

    def __len__(self) -> int:
        return len(self.state)

    def copy(self) -> CaseColumns:
        """Every row, copied (a snapshot handed to another thread)."""
        return CaseColumns(
            ids=list(self.ids),
            state=self.state.copy(),
            urgency=self.urgency.copy(),
            rating=self.rating.copy(),
            created=self.created.copy(),
            completed=self.completed.copy(),
            closed=self.closed.copy(),
            on_site=self.on_site.copy(),
            extension=self.extension.copy(),
            due=self.due.copy(),
            codes={k: v.copy() for k, v in self.codes.items()},
            values=self.values,
            version=None if self.version is None else self.version.copy(),
        )

    def take(self, rows: np.ndarray) -> CaseColumns:
        """A copy of some rows, decoded by the same (shared, append-only) value lists: what
        the store hands a consumer on another thread, which then never reads the live
        columns the store keeps writing."""
        ids = self.ids
        return CaseColumns(
            ids=[ids[int(r)] for r in rows],
            state=self.state[rows],
            urgency=self.urgency[rows],
            rating=self.rating[rows],
            created=self.created[rows],
            completed=self.completed[rows],
            closed=self.closed[rows],
            on_site=self.on_site[rows],
            extension=self.extension[rows],
            due=self.due[rows],
            codes={k: v[rows] for k, v in self.codes.items()},
            values=self.values,
            version=None if self.version is None else self.version[rows],
        )


def columns_from_cases(cases: Iterable[Any]) -> CaseColumns:
    """Columns of any case-like records (``domain.Case``, the wire's ``CaseData``)."""
    rows = list(cases)
    interned: dict[str, dict[str, int]] = {c: {} for c in CODE_COLUMNS}

    def code(col: str, value: Any) -> int:
        table = interned[col]
        key = str(value or "")
        i = table.get(key)
        if i is None:
            i = table[key] = len(table)
        return i

    def floats(attr: str) -> np.ndarray:
        return np.array([float(getattr(c, attr, 0.0) or 0.0) for c in rows], dtype=np.float64)

    return CaseColumns(
        ids=[str(c.id) for c in rows],
        state=np.array([STATE_INDEX[str(c.state)] for c in rows], dtype=np.int8),
        urgency=np.array([URGENCY_INDEX[str(c.urgency)] for c in rows], dtype=np.int8),
        rating=np.array([int(getattr(c, "rating", 0) or 0) for c in rows], dtype=np.int8),
        created=floats("created_ts"),
        completed=floats("completed_ts"),
        closed=floats("closed_ts"),
        on_site=floats("on_site_ts"),
        extension=floats("extension_s"),
        due=floats("due_ts"),
        codes={
            col: np.array([code(col, getattr(c, col, "")) for c in rows], dtype=np.int32)
            for col in CODE_COLUMNS
        },
        values={col: list(interned[col]) for col in CODE_COLUMNS},
    )
