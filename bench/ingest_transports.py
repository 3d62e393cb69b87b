"""Sustained ingest through MQTT and SSE with the UI frame gaps, and journal seeking.

The console side is always the app's chain on a qasync loop in an offscreen QApplication:
transport -> journal Recorder -> Store -> LiveBridge (10 Hz). The producers run in
**their own processes**, as in a hall, so they do not share the console's GIL:

- MQTT: a child process (``python -m bench.ingest_transports --mqtt-publish ...``) runs
  ``MqttBridge`` against a real Mosquitto on 127.0.0.1: QoS 1, envelopes grouped into
  ``events/batch`` messages, a window of messages in flight. Two runs: as fast as it goes
  (throughput), and paced at 20,000 events/s (the budget's rate, for the frame gaps).
  events/s = applied / (last apply - first apply).
- SSE: ``python -m feeds.serve.server --burst 20000`` in a child process -> FeedClient.
- Nothing may be dropped: each run asserts that the store and the journal hold exactly
  what was sent (MQTT: every seq 1..N applied once; SSE: no resync, no gap, journal rows
  == events applied).
- "frame gap": time between two LiveBridge ``changed`` emissions while events flowed
  (10 Hz nominal: 100 ms); it grows when applying starves the GUI thread. Longest and p99.
- The 1-minute load average before/after each run is in the notes: the machine is shared.
- Journal: 1,000,000 events over 48 h of feed time recorded through the Recorder, then
  ``TimeTravel.seek`` to 24 h back (checkpoint + tail) into a fresh store.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.table import Row
from commandcenter.journal import Journal, Recorder
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from commandcenter.timetravel import TimeTravel
from feeds import protocol as p
from feeds.journal_codec import journal_codec

T0 = 1_800_000_000.0
ROOT = Path(__file__).resolve().parent.parent


def _envelopes(n: int, first: int = 1) -> list[tuple[int, str, bytes]]:
    out = []
    for seq in range(first, first + n):
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


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


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


def _gaps(stamps: list[float]) -> tuple[float, float]:
    """(longest, p99) gap between frames in ms."""
    gaps = sorted(b - a for a, b in itertools.pairwise(stamps))
    if not gaps:
        return 0.0, 0.0
    return gaps[-1] * 1000, gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))] * 1000


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def _kill(proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# ---- MQTT ---------------------------------------------------------------------------------


def mqtt_publisher(port: int, n: int, rate: float, batch_events: int) -> None:
    """The child process: publish envelopes 1..n with QoS 1, paced at ``rate``/s (0: flat out)."""
    import logging

    from feeds.serve.mqtt_bridge import MqttBridge
    from feeds.transports.mqtt import MqttConfig

    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt warns per pending publish

    async def go() -> None:
        bridge = MqttBridge(
            MqttConfig(port=port, county="bench", client_id="bench-pub"),
            batch_events=batch_events,
        )
        bridge.epoch = "bench"
        await bridge.maybe_heartbeat(force=True)
        if rate <= 0:
            await bridge.publish_envelopes(_envelopes(n))
        else:
            tick = 0.01  # what a feed server's 10 ms batching would hand over
            per_tick = max(1, round(rate * tick))
            t_start = time.monotonic()
            for k, first in enumerate(range(1, n + 1, per_tick)):
                await bridge.publish_envelopes(_envelopes(min(per_tick, n + 1 - first), first))
                delay = t_start + (k + 1) * tick - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
        await bridge.close()

    asyncio.run(go())


def bench_mqtt(n: int, rate: float = 0.0, batch_events: int = 500) -> list[Row]:
    from feeds.transports.mosquitto import LocalMosquitto, mosquitto_binary
    from feeds.transports.mqtt import MqttConfig, MqttTransport

    label = f"paced {rate:,.0f}/s" if rate > 0 else "flat out"
    if mosquitto_binary() is None:
        return [Row(f"MQTT ingest ({label})", 0, "events/s", note="skipped: no mosquitto")]
    app, qasync = _qt()
    tmp = Path(tempfile.mkdtemp(prefix="bench-mqtt-"))
    broker = LocalMosquitto(tmp / "broker").start()
    store, status = Store(), FeedStatus()
    journal = Journal(tmp / "j.sqlite3", journal_codec())
    rec = Recorder(store, journal)
    bridge_ui, stamps = _frames(store, status)
    applied_at: list[float] = []
    store.subscribe(lambda cs: applied_at.append(time.monotonic()))
    load_before = _loadavg()
    pub: subprocess.Popen[bytes] | None = None

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    cfg = MqttConfig(port=broker.port, county="bench", client_id="bench-console")

    async def run() -> None:
        nonlocal pub
        sub = MqttTransport(cfg, rec, status)
        sub.start()
        while sub.connects < 1:  # subscribed before the publisher starts: nothing missed
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        args = [str(broker.port), str(n), str(rate), str(batch_events)]
        pub = subprocess.Popen(
            [sys.executable, "-m", "bench.ingest_transports", "--mqtt-publish", *args],
            cwd=ROOT,
            env=_child_env(),
        )
        deadline = time.monotonic() + 180
        while store.seq < n and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        await sub.stop()

    try:
        loop.run_until_complete(run())
        if pub is not None:
            pub.wait(30)
    finally:
        _kill(pub)
        bridge_ui.close()
        journal.flush()
        journal.close()
        broker.stop()
        loop.close()
        asyncio.set_event_loop(None)
    # Nothing dropped, nothing doubled: every seq 1..n in the store and the journal, once.
    assert store.seq == n, f"store at seq {store.seq}, {n} sent"
    assert status.applied == n and journal.appended == n, (status.applied, journal.appended)
    assert not status.errors["gap"], status.errors
    span = (applied_at[-1] - applied_at[1]) if len(applied_at) > 2 else float("nan")
    if len(applied_at) > 2:  # frames while events flowed, not the wait for the publisher
        stamps[:] = [s for s in stamps if applied_at[1] <= s <= applied_at[-1] + 0.2]
    longest, p99 = _gaps(stamps)
    load = f"load {load_before}->{_loadavg()}"
    return [
        Row(
            f"MQTT ingest {label} (QoS 1, Mosquitto, journal on)",
            n / span if span else 0.0,
            "events/s",
            ">= 20,000 / s",
            note=f"{store.seq:,}/{n:,} applied+journaled; batches of {batch_events}; {load}",
        ),
        Row(f"MQTT {label}: longest UI frame gap", longest, "ms", "<= 250 ms", note="10 Hz"),
        Row(
            f"MQTT {label}: p99 UI frame gap", p99, "ms", "<= 250 ms", note=f"{len(stamps)} frames"
        ),
    ]


# ---- SSE ----------------------------------------------------------------------------------


def _start_feed_server(burst: int) -> tuple[subprocess.Popen[str], str, str]:
    """``python -m feeds.serve.server`` in a child process -> (process, url, token)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feeds.serve.server",
            "--port",
            "0",
            "--burst",
            str(burst),
            "--history-hours",
            "0.5",
            "--synthetic-outline",
        ],
        cwd=ROOT,
        env={**_child_env(), "CC_FEED_TOKENS": ""},
        stdout=subprocess.PIPE,
        text=True,
    )
    token = url = ""
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while not url and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            _kill(proc)
            raise RuntimeError("feed server exited before listening")
        if line.startswith("TOKEN "):
            token = line.split()[1]
        elif line.startswith("LISTENING "):
            url = line.split()[1]
    if not url:
        _kill(proc)
        raise TimeoutError("feed server did not start")
    return proc, url, token


def bench_sse(seconds: float, burst: int) -> list[Row]:
    from feeds.client import ClientConfig, FeedClient

    app, qasync = _qt()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sse-"))
    store, status = Store(), FeedStatus()
    journal = Journal(tmp / "j.sqlite3", journal_codec())
    rec = Recorder(store, journal)
    bridge_ui, stamps = _frames(store, status)
    load_before = _loadavg()
    srv, url, token = _start_feed_server(burst)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    counts: list[tuple[float, int]] = []
    first_seq = 0

    async def run() -> None:
        nonlocal first_seq
        client = FeedClient(ClientConfig(base_url=url, token=token), rec, status)
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
        journal.flush()
        journal.close()
        _kill(srv)
        loop.close()
        asyncio.set_event_loop(None)
    # Nothing dropped: one history, no hole, every applied event journaled once.
    assert status.resyncs == 0 and not status.errors["gap"], (status.resyncs, status.errors)
    assert journal.appended == status.applied, (journal.appended, status.applied)
    (t_a, a), (t_b, b) = counts[0], counts[-1]
    rate = (b - a) / (t_b - t_a)
    longest, p99 = _gaps(stamps)
    load = f"load {load_before}->{_loadavg()}"
    return [
        Row(
            "SSE ingest (burst server process, journal on)",
            rate,
            "events/s",
            ">= 20,000 / s",
            note=f"server burst {burst:,}/s for {seconds:.0f} s; {load}",
        ),
        Row("SSE: longest UI frame gap", longest, "ms", "<= 250 ms", note="10 Hz"),
        Row("SSE: p99 UI frame gap", p99, "ms", "<= 250 ms", note=f"{len(stamps)} frames"),
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
    rows += bench_mqtt(40_000 if quick else 200_000)
    rows += bench_mqtt(40_000 if quick else 100_000, rate=20_000)
    rows += bench_sse(3.0 if quick else 8.0, 20_000)
    rows += bench_seek(200_000 if quick else 1_000_000)
    return rows


def _main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ingest_transports")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["mqtt", "mqtt-paced", "sse", "seek"], action="append")
    ap.add_argument("--mqtt-publish", nargs=4, metavar=("PORT", "N", "RATE", "BATCH"))
    args = ap.parse_args(argv)
    if args.mqtt_publish:  # the publisher child of bench_mqtt
        port, n, rate, batch = args.mqtt_publish
        mqtt_publisher(int(port), int(n), float(rate), int(batch))
        return 0
    from bench.table import print_table

    if not args.only:
        print_table(run(quick=args.quick))
        return 0
    rows: list[Row] = []
    for what in args.only:
        if what == "mqtt":
            rows += bench_mqtt(40_000 if args.quick else 200_000)
        elif what == "mqtt-paced":
            rows += bench_mqtt(40_000 if args.quick else 100_000, rate=20_000)
        elif what == "sse":
            rows += bench_sse(3.0 if args.quick else 8.0, 20_000)
        else:
            rows += bench_seek(200_000 if args.quick else 1_000_000)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
