"""Corrupt state never stops the console, and state at rest is private.

Real SQLite files, damaged the way disks and hands damage them (random bytes, truncated
mid-page, a settings file cut in half); the console keeps a copy aside, says so, starts,
and re-queues every operator action it can still read."""

from __future__ import annotations

import os
import random
import sqlite3
import stat
from pathlib import Path

import pytest

from commandcenter import at_rest
from commandcenter.actions import ItemState, Outbox
from commandcenter.audit import AuditLog
from commandcenter.journal import Journal
from commandcenter.settings import Settings, SettingsError
from feeds.serve.replay import journal_codec


@pytest.fixture(autouse=True)
def _no_leftover_notices() -> None:
    at_rest.take_notices()


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _garbage(path: Path, n: int = 20_000) -> None:
    path.write_bytes(random.Random(7).randbytes(n))


def test_a_random_journal_is_kept_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.sqlite3"
    path.parent.mkdir()
    _garbage(path)
    j = Journal(path, journal_codec())
    assert j.meta("x", "fresh") == "fresh"
    aside = list(path.parent.glob("journal.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].stat().st_size == 20_000
    notes = at_rest.take_notices()
    assert len(notes) == 1 and "journal" in notes[0] and aside[0].name in notes[0]


def _outbox_with_actions(path: Path, n: int) -> list[str]:
    with Outbox(path) as box:
        keys = []
        for i in range(n):
            item = box.enqueue(f"C{i}", "sign", actor="officer", role="duty_officer")
            keys.append(item.key)
    return keys


def test_a_damaged_outbox_salvages_and_requeues_what_it_can_read(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    keys = _outbox_with_actions(path, 40)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    last = len(data) // page - 1
    data[last * page : (last + 1) * page] = random.Random(1).randbytes(page)  # an index page
    path.write_bytes(bytes(data))
    box = Outbox(path)
    try:
        pending = [i for i in box.items() if i.state is ItemState.PENDING]
        # The rows on the destroyed page are gone; every other one is queued again.
        assert 20 <= box.salvaged == len(pending) <= 40
        assert {i.key for i in pending} <= set(keys)  # same keys: the server dedupes
        notes = at_rest.take_notices()
        assert any("outbox" in n and "kept as" in n for n in notes)
        assert any("queued again" in n for n in notes)
        assert list(tmp_path.glob("outbox.sqlite3.corrupt-*"))
    finally:
        box.close()


def test_an_outbox_of_random_bytes_still_opens_empty_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    _garbage(path)
    with Outbox(path) as box:
        assert box.items() == [] and box.salvaged == 0
    assert any("outbox" in n for n in at_rest.take_notices())


def test_a_damaged_audit_log_is_kept_whole_and_its_readable_rows_carried_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.sqlite3"
    with AuditLog(path) as log:
        for i in range(5):
            log.record(
                actor="a", role="duty_officer", case_id=f"C{i}", action="sign", result="confirmed"
            )
    data = bytearray(path.read_bytes())
    data[:16] = b"not sqlite at al"  # the header is gone: the file is unreadable as a db
    path.write_bytes(bytes(data))
    with AuditLog(path) as log:
        assert log.path == path
    assert list(tmp_path.glob("audit.sqlite3.corrupt-*"))
    assert any("audit" in n for n in at_rest.take_notices())


def test_a_broken_settings_file_is_kept_aside_and_defaults_are_used(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"language": "en", "feed_url": ', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"kept as settings\.json\.corrupt-"):
        Settings.load(path)
    assert not path.exists()
    assert Settings.load(path) == Settings()
    assert list(tmp_path.glob("settings.json.corrupt-*"))


def test_state_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        state = tmp_path / "state"
        Journal(state / "journal.sqlite3", journal_codec()).set_meta("k", "v")
        Outbox(state / "outbox.sqlite3").close()
        AuditLog(state / "audit.sqlite3").close()
        # An existing 0644 file of an older version is tightened on open.
        legacy = state / "legacy.sqlite3"
        sqlite3.connect(legacy).close()
        legacy.chmod(0o644)
        at_rest.open_sqlite(legacy, "test", lambda db: None)[0].close()
    finally:
        os.umask(old)
    assert _mode(state) == 0o700
    for f in state.iterdir():
        assert _mode(f) == 0o600, (f.name, oct(_mode(f)))


@pytest.mark.slow
def test_the_app_starts_over_corrupt_journal_outbox_audit_and_settings(tmp_path: Path) -> None:
    from tests.test_app_e2e import _app

    state, cfg = tmp_path / "state", tmp_path / "cfg"
    state.mkdir()
    cfg.mkdir()
    for name in ("journal.sqlite3", "outbox.sqlite3", "audit.sqlite3"):
        _garbage(state / name)
    (cfg / "settings.json").write_text("{ not json", encoding="utf-8")
    r = _app(tmp_path, "--quit-after", "3")
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("journal.sqlite3", "outbox.sqlite3", "audit.sqlite3"):
        assert list(state.glob(f"{name}.corrupt-*")), name
        assert (state / name).exists()
    assert list(cfg.glob("settings.json.corrupt-*"))
    log = (state / "logs" / "commandcenter.log").read_text(encoding="utf-8")
    for what in ("journal", "outbox", "audit log"):
        assert f"{what} " in log and "kept as" in log
