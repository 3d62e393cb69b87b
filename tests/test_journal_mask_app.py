"""The running app keeps reporters' phone numbers out of its journal on a leader's screen
(settings mask_journal "auto") and keeps them for the duty officer, who calls back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_app_e2e import _app

pytestmark = pytest.mark.slow
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# The texts of the journal's JSON records that carry a reporter's words or contacts (raw
# bytes also hold seqs, times and coordinates, whose digits once read as a phone number).
PERSONAL = re.compile(
    rb'"(reporter_phone|reporter_name|description|title|address|message|note)":"((?:[^"\\]|\\.)*)"'
)


def _journal_bytes(state: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(state.glob("journal.sqlite3*")))


def _phones_after(tmp_path: Path, layout: str) -> list[str]:
    r = _app(
        tmp_path, "--layout", layout, "--history-hours", "2", "--quit-after", "8", timeout=120
    )
    assert r.returncode == 0, r.stderr[-2000:]
    raw = _journal_bytes(tmp_path / "state")
    assert len(raw) > 50_000, "the demo's morning was journaled"
    fields = PERSONAL.findall(raw)
    assert fields, "the journal holds case records"
    return [
        phone
        for _key, value in fields
        for phone in MOBILE.findall(value.decode("utf-8", "replace"))
    ]


def test_a_leaders_screen_journals_no_phone_number(tmp_path: Path) -> None:
    assert _phones_after(tmp_path / "leader", "leader_briefing") == []


def test_the_duty_officers_journal_keeps_them_for_call_backs(tmp_path: Path) -> None:
    assert _phones_after(tmp_path / "duty", "dispatch_desk"), "the test can fail"
