"""The whole app (main.py) as an operator starts it, against a real feed server process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, ServerProcess, free_port

pytestmark = pytest.mark.slow
SECRET = "tok-e2e-SECRET-4242"


def _app(
    tmp_path: Path, *args: str, token: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        CC_CONFIG_DIR=str(tmp_path / "cfg"),
        CC_STATE_DIR=str(tmp_path / "state"),
    )
    env.pop("CC_FEED_TOKEN", None)
    if token:
        env["CC_FEED_TOKEN"] = token
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--geometry", "1280x800", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )


def test_app_shows_live_data_from_a_real_server_and_never_logs_the_token(tmp_path: Path) -> None:
    with ServerProcess(
        "--seed",
        "4",
        "--history-hours",
        "2",
        "--heartbeat",
        "0.5",
        "--synthetic-outline",
        token=SECRET,
    ) as srv:
        shot = tmp_path / "shot.png"
        r = _app(
            tmp_path,
            "--feed",
            srv.url,
            "--report-first-frame",
            "--quit-after",
            "4",
            "--screenshot",
            str(shot),
            "--log-level",
            "DEBUG",
            token=SECRET,
        )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "FIRST_LIVE_FRAME" in r.stdout
    assert list(tmp_path.glob("shot*.png")), "no screenshot written"
    log = (tmp_path / "state" / "logs" / "commandcenter.log").read_text(encoding="utf-8")
    assert "snapshot: epoch" in log  # it did connect and log at DEBUG
    for text in (log, r.stderr, r.stdout):
        assert SECRET not in text
    for f in (tmp_path / "cfg").rglob("*"):  # saved layouts, settings
        if f.is_file():
            assert SECRET not in f.read_text(encoding="utf-8", errors="replace"), f


def test_app_keeps_running_when_the_feed_is_down(tmp_path: Path) -> None:
    r = _app(
        tmp_path, "--feed", f"http://127.0.0.1:{free_port()}", "--quit-after", "3", token=SECRET
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "feed connect" in r.stderr
    assert SECRET not in r.stderr
