"""Time limits (时限) and the red/yellow/blue warning (红黄蓝三色预警) of every open case.

A case is always racing one milestone, chosen by its state:
- not yet dispatched (discovered, reported, signed, returned): sign and assign;
- dispatched, urgent, nobody on site yet: arrive on site;
- otherwise: handle and report back (extensions granted add to this one only).
Every limit counts from the moment the case was filed (``created_ts``), as the published
practice does: a returned case does not get a fresh clock.

The warning level is the share of the limit already used: below ``yellow_at`` blue, below
``red_at`` yellow, else red. Overdue (time left < 0) is always red. Both thresholds and all
limits are configurable, per urgency and per category, from plain data (``SlaPolicy.from_dict``).

A record that carries its own deadline (``due_ts`` > 0: a 12345 export's 办理时限, Open311's
``expected_datetime``, NYC 311's ``due_date``) is judged by that deadline, whatever
milestone it is at: the source system's overdue count is then the hall's. The policy's
limits fill in only where a record has none. The share used is measured from filing to
the record's deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from commandcenter.domain import CaseState, SlaLevel, Urgency

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


class Milestone(IntEnum):
    NONE = 0  # closed: no limit runs
    ASSIGN = 1  # 签收并指派
    ARRIVE = 2  # 到场
    HANDLE = 3  # 处置反馈


MILESTONE_LABELS_ZH = {
    Milestone.NONE: "",
    Milestone.ASSIGN: "签收派遣",
    Milestone.ARRIVE: "到场",
    Milestone.HANDLE: "处置反馈",
}

LEVEL_CODES: tuple[SlaLevel, ...] = (SlaLevel.BLUE, SlaLevel.YELLOW, SlaLevel.RED)
NO_LEVEL = -1


@dataclass(frozen=True, slots=True)
class Limits:
    """Seconds from filing; ``arrive`` None means no on-site limit for this class."""

    assign: float
    handle: float
    arrive: float | None = None


DEFAULT_LIMITS: dict[Urgency, Limits] = {
    Urgency.URGENT: Limits(assign=5 * MINUTE, arrive=20 * MINUTE, handle=24 * HOUR),
    Urgency.NORMAL: Limits(assign=24 * HOUR, arrive=None, handle=7 * DAY),
}

_NOT_DISPATCHED = frozenset(
    {CaseState.DISCOVERED, CaseState.REPORTED, CaseState.SIGNED, CaseState.RETURNED}
)


@dataclass(frozen=True, slots=True)
class SlaStatus:
    milestone: Milestone
    deadline: float
    remaining: float  # seconds; negative when overdue
    level: SlaLevel | None
    used: float  # share of the limit used, 0..(>1)

    @property
    def overdue(self) -> bool:
        return self.milestone is not Milestone.NONE and self.remaining < 0


@dataclass(slots=True)
class SlaPolicy:
    limits: dict[Urgency, Limits] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    category_limits: dict[str, dict[Urgency, Limits]] = field(default_factory=dict)
    yellow_at: float = 0.5
    red_at: float = 0.8

    def __post_init__(self) -> None:
        if not 0.0 < self.yellow_at < self.red_at <= 1.0:
            raise ValueError(
                f"need 0 < yellow_at < red_at <= 1, got {self.yellow_at}, {self.red_at}"
            )
        for limits in [
            *self.limits.values(),
            *(x for d in self.category_limits.values() for x in d.values()),
        ]:
            if (
                limits.assign <= 0
                or limits.handle <= 0
                or (limits.arrive is not None and limits.arrive <= 0)
            ):
                raise ValueError(f"time limits must be positive: {limits}")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SlaPolicy:
        """From settings: {"yellow_at": .5, "red_at": .8, "limits": {"urgent": {"assign": 300,
        "arrive": 1200, "handle": 86400}, ...}, "categories": {"燃气泄漏": {"urgent": {...}}}}."""

        def limits_of(d: dict[str, Any], base: Limits) -> Limits:
            return Limits(
                assign=float(d.get("assign", base.assign)),
                handle=float(d.get("handle", base.handle)),
                arrive=(float(d["arrive"]) if d.get("arrive") is not None else None)
                if "arrive" in d
                else base.arrive,
            )

        limits = dict(DEFAULT_LIMITS)
        for name, d in raw.get("limits", {}).items():
            u = Urgency(name)
            limits[u] = limits_of(d, limits[u])
        cats: dict[str, dict[Urgency, Limits]] = {}
        for cat, per in raw.get("categories", {}).items():
            cats[cat] = {Urgency(u): limits_of(d, limits[Urgency(u)]) for u, d in per.items()}
        return cls(
            limits=limits,
            category_limits=cats,
            yellow_at=float(raw.get("yellow_at", 0.5)),
            red_at=float(raw.get("red_at", 0.8)),
        )

    def limits_for(self, urgency: str, category: str = "") -> Limits:
        u = Urgency(urgency)
        per_cat = self.category_limits.get(category)
        if per_cat and u in per_cat:
            return per_cat[u]
        return self.limits[u]

    def level_of(self, used: float) -> SlaLevel:
        if used >= self.red_at:
            return SlaLevel.RED
        if used >= self.yellow_at:
            return SlaLevel.YELLOW
        return SlaLevel.BLUE

    def evaluate(self, case: Any, now: float) -> SlaStatus:
        """For one case-like object (domain Case or wire CaseData: same attribute names)."""
        state = CaseState(case.state)
        if state not in _NOT_DISPATCHED and state not in (CaseState.ASSIGNED, CaseState.HANDLING):
            return SlaStatus(Milestone.NONE, 0.0, 0.0, None, 0.0)
        lim = self.limits_for(case.urgency, case.category)
        if state in _NOT_DISPATCHED:
            milestone, limit = Milestone.ASSIGN, lim.assign
        elif state is CaseState.ASSIGNED and lim.arrive is not None and not case.on_site_ts:
            milestone, limit = Milestone.ARRIVE, lim.arrive
        else:
            milestone, limit = Milestone.HANDLE, lim.handle + case.extension_s
        deadline = case.created_ts + limit
        due = float(getattr(case, "due_ts", 0.0) or 0.0)
        if due > 0.0:
            deadline, limit = due, max(due - case.created_ts, 1.0)
        used = (now - case.created_ts) / limit
        return SlaStatus(milestone, deadline, deadline - now, self.level_of(used), used)

    def evaluate_arrays(
        self,
        now: float,
        state: np.ndarray,
        urgency: np.ndarray,
        category: np.ndarray,
        categories: list[str],
        created: np.ndarray,
        on_site: np.ndarray,
        extension: np.ndarray,
        due: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vectorised ``evaluate`` over the store's columns.

        ``state``/``urgency`` hold indices into ``STATE_ORDER``/``URGENCY_ORDER``,
        ``category`` indices into ``categories``. Returns (milestone codes, seconds
        remaining, level codes: index into LEVEL_CODES or NO_LEVEL for closed cases).

        Only the cases with a time limit running (not finished) are evaluated: a county's
        imported months are mostly closed cases, and every reader of the queue, the
        alarms, the map and the catalogue asks for these arrays each second.
        """
        n = len(state)
        milestone = np.zeros(n, dtype=np.int8)
        remaining = np.zeros(n)
        level = np.full(n, NO_LEVEL, dtype=np.int8)
        running = np.flatnonzero(
            np.isin(state, _NOT_DISPATCHED_CODES)
            | (state == _ASSIGNED_CODE)
            | (state == _HANDLING_CODE)
        )
        if running.size:
            m, r, lv = self._evaluate_running(
                now, state[running], urgency[running], category[running], categories, created[running],
                on_site[running], extension[running], None if due is None else due[running],
            )  # fmt: skip
            milestone[running], remaining[running], level[running] = m, r, lv
        return milestone, remaining, level

    def handle_deadlines(
        self,
        urgency: np.ndarray,
        category: np.ndarray,
        categories: list[str],
        created: np.ndarray,
        extension: np.ndarray,
    ) -> np.ndarray:
        """created + handle limit + extension per case: the deadline ``evaluate_arrays``
        gives a case in handling (without a due date of its own), for cases in any state
        (whether a completed case was on time)."""
        (_, _, handle), at = self._limits_of(categories, urgency, category)
        return created + (handle[at] + extension)

    def _limits_of(
        self, categories: list[str], urgency: np.ndarray, category: np.ndarray
    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
        """The (assign, arrive, handle) tables, flattened, and each case's index in them.
        A category code below 0 reads the spare last column (the urgency's limits)."""
        tables = self._limit_table(categories, category, len(category))
        width = tables[0].shape[1]
        cat = category.astype(np.intp)
        if len(cat) and cat.min() < 0:
            cat = np.where(cat < 0, width - 1, cat)
        at = urgency.astype(np.intp) * width + cat
        return (tables[0].ravel(), tables[1].ravel(), tables[2].ravel()), at

    def _limit_table(
        self, categories: list[str], category: np.ndarray, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(assign, arrive, handle) limits per (urgency code, category code): the cases'
        limits are read from it by index instead of one masked pass per urgency and
        configured category. Codes beyond ``categories`` get the urgency's limits, and so
        does the spare last column."""
        width = max(len(categories), int(category.max()) + 1 if n else 0) + 1
        tables = np.empty((3, len(URGENCY_ORDER), width))
        for ui, u in enumerate(URGENCY_ORDER):
            base = self.limits[u]
            tables[:, ui, :] = np.array(
                [[base.assign], [np.nan if base.arrive is None else base.arrive], [base.handle]]
            )
        index: dict[str, int] = {}
        for i, c in enumerate(categories):
            index.setdefault(c, i)  # a name listed twice: its first code, as list.index
        for cat, per in self.category_limits.items():
            ci = index.get(cat)
            if ci is None:
                continue
            for ui, u in enumerate(URGENCY_ORDER):
                if u in per:
                    lim = per[u]
                    tables[:, ui, ci] = (
                        lim.assign,
                        np.nan if lim.arrive is None else lim.arrive,
                        lim.handle,
                    )
        return tables[0], tables[1], tables[2]

    def _evaluate_running(
        self,
        now: float,
        state: np.ndarray,
        urgency: np.ndarray,
        category: np.ndarray,
        categories: list[str],
        created: np.ndarray,
        on_site: np.ndarray,
        extension: np.ndarray,
        due: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``evaluate_arrays`` over cases whose time limit runs (the same rules)."""
        n = len(state)
        (assign_t, arrive_t, handle_t), at = self._limits_of(categories, urgency, category)
        assign_l = assign_t[at]
        arrive_l = arrive_t[at]
        handle_l = handle_t[at]
        not_dispatched = np.isin(state, _NOT_DISPATCHED_CODES)
        assigned = state == _ASSIGNED_CODE
        handling = state == _HANDLING_CODE
        arriving = assigned & ~np.isnan(arrive_l) & (on_site == 0)
        milestone = np.zeros(n, dtype=np.int8)
        limit = np.ones(n)
        milestone[not_dispatched] = Milestone.ASSIGN
        limit[not_dispatched] = assign_l[not_dispatched]
        milestone[arriving] = Milestone.ARRIVE
        limit[arriving] = arrive_l[arriving]
        handle_m = (assigned & ~arriving) | handling
        milestone[handle_m] = Milestone.HANDLE
        limit[handle_m] = handle_l[handle_m] + extension[handle_m]
        if due is not None:
            own = (due > 0) & (milestone != Milestone.NONE)
            limit[own] = np.maximum(due[own] - created[own], 1.0)
        elapsed = now - created
        remaining = created + limit - now
        used = elapsed / limit
        level = np.where(used >= self.red_at, 2, np.where(used >= self.yellow_at, 1, 0)).astype(
            np.int8
        )
        level[milestone == Milestone.NONE] = NO_LEVEL
        remaining[milestone == Milestone.NONE] = 0.0
        return milestone, remaining, level


# Column codes used by the store and evaluate_arrays.
STATE_ORDER: tuple[CaseState, ...] = tuple(CaseState)
URGENCY_ORDER: tuple[Urgency, ...] = (Urgency.URGENT, Urgency.NORMAL)
_NOT_DISPATCHED_CODES = np.array([STATE_ORDER.index(s) for s in _NOT_DISPATCHED], dtype=np.int8)
_ASSIGNED_CODE = STATE_ORDER.index(CaseState.ASSIGNED)
_HANDLING_CODE = STATE_ORDER.index(CaseState.HANDLING)


def format_remaining(seconds: float) -> str:
    """Countdown as an officer reads it: 4:32, 3h12m, 2d05h; '-' prefix when overdue."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    if s < HOUR:
        return f"{sign}{s // 60}:{s % 60:02d}"
    if s < DAY:
        return f"{sign}{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{sign}{s // 86400}d{(s % 86400) // 3600:02d}h"
