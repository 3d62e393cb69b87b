"""Corrupt state never stops the console: journal, outbox and audit files that are
truncated or random are kept aside as NAME.corrupt-<time>, the operator is told, the app
starts; the outbox's readable rows are queued again with their idempotency keys. Files
are private at rest (0700 / 0600)."""

from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from commandcenter.actions import ItemState, Outbox, salvage_outbox
from commandcenter.audit import AuditLog
from commandcenter.domain import Role
from commandcenter.settings import Settings, SettingsError
from commandcenter.state_files import open_state, readable_rows, rowid_bound
from layouts.library import builtin_layout
from tests.support import ROOT


def _pending_outbox(path: Path, n: int) -> list[str]:
    with Outbox(path) as box:
        keys = []
        for i in range(n):
            item = box.enqueue(f"C{i:04d}", "sign", actor="duty", role=Role.DUTY_OFFICER,
                               state="reported")  # fmt: skip
            keys.append(item.key)
    return keys


def _damage_tail(path: Path) -> None:
    """Garbage over the last pages: the header and the first rows stay readable."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size - 4096)
        f.write(random.Random(1).randbytes(4096))


def test_a_damaged_outbox_is_kept_aside_and_its_readable_actions_queued_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.sqlite3"
    keys = _pending_outbox(path, 400)
    for side in ("-wal", "-shm"):
        assert not path.with_name(path.name + side).exists()  # checkpointed on close
    _damage_tail(path)
    problems: list[str] = []
    box = open_state(path, Outbox, "outbox", problems, thorough=True, salvage=salvage_outbox)
    aside = [
        p
        for p in tmp_path.glob("outbox.sqlite3.corrupt-*")
        if not p.name.endswith(("-wal", "-shm"))
    ]
    assert len(aside) == 1 and aside[0].stat().st_size > 0
    assert problems and str(aside[0]) in problems[0] and "recovered" in problems[0]
    items = box.items()
    got = {i.key for i in items}
    assert got <= set(keys)
    assert len(got) >= 300  # most pages were intact; only the damaged tail is gone
    assert all(i.state is ItemState.PENDING for i in items)
    assert f"{len(got)} recovered" in problems[0]
    # Reopening the fresh file is clean: nothing more to report.
    box.close()
    again: list[str] = []
    open_state(path, Outbox, "outbox", again, thorough=True, salvage=salvage_outbox).close()
    assert again == []


def _pages(path: Path, name: str, kind: str = "leaf") -> list[int]:
    """The page numbers of one table's b-tree (SQLite's dbstat), before the damage."""
    db = sqlite3.connect(path)
    try:
        return [
            int(r[0])
            for r in db.execute(
                "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = ? ORDER BY pageno",
                (name, kind),
            )
        ]
    finally:
        db.close()


def _overwrite_pages(path: Path, pages: list[int], page_size: int = 4096) -> None:
    with path.open("r+b") as f:
        for n in pages:
            f.seek((n - 1) * page_size)
            f.write(random.Random(n).randbytes(page_size))


def test_actions_on_destroyed_pages_are_queued_again_from_the_audit_log(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    path = tmp_path / "outbox.sqlite3"
    pending: set[str] = set()
    confirmed: set[str] = set()
    with Outbox(path, audit=audit) as box:
        for i in range(400):
            item = box.enqueue(f"C{i:04d}", "sign", actor="duty", role=Role.DUTY_OFFICER,
                               params={"note": f"第{i}件"}, state="reported")  # fmt: skip
            if i % 3 == 0:  # answered by the server, as the sender records it
                box.mark_sending(item.key)
                box.mark_confirmed(item.key)
                audit.record(actor="duty", role="duty_officer", case_id=item.case_id,
                             action="sign", result="confirmed", key=item.key)  # fmt: skip
                confirmed.add(item.key)
            else:
                pending.add(item.key)
    leaves = _pages(path, "outbox")
    assert len(leaves) >= 6
    # The last leaf (it holds max(rowid)), one in the middle, and sqlite_sequence: SQLite
    # can no longer tell how far the rowids go, and two pages of actions are gone.
    destroyed = [leaves[len(leaves) // 2], leaves[-1], *_pages(path, "sqlite_sequence")]
    _overwrite_pages(path, destroyed)
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT max(rowid) FROM outbox").fetchone()

    # Probing is bounded by what the file can hold, not by 2**20 rowids one by one.
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    top = rowid_bound(db, path, "outbox", 18)
    db.close()
    assert 400 <= top <= (path.stat().st_size // 4096) * 4096 // 22 < 1 << 20
    on_file = {r[0] for r in readable_rows(path, "outbox", ("key",))}
    lost_on_pages = (pending | confirmed) - on_file
    assert on_file <= pending | confirmed and lost_on_pages & pending and lost_on_pages & confirmed

    problems: list[str] = []
    box = open_state(path, lambda p: Outbox(p, audit=audit), "outbox", problems,
                     thorough=True, salvage=salvage_outbox)  # fmt: skip
    items = {i.key: i for i in box.items(limit=1000)}
    # Every action the server had not answered is queued again, under its own key; the
    # answered ones on the destroyed pages stay answered (the audit log holds them).
    assert pending <= set(items)
    assert all(items[k].state is ItemState.PENDING for k in pending)
    assert not (lost_on_pages & confirmed) & set(items)
    requeued = lost_on_pages & pending
    assert f"{len(requeued)} re-queued from the audit log" in problems[0]
    assert all(items[k].last_error.startswith("re-queued from the audit log") for k in requeued)
    assert items[min(requeued)].params["note"].startswith("第")
    # Per case and overall, the original order: the first written goes out first.
    due = [i.key for i in box.items(states=[ItemState.PENDING], limit=1000)][::-1]
    created = [items[k].created_at for k in due]
    assert created == sorted(created)
    box.close()
    audit.close()


def test_a_random_file_gives_a_fresh_outbox_and_a_report(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(random.Random(2).randbytes(20_000))
    problems: list[str] = []
    box = open_state(path, Outbox, "outbox", problems, thorough=True, salvage=salvage_outbox)
    assert box.items() == []
    assert "0 recovered" in problems[0]
    assert len([p for p in tmp_path.glob("outbox.sqlite3.corrupt-*")
                if not p.name.endswith(("-wal", "-shm"))]) == 1  # fmt: skip


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_app_starts_on_corrupt_state_files_and_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    keys = _pending_outbox(state / "outbox.sqlite3", 200)
    _damage_tail(state / "outbox.sqlite3")
    (state / "journal.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)  # truncated
    (state / "audit.sqlite3").write_bytes(random.Random(3).randbytes(9000))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CC_CONFIG_DIR=str(tmp_path / "cfg"),
               CC_STATE_DIR=str(state))  # fmt: skip
    r = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--geometry", "1280x800", "--seed", "3",
         "--history-hours", "0.5", "--report-first-frame", "--quit-after", "3"],
        capture_output=True, text=True, env=env, timeout=100, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert "FIRST_LIVE_FRAME" in r.stdout
    for name in ("journal", "audit", "outbox"):
        assert list(state.glob(f"{name}.sqlite3.corrupt-*")), name
    log = (state / "logs" / "commandcenter.log").read_text(encoding="utf-8")
    for name in ("journal", "audit", "outbox"):
        assert f"{name} file was corrupt, kept as" in log, name
    with Outbox(state / "outbox.sqlite3") as box:
        assert {i.key for i in box.items()} <= set(keys) and len(box.items()) >= 100
    # At rest: the state directory and every file in it are the owner's alone.
    assert _mode(state) == 0o700
    for f in state.glob("*.sqlite3*"):
        assert _mode(f) == 0o600, f


def test_unreadable_settings_are_kept_aside_before_anything_overwrites_them(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"language": "en", "theme": ', encoding="utf-8")  # cut off mid-write
    with pytest.raises(SettingsError) as err:
        Settings.load(path)
    kept = list(tmp_path.glob("settings.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8").startswith('{"language"')
    assert str(kept[0]) in str(err.value) and not path.exists()
    assert Settings.load(path).language == Settings().language  # defaults from now on


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_every_state_file_the_app_writes_is_private(tmp_path: Path) -> None:
    """Journal, outbox, audit, the log, layouts and the last-layout pointer: folders 0700,
    files 0600, whatever the umask; files an older version left 0644 are tightened."""
    state, cfg = tmp_path / "state", tmp_path / "cfg"
    (state / "logs").mkdir(parents=True, mode=0o755)
    (state / "logs" / "commandcenter.log").write_text("old line\n", encoding="utf-8")
    (cfg / "layouts").mkdir(parents=True, mode=0o755)
    old_layout = cfg / "layouts" / "old.json"
    old_layout.write_text(json.dumps(builtin_layout(), ensure_ascii=False), encoding="utf-8")
    for p in (state, state / "logs", state / "logs" / "commandcenter.log", cfg / "layouts",
              old_layout):  # fmt: skip
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CC_CONFIG_DIR=str(cfg),
               CC_STATE_DIR=str(state), XDG_CACHE_HOME=str(tmp_path / "cache"))  # fmt: skip
    r = subprocess.run(
        [sys.executable, "-c", "import os, runpy, sys; os.umask(0o022); sys.argv = sys.argv[1:];"
         " runpy.run_path(sys.argv[0], run_name='__main__')", str(ROOT / "main.py"),
         "--geometry", "1280x800", "--seed", "3", "--history-hours", "0.2", "--quit-after", "3"],
        capture_output=True, text=True, env=env, timeout=100, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    written = sorted([*state.rglob("*"), *(cfg / "layouts").rglob("*")])
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    for must in ("state/journal.sqlite3", "state/outbox.sqlite3", "state/audit.sqlite3",
                 "state/logs/commandcenter.log", "cfg/layouts/current.json"):  # fmt: skip
        assert must in names, must
    wrong = {
        p.relative_to(tmp_path).as_posix(): oct(_mode(p))
        for p in [state, cfg / "layouts", *written]
        if _mode(p) != (0o700 if p.is_dir() else 0o600)
    }
    assert wrong == {}


def test_files_written_later_in_a_session_are_private_too(tmp_path: Path) -> None:
    """What the app writes only when the officer acts: a saved layout, a saved queue
    filter, the rotated log; under umask 022 each is 0600 in a 0700 folder."""
    from commandcenter.queue import QueueFilter, SavedFilters
    from commandcenter.state_files import PrivateLogHandler
    from layouts.library import LayoutLibrary

    old = os.umask(0o022)
    try:
        lib = LayoutLibrary(tmp_path / "cfg" / "layouts", tmp_path / "presets")
        key = lib.save(builtin_layout())
        SavedFilters(tmp_path / "cfg" / "queue_filters.json").save("夜班", QueueFilter())
        log_file = tmp_path / "state" / "logs" / "commandcenter.log"
        handler = PrivateLogHandler(log_file, max_bytes=200, backups=2)
        for i in range(20):  # past max_bytes: rotated twice over
            handler.emit(logging.makeLogRecord({"msg": f"line {i} " + "x" * 40}))
        handler.close()
    finally:
        os.umask(old)
    files = [lib.user_path(key), tmp_path / "cfg" / "queue_filters.json", log_file,
             log_file.with_name("commandcenter.log.1"), log_file.with_name("commandcenter.log.2")]  # fmt: skip
    assert {f.name: oct(_mode(f)) for f in files} == {f.name: "0o600" for f in files}
    for d in (lib.user_dir, tmp_path / "cfg", log_file.parent, tmp_path / "state"):
        assert _mode(d) == 0o700, d
