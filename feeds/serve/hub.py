"""Sequencing, the durable log, the resume window and the fan-out of the feed server.

Why it is its own piece: the sequence number is the contract between server and client
(``Last-Event-ID`` resumes, a snapshot names the ``seq`` it reflects), so exactly one place
assigns it, encodes each envelope once, and keeps the state that a snapshot at that
``seq`` shows. Everything here runs on one asyncio loop thread; nothing is locked.

Fan-out is a cursor per subscriber into one ring of encoded events rather than a copy of
each event per subscriber: a publisher never blocks or copies per client. What a
subscriber can hold on its own is bounded too: the frame it is writing, and the events
published while that write waits on its socket (its *queue*). A subscriber whose queue
grows past ``subscriber_queue`` events (a client that stopped reading) is cut off: taken
out of the fan-out at once, counted, and sent ``resync: slow_consumer`` as its last
message; one whose cursor falls out of the ring is told ``fell_behind``.

Windows, so that nothing grows with uptime (docs/feed-protocol.md, "Windows"):

- the resume window: the last ``ring_size`` events, and none older than
  ``resume_window_s`` (wall time since publication); the durable log is pruned to it;
- idempotency keys: kept ``idempotency_window_s`` (wall time), at most
  ``idempotency_max_keys`` (the oldest go first).

With a state directory, every event is appended to SQLite (WAL, one commit per published
batch, before any stream can send it) together
with the latest record of each entity, so a restart rebuilds the live state from a small
table instead of replaying the whole log, keeps the ``epoch`` and continues the numbering.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from commandcenter.domain import CaseState
from feeds import protocol as P
from feeds.serve.history import KEYFRAME_EVERY, Keyframes, snapshot_of

log = logging.getLogger(__name__)

DAY = 86_400.0
# Finished: nothing more for the hall to do. A completed case still awaits verification.
_FINISHED = frozenset(
    s.value for s in (CaseState.CLOSED, CaseState.CALLED_BACK, CaseState.EVALUATED)
)
_ALERTS_KEPT = 200
_DB_NAME = "feed.sqlite3"


class Stored(NamedTuple):
    seq: int
    kind: str
    payload: bytes  # the encoded envelope, exactly as sent


@dataclass(slots=True, eq=False)
class Subscriber:
    """One open stream, as the hub sees it: where it is and whether a write of its is
    waiting on the socket (since which ``seq``), so that publishing can tell a client
    that stopped reading from one that is merely between two events."""

    cursor: int
    writing_since: int = -1  # hub.seq when its pending write began; -1: not writing
    cut: bool = False  # dropped as a slow consumer: its stream ends with a resync


@dataclass(slots=True)
class FeedState:
    """The latest record of every entity: what a snapshot shows."""

    cases: dict[str, P.CaseData] = field(default_factory=dict)
    units: dict[str, P.UnitStatusData] = field(default_factory=dict)
    positions: dict[str, P.UnitPosition] = field(default_factory=dict)
    cameras: dict[str, P.CameraData] = field(default_factory=dict)
    grids: dict[str, P.GridStats] = field(default_factory=dict)
    kpis: dict[str, P.Kpi] = field(default_factory=dict)
    alerts: deque[P.Alert] = field(default_factory=lambda: deque(maxlen=_ALERTS_KEPT))

    def apply(self, kind: str, data: Any) -> tuple[str, msgspec.Struct] | None:
        """Fold one event in; returns (entity key, new entity record) for the durable table."""
        if kind in (P.CASE_CREATED, P.CASE_UPDATED):
            old = self.cases.get(data.id)
            if old is not None and old.version > data.version:
                return None
            self.cases[data.id] = data
            return f"case:{data.id}", data
        if kind == P.UNIT_POSITION:
            self.positions[data.id] = data
            return f"pos:{data.id}", data
        if kind == P.UNIT_STATUS:
            self.units[data.id] = data
            return f"unit:{data.id}", data
        if kind == P.CAMERA_UPSERT:
            cam = msgspec.structs.replace(data)  # a copy: the world mutates its own
            self.cameras[data.id] = cam
            return f"cam:{data.id}", cam
        if kind == P.CAMERA_STATUS:
            old_cam = self.cameras.get(data.id)
            if old_cam is None:
                return None
            cam = msgspec.structs.replace(old_cam, online=data.online)
            self.cameras[data.id] = cam
            return f"cam:{data.id}", cam
        if kind == P.GRID_STATS:
            self.grids[data.id] = data
            return f"grid:{data.id}", data
        if kind == P.KPI_UPDATE:
            self.kpis[data.name] = data
            return f"kpi:{data.name}", data
        if kind == P.ALERT_RAISED:
            self.alerts.append(data)
            return f"alert:{data.id}", data
        return None

    def copy(self) -> FeedState:
        """A shallow copy: the records are shared (they are replaced, never changed, once
        folded in), so a history keyframe costs one dictionary entry per entity."""
        return FeedState(
            cases=dict(self.cases),
            units=dict(self.units),
            positions=dict(self.positions),
            cameras=dict(self.cameras),
            grids=dict(self.grids),
            kpis=dict(self.kpis),
            alerts=deque(self.alerts, maxlen=_ALERTS_KEPT),
        )

    def prune(self, now: float, keep_closed_s: float = DAY) -> list[str]:
        """Drop finished cases older than ``keep_closed_s``; returns their entity keys."""
        cutoff = now - keep_closed_s
        gone = [
            cid for cid, c in self.cases.items() if c.state in _FINISHED and c.state_ts < cutoff
        ]
        for cid in gone:
            del self.cases[cid]
        return [f"case:{cid}" for cid in gone]


_KIND_OF_KEY = {
    "case": P.CaseData,
    "pos": P.UnitPosition,
    "unit": P.UnitStatusData,
    "cam": P.CameraData,
    "grid": P.GridStats,
    "kpi": P.Kpi,
    "alert": P.Alert,
}


class Hub:
    """Numbers events, keeps the resume ring, the live state and (optionally) the log."""

    def __init__(
        self,
        state_dir: Path | str | None = None,
        ring_size: int = 100_000,
        commit_interval_s: float = 0.25,
        *,
        resume_window_s: float = DAY,
        idempotency_window_s: float = DAY,
        idempotency_max_keys: int = 50_000,
        subscriber_queue: int = 10_000,
    ) -> None:
        if ring_size < 1:
            raise ValueError("ring_size must be >= 1")
        if resume_window_s <= 0 or idempotency_window_s <= 0:
            raise ValueError("windows must be > 0 seconds")
        if idempotency_max_keys < 1 or subscriber_queue < 1:
            raise ValueError("idempotency_max_keys and subscriber_queue must be >= 1")
        self.ring_size = int(ring_size)
        self._ring: list[Stored | None] = [None] * self.ring_size
        self.seq = 0
        self.first_seq = 1  # the oldest seq still in the ring (when seq >= first_seq)
        self.resume_window_s = float(resume_window_s)
        self.idempotency_window_s = float(idempotency_window_s)
        self.idempotency_max_keys = int(idempotency_max_keys)
        self.subscriber_queue = int(subscriber_queue)
        # What the age bound of the resume window is enforced with, oldest first: one
        # [last seq, last publish time, first publish time] (monotonic) per slice of 1/256
        # of the window, so the marks stay a few hundred however often events come; a
        # slice leaves when its newest event is older than the window.
        self._marks: deque[list[float]] = deque()
        self._mark_span = self.resume_window_s / 256
        self._subscribers: set[Subscriber] = set()
        self.slow_consumers_cut = 0
        self.window_bytes = 0  # encoded payload bytes the ring holds now
        # Housekeeping (age windows, pruning the durable log) runs this often: a quarter of
        # the shortest window, so nothing outlives its window by more than a quarter of it.
        self._housekeeping_s = max(
            0.05, min(60.0, self.resume_window_s / 4, self.idempotency_window_s / 4)
        )
        self._last_housekeeping = time.monotonic()
        self.state = FeedState()
        # States a bounded history (GET /v1/history) can start from (feeds.serve.history):
        # at least eight within a full window, however small it is configured.
        self.keyframes = Keyframes(every=max(1, min(KEYFRAME_EVERY, self.ring_size // 8)))
        self.now = 0.0
        self.rate = 1.0
        self.closed = False
        self.restored = False
        self.commit_interval_s = commit_interval_s
        self._waiters: list[asyncio.Future[None]] = []
        self._pending: list[tuple[int, str, float, bytes]] = []
        self._pending_latest: dict[str, msgspec.Struct] = {}
        self._pending_deleted: set[str] = set()
        self._last_commit = time.monotonic()
        self._last_prune = 0.0
        self._db: sqlite3.Connection | None = None
        # key -> (fingerprint, status, body, time.time() stored); insertion order is age order
        self._idem_mem: dict[str, tuple[str, int, bytes, float]] = {}
        self._pending_idem: list[tuple[str, str, int, bytes, float]] = []
        self._prune_alerts = False
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.meta: dict[str, str] = {}
        if self.state_dir is None:
            self.epoch = secrets.token_hex(8)
        else:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self._open_db(self.state_dir / _DB_NAME)
            self.epoch = self.meta.get("epoch") or secrets.token_hex(8)
            if "epoch" not in self.meta:
                self.set_meta("epoch", self.epoch)
            self._load()

    # ------------------------------------------------------------------ persistence

    def _open_db(self, path: Path) -> None:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS events (
                seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, ts REAL NOT NULL,
                payload BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS latest (
                ekey TEXT PRIMARY KEY, seq INTEGER NOT NULL, payload BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS idempotency (
                key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
                body BLOB NOT NULL, ts REAL NOT NULL);
            CREATE INDEX IF NOT EXISTS idempotency_ts ON idempotency(ts);
            """
        )
        self._db = db
        self.meta = dict(db.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value
        if self._db is not None:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _load(self) -> None:
        db = self._db
        assert db is not None
        row = db.execute("SELECT max(seq) FROM events").fetchone()
        last = int(row[0] or 0)
        if last == 0:
            return
        self.seq = last
        tail = db.execute(
            "SELECT seq, kind, payload FROM events WHERE seq > ? ORDER BY seq",
            (last - self.ring_size,),
        ).fetchall()
        for seq, kind, payload in tail:
            self._ring[seq % self.ring_size] = Stored(seq, kind, bytes(payload))
            self.window_bytes += len(payload)
        self.first_seq = tail[0][0] if tail else last + 1
        # Their publication times died with the last process: the window counts from now.
        mono = time.monotonic()
        self._marks.append([last, mono, mono])
        alerts: list[tuple[int, P.Alert]] = []
        for ekey, seq, payload in db.execute("SELECT ekey, seq, payload FROM latest"):
            group = ekey.split(":", 1)[0]
            typ = _KIND_OF_KEY.get(group)
            if typ is None:
                continue
            try:
                rec = msgspec.json.decode(payload, type=typ)
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.warning("skipping unreadable state record %s", ekey)
                continue
            if group == "case":
                self.state.cases[rec.id] = rec
            elif group == "pos":
                self.state.positions[rec.id] = rec
            elif group == "unit":
                self.state.units[rec.id] = rec
            elif group == "cam":
                self.state.cameras[rec.id] = rec
            elif group == "grid":
                self.state.grids[rec.id] = rec
            elif group == "kpi":
                self.state.kpis[rec.name] = rec
            else:
                alerts.append((seq, rec))
        for _, a in sorted(alerts, key=lambda x: x[0])[-_ALERTS_KEPT:]:
            self.state.alerts.append(a)
        self.now = float(self.meta.get("now", "0") or 0.0)
        self.restored = True

    def commit(self) -> None:
        """Write what was published since the last commit (one transaction)."""
        self._last_commit = time.monotonic()
        db = self._db
        if db is None or (
            not self._pending
            and not self._pending_latest
            and not self._pending_deleted
            and not self._prune_alerts
            and not self._pending_idem
        ):
            self._pending.clear()
            return
        enc = P.encode
        db.execute("BEGIN")
        try:
            if self._pending:
                db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", self._pending)
            if self._pending_latest:
                db.executemany(
                    "INSERT OR REPLACE INTO latest VALUES (?, ?, ?)",
                    [(k, self.seq, enc(v)) for k, v in self._pending_latest.items()],
                )
            if self._pending_deleted:
                db.executemany(
                    "DELETE FROM latest WHERE ekey = ?", [(k,) for k in self._pending_deleted]
                )
            if self._prune_alerts:
                self._prune_alerts = False
                db.execute(
                    "DELETE FROM latest WHERE ekey LIKE 'alert:%' AND seq < ("
                    " SELECT coalesce(min(seq), 0) FROM (SELECT seq FROM latest"
                    " WHERE ekey LIKE 'alert:%' ORDER BY seq DESC LIMIT ?))",
                    (_ALERTS_KEPT,),
                )
            if self._pending_idem:
                db.executemany(
                    "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?)", self._pending_idem
                )
            db.execute("INSERT OR REPLACE INTO meta VALUES ('now', ?)", (repr(self.now),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._pending.clear()
        self._pending_latest.clear()
        self._pending_deleted.clear()
        self._pending_idem.clear()

    def maybe_commit(self) -> None:
        """Called by the driver every tick: commit at most every ``commit_interval_s``,
        prune finished cases from the live state once a minute, and keep the windows."""
        mono = time.monotonic()
        if mono - self._last_prune > 60.0:
            self._last_prune = mono
            for key in self.state.prune(self.now):
                self._pending_latest.pop(key, None)
                self._pending_deleted.add(key)
            self._prune_alerts = self._db is not None
        if mono - self._last_housekeeping >= self._housekeeping_s:
            self.housekeeping()
        if mono - self._last_commit >= self.commit_interval_s:
            self.commit()

    def housekeeping(self) -> None:
        """Enforce the windows: events older than ``resume_window_s`` leave the resume
        window, the durable log loses what is no longer in it, and idempotency keys older
        than their window (or beyond ``idempotency_max_keys``) are forgotten."""
        self._last_housekeeping = time.monotonic()
        self.expire_ring()
        self._expire_keys()
        if self._db is not None:
            self._prune_log()

    def expire_ring(self) -> None:
        """Move the start of the resume window past events published more than
        ``resume_window_s`` ago (cheap: called before every resume decision too)."""
        marks = self._marks
        cutoff = time.monotonic() - self.resume_window_s
        if not marks or marks[0][1] >= cutoff:
            return
        ring, n = self._ring, self.ring_size
        while marks and marks[0][1] < cutoff:
            last = int(marks.popleft()[0])
            for s in range(self.first_seq, last + 1):
                item = ring[s % n]
                if item is not None and item.seq == s:
                    ring[s % n] = None  # freed now, not when the ring wraps round
                    self.window_bytes -= len(item.payload)
            self.first_seq = max(self.first_seq, last + 1)

    def _prune_log(self, most: int = 50_000) -> None:
        """Delete durable events below the resume window, ``most`` rows at a time so one
        call never holds the loop for long (an old log shrinks over a few calls)."""
        db = self._db
        assert db is not None
        row = db.execute("SELECT min(seq) FROM events").fetchone()
        if row[0] is None or row[0] >= self.first_seq:
            return
        upto = min(self.first_seq, int(row[0]) + most)
        db.execute("DELETE FROM events WHERE seq < ?", (upto,))

    def window_events(self) -> int:
        """Events a resume can be served from now."""
        return max(0, self.seq - self.first_seq + 1)

    # Idempotency keys live next to the log so a retried action stays applied once
    # across restarts. Without a state dir they are kept in memory. A key is answered from
    # the store while it is younger than ``idempotency_window_s``; after that it is gone and
    # the same request is decided afresh (docs/feed-protocol.md, section 5).

    def _key_cutoff(self) -> float:
        return time.time() - self.idempotency_window_s

    def idem_get(self, key: str) -> tuple[str, int, bytes] | None:
        """(request fingerprint, status code, body) stored under ``key`` within the window."""
        cutoff = self._key_cutoff()
        if self._db is None:
            got = self._idem_mem.get(key)
            return got[:3] if got is not None and got[3] >= cutoff else None
        row = self._db.execute(
            "SELECT fingerprint, status, body FROM idempotency WHERE key = ? AND ts >= ?",
            (key, cutoff),
        ).fetchone()
        return (row[0], int(row[1]), bytes(row[2])) if row else None

    def idem_put(self, key: str, fingerprint: str, status: int, body: bytes) -> None:
        now = time.time()
        if self._db is None:
            self._idem_mem.pop(key, None)  # an expired entry of the same key: age order
            self._idem_mem[key] = (fingerprint, status, body, now)
            while len(self._idem_mem) > self.idempotency_max_keys:
                del self._idem_mem[next(iter(self._idem_mem))]
            return
        self._pending_idem.append((key, fingerprint, status, body, now))
        self.commit()  # the event it produced and the key become durable together

    def _expire_keys(self) -> None:
        cutoff = self._key_cutoff()
        if self._db is None:
            mem = self._idem_mem
            while mem:
                oldest = next(iter(mem))
                if mem[oldest][3] >= cutoff:
                    break
                del mem[oldest]
            return
        db = self._db
        db.execute("DELETE FROM idempotency WHERE ts < ?", (cutoff,))
        excess = self.idempotency_keys() - self.idempotency_max_keys
        if excess > 0:
            db.execute(
                "DELETE FROM idempotency WHERE key IN"
                " (SELECT key FROM idempotency ORDER BY ts LIMIT ?)",
                (excess,),
            )

    def idempotency_keys(self) -> int:
        """Keys held now (expired ones not yet pruned included)."""
        if self._db is None:
            return len(self._idem_mem)
        return int(self._db.execute("SELECT count(*) FROM idempotency").fetchone()[0])

    def close(self) -> None:
        """Stop streams (they see ``closed``), flush the log, close the database."""
        self.closed = True
        self._wake()
        if self._db is not None:
            self.commit()
            self._db.close()
            self._db = None

    # ------------------------------------------------------------------ publishing

    def publish(self, events: Iterable[tuple[str, Any, float]], commit: bool = True) -> int:
        """Number, encode once, fold into the state, keep in the ring, queue for the log.

        ``commit=False`` leaves the commit to the caller, who must make it before yielding
        to the loop (streams may send the events then): the actions endpoint commits the
        events together with the idempotency key they answer (``idem_put``), so a crash
        can never keep the one without the other."""
        self.keyframes.before_publish(self)
        ring = self._ring
        n = self.ring_size
        seq = self.seq
        apply = self.state.apply
        pending = self._pending
        persist = self._db is not None
        latest = self._pending_latest
        enc = P.encode_envelope
        published = False
        held = self.window_bytes
        for kind, data, ts in events:
            seq += 1
            payload = enc(seq, kind, ts, data)
            old = ring[seq % n]
            if old is not None:
                held -= len(old.payload)
            held += len(payload)
            ring[seq % n] = Stored(seq, kind, payload)
            changed = apply(kind, data)
            if persist:
                pending.append((seq, kind, ts, payload))
                if changed is not None:
                    latest[changed[0]] = changed[1]
            published = True
        if published:
            self.seq = seq
            self.window_bytes = held
            if seq - self.first_seq >= n:
                self.first_seq = seq - n + 1
            marks = self._marks
            mono = time.monotonic()
            if marks and mono - marks[-1][2] < self._mark_span:
                marks[-1][0], marks[-1][1] = seq, mono
            else:
                marks.append([seq, mono, mono])
            while marks[0][0] < self.first_seq:  # fallen out by count
                marks.popleft()
            if persist and commit:
                # Durable before visible: a client must never hold an event that a server
                # killed right after sending it would not know after its restart.
                self.commit()
            if self._subscribers:
                self._cut_slow_consumers()
            self._wake()
        return self.seq

    # ------------------------------------------------------------------ subscribers

    def subscribe(self, cursor: int) -> Subscriber:
        sub = Subscriber(cursor)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscriber_queues(self) -> list[int]:
        """Events published while each subscriber's pending write waits (0: not writing)."""
        return [
            self.seq - s.writing_since if s.writing_since >= 0 else 0 for s in self._subscribers
        ]

    def health(self) -> dict[str, int]:
        """The bounds as they stand, for ``/v1/health``: an operator (and the soak bench)
        sees that the windows hold and how many streams were cut off."""
        return {
            "window_first_seq": self.first_seq,
            "window_events": self.window_events(),
            "window_max_events": self.ring_size,
            "window_bytes": self.window_bytes,
            "idempotency_keys": self.idempotency_keys(),
            "idempotency_max_keys": self.idempotency_max_keys,
            "streams": self.subscribers,
            "stream_queue_max": max(self.subscriber_queues(), default=0),
            "slow_consumers_cut": self.slow_consumers_cut,
        }

    def _cut_slow_consumers(self) -> None:
        """Drop every subscriber whose write has waited while more than
        ``subscriber_queue`` events were published: it stopped reading. It leaves the
        fan-out now; its stream sends ``resync: slow_consumer`` if its socket ever moves."""
        limit = self.seq - self.subscriber_queue
        slow = [s for s in self._subscribers if 0 <= s.writing_since < limit]
        for sub in slow:
            sub.cut = True
            self._subscribers.discard(sub)
            self.slow_consumers_cut += 1
            log.warning(
                "stream cut off: slow consumer at seq %d, %d events behind (%d cut so far)",
                sub.cursor,
                self.seq - sub.cursor,
                self.slow_consumers_cut,
            )

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def wait_beyond(self, seq: int, timeout: float) -> None:
        """Return when an event after ``seq`` exists, the hub closes, or ``timeout`` passes."""
        if self.seq > seq or self.closed or timeout <= 0:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        await asyncio.wait((fut,), timeout=timeout)

    # ------------------------------------------------------------------ reading

    def can_resume(self, seq: int) -> bool:
        """True when every event after ``seq`` is still in the ring."""
        return self.first_seq - 1 <= seq <= self.seq

    def events_after(
        self, seq: int, max_events: int = 2000, max_bytes: int = 512 * 1024
    ) -> list[Stored]:
        """Consecutive stored events after ``seq`` (caller checked ``can_resume``)."""
        out: list[Stored] = []
        size = 0
        ring = self._ring
        n = self.ring_size
        end = min(self.seq, seq + max_events)
        for s in range(seq + 1, end + 1):
            item = ring[s % n]
            if item is None or item.seq != s:
                break
            out.append(item)
            size += len(item.payload) + 1
            if size >= max_bytes:
                break
        return out

    def snapshot(self, now: float | None = None, rate: float | None = None) -> P.Snapshot:
        return snapshot_of(self.state, self.epoch, self.seq, self.now if now is None else now,
                           self.rate if rate is None else rate)  # fmt: skip
