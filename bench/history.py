"""History on start: what fetching the feed's past (``GET /v1/history``) into the journal
costs a console that starts late, against the same start without it in the same process.

The server is the reference county run from a busy morning at half an hour of feed time
per real second until its log holds ``events`` events (then frozen); a fresh console
(client, mux, recorder, store, journal in a temporary directory) starts against it and is
timed until its store holds the snapshot, and until the history is journaled (it comes
while the live state already shows). Rows: those times with 3 hours of history against the
start without it (the first ratio is what history costs the live start), the events journaled,
and the seek an hour back on the fresh journal; on the server, one keyframe (a shallow copy
of the live state) against publishing one tick of events.

Run: ``python -m bench history`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.table import Row, print_table

BUSY_MORNING = 1_795_399_200.0
HOUR = 3600.0


def _server(events: int):  # type: ignore[no-untyped-def]
    from commandcenter.domain import Role
    from feeds.serve.server import EmbeddedServer, ServerConfig

    cfg = ServerConfig(
        rate=1800.0,
        tick_s=0.05,
        heartbeat_s=0.2,
        tokens={"bench-token": Role.DUTY_OFFICER},
        start_ts=BUSY_MORNING,
        history_hours=1,
        max_seq=events,
    )
    srv = EmbeddedServer(cfg).start()
    deadline = time.monotonic() + 300
    while srv.service.hub.seq < events and time.monotonic() < deadline:
        time.sleep(0.1)
    return srv


def _start(url: str, tmp: Path, history_s: float) -> tuple[float, float, int, float, float]:
    """(seconds to the snapshot applied, to the history journaled, events journaled,
    seconds to seek 1 h back, the longest the loop was held from the snapshot on)."""
    from commandcenter.journal import Journal, Recorder
    from commandcenter.sources import SourceMux
    from commandcenter.status import FeedStatus
    from commandcenter.store import Store
    from commandcenter.timetravel import TimeTravel
    from feeds.client import ClientConfig, FeedClient
    from feeds.journal_codec import journal_codec

    store = Store()
    journal = Journal(tmp / "journal.sqlite3", journal_codec())
    rec = Recorder(store, journal, history_s=history_s)
    client = FeedClient(
        ClientConfig(base_url=url, token="bench-token"), SourceMux(store, rec).sink("v1"),
        FeedStatus(),
    )  # fmt: skip

    async def go() -> tuple[float, float, float]:
        t0 = time.perf_counter()
        client.start()
        while not store.epoch:
            await asyncio.sleep(0.002)
        live = time.perf_counter() - t0
        # What a painting GUI would see: the longest gap between two turns of the loop
        # while the past is journaled (or, without history, for the same second after).
        gap, last = 0.0, time.perf_counter()
        until = last + 1.0
        while rec.history_pending or time.perf_counter() < until:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gap, last = max(gap, now - last), now
        past = time.perf_counter() - t0
        await client.stop()
        return live, past, gap

    took, past, gap = asyncio.run(go())
    tt = TimeTravel(store, journal)
    t0 = time.perf_counter()
    tt.seek(store.clock.server_now - HOUR)
    seek = time.perf_counter() - t0
    count = journal.count()
    journal.close()
    return took, past, count, seek, gap


def _keyframe_vs_tick(srv) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Seconds for one keyframe copy and for publishing one tick's events (a fresh hub)."""
    from feeds.serve.hub import Hub

    hub = srv.service.hub
    t0 = time.perf_counter()
    for _ in range(20):
        hub.state.copy()
    copy_s = (time.perf_counter() - t0) / 20
    from feeds import protocol as P

    items = hub.events_after(hub.seq - 600, 600, 1 << 30)
    raw = b"[" + b",".join(i.payload for i in items) + b"]"
    tick = [(e.kind, e.data, e.ts) for e in P.parse_message(raw, P.SSE_BATCH, 1 << 30).events]
    other = Hub(ring_size=100_000)
    t0 = time.perf_counter()
    for _ in range(20):
        other.publish(tick)
    return copy_s, (time.perf_counter() - t0) / 20


def run(quick: bool = False) -> list[Row]:
    events = 20_000 if quick else 60_000
    srv = _server(events)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # Without history before and after: the first start also pays for warming up.
            bare, _, _, _, bare_gap = _start(srv.url, Path(tmp, "a"), 0.0)
            with_h, past, journaled, seek, gap = _start(srv.url, Path(tmp, "b"), 3 * HOUR)
            again = _start(srv.url, Path(tmp, "c"), 0.0)
            bare, bare_gap = min(bare, again[0]), min(bare_gap, again[4])
        copy_s, tick_s = _keyframe_vs_tick(srv)
    finally:
        srv.stop()
    return [
        Row("fresh start to live snapshot, 3 h history", with_h, "s", "", bare,
            "baseline: the same start without history"),
        Row("fresh start to history journaled", past, "s", "", bare,
            "the past arrives while the live state shows"),
        Row("longest loop stall while the past is journaled", gap * 1000, "ms", "", bare_gap * 1000,
            "baseline: the live second without history"),
        Row("history events journaled at start", journaled, "events", "",
            note=f"server log {events:,} events"),
        Row("seek 1 h back on the fresh journal", seek, "s", "<= 1 s"),
        Row("server: one keyframe (state copy)", copy_s * 1000, "ms", "", tick_s * 1000,
            "baseline: publishing one tick (~600 events)"),
    ]  # fmt: skip


if __name__ == "__main__":
    print_table(run())
