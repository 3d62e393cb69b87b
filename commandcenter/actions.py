"""The outbox: every operator action is written down, durably, before it is sent.

"Nothing lost" is the hall's first rule for actions. An officer who clicked 签收 must
never find out an hour later that the click evaporated because the server was restarting
or the console crashed. So an action is a row in a local SQLite file (WAL,
``synchronous=FULL``: the commit survives the process being killed and the machine losing
power) *before* ``enqueue`` returns, and it carries a UUID4 idempotency key from birth.
The sender (``feeds.actions.ActionSender``) takes due rows, posts them with that key,
and records what the server answered. Because the server applies each key at most once,
a row may be sent any number of times: after a crash while ``sending``, on restart the
row is simply pending again and goes out with the *same* key.

Item life cycle::

    pending --mark_sending--> sending --mark_confirmed--> confirmed
       ^                         |     --mark_refused---> refused   (illegal, forbidden, not found)
       +------mark_retry---------+     --mark_conflict--> conflict  (someone else moved the case)
       (server away: back-off)         --mark_invalid---> invalid   (the request itself is bad)

Refused, conflict and invalid items stay in ``needs_attention()`` until the officer
acknowledges them: a conflict is shown, never swallowed. Resolved items are pruned after
``keep_days``; the audit log (audit.py) keeps the permanent record.

The core knows nothing of HTTP: this module only stores, orders and reports. Callbacks
run on the thread that made the change (the Qt thread in the app: the sender runs on its
qasync loop).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from commandcenter import lifecycle
from commandcenter.domain import CaseState, Role

DAY = 86_400.0
CACHE_KIB = 256  # SQLite page cache of the outbox's connection


class ItemState(StrEnum):
    PENDING = "pending"  # written, waiting to be sent (or to be sent again)
    SENDING = "sending"  # a request is (or was, before a crash) on the wire
    CONFIRMED = "confirmed"  # the server applied it
    REFUSED = "refused"  # illegal for the case, forbidden for the role, or no such case
    CONFLICT = "conflict"  # the case moved on since the officer looked (expected_version)
    INVALID = "invalid"  # the server could not read the request; a bug, not a retry


UNRESOLVED: frozenset[ItemState] = frozenset({ItemState.PENDING, ItemState.SENDING})
NEEDS_ATTENTION: frozenset[ItemState] = frozenset(
    {ItemState.REFUSED, ItemState.CONFLICT, ItemState.INVALID}
)

ITEM_STATE_LABELS_ZH: dict[ItemState, str] = {
    ItemState.PENDING: "待发送",
    ItemState.SENDING: "发送中",
    ItemState.CONFIRMED: "已确认",
    ItemState.REFUSED: "被拒绝",
    ItemState.CONFLICT: "冲突",
    ItemState.INVALID: "请求无效",
}


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One action as the outbox holds it; immutable, re-read after every change."""

    id: int  # local order of enqueueing (FIFO per case)
    key: str  # the Idempotency-Key, fixed for the life of the item
    case_id: str
    action: str
    actor: str  # display name recorded in the case's timeline
    role: Role  # the role the officer acts in (the server decides from the token)
    params: dict[str, Any]
    expected_version: int  # 0 = do not check
    state: ItemState
    created_at: float
    updated_at: float
    attempts: int = 0  # requests started (a crash mid-request counts)
    next_try_at: float = 0.0
    last_error: str = ""  # the last transient failure (connect, timeout, http_503 ...)
    reason: str = ""  # why refused / conflict / invalid, in the server's words
    case: dict[str, Any] | None = None  # the server's record of the case after the answer
    seq: int = 0  # the feed seq of the case.updated this produced (confirmed)
    acknowledged: bool = False  # the officer has seen a refusal or conflict

    @property
    def is_resolved(self) -> bool:
        return self.state not in UNRESOLVED

    @property
    def label_zh(self) -> str:
        act = lifecycle.ACTION_LABELS_ZH.get(lifecycle.Action(self.action), self.action)
        return f"{act}（{ITEM_STATE_LABELS_ZH[self.state]}）"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    params TEXT NOT NULL,
    expected_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_at REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    result_case TEXT,
    seq INTEGER NOT NULL DEFAULT 0,
    acknowledged INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, next_try_at);
CREATE INDEX IF NOT EXISTS outbox_case ON outbox (case_id, id);
"""

_COLUMNS = (
    "id, key, case_id, action, actor, role, params, expected_version, state, created_at,"
    " updated_at, attempts, next_try_at, last_error, reason, result_case, seq, acknowledged"
)


def _row_to_item(row: tuple[Any, ...]) -> OutboxItem:
    return OutboxItem(
        id=row[0],
        key=row[1],
        case_id=row[2],
        action=row[3],
        actor=row[4],
        role=Role(row[5]),
        params=json.loads(row[6]),
        expected_version=row[7],
        state=ItemState(row[8]),
        created_at=row[9],
        updated_at=row[10],
        attempts=row[11],
        next_try_at=row[12],
        last_error=row[13],
        reason=row[14],
        case=json.loads(row[15]) if row[15] else None,
        seq=row[16],
        acknowledged=bool(row[17]),
    )


def _representative_state(act: lifecycle.Action) -> CaseState:
    """A state the action fits, to check its parameters when the case's state is unknown."""
    return next(iter(lifecycle.TRANSITIONS[act]))


@dataclass
class _Subscribers:
    callbacks: list[Callable[[OutboxItem], None]] = field(default_factory=list)

    def publish(self, item: OutboxItem) -> None:
        for cb in list(self.callbacks):
            cb(item)


class Outbox:
    """A durable queue of operator actions in one SQLite file (see the module docstring).

    Thread-safe (one lock around one connection): the UI may enqueue from its thread while
    the sender works elsewhere. ``clock`` is injectable so tests can move time.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        keep_days: float = 7.0,
        clock: Callable[[], float] = time.time,
        audit: Any = None,
    ) -> None:
        """``audit``: an ``audit.AuditLog`` (or anything with its ``record``) that learns of
        every enqueue and every local refusal; the sender records the outcomes."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.keep_days = keep_days
        self.clock = clock
        self.audit = audit
        self._lock = threading.RLock()
        self._subs = _Subscribers()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives a power cut, not only a killed process. Actions are a few
        # per minute; the fsync is the price of "nothing lost" (see bench numbers in tests).
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        # a few rows a minute, read back a page at a time: 256 KiB of page cache, not
        # SQLite's 2 MB per connection (docs/reliability.md, "Soak")
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.executescript(_SCHEMA)
        self.recovered = self._recover()
        self.prune()

    # ---- life ----------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _recover(self) -> int:
        """Items left 'sending' by a crash go back to pending, due now, with the same key:
        the server may or may not have applied them, and its idempotency store knows."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE outbox SET state = ?, next_try_at = ?, last_error = ? WHERE state = ?",
                (
                    ItemState.PENDING.value,
                    self.clock(),
                    "interrupted while sending (restart)",
                    ItemState.SENDING.value,
                ),
            )
            return cur.rowcount

    def adopt(self, rows: list[tuple[Any, ...]]) -> int:
        """Take in rows read from a damaged outbox (columns as ``_COLUMNS``, without ids):
        each keeps its idempotency key, so the server answers a resend from its store and
        the action applies once; one that was being sent is pending again. A key already
        here is skipped. Returns how many were taken."""
        taken = 0
        now = self.clock()
        with self._lock:
            for row in rows:
                values = list(row[1:])
                if values[7] == ItemState.SENDING.value:
                    values[7] = ItemState.PENDING.value
                    values[11] = now
                try:
                    cur = self._db.execute(
                        f"INSERT OR IGNORE INTO outbox ({_COLUMNS.partition(', ')[2]}) "
                        f"VALUES ({', '.join('?' * len(values))})",
                        values,
                    )
                except sqlite3.Error:  # a row too damaged to hold: skipped, the rest goes on
                    continue
                taken += cur.rowcount
        return taken

    # ---- subscriptions -------------------------------------------------------------------

    def subscribe(self, callback: Callable[[OutboxItem], None]) -> Callable[[], None]:
        """Call ``callback(item)`` after every change of an item; returns the unsubscribe."""
        self._subs.callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._subs.callbacks:
                self._subs.callbacks.remove(callback)

        return unsubscribe

    # ---- writing -------------------------------------------------------------------------

    def project_state(self, case_id: str, state: CaseState | str) -> CaseState:
        """The state the case will be in once this console's unresolved actions on it apply.

        The store still shows the case as 'reported' while our 签收 waits in the outbox; the
        officer may dispatch right away, and the check must be against 'signed'.
        """
        st = CaseState(state)
        for item in self.unresolved(case_id):
            try:
                act = lifecycle.Action(item.action)
            except ValueError:
                continue
            st = lifecycle.TRANSITIONS[act].get(st, st)
        return st

    def enqueue(
        self,
        case_id: str,
        action: str,
        actor: str,
        params: dict[str, Any] | None = None,
        expected_version: int = 0,
        *,
        state: CaseState | str | None = None,
        role: Role | str | None = None,
    ) -> OutboxItem:
        """Write an action down durably and return it (state ``pending``, a fresh key).

        ``state``: the case's state as the console shows it; when given, the action is
        checked with ``lifecycle.check`` against it (after this console's own unresolved
        actions on the case) and, if illegal, refused here with the reason: raises
        ``lifecycle.IllegalTransition`` and stores nothing. Without it, the action name
        and its parameters are still checked. ``role``: the officer's role (checked when
        given; the server decides from the token in any case).

        ``expected_version``: the version the officer saw, 0 for no check. Our own
        unresolved actions on the case will each raise it by one before this one arrives,
        so they are added: otherwise the second of two quick clicks would always conflict.

        The row is committed before this returns; measured ~1-3 ms with fsync.
        """
        params = dict(params or {})
        the_role = Role(role) if role is not None else Role.SYSTEM
        try:
            act = lifecycle.Action(action)
        except ValueError:
            reason = f"unknown action {action!r}"
            self._audit_refusal(case_id, action, actor, the_role, params, reason)
            raise lifecycle.IllegalTransition(reason) from None
        try:
            params_json = json.dumps(params, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as err:
            reason = f"parameters are not plain JSON: {err}"
            self._audit_refusal(case_id, action, actor, the_role, {}, reason)
            raise lifecycle.IllegalTransition(reason) from None
        with self._lock:
            ahead = self.unresolved(case_id)
            check_state = (
                self.project_state(case_id, state)
                if state is not None
                else _representative_state(act)
            )
            reason = lifecycle.check(check_state, act, the_role, params)
            if reason is not None:
                self._audit_refusal(case_id, action, actor, the_role, params, reason)
                raise lifecycle.IllegalTransition(reason)
            if expected_version:
                expected_version += len(ahead)
            now = self.clock()
            key = str(uuid.uuid4())
            cur = self._db.execute(
                "INSERT INTO outbox (key, case_id, action, actor, role, params, expected_version,"
                " state, created_at, updated_at, next_try_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    key,
                    case_id,
                    act.value,
                    actor,
                    the_role.value,
                    params_json,
                    int(expected_version),
                    ItemState.PENDING.value,
                    now,
                    now,
                    now,
                ),
            )  # autocommit: durable when execute returns
            item = self._get_by_id(int(cur.lastrowid or 0))
        if self.audit is not None:
            self.audit.record(
                actor=actor,
                role=the_role.value,
                case_id=case_id,
                action=act.value,
                params=params,
                result="queued",
                key=key,
                ts=now,
            )
        self._subs.publish(item)
        return item

    def _audit_refusal(
        self, case_id: str, action: str, actor: str, role: Role, params: dict, reason: str
    ) -> None:
        if self.audit is not None:
            self.audit.record(
                actor=actor,
                role=role.value,
                case_id=case_id,
                action=action,
                params=params,
                result="refused_local",
                reason=reason,
                ts=self.clock(),
            )

    def _update(self, key: str, allowed_from: Iterable[ItemState], **cols: Any) -> OutboxItem:
        """Change one item's columns if it is in one of ``allowed_from``; commit; publish."""
        allowed = tuple(s.value for s in allowed_from)
        cols["updated_at"] = self.clock()
        sets = ", ".join(f"{c} = ?" for c in cols)
        marks = ",".join("?" * len(allowed))
        with self._lock:
            cur = self._db.execute(
                f"UPDATE outbox SET {sets} WHERE key = ? AND state IN ({marks})",
                (*cols.values(), key, *allowed),
            )
            item = self.get(key)
        if item is None:
            raise KeyError(key)
        if cur.rowcount == 0:
            raise ValueError(f"outbox item {key} is {item.state.value}, not {'/'.join(allowed)}")
        self._subs.publish(item)
        return item

    def mark_sending(self, key: str) -> OutboxItem:
        """About to post: counted as an attempt, and committed first, so a crash from here
        on is recovered as 'retry with the same key'."""
        with self._lock:
            item = self.get(key)
            if item is None:
                raise KeyError(key)
            return self._update(
                key, (ItemState.PENDING,), state=ItemState.SENDING.value, attempts=item.attempts + 1
            )

    def mark_confirmed(
        self, key: str, case: dict[str, Any] | None = None, seq: int = 0
    ) -> OutboxItem:
        return self._update(
            key,
            UNRESOLVED,
            state=ItemState.CONFIRMED.value,
            reason="",
            result_case=_json_or_none(case),
            seq=int(seq),
        )

    def mark_refused(self, key: str, reason: str, case: dict[str, Any] | None = None) -> OutboxItem:
        return self._update(
            key,
            UNRESOLVED,
            state=ItemState.REFUSED.value,
            reason=reason,
            result_case=_json_or_none(case),
        )

    def mark_conflict(
        self, key: str, reason: str, case: dict[str, Any] | None = None
    ) -> OutboxItem:
        return self._update(
            key,
            UNRESOLVED,
            state=ItemState.CONFLICT.value,
            reason=reason,
            result_case=_json_or_none(case),
        )

    def mark_invalid(self, key: str, reason: str) -> OutboxItem:
        return self._update(key, UNRESOLVED, state=ItemState.INVALID.value, reason=reason)

    def mark_retry(self, key: str, error: str, delay: float) -> OutboxItem:
        """The server was away or failed: pending again, due after ``delay`` seconds. The
        caller picks the delay (exponential back-off with jitter, by ``attempts``)."""
        return self._update(
            key,
            UNRESOLVED,
            state=ItemState.PENDING.value,
            last_error=error[:300],
            next_try_at=self.clock() + max(0.0, delay),
        )

    def acknowledge(self, key: str) -> OutboxItem:
        """The officer has seen the refusal or conflict: it leaves ``needs_attention()``."""
        return self._update(key, NEEDS_ATTENTION, acknowledged=1)

    def retry_now(self, key: str) -> OutboxItem:
        """Skip the back-off wait (the officer pressed 'send now')."""
        return self._update(key, (ItemState.PENDING,), next_try_at=self.clock())

    def retry_all_now(self) -> int:
        """Every pending item due now: the server is back, the backlog should not wait out
        back-offs it earned while the server was away."""
        now = self.clock()
        with self._lock:
            keys = [
                r[0]
                for r in self._db.execute(
                    "SELECT key FROM outbox WHERE state = 'pending' AND next_try_at > ?", (now,)
                ).fetchall()
            ]
            if keys:
                self._db.execute(
                    "UPDATE outbox SET next_try_at = ? WHERE state = 'pending' AND next_try_at > ?",
                    (now, now),
                )
        for key in keys:
            item = self.get(key)
            if item is not None:
                self._subs.publish(item)
        return len(keys)

    # ---- reading -------------------------------------------------------------------------

    def _select(
        self, where: str = "", args: tuple[Any, ...] = (), tail: str = ""
    ) -> list[OutboxItem]:
        sql = f"SELECT {_COLUMNS} FROM outbox {('WHERE ' + where) if where else ''} {tail}"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_row_to_item(r) for r in rows]

    def _get_by_id(self, item_id: int) -> OutboxItem:
        return self._select("id = ?", (item_id,))[0]

    def get(self, key: str) -> OutboxItem | None:
        found = self._select("key = ?", (key,))
        return found[0] if found else None

    def due(self, now: float | None = None, limit: int = 50) -> list[OutboxItem]:
        """Pending items whose time has come, oldest first, at most one per case: an action
        never overtakes an earlier one on the same case (签收 before 派遣), even when the
        earlier one waits out a back-off."""
        now = self.clock() if now is None else now
        return self._select(
            "state = 'pending' AND next_try_at <= ? AND id IN ("
            " SELECT min(id) FROM outbox WHERE state IN ('pending', 'sending') GROUP BY case_id)",
            (now, max(0, limit)),
            "ORDER BY id LIMIT ?",
        )

    def next_due_at(self) -> float | None:
        """When the earliest pending item becomes due; None when nothing is pending."""
        with self._lock:
            row = self._db.execute(
                "SELECT min(next_try_at) FROM outbox WHERE state = 'pending'"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def pending(self, case_id: str | None = None) -> list[OutboxItem]:
        """What the UI shows as 'pending' (待确认): written, not yet confirmed by the server."""
        return self.unresolved(case_id)

    def unresolved(self, case_id: str | None = None) -> list[OutboxItem]:
        if case_id is None:
            return self._select("state IN ('pending', 'sending')", (), "ORDER BY id")
        return self._select(
            "state IN ('pending', 'sending') AND case_id = ?", (case_id,), "ORDER BY id"
        )

    def needs_attention(self) -> list[OutboxItem]:
        """Refused, conflicting and invalid items the officer has not acknowledged yet."""
        return self._select(
            "state IN ('refused', 'conflict', 'invalid') AND acknowledged = 0", (), "ORDER BY id"
        )

    def items(
        self,
        case_id: str | None = None,
        states: Iterable[ItemState | str] | None = None,
        limit: int = 500,
    ) -> list[OutboxItem]:
        """Newest first, optionally for one case and/or some states (the history view)."""
        where: list[str] = []
        args: list[Any] = []
        if case_id is not None:
            where.append("case_id = ?")
            args.append(case_id)
        if states is not None:
            vals = [ItemState(s).value for s in states]
            where.append(f"state IN ({','.join('?' * len(vals))})")
            args.extend(vals)
        return self._select(" AND ".join(where), (*args, limit), "ORDER BY id DESC LIMIT ?")

    def counts(self) -> dict[ItemState, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall()
        out = dict.fromkeys(ItemState, 0)
        for state, n in rows:
            out[ItemState(state)] = n
        return out

    # ---- housekeeping --------------------------------------------------------------------

    def prune(self, now: float | None = None) -> int:
        """Forget resolved items last changed more than ``keep_days`` ago, so the file stays
        small; the audit log is the permanent record. Unresolved items are never pruned."""
        now = self.clock() if now is None else now
        cutoff = now - self.keep_days * DAY
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM outbox WHERE updated_at < ? AND state NOT IN ('pending', 'sending')",
                (cutoff,),
            )
            return cur.rowcount


def _json_or_none(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def salvage_outbox(damaged: Path, outbox: Outbox) -> tuple[int, str]:
    """Queue again what a damaged outbox file still holds (``state_files.open_state``), and
    what sat on its destroyed pages but the audit log knows was still pending: every
    action was audited ``queued`` under its idempotency key when it was written, and its
    outcome under the same key, so a ``queued`` key with no outcome is an action the
    server may not have applied. It goes out again under that key (the server answers a
    key it has applied from its idempotency store: applied once either way), with the
    parameters as the audit kept them (masked) and no version check (the version the
    officer saw was on the lost page). Returns (actions queued, a note for the operator)."""
    from commandcenter.state_files import readable_rows

    columns = tuple(c.strip() for c in _COLUMNS.split(","))
    rows = readable_rows(damaged, "outbox", columns)
    lost: list[tuple[Any, ...]] = []
    if outbox.audit is not None:
        have = {r[1] for r in rows}
        now = outbox.clock()
        since = now - outbox.keep_days * DAY
        lost = [_audit_row(rec, now) for rec in outbox.audit.unresolved_queued(since)]
        lost = [r for r in lost if r[1] not in have]
    # In the order they were first written, so per case an action never overtakes an
    # earlier one (签收 before 派遣), whichever source it came back from.
    taken = outbox.adopt(sorted(rows + lost, key=lambda r: (float(r[9] or 0.0), r[1])))
    note = (
        f"{len(lost)} 条据审计日志重新排队 / {len(lost)} re-queued from the audit log"
        if lost
        else ""
    )
    return taken, note


def _audit_row(rec: Any, now: float) -> tuple[Any, ...]:
    """An outbox row (``_COLUMNS``, id unknown) rebuilt from an audit ``queued`` record."""
    return (
        None,
        rec.key,
        rec.case_id,
        rec.action,
        rec.actor,
        rec.role,
        json.dumps(rec.params, ensure_ascii=False),
        0,  # expected_version: not audited
        ItemState.PENDING.value,
        rec.ts,
        now,
        0,
        now,
        "re-queued from the audit log: its outbox page was destroyed",
        "",
        None,
        0,
        0,
    )
