"""The hall's own alarms: what must make the duty officer look up, and stay up until handled.

Four kinds, all computed from the store (Qt-free, vectorised over its columns):

- ``breached``: an open case past its time limit (store.sla_arrays: remaining < 0);
- ``about_to_breach``: an open case in the red band (level red) that is not overdue yet:
  the last chance to chase it;
- ``cluster``: at least ``cluster_min`` open cases of one category in one grid filed within
  ``cluster_window_s``: one cause behind many calls (a burst main, a blocked road);
- ``new_urgent``: an urgent case waiting to be signed for, filed within ``new_window_s``:
  the queue flashes it and a tone sounds until someone acknowledges it.

Every alarm leads to an action: acknowledging it (``acknowledge(id, comment, who)``) is
recorded in the audit log, so "who saw the breach, and what did they say" has an answer;
``snooze`` silences it until a time. An alarm clears by itself when its condition ends
(the case was signed, dispatched, closed, the cluster thinned out); acknowledged alarms
stay listed (greyed) while their condition holds, so nothing disappears unexplained.

Why evaluate on a tick instead of on each change: levels move with time, not only with
events; one vectorised pass a second over 100k cases costs ~6 ms. The owner (main.py, or a
panel that has no shared engine) calls ``evaluate`` once a second.

Why a budget per evaluation (``raise_budget_s``): the first evaluation over 100k cases finds
~11k alarms, and building their objects took ~70 ms in one frame (the queue's target is no
frame over 100 ms at 1,000 changes/s). Each evaluation raises new alarms until the budget is
spent, loudest kinds first (new urgent, breached, about to breach, clusters); the rest stay
"not yet raised" and the next evaluation finds them new again, so nothing is lost, only
spread over frames. ``behind`` says more are waiting; a panel that cares (the queue) calls
``catch_up`` once a frame until it is False, otherwise the 1 Hz tick finishes the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from typing import Any

import numpy as np

from commandcenter.domain import OPEN_STATES, CaseState, Urgency
from commandcenter.observable import Subscribers
from commandcenter.queue import shared_sla_arrays
from commandcenter.sla import STATE_ORDER, URGENCY_ORDER


class AlarmKind(StrEnum):
    BREACHED = "breached"  # 已超期
    ABOUT_TO_BREACH = "about_to_breach"  # 即将超期
    CLUSTER = "cluster"  # 同类聚集
    NEW_URGENT = "new_urgent"  # 新紧急案件待签收


class AlarmLevel(IntEnum):
    """How loud: decides the colour, the sort order and the tone (``SOUND_FOR_LEVEL``)."""

    NOTICE = 1
    WARNING = 2
    CRITICAL = 3


LEVEL_OF_KIND: dict[AlarmKind, AlarmLevel] = {
    AlarmKind.BREACHED: AlarmLevel.CRITICAL,
    AlarmKind.NEW_URGENT: AlarmLevel.CRITICAL,
    AlarmKind.ABOUT_TO_BREACH: AlarmLevel.WARNING,
    AlarmKind.CLUSTER: AlarmLevel.NOTICE,
}
# The tone per level: a name the UI maps to a synthesised sound (widgets/cases/sound.py).
SOUND_FOR_LEVEL: dict[AlarmLevel, str] = {
    AlarmLevel.CRITICAL: "critical",
    AlarmLevel.WARNING: "warning",
    AlarmLevel.NOTICE: "notice",
}
KIND_LABELS_ZH: dict[AlarmKind, str] = {
    AlarmKind.BREACHED: "已超期",
    AlarmKind.ABOUT_TO_BREACH: "即将超期",
    AlarmKind.CLUSTER: "同类聚集",
    AlarmKind.NEW_URGENT: "紧急待签收",
}

_OPEN_CODES = np.array(sorted(STATE_ORDER.index(s) for s in OPEN_STATES), dtype=np.int8)
_REPORTED = STATE_ORDER.index(CaseState.REPORTED)
_URGENT = URGENCY_ORDER.index(Urgency.URGENT)
_RED = 2
_CASE_KINDS = (AlarmKind.BREACHED, AlarmKind.ABOUT_TO_BREACH, AlarmKind.NEW_URGENT)
# Raised in this order when the budget cannot hold them all: what sounds first.
_RAISE_ORDER = (AlarmKind.NEW_URGENT, AlarmKind.BREACHED, AlarmKind.ABOUT_TO_BREACH)
RAISE_BUDGET_S = 0.015  # new alarm objects built per evaluation (~3k); see the module
_MIN_RAISED = 256  # raised per evaluation whatever the clock says: progress is guaranteed
_EMPTY = np.zeros(0, dtype=np.int64)


class _Budget:
    """Time left for building new alarms in one evaluation (checked every 64 items)."""

    __slots__ = ("deadline", "made", "spent")

    def __init__(self, seconds: float | None) -> None:
        self.deadline = None if seconds is None else time.perf_counter() + seconds
        self.made = 0
        self.spent = False

    def take(self) -> bool:
        """True: build one more; False: the budget is spent (stays spent)."""
        if self.spent:
            return False
        if (
            self.deadline is not None
            and self.made >= _MIN_RAISED
            and self.made % 64 == 0
            and time.perf_counter() > self.deadline
        ):
            self.spent = True
            return False
        self.made += 1
        return True


@dataclass(frozen=True, slots=True)
class Alarm:
    """One active alarm. ``id`` is stable while the condition holds (kind + case, or kind +
    grid + category), so acknowledging survives re-evaluation."""

    id: str
    kind: AlarmKind
    level: AlarmLevel
    raised_at: float  # wall clock
    case_id: str = ""
    grid: str = ""
    category: str = ""
    count: int = 1  # cases in a cluster
    case_ids: tuple[str, ...] = ()
    row: int = -1  # the case's store row (per-case alarms)
    remaining: float = 0.0  # seconds left when raised; AlarmEngine.time_left is current
    acknowledged: bool = False
    ack_by: str = ""
    ack_comment: str = ""
    ack_at: float = 0.0
    snoozed_until: float = 0.0

    def silenced(self, now: float) -> bool:
        """Neither flashing nor sounding: acknowledged, or snoozed until later."""
        return self.acknowledged or self.snoozed_until > now

    @property
    def sound(self) -> str:
        return SOUND_FOR_LEVEL[self.level]


@dataclass(slots=True)
class AlarmChange:
    raised: list[Alarm] = field(default_factory=list)
    cleared: list[Alarm] = field(default_factory=list)
    updated: list[Alarm] = field(default_factory=list)  # acknowledged, snoozed, re-counted

    def __bool__(self) -> bool:
        return bool(self.raised or self.cleared or self.updated)


class AlarmEngine:
    """Keeps the set of active alarms in step with the store (see the module docstring)."""

    def __init__(
        self,
        store: Any,
        audit: Any = None,
        *,
        cluster_min: int = 3,
        cluster_window_s: float = 2 * 3600.0,
        new_window_s: float = 1800.0,
        clock: Callable[[], float] = time.time,
        raise_budget_s: float | None = RAISE_BUDGET_S,
    ) -> None:
        """``audit``: an ``audit.AuditLog`` (or None) that records acknowledgements and
        snoozes. ``clock``: the wall clock for acknowledgements and snoozes (people's time);
        the case conditions use the feed's clock (``store.clock``), like the countdowns.
        ``raise_budget_s``: time per evaluation for building new alarms (None: no limit)."""
        self.store = store
        self.audit = audit
        self.cluster_min = cluster_min
        self.cluster_window_s = cluster_window_s
        self.new_window_s = new_window_s
        self.clock = clock
        self._alarms: dict[str, Alarm] = {}
        self._rows: dict[AlarmKind, np.ndarray] = {}
        self._ids_seen: Any = None
        self._remaining = np.zeros(0)
        self._subs: Subscribers[AlarmChange] = Subscribers()
        self.evaluations = 0
        self.raise_budget_s = raise_budget_s
        self.behind = False  # the last evaluation ran out of budget: more alarms to raise

    # ---- subscriptions -------------------------------------------------------------------

    def subscribe(self, callback: Callable[[AlarmChange], None]) -> Callable[[], None]:
        """``callback(change)`` after each evaluation or acknowledgement that changed
        something; returns the unsubscribe."""
        return self._subs.add(callback)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    # ---- evaluation ----------------------------------------------------------------------

    def _case_rows(self, now: float) -> dict[AlarmKind, np.ndarray]:
        """Store rows in each per-case alarm condition (vectorised); keeps the remaining
        seconds of every row for ``time_left``."""
        store = self.store
        n = len(store)
        if n == 0:
            self._remaining = np.zeros(0)
            return {k: np.zeros(0, dtype=np.int64) for k in _CASE_KINDS}
        # Shared with the queue: one evaluation of the 100k rows per store state and instant.
        _, (milestone, remaining, level) = shared_sla_arrays(store, now)
        self._remaining = remaining
        state = store._state[:n]
        open_ = np.isin(state, _OPEN_CODES) & (milestone > 0)
        created = store._f["created_ts"][:n]
        return {
            AlarmKind.BREACHED: np.flatnonzero(open_ & (remaining < 0)),
            AlarmKind.ABOUT_TO_BREACH: np.flatnonzero(open_ & (level == _RED) & (remaining >= 0)),
            AlarmKind.NEW_URGENT: np.flatnonzero(
                (state == _REPORTED)
                & (store._urgency[:n] == _URGENT)
                & (created >= now - self.new_window_s)
            ),
        }

    def _clusters(self, now: float, wall: float, budget: _Budget) -> dict[str, Alarm]:
        """Open cases filed in the window, grouped by (grid, category): groups >= N.

        One sort groups them (no pass per group); a group's tuple of case ids is built
        only when the group is new or changed size, so standing clusters cost nothing. A new
        group over the budget is left out (raised by a later evaluation)."""
        store = self.store
        n = len(store)
        found: dict[str, Alarm] = {}
        if n == 0:
            return found
        state = store._state[:n]
        created = store._f["created_ts"][:n]
        rows = np.flatnonzero(
            np.isin(state, _OPEN_CODES) & (created >= now - self.cluster_window_s)
        )
        if rows.size < self.cluster_min:
            return found
        ncat = len(store._interners["category"].values) + 1
        key = store._codes["grid"][rows].astype(np.int64) * ncat + store._codes["category"][rows]
        order = np.argsort(key, kind="stable")
        key_sorted = key[order]
        starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]])
        counts = np.diff(np.r_[starts, key_sorted.size])
        grid_vals = store._interners["grid"].values
        cat_vals = store._interners["category"].values
        ids = store._ids
        for gi in np.flatnonzero(counts >= self.cluster_min).tolist():
            k = int(key_sorted[starts[gi]])
            g, c = grid_vals[k // ncat], cat_vals[k % ncat]
            aid = f"cluster:{g}:{c}"
            count = int(counts[gi])
            prev = self._alarms.get(aid)
            if prev is not None and prev.count == count:
                found[aid] = prev
                continue
            if prev is None and not budget.take():
                continue
            members = np.sort(rows[order[starts[gi] : starts[gi] + count]])
            case_ids = tuple(ids[r] for r in members.tolist())
            found[aid] = Alarm(
                aid,
                AlarmKind.CLUSTER,
                LEVEL_OF_KIND[AlarmKind.CLUSTER],
                wall,
                grid=g,
                category=c,
                count=count,
                case_ids=case_ids,
                case_id=case_ids[-1],
            )
        return found

    def evaluate(self, now: float | None = None) -> AlarmChange:
        """Re-derive the active alarms at ``now`` (feed time); publish what changed.

        Per-case alarms are diffed as sets of store rows (numpy), so a second evaluation
        with thousands of standing alarms builds no objects for them. New alarms are built
        within ``raise_budget_s`` (see the module); ``behind`` tells if some had to wait."""
        now = self.store.clock.now() if now is None else now
        wall = self.clock()
        change = AlarmChange()
        ids = self.store._ids
        kept: dict[str, Alarm] = {}
        if ids is not self._ids_seen:  # a snapshot replaced the store: rows were renumbered
            self._ids_seen = ids
            self._rows = {}
            for aid in [a for a, x in self._alarms.items() if x.row >= 0]:
                kept[aid] = self._alarms.pop(aid)
        # After a resync every standing alarm must be re-keyed in this pass (or it would be
        # reported cleared): no budget then; it is rare (a snapshot replaced the store).
        budget = _Budget(None if kept else self.raise_budget_s)
        case_rows = self._case_rows(now)
        for kind in _RAISE_ORDER:
            rows = case_rows[kind]
            old = self._rows.get(kind, _EMPTY)
            fresh = np.setdiff1d(rows, old, assume_unique=True)
            raised = fresh
            for i, r in enumerate(fresh.tolist()):
                if not budget.take():
                    raised = fresh[:i]
                    break
                cid = ids[r]
                before = kept.pop(f"{kind.value}:{cid}", None)
                if before is not None:  # the same alarm after a resync: keep its answers
                    a = replace(before, row=r)
                    self._alarms[a.id] = a
                    continue
                a = Alarm(
                    f"{kind.value}:{cid}",
                    kind,
                    LEVEL_OF_KIND[kind],
                    wall,
                    case_id=cid,
                    row=r,
                    remaining=float(self._remaining[r]),
                )
                self._alarms[a.id] = a
                change.raised.append(a)
            for r in np.setdiff1d(old, rows, assume_unique=True).tolist():
                a = self._alarms.pop(f"{kind.value}:{ids[r]}", None)
                if a is not None:
                    change.cleared.append(a)
            # What is raised now: the standing ones still in the condition, plus this pass's.
            standing = np.intersect1d(old, rows, assume_unique=True)
            self._rows[kind] = rows if raised.size == fresh.size else np.union1d(standing, raised)
        change.cleared.extend(kept.values())
        clusters = self._clusters(now, wall, budget)
        for aid, fresh in clusters.items():
            prev = self._alarms.get(aid)
            if prev is None:
                self._alarms[aid] = fresh
                change.raised.append(fresh)
            elif prev.case_ids != fresh.case_ids:
                kept = replace(prev, count=fresh.count, case_ids=fresh.case_ids)
                self._alarms[aid] = kept
                change.updated.append(kept)
        for aid in [a for a in self._alarms if a.startswith("cluster:") and a not in clusters]:
            change.cleared.append(self._alarms.pop(aid))
        self.behind = budget.spent
        self.evaluations += 1
        if change:
            self._subs.notify(change)
        return change

    def catch_up(self, now: float | None = None) -> AlarmChange:
        """Evaluate again if the last evaluation left alarms unraised (``behind``); a no-op
        otherwise. The queue calls it once a frame after a tick that fell behind."""
        return self.evaluate(now) if self.behind else AlarmChange()

    def time_left(self, alarm: Alarm) -> float:
        """Seconds of the case's time limit left at the last evaluation (negative: overdue)."""
        if 0 <= alarm.row < self._remaining.size:
            return float(self._remaining[alarm.row])
        return alarm.remaining

    # ---- the officer's answers -----------------------------------------------------------

    def acknowledge(self, alarm_id: str, comment: str = "", who: str = "", role: str = "") -> Alarm:
        """The officer has seen it (and says what they did): it stops flashing and sounding,
        and the audit log records who, when and the comment. KeyError if not active."""
        alarm = self._alarms[alarm_id]
        now = self.clock()
        acked = replace(
            alarm, acknowledged=True, ack_by=who, ack_comment=comment.strip(), ack_at=now
        )
        self._alarms[alarm_id] = acked
        if self.audit is not None:
            self.audit.record(
                actor=who,
                role=role or "duty_officer",
                case_id=alarm.case_id,
                action="alarm.acknowledge",
                params={
                    "alarm": alarm_id,
                    "kind": alarm.kind.value,
                    "comment": comment.strip(),
                },
                result="acknowledged",
                ts=now,
            )
        self._subs.notify(AlarmChange(updated=[acked]))
        return acked

    def acknowledge_case(
        self, case_id: str, comment: str = "", who: str = "", role: str = ""
    ) -> int:
        """Acknowledge every unacknowledged alarm of one case (the queue's 'a' key)."""
        ids = [
            a.id
            for a in self._alarms.values()
            if not a.acknowledged and (a.case_id == case_id or case_id in a.case_ids)
        ]
        for aid in ids:
            self.acknowledge(aid, comment, who, role)
        return len(ids)

    def snooze(self, alarm_id: str, until: float, who: str = "", role: str = "") -> Alarm:
        """Silence until ``until`` (wall clock); recorded in the audit log."""
        alarm = replace(self._alarms[alarm_id], snoozed_until=float(until))
        self._alarms[alarm_id] = alarm
        if self.audit is not None:
            self.audit.record(
                actor=who,
                role=role or "duty_officer",
                case_id=alarm.case_id,
                action="alarm.snooze",
                params={"alarm": alarm_id, "until": round(float(until), 3)},
                result="snoozed",
            )
        self._subs.notify(AlarmChange(updated=[alarm]))
        return alarm

    # ---- reading ---------------------------------------------------------------------------

    def get(self, alarm_id: str) -> Alarm | None:
        return self._alarms.get(alarm_id)

    def alarms(self, include_silenced: bool = True, limit: int | None = None) -> list[Alarm]:
        """Active alarms, loudest first, then the least time left, then the newest; the
        first ``limit`` of them when given (exactly those, in that order).

        Why ``limit``: a county's imported months can leave a hundred thousand cases
        overdue, each its own alarm; sorting them all each second took the GUI thread's
        whole second and starved the feed's link. A list shows a few hundred rows, so the
        per-case alarms are ranked by level and time left with numpy, and only the ones
        that can reach the first ``limit`` are sorted in full."""
        now = self.clock()

        def key(a: Alarm) -> tuple[bool, int, float, float, str]:
            return (a.silenced(now), -a.level, self.time_left(a), -a.raised_at, a.id)

        if limit is None or len(self._alarms) <= limit or self.store._ids is not self._ids_seen:
            out = [a for a in self._alarms.values() if include_silenced or not a.silenced(now)]
            out.sort(key=key)
            return out if limit is None else out[:limit]
        # alarms of no row (clusters) and the answered ones (acknowledged, snoozed): few
        special = [a for a in self._alarms.values() if a.row < 0 or a.acknowledged or a.snoozed_until]
        taken = limit + len(special)  # answered alarms are among the rows below too
        ids = self.store._ids
        rows = list(self._rows.values())
        row = np.concatenate(rows) if rows else _EMPTY
        kind_of = np.repeat(np.arange(len(rows)), [r.size for r in rows])  # index into _rows
        level = -np.array([LEVEL_OF_KIND[k] for k in self._rows], dtype=np.int64)[kind_of]
        inside = row < self._remaining.size
        left = np.where(inside, self._remaining[np.where(inside, row, 0)], -np.inf)
        order = np.lexsort((left, level))
        if order.size > taken:  # the boundary's ties are all in: the full sort decides them
            last = order[taken - 1]
            cut = (level < level[last]) | ((level == level[last]) & (left <= left[last])) | ~inside
            order = order[cut[order]]
        names = [k.value for k in self._rows]
        chosen = {a.id: a for a in special}
        for i in order.tolist():
            a = self._alarms.get(f"{names[kind_of[i]]}:{ids[row[i]]}")
            if a is not None:
                chosen[a.id] = a
        out = [a for a in chosen.values() if include_silenced or not a.silenced(now)]
        out.sort(key=key)
        return out[:limit]

    def for_case(self, case_id: str) -> list[Alarm]:
        return [a for a in self._alarms.values() if a.case_id == case_id]

    def loud_case_ids(self, kinds: tuple[AlarmKind, ...] = (AlarmKind.NEW_URGENT,)) -> set[str]:
        """Cases whose alarm of these kinds still flashes (not acknowledged or snoozed)."""
        now = self.clock()
        return {a.case_id for a in self._alarms.values() if a.kind in kinds and not a.silenced(now)}

    def sound_level(self) -> AlarmLevel | None:
        """The loudest level among alarms neither acknowledged nor snoozed: what to play."""
        now = self.clock()
        levels = [a.level for a in self._alarms.values() if not a.silenced(now)]
        return max(levels) if levels else None

    def counts(self) -> dict[AlarmKind, int]:
        out = dict.fromkeys(AlarmKind, 0)
        for a in self._alarms.values():
            out[a.kind] += 1
        return out

    def __len__(self) -> int:
        return len(self._alarms)
