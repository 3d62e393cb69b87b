"""History on start (GET /v1/history): a console that starts late can travel back at once.

Real servers on 127.0.0.1: the reference server run for simulated hours (frozen at a
``max_seq`` so its log can be compared), and the real client, journal and time travel.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from commandcenter.domain import Role
from commandcenter.journal import Journal, Recorder, store_state
from commandcenter.sources import SourceMux
from commandcenter.status import FeedStatus, LinkState
from commandcenter.store import Store
from commandcenter.timetravel import TimeTravel
from feeds import protocol as P
from feeds.client import ClientConfig, FeedClient
from feeds.journal_codec import journal_codec
from feeds.serve.server import EmbeddedServer, ServerConfig, create_app
from tests.support import BUSY_MORNING, ROOT, ServerProcess, ThreadedServer, wait_until

TOKEN = "history-token-0001"
HOUR = 3600.0


def _busy_server(**overrides: Any) -> EmbeddedServer:
    """The county run at half an hour of feed time per real second from a busy morning, its
    world stopped at ``max_seq`` (a still point: the log and the keyframes stop moving)."""
    cfg = ServerConfig(
        rate=1800.0,
        tick_s=0.05,
        heartbeat_s=0.2,
        tokens={TOKEN: Role.DUTY_OFFICER},
        start_ts=BUSY_MORNING,
        history_hours=1,
        max_seq=40_000,
    )
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return EmbeddedServer(cfg).start()


def _wait_frozen(server: EmbeddedServer, timeout: float = 60.0) -> None:
    hub = server.service.hub
    deadline = asyncio.run(wait_until(lambda: hub.seq >= server.config.max_seq, timeout))
    assert deadline, f"the server reached seq {hub.seq} of {server.config.max_seq}"


@pytest.fixture(scope="module")
def busy() -> Iterator[EmbeddedServer]:
    server = _busy_server(max_seq=60_000)  # about two hours of a busy morning
    try:
        _wait_frozen(server)
        yield server
    finally:
        server.stop()


class Console:
    """The console's core as main.py wires it: client -> mux -> recorder -> store+journal."""

    def __init__(self, tmp: Path, url: str, history_s: float = 3 * HOUR, **cfg: Any) -> None:
        self.store = Store()
        self.journal = Journal(tmp / "journal.sqlite3", journal_codec())
        self.recorder = Recorder(self.store, self.journal, history_s=history_s)
        self.mux = SourceMux(self.store, self.recorder)
        self.status = FeedStatus()
        config = ClientConfig(base_url=url, token=TOKEN, **cfg)
        self.client = FeedClient(config, self.mux.sink("v1"), self.status)

    def run_until_live(self, timeout: float = 30.0) -> None:
        async def go() -> None:
            self.client.start()
            try:
                ok = await wait_until(
                    lambda: (
                        bool(self.store.epoch)
                        and self.status.state is LinkState.LIVE
                        and not self.recorder.history_pending
                    ),
                    timeout,
                )
                assert ok, f"not live: {self.status.state} {self.status.last_error}"
            finally:
                await self.client.stop()

        asyncio.run(go())


def _server_log(server: EmbeddedServer, after: int, upto: int) -> dict[int, tuple[str, Any]]:
    """seq -> (kind, data) of the server's own log (its resume ring)."""
    hub = server.service.hub
    out: dict[int, tuple[str, Any]] = {}
    cursor = after
    while cursor < upto:
        items = hub.events_after(cursor, 5000, 1 << 30)
        assert items, f"the server's log has nothing after {cursor}"
        for item in items:
            if item.seq > upto:
                break
            env = msgspec.json.decode(item.payload)
            out[item.seq] = (item.kind, env["data"])
        cursor = items[-1].seq
    return out


def test_a_fresh_console_replays_an_hour_back_at_once(busy: EmbeddedServer, tmp_path: Path) -> None:
    hub = busy.service.hub
    console = Console(tmp_path, busy.url, history_s=1.5 * HOUR)  # within what the server has
    console.run_until_live()
    snap_seq, now = console.store.seq, console.store.clock.server_now
    assert snap_seq == hub.seq and not console.status.errors, console.status.errors
    # The journal reaches back before the console started: replay 60 minutes back is
    # not clamped to the first snapshot.
    oldest, _newest = console.journal.bounds()  # type: ignore[misc]
    assert oldest <= now - HOUR
    tt = TimeTravel(console.store, console.journal)
    seek = tt.seek(now - HOUR)
    assert not seek.clamped and seek.replayed > 0
    view, live = tt.view, console.store
    assert len(view) > 0
    live_cases = [live.record_at(i) for i in range(len(live))]
    assert any(view.case(c.id) is None or view.case(c.id).version != c.version for c in live_cases)
    # Every case the past shows existed then.
    assert all(view.record_at(i).created_ts <= now - HOUR + 1 for i in range(len(view)))
    # The journal's past is the server's log for that range, event for event.
    rows = [r for r in console.journal.rows(limit=10**7) if r[1] <= snap_seq]
    first = rows[0][1] - 1
    log = _server_log(busy, first, snap_seq)
    assert [r[1] for r in rows] == sorted(log)
    assert rows[0][1] > 1  # from a keyframe within the window, not the server's first event
    for _n, seq, kind, _ts, payload in rows:
        assert (kind, msgspec.json.decode(bytes(payload).replace(busy.url.encode(), b""))) == log[
            seq
        ]
    assert rows[-1][1] == snap_seq  # it ends where the live state begins
    # The live store is the snapshot, nothing of the past applied to it on top.
    assert {c.id: c.version for c in live_cases} == {
        c.id: c.version for c in hub.state.cases.values()
    }


def test_history_since_older_than_the_window_names_the_range(busy: EmbeddedServer) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=busy.url, headers=auth) as http:
        r = http.get("/v1/history", params={"since": "0"})
        assert r.status_code == 416
        refusal = P.decode_history_refusal(r.content)
        assert refusal.error == "outside_history_window"
        avail = refusal.available
        assert avail is not None and avail.last_seq == busy.service.hub.seq
        # Asking from the range named gives the oldest base and its events.
        page = P.decode_history_page(
            http.get("/v1/history", params={"since": repr(avail.since), "limit": "100"}).content
        )
        assert page.base is not None and page.base.seq == avail.first_seq
        assert page.after == avail.first_seq and page.last_seq == avail.first_seq + 100
        assert not page.complete
        # A continuation from another history, bad parameters, no token: refused.
        other = http.get("/v1/history", params={"after": "5", "epoch": "nope"})
        assert other.status_code == 409 and other.json()["error"] == "epoch_changed"
        assert http.get("/v1/history", params={"since": "x"}).status_code == 400
        assert http.get("/v1/history").status_code == 400
        assert httpx.get(f"{busy.url}/v1/history?since=0").status_code == 401


def test_a_console_asking_further_back_than_the_server_keeps_takes_what_it_has(
    tmp_path: Path,
) -> None:
    # A small window (about 40 minutes of this county): keyframes older than it are gone,
    # so 3 hours cannot be served. Slower, so that no single tick outgrows the window.
    server = _busy_server(resume_window=20_000, rate=900.0)
    try:
        _wait_frozen(server)
        hub = server.service.hub
        console = Console(tmp_path, server.url)
        console.run_until_live()
        assert not console.status.errors, console.status.errors
        oldest = hub.keyframes.frames[0]
        assert oldest.seq >= hub.first_seq - 1
        rows = console.journal.rows(limit=10**6)
        assert rows[0][1] == oldest.seq + 1 and rows[-1][1] == console.store.seq
        assert console.journal.bounds()[0] == pytest.approx(oldest.ts)  # type: ignore[index]
        # A continuation from before the window, or beyond the server: refused with the range.
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for after, error in (
            ("0", "outside_history_window"),
            (str(hub.seq + 9), "ahead_of_server"),
        ):
            r = httpx.get(f"{server.url}/v1/history", headers=auth,
                          params={"after": after, "epoch": hub.epoch})  # fmt: skip
            refusal = P.decode_history_refusal(r.content)
            assert (r.status_code, refusal.error) == (416, error)
            assert refusal.available is not None and refusal.available.first_seq == oldest.seq
    finally:
        server.stop()


def test_an_oversized_history_is_counted_and_the_live_link_goes_on(
    busy: EmbeddedServer, tmp_path: Path
) -> None:
    console = Console(tmp_path, busy.url, max_history_page_bytes=50_000)
    console.run_until_live()
    assert console.status.errors["history_oversized"] == 1
    assert console.store.seq == busy.service.hub.seq  # the snapshot, live
    assert console.journal.count() == 0  # nothing of the past was written


class _BadHistory:
    """The real server's app, except that /v1/history answers ``body``."""

    def __init__(self, app: Any, body: bytes) -> None:
        self.app = app
        self.body = body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/history":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": self.body})
            return
        await self.app(scope, receive, send)


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (b'{"v":1,"epoch":"e","after":0,"last_seq":', "history_invalid"),
        (b"<html>busy</html>", "history_invalid"),
    ],
)
def test_a_malformed_history_is_counted_and_the_live_link_goes_on(
    tmp_path: Path, body: bytes, cause: str
) -> None:
    cfg = ServerConfig(rate=0.0, heartbeat_s=0.2, tokens={TOKEN: Role.DUTY_OFFICER},
                       start_ts=BUSY_MORNING, history_hours=1)  # fmt: skip
    app = create_app(cfg)
    with ThreadedServer(_BadHistory(app, body)) as server:
        console = Console(tmp_path, server.url, history_s=HOUR)
        console.run_until_live()
    assert console.status.errors[cause] == 1, console.status.errors
    assert console.store.seq == app.state.feed.hub.seq and len(console.store) > 0


@pytest.mark.slow
def test_the_app_started_late_replays_an_hour_back_at_once(tmp_path: Path) -> None:
    """The reported problem: ``main.py --replay-at 60`` on a fresh start against a server
    that has run for hours went no further back than the console's own start."""
    args = ("--rate", "1800", "--start-ts", repr(BUSY_MORNING), "--history-hours", "1",
            "--max-seq", "60000", "--heartbeat", "0.5")  # fmt: skip
    with ServerProcess(*args, token=TOKEN) as srv:
        seq = 0
        for _ in range(600):
            seq = httpx.get(f"{srv.url}/v1/health").json()["seq"]
            if seq >= 60_000:
                break
            time.sleep(0.1)
        assert seq >= 60_000, seq
        _replays_an_hour_back(tmp_path, ["--feed", srv.url], CC_FEED_TOKEN=TOKEN)


def _replays_an_hour_back(tmp_path: Path, args: list[str], **env_extra: str) -> None:
    """``main.py ARGS --replay-at 60`` on a fresh state: it fetched history and replays an
    hour back, not clamped to its own start."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CC_CONFIG_DIR=str(tmp_path / "cfg"),
               CC_STATE_DIR=str(tmp_path / "state"), **env_extra)  # fmt: skip
    r = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args, "--geometry", "1280x800", "--replay-at", "60",
         "--quit-after", "20", "--screenshot", str(tmp_path / "r.png")],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    log = (tmp_path / "state" / "logs" / "commandcenter.log").read_text(encoding="utf-8")
    assert "history: " in log and "events since" in log
    assert "replay at 60 min ago" in log
    assert "replay at 60 min ago (clamped)" not in log


@pytest.mark.slow
def test_the_demo_county_started_fresh_replays_an_hour_back_at_once(tmp_path: Path) -> None:
    """The embedded demo county: its warm-up's last two hours are served as events, so
    ``main.py --replay-at 60`` on a fresh start (no journal, no cache) goes an hour back."""
    _replays_an_hour_back(tmp_path, [], XDG_CACHE_HOME=str(tmp_path / "cache"))


def test_the_past_is_asked_for_from_where_the_journal_stops(tmp_path: Path) -> None:
    """A restarted console asks only for its gap; a journal that reaches the live point,
    history turned off, a journal that failed, or a secondary source ask for none."""
    from tests.test_journal import T0, make_events, snapshot0

    store = Store()
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(store, journal, history_s=3 * HOUR)
    assert rec.history_since(T0) == T0 - 3 * HOUR  # fresh: the whole span asked
    rec.reset(snapshot0())
    rec.apply(make_events(500))  # one second apart: the journal reaches T0 + 499
    until = journal.live_until()
    assert until == pytest.approx(T0 + 499, abs=1)
    assert rec.history_since(until + 2 * HOUR) == until  # the gap only, no overlap
    assert rec.history_since(until + 5 * HOUR) == until + 2 * HOUR  # at most history_s
    assert rec.history_since(until + 30) is None  # within a minute: nothing to fetch
    assert Recorder(store, journal, history_s=0).history_since(until + HOUR) is None
    assert Recorder(store, journal, history_s=99 * HOUR).history_s == Recorder.HISTORY_MAX_S
    mux = SourceMux(store, rec)
    primary, second = mux.sink("v1"), mux.sink("cot")
    assert primary.history_since(until + HOUR) == until
    assert second.history_since(until + HOUR) is None  # its ids are renamed: not fetched
    rec.failed = "disk full"
    assert rec.history_since(until + HOUR) is None
    journal.close()


def _page_of(app: Any, members: list[bytes]) -> bytes:
    """A history page from the app's own epoch, seq 0 as base, with these event members."""
    hub = app.state.feed.hub
    base = P.encode(P.Snapshot(v=1, epoch=hub.epoch, seq=0, now=BUSY_MORNING - HOUR, rate=1.0))
    head = (
        f'{{"v":1,"epoch":"{hub.epoch}","after":0,"last_seq":3,"until_seq":3,"complete":true,'
        f'"available":{{"first_seq":0,"last_seq":{hub.seq},"since":0,"until":{BUSY_MORNING}}},'
    ).encode()
    return head + b'"base":' + base + b',"events":[' + b",".join(members) + b"]}"


def _alert(seq: int) -> bytes:
    alert = P.Alert(id=f"AL{seq}", level="red", kind="sla.breach", message="超时", ts=BUSY_MORNING)
    return P.encode_envelope(seq, P.ALERT_RAISED, BUSY_MORNING - HOUR + seq, alert)


@pytest.mark.parametrize("hole", [False, True])
def test_bad_members_are_quarantined_and_a_hole_ends_the_history(
    tmp_path: Path, hole: bool
) -> None:
    cfg = ServerConfig(rate=0.0, heartbeat_s=0.2, tokens={TOKEN: Role.DUTY_OFFICER},
                       start_ts=BUSY_MORNING, history_hours=1)  # fmt: skip
    app = create_app(cfg)
    bad = b'{"v":1,"seq":2,"kind":"alert.raised","ts":1,"data":{"id":"AL2"}}'
    members = [_alert(1), _alert(3)] if hole else [_alert(1), bad, _alert(3)]
    with ThreadedServer(_BadHistory(app, _page_of(app, members))) as server:
        console = Console(tmp_path, server.url, history_s=2 * HOUR)
        console.run_until_live()
    assert console.store.seq == app.state.feed.hub.seq  # the live start went on either way
    seqs = [r[1] for r in console.journal.rows()]
    if hole:
        assert console.status.errors["history_gap"] == 1
        assert seqs == []  # the page with the hole is not journaled
    else:
        assert not console.status.errors, console.status.errors
        assert console.status.quarantined_total == 1
        assert next(iter(console.status.quarantined)).startswith("history_")
        assert seqs == [1, 3]


def _folded(events: list[Any], upto: int) -> dict:
    """The state of the events up to seq ``upto`` applied from nothing (the reference)."""
    from tests.test_journal import fingerprint, snapshot0

    ref = Store()
    ref.reset(snapshot0())
    ref.apply([e for e in events if e.seq <= upto])
    return fingerprint(ref)


def test_live_rows_that_arrive_meanwhile_follow_the_past_in_order(tmp_path: Path) -> None:
    """The live start does not wait: the snapshot and the live events go to the live store
    at once, their journal rows are held and written after the history, nothing lost."""
    from tests.test_journal import T0, fingerprint, make_events, snapshot0

    events = make_events(1500)
    store = Store()
    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), checkpoint_every=300)
    rec = Recorder(store, journal, history_s=HOUR)
    writer = rec.history_writer()  # what the client does before applying its snapshot
    snap = Store()
    snap.reset(snapshot0())
    snap.apply(events[:1000])
    state = journal.codec.decode_state(journal.codec.encode_state(store_state(snap)))
    rec.reset(state)  # the snapshot at seq 1000: live at once
    rec.apply(events[1000:1200])  # the stream goes on while the past is fetched
    assert rec.history_pending and journal.count() == 0  # held, not lost
    assert writer.begin(snapshot0()) and writer.add(events[:600]) and writer.add(events[600:1000])
    rec.apply(events[1200:1500])
    writer.finish()
    assert not rec.history_pending
    assert [r[1] for r in journal.rows(limit=10_000)] == list(range(1, 1501))
    assert fingerprint(store) == _folded(events, 1500)  # the live store: snapshot + stream
    tt = TimeTravel(store, journal)
    for upto in (450, 999, 1350):  # in the past, at the live point, in the held live rows
        seek = tt.seek(T0 + upto)
        assert not seek.clamped and fingerprint(tt.view) == _folded(events, upto + 1)
    journal.close()


def test_a_live_feed_outrunning_the_held_rows_abandons_the_history(tmp_path: Path) -> None:
    from tests.test_journal import make_events, snapshot0

    events = make_events(400)
    store = Store()
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(store, journal, history_s=HOUR)
    rec.HOLD_MAX = 100  # type: ignore[misc]
    writer = rec.history_writer()
    rec.reset(snapshot0(seq=200))
    rec.apply(events[200:400])  # more than HOLD_MAX: the live rows go now
    assert not rec.history_pending and not writer.ok and writer.reason == "abandoned"
    assert not writer.begin(snapshot0()) and not writer.add(events[:200])
    writer.finish()
    assert [r[1] for r in journal.rows()] == list(range(201, 401))  # live rows all kept
    journal.close()


def test_a_server_with_no_past_yet_is_no_error(tmp_path: Path) -> None:
    """A server that has only just started (its clock has not moved) has nothing before
    the snapshot: nothing is fetched and nothing is counted as a failure."""
    cfg = ServerConfig(rate=0.0, heartbeat_s=0.2, tokens={TOKEN: Role.DUTY_OFFICER},
                       start_ts=BUSY_MORNING, history_hours=1)  # fmt: skip
    with EmbeddedServer(cfg) as server:
        console = Console(tmp_path, server.url)
        console.run_until_live()
    assert not console.status.errors, console.status.errors
    assert console.journal.count() == 0  # the live checkpoint only
    assert console.journal.bounds() == (BUSY_MORNING, BUSY_MORNING)
