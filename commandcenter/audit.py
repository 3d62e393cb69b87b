"""Audit log of operator actions: who did what to which case, when, and what came of it.

Why a separate, append-only log next to the outbox: the outbox forgets resolved items
after a few days and is rewritten as items move on; the audit log is the record a
supervisor or an inquiry reads months later ("who returned this case, and why?"). So it
only ever grows: SQLite triggers refuse UPDATE and DELETE on its table, and the code has
no method that changes a row.

Personal data stays out of it. Reporters' names and phone numbers (the feed carries them
for the call-back, docs/feed-protocol.md) are masked in every parameter and reason before
the row is written, with the rules of ``commandcenter.privacy`` (the same as briefing
screens and exports): by key (``reporter_phone``, ``phone``, ``reporter_name`` ...), by
pattern (mobiles, landlines, ID numbers, labelled names, house numbers in free text) and
by value (the names the caller passes as ``sensitive``, e.g. the case's reporter). The export is CSV in
UTF-8 with a BOM, because Excel on a Chinese Windows desktop otherwise reads the file as
GBK and shows mojibake; cells that Excel would run as a formula are defused.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commandcenter import hall_time, lifecycle
from commandcenter.privacy import Mask

CACHE_KIB = 256  # SQLite page cache of the log's connection

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    case_id TEXT NOT NULL,
    action TEXT NOT NULL,
    params TEXT NOT NULL,
    result TEXT NOT NULL,
    reason TEXT NOT NULL,
    key TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
CREATE INDEX IF NOT EXISTS audit_case ON audit (case_id, ts);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

# Results written by the outbox and the sender (free text is allowed; these are the usual).
RESULT_QUEUED = "queued"  # written to the outbox, not yet sent
RESULT_REFUSED_LOCAL = "refused_local"  # refused by the console before anything was stored
RESULT_CONFIRMED = "confirmed"
RESULT_REFUSED = "refused"
RESULT_CONFLICT = "conflict"
RESULT_INVALID = "invalid"

RESULT_LABELS_ZH = {
    RESULT_QUEUED: "已提交待发送",
    RESULT_REFUSED_LOCAL: "本地拒绝",
    RESULT_CONFIRMED: "成功",
    RESULT_REFUSED: "被拒绝",
    RESULT_CONFLICT: "冲突",
    RESULT_INVALID: "请求无效",
    "shown": "已显示",  # a reporter's details revealed (widgets/cases/detail.py)
    "acknowledged": "已确认",  # an alarm acknowledged (commandcenter/alarms.py)
}

_MASK = Mask(enabled=True)  # the audit is read by people outside the hall: always masked

CSV_HEADER = (
    "time",
    "ts",
    "actor",
    "role",
    "case_id",
    "action",
    "action_zh",
    "params",
    "result",
    "reason",
    "idempotency_key",
)


def mask_params(value: Any, sensitive: Iterable[str] = ()) -> Any:
    """A copy of action parameters with personal data masked, recursively, by the rules of
    ``commandcenter.privacy`` (the same as every briefing screen and export): names and
    phone numbers by key, numbers, labelled names and the ``sensitive`` names in text."""
    names = tuple(s for s in sensitive if s)
    mask = _MASK
    if isinstance(value, dict):
        flat = {k: v for k, v in value.items() if not isinstance(v, dict | list | tuple)}
        out = mask.mapping(flat, names)
        for k, v in value.items():
            if isinstance(v, dict | list | tuple):
                out[k] = mask_params(v, names)
        return {k: out[k] for k in value}  # keep the caller's order
    if isinstance(value, list | tuple):
        return [mask_params(v, names) for v in value]
    if isinstance(value, str):
        return mask.text(value, names)
    return value


def mask_text(text: str, sensitive: Iterable[str] = ()) -> str:
    return _MASK.text(text, tuple(s for s in sensitive if s))


def _excel_safe(text: str) -> str:
    """A cell starting with = + - @ is a formula to Excel (CSV injection): make it text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    ts: float  # epoch seconds, wall clock of the console
    actor: str
    role: str
    case_id: str
    action: str
    params: dict[str, Any]  # already masked
    result: str
    reason: str
    key: str  # the outbox item's idempotency key: joins the queued and the outcome rows

    @property
    def action_zh(self) -> str:
        try:
            return lifecycle.ACTION_LABELS_ZH[lifecycle.Action(self.action)]
        except ValueError:
            return self.action


_COLUMNS = "id, ts, actor, role, case_id, action, params, result, reason, key"


def _row(r: tuple[Any, ...]) -> AuditRecord:
    try:
        params = json.loads(r[6])
    except ValueError:
        params = {"_raw": r[6]}
    return AuditRecord(r[0], r[1], r[2], r[3], r[4], r[5], params, r[7], r[8], r[9])


class AuditLog:
    """Append-only SQLite log of operator actions (see the module docstring)."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        # a few rows a minute, read back a page at a time: 256 KiB of page cache, not
        # SQLite's 2 MB per connection (docs/reliability.md, "Soak")
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(
        self,
        *,
        actor: str,
        role: str,
        case_id: str,
        action: str,
        params: dict[str, Any] | None = None,
        result: str,
        reason: str = "",
        key: str = "",
        ts: float | None = None,
        sensitive: Iterable[str] = (),
    ) -> AuditRecord:
        """Append one row (committed when this returns). ``sensitive``: names or numbers
        to mask wherever they appear in the parameters and the reason."""
        sensitive = tuple(s for s in sensitive if s)
        masked = mask_params(params or {}, sensitive)
        reason = mask_text(reason, sensitive)
        ts = self.clock() if ts is None else ts
        params_json = json.dumps(masked, ensure_ascii=False, default=str)
        with self._lock:
            cur = self._db.execute(
                f"INSERT INTO audit ({_COLUMNS.partition(', ')[2]}) VALUES (?,?,?,?,?,?,?,?,?)",
                (ts, actor, str(role), case_id, action, params_json, result, reason, key),
            )
            rid = int(cur.lastrowid or 0)
        return AuditRecord(rid, ts, actor, str(role), case_id, action, masked, result, reason, key)

    def query(
        self,
        *,
        actor: str | None = None,
        role: str | None = None,
        case_id: str | None = None,
        action: str | None = None,
        result: str | Iterable[str] | None = None,
        key: str | None = None,
        since: float | None = None,
        until: float | None = None,
        text: str | None = None,
        limit: int | None = 1000,
        newest_first: bool = True,
    ) -> list[AuditRecord]:
        """Rows matching every filter given. ``since`` inclusive, ``until`` exclusive
        (epoch seconds); ``text`` searches actor, case, parameters and reason."""
        where: list[str] = []
        args: list[Any] = []
        for col, val in (
            ("actor", actor),
            ("role", role),
            ("case_id", case_id),
            ("action", action),
            ("key", key),
        ):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        if result is not None:
            results = [result] if isinstance(result, str) else list(result)
            where.append(f"result IN ({','.join('?' * len(results))})")
            args.extend(results)
        if since is not None:
            where.append("ts >= ?")
            args.append(since)
        if until is not None:
            where.append("ts < ?")
            args.append(until)
        if text:
            where.append("(actor || ' ' || case_id || ' ' || params || ' ' || reason) LIKE ?")
            args.append(f"%{text}%")
        sql = f"SELECT {_COLUMNS} FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC" if newest_first else " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_row(r) for r in rows]

    def unresolved_queued(self, since: float) -> list[AuditRecord]:
        """``queued`` records since ``since`` whose idempotency key has no outcome row yet
        (confirmed, refused, conflict, invalid): what the outbox should still hold, oldest
        first. The outbox's salvage re-queues from this what a damaged file lost."""
        outcomes = (RESULT_CONFIRMED, RESULT_REFUSED, RESULT_CONFLICT, RESULT_INVALID)
        marks = ",".join("?" * len(outcomes))
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM audit WHERE result = ? AND key != '' AND ts >= ?"
                f" AND key NOT IN (SELECT key FROM audit WHERE result IN ({marks}))"
                " ORDER BY id",
                (RESULT_QUEUED, since, *outcomes),
            ).fetchall()
        return [_row(r) for r in rows]

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM audit").fetchone()[0])

    def export_csv(self, path: str | Path, **filters: Any) -> int:
        """Write the matching rows (oldest first, all of them unless ``limit`` is given) to
        ``path`` as CSV with a header row, UTF-8 with BOM; returns the number of rows.

        ``time`` is the hall's local time (hall_time), ``ts`` the epoch seconds behind it.
        """
        filters.setdefault("limit", None)
        filters["newest_first"] = False
        rows = self.query(**filters)
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        with tmp.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(CSV_HEADER)
            for r in rows:
                w.writerow(
                    [
                        hall_time.local(r.ts).isoformat(timespec="seconds"),
                        f"{r.ts:.3f}",
                        *(
                            _excel_safe(x)
                            for x in (
                                r.actor,
                                r.role,
                                r.case_id,
                                r.action,
                                r.action_zh,
                                json.dumps(r.params, ensure_ascii=False),
                                r.result,
                                r.reason,
                                r.key,
                            )
                        ),
                    ]
                )
        tmp.replace(path)  # a half-written export never takes the real name
        return len(rows)
