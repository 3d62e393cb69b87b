"""The local journal: every event the console applied, in SQLite, for replay and time travel.

Why a journal on the console and not only the server's log: the hall must be able to look
back at what *it* showed (a server may be reset, another county's system keeps no
history, MQTT brokers keep none), and a console must keep working while the feed is down.

Layout (one SQLite file, WAL):

- ``events``: one row per applied event in the order applied (``n``), with its ``seq``,
  ``kind``, the feed time ``ts`` and a monotone copy ``t`` (``max`` of all ``ts`` so far),
  indexed, so "the last event at or before time T" is one index lookup even when a feed
  sends an old timestamp (an alert about a breach an hour ago);
- ``checkpoints``: the whole state of the store (snapshot-shaped bytes) after event ``n``:
  one on every reset (snapshot, new epoch) and one every ``checkpoint_every`` events or
  ``checkpoint_interval_s`` of feed time.

``seek(T)`` therefore costs one checkpoint decode plus at most ``checkpoint_every`` events
applied, whatever the length of the journal (bench: 24 h back over 1,000,000 events).

The core imports nothing of ``feeds``; turning events and states into bytes and back is a
``JournalCodec`` the composition root passes in (``feeds.journal_codec.journal_codec()``).

Imported history (``history``): an import of months of another system's records is kept
as one segment per imported file (its cases in columns, as the codec encodes them), with
its time span. It is not pruned: ``max_age_s`` and ``max_bytes`` bound the live events
only, so a two-day live window never deletes the months an import brought in; a segment
leaves only when it is removed by its key. ``seek_into`` lays every segment that began by
the moment asked over the live state of that moment (imported ids are namespaced per
source, so the two never collide).

The feed's past (``HistoryWriter``): a console that starts late, or after a gap, gets up
to a few hours of the feed's log (``GET /v1/history``) written in front of its live rows,
as a base checkpoint and events, folded in a scratch store, so time travel reaches back at
once; the Recorder holds its live rows meanwhile, so the journal stays one ordered history.

Bounded: rows older than ``max_age_s`` (feed time) and, when the file outgrows
``max_bytes``, the oldest segment between two checkpoints are deleted ("rotated out");
pruning always cuts at a checkpoint, so the oldest remaining row is replayable.

Durability: rows are buffered and written in one transaction per ``commit_rows`` rows or
``commit_interval_s`` seconds; a crash can lose that last fraction of a second of history,
never the live state (the store and the feed server own that).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from commandcenter.native_memory import release_free_heap
from commandcenter.one_thread import OneThread
from commandcenter.store import ChangeSet, EventLike, Store

log = logging.getLogger(__name__)

DAY = 86_400.0
CACHE_KIB = 256  # SQLite page cache per journal connection (bench: seeks and appends unchanged)
_HISTORY_WRITES = OneThread("journal-history")


class JournalCodec(Protocol):
    """Bytes in and out; supplied by the feed layer so the core stays protocol-free."""

    def encode_event(self, event: EventLike) -> bytes: ...

    def decode_events(self, rows: Sequence[tuple[int, str, float, bytes]]) -> list[EventLike]:
        """(seq, kind, ts, payload) rows -> events; undecodable rows are left out."""
        ...

    def encode_state(self, state: dict[str, Any]) -> bytes: ...

    def decode_state(self, raw: bytes) -> Any:
        """-> an object with the attributes of ``feeds.protocol.Snapshot``."""
        ...

    def encode_history(self, segment: Any) -> bytes:
        """An imported history segment (``feeds.sources.cases.ImportedCases``) -> bytes."""
        ...

    def decode_history(self, raw: bytes) -> Any:
        """-> an object whose ``at(ts)`` is the ``BulkCases`` of its cases as of ``ts``."""
        ...


def store_state(store: Store) -> dict[str, Any]:
    """The store's whole state in the shape of a snapshot (``Store.reset`` reads it back)."""
    positions = [
        {"id": u.id, "lon": u.lon, "lat": u.lat, "heading": u.heading, "speed": u.speed, "ts": u.ts}
        for u in store.units.values()
    ]
    return {
        "v": 1,
        "epoch": store.epoch,
        "seq": store.seq,
        "now": store.clock.now() if store.clock.server_now else 0.0,
        "rate": store.clock.rate,
        # Imported cases as loaded are in the journal's history segments, which a seek
        # lays over the checkpoint: carrying (and building) a million records in every
        # checkpoint would repeat them.
        "cases": [store.record_at(i) for i in np.flatnonzero(~store.history_rows()).tolist()],
        "units": [u.status for u in store.units.values() if u.status is not None],
        "positions": positions,
        "cameras": list(store.cameras.values()),
        "grids": list(store.grids.values()),
        "kpis": list(store.kpis.values()),
        "alerts": list(store.alerts),
    }


@dataclass(slots=True)
class SeekResult:
    requested: float  # the time asked for
    reached: float  # the journal time of the state shown (<= requested; the oldest if earlier)
    seq: int  # the store's seq after the seek
    epoch: str
    replayed: int  # events applied on top of the checkpoint
    seconds: float  # how long the seek took
    clamped: bool = False  # the request was older than the journal: showing its oldest state


class Journal:
    def __init__(
        self,
        path: str | Path,
        codec: JournalCodec,
        *,
        max_age_s: float = 2 * DAY,
        max_bytes: int = 4 << 30,
        checkpoint_every: int = 25_000,
        checkpoint_interval_s: float = 1800.0,
        commit_rows: int = 5000,
        commit_interval_s: float = 0.5,
        prune_every: int = 50_000,
    ) -> None:
        self.path = Path(path)
        self.codec = codec
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval_s = checkpoint_interval_s
        self.commit_rows = commit_rows
        self.commit_interval_s = commit_interval_s
        self.prune_every = prune_every
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._connect()
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS events (
                n INTEGER PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL,
                ts REAL NOT NULL, t REAL NOT NULL, payload BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS events_t ON events(t);
            CREATE TABLE IF NOT EXISTS checkpoints (
                id INTEGER PRIMARY KEY, n INTEGER NOT NULL, t REAL NOT NULL,
                epoch TEXT NOT NULL, seq INTEGER NOT NULL, state BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS checkpoints_n ON checkpoints(n);
            CREATE TABLE IF NOT EXISTS history (
                id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, t_first REAL NOT NULL,
                t_last REAL NOT NULL, cases INTEGER NOT NULL, events INTEGER NOT NULL,
                label TEXT NOT NULL, bytes INTEGER NOT NULL, segment BLOB NOT NULL);
            """
        )
        row = self._db.execute("SELECT max(n), max(t) FROM events").fetchone()
        self._n = int(row[0] or 0)
        self._t = float(row[1] or 0.0)
        cp = self._db.execute("SELECT n, t FROM checkpoints ORDER BY id DESC LIMIT 1").fetchone()
        self._cp_n = int(cp[0]) if cp else 0
        self._cp_t = float(cp[1]) if cp else 0.0
        self._pending: list[tuple[int, int, str, float, float, bytes]] = []
        self._last_commit = time.monotonic()
        self._since_prune = 0
        self._reader: sqlite3.Connection | None = None
        self.appended = 0  # rows appended by this process (tests, diagnostics)
        self._segments: dict[int, Any] = {}  # decoded history segments, by id

    def _connect(self) -> sqlite3.Connection:
        # Memory held per connection stays small and fixed (docs/reliability.md, "Soak"):
        # - no statement cache: a cached statement keeps its last bound values, and the
        #   checkpoint INSERT binds the whole store encoded (megabytes, growing with the
        #   cases) and an import's segment binds the whole file; without the cache each
        #   statement is finalized when its cursor goes, its copy with it. Preparing anew
        #   costs microseconds per statement, a few statements per commit.
        # - a page cache of CACHE_KIB: the writer appends at the right edge of two B-trees
        #   and the reader's cache is emptied by each of the writer's commits anyway (WAL),
        #   so SQLite's default of 2 MB per connection bought nothing measurable.
        db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, cached_statements=0
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        return db

    # ---- writing -----------------------------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def meta(self, key: str, default: str = "") -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    def append(self, events: Iterable[EventLike]) -> int:
        """Queue applied events (in applied order) for the next commit; returns how many."""
        enc = self.codec.encode_event
        pending = self._pending
        n, t = self._n, self._t
        count = 0
        for ev in events:
            n += 1
            ts = float(ev.ts)
            if ts > t:
                t = ts
            pending.append((n, ev.seq, ev.kind, ts, t, enc(ev)))
            count += 1
        self._n, self._t = n, t
        self.appended += count
        self._since_prune += count
        if len(pending) >= self.commit_rows or (
            pending and time.monotonic() - self._last_commit >= self.commit_interval_s
        ):
            self.flush()
        return count

    def flush(self) -> None:
        """Write the queued rows in one transaction."""
        self._last_commit = time.monotonic()
        if not self._pending:
            return
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", self._pending)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._pending.clear()
        if self._since_prune >= self.prune_every or self._over_budget():
            self._since_prune = 0
            self.prune()

    # ---- imported history ------------------------------------------------------------

    def append_history(self, key: str, segment: Any, label: str = "") -> bool:
        """Keep an imported segment (never pruned by the live window); False when a
        segment of that key is held already (the same file imported before)."""
        return self.write_history(key, segment, label).result()

    def write_history(self, key: str, segment: Any, label: str = "") -> Future[bool]:
        """``append_history`` that returns at once: the segment is encoded now, then
        written by a thread of its own through a connection of its own. Why: a million
        imported rows are tens of megabytes, and SQLite lets go of the GIL while it
        writes them, so the store loads the same rows meanwhile (``Recorder.bulk_load``;
        ``python -m bench sources``). The future's result is append_history's; an error
        of the write is raised by ``result()``."""
        raw = self.codec.encode_history(segment)
        row = (key, segment.first_time(), segment.last_time(), len(segment), segment.event_count,
               label, len(raw), raw)  # fmt: skip
        return _HISTORY_WRITES.submit(self._insert_history, row)

    def _insert_history(self, row: tuple[Any, ...]) -> bool:
        db = self._connect()
        try:
            cur = db.execute(
                "INSERT OR IGNORE INTO history (key, t_first, t_last, cases, events, label, bytes,"
                " segment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return cur.rowcount == 1
        finally:
            db.close()

    def has_history(self, key: str) -> bool:
        """Whether a segment of ``key`` is held. Safe from any thread (an import maps off
        the GUI thread and asks first): it reads through a connection of its own."""
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            return db.execute("SELECT 1 FROM history WHERE key = ?", (key,)).fetchone() is not None
        finally:
            db.close()

    def history(self) -> list[tuple[str, float, float, int, int, str]]:
        """(key, first time, last time, cases, events, label) of every imported segment."""
        return (
            self._read()
            .execute("SELECT key, t_first, t_last, cases, events, label FROM history ORDER BY id")
            .fetchall()
        )

    def remove_history(self, key: str) -> bool:
        """Drop one imported segment (the only way imported history leaves)."""
        cur = self._db.execute("DELETE FROM history WHERE key = ?", (key,))
        self._segments.clear()
        return cur.rowcount == 1

    def load_history(self, store: Store) -> int:
        """Put every imported segment, as it ends, into ``store`` (the console's live
        store at start: what ``main.py import`` brought in is then in the rankings and
        trends as well as in time travel); returns the cases loaded or replaced."""
        loaded = 0
        for seg in self._segments_by(float("inf")):
            loaded += store.bulk_load(seg.at(None), in_history=True).applied
        return loaded

    def _history_bytes(self) -> int:
        return int(self._db.execute("SELECT coalesce(sum(bytes), 0) FROM history").fetchone()[0])

    def _segments_by(self, ts: float) -> list[Any]:
        """The imported segments that began by ``ts``, decoded once and kept."""
        db = self._read()
        out = []
        for (sid,) in db.execute("SELECT id FROM history WHERE t_first <= ? ORDER BY id", (ts,)):
            seg = self._segments.get(sid)
            if seg is None:
                raw = db.execute("SELECT segment FROM history WHERE id = ?", (sid,)).fetchone()
                try:
                    seg = self._segments[sid] = self.codec.decode_history(bytes(raw[0]))
                except (ValueError, KeyError, TypeError) as err:
                    log.warning("history segment %d unreadable, left out: %s", sid, err)
                    continue
            out.append(seg)
        return out

    def checkpoint_due(self) -> bool:
        return self._n - self._cp_n >= self.checkpoint_every or (
            self._n > self._cp_n and self._t - self._cp_t >= self.checkpoint_interval_s
        )

    def checkpoint(self, store: Store, at: float | None = None) -> None:
        """Save the store's whole state as of the last appended event."""
        state = self.codec.encode_state(store_state(store))
        self.checkpoint_encoded(state, store.epoch, store.seq, at)

    def checkpoint_encoded(self, state: bytes, epoch: str, seq: int, at: float | None) -> None:
        """A state encoded earlier (``codec.encode_state``) as the checkpoint after the last
        appended event: the Recorder keeps live checkpoints so while a history is written."""
        self.flush()
        if at is not None and at > self._t:
            self._t = at
        self._db.execute(
            "INSERT INTO checkpoints (n, t, epoch, seq, state) VALUES (?, ?, ?, ?, ?)",
            (self._n, self._t, epoch, seq, state),
        )
        self._cp_n, self._cp_t = self._n, self._t
        del state
        if self._over_budget():  # a checkpoint is the store's whole state: megabytes at once
            self.prune()
        release_free_heap()  # ... freed now: its pages go back rather than stay resident

    def _over_budget(self) -> bool:
        """The live events and checkpoints past ``max_bytes`` (three PRAGMAs and one sum:
        cheap enough for every commit, so the bound holds between two ``prune_every``)."""
        return self.size_bytes() - self._history_bytes() > self.max_bytes

    def prune(self, now_t: float | None = None) -> int:
        """Drop history older than ``max_age_s`` or beyond ``max_bytes``, cutting at a
        checkpoint; returns the number of event rows deleted."""
        db = self._db
        deleted = 0
        now_t = self._t if now_t is None else now_t
        cut = db.execute(
            "SELECT id, n FROM checkpoints WHERE t <= ? ORDER BY id DESC LIMIT 1",
            (now_t - self.max_age_s,),
        ).fetchone()
        if cut is not None:
            deleted += self._cut_before(cut[0], cut[1])
        history = self._history_bytes()  # imported history does not count against the live budget
        while self.size_bytes() - history > self.max_bytes:
            # Rotate out the oldest segment: everything before the second-oldest checkpoint.
            nxt = db.execute(
                "SELECT id, n FROM checkpoints ORDER BY id LIMIT 1 OFFSET 1"
            ).fetchone()
            if nxt is None:
                break
            got = self._cut_before(nxt[0], nxt[1])
            deleted += got
            if not got:
                break
        return deleted

    def _cut_before(self, cp_id: int, cp_n: int) -> int:
        db = self._db
        db.execute("BEGIN")
        cur = db.execute("DELETE FROM events WHERE n <= ?", (cp_n,))
        db.execute("DELETE FROM checkpoints WHERE id < ?", (cp_id,))
        db.execute("COMMIT")
        return cur.rowcount

    def size_bytes(self) -> int:
        """Bytes in use. Freed pages are reused by later rows, so the file stops growing at
        about ``max_bytes`` without a VACUUM (which would stall the GUI thread)."""
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        size = self._db.execute("PRAGMA page_size").fetchone()[0]
        return (int(pages) - int(free)) * int(size)

    def close(self) -> None:
        self.flush()
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._db.close()

    # ---- reading -----------------------------------------------------------------------

    def _read(self) -> sqlite3.Connection:
        if self._reader is None:
            self._reader = self._connect()
        return self._reader

    def bounds(self) -> tuple[float, float] | None:
        """(oldest, newest) journal time one can seek to; None when nothing is recorded."""
        self.flush()
        db = self._read()
        cp = db.execute("SELECT min(t) FROM checkpoints").fetchone()
        hist = db.execute("SELECT min(t_first), max(t_last) FROM history").fetchone()
        firsts = [float(v) for v in (cp[0], hist[0]) if v is not None]
        if not firsts:
            return None
        newest = max(self._t, *firsts, float(hist[1] or 0.0))
        return min(firsts), newest

    def live_until(self) -> float:
        """The journal time of the last live event or checkpoint (0.0 when none): where a
        history fetched at start must begin for the journal to have no gap."""
        return self._t

    def count(self) -> int:
        self.flush()
        return int(self._read().execute("SELECT count(*) FROM events").fetchone()[0])

    def rows(
        self, after_n: int = 0, limit: int = 10_000
    ) -> list[tuple[int, int, str, float, bytes]]:
        """Raw rows (n, seq, kind, ts, payload) in applied order, for replay servers."""
        self.flush()
        return (
            self._read()
            .execute(
                "SELECT n, seq, kind, ts, payload FROM events WHERE n > ? ORDER BY n LIMIT ?",
                (after_n, limit),
            )
            .fetchall()
        )

    def seek_into(self, store: Store, ts: float) -> SeekResult:
        """Make ``store`` show the state as of journal time ``ts``: nearest checkpoint at or
        before it, then the events after that checkpoint up to ``ts``."""
        t0 = time.perf_counter()
        self.flush()
        db = self._read()
        row = db.execute("SELECT max(n) FROM events WHERE t <= ?", (ts,)).fetchone()
        target_n = int(row[0] or 0)
        # The time axis is monotone, so a checkpoint at or before ``ts`` never includes an
        # event after it.
        cp = db.execute(
            "SELECT n, t, state FROM checkpoints WHERE t <= ? ORDER BY id DESC LIMIT 1", (ts,)
        ).fetchone()
        clamped = False
        segments = self._segments_by(ts)
        if cp is None and segments:
            cp = (0, ts, None)  # before the live journal: the imported history alone
        if cp is None:
            cp = db.execute("SELECT n, t, state FROM checkpoints ORDER BY id LIMIT 1").fetchone()
            if cp is None:
                raise LookupError("the journal holds no checkpoint yet")
            clamped = True
            target_n = int(cp[0])
            segments = self._segments_by(float(cp[1]))
        cp_n, cp_t, state = int(cp[0]), float(cp[1]), cp[2]
        target_n = max(target_n, cp_n)
        replayed = 0
        reached = cp_t
        with _Silenced(store):
            store.reset(self.codec.decode_state(bytes(state)) if state is not None else _EMPTY)
            after = cp_n
            while after < target_n:
                chunk = db.execute(
                    "SELECT n, seq, kind, ts, t, payload FROM events WHERE n > ? AND n <= ?"
                    " ORDER BY n LIMIT 20000",
                    (after, target_n),
                ).fetchall()
                if not chunk:
                    break
                after = int(chunk[-1][0])
                reached = float(chunk[-1][4])
                events = self.codec.decode_events([(r[1], r[2], r[3], bytes(r[5])) for r in chunk])
                store.apply(events)
                replayed += len(events)
            for seg in segments:
                replayed += store.bulk_load(seg.at(ts if not clamped else cp_t)).applied
        # One change set for the whole rebuild: panels repaint once, not per chunk.
        store._publish(ChangeSet(first_seq=store.seq, last_seq=store.seq, reset=True))
        return SeekResult(
            requested=ts,
            reached=reached if not clamped else cp_t,
            seq=store.seq,
            epoch=store.epoch,
            replayed=replayed,
            seconds=time.perf_counter() - t0,
            clamped=clamped,
        )


@dataclass(slots=True, frozen=True)
class _EmptyState:
    """The state before anything: where a seek into imported history alone starts."""

    epoch: str = ""
    seq: int = 0
    now: float = 0.0
    rate: float = 0.0
    cases: tuple[Any, ...] = ()
    units: tuple[Any, ...] = ()
    positions: tuple[Any, ...] = ()
    cameras: tuple[Any, ...] = ()
    grids: tuple[Any, ...] = ()
    kpis: tuple[Any, ...] = ()
    alerts: tuple[Any, ...] = ()


_EMPTY = _EmptyState()


class _Silenced:
    """Hold back a store's change sets while it is rebuilt (one reset is published after)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._saved: Callable[[ChangeSet], None] | None = None

    def __enter__(self) -> None:
        self._saved = self.store._publish
        self.store._publish = lambda cs: None  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        del self.store._publish  # back to the class's method


class HistoryWriter:
    """Writes a feed's past (``GET /v1/history``: a base state and the events after it)
    into the journal in front of its live point, so that a console that has just started
    can travel back at once.

    Why a store of its own: the journal's checkpoints are whole states, and the state of
    the past is neither the live store's nor anything the feed sends again. The writer
    folds the past into a scratch store (never the live one: the live state comes from the
    snapshot that follows) and checkpoints it as the Recorder does the live store, so a
    seek into the past costs what it costs anywhere in the journal.

    The live start does not wait for it: from ``Recorder.history_writer`` until ``finish``
    the Recorder applies the live feed to the live store as always but holds its journal
    rows (checkpoints encoded at once, events as they came) and writes them after the past,
    so the journal stays one ordered history. Call ``begin`` with the base, ``add`` per
    page, ``finish`` at the end (always: it lets the held rows go). A journal error stops
    the writer and the Recorder, as live; a live feed that outruns ``Recorder.HOLD_MAX``
    events abandons the history (``reason``), never the live rows."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.journal = recorder.journal
        self.scratch = Store(recorder.store.policy)
        self.written = 0  # events journaled
        self.rejected: list[tuple[int, str]] = []  # refused by the scratch store, as live

    @property
    def ok(self) -> bool:
        return not self.recorder.failed and self.recorder.history_pending

    @property
    def reason(self) -> str:
        """Why the writer stopped taking the past: ``journal`` or ``abandoned``."""
        return "journal" if self.recorder.failed else "abandoned"

    def begin(self, base: Any) -> bool:
        """The state the history starts from (snapshot-shaped), as a checkpoint."""
        if not self.ok:
            return False
        cs = self.scratch.reset(base)
        self.rejected.extend(cs.rejected)
        try:
            self.journal.checkpoint(self.scratch, at=float(getattr(base, "now", 0.0) or 0.0))
        except (sqlite3.Error, OSError) as err:
            self.recorder._journal_failed(err)
        return self.ok

    def add(self, events: Sequence[EventLike]) -> bool:
        """Events after the base, in seq order; the ones the scratch store refuses are
        left out of the journal (as the Recorder leaves out the live store's refusals)."""
        if not self.ok:
            return False
        fresh = [ev for ev in events if ev.seq > self.scratch.seq]
        if not fresh:
            return True
        cs = self.scratch.apply(fresh)
        if cs.rejected:
            self.rejected.extend(cs.rejected)
            refused = {seq for seq, _ in cs.rejected}
            fresh = [ev for ev in fresh if ev.seq not in refused]
        try:
            self.journal.append(fresh)
            self.written += len(fresh)
            if self.journal.checkpoint_due():
                self.journal.checkpoint(self.scratch)
        except (sqlite3.Error, OSError) as err:
            self.recorder._journal_failed(err)
        return self.ok

    def finish(self) -> None:
        """Write what is queued, then the live rows held meanwhile; idempotent."""
        if self.ok:
            try:
                self.journal.flush()
            except (sqlite3.Error, OSError) as err:
                self.recorder._journal_failed(err)
        self.recorder.release()
        self.scratch = Store(self.recorder.store.policy)


class Recorder:
    """A feed sink that applies to the live store and journals what was applied.

    Hand it to the feed client or transport in place of the store. ``reset`` (a snapshot,
    a new epoch) writes a checkpoint at once, so every history segment starts replayable.
    """

    # A history fetched at start reaches back at most this far, and is not asked for when
    # the journal already reaches the live point within ``HISTORY_MIN_GAP_S``.
    HISTORY_MAX_S = DAY
    HISTORY_MIN_GAP_S = 60.0
    HOLD_MAX = 200_000  # live events held while a history is written, at most

    def __init__(
        self,
        store: Store,
        journal: Journal,
        on_failure: Callable[[str], None] | None = None,
        *,
        history_s: float = 3 * 3600.0,
    ) -> None:
        self.store = store
        self.journal = journal
        # How much of the feed's past to fetch into the journal when it has none (a fresh
        # console) or a gap before the live point (feeds.client, GET /v1/history); 0: none.
        self.history_s = max(0.0, min(float(history_s), self.HISTORY_MAX_S))
        # While a history is written: the live journal rows, in order, as ("checkpoint",
        # state bytes, epoch, seq, at) or ("events", [...]); None when not holding.
        self._held: list[tuple[Any, ...]] | None = None
        self._held_events = 0
        self._held_since_cp = 0
        # The live picture matters more than its history: a journal that fails while the
        # console runs (disk full, the file damaged under us) stops recording, says so once
        # through ``on_failure``, and the store goes on applying the feed.
        self.failed = ""
        self._on_failure = on_failure

    def _journal_failed(self, err: Exception) -> None:
        if not self.failed:
            self.failed = f"{type(err).__name__}: {err}"
            log.error("journal stopped recording: %s", self.failed)
            if self._on_failure is not None:
                self._on_failure(self.failed)

    @property
    def epoch(self) -> str:
        return self.store.epoch

    @epoch.setter
    def epoch(self, value: str) -> None:
        self.store.epoch = value

    @property
    def seq(self) -> int:
        return self.store.seq

    def history_since(self, now: float) -> float | None:
        """The feed time the past should be fetched from before a snapshot of feed time
        ``now`` is applied, or None when the journal already reaches it (or history is off
        or the journal failed). Never earlier than what the journal holds: no overlap."""
        if self.failed or self.history_s <= 0 or self._held is not None:
            return None
        since = max(now - self.history_s, self.journal.live_until())
        return since if now - since >= self.HISTORY_MIN_GAP_S else None

    def history_writer(self) -> HistoryWriter:
        """A writer for the past; the live journal rows are held from now until its
        ``finish`` (call it before applying the snapshot the history ends at)."""
        if self._held is None:
            self._held, self._held_events, self._held_since_cp = [], 0, 0
        return HistoryWriter(self)

    @property
    def history_pending(self) -> bool:
        """A history is being written: the journal does not yet reach the live point, and
        a replay asked for now could land in a part of the past still to come."""
        return self._held is not None

    def release(self) -> None:
        """Write the live rows held while a history was written, in their order."""
        held, self._held = self._held, None
        if not held or self.failed:
            return
        try:
            for item in held:
                if item[0] == "events":
                    self.journal.append(item[1])
                else:
                    self.journal.checkpoint_encoded(item[1], item[2], item[3], item[4])
            self.journal.flush()
        except (sqlite3.Error, OSError) as err:
            self._journal_failed(err)

    def _hold_checkpoint(self, at: float | None = None) -> None:
        """The live state now, encoded now (it moves on), to be written on release."""
        assert self._held is not None
        state = self.journal.codec.encode_state(store_state(self.store))
        self._held.append(("checkpoint", state, self.store.epoch, self.store.seq, at))
        self._held_since_cp = self._held_events

    def _hold_events(self, fresh: list[EventLike]) -> None:
        assert self._held is not None
        self._held.append(("events", fresh))
        self._held_events += len(fresh)
        if self._held_events - self._held_since_cp >= self.journal.checkpoint_every:
            self._hold_checkpoint()
        if self._held_events > self.HOLD_MAX:
            log.warning("history abandoned: %d live events arrived meanwhile", self._held_events)
            self.release()

    def reset(self, snapshot: Any) -> ChangeSet:
        cs = self.store.reset(snapshot)
        if not self.failed:
            at = float(getattr(snapshot, "now", 0.0) or 0.0)
            try:
                if self._held is not None:
                    self._hold_checkpoint(at)
                else:
                    self.journal.checkpoint(self.store, at=at)
            except (sqlite3.Error, OSError) as err:
                self._journal_failed(err)
        return cs

    def apply(self, events: Iterable[EventLike]) -> ChangeSet:
        seq = self.store.seq
        fresh: list[EventLike] = []
        batch = list(events)
        for ev in batch:
            if ev.seq > seq:
                seq = ev.seq
                fresh.append(ev)
        cs = self.store.apply(batch)
        if cs.rejected:  # refused by the store: quarantined upstream, never replayed
            refused = {seq for seq, _ in cs.rejected}
            fresh = [ev for ev in fresh if ev.seq not in refused]
        if fresh and not self.failed:
            try:
                if self._held is not None:
                    self._hold_events(fresh)
                else:
                    self.journal.append(fresh)
                    if self.journal.checkpoint_due():
                        self.journal.checkpoint(self.store)
            except (sqlite3.Error, OSError) as err:
                self._journal_failed(err)
        return cs

    def bulk_load(
        self, bulk: Any, history: Any = None, key: str = "", label: str = ""
    ) -> ChangeSet:
        """Load imported cases into the store and keep ``history`` (their segment) in the
        journal under ``key``; a journal failure stops recording, not the load. The
        segment is written while the store loads (``Journal.write_history``); should the
        write fail, the journal stops recording for good, so that the rows marked as its
        history are never left out of a checkpoint that would need them."""
        writing = None
        if history is not None and not self.failed:
            try:
                writing = self.journal.write_history(key, history, label)
            except (sqlite3.Error, OSError) as err:
                self._journal_failed(err)
        cs = self.store.bulk_load(bulk, in_history=writing is not None)
        if writing is not None:
            try:
                writing.result()
            except (sqlite3.Error, OSError) as err:
                self._journal_failed(err)
        return cs

    def set_clock(self, server_now: float, rate: float = 1.0) -> None:
        self.store.set_clock(server_now, rate)

    def set_geography(self, geography: dict[str, Any]) -> None:
        self.store.set_geography(geography)
        # Kept so that a replay of this journal can serve the county's names too.
        self.journal.set_meta("geography", json.dumps(geography, ensure_ascii=False))
