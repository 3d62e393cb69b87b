"""Reads are bounded while they happen: a huge or endless SSE line is skipped as it streams
past (memory stays flat), invalid UTF-8 is quarantined, a snapshot over its cap is refused
while downloading, a redirect is refused with its own cause. Real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from commandcenter.status import FeedStatus
from commandcenter.store import Store
from feeds import protocol as p
from feeds.client import ClientConfig, FeedClient
from feeds.sse import read_sse
from tests.support import ThreadedServer

EPOCH = "b1"
NOW = 1_700_000_000.0
MB = 1 << 20


def _case(i: int) -> p.CaseData:
    return p.CaseData(
        id=f"C{i}", version=1, category="c", source="hotline", urgency="normal",
        state="reported", township="T", grid="G", lon=113.6, lat=37.8,
        created_ts=NOW, state_ts=NOW,
    )  # fmt: skip


def _event(seq: int) -> bytes:
    env = p.encode_envelope(seq, p.CASE_CREATED, NOW, _case(seq))
    return f"id: {EPOCH}:{seq}\nevent: case.created\n".encode() + b"data: " + env + b"\n\n"


async def _collect(chunks: list[bytes], max_bytes: int) -> list[Any]:
    async def gen():
        for c in chunks:
            yield c

    return [m async for m in read_sse(gen(), max_bytes)]


def test_the_reader_follows_the_sse_rules() -> None:
    msgs = asyncio.run(
        _collect(
            [b": comment\r\nevent: a\r\ndata: x\r\ndata: y\r\nid: 7\r\n\r\n", b"retry: 5\n\n",
             b"data: z\rdata: w\r", b"\r", b"data: \xe4\xb8\xad\n\n"],
            1000,
        )
    )
    assert [(m.event, m.data, m.id, m.error) for m in msgs] == [
        ("a", "x\ny", "7", ""),
        ("message", "z\nw", "", ""),
        ("message", "中", "", ""),
    ]


def test_an_endless_line_never_grows_memory() -> None:
    """200 MB of one line, then a good event: memory stays within a few MB of the cap."""

    async def endless():
        yield b"id: " + EPOCH.encode() + b":1\nevent: case.created\ndata: "
        block = b"x" * (256 * 1024)
        for _ in range(800):
            yield block
        yield b"\n\n" + _event(2)

    async def main() -> list[Any]:
        return [m async for m in read_sse(endless(), MB)]

    tracemalloc.start()
    msgs = asyncio.run(main())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [m.error for m in msgs] == ["oversized", ""]
    assert msgs[0].id == f"{EPOCH}:1" and msgs[0].size >= 200 * MB
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"


def _app(stream: list[bytes], snapshot: bytes | None = None, redirect: bool = False) -> Starlette:
    async def snap(_: Request) -> Response:
        if redirect:
            return RedirectResponse("http://127.0.0.1:1/elsewhere", status_code=302)
        body = snapshot or p.encode(p.Snapshot(v=1, epoch=EPOCH, seq=0, now=NOW, rate=1.0))
        return Response(body, media_type="application/json")

    async def geography(_: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    async def sse(_: Request) -> Response:
        async def gen():
            for c in stream:
                yield c
            await asyncio.sleep(30)

        return StreamingResponse(gen(), media_type="text/event-stream")

    return Starlette(
        routes=[Route("/v1/snapshot", snap), Route("/v1/geography", geography),
                Route("/v1/stream", sse)]
    )  # fmt: skip


def _run(url: str, until, **cfg: Any) -> tuple[Store, FeedStatus]:
    store, status = Store(), FeedStatus()

    async def main() -> None:
        client = FeedClient(
            ClientConfig(base_url=url, token="t", backoff_initial=0.05, backoff_max=0.1, **cfg),
            store,
            status,
        )
        task = client.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not until(store, status):
            assert not task.done()
            await asyncio.sleep(0.02)
        await client.stop()

    asyncio.run(main())
    return store, status


def test_a_50mb_line_and_invalid_utf8_are_quarantined_and_the_stream_goes_on() -> None:
    huge = f"id: {EPOCH}:2\nevent: case.created\ndata: ".encode() + b"y" * (50 * MB) + b"\n\n"
    bad_text = f"id: {EPOCH}:3\nevent: case.created\ndata: ".encode() + b"\xff\xfe{}\n\n"
    with ThreadedServer(_app([_event(1), huge, bad_text, _event(4)])) as srv:
        store, status = _run(srv.url, lambda s, _: s.seq >= 4)
    assert [store.case(f"C{i}") is not None for i in (1, 4)] == [True, True]
    assert status.quarantined["oversized"] == 1
    assert status.quarantined["invalid_utf8"] == 1
    assert not status.errors and status.resyncs == 0  # the hole is explained, no resnapshot


def test_a_snapshot_over_its_cap_is_refused_while_reading() -> None:
    big = p.encode(
        p.Snapshot(v=1, epoch=EPOCH, seq=0, now=NOW, rate=1.0, cases=[_case(i) for i in range(3000)])
    )
    with ThreadedServer(_app([], snapshot=big)) as srv:
        _, status = _run(srv.url, lambda _, st: st.errors["snapshot_oversized"] >= 2,
                         max_snapshot_bytes=len(big) // 10)  # fmt: skip
    assert status.errors["snapshot_oversized"] >= 2  # refused, and tried again later


def test_a_redirect_is_refused_with_its_own_cause() -> None:
    with ThreadedServer(_app([], redirect=True)) as srv:
        _, status = _run(srv.url, lambda _, st: st.errors["redirect_refused"] >= 1)
    assert status.errors["redirect_refused"] >= 1
    assert "302" in status.last_error and "elsewhere" in status.last_error
    assert "snapshot_invalid" not in status.errors
