"""Several live sources into one store: each source its own sink, ids, seq and epoch.

Why a layer in front of the store: the Store (and the journal Recorder around it) keeps
one history, one ``epoch`` and one ``seq``, and a snapshot replaces all of it. Work orders
from Open311, unit positions from CoT and the rest from the v1 feed have three histories:
their seqs restart independently, the same id may mean two things, and one source's
snapshot must not wipe the others' cases. ``SourceMux.sink(name)`` gives each source a
``FeedSink`` of its own:

- **its own seq and epoch**: a source dedupes and resumes against its own numbers (what
  ``feeds.client.FeedClient`` reads in ``sink.seq``); the mux renumbers every event it
  passes on into one monotone seq for the store and the journal, so the journal stays a
  single ordered history that time travel replays;
- **ids namespaced**: every source but the primary has a prefix (by default its name and
  a colon, ``cot:ANDROID-1``), written into case, unit, camera and alert ids and into the
  references between them (a case's unit assignee, a unit's case, an alert's case). Two
  sources sending the same id therefore give two cases. The primary source (the first
  configured, normally the v1 feed) keeps its ids as they are, so saved layouts, the
  action outbox and the feed server all keep speaking the same ids. Grid statistics and
  KPIs are county-wide figures keyed by area code and are not prefixed;
- **a snapshot replaces only that source's records**: the mux knows which ids each source
  sent; a reset rebuilds the store from the other sources' records plus the new snapshot
  (one ``reset`` downstream, so the Recorder writes a checkpoint and panels repaint).

Only the clock source (the primary) sets the store's clock: the demo county runs faster
than real time and its countdowns must follow it, while CoT and Open311 speak wall time.

Core, no Qt, no protocol import: records are copied with ``copy.copy`` and renamed by
attribute, as the store itself reads them.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from commandcenter.domain import FIELD_ASSIGNEE_KINDS
from commandcenter.store import BulkCases, ChangeSet, EventLike, Store

CASE_KINDS = frozenset({"case.created", "case.updated"})
UNIT_KINDS = frozenset({"unit.position", "unit.status"})
CAMERA_KINDS = frozenset({"camera.upsert", "camera.status"})


@dataclass(slots=True)
class Owned:
    """The ids one source has put into the store (what its next snapshot replaces)."""

    cases: set[str] = field(default_factory=set)
    units: set[str] = field(default_factory=set)
    cameras: set[str] = field(default_factory=set)
    grids: set[str] = field(default_factory=set)
    kpis: set[str] = field(default_factory=set)
    alerts: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(
            self.cases or self.units or self.cameras or self.grids or self.kpis or self.alerts
        )


@dataclass(slots=True)
class _State:
    """A snapshot-shaped object for ``Store.reset``: the records kept plus the new ones."""

    v: int
    epoch: str
    seq: int
    now: float
    rate: float
    cases: list[Any]
    units: list[Any]
    positions: list[Any]
    cameras: list[Any]
    grids: list[Any]
    kpis: list[Any]
    alerts: list[Any]


class _Moved:
    """An event renumbered (and renamed) for the store: what Store, Recorder and the
    journal codec read of an event, nothing more."""

    __slots__ = ("data", "extra", "kind", "seq", "ts")

    def __init__(self, seq: int, kind: str, ts: float, data: Any, extra: Any) -> None:
        self.seq = seq
        self.kind = kind
        self.ts = ts
        self.data = data
        self.extra = extra


class SourceSink:
    """One source's view of the store: a ``FeedSink`` with its own epoch and seq."""

    def __init__(self, mux: SourceMux, name: str, prefix: str, clock: bool) -> None:
        self.mux = mux
        self.name = name
        self.prefix = prefix
        self.clock = clock
        self.epoch = ""
        self.seq = 0
        self.owned = Owned()
        self.geography: dict[str, Any] = {}

    def reset(self, snapshot: Any) -> ChangeSet:
        return self.mux._reset(self, snapshot)

    def apply(self, events: Iterable[EventLike]) -> ChangeSet:
        return self.mux._apply(self, events)

    def set_clock(self, server_now: float, rate: float = 1.0) -> None:
        if self.clock:
            self.mux.downstream.set_clock(server_now, rate)

    def set_geography(self, geography: dict[str, Any]) -> None:
        self.geography = geography
        self.mux._merge_geography()

    def history_since(self, now: float) -> float | None:
        """Where the feed's past should be fetched from (``Recorder.history_since``).
        Only the primary source's: its ids and seqs are the store's as they come, and its
        clock is the journal's time axis; other sources' pasts are not fetched."""
        if self.prefix or not self.clock:
            return None
        ask = getattr(self.mux.downstream, "history_since", None)
        return ask(now) if ask is not None else None

    def history_writer(self) -> Any:
        """The journal's writer for that past (only after ``history_since`` said when)."""
        return self.mux.downstream.history_writer()

    @property
    def case_count(self) -> int:
        return len(self.owned.cases)

    def __repr__(self) -> str:
        return f"SourceSink({self.name!r}, prefix={self.prefix!r}, epoch={self.epoch!r}, seq={self.seq})"


class SourceMux:
    """Hands out per-source sinks and feeds them all into one store (through ``downstream``,
    normally the journal ``Recorder``, so every applied event is journaled)."""

    def __init__(self, store: Store, downstream: Any = None) -> None:
        self.store = store
        self.downstream = downstream if downstream is not None else store
        self.parts: dict[str, SourceSink] = {}

    def sink(
        self, name: str, prefix: str | None = None, *, clock: bool | None = None
    ) -> SourceSink:
        """The sink for source ``name``. ``prefix`` None: none for the first source (the
        primary), ``name:`` for every other. ``clock`` None: the primary's clock rules."""
        if name in self.parts:
            raise ValueError(f"two sources are named {name!r}")
        primary = not self.parts
        if prefix is None:
            prefix = "" if primary else f"{name}:"
        for other in self.parts.values():
            if (
                other.prefix == prefix
                or (prefix and other.prefix.startswith(prefix))
                or (other.prefix and prefix.startswith(other.prefix))
            ):
                raise ValueError(
                    f"sources {other.name!r} and {name!r} would share the id prefix "
                    f"{prefix or other.prefix!r}: their ids could collide"
                )
        part = SourceSink(self, name, prefix, primary if clock is None else clock)
        self.parts[name] = part
        return part

    def owner_of(self, case_id: str) -> str:
        """The name of the source a case came from ('' when none holds it)."""
        for part in self.parts.values():
            if case_id in part.owned.cases:
                return part.name
        return ""

    # ---- renaming ----------------------------------------------------------------------

    @staticmethod
    def _renamed(obj: Any, prefix: str, *refs: str) -> Any:
        """A copy of ``obj`` with ``id`` and the named references prefixed."""
        out = copy.copy(obj)
        out.id = prefix + obj.id
        for ref in refs:
            value = getattr(obj, ref, "")
            if value:
                setattr(out, ref, prefix + value)
        return out

    def _case(self, c: Any, part: SourceSink) -> Any:
        if not part.prefix:
            return c
        refs = ("assignee",) if getattr(c, "assignee_kind", "") in FIELD_ASSIGNEE_KINDS else ()
        return self._renamed(c, part.prefix, *refs)

    def _unit(self, u: Any, part: SourceSink) -> Any:
        return self._renamed(u, part.prefix, "case_id") if part.prefix else u

    def _plain(self, obj: Any, part: SourceSink) -> Any:
        return self._renamed(obj, part.prefix) if part.prefix else obj

    def _alert(self, a: Any, part: SourceSink) -> Any:
        return self._renamed(a, part.prefix, "case_id") if part.prefix else a

    def _translate(self, kind: str, data: Any, part: SourceSink) -> Any:
        """The payload as the store will hold it; ownership noted."""
        owned = part.owned
        if kind == "unit.position" and not part.prefix:  # the bulk of a live feed
            owned.units.add(data.id)
        elif kind in CASE_KINDS:
            data = self._case(data, part)
            owned.cases.add(data.id)
        elif kind in UNIT_KINDS:
            data = self._unit(data, part)
            owned.units.add(data.id)
        elif kind in CAMERA_KINDS:
            data = self._plain(data, part)
            owned.cameras.add(data.id)
        elif kind == "alert.raised":
            data = self._alert(data, part)
            owned.alerts.add(data.id)
        elif kind == "grid.stats":
            owned.grids.add(data.id)
        elif kind == "kpi.update":
            owned.kpis.add(data.name)
        return data

    # ---- applying ----------------------------------------------------------------------

    def _apply(self, part: SourceSink, events: Iterable[EventLike]) -> ChangeSet:
        seq = self.store.seq
        out: list[Any] = []
        back: dict[int, int] = {}  # the store's seq -> the source's, for rejections
        refused: list[tuple[int, str]] = []
        duplicates = stale = 0
        for ev in events:
            if ev.seq <= part.seq:
                duplicates += 1
                continue
            part.seq = ev.seq
            try:
                data = self._translate(ev.kind, ev.data, part)
            except (AttributeError, TypeError) as err:
                # Nothing to rename (no id): the store would refuse it too. Refused with the
                # source's own seq; the rest of the batch goes on.
                refused.append((ev.seq, f"{ev.kind}: {type(err).__name__}: {err}"[:300]))
                continue
            if ev.kind in CASE_KINDS:
                held = self.store.case(data.id)
                version = getattr(data, "version", None)
                if held is not None and isinstance(version, int) and held.version >= version:
                    stale += 1  # e.g. a file read again: not applied, not journaled again
                    continue
            seq += 1
            back[seq] = ev.seq
            if seq == ev.seq and data is ev.data:
                out.append(ev)  # a lone source, numbered as the store goes: as it came
            else:
                out.append(_Moved(seq, ev.kind, ev.ts, data, getattr(ev, "extra", None)))
        cs = self.downstream.apply(out) if out else ChangeSet()
        if cs.rejected:
            cs = dataclasses.replace(cs, rejected=[(back.get(s, s), r) for s, r in cs.rejected])
        cs.rejected.extend(refused)
        cs.duplicates += duplicates
        cs.stale += stale
        return cs

    # ---- snapshots ---------------------------------------------------------------------

    def _reset(self, part: SourceSink, snapshot: Any) -> ChangeSet:
        old = part.owned
        part.epoch = snapshot.epoch
        part.seq = snapshot.seq
        part.owned = Owned()
        new = _State(
            v=1, epoch="", seq=0, now=0.0, rate=1.0,
            cases=[self._translate("case.created", c, part) for c in snapshot.cases],
            units=[self._translate("unit.status", u, part) for u in snapshot.units],
            positions=[self._translate("unit.position", p, part) for p in snapshot.positions],
            cameras=[self._translate("camera.upsert", c, part) for c in snapshot.cameras],
            grids=[self._translate("grid.stats", g, part) for g in snapshot.grids],
            kpis=[self._translate("kpi.update", k, part) for k in snapshot.kpis],
            alerts=[self._translate("alert.raised", a, part) for a in snapshot.alerts],
        )  # fmt: skip
        store = self.store
        if not old and not part.owned and store.epoch:
            # An empty start (a CoT listener, an Open311 poller): nothing to replace.
            return ChangeSet(first_seq=store.seq, last_seq=store.seq)
        if part.clock:
            new.now, new.rate = snapshot.now, snapshot.rate
        elif store.clock.server_now:  # the clock source's time goes on
            new.now, new.rate = store.clock.now(), store.clock.rate
        # else: no clock source has spoken yet; the store shows wall time meanwhile
        # The store's seq only ever grows. The primary may pull it up to its own (then its
        # events pass through unrenumbered); nobody pulls it down.
        new.seq = max(store.seq, snapshot.seq) if not part.prefix else store.seq
        new.epoch = self._epoch()
        kept_extras: dict[str, dict[str, Any]] = {}
        imported = None
        if old or store.epoch or len(store):  # imported history sits there before any source
            imported = self._keep_others(new, old)
            kept_extras = {k: v for k, v in store.case_extras().items() if k not in old.cases}
        cs = self.downstream.reset(new)
        if imported is not None and len(imported):
            # straight into the store: the journal holds these as its history segments
            store.bulk_load(imported, in_history=True)
        if kept_extras:
            store.restore_extras(kept_extras)
        return cs

    def _keep_others(self, new: _State, old: Owned) -> BulkCases | None:
        """Put every record the resetting source does not own in front of its new ones;
        the imported history, as an import left it, comes back as columns (returned, for
        a bulk load after the reset): a million records rebuilt one by one on every
        reconnect would stall the console for as long as the import took."""
        store = self.store
        history = store.history_rows()
        imported = None
        if history.any():
            keep = None
            if old.cases:
                owned = old.cases
                keep = np.fromiter((cid not in owned for cid in store.columns().ids), bool, len(store))
            imported = store.history_bulk(keep)
        cases = [store.record_at(int(i)) for i in np.flatnonzero(~history)]
        new.cases[:0] = [c for c in cases if c.id not in old.cases]
        units = [u for u in store.units.values() if u.id not in old.units]
        new.units[:0] = [u.status for u in units if u.status is not None]
        new.positions[:0] = units  # a UnitRecord has the attributes of a position
        new.cameras[:0] = [c for c in store.cameras.values() if c.id not in old.cameras]
        new.grids[:0] = [g for g in store.grids.values() if g.id not in old.grids]
        new.kpis[:0] = [k for k in store.kpis.values() if k.name not in old.kpis]
        new.alerts[:0] = [a for a in store.alerts if getattr(a, "id", None) not in old.alerts]
        return imported

    def _epoch(self) -> str:
        """The store's epoch: the one source's, or every source's together."""
        held = [p for p in self.parts.values() if p.epoch]
        if len(held) == 1 and not held[0].prefix:
            return held[0].epoch
        return "+".join(f"{p.name}={p.epoch}" for p in held)

    def _merge_geography(self) -> None:
        """Area and department names from every source; the primary's first."""
        merged: dict[str, Any] = {}
        for part in self.parts.values():
            for key, value in part.geography.items():
                if isinstance(value, list) and isinstance(merged.get(key), list):
                    merged[key] = merged[key] + value
                else:
                    merged.setdefault(key, value)
        self.downstream.set_geography(merged)
