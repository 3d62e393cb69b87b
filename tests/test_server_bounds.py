"""The reference server's windows and bounds over real HTTP on 127.0.0.1: the resume window by
age (and the durable log pruned to it), idempotency keys kept for a window and capped, and
a client that stops reading cut off with a resync while the others go on.

The stalled reader is a raw socket with a small receive buffer that stops calling recv: the
server's writes then wait on a full socket, which is what a hung console or a dead network
path does to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from commandcenter.status import FeedStatus
from commandcenter.store import Store
from feeds import protocol as P
from feeds.client import ClientConfig, FeedClient
from feeds.serve.server import EmbeddedServer, ServerConfig
from tests.test_server import DUTY, TOKENS, _auth, contiguous, data_events, read_sse, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

START = 1_795_399_200.0


def _until(cond: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def _count(state_dir: Path, table: str) -> int:
    """Rows of the server's file, read on a connection of our own (the hub's belongs to
    the server's loop thread)."""
    uri = f"file:{state_dir / 'feed.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _keys(hub: object, state_dir: Path | None) -> int:
    if state_dir is None:
        return hub.idempotency_keys()  # type: ignore[attr-defined]
    return _count(state_dir, "idempotency")


def _post(c: httpx.Client, case_id: str, body: dict, key: str) -> httpx.Response:
    headers = {**_auth(DUTY), "Idempotency-Key": key}
    return c.post(f"/v1/cases/{case_id}/actions", json=body, headers=headers)


# ------------------------------------------------------------------ the resume window


def test_events_older_than_the_window_are_not_resumed_and_leave_the_durable_log(
    tmp_path: Path,
) -> None:
    cfg = ServerConfig(
        rate=60.0,
        heartbeat_s=0.2,
        tokens=TOKENS,
        history_hours=1,
        start_ts=START,
        state_dir=tmp_path,
        resume_window=100_000,  # the count is not what binds here: the age is
        resume_window_s=1.0,
    )
    with EmbeddedServer(cfg) as srv, httpx.Client(base_url=srv.url, timeout=5) as c:
        hub = srv.service.hub
        old = hub.seq
        assert old > 1000  # the warmed-up state alone
        assert _until(lambda: hub.first_seq > old, 10), "the window never moved by age"
        msgs = read_sse(c, {**_auth(), "Last-Event-ID": f"{hub.epoch}:{old - 1}"}, seconds=3)
        assert [m.event for m in msgs] == [P.SSE_RESYNC]
        assert P.decode_resync(msgs[0].data).reason == "outside_resume_window"
        # what is inside the window is still served, contiguously
        inside = hub.seq - 3
        events = data_events(
            read_sse(
                c,
                {**_auth(), "Last-Event-ID": f"{hub.epoch}:{inside}"},
                until=lambda m: len(data_events(m)) >= 5,
            )
        )
        assert contiguous(events, inside + 1)

        def oldest_row() -> int:
            uri = f"file:{tmp_path / 'feed.sqlite3'}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
                return int(db.execute("SELECT min(seq) FROM events").fetchone()[0])

        # the durable log keeps the window only: the warm-up rows are gone from the file
        assert _until(lambda: oldest_row() > old, 10), oldest_row()
        assert _count(tmp_path, "events") <= hub.seq - old


def test_the_durable_log_is_bounded_by_count_too(tmp_path: Path) -> None:
    cfg = ServerConfig(
        rate=0.0,
        burst=2000,
        heartbeat_s=0.2,
        tokens=TOKENS,
        history_hours=0.5,
        start_ts=START,
        state_dir=tmp_path,
        resume_window=500,
        resume_window_s=2.0,  # housekeeping every 0.5 s
        outline_path=False,
    )
    with EmbeddedServer(cfg) as srv:
        hub = srv.service.hub
        first = hub.seq
        assert _until(lambda: hub.seq > first + 3000, 20)
        assert hub.window_events() <= 500
        health = httpx.get(f"{srv.url}/v1/health", timeout=5).json()
        assert health["window_events"] <= 500 and 0 < health["window_bytes"] < 500 * 400
        # the bounds themselves, as configured (the soak bench checks against these)
        assert (health["window_max_events"], health["idempotency_max_keys"]) == (
            500,
            ServerConfig().idempotency_max_keys,
        )
        # pruned within one housekeeping period: at most what 0.5 s of the burst adds
        assert _until(lambda: _count(tmp_path, "events") < 500 + 2000, 10)


# ------------------------------------------------------------------ idempotency window


@pytest.mark.parametrize("durable", [False, True], ids=["memory", "state_dir"])
def test_a_retry_within_the_window_is_replayed_and_after_it_decided_afresh(
    tmp_path: Path, durable: bool
) -> None:
    cfg = ServerConfig(
        rate=0.0,
        heartbeat_s=0.2,
        tokens=TOKENS,
        history_hours=3,
        start_ts=START,
        state_dir=tmp_path if durable else None,
        idempotency_window_s=1.0,
    )
    with EmbeddedServer(cfg) as srv, httpx.Client(base_url=srv.url, timeout=5) as c:
        hub = srv.service.hub
        case = next(x for x in snapshot(c).cases if x.state == "reported")
        key = uuid.uuid4().hex
        body = {"action": "sign", "actor": "值班员", "expected_version": case.version}
        first = _post(c, case.id, body, key)
        assert first.status_code == 200 and first.json()["status"] == "applied"
        again = _post(c, case.id, body, key)
        assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
        state_dir = tmp_path if durable else None
        assert _keys(hub, state_dir) == 1
        # past the window the key is forgotten (and pruned) ...
        assert _until(lambda: _keys(hub, state_dir) == 0, 10)
        seq = hub.seq
        late = _post(c, case.id, body, key)
        # ... so the retry is decided against the case as it is now: the version it names
        # is gone (the first request moved it on), a conflict, never a second application
        assert late.status_code == 409 and late.json()["status"] == "conflict"
        assert "idempotent-replayed" not in late.headers
        assert late.json()["case"]["version"] == case.version + 1
        assert hub.seq == seq, "the late retry published nothing"
        now = next(x for x in snapshot(c).cases if x.id == case.id)
        assert now.version == case.version + 1
        assert sum(t.action == "sign" for t in now.timeline) == 1


@pytest.mark.parametrize("durable", [False, True], ids=["memory", "state_dir"])
def test_idempotency_keys_are_capped_oldest_first(tmp_path: Path, durable: bool) -> None:
    cfg = ServerConfig(
        rate=0.0,
        heartbeat_s=0.2,
        tokens=TOKENS,
        history_hours=0.5,
        start_ts=START,
        state_dir=tmp_path if durable else None,
        idempotency_max_keys=3,
        idempotency_window_s=8.0,  # housekeeping (the cap of the SQLite keys) every 2 s
        outline_path=False,
    )
    with EmbeddedServer(cfg) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        hub = srv.service.hub
        keys = [f"k{i}-{uuid.uuid4().hex}" for i in range(6)]
        for key in keys:  # an answer that is stored: no such case (404)
            r = _post(c, "PD9999999", {"action": "sign", "actor": "x"}, key)
            assert r.status_code == 404
        assert _until(lambda: _keys(hub, tmp_path if durable else None) <= 3, 10)
        newest = _post(c, "PD9999999", {"action": "sign", "actor": "x"}, keys[-1])
        assert newest.headers.get("idempotent-replayed") == "true"
        oldest = _post(c, "PD9999999", {"action": "sign", "actor": "x"}, keys[0])
        assert oldest.status_code == 404 and "idempotent-replayed" not in oldest.headers


# ------------------------------------------------------------------ slow consumers


def _dechunk(raw: bytes) -> tuple[bytes, bool]:
    """The body of a chunked HTTP response; True when its final (empty) chunk arrived."""
    body = bytearray()
    pos = 0
    while True:
        end = raw.find(b"\r\n", pos)
        if end < 0:
            return bytes(body), False
        size = int(raw[pos:end], 16)
        if size == 0:
            return bytes(body), True
        body += raw[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2


def _sse_messages(body: bytes) -> list[tuple[str, str]]:
    out = []
    for block in body.decode().split("\n\n"):
        event, data = "message", ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        if data:
            out.append((event, data))
    return out


def _stalled_reader(port: int, token: str, last_id: str) -> socket.socket:
    """A stream request on a raw socket with a tiny receive buffer, left unread."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(
        f"GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Last-Event-ID: {last_id}\r\n\r\n".encode()
    )
    return s


@pytest.fixture
def bursty() -> Iterator[EmbeddedServer]:
    """3,000 events/s, and a stream may miss 1,000 while its socket is full."""
    cfg = ServerConfig(
        seed=5,
        rate=60.0,
        history_hours=0.5,
        burst=3000,
        subscriber_queue=1000,
        resume_window=50_000,
        heartbeat_s=0.3,
        tokens=TOKENS,
        outline_path=False,
    )
    with EmbeddedServer(cfg) as srv:
        yield srv


def test_a_reader_that_stops_is_cut_off_while_a_normal_one_gets_everything(
    bursty: EmbeddedServer,
) -> None:
    hub = bursty.service.hub
    start = hub.seq
    seen: dict[str, object] = {}
    cut_seen = threading.Event()

    def normal_reader() -> None:
        with httpx.Client(base_url=bursty.url, timeout=10) as c:
            msgs = read_sse(
                c,
                {**_auth(), "Last-Event-ID": f"{hub.epoch}:{start}"},
                until=lambda m: cut_seen.is_set() and _past(m, 5000),
                seconds=90,
            )
        seen["events"] = data_events(msgs)
        seen["resyncs"] = [m for m in msgs if m.event == P.SSE_RESYNC]

    def _past(msgs: list, extra: int) -> bool:
        last = next((m.id for m in reversed(msgs) if m.id), None)
        return last is not None and P.parse_event_id(last)[1] >= seen["cut_at"] + extra  # type: ignore[operator]

    reader = threading.Thread(target=normal_reader, daemon=True)
    reader.start()
    slow = _stalled_reader(bursty.port, DUTY, f"{hub.epoch}:{start}")
    health = httpx.Client(base_url=bursty.url, timeout=10)
    try:
        assert _until(lambda: health.get("/v1/health").json()["streams"] == 2, 10)
        samples: list[dict] = []

        def sampled_cut() -> bool:
            samples.append(health.get("/v1/health").json())
            return samples[-1]["slow_consumers_cut"] == 1

        assert _until(sampled_cut, 60), "the stalled reader was never cut off"
        seen["cut_at"] = hub.seq
        cut_seen.set()
        # bounded: no stream ever had more than its queue plus one publish batch (the
        # burst publishes at most one second's worth at once) waiting for it
        assert max(h["stream_queue_max"] for h in samples) <= 1000 + 3001
        after = health.get("/v1/health").json()
        assert after["streams"] == 1  # the stalled one left the fan-out; the normal one stays
        assert after["window_events"] <= 50_000
        reader.join(90)
        assert not reader.is_alive()
        events = seen["events"]
        assert seen["resyncs"] == [] and contiguous(events, start + 1)  # type: ignore[arg-type]
        assert events[-1].seq >= seen["cut_at"] + 5000  # type: ignore[index]
        # the stalled reader reads again: what its socket held, then the reason, then the end
        slow.settimeout(10)
        raw = bytearray()
        while chunk := slow.recv(1 << 16):
            raw += chunk
    finally:
        slow.close()
        health.close()
    head, _, rest = bytes(raw).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    body, complete = _dechunk(rest)
    assert complete, "the stream did not end"
    msgs = _sse_messages(body)
    assert msgs[-1][0] == P.SSE_RESYNC
    assert P.decode_resync(msgs[-1][1]).reason == "slow_consumer"
    got = [
        e
        for event, data in msgs[:-1]
        if event not in (P.SSE_HEARTBEAT, P.SSE_RESYNC)
        for e in P.parse_message(data, event).events
    ]
    assert contiguous(got, start + 1)  # nothing scrambled before the cut either
    assert got[-1].seq < seen["cut_at"]  # type: ignore[operator]
    assert _until(lambda: hub.subscribers == 0, 10)  # closed streams leave the fan-out


class _StallingStore(Store):
    """A console whose loop hangs once (a long GC, a stuck paint): ``apply`` blocks the
    client's thread until the server has cut the stream off, so nothing reads the socket."""

    def __init__(self, cut: Callable[[], bool]) -> None:
        super().__init__()
        self.stall_next = False
        self._cut = cut

    def apply(self, events):  # type: ignore[override]
        if self.stall_next:
            self.stall_next = False
            _until(self._cut, 60)
        return super().apply(events)


def test_the_console_client_cut_off_resnapshots_and_ends_equal_to_the_server(
    bursty: EmbeddedServer,
) -> None:
    svc = bursty.service
    hub = svc.hub
    store = _StallingStore(lambda: hub.slow_consumers_cut >= 1)
    status = FeedStatus()

    async def scenario() -> None:
        client = FeedClient(
            ClientConfig(bursty.url, DUTY, backoff_initial=0.1, backoff_max=0.5), store, status
        )
        client.start()
        try:
            await _wait(lambda: store.seq > 0 and hub.seq - store.seq < 3000, 20)
            store.stall_next = True
            await _wait(lambda: status.resyncs >= 1, 90)
            svc.config.max_seq = hub.seq + 2000  # then the world stands still: compare there
            await _wait(lambda: hub.seq >= svc.config.max_seq and store.seq == hub.seq, 30)
        finally:
            await client.stop()

    async def _wait(cond: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not cond():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.05)

    asyncio.run(scenario())
    assert hub.slow_consumers_cut == 1 and status.resyncs == 1
    with httpx.Client(base_url=bursty.url, timeout=10) as c:
        truth = Store()
        truth.reset(snapshot(c))
    assert store.state_fingerprint() == truth.state_fingerprint()
