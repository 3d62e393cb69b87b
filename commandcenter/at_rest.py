"""State at rest: private files, and a corrupt file that never stops the console.

Why one module: the journal, the outbox, the audit log, settings and layouts all live in
the operator's state and config folders, and all need the same two guarantees.

- **Private.** Folders are made 0700 and files 0600: the journal holds cases (and maybe
  reporters' names), the outbox and audit log who did what. Other accounts on a shared
  hall PC must not read them.
- **Corrupt never fatal.** A file that cannot be opened is kept aside as
  ``NAME.corrupt-<UTC time>`` (never deleted: it is evidence, and may hold what an
  operator needs), a fresh one is made, and a notice is queued that the shell shows at
  start-up (``take_notices``). What can still be read out of the bad file (the outbox's
  pending actions) is salvaged first by the caller's ``salvage`` function.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600

_notices: list[str] = []
_lock = threading.Lock()


def notice(text: str) -> None:
    """Queue something the operator must be told at start-up (and log it)."""
    log.warning("%s", text)
    with _lock:
        _notices.append(text)


def take_notices() -> list[str]:
    """The queued notices, oldest first; the queue is emptied (each is shown once)."""
    with _lock:
        out = list(_notices)
        _notices.clear()
    return out


def private_dir(path: Path) -> Path:
    """Make ``path`` (and parents) and keep the folder itself 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o777 != DIR_MODE:
            path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Create ``path`` empty if missing, 0600 from its first byte, and tighten an old one
    (files of earlier versions were 0644). SQLite gives its -wal/-shm the same mode."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE)
    os.close(fd)
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):
            if p.exists() and p.stat().st_mode & 0o777 != FILE_MODE:
                p.chmod(FILE_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``, 0600."""
    private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def set_aside(path: Path, why: str, what: str) -> Path:
    """Move ``path`` (and SQLite's -wal/-shm beside it) to ``NAME.corrupt-<time>`` and
    queue a notice saying what happened and where the copy is."""
    target = keep_aside(path)
    notice(
        f"{what} {path.name} could not be read ({why}); kept as {target.name}, starting a new one"
    )
    return target


def keep_aside(path: Path) -> Path:
    """Move ``path`` (and any -wal/-shm) to ``NAME.corrupt-<time>``; returns the copy."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{target}{suffix}"))
    return target


def open_sqlite(
    path: Path,
    what: str,
    setup: Callable[[sqlite3.Connection], Any],
    *,
    salvage: Callable[[Path], Any] | None = None,
) -> tuple[sqlite3.Connection, Any]:
    """Open (or create) a private SQLite file and run ``setup`` on it (pragmas, schema).

    When the file is not a database, is damaged (``PRAGMA quick_check``) or ``setup``
    fails on it, the file is set aside, ``salvage(corrupt_path)`` reads what it can from
    the copy, and a fresh file is opened. Returns the connection and what salvage returned
    (None when nothing was wrong)."""
    private_file(path)
    try:
        db = _open_checked(path, setup)
        return db, None
    except sqlite3.DatabaseError as err:
        aside = set_aside(path, str(err) or type(err).__name__, what)
    salvaged = None
    if salvage is not None:
        try:
            salvaged = salvage(aside)
        except Exception as err:  # salvage is best effort; the notice says what was lost
            log.warning("salvage from %s failed: %s", aside, err)
    private_file(path)
    return _open_checked(path, setup), salvaged


def _open_checked(path: Path, setup: Callable[[sqlite3.Connection], Any]) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        row = db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check: {row[0] if row else 'no answer'}")
        setup(db)
    except sqlite3.DatabaseError:
        db.close()
        raise
    private_file(path)
    return db


def salvage_rows(path: Path, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` still readable in a damaged database, read one rowid at a
    time so that a bad page loses its own rows, not the rest."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "salvage.sqlite3"
        data = bytearray(path.read_bytes())
        _fix_page_count(data)
        copy.write_bytes(bytes(data))
        try:
            db = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        except sqlite3.DatabaseError:
            return rows
        _read_rows(db, table, rows)
    return rows


def _fix_page_count(data: bytearray) -> None:
    """A file cut short (a crash, a full disk) still claims its old size in its header,
    and SQLite then refuses even its first page; say what is really there."""
    if len(data) < 100 or not data.startswith(b"SQLite format 3\0"):
        return
    page = int.from_bytes(data[16:18], "big")
    page = 65536 if page == 1 else page
    if page >= 512:
        whole = len(data) // page
        del data[whole * page :]
        data[28:32] = whole.to_bytes(4, "big")


def _read_rows(db: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    try:
        db.row_factory = sqlite3.Row
        try:
            top = db.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
        except sqlite3.DatabaseError:
            top = 100_000  # the b-tree's end is unreadable: probe a generous range
        misses = 0
        for rowid in range(1, int(top) + 1):
            try:
                row = db.execute(f"SELECT * FROM {table} WHERE rowid = ?", (rowid,)).fetchone()
            except sqlite3.DatabaseError:
                row = None
            if row is None:
                misses += 1
                if misses > 5000:
                    break
                continue
            misses = 0
            rows.append(dict(row))
    finally:
        db.close()
