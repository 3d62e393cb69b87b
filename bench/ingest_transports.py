"""Sustained ingest through MQTT and SSE with the UI frame gaps, and journal seeking.

- MQTT: a publisher (MqttBridge, its own thread and loop) pushes N envelopes with QoS 1
  through a real Mosquitto on 127.0.0.1; the console side is MqttTransport -> journal
  Recorder -> Store -> LiveBridge on a qasync loop in an offscreen QApplication, as in
  the app. events/s = applied / (last applied - first applied).
- SSE: the reference server with ``burst`` extra events/s -> FeedClient -> the same chain.
- "frame gap": the longest time between two LiveBridge ``changed`` emissions while events
  flowed (10 Hz nominal: 100 ms); it grows when applying starves the GUI thread.
- Journal: 1,000,000 events over 48 h of feed time recorded through the Recorder, then
  ``TimeTravel.seek`` to 24 h back (checkpoint + tail) into a fresh store.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.table import Row
from commandcenter.journal import Journal, Recorder
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from commandcenter.timetravel import TimeTravel
from feeds import protocol as p
from feeds.replay import journal_codec

T0 = 1_800_000_000.0


def _envelopes(n: int) -> list[tuple[int, str, bytes]]:
    out = []
    for seq in range(1, n + 1):
        data = p.UnitPosition(
            id=f"U{seq % 500}",
            lon=113.6 + (seq % 97) * 1e-4,
            lat=37.8,
            heading=float(seq % 360),
            speed=3.0,
            ts=T0 + seq,
        )
        out.append(
            (seq, p.UNIT_POSITION, p.encode_envelope(seq, p.UNIT_POSITION, T0 + seq * 0.01, data))
        )
    return out


def _qt():  # type: ignore[no-untyped-def]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    return app, qasync


def _frames(store: Store, status: FeedStatus):  # type: ignore[no-untyped-def]
    from widgets.live import LiveBridge

    bridge = LiveBridge(store, status, frame_hz=10)
    stamps: list[float] = []
    bridge.changed.connect(lambda _cs: stamps.append(time.monotonic()))
    return bridge, stamps


def _max_gap(stamps: list[float]) -> float:
    return max((b - a for a, b in itertools.pairwise(stamps)), default=0.0) * 1000


def bench_mqtt(n: int) -> list[Row]:
    from feeds.mqtt_bridge import MqttBridge
    from feeds.transports.mosquitto import LocalMosquitto, mosquitto_binary
    from feeds.transports.mqtt import MqttConfig, MqttTransport

    if mosquitto_binary() is None:
        return [Row("MQTT ingest", 0, "events/s", note="skipped: mosquitto not installed")]
    app, qasync = _qt()
    tmp = Path(tempfile.mkdtemp(prefix="bench-mqtt-"))
    broker = LocalMosquitto(tmp / "broker").start()
    envs = _envelopes(n)
    store, status = Store(), FeedStatus()
    journal = Journal(tmp / "j.sqlite3", journal_codec())
    rec = Recorder(store, journal)
    bridge_ui, stamps = _frames(store, status)
    applied_at: list[float] = []
    store.subscribe(lambda cs: applied_at.append(time.monotonic()))

    import logging

    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt warns per pending publish

    def publisher() -> None:
        async def go() -> None:
            b = MqttBridge(
                MqttConfig(port=broker.port, county="bench", client_id="bench-pub"), window=200
            )
            b.epoch = "bench"
            await b.maybe_heartbeat(force=True)
            await b.publish_envelopes(envs)
            await b.close()

        asyncio.run(go())

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    cfg = MqttConfig(port=broker.port, county="bench", client_id="bench-console")

    async def run() -> None:
        sub = MqttTransport(cfg, rec, status)
        sub.start()
        while sub.connects < 1:  # subscribed before the publisher starts: nothing missed
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        th = threading.Thread(target=publisher, daemon=True)
        th.start()
        deadline = time.monotonic() + 120
        while store.seq < n and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        await sub.stop()
        th.join(30)

    try:
        loop.run_until_complete(run())
    finally:
        bridge_ui.close()
        journal.close()
        broker.stop()
        loop.close()
        asyncio.set_event_loop(None)
    span = (applied_at[-1] - applied_at[1]) if len(applied_at) > 2 else float("nan")
    if len(applied_at) > 2:  # frames while events flowed, not the wait for the publisher
        stamps[:] = [s for s in stamps if applied_at[1] <= s <= applied_at[-1] + 0.2]
    rate = store.seq / span if span else 0.0
    return [
        Row(
            "MQTT ingest (QoS 1, Mosquitto, journal on)",
            rate,
            "events/s",
            ">= 20,000 / s",
            note=f"{store.seq:,}/{n:,} applied, {journal.appended:,} journaled",
        ),
        Row(
            "MQTT: max gap between UI frames",
            _max_gap(stamps),
            "ms",
            "<= 250 ms",
            note="10 Hz LiveBridge, offscreen",
        ),
    ]


def bench_sse(seconds: float, burst: int) -> list[Row]:
    from feeds.client import ClientConfig, FeedClient
    from feeds.server import EmbeddedServer

    app, qasync = _qt()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sse-"))
    store, status = Store(), FeedStatus()
    journal = Journal(tmp / "j.sqlite3", journal_codec())
    rec = Recorder(store, journal)
    bridge_ui, stamps = _frames(store, status)
    srv = EmbeddedServer(burst=burst, history_hours=0.5, outline_path=False, rate=1.0).start()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    counts: list[tuple[float, int]] = []

    async def run() -> None:
        client = FeedClient(ClientConfig(base_url=srv.url, token=srv.token), rec, status)
        client.start()
        while store.seq == 0:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # warm: past the snapshot
        stamps.clear()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            counts.append((time.monotonic(), status.applied))
            await asyncio.sleep(0.1)
        counts.append((time.monotonic(), status.applied))
        await client.stop()

    try:
        loop.run_until_complete(run())
    finally:
        bridge_ui.close()
        journal.close()
        srv.stop()
        loop.close()
        asyncio.set_event_loop(None)
    (t_a, a), (t_b, b) = counts[0], counts[-1]
    rate = (b - a) / (t_b - t_a)
    return [
        Row(
            "SSE ingest (burst server, journal on)",
            rate,
            "events/s",
            ">= 20,000 / s",
            note=f"server burst {burst:,}/s for {seconds:.0f} s",
        ),
        Row(
            "SSE: max gap between UI frames",
            _max_gap(stamps),
            "ms",
            "<= 250 ms",
            note="10 Hz LiveBridge, offscreen",
        ),
    ]


def bench_seek(n: int) -> list[Row]:
    from tests.test_journal import make_events

    tmp = Path(tempfile.mkdtemp(prefix="bench-journal-"))
    journal = Journal(tmp / "j.sqlite3", journal_codec(), max_age_s=3 * 86400)
    live = Store()
    rec = Recorder(live, journal)
    rec.reset(p.Snapshot(v=1, epoch="bench", seq=0, now=T0, rate=1.0))
    step = 2 * 86400 / n  # n events over 48 h of feed time
    t_build = time.perf_counter()
    chunk = 2000
    for start in range(0, n, 50_000):
        evs = make_events(
            min(50_000, n - start), start_seq=start + 1, t0=T0 + start * step, step=step, seed=start
        )
        for k in range(0, len(evs), chunk):
            rec.apply(evs[k : k + chunk])
    journal.flush()
    build = time.perf_counter() - t_build
    live.set_clock(T0 + 2 * 86400, 1.0)
    tt = TimeTravel(live, journal, window_s=2 * 86400)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        res = tt.seek_back(24 * 3600)
        times.append(time.perf_counter() - t)
        tt.back_to_live()
    size = journal.size_bytes()
    journal.close()
    return [
        Row(
            f"journal seek 24 h back over {n:,} events",
            min(times),
            "s",
            "<= 1 s",
            note=f"replayed {res.replayed:,} after a checkpoint; {len(tt.view):,} cases",
        ),
        Row(
            f"journal append ({n:,} events via Recorder)",
            n / build,
            "events/s",
            note=f"{size / 1e6:.0f} MB on disk",
        ),
    ]


def run(quick: bool = False) -> list[Row]:
    rows: list[Row] = []
    rows += bench_mqtt(20_000 if quick else 100_000)
    rows += bench_sse(3.0 if quick else 8.0, 20_000)
    rows += bench_seek(200_000 if quick else 1_000_000)
    return rows


if __name__ == "__main__":
    from bench.table import print_table

    print_table(run(quick="--quick" in sys.argv))
