"""Hostile feeds against the real client over real HTTP (Starlette on 127.0.0.1): numbers
too big for the store, a line larger than any event, bytes that are not UTF-8, a redirect,
and a fault the client did not foresee. The client counts each under its own cause, keeps
the good events around it and keeps (or goes back to) following the stream."""

from __future__ import annotations

import asyncio
import logging

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from commandcenter.status import LinkState
from commandcenter.store import Store
from feeds import protocol as p
from tests.support import ThreadedServer
from tests.test_client_bad_input import NOW, _case, _run_client, _snapshot, _sse


def _app(chunks: list[bytes], snapshot=None) -> Starlette:
    async def snap(_: Request) -> Response:
        if snapshot is not None:
            return await snapshot(_)
        return Response(_snapshot(), media_type="application/json")

    async def stream(_: Request) -> Response:
        async def gen():
            for chunk in chunks:
                yield chunk
            await asyncio.sleep(30)

        return StreamingResponse(gen(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/snapshot", snap), Route("/v1/stream", stream)])


def _huge_version_envelope(seq: int) -> bytes:
    env = p.encode_envelope(seq, p.CASE_UPDATED, NOW, _case(7))
    return env.replace(b'"version":1', b'"version":' + str(10**30).encode())


def test_a_version_of_ten_to_the_thirty_is_quarantined_and_the_stream_goes_on() -> None:
    chunks = [
        _sse(p.CASE_CREATED, p.encode_envelope(1, p.CASE_CREATED, NOW, _case(1)), 1),
        _sse(p.CASE_UPDATED, _huge_version_envelope(2), 2),
        _sse(p.CASE_CREATED, p.encode_envelope(3, p.CASE_CREATED, NOW, _case(3)), 3),
    ]
    with ThreadedServer(_app(chunks)) as srv:
        store, status, ok = _run_client(srv.url, lambda s, st: s.case("C3") is not None)
    assert ok, (dict(status.quarantined), dict(status.errors))
    assert status.quarantined["invalid_data"] == 1
    assert "version" in status.recent_bad[-1].detail
    assert store.case("C7") is None and len(store) == 2
    assert not [c for c in status.errors if c.startswith("internal_")]


def test_an_endless_line_is_refused_while_reading_and_the_next_event_arrives() -> None:
    # 8 MB of one 'data:' line against a 64 kB limit; the reader never holds it.
    big = b"data: " + b"x" * (8 << 20) + b"\n\n"
    chunks = [
        b"id: e1:1\nevent: case.created\n" + big,
        _sse(p.CASE_CREATED, p.encode_envelope(2, p.CASE_CREATED, NOW, _case(2)), 2),
    ]
    with ThreadedServer(_app(chunks)) as srv:
        store, status, ok = _run_client(
            srv.url, lambda s, st: s.case("C2") is not None, max_event_bytes=64 << 10
        )
    assert ok, dict(status.quarantined)
    assert status.quarantined["oversized"] == 1
    assert store.seq == 2


def test_invalid_utf8_is_quarantined_not_decoded_loosely() -> None:
    bad = b'id: e1:1\nevent: case.created\ndata: {"v":1,"title":"\xff\xfe\xc3"}\n\n'
    chunks = [
        bad,
        _sse(p.CASE_CREATED, p.encode_envelope(2, p.CASE_CREATED, NOW, _case(2)), 2),
    ]
    with ThreadedServer(_app(chunks)) as srv:
        store, status, ok = _run_client(srv.url, lambda s, st: s.case("C2") is not None)
    assert ok
    assert status.quarantined["invalid_utf8"] == 1
    assert len(store) == 1


def test_a_redirect_is_refused_with_its_own_cause() -> None:
    async def moved(_: Request) -> Response:
        return RedirectResponse("http://127.0.0.1:9/elsewhere", status_code=302)

    with ThreadedServer(_app([], snapshot=moved)) as srv:
        _, status, ok = _run_client(srv.url, lambda s, st: st.errors["redirect"] >= 2)
    assert ok, dict(status.errors)
    assert "elsewhere" in status.last_error
    assert status.errors["snapshot_invalid"] == 0


def test_a_snapshot_larger_than_the_cap_is_refused_while_streaming() -> None:
    with ThreadedServer(_app([])) as srv:
        _, status, ok = _run_client(
            srv.url, lambda s, st: st.errors["snapshot_oversized"] >= 1, max_snapshot_bytes=16
        )
    assert ok, dict(status.errors)


class _BrokenStore(Store):
    """A sink whose apply fails in a way nobody foresaw, twice, then works."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 2

    def apply(self, events):  # type: ignore[override]
        if self.failures:
            self.failures -= 1
            raise RuntimeError("disk on fire")
        return super().apply(events)


def test_an_unforeseen_exception_is_counted_logged_once_and_the_link_reconnects(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from commandcenter.status import FeedStatus
    from feeds.client import ClientConfig, FeedClient

    chunks = [_sse(p.CASE_CREATED, p.encode_envelope(1, p.CASE_CREATED, NOW, _case(1)), 1)]
    caplog.set_level(logging.DEBUG, logger="feeds.client")
    store, status = _BrokenStore(), FeedStatus()
    states: list[LinkState] = []
    status.subscribe(lambda st: states.append(st.state))

    async def main() -> None:
        client = FeedClient(
            ClientConfig(base_url=srv.url, token="t", backoff_initial=0.05, backoff_max=0.1),
            store,
            status,
        )
        client.start()
        try:
            from tests.support import wait_until

            assert await wait_until(lambda: store.case("C1") is not None, 10)
        finally:
            await client.stop()

    with ThreadedServer(_app(chunks)) as srv:
        asyncio.run(main())
    assert status.errors["internal_runtimeerror"] == 2
    assert "disk on fire" in status.last_error
    assert LinkState.RECONNECTING in states
    tracebacks = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(tracebacks) == 1 and tracebacks[0].exc_info is not None


def test_supervision_restarts_a_link_whose_run_raises() -> None:
    from commandcenter.status import FeedStatus
    from feeds.client import ClientConfig, FeedLink

    class Fragile(FeedLink):
        runs = 0

        async def run(self) -> None:
            Fragile.runs += 1
            if Fragile.runs < 3:
                raise KeyError("set-up fault")
            await self._stop.wait()

    async def main() -> FeedStatus:
        link = Fragile(
            ClientConfig(base_url="http://127.0.0.1:1", token="t", backoff_initial=0.02),
            Store(),
            None,
            None,
        )
        link.start()
        for _ in range(200):
            if Fragile.runs >= 3:
                break
            await asyncio.sleep(0.02)
        await link.stop()
        return link.status

    status = asyncio.run(main())
    assert Fragile.runs == 3
    assert status.errors["internal_keyerror"] == 2
    assert status.state is LinkState.STOPPED
