"""The MQTT transport against a real Mosquitto broker on 127.0.0.1, started by the tests.

The broker is a child process with its own config and persistence folder (never a
system service); it is restarted mid-stream and no QoS 1 message may be lost or applied
twice. Skips cleanly when the mosquitto binary is missing (`make test` installs it).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from commandcenter.status import FeedStatus, LinkState
from commandcenter.store import Store
from feeds import protocol as p
from feeds.serve.mqtt_bridge import MqttBridge, group_envelopes
from feeds.transports.mosquitto import LocalMosquitto, mosquitto_binary
from feeds.transports.mqtt import MqttConfig, MqttTransport, events_topic, make_client
from tests.support import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        mosquitto_binary() is None, reason="mosquitto not installed (make test installs it)"
    ),
]

T0 = 1_800_000_000.0


class RecordingStore(Store):
    def __init__(self) -> None:
        super().__init__()
        self.applied_seqs: list[int] = []

    def apply(self, events):  # type: ignore[override]
        events = list(events)
        before = self.seq
        cs = super().apply(events)
        last = before
        for e in events:
            if e.seq > last:
                self.applied_seqs.append(e.seq)
                last = e.seq
        return cs


def envelope(seq: int) -> tuple[int, str, bytes]:
    """Numbered events of two kinds, so they travel on two topics."""
    if seq % 5 == 0:
        kind, data = p.KPI_UPDATE, p.Kpi(name=f"k{seq % 3}", value=float(seq))
    else:
        kind = p.UNIT_POSITION
        data = p.UnitPosition(id=f"U{seq % 40}", lon=113.6 + seq * 1e-6, lat=37.8, ts=T0 + seq)
    return seq, kind, p.encode_envelope(seq, kind, T0 + seq, data)


def config(broker: LocalMosquitto, client_id: str, **kw) -> MqttConfig:
    return MqttConfig(
        host="127.0.0.1",
        port=broker.port,
        county="t",
        client_id=client_id,
        backoff_initial=0.05,
        backoff_max=0.5,
        reorder_wait_s=0.3,
        **kw,
    )


async def _restart(broker: LocalMosquitto) -> None:
    await asyncio.get_running_loop().run_in_executor(None, broker.restart)


def test_broker_restart_loses_no_qos1_message_and_applies_each_once(tmp_path: Path) -> None:
    broker = LocalMosquitto(tmp_path / "broker").start()
    store, status = RecordingStore(), FeedStatus()

    async def scenario() -> None:
        # Phase 1 one message per event (two kinds on two topics: cross-topic reorder);
        # later phases batches of 7 on events/batch, so both paths cross the restarts.
        bridge = MqttBridge(config(broker, "bridge-1"), window=50, batch_events=1)
        bridge.epoch = "e1"
        await bridge.maybe_heartbeat(force=True)
        sub = MqttTransport(config(broker, "console-1"), store, status)
        sub.start()
        assert await wait_until(lambda: sub.connects >= 1 and store.epoch == "e1", 10)

        # 1) live: 1..300
        await bridge.publish_envelopes([envelope(s) for s in range(1, 301)])
        assert await wait_until(lambda: store.seq == 300, 10), store.seq
        bridge.batch_events = 7
        # 2) the console goes away; 301..600 queue in the broker under its session
        await sub.stop()
        await bridge.publish_envelopes([envelope(s) for s in range(301, 601)])
        # 3) the broker restarts (SIGTERM: it writes its persistence file) ...
        await _restart(broker)
        # 4) ... the publisher reconnects on its own and goes on: 601..900
        await bridge.publish_envelopes([envelope(s) for s in range(601, 901)])
        # 5) the console comes back with the same client id: the queued session resumes
        sub2 = MqttTransport(config(broker, "console-1"), store, status)
        sub2.start()
        # 6) and a restart while the console is connected: it reconnects and resubscribes
        assert await wait_until(lambda: store.seq == 900, 15), store.seq
        await _restart(broker)
        await bridge.publish_envelopes([envelope(s) for s in range(901, 1001)])
        assert await wait_until(lambda: store.seq == 1000, 15), store.seq
        assert sub2.connects >= 2
        await sub2.stop()
        await bridge.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        broker.stop()
    assert store.applied_seqs == list(range(1, 1001))  # all of them, each exactly once
    assert status.quarantined_total == 0
    assert store.kpis and store.units


def test_bad_payloads_are_quarantined_and_good_ones_still_apply(tmp_path: Path) -> None:
    broker = LocalMosquitto(tmp_path / "broker").start()
    store, status = RecordingStore(), FeedStatus()

    async def scenario() -> None:
        bridge = MqttBridge(config(broker, "bridge-2"), window=20)
        bridge.epoch = "e2"
        await bridge.maybe_heartbeat(force=True)
        sub = MqttTransport(config(broker, "console-2"), store, status)
        sub.start()
        assert await wait_until(lambda: store.epoch == "e2", 10)
        await bridge.publish_envelopes([envelope(s) for s in range(1, 11)])
        async with make_client(config(broker, "vandal"), persistent=False) as raw:
            topic = events_topic("t", p.UNIT_POSITION)
            await raw.publish(topic, b"{not json", qos=1)
            await raw.publish(
                topic, b'{"v":2,"seq":11,"kind":"unit.position","ts":1,"data":{}}', qos=1
            )
            await raw.publish(
                events_topic("t", "weather"),
                envelope(11)[2].replace(b"unit.position", b"weather"),
                qos=1,
            )
        await bridge.publish_envelopes([envelope(s) for s in range(12, 21)])
        # seq 11 never arrives as a valid event: held for the reorder window, then skipped
        assert await wait_until(lambda: store.seq == 20, 10), store.seq
        await sub.stop()
        await bridge.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        broker.stop()
    assert status.quarantined["malformed_json"] == 1
    assert status.quarantined["unsupported_version"] == 1
    assert status.unknown_kinds["weather"] == 1
    assert status.errors["gap"] == 1
    assert store.applied_seqs == [*range(1, 11), *range(12, 21)]


def test_username_password_required_and_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-passw0rd"
    broker = LocalMosquitto(tmp_path / "broker", users={"console": secret}).start()
    caplog.set_level(logging.DEBUG)
    good_store, bad_status = RecordingStore(), FeedStatus()

    async def scenario() -> None:
        bad = MqttTransport(
            config(broker, "c-bad", username="console", password="wrong"), Store(), bad_status
        )
        bad.start()
        assert await wait_until(lambda: bad_status.errors.total() >= 1, 10)
        await bad.stop()
        good_status = FeedStatus()
        good = MqttTransport(
            config(broker, "c-good", username="console", password=secret), good_store, good_status
        )
        good.start()
        # Published before the console subscribed, the events would never reach it.
        assert await wait_until(lambda: good_status.state is LinkState.LIVE, 10)
        bridge = MqttBridge(config(broker, "bridge-3", username="console", password=secret))
        bridge.epoch = "e3"
        await bridge.maybe_heartbeat(force=True)
        await bridge.publish_envelopes([envelope(s) for s in range(1, 6)])
        assert await wait_until(lambda: good_store.seq == 5, 10)
        await good.stop()
        await bridge.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        broker.stop()
    assert bad_status.errors["mqtt_auth"] >= 1, bad_status.errors
    assert secret not in caplog.text
    assert secret not in repr(config(broker, "x", password=secret))


def test_envelopes_are_grouped_into_batches_in_seq_order() -> None:
    items = [envelope(s) for s in range(1, 12)]
    msgs = group_envelopes("t", items, batch_events=5)
    assert [(topic.rsplit("/", 1)[-1], n, last) for topic, _, n, last in msgs] == [
        ("batch", 5, 5),
        ("batch", 5, 10),
        (items[10][1], 1, 11),  # a lone envelope keeps its kind's topic
    ]
    parsed = p.parse_message(msgs[0][1], p.SSE_BATCH)
    assert [e.seq for e in parsed.events] == [1, 2, 3, 4, 5] and not parsed.bad
    # The byte bound keeps every batch under the consoles' per-message limit.
    small = group_envelopes("t", items, batch_events=500, batch_bytes=3 * len(items[0][2]))
    assert all(len(payload) <= 3 * len(items[0][2]) + 2 for _, payload, n, _ in small if n > 1)
    assert sum(n for *_, n, _ in small) == len(items)


def test_backlog_drains_in_slices_that_let_the_loop_run(tmp_path: Path) -> None:
    """A console back after an outage gets its backlog at once; applying it must leave
    the loop (the Qt loop in the app) turns to paint in between, and still apply all."""
    broker = LocalMosquitto(tmp_path / "broker").start()
    store, status = RecordingStore(), FeedStatus()
    total = 20_000
    seen: list[int] = []

    async def scenario() -> None:
        bridge = MqttBridge(config(broker, "bridge-4"), window=20, batch_events=500)
        bridge.epoch = "e4"
        await bridge.maybe_heartbeat(force=True)
        cfg = config(broker, "console-4", max_batch=500, slice_s=0.0)
        sub = MqttTransport(cfg, store, status)
        sub.start()
        assert await wait_until(lambda: store.epoch == "e4", 10)
        await sub.stop()  # away: the whole backlog queues in the broker
        await bridge.publish_envelopes([envelope(s) for s in range(1, total + 1)])
        sub = MqttTransport(cfg, store, status)
        sub.start()

        async def ticker() -> None:
            while store.seq < total:
                seen.append(store.seq)
                await asyncio.sleep(0)

        await asyncio.wait_for(ticker(), 20)
        await sub.stop()
        await bridge.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        broker.stop()
    assert store.applied_seqs == list(range(1, total + 1))
    # The loop ran between slices: it saw the store part-way many times.
    assert len({s for s in seen if 0 < s < total}) >= 10
