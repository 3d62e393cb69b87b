"""Replay: a recorded journal and a 311 export served as a live feed at up to 100x, through
the reference server's routes; a real FeedClient attaches over 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from commandcenter.journal import Journal, Recorder
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from feeds.client import ClientConfig, FeedClient
from feeds.serve.replay import ReplayServer, journal_codec, nyc311_events
from tests.support import ROOT, wait_until
from tests.test_journal import T0, fingerprint, make_events, snapshot0

pytestmark = pytest.mark.slow


def _record(path: Path, n: int = 600, step: float = 0.25) -> Store:
    journal = Journal(path, journal_codec(), checkpoint_every=200)
    live = Store()
    rec = Recorder(live, journal)
    rec.reset(snapshot0(now=T0))
    rec.set_geography({"v": 1, "townships": [{"code": "T1", "name": "冠山镇"}]})
    events = make_events(n, step=step)
    for k in range(0, n, 40):
        rec.apply(events[k : k + 40])
    journal.close()
    return live


def _follow(url: str, token: str, until, timeout: float) -> tuple[Store, FeedStatus, float]:  # type: ignore[no-untyped-def]
    store, status = Store(), FeedStatus()

    async def go() -> float:
        client = FeedClient(ClientConfig(base_url=url, token=token), store, status)
        client.start()
        t0 = time.monotonic()
        ok = await wait_until(lambda: until(store), timeout)
        took = time.monotonic() - t0
        await client.stop()
        assert ok, (store.seq, status.errors)
        return took

    return store, status, asyncio.run(go())


def test_journal_replayed_at_100x_reaches_the_recorded_state(tmp_path: Path) -> None:
    recorded = _record(tmp_path / "j.sqlite3")  # 150 s of feed time
    with ReplayServer(tmp_path / "j.sqlite3", speed=100) as srv:
        store, status, took = _follow(
            srv.url,
            srv.token,
            lambda s: (
                len(s.units) == len(recorded.units)
                and s.kpis == recorded.kpis
                and len(s) == len(recorded)
            ),
            15,
        )
        svc = srv.replay
        r = httpx.post(
            f"{srv.url}/v1/cases/C1/actions",
            headers={"Authorization": f"Bearer {srv.token}", "Idempotency-Key": "k1"},
            json={"action": "sign", "actor": "x"},
        )
    assert r.status_code == 403  # read only
    assert 1.0 < took < 10  # 150 s at 100x: about 1.5 s, not instant, not real time
    assert svc.published == 600 + 0  # every recorded event (the checkpoint was empty)
    assert store.display_name("T1") == "冠山镇"  # the recorded geography is served
    want = fingerprint(recorded)
    got = fingerprint(store)
    assert got["cases"] == want["cases"] and got["kpis"] == want["kpis"]
    assert status.quarantined_total == 0


def test_311_export_replays_as_cases(shared_external: Path) -> None:
    src = shared_external / "nyc311_socrata_fhrw-4uyv_mzuber88.json"
    events = nyc311_events(src)
    assert len(events) >= 1000 and events == sorted(events, key=lambda e: e[2])
    with ReplayServer(src, speed=100) as srv:
        store, _status, _ = _follow(srv.url, srv.token, lambda s: len(s) >= 1, 10)
    first = store.newest_cases(1)[0]
    assert first.id.startswith("NYC") and first.source == "hotline"


def test_cli_refuses_speed_out_of_range_and_prints_listening(tmp_path: Path) -> None:
    _record(tmp_path / "j.sqlite3", n=40)
    bad = subprocess.run(
        [sys.executable, "-m", "feeds.serve.replay", "--speed", "500", str(tmp_path / "j.sqlite3")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "speed" in bad.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "feeds.serve.replay", "--speed", "10", str(tmp_path / "j.sqlite3")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert lines[0].startswith("TOKEN ") and lines[1].startswith("LISTENING http://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(10)


def test_open311_file_replays_and_fast_loads_the_whole_history(
    shared_external: Path, tmp_path: Path
) -> None:
    """An Open311 file (bare array, the spec's example) was an AttributeError; a month of
    history at 100x took hours: --fast serves it all at once."""
    src = shared_external / "open311" / "example_get_service_requests.json"
    with ReplayServer(src, speed=1, fast=True) as srv:
        store, status, _ = _follow(srv.url, srv.token, lambda s: len(s) >= 2, 10)
    assert {c.id for c in store.newest_cases(5)} == {"311-638344", "311-638349"}
    assert store.case("311-638344").state == "closed"
    # a NYC export spanning weeks of feed time, served in one go
    nyc = shared_external / "nyc311_sample_mzuber88.csv"
    events = nyc311_events(nyc)
    assert events[-1][2] - events[0][2] > 7 * 86400
    with ReplayServer(nyc, speed=1, fast=True) as srv:
        store, status, _ = _follow(srv.url, srv.token, lambda s: len(s) >= 990, 20)
    assert len(store) == 990 and status.quarantined_total == 0
