"""Settings, the token's safety, and log redaction."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from commandcenter.settings import Settings, SettingsError, TokenRedactor, read_token

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("CC_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("CC_FEED_TOKEN", raising=False)


def test_token_from_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_FEED_TOKEN", " abc123 \n")
    assert read_token() == "abc123"


def test_token_file_must_be_owner_only(tmp_path: Path) -> None:
    f = tmp_path / "token"
    f.write_text("s3cret\n")
    f.chmod(0o644)
    with pytest.raises(SettingsError, match="chmod 600"):
        read_token(f)
    f.chmod(0o600)
    assert read_token(f) == "s3cret"


def test_missing_or_empty_token_file(tmp_path: Path) -> None:
    assert read_token() is None  # no default file: no token
    with pytest.raises(SettingsError, match="does not exist"):
        read_token(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.write_text("")
    empty.chmod(0o600)
    with pytest.raises(SettingsError, match="empty"):
        read_token(empty)


def test_settings_refuse_a_token_and_report_broken_json(tmp_path: Path) -> None:
    f = tmp_path / "settings.json"
    f.write_text(json.dumps({"feed_url": "https://x", "token": "abc"}))
    with pytest.raises(SettingsError, match="do not put the feed token"):
        Settings.load(f)
    f.write_text("{broken")
    with pytest.raises(SettingsError, match=r"settings\.json"):
        Settings.load(f)
    f.write_text(json.dumps({"feed_url": "https://x", "language": "en", "future_key": 1}))
    s = Settings.load(f)
    assert s.feed_url == "https://x" and s.language == "en"


def test_redactor_scrubs_every_record() -> None:
    logger = logging.getLogger("test.redact")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    h = Keep()
    h.addFilter(TokenRedactor(["tok-XYZ-123"]))
    logger.addHandler(h)
    try:
        logger.warning("header was Bearer %s", "tok-XYZ-123")
    finally:
        logger.removeHandler(h)
    assert records == ["header was Bearer <redacted>"]


def test_app_refuses_a_world_readable_token_file(tmp_path: Path) -> None:
    f = tmp_path / "token"
    f.write_text("s3cret")
    f.chmod(0o644)
    env = dict(
        os.environ, CC_CONFIG_DIR=str(tmp_path / "cfg"), CC_STATE_DIR=str(tmp_path / "state")
    )
    env.pop("CC_FEED_TOKEN", None)
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "--feed",
            "https://127.0.0.1:9",
            "--token-file",
            str(f),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 2
    assert "chmod 600" in r.stderr and "s3cret" not in r.stderr + r.stdout


def test_hall_time_shows_the_county_zone_whatever_the_machine_runs() -> None:
    from commandcenter import hall_time

    assert hall_time.zone_name() == "Asia/Shanghai"
    assert hall_time.local(0).strftime("%Y-%m-%d %H:%M") == "1970-01-01 08:00"
    with pytest.raises(ValueError, match="Mars/Olympus"):
        hall_time.set_zone("Mars/Olympus")
    assert hall_time.zone_name() == "Asia/Shanghai"
