"""Corrupt state never stops the console: journal, outbox and audit files that are
truncated or random are kept aside as NAME.corrupt-<time>, the operator is told, the app
starts; the outbox's readable rows are queued again with their idempotency keys. Files
are private at rest (0700 / 0600)."""

from __future__ import annotations

import os
import random
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from commandcenter.actions import ItemState, Outbox, salvage_outbox
from commandcenter.domain import Role
from commandcenter.settings import Settings, SettingsError
from commandcenter.state_files import open_state
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
        p for p in tmp_path.glob("outbox.sqlite3.corrupt-*") if not p.name.endswith(("-wal", "-shm"))
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
