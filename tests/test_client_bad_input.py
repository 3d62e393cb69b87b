"""The client against hostile servers: every bad input is counted with its reason, the good
events around it still arrive, and the client keeps running.

The servers here are real (Starlette on uvicorn, 127.0.0.1); only their answers are bad.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from commandcenter.status import FeedStatus, LinkState
from commandcenter.store import Store
from feeds import protocol as p
from feeds.client import ClientConfig, FeedClient, backoff_delay
from tests.support import ThreadedServer, wait_until

EPOCH = "e1"
NOW = 1_700_000_000.0


def _case(i: int) -> p.CaseData:
    return p.CaseData(
        id=f"C{i}",
        version=1,
        category="占道经营",
        source="hotline",
        urgency="normal",
        state="reported",
        township="冠山镇",
        grid="G001",
        lon=113.6,
        lat=37.8,
        created_ts=NOW,
        state_ts=NOW,
    )


def _snapshot() -> bytes:
    return p.encode(p.Snapshot(v=1, epoch=EPOCH, seq=0, now=NOW, rate=1.0))


def _sse(event: str, data: bytes | str, seq: int | None = None) -> bytes:
    if isinstance(data, str):
        data = data.encode()
    head = f"id: {EPOCH}:{seq}\n".encode() if seq is not None else b""
    return head + f"event: {event}\n".encode() + b"data: " + data + b"\n\n"


def _hostile_stream() -> list[bytes]:
    good1 = p.encode_envelope(1, p.CASE_CREATED, NOW, _case(1))
    good2 = p.encode_envelope(9, p.CASE_CREATED, NOW, _case(2))
    bad_member_batch = (
        b"["
        + p.encode_envelope(10, p.CASE_CREATED, NOW, _case(3))
        + b',{"v":1,"seq":11,"kind":"case.created","ts":1,"data":{"id":"X"}}'
        + b"]"
    )
    return [
        b"retry: 1000\n\n",  # no data: must dispatch nothing (and is not "bad")
        _sse("heartbeat", p.encode(p.Heartbeat(now=NOW, seq=0, epoch=EPOCH))),
        _sse(p.CASE_CREATED, good1, 1),
        _sse(p.CASE_CREATED, b'{"v":1,"seq":2,"kind":"case.created" garbage', 2),  # malformed
        _sse(p.CASE_CREATED, b'{"v":1,"seq":3,"kind":"case.cr', 3),  # truncated
        _sse(
            p.CASE_CREATED,
            b'{"v":1,"seq":4,"kind":"x","ts":1,"data":{"pad":"' + b"x" * 5000 + b'"}}',
            4,
        ),
        _sse("weather.update", b'{"v":1,"seq":5,"kind":"weather.update","ts":1,"data":{}}', 5),
        _sse(
            p.CASE_CREATED, b'{"v":2,"seq":6,"kind":"case.created","ts":1,"data":{}}', 6
        ),  # future
        _sse(
            p.UNIT_POSITION,
            b'{"v":1,"seq":7,"kind":"unit.position","ts":1,"data":{"id":"u","lon":"east","lat":1}}',
            7,
        ),
        _sse(p.CASE_CREATED, b"[1,2,3]", 8),  # not an envelope
        _sse(p.CASE_CREATED, good2, 9),
        _sse(p.SSE_BATCH, bad_member_batch, 11),
        _sse("heartbeat", b"<html>not json</html>"),
    ]


def _hostile_app(stream_chunks: list[bytes]) -> Starlette:
    async def snapshot(_: Request) -> Response:
        return Response(_snapshot(), media_type="application/json")

    async def stream(_: Request) -> Response:
        async def gen():
            for chunk in stream_chunks:
                yield chunk
            await asyncio.sleep(30)  # keep the stream open; the test ends first

        return StreamingResponse(gen(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/snapshot", snapshot), Route("/v1/stream", stream)])


def _run_client(url: str, until, timeout: float = 8.0, **cfg) -> tuple[Store, FeedStatus, bool]:
    store = Store()
    status = FeedStatus()

    async def main() -> bool:
        client = FeedClient(
            ClientConfig(
                base_url=url, token="t0ken-secret", backoff_initial=0.05, backoff_max=0.2, **cfg
            ),
            store,
            status,
        )
        client.start()
        try:
            return await wait_until(lambda: until(store, status), timeout)
        finally:
            await client.stop()

    return store, status, asyncio.run(main())


def test_malformed_events_are_quarantined_with_reasons_and_good_ones_apply() -> None:
    with ThreadedServer(_hostile_app(_hostile_stream())) as srv:
        store, status, ok = _run_client(
            srv.url,
            lambda s, st: len(s) >= 3 and st.quarantined.get("bad_heartbeat", 0) >= 1,
            max_event_bytes=2000,
        )
    assert ok, (len(store), dict(status.quarantined))
    assert {store.case(f"C{i}").id for i in (1, 2, 3)} == {"C1", "C2", "C3"}
    assert status.quarantined["malformed_json"] == 1
    assert status.quarantined["truncated"] == 1
    assert status.quarantined["oversized"] == 1
    assert status.quarantined["unsupported_version"] == 1
    assert status.quarantined["invalid_data"] == 2  # bad lon; batch member without fields
    assert status.quarantined["bad_envelope"] == 1
    assert status.unknown_kinds["weather.update"] == 1
    assert status.recent_bad and status.recent_bad[-1].reason == "bad_heartbeat"
    assert store.seq == 10


def test_server_answering_html_is_counted_and_retried() -> None:
    async def html(_: Request) -> Response:
        return HTMLResponse("<html><body>Gateway login</body></html>")

    app = Starlette(routes=[Route("/v1/snapshot", html), Route("/v1/stream", html)])
    with ThreadedServer(app) as srv:
        store, status, ok = _run_client(srv.url, lambda s, st: st.errors["snapshot_invalid"] >= 3)
    assert ok
    assert status.reconnects >= 3
    assert len(store) == 0
    assert "text/html" in status.last_error


def test_stream_answering_html_is_not_an_event_stream() -> None:
    async def snapshot(_: Request) -> Response:
        return Response(_snapshot(), media_type="application/json")

    async def html(_: Request) -> Response:
        return HTMLResponse("<html>maintenance</html>")

    app = Starlette(routes=[Route("/v1/snapshot", snapshot), Route("/v1/stream", html)])
    with ThreadedServer(app) as srv:
        _, status, ok = _run_client(srv.url, lambda s, st: st.errors["not_event_stream"] >= 2)
    assert ok
    assert status.state is LinkState.STOPPED


def test_server_errors_are_counted_by_status() -> None:
    calls = {"n": 0}

    async def flaky(_: Request) -> Response:
        calls["n"] += 1
        return PlainTextResponse("boom", status_code=500 if calls["n"] % 2 else 503)

    app = Starlette(routes=[Route("/v1/snapshot", flaky), Route("/v1/stream", flaky)])
    with ThreadedServer(app) as srv:
        _, status, ok = _run_client(
            srv.url, lambda s, st: st.errors["http_500"] >= 2 and st.errors["http_503"] >= 1
        )
    assert ok, dict(status.errors)


def test_refused_token_is_reported_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def refuse(_: Request) -> Response:
        return PlainTextResponse("no", status_code=401)

    app = Starlette(routes=[Route("/v1/snapshot", refuse)])
    caplog.set_level("DEBUG")
    with ThreadedServer(app) as srv:
        _, status, ok = _run_client(srv.url, lambda s, st: st.errors["http_401"] >= 2)
    assert ok
    assert "refused the token" in status.last_error
    assert "t0ken-secret" not in caplog.text
    assert "t0ken-secret" not in repr(ClientConfig(base_url=srv.url, token="t0ken-secret"))


def test_nothing_listening_is_a_connect_error_with_backoff() -> None:
    from tests.support import free_port

    t0 = time.monotonic()
    _, status, ok = _run_client(
        f"http://127.0.0.1:{free_port()}", lambda s, st: st.errors["connect"] >= 3
    )
    assert ok
    assert status.state in (LinkState.RECONNECTING, LinkState.STOPPED)
    assert time.monotonic() - t0 < 8


def test_silent_stream_turns_stale_then_reconnects() -> None:
    async def snapshot(_: Request) -> Response:
        return Response(_snapshot(), media_type="application/json")

    async def silent(_: Request) -> Response:
        async def gen():
            yield _sse("heartbeat", p.encode(p.Heartbeat(now=NOW, seq=0, epoch=EPOCH)))
            await asyncio.sleep(30)

        return StreamingResponse(gen(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/snapshot", snapshot), Route("/v1/stream", silent)])
    seen: list[LinkState] = []
    with ThreadedServer(app) as srv:
        _, _, ok = _run_client(
            srv.url,
            lambda s, st: (seen.append(st.state) or True) and st.errors["timeout"] >= 1,
            stale_after=0.6,
            dead_after=1.5,
        )
    assert ok
    assert LinkState.STALE in seen
    assert LinkState.LIVE in seen


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    import random

    rng = random.Random(1)
    delays = [backoff_delay(a, 0.5, 30.0, rng) for a in range(12)]
    assert 0.25 <= delays[0] <= 0.5
    assert all(15.0 <= d <= 30.0 for d in delays[8:])
    assert delays[4] > delays[1]
    assert len({round(d, 6) for d in delays[8:]}) > 1  # jitter: not all the same


def test_an_unexplained_gap_in_the_stream_forces_a_new_snapshot() -> None:
    snapshots = {"n": 0}

    async def snapshot(_: Request) -> Response:
        snapshots["n"] += 1
        return Response(_snapshot(), media_type="application/json")

    async def gappy(_: Request) -> Response:
        async def gen():
            yield _sse(p.CASE_CREATED, p.encode_envelope(1, p.CASE_CREATED, NOW, _case(1)), 1)
            yield _sse(
                p.CASE_CREATED, p.encode_envelope(5, p.CASE_CREATED, NOW, _case(5)), 5
            )  # 2-4 missing
            await asyncio.sleep(30)

        return StreamingResponse(gen(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/snapshot", snapshot), Route("/v1/stream", gappy)])
    with ThreadedServer(app) as srv:
        store, status, ok = _run_client(
            srv.url, lambda s, st: st.resyncs >= 1 and snapshots["n"] >= 2
        )
    assert ok
    assert status.errors["gap"] >= 1
    assert store.case("C5") is None  # never applied across the hole
