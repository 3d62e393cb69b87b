"""The console's own files (journal, outbox, audit, settings, layouts, tile cache): private
at rest, and never a reason not to start.

A duty console that will not start because its journal was truncated by a power cut keeps
the hall dark; deleting the file by hand loses the officer's pending actions. So a file
that cannot be opened is moved aside as ``NAME.corrupt-<time>`` (with its SQLite ``-wal``
and ``-shm`` companions), a fresh one takes its place, the reason goes to the list of
problems the shell shows at start, and, for the outbox, whatever rows SQLite can still
read are queued again with their idempotency keys (so a resend can never apply twice).

Files are created 0600 in directories 0700: they hold case details, officers' actions
and, unless masked, reporters' names and phone numbers.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Make ``path`` a directory only its owner can enter; the parents it has to create
    are made the same way (``mkdir(parents=True)`` would give them the umask's 0755)."""
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another thread or process was first
            d.mkdir(mode=DIR_MODE)
    with contextlib.suppress(OSError):  # not ours to change (e.g. a shared mount): still usable
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Owner-only permissions on ``path`` and its SQLite companions, where they exist."""
    for p in (path, *(path.with_name(path.name + s) for s in SQLITE_COMPANIONS)):
        with contextlib.suppress(OSError):
            if p.exists():
                os.chmod(p, FILE_MODE)


def touch_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 before anything writes it, so it is never
    readable by others even for an instant (the umask does not decide)."""
    private_dir(path.parent)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
        os.close(fd)
    private_file(path)


def write_private(path: Path, data: str | bytes) -> None:
    """Write a small state file (a layout, a saved filter) atomically and 0600 from its
    first byte: a temporary file beside it, then a rename, so a crash mid-write leaves the
    old file, never half a new one."""
    private_dir(path.parent)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class PrivateLogHandler(logging.handlers.RotatingFileHandler):
    """The console's log, 0600 in a 0700 folder, rotated files too: it names cases,
    officers and, in tracebacks, whatever the data held."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        touch_private(path)
        for n in range(1, backups + 1):  # rotated before files were private
            private_file(path.with_name(f"{path.name}.{n}"))
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_CREAT | os.O_WRONLY | os.O_APPEND, FILE_MODE)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def aside_path(path: Path) -> Path:
    """``NAME.corrupt-<time>`` beside ``path``, not taken yet: where a damaged file goes."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists() or target.is_symlink():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    return target


def set_aside(path: Path) -> Path:
    """Move ``path`` (and its companions) to ``NAME.corrupt-<time>``; return the new path."""
    target = aside_path(path)
    path.replace(target)
    for suffix in SQLITE_COMPANIONS:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.replace(target.with_name(target.name + suffix))
    private_file(target)
    return target


def check_sqlite(path: Path, *, thorough: bool) -> None:
    """Raise sqlite3.DatabaseError when ``path`` is not a readable SQLite database.
    ``thorough`` runs quick_check (for small files: outbox, audit); otherwise reading the
    schema catches random and truncated files at the cost of one page."""
    if not path.exists() or path.stat().st_size == 0:
        return
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if thorough:
            rows = db.execute("PRAGMA quick_check").fetchall()
            if rows != [("ok",)]:
                raise sqlite3.DatabaseError("; ".join(str(r[0]) for r in rows[:3]))
    finally:
        db.close()


def open_state[T](
    path: Path,
    opener: Callable[[Path], T],
    what: str,
    problems: list[str],
    *,
    thorough: bool = False,
    salvage: Callable[[Path, T], tuple[int, str]] | None = None,
) -> T:
    """Open one state file with ``opener``; if it is corrupt, keep it aside, report it in
    ``problems`` (zh / en, with the path of the copy) and open a fresh one. ``salvage``
    (old path, new object) -> (rows recovered, a note), for files whose rows must not be
    lost."""
    touch_private(path)
    try:
        check_sqlite(path, thorough=thorough)
        obj = opener(path)
    except sqlite3.DatabaseError as err:
        aside = set_aside(path)
        log.error(
            "%s %s is unreadable (%s): kept as %s, starting a new one", what, path, err, aside
        )
        touch_private(path)
        obj = opener(path)
        recovered, note = 0, ""
        if salvage is not None:
            try:
                recovered, note = salvage(aside, obj)
            except sqlite3.Error as salvage_err:  # what could not be read is still kept aside
                log.error("salvaging %s failed: %s", aside, salvage_err)
        tail = f"; {recovered} 条已恢复 / {recovered} recovered" if salvage is not None else ""
        tail += f" ({note})" if note else ""
        problems.append(
            f"{what} 文件损坏，已另存为 / {what} file was corrupt, kept as:\n{aside}\n({err}){tail}"
        )
    private_file(path)
    return obj


def readable_rows(path: Path, table: str, columns: tuple[str, ...]) -> list[tuple]:
    """Every row of ``table`` SQLite can still read from a damaged file, by rowid ranges, so
    one bad page loses only the rows on it."""
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    cols = ", ".join(columns)
    rows: list[tuple] = []
    try:
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError:
            return rows  # not a database at all (random bytes): nothing to read
        try:
            top = db.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
        except sqlite3.DatabaseError:
            top = rowid_bound(db, path, table, len(columns))
        step = 64
        for lo in range(0, int(top) + 1, step):
            try:
                rows.extend(
                    db.execute(
                        f"SELECT {cols} FROM {table} WHERE rowid >= ? AND rowid < ?",
                        (lo, lo + step),
                    ).fetchall()
                )
            except sqlite3.DatabaseError:
                for rid in range(lo, lo + step):
                    with contextlib.suppress(sqlite3.DatabaseError):
                        rows.extend(
                            db.execute(f"SELECT {cols} FROM {table} WHERE rowid = ?", (rid,))
                        )
    finally:
        db.close()
    return rows


def rowid_bound(db: sqlite3.Connection, path: Path, table: str, n_columns: int) -> int:
    """The highest rowid worth probing when ``max(rowid)`` cannot be read (its page is
    destroyed). An AUTOINCREMENT table's ``sqlite_sequence`` entry is exact (it is never
    lower than any rowid handed out). Otherwise the file itself bounds it: a table leaf
    cell takes at least a 2-byte pointer, two varints and a record header of one byte per
    column, so ``pages * page_size / (4 + n_columns)`` rows is more than the file can hold
    (rowids above that exist only after deletions; the outbox also has the audit log)."""
    with contextlib.suppress(sqlite3.DatabaseError):
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        if row is not None and int(row[0]) >= 0:
            return int(row[0])
    page_size = 4096
    with contextlib.suppress(sqlite3.DatabaseError):
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0]) or page_size
    pages = max(1, -(-path.stat().st_size // page_size))
    return pages * page_size // (4 + n_columns)
