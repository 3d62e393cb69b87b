"""Values that parse but cannot be held, and bugs nobody foresaw, against a real server on
127.0.0.1: the link never dies behind a green badge, the bad event is quarantined with its
reason, the good ones around it apply, and an unexpected exception is counted, shown and
followed by a reconnect and a fresh snapshot."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from commandcenter.status import FeedStatus
from commandcenter.store import Store
from feeds import protocol as p
from feeds.client import ClientConfig, FeedClient
from tests.support import ThreadedServer

EPOCH = "h1"
NOW = 1_700_000_000.0


def _case_json(i: int, **over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": f"C{i}", "version": 1, "category": "占道经营", "source": "hotline",
        "urgency": "normal", "state": "reported", "township": "T", "grid": "G",
        "lon": 113.6, "lat": 37.8, "created_ts": NOW, "state_ts": NOW,
    }  # fmt: skip
    d.update(over)
    return d


def _sse_event(seq: int, kind: str, data: dict[str, Any], raw: bytes | None = None) -> bytes:
    body = raw or p._encoder.encode({"v": 1, "seq": seq, "kind": kind, "ts": NOW, "data": data})
    return f"id: {EPOCH}:{seq}\nevent: {kind}\n".encode() + b"data: " + body + b"\n\n"


def _app(chunks: list[bytes], snapshots: list[int]) -> Starlette:
    async def snapshot(_: Request) -> Response:
        snapshots.append(1)
        return Response(
            p.encode(p.Snapshot(v=1, epoch=EPOCH, seq=0, now=NOW, rate=1.0)),
            media_type="application/json",
        )

    async def stream(_: Request) -> Response:
        async def gen():
            for chunk in chunks:
                yield chunk
            await asyncio.sleep(30)

        return StreamingResponse(gen(), media_type="text/event-stream")

    async def geography(_: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/snapshot", snapshot),
            Route("/v1/geography", geography),
            Route("/v1/stream", stream),
        ]
    )


def _follow(url: str, sink: Any, until, timeout: float = 10.0) -> tuple[FeedStatus, list[str]]:
    status = FeedStatus()
    states: list[str] = []
    status.subscribe(lambda s: states.append(s.state.value))

    async def main() -> None:
        client = FeedClient(
            ClientConfig(base_url=url, token="tok", backoff_initial=0.05, backoff_max=0.2),
            sink,
            status,
        )
        task = client.start()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and not until(status):
                assert not task.done(), "the link task ended"
                await asyncio.sleep(0.02)
        finally:
            await client.stop()

    asyncio.run(main())
    return status, states


def test_out_of_range_values_are_quarantined_and_the_rest_applies() -> None:
    chunks = [
        _sse_event(1, p.CASE_CREATED, _case_json(1)),
        _sse_event(2, p.CASE_UPDATED, _case_json(1, version=10**30)),  # overflowed int64
        _sse_event(3, p.CASE_CREATED, {}, raw=b'{"v":1,"seq":3,"kind":"case.created","ts":1,'
                   b'"data":' + p._encoder.encode(_case_json(3)).replace(b'113.6', b'1e999') + b"}"),
        _sse_event(4, p.CASE_CREATED, _case_json(4, state="no-such-state")),  # store refuses
        _sse_event(5, p.CASE_CREATED, _case_json(5, rating=-3)),
        _sse_event(6, p.CASE_CREATED, _case_json(6)),
        _sse_event(7, p.UNIT_POSITION, {"id": "u1", "lon": 113.0, "lat": 91.0}),
        _sse_event(8, p.UNIT_POSITION, {"id": "u2", "lon": 113.0, "lat": 37.0}),
    ]  # fmt: skip
    snapshots: list[int] = []
    with ThreadedServer(_app(chunks, snapshots)) as srv:
        store = Store()
        status, states = _follow(srv.url, store, lambda s: store.seq >= 8)
    assert sorted(store.case(c).id for c in ("C1", "C6")) == ["C1", "C6"]
    assert store.case("C1").version == 1  # the 10**30 update never landed
    assert store.case("C3") is None and store.case("C4") is None and store.case("C5") is None
    assert status.quarantined["invalid_data"] == 3  # version 10**30, rating -3, lat 91
    assert status.quarantined["bad_envelope"] == 1  # 1e999: out of range for any float
    assert status.quarantined["rejected_by_store"] == 1  # the unknown state
    assert "no-such-state" in " ".join(b.detail for b in status.recent_bad)
    assert "live" in states and "reconnecting" not in states  # never dropped over bad data
    assert "u2" in store.units and "u1" not in store.units
    assert not status.errors  # nothing crashed, nothing reconnected


class _BuggySink(Store):
    """A sink whose apply fails once with an error nothing anticipates (a bug)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def apply(self, events):  # type: ignore[override]
        if self.failures:
            self.failures -= 1
            raise RuntimeError("a bug in a subscriber")
        return super().apply(events)


def test_an_unexpected_exception_is_counted_shown_and_the_link_comes_back(caplog) -> None:
    chunks = [_sse_event(i, p.CASE_CREATED, _case_json(i)) for i in range(1, 4)]
    snapshots: list[int] = []
    sink = _BuggySink()
    with caplog.at_level(logging.WARNING), ThreadedServer(_app(chunks, snapshots)) as srv:
        status, states = _follow(srv.url, sink, lambda s: len(sink) == 3)
    assert len(sink) == 3  # every event arrived after the reconnect
    assert status.errors["internal_RuntimeError"] == 1
    assert "a bug in a subscriber" in caplog.text
    assert "reconnecting" in states  # the badge did not stay live over the failure
    assert len(snapshots) == 2  # a fresh snapshot after the failure: nothing half-applied
    tracebacks = [r for r in caplog.records if r.exc_info and "feeds.client" in r.name]
    assert len(tracebacks) == 1  # logged once, with its traceback


def test_a_failure_outside_the_loop_restarts_the_link() -> None:
    """Even a failure in the link's own set-up (here: a broken config value) ends in a
    counted cause and another try, never in a dead task."""

    class Odd(ClientConfig):
        pass

    status = FeedStatus()

    async def main() -> None:
        cfg = Odd(base_url="http://127.0.0.1:9", token="t", backoff_initial=0.01, backoff_max=0.02)
        cfg.connect_timeout = "soon"  # type: ignore[assignment]
        client = FeedClient(cfg, Store(), status)
        task = client.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sum(status.errors.values()) < 3:
            await asyncio.sleep(0.01)
        assert not task.done()
        await client.stop()

    asyncio.run(main())
    assert sum(v for k, v in status.errors.items() if k.startswith("internal_")) >= 3
