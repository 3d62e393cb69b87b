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
events; one vectorised pass a second over 100k cases costs ~15 ms. The owner (main.py, or a
panel that has no shared engine) calls ``evaluate`` once a second.
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
    ) -> None:
        """``audit``: an ``audit.AuditLog`` (or None) that records acknowledgements and
        snoozes. ``clock``: the wall clock for acknowledgements and snoozes (people's time);
        the case conditions use the feed's clock (``store.clock``), like the countdowns."""
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

    def _clusters(self, now: float, wall: float) -> dict[str, Alarm]:
        """Open cases filed in the window, grouped by (grid, category): groups >= N.

        One sort groups them (no pass per group); a group's tuple of case ids is built
        only when the group is new or changed size, so standing clusters cost nothing."""
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
        with thousands of standing alarms builds no objects for them."""
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
        for kind, rows in self._case_rows(now).items():
            old = self._rows.get(kind, np.zeros(0, dtype=np.int64))
            for r in np.setdiff1d(rows, old, assume_unique=True).tolist():
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
            self._rows[kind] = rows
        change.cleared.extend(kept.values())
        clusters = self._clusters(now, wall)
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
        self.evaluations += 1
        if change:
            self._subs.notify(change)
        return change

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

    def alarms(self, include_silenced: bool = True) -> list[Alarm]:
        """Active alarms, loudest first, then the least time left, then the newest."""
        now = self.clock()
        out = [a for a in self._alarms.values() if include_silenced or not a.silenced(now)]
        out.sort(key=lambda a: (a.silenced(now), -a.level, self.time_left(a), -a.raised_at, a.id))
        return out

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
