"""The catalogue kept as running counts: a change set costs its own cases, not a million.

``Tally`` holds, per case (keyed by id, newest version wins), the conditions the
catalogue counts (open, urgent, closed, completed, on time, rated, satisfied, the local
day it was filed and the one it was closed) and, per local day, their sums. A changed
case takes back what it contributed and adds what it contributes now, so duplicated and
out-of-order deliveries never count twice. What depends on the instant (overdue, the
warning colours) is evaluated at read time over the open cases only.

It answers case metrics over whole local days (today, the last N days, all time); the
``Figures`` over the columns stay the definition and answer everything else (custom
spans, one township's cases) and the rows behind a number, when a click asks for them.
``tests/test_metrics.py`` holds the two to equality.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from commandcenter.domain import Urgency
from commandcenter.metrics.catalogue import Metric
from commandcenter.metrics.columns import URGENCY_INDEX, CaseColumns
from commandcenter.metrics.definitions import CLOSED_CODES, case_flags
from commandcenter.metrics.windows import DayCalendar, Span, Window
from commandcenter.sla import SlaPolicy

_URGENT = URGENCY_INDEX[Urgency.URGENT.value]
# Sums per local day of filing, and (closed_in_window) per local day of closing.
_BY_FILING = ("received", "closed", "completed", "on_time", "rated", "satisfied")
_K = len(_BY_FILING)
_NO_DAY = np.iinfo(np.int64).min  # not closed: counted on no closing day
_UNDATED = _NO_DAY + 1  # closed without a closing time: in all time only
_FLAG_COLS = (
    "held",
    "open",
    "urgent",
    "closed",
    "completed",
    "on_time",
    "rated",
    "satisfied",
    "shut",
)
_KEEP_F8 = ("created", "on_site", "extension", "due")
_KEEP_I8 = ("version", "day", "closed_day", "category")
_KEEP_CODES = ("state", "urgency")


class Tally:
    """Running counts of the catalogue's case metrics over one store's cases."""

    def __init__(self, policy: SlaPolicy, calendar: DayCalendar) -> None:
        self.policy = policy
        self.calendar = calendar
        self.categories: list[str] = []
        self.mutations = 0  # bumped by every change taken (keys the caches of readers)
        self._windows: dict[tuple[Window, float], tuple[Span, Any]] = {}
        self._reset(1024)

    def _reset(self, capacity: int) -> None:
        self._n = 0  # rows up to the last one held
        self._next = 0  # the next row for a new id (fed by id)
        self._cap = capacity
        self._row: dict[str, int] = {}
        self._c: dict[str, np.ndarray] = {}
        for name in _FLAG_COLS:
            self._c[name] = np.zeros(capacity, dtype=bool)
        for name in _KEEP_F8:
            self._c[name] = np.zeros(capacity)
        for name in _KEEP_I8:
            self._c[name] = np.zeros(capacity, dtype=np.int64)
        for name in _KEEP_CODES:
            self._c[name] = np.zeros(capacity, dtype=np.int8)
        self._days: dict[int, np.ndarray] = {}  # day -> sums of _BY_FILING
        self._closed_on: dict[int, int] = {}  # day -> cases closed (closed states) on it
        self._open = 0
        self._open_urgent = 0
        self._sla: tuple[float, int, tuple[np.ndarray, ...]] | None = None
        self.mutations += 1

    def __len__(self) -> int:
        return int(np.count_nonzero(self._c["held"][: self._n]))

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(self._cap * 2, 1 << (need - 1).bit_length())
        for k, a in self._c.items():
            b = np.zeros(cap, dtype=a.dtype)
            b[: self._cap] = a
            self._c[k] = b
        self._cap = cap

    # ---- input ----------------------------------------------------------------------

    def load(self, cols: CaseColumns, by_row: bool = False) -> int:
        """Start over from whole columns (a store after a snapshot; ``by_row``: keyed by
        the columns' rows, as ``update(..., rows=)`` continues)."""
        self._reset(max(1024, len(cols)))
        return self.update(cols, np.arange(len(cols)) if by_row else None)

    def update(self, cols: CaseColumns, rows: np.ndarray | None = None) -> int:
        """Take case rows (with versions): a case not held, or held at an older version,
        replaces what it contributed; the others are stale. Returns how many were taken.

        Cases are keyed by id; or, given ``rows`` (a store's rows, which never move and
        hold one case each), by those, which spares a million-entry map of ids. One tally
        is fed one way only."""
        if not len(cols):
            return 0
        if cols.version is None:
            raise ValueError("columns without versions: staleness cannot be judged")
        values = cols.values["category"]
        held = self.categories
        if held and values is not held and list(values[: len(held)]) != list(held):
            # codes held so far would read other names (and other time limits)
            raise ValueError(
                "category codes from another value list than the held ones: feed one tally "
                "columns coded by one interner (a store's)"
            )
        self.categories = values
        versions = np.asarray(cols.version, dtype=np.int64)
        if rows is None:
            order, rows = self._rows_by_id(list(cols.ids), versions)
        else:
            rows = np.asarray(rows, dtype=np.int64)
            order = np.arange(len(rows))
            self._grow(int(rows.max()) + 1 if len(rows) else 0)
        c = self._c
        held = np.where(c["held"][rows], c["version"][rows], -1)
        take = ~c["held"][rows] | (versions[order] > held)
        order, rows = order[take], rows[take]
        if not len(order):
            return 0
        self._contribute(rows[c["held"][rows]], -1)
        self._write(cols, order, rows)
        c["held"][rows] = True
        self._n = max(self._n, int(rows.max()) + 1)
        self._contribute(rows, +1)
        self._sla = None
        self.mutations += 1
        return len(order)

    def _rows_by_id(self, ids: list[str], versions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions taken from the batch, held row of each; new cases get new rows)."""
        order = np.arange(len(ids))
        if len(set(ids)) != len(ids):  # one case twice in a batch: its newest only
            newest: dict[str, int] = {}
            for pos in np.argsort(versions, kind="stable").tolist():
                newest[ids[pos]] = pos
            order = np.array(sorted(newest.values()), dtype=np.int64)
        get = self._row.get
        rows = np.fromiter((get(ids[i], -1) for i in order.tolist()), np.int64, len(order))
        fresh = np.flatnonzero(rows < 0)
        if len(fresh):
            start = self._next
            self._grow(start + len(fresh))
            rows[fresh] = np.arange(start, start + len(fresh))
            new_ids = [ids[i] for i in order[fresh].tolist()]
            self._row.update(zip(new_ids, rows[fresh].tolist(), strict=True))
            self._next += len(fresh)
        return order, rows

    def _write(self, cols: CaseColumns, at: np.ndarray, rows: np.ndarray) -> None:
        category = cols.codes["category"][at].astype(np.int64)
        f = case_flags(
            self.policy,
            cols.state[at],
            cols.urgency[at],
            category,
            self.categories,
            cols.created[at],
            cols.completed[at],
            cols.extension[at],
            cols.rating[at],
            cols.due[at],
        )
        c = self._c
        shut = np.isin(cols.state[at], CLOSED_CODES)
        c["open"][rows] = f.open
        c["urgent"][rows] = f.open & (cols.urgency[at] == _URGENT)
        c["closed"][rows] = f.closed
        c["completed"][rows] = f.timed
        c["on_time"][rows] = f.on_time
        c["rated"][rows] = f.rated
        c["satisfied"][rows] = f.satisfied
        c["shut"][rows] = shut
        c["created"][rows] = cols.created[at]
        c["on_site"][rows] = cols.on_site[at]
        c["extension"][rows] = cols.extension[at]
        c["due"][rows] = cols.due[at]
        c["version"][rows] = np.asarray(cols.version, dtype=np.int64)[at]
        c["day"][rows] = self.calendar.days(cols.created[at])
        c["closed_day"][rows] = self._closing_days(cols.closed[at], shut)
        c["category"][rows] = category
        c["state"][rows] = cols.state[at]
        c["urgency"][rows] = cols.urgency[at]

    def _closing_days(self, closed: np.ndarray, shut: np.ndarray) -> np.ndarray:
        """Local day of closing of the cases in a closed state; a closing time of 0 (not
        recorded) lies in no window of days but in all time, as the columns count it."""
        out = np.full(len(closed), _NO_DAY, dtype=np.int64)
        dated = shut & np.isfinite(closed) & (closed > 0)
        out[dated] = self.calendar.days(closed[dated])
        out[shut & np.isfinite(closed) & (closed <= 0)] = _UNDATED
        return out

    def _contribute(self, rows: np.ndarray, sign: int) -> None:
        if not len(rows):
            return
        c = self._c
        self._open += sign * int(np.count_nonzero(c["open"][rows]))
        self._open_urgent += sign * int(np.count_nonzero(c["urgent"][rows]))
        day = c["day"][rows]
        first = int(day.min())
        offset = day - first  # days since the first: bincounts, no sort (a load is 1M)
        width = int(offset.max()) + 1
        sums = np.empty((_K, width), dtype=np.int64)
        sums[0] = np.bincount(offset, minlength=width)
        for k, name in enumerate(_BY_FILING[1:], start=1):
            sums[k] = np.bincount(offset[c[name][rows]], minlength=width)
        present = np.flatnonzero(sums[0])
        days = present + first
        sums = sums[:, present]
        for j, d in enumerate(days.tolist()):
            got = self._days.get(d)
            if got is None:
                got = self._days[d] = np.zeros(_K, dtype=np.int64)
            got += sign * sums[:, j]
        shut_day = c["closed_day"][rows]
        undated = int(np.count_nonzero(shut_day == _UNDATED))
        if undated:
            self._closed_on[_UNDATED] = self._closed_on.get(_UNDATED, 0) + sign * undated
        shut_day = shut_day[shut_day > _UNDATED]
        if len(shut_day):
            first = int(shut_day.min())
            counts = np.bincount(shut_day - first)
            for j in np.flatnonzero(counts).tolist():
                d = first + j
                self._closed_on[d] = self._closed_on.get(d, 0) + sign * int(counts[j])

    # ---- reading ----------------------------------------------------------------------

    def _open_sla(self, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(open rows, milestone, remaining, level) at ``now``, once per instant."""
        if self._sla is not None and self._sla[0] == now and self._sla[1] == self.mutations:
            return self._sla[2]  # type: ignore[return-value]
        c = self._c
        rows = np.flatnonzero(c["open"][: self._n])
        milestone, remaining, level = self.policy.evaluate_arrays(
            now,
            c["state"][rows],
            c["urgency"][rows],
            c["category"][rows],
            self.categories,
            c["created"][rows],
            c["on_site"][rows],
            c["extension"][rows],
            c["due"][rows],  # a record's own due date drives its SLA, as in the store's
        )
        out = (rows, milestone, remaining, level)
        self._sla = (now, self.mutations, out)
        return out

    def _by_filing(self, days: tuple[int, int] | None) -> dict[str, int]:
        total = np.zeros(_K, dtype=np.int64)
        for d, sums in self._days.items():
            if days is None or days[0] <= d < days[1]:
                total += sums
        return dict(zip(_BY_FILING, total.tolist(), strict=True))

    def counts(self, m: Metric, now: float, window: Window | None) -> tuple[int, int] | None:
        """(numerator, n) of a case metric at ``now``, or None when the window is not made
        of whole local days (the columns answer those)."""
        span, days = self._window_at(window, now)
        if days is False:
            return None
        num = self._population(m.numerator, now, span, days)
        if m.kind == "count":
            return num, num
        den = self._population(m.denominator, now, span, days)
        return num, den

    def _window_at(
        self, window: Window | None, now: float
    ) -> tuple[Span | None, tuple[int, int] | bool | None]:
        """The span of ``window`` at ``now`` and its days, once per (window, instant): the
        catalogue asks for the same few windows for every metric of a refresh."""
        if window is None:
            return None, None
        key = (window, now)
        got = self._windows.get(key)
        if got is None:
            if len(self._windows) > 64:
                self._windows.clear()
            span = window.resolve(now, self.calendar)[0]
            got = self._windows[key] = (span, self.calendar.whole_days(span))
        return got

    def _population(
        self, name: str, now: float, span: Span | None, days: tuple[int, int] | bool | None
    ) -> int:
        if name == "open":
            return self._open
        if name == "open_urgent":
            return self._open_urgent
        if name in ("overdue", "red", "yellow", "blue"):
            _, milestone, remaining, level = self._open_sla(now)
            if name == "overdue":
                return int(np.count_nonzero((milestone > 0) & (remaining < 0)))
            return int(np.count_nonzero(level == ("blue", "yellow", "red").index(name)))
        if span is None or days is False:
            raise ValueError(f"population {name!r} needs a window of whole days")
        if name == "closed_in_window":
            return sum(
                k
                for d, k in self._closed_on.items()
                if (days is None and d != _NO_DAY) or (days and days[0] <= d < days[1])
            )
        sums = self._by_filing(days)  # type: ignore[arg-type]
        if name in sums:
            return sums[name]
        if name in ("due", "overdue_received"):
            rows, milestone, remaining, _ = self._open_sla(now)
            overdue = rows[(milestone > 0) & (remaining < 0)]
            if days is not None:
                day = self._c["day"][overdue]
                overdue = overdue[(day >= days[0]) & (day < days[1])]
            late_open = len(overdue)
            return late_open + (sums["completed"] if name == "due" else 0)
        raise ValueError(f"unknown population {name!r}")

    def stats(self) -> dict[str, Any]:
        """What is held (for the benchmark's notes and the tests)."""
        return {"cases": self._n, "days": len(self._days), "open": self._open}
