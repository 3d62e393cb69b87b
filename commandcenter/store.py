"""The live model of the county: applies event batches, answers what the panels ask.

Cases live in numpy columns (one row per case, rows never move) so that counting,
warning levels, sorting and filtering over 100k+ cases are vector operations; the full
record of each case is kept beside the columns for the detail view. Units, cameras, grid
statistics and KPIs are few and live in dicts.

The store is duck-typed on its input: an event is anything with ``seq``, ``kind`` and
``data`` (feeds.protocol.Event), a case anything with the attributes of domain.Case (the
wire's CaseData has the same names). That keeps the core free of the feed package.

Applying is idempotent: an event whose seq is not newer than the last applied one is a
duplicate, and a case record whose version is not newer than the held one is stale; both
are counted and skipped, so a replay after a reconnect can never double anything.
"""

from __future__ import annotations

import bisect
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from commandcenter.domain import OPEN_STATES, SlaLevel, Source
from commandcenter.metrics.columns import CaseColumns
from commandcenter.observable import Subscribers

if TYPE_CHECKING:  # pandas costs ~0.4 s to import; only to_frame needs it (start-up)
    import pandas as pd
from commandcenter.sla import LEVEL_CODES, STATE_ORDER, URGENCY_ORDER, SlaPolicy

_STATE_INDEX = {s.value: i for i, s in enumerate(STATE_ORDER)}
_URGENCY_INDEX = {u.value: i for i, u in enumerate(URGENCY_ORDER)}
SOURCE_ORDER: tuple[Source, ...] = tuple(Source)
_SOURCE_INDEX = {s.value: i for i, s in enumerate(SOURCE_ORDER)}
_OPEN_CODES = np.array(sorted(_STATE_INDEX[s.value] for s in OPEN_STATES), dtype=np.int8)


class EventLike(Protocol):
    seq: int
    kind: str
    ts: float
    data: Any


@dataclass(slots=True)
class ChangeSet:
    """What one apply (or several merged) changed; panels repaint only what they show."""

    first_seq: int = 0
    last_seq: int = 0
    reset: bool = False  # the whole state was replaced (snapshot): repaint everything
    cases_created: list[str] = field(default_factory=list)
    cases_updated: set[str] = field(default_factory=set)
    units: set[str] = field(default_factory=set)
    cameras: set[str] = field(default_factory=set)
    grids: set[str] = field(default_factory=set)
    kpis: set[str] = field(default_factory=set)
    alerts: list[Any] = field(default_factory=list)
    applied: int = 0
    duplicates: int = 0
    stale: int = 0
    skipped: int = 0  # kinds the store does not hold
    # Events the store refused to hold, as (seq, reason): a value its columns cannot take
    # (an unknown state, a number out of range). The feed link quarantines them; the store
    # is left exactly as it was before each one.
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.reset
            or self.cases_created
            or self.cases_updated
            or self.units
            or self.cameras
            or self.grids
            or self.kpis
            or self.alerts
        )

    def merge(self, other: ChangeSet) -> None:
        """Fold a later change set into this one (the bridge coalesces per frame)."""
        if other.reset:
            self.reset = True
        if not self.first_seq:
            self.first_seq = other.first_seq
        self.last_seq = max(self.last_seq, other.last_seq)
        self.cases_created.extend(other.cases_created)
        self.cases_updated |= other.cases_updated
        self.units |= other.units
        self.cameras |= other.cameras
        self.grids |= other.grids
        self.kpis |= other.kpis
        self.alerts.extend(other.alerts)
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.stale += other.stale
        self.skipped += other.skipped
        self.rejected.extend(other.rejected)


_FLOAT_FIELDS = (
    "created_ts", "state_ts", "assigned_ts", "on_site_ts", "completed_ts", "closed_ts",
    "extension_s", "lon", "lat",
)  # fmt: skip
_INT_RANGES = {"version": (0, 2**63 - 1), "supervised": (0, 2**31 - 1), "rating": (0, 127)}


def _case_columns(c: Any) -> tuple[int, int]:
    """Check that every value of a case record fits its column; return its state and
    urgency codes. Raises ValueError/KeyError naming the field, so a case the store cannot
    hold is refused whole instead of half-written or overflowing numpy."""
    for name, (lo, hi) in _INT_RANGES.items():
        value = getattr(c, name)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{name}={value!r} outside {lo}..{hi}")
    for name in _FLOAT_FIELDS:
        value = getattr(c, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{name}={value!r} is not a finite number")
    if not isinstance(c.id, str) or not c.id:
        raise ValueError("the case has no id")
    try:
        return _STATE_INDEX[c.state], _URGENCY_INDEX[c.urgency]
    except KeyError as err:
        raise ValueError(f"unknown state or urgency {err}") from None


BULK_REPAINT = 10_000  # a bulk load of more cases than this is published as a reset


@dataclass(slots=True)
class BulkCases:
    """Many cases as columns, for ``Store.bulk_load`` (an imported history of months).

    Row i of every array is one case. ``record(i)`` builds its full record (with its
    timeline) when someone asks for it: most of a million imported records are never
    opened, and building them all would cost more than the rest of the import together.
    """

    ids: np.ndarray  # str
    version: np.ndarray  # int
    state: np.ndarray  # life-cycle state values (str)
    urgency: np.ndarray  # str
    source: np.ndarray  # str
    rating: np.ndarray  # int
    floats: dict[str, np.ndarray]  # the float columns by name (created_ts ... due_ts)
    codes: dict[str, np.ndarray]  # the coded columns by name (category ... address), str
    record: Callable[[int], Any]
    # (codes, distinct values) of some of the columns above by name, where whoever made
    # them has them already (an import factorizes each column once, for its journal
    # segment too): a million values hashed once, not twice
    factored: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def factorized(self, name: str, values: Any) -> tuple[np.ndarray, np.ndarray]:
        """(codes, distinct values) of column ``name`` whose values are ``values``."""
        got = self.factored.get(name)
        if got is not None and len(got[0]) == len(self):
            return got
        import pandas as pd

        return pd.factorize(np.asarray(values, dtype=object))


def _coded(factored: tuple[np.ndarray, np.ndarray], index: dict[str, int]) -> np.ndarray:
    """A column's codes in ``index`` (-1 when not in it), from its factorization
    (``BulkCases.factorized``): each distinct value looked up once."""
    codes, uniques = factored
    lut = np.array([index.get(u, -1) for u in uniques] + [-1], dtype=np.int8)
    return lut[codes]


@dataclass(slots=True)
class UnitRecord:
    """Status (name, kind, status...) and last position of a field unit."""

    id: str
    status: Any = None  # the latest unit.status payload
    lon: float = 0.0
    lat: float = 0.0
    heading: float = 0.0
    speed: float = 0.0
    ts: float = 0.0


@dataclass(slots=True)
class Clock:
    """The feed's clock: server time at a local monotonic instant, and its rate.

    The demo county may run faster than real time; countdowns must follow the feed's
    clock, not the wall, or a simulated five-minute limit would look like five real ones.
    """

    server_now: float = 0.0
    rate: float = 1.0
    at_monotonic: float = 0.0

    def now(self) -> float:
        if not self.server_now:
            return time.time()
        return self.server_now + (time.monotonic() - self.at_monotonic) * self.rate


class Interner:
    """Strings -> small ints for column storage; the list decodes them back.

    Codes never change and are only ever appended, so whoever reads the store's columns
    (the metric catalogue, the ranking engine, on any thread) decodes them with the very
    list the store wrote, and one changed case is a few integers to copy, not strings to
    intern again. "" is a value like any other (callers that attribute treat it as none).
    """

    __slots__ = ("index", "values")

    def __init__(self) -> None:
        self.values: list[str] = []
        self.index: dict[str, int] = {}

    def code(self, value: str) -> int:
        i = self.index.get(value)
        if i is None:
            i = self.index[value] = len(self.values)
            self.values.append(value)
        return i

    def codes(self, values: Iterable[str]) -> np.ndarray:
        """Codes of many values (int32, the store's column type)."""
        return np.fromiter((self.code(v) for v in values), dtype=np.int32)


_FLOAT_COLS = (
    "created_ts",
    "state_ts",
    "assigned_ts",
    "on_site_ts",
    "completed_ts",
    "closed_ts",
    "extension_s",
    "lon",
    "lat",
    "due_ts",
)
# address and assignee_kind serve the ranking (repeat complaints at one address, and which
# assignees are departments); appended last so that the older columns keep their order.
_CODE_COLS = ("category", "township", "grid", "assignee", "assignee_kind", "address")


class Store:
    def __init__(self, policy: SlaPolicy | None = None, capacity: int = 4096) -> None:
        self.policy = policy or SlaPolicy()
        self.epoch = ""
        self.seq = 0
        self.clock = Clock()
        self.geography: dict[str, Any] = {}
        self._names: dict[str, str] = {}
        self._subscribers: Subscribers[ChangeSet] = Subscribers()
        self._init_state(capacity)

    def set_geography(self, geography: dict[str, Any]) -> None:
        """The county's areas and departments (GET /v1/geography): codes on the wire,
        names on the screen."""
        self.geography = geography
        names: dict[str, str] = {}
        for key in ("townships", "grids", "departments"):
            for item in geography.get(key, []) or []:
                if isinstance(item, dict) and "code" in item and "name" in item:
                    names[str(item["code"])] = str(item["name"])
        self._names = names

    def display_name(self, code: str) -> str:
        """Name of an area, department or unit for people; the code itself when unknown."""
        if not code:
            return ""
        name = self._names.get(code)
        if name is not None:
            return name
        unit = self.units.get(code)
        if unit is not None and unit.status is not None:
            return unit.status.name
        return code

    # ---- state -------------------------------------------------------------------------

    def _init_state(self, capacity: int) -> None:
        self._n = 0
        self._cap = capacity
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._records: list[Any] = []
        # Rows loaded in bulk whose record is built on first use: (first row, bulk index
        # of each row from there, the bulk's record builder), ordered by first row.
        self._lazy: list[tuple[int, np.ndarray, Callable[[int], Any]]] = []
        self._extras: dict[str, dict[str, Any]] = {}
        self._version = np.zeros(capacity, dtype=np.int64)
        # True: the row is as a bulk load put it and its history is journaled elsewhere
        # (a history segment), so a checkpoint need not carry it.
        self._in_history = np.zeros(capacity, dtype=bool)
        self._state = np.zeros(capacity, dtype=np.int8)
        self._urgency = np.zeros(capacity, dtype=np.int8)
        self._source = np.zeros(capacity, dtype=np.int8)
        self._supervised = np.zeros(capacity, dtype=np.int32)
        self._rating = np.zeros(capacity, dtype=np.int8)
        self._f = {name: np.zeros(capacity, dtype=np.float64) for name in _FLOAT_COLS}
        self._codes = {name: np.zeros(capacity, dtype=np.int32) for name in _CODE_COLS}
        self._interners = {name: Interner() for name in _CODE_COLS}
        self.units: dict[str, UnitRecord] = {}
        self.cameras: dict[str, Any] = {}
        self.grids: dict[str, Any] = {}
        self.kpis: dict[str, Any] = {}
        self.alerts: deque[Any] = deque(maxlen=1000)

    def _grow(self, at_least: int = 0) -> None:
        cap = self._cap * 2
        while cap < at_least:
            cap *= 2

        def grown(a: np.ndarray) -> np.ndarray:
            b = np.zeros(cap, dtype=a.dtype)
            b[: self._cap] = a
            return b

        self._version = grown(self._version)
        self._in_history = grown(self._in_history)
        self._state = grown(self._state)
        self._urgency = grown(self._urgency)
        self._source = grown(self._source)
        self._supervised = grown(self._supervised)
        self._rating = grown(self._rating)
        self._f = {k: grown(v) for k, v in self._f.items()}
        self._codes = {k: grown(v) for k, v in self._codes.items()}
        self._cap = cap

    # ---- subscriptions -----------------------------------------------------------------

    def subscribe(self, callback: Callable[[ChangeSet], None]) -> Callable[[], None]:
        """Call ``callback`` with every non-empty change set; returns the unsubscribe."""
        return self._subscribers.add(callback)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def _publish(self, cs: ChangeSet) -> None:
        if cs:
            self._subscribers.notify(cs)

    # ---- applying ----------------------------------------------------------------------

    def set_clock(self, server_now: float, rate: float = 1.0) -> None:
        self.clock = Clock(server_now=server_now, rate=rate, at_monotonic=time.monotonic())

    def reset(self, snapshot: Any) -> ChangeSet:
        """Replace everything with a snapshot (feeds.protocol.Snapshot-like)."""
        self._init_state(max(4096, 1 << max(12, (len(snapshot.cases) * 2).bit_length())))
        self.epoch = snapshot.epoch
        self.seq = snapshot.seq
        self.set_clock(snapshot.now, snapshot.rate)
        cs = ChangeSet(first_seq=snapshot.seq, last_seq=snapshot.seq, reset=True)
        for c in snapshot.cases:
            try:
                self._put_case(c, None, cs)
            except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as err:
                case_id = getattr(c, "id", "?")
                cs.rejected.append((snapshot.seq, f"snapshot case {case_id!r}: {err}"[:300]))
        for u in snapshot.units:
            self._unit_status(u, cs)
        for p in snapshot.positions:
            self._unit_position(p, cs)
        for cam in snapshot.cameras:
            self.cameras[cam.id] = cam
        for g in snapshot.grids:
            self.grids[g.id] = g
        for k in snapshot.kpis:
            self.kpis[k.name] = k
        self.alerts.extend(snapshot.alerts)
        cs.cases_created.clear()
        cs.cases_updated.clear()
        self._publish(cs)
        return cs

    def apply(self, events: Iterable[EventLike]) -> ChangeSet:
        """Apply a batch in order; returns (and publishes) what changed."""
        cs = ChangeSet()
        seq = self.seq
        for ev in events:
            if ev.seq <= seq:
                cs.duplicates += 1
                continue
            seq = ev.seq
            if not cs.first_seq:
                cs.first_seq = seq
            kind = ev.kind
            data = ev.data
            try:
                handled = self._apply_one(kind, data, ev, cs)
            except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as err:
                # Whatever passed validation upstream, one bad record must not stop the
                # batch nor leave a half-written row: refuse it with the reason.
                cs.rejected.append((seq, f"{kind}: {type(err).__name__}: {err}"[:300]))
                continue
            if not handled:
                cs.skipped += 1
                continue
            cs.applied += 1
        self.seq = seq
        cs.last_seq = seq
        self._publish(cs)
        return cs

    def _apply_one(self, kind: str, data: Any, ev: Any, cs: ChangeSet) -> bool:
        """Apply one event; False for a kind the store does not hold."""
        if kind == "unit.position":
            self._unit_position(data, cs)
        elif kind == "case.created" or kind == "case.updated":
            self._put_case(data, getattr(ev, "extra", None), cs)
        elif kind == "unit.status":
            self._unit_status(data, cs)
        elif kind == "camera.upsert":
            self.cameras[data.id] = data
            cs.cameras.add(data.id)
        elif kind == "camera.status":
            cam = self.cameras.get(data.id)
            if cam is not None:
                cam.online = data.online
                cs.cameras.add(data.id)
        elif kind == "grid.stats":
            self.grids[data.id] = data
            cs.grids.add(data.id)
        elif kind == "kpi.update":
            self.kpis[data.name] = data
            cs.kpis.add(data.name)
        elif kind == "alert.raised":
            self.alerts.append(data)
            cs.alerts.append(data)
        else:
            return False
        return True

    def _unit_position(self, p: Any, cs: ChangeSet) -> None:
        rec = self.units.get(p.id)
        if rec is None:
            rec = self.units[p.id] = UnitRecord(id=p.id)
        rec.lon = p.lon
        rec.lat = p.lat
        rec.heading = p.heading
        rec.speed = p.speed
        rec.ts = p.ts
        cs.units.add(p.id)

    def _unit_status(self, s: Any, cs: ChangeSet) -> None:
        rec = self.units.get(s.id)
        if rec is None:
            rec = self.units[s.id] = UnitRecord(id=s.id, lon=s.lon, lat=s.lat)
        rec.status = s
        cs.units.add(s.id)

    def _put_case(self, c: Any, extra: dict[str, Any] | None, cs: ChangeSet) -> None:
        checked = _case_columns(c)  # raises before anything is written
        row = self._row.get(c.id)
        if row is None:
            if self._n == self._cap:
                self._grow()
            row = self._n
            self._n += 1
            self._ids.append(c.id)
            self._records.append(c)
            self._row[c.id] = row
            cs.cases_created.append(c.id)
        else:
            if c.version <= self._version[row]:
                cs.stale += 1
                return
            self._records[row] = c
            cs.cases_updated.add(c.id)
        if extra:
            self._extras[c.id] = extra
        self._version[row] = c.version
        self._in_history[row] = False  # changed since: its history is the live journal's
        self._state[row], self._urgency[row] = checked
        self._source[row] = _SOURCE_INDEX.get(c.source, 0)
        self._supervised[row] = c.supervised
        self._rating[row] = c.rating
        f = self._f
        for name in _FLOAT_FIELDS:
            f[name][row] = getattr(c, name)
        due = getattr(c, "due_ts", 0.0)  # optional: older case-like inputs lack it
        f["due_ts"][row] = due if isinstance(due, int | float) and math.isfinite(due) else 0.0
        codes = self._codes
        interners = self._interners
        codes["category"][row] = interners["category"].code(c.category)
        codes["township"][row] = interners["township"].code(c.township)
        codes["grid"][row] = interners["grid"].code(c.grid)
        codes["assignee"][row] = interners["assignee"].code(c.assignee)
        # getattr: older case-like inputs (and hand-made ones in tests) may lack these two.
        codes["assignee_kind"][row] = interners["assignee_kind"].code(
            getattr(c, "assignee_kind", "")
        )
        codes["address"][row] = interners["address"].code(getattr(c, "address", ""))

    def bulk_load(self, bulk: BulkCases, in_history: bool = False) -> ChangeSet:
        """Put many cases at once, column by column (an import of months of history).

        The same rules as ``apply``, as vector operations: a case not held is added, one
        held at a lower version is replaced, one at the same or a higher version is stale
        (so loading the same history twice changes nothing); a case whose values its
        columns cannot take is refused with the reason, the rest loads. Takes no sequence
        numbers: the live feed's numbering is left alone. ``in_history``: the journal
        keeps these cases as a history segment (``history_rows`` leaves them out of
        checkpoints until they change)."""
        import pandas as pd

        cs = ChangeSet()
        n = len(bulk)
        if not n:
            return cs
        ids = np.asarray(bulk.ids, dtype=object)
        ok = np.ones(n, dtype=bool)
        reasons: list[tuple[np.ndarray, str]] = []

        def refuse(mask: np.ndarray, why: str) -> None:
            mask = mask & ok
            if mask.any():
                reasons.append((mask, why))
                ok[mask] = False

        state_code = _coded(bulk.factorized("state", bulk.state), _STATE_INDEX)
        urgency_code = _coded(bulk.factorized("urgency", bulk.urgency), _URGENCY_INDEX)
        refuse(state_code < 0, "unknown state")
        refuse(urgency_code < 0, "unknown urgency")
        version = np.asarray(bulk.version, dtype=np.int64)
        rating = np.asarray(bulk.rating, dtype=np.int64)
        refuse(version < 0, "version outside 0..2**63-1")
        refuse((rating < 0) | (rating > 127), "rating outside 0..127")
        floats = {k: np.asarray(bulk.floats.get(k, np.zeros(n)), dtype=np.float64) for k in _FLOAT_COLS}
        for name in _FLOAT_FIELDS:
            refuse(~np.isfinite(floats[name]), f"{name} is not a finite number")
        if pd.api.types.infer_dtype(ids, skipna=False) == "string":  # one C pass: all text
            refuse(ids == "", "the case has no id")
        else:
            refuse(~np.fromiter((type(v) is str and v != "" for v in ids), bool, n), "the case has no id")
        for mask, why in reasons:
            cs.rejected.extend((0, f"case {cid!r}: {why}") for cid in ids[mask][:1000])
        get = self._row.get
        rows = np.fromiter((get(v, -1) for v in ids), np.int64, n) if self._row else np.full(n, -1)
        known = rows >= 0
        newer = known & ok
        newer[newer] = version[newer] > self._version[rows[newer]]
        cs.stale += int(np.count_nonzero(known & ok & ~newer))
        fresh = ~known & ok
        k = int(np.count_nonzero(fresh))
        first = self._n
        new_ids = ids[fresh].tolist()
        placed = dict(zip(new_ids, range(first, first + k), strict=True))
        if len(placed) < k or len(set(rows[newer].tolist())) < int(np.count_nonzero(newer)):
            # the same id twice in one load: the later row wins, as it would in ``apply``
            again = pd.Series(ids).duplicated(keep="last").to_numpy() & ok
            cs.rejected.extend((0, f"case {cid!r}: a later row has the same id") for cid in ids[again][:1000])
            ok &= ~again
            fresh &= ok
            newer &= ok
            k = int(np.count_nonzero(fresh))
            new_ids = ids[fresh].tolist()
            placed = dict(zip(new_ids, range(first, first + k), strict=True))
        if self._n + k > self._cap:
            self._grow(self._n + k)
        rows[fresh] = np.arange(first, first + k)
        take = np.flatnonzero(fresh | newer)
        self._ids.extend(new_ids)
        if self._row:
            self._row.update(placed)
        else:
            self._row = placed  # the first load: the map is built once, not copied
        self._records.extend([None] * k)
        if k:
            self._lazy.append((first, np.flatnonzero(fresh), bulk.record))
        for i in np.flatnonzero(newer):  # few: a newer version of a case already held
            self._records[rows[i]] = bulk.record(int(i))
        self._n += k
        r = rows[take]
        self._version[r] = version[take]
        self._in_history[r] = in_history
        self._state[r] = state_code[take]
        self._urgency[r] = urgency_code[take]
        source_code = _coded(bulk.factorized("source", bulk.source), _SOURCE_INDEX)
        self._source[r] = np.maximum(source_code, 0)[take]
        self._supervised[r] = 0
        self._rating[r] = rating[take]
        for name in _FLOAT_COLS:
            self._f[name][r] = floats[name][take]
        for name in _CODE_COLS:
            values = bulk.codes.get(name)
            if values is None:
                values = np.full(n, "", dtype=object)
            codes, uniques = bulk.factorized(name, values)
            codes = codes[take]
            held = np.bincount(codes[codes >= 0], minlength=len(uniques)) > 0  # only loaded values are interned
            interner = self._interners[name]
            lut = np.array([interner.code(str(u)) if h else 0 for u, h in zip(uniques, held, strict=True)],
                           dtype=np.int32)  # fmt: skip
            self._codes[name][r] = lut[codes] if len(lut) else 0
        cs.cases_created = new_ids
        cs.cases_updated = set(ids[newer].tolist())
        cs.applied = len(take)
        # Many cases at once: panels repaint from the columns, as after a snapshot, rather
        # than asking for (and so building) every record.
        cs.reset = cs.applied > BULK_REPAINT
        self._publish(cs)
        return cs

    # ---- queries -----------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n

    def case(self, case_id: str) -> Any | None:
        row = self._row.get(case_id)
        return None if row is None else self._record(row)

    def case_extra(self, case_id: str) -> dict[str, Any]:
        return self._extras.get(case_id, {})

    def case_extras(self) -> dict[str, dict[str, Any]]:
        """Every case's extra fields (a copy): a snapshot does not carry them, so whoever
        rebuilds the store from its own records (commandcenter.sources) puts them back."""
        return dict(self._extras)

    def restore_extras(self, extras: dict[str, dict[str, Any]]) -> None:
        """Put back extra fields kept across a rebuild, for the cases still held."""
        for case_id, extra in extras.items():
            if case_id in self._row:
                self._extras[case_id] = extra

    def history_rows(self) -> np.ndarray:
        """Rows as a journaled bulk load left them (a checkpoint need not carry them)."""
        return self._in_history[: self._n].copy()

    def history_bulk(self, keep: np.ndarray | None = None) -> BulkCases:
        """The rows still as an import left them (``history_rows``), and among them only
        those ``keep`` allows, as columns for ``bulk_load`` into a store rebuilt from a
        snapshot. Why: a feed's snapshot carries none of a hall's imported months, and
        rebuilding a million of them record by record took longer than the import; their
        records are still built only when asked for, from what this store holds now."""
        rows = np.flatnonzero(self._in_history[: self._n] if keep is None else self._in_history[: self._n] & keep)
        states = np.array([s.value for s in STATE_ORDER], dtype=object)
        urgencies = np.array([u.value for u in URGENCY_ORDER], dtype=object)
        sources = np.array([s.value for s in SOURCE_ORDER], dtype=object)
        codes = {}
        for name in _CODE_COLS:
            values = np.array(self._interners[name].values or [""], dtype=object)
            codes[name] = values[self._codes[name][rows]]
        records, lazy = self._records, list(self._lazy)

        def record(i: int) -> Any:
            row = int(rows[i])
            rec = records[row]
            if rec is None:
                k = bisect.bisect_right(lazy, row, key=lambda b: b[0]) - 1
                first, index, build = lazy[k]
                rec = build(int(index[row - first]))
            return rec

        return BulkCases(
            ids=np.array([self._ids[r] for r in rows.tolist()], dtype=object),
            version=self._version[rows].copy(),
            state=states[self._state[rows]],
            urgency=urgencies[self._urgency[rows]],
            source=sources[self._source[rows]],
            rating=self._rating[rows].astype(np.int64),
            floats={name: self._f[name][rows].copy() for name in _FLOAT_COLS},
            codes=codes,
            record=record,
        )

    def row_of(self, case_id: str) -> int | None:
        return self._row.get(case_id)

    @property
    def interners(self) -> dict[str, Interner]:
        """The interners of the code columns (CODE_COLUMNS): shared, never copied, so an
        engine that follows the store codes names exactly as the store does."""
        return self._interners

    def record_at(self, row: int) -> Any:
        return self._record(row)

    def _record(self, row: int) -> Any:
        rec = self._records[row]
        if rec is None:  # loaded in bulk, not asked for yet
            k = bisect.bisect_right(self._lazy, row, key=lambda b: b[0]) - 1
            first, index, build = self._lazy[k]
            rec = self._records[row] = build(int(index[row - first]))
        return rec

    def newest_cases(self, n: int) -> list[Any]:
        """The ``n`` most recently filed cases, newest first."""
        if self._n == 0:
            return []
        created = self._f["created_ts"][: self._n]
        k = min(n, self._n)
        idx = np.argpartition(-created, k - 1)[:k] if k < self._n else np.arange(self._n)
        idx = idx[np.argsort(-created[idx], kind="stable")]
        return [self._record(int(i)) for i in idx]

    def open_mask(self) -> np.ndarray:
        return np.isin(self._state[: self._n], _OPEN_CODES)

    def sla_arrays(self, now: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(milestone, remaining seconds, level code) per row; level -1 for closed cases."""
        now = self.clock.now() if now is None else now
        n = self._n
        return self.policy.evaluate_arrays(
            now,
            self._state[:n],
            self._urgency[:n],
            self._codes["category"][:n],
            self._interners["category"].values,
            self._f["created_ts"][:n],
            self._f["on_site_ts"][:n],
            self._f["extension_s"][:n],
            self._f["due_ts"][:n],
        )

    def sla_counts(self, now: float | None = None) -> dict[SlaLevel, int]:
        """Open cases per warning colour: the first thing the hall looks at."""
        _, _, level = self.sla_arrays(now)
        counts = np.bincount(level[level >= 0], minlength=3)
        return {lvl: int(counts[i]) for i, lvl in enumerate(LEVEL_CODES)}

    def overdue_count(self, now: float | None = None) -> int:
        milestone, remaining, _ = self.sla_arrays(now)
        return int(np.count_nonzero((milestone > 0) & (remaining < 0)))

    def open_count(self) -> int:
        return int(np.count_nonzero(self.open_mask()))

    def columns(self) -> CaseColumns:
        """Views of the case columns and their interners, for the metric catalogue.

        No copy: valid until the next apply (the engine computes within one call)."""
        n = self._n
        f = self._f
        return CaseColumns(
            ids=self._ids,
            state=self._state[:n],
            urgency=self._urgency[:n],
            rating=self._rating[:n],
            created=f["created_ts"][:n],
            completed=f["completed_ts"][:n],
            closed=f["closed_ts"][:n],
            on_site=f["on_site_ts"][:n],
            extension=f["extension_s"][:n],
            due=f["due_ts"][:n],
            codes={k: v[:n] for k, v in self._codes.items()},
            values={k: it.values for k, it in self._interners.items()},
            version=self._version[:n],
        )

    def to_frame(self) -> pd.DataFrame:
        """All cases as a DataFrame (categoricals decoded), for ranking and statistics."""
        import pandas as pd

        n = self._n
        data: dict[str, Any] = {
            "id": pd.Series(self._ids[:n], dtype="string"),
            "version": self._version[:n].copy(),
            "state": pd.Categorical.from_codes(
                self._state[:n], categories=[s.value for s in STATE_ORDER]
            ),
            "urgency": pd.Categorical.from_codes(
                self._urgency[:n], categories=[u.value for u in URGENCY_ORDER]
            ),
            "source": pd.Categorical.from_codes(
                self._source[:n], categories=[s.value for s in SOURCE_ORDER]
            ),
            "supervised": self._supervised[:n].copy(),
            "rating": self._rating[:n].copy(),
        }
        for name in _FLOAT_COLS:
            data[name] = self._f[name][:n].copy()
        for name in _CODE_COLS:
            values = self._interners[name].values
            data[name] = (
                pd.Categorical.from_codes(self._codes[name][:n], categories=values)
                if values
                else []
            )
        return pd.DataFrame(data)

    def state_fingerprint(self) -> dict[str, Any]:
        """A comparable summary of the held state (tests compare client and server with it)."""
        return {
            "seq": self.seq,
            "cases": {cid: int(self._version[r]) for cid, r in self._row.items()},
            "units": {
                u.id: (round(u.lon, 7), round(u.lat, 7), getattr(u.status, "status", None))
                for u in self.units.values()
            },
            "cameras": {k: bool(getattr(v, "online", True)) for k, v in self.cameras.items()},
            "grids": sorted(self.grids),
            "kpis": {k: getattr(v, "value", None) for k, v in self.kpis.items()},
        }
