"""Publish a feed's events to an MQTT broker in the layout of feeds.transports.mqtt.

Why a bridge: a county that already runs a broker cluster (EMQX, Mosquitto) wants every
console to read from the broker, not from one feed server; the bridge is the one client
of the feed server and the broker fans out. It takes either

- any feed protocol v1 server's stream (``follow_feed``: snapshot + SSE via FeedClient), or
- envelopes handed to ``publish_envelopes`` (tests, the bench, adapters),

and publishes them with QoS 1, plus a retained heartbeat (epoch, seq, clock) every
``heartbeat_s``. Delivery is at least once: a window of publishes that failed (broker
restart) is published again after reconnecting, and subscribers drop the duplicates by seq.

Why batches: every MQTT message costs both ends a packet decode, a PUBACK and a socket
wakeup (in the console, a Qt socket notifier on the GUI thread). One message per event
tops out near 2,000 events/s end to end on two cores (bench, 2026-11: nearly all of it in
paho's per-packet path, almost none in our decode/apply). So envelopes that are ready
together go out as one ``cc/v1/{county}/events/batch`` message (a JSON array in seq
order, at most ``batch_events`` envelopes and ``batch_bytes``); a lone envelope still goes
to ``events/{kind}``. ``window`` messages are in flight at once (paho's in-flight limit is
raised to match), not one awaited PUBACK per message.

    python -m feeds.serve.mqtt_bridge --feed http://127.0.0.1:8765 --broker 127.0.0.1:1883 --county pingding
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

import aiomqtt

from commandcenter.settings import read_token
from commandcenter.status import FeedStatus
from feeds import protocol
from feeds.client import ClientConfig, FeedClient, backoff_delay
from feeds.transports.mqtt import (
    BATCH_KIND,
    MqttConfig,
    classify,
    events_topic,
    heartbeat_topic,
    make_client,
    read_password,
)

log = logging.getLogger(__name__)

Envelope = tuple[int, str, bytes]  # (seq, kind, encoded envelope)
# (topic, payload, envelopes carried, last seq carried): one MQTT message to publish.
Outgoing = tuple[str, bytes, int, int]

DEFAULT_BATCH_EVENTS = 500
# Well under the consoles' per-message limit (protocol.MAX_EVENT_BYTES, 1 MiB), which would
# quarantine a whole batch unread.
DEFAULT_BATCH_BYTES = 256 * 1024


def group_envelopes(
    county: str,
    items: Sequence[Envelope],
    batch_events: int = DEFAULT_BATCH_EVENTS,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
) -> list[Outgoing]:
    """Consecutive envelopes -> MQTT messages: arrays on ``events/batch`` (seq order kept),
    a group of one on ``events/{kind}``. ``batch_events=1`` publishes one per event."""
    out: list[Outgoing] = []
    group: list[bytes] = []
    size = 0
    last_seq = 0
    first_kind = ""

    def close() -> None:
        if len(group) == 1:
            out.append((events_topic(county, first_kind), group[0], 1, last_seq))
        elif group:
            payload = b"[" + b",".join(group) + b"]"
            out.append((events_topic(county, BATCH_KIND), payload, len(group), last_seq))

    for seq, kind, payload in items:
        if group and (len(group) >= batch_events or size + len(payload) + 1 > batch_bytes):
            close()
            group, size = [], 0
        if not group:
            first_kind = kind
        group.append(payload)
        size += len(payload) + 1
        last_seq = seq
    close()
    return out


class MqttBridge:
    def __init__(
        self,
        config: MqttConfig,
        *,
        window: int = 32,
        batch_events: int = DEFAULT_BATCH_EVENTS,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        heartbeat_s: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.window = window  # MQTT messages in flight at once (each up to batch_events)
        self.batch_events = max(1, batch_events)
        self.batch_bytes = batch_bytes
        self.heartbeat_s = heartbeat_s
        self._rng = rng or random.Random()
        self._client: aiomqtt.Client | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self.published = 0  # envelopes acknowledged by the broker (PUBACK)
        self.retries = 0  # windows published again after a failure
        self.epoch = ""
        self.seq = 0
        self.now = 0.0
        self.rate = 1.0
        self._last_hb = 0.0
        self.status = FeedStatus()

    # ---- connection --------------------------------------------------------------------

    async def _connected(self) -> aiomqtt.Client:
        attempt = 0
        while self._client is None:
            stack = contextlib.AsyncExitStack()
            try:
                # A publisher needs no session of its own: unacked windows are republished.
                client = await stack.enter_async_context(
                    make_client(self.config, persistent=False, max_inflight=self.window)
                )
            except (aiomqtt.MqttError, OSError) as err:
                await stack.aclose()
                cause, detail = classify(err)
                self.status.error(cause, detail)
                delay = backoff_delay(attempt, 0.2, 5.0, self._rng)
                attempt += 1
                log.warning("bridge: broker unreachable (%s), retrying in %.1f s", cause, delay)
                await asyncio.sleep(delay)
                continue
            self._client, self._stack = client, stack
        return self._client

    async def _drop(self) -> None:
        stack, self._client, self._stack = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):
                await stack.aclose()

    async def close(self) -> None:
        await self._drop()

    # ---- publishing --------------------------------------------------------------------

    async def publish_envelopes(self, items: Sequence[Envelope]) -> None:
        """Publish in windows of ``window`` concurrent QoS 1 messages (batches of envelopes,
        see ``group_envelopes``); a window that fails is published again, whole, after
        reconnecting (at least once)."""
        messages = group_envelopes(self.config.county, items, self.batch_events, self.batch_bytes)
        for start in range(0, len(messages), self.window):
            chunk = messages[start : start + self.window]
            while True:
                client = await self._connected()
                try:
                    await asyncio.gather(
                        *(client.publish(topic, payload, qos=1) for topic, payload, _, _ in chunk)
                    )
                    break
                except (aiomqtt.MqttError, OSError) as err:
                    self.retries += 1
                    self.status.error(*classify(err))
                    log.warning(
                        "bridge: publish failed (%s); republishing %d messages", err, len(chunk)
                    )
                    await self._drop()
            self.published += sum(m[2] for m in chunk)
            self.seq = max(self.seq, chunk[-1][3])
            await self.maybe_heartbeat()

    async def publish_events(self, events: Iterable[protocol.Event]) -> None:
        """Decoded events (from any protocol stream) -> envelopes -> broker."""
        items = [
            (e.seq, e.kind, protocol.encode_envelope(e.seq, e.kind, e.ts, e.data)) for e in events
        ]
        await self.publish_envelopes(items)

    async def maybe_heartbeat(self, force: bool = False) -> None:
        if not self.epoch:
            return
        mono = time.monotonic()
        if not force and mono - self._last_hb < self.heartbeat_s:
            return
        self._last_hb = mono
        hb = protocol.Heartbeat(
            now=self.now or time.time(), seq=self.seq, epoch=self.epoch, rate=self.rate
        )
        while True:
            client = await self._connected()
            try:
                await client.publish(
                    heartbeat_topic(self.config.county), protocol.encode(hb), qos=1, retain=True
                )
                return
            except (aiomqtt.MqttError, OSError) as err:
                self.status.error(*classify(err))
                await self._drop()

    async def heartbeats(self) -> None:
        """Run beside the publishing: a quiet feed must still look alive to consoles."""
        while True:
            await asyncio.sleep(self.heartbeat_s / 2)
            await self.maybe_heartbeat()

    # ---- following a feed server -------------------------------------------------------

    async def follow_feed(self, client_config: ClientConfig) -> None:
        """Bridge a feed protocol v1 server (snapshot + SSE) to the broker until cancelled."""
        sink = _ForwardingSink(self)
        feed = FeedClient(client_config, sink, self.status)
        pump = asyncio.ensure_future(sink.pump())
        beats = asyncio.ensure_future(self.heartbeats())
        try:
            await feed.run()
        finally:
            for t in (pump, beats):
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t


class _ForwardingSink:
    """A FeedSink that queues what the feed client applies, for the bridge to publish."""

    def __init__(self, bridge: MqttBridge) -> None:
        self.bridge = bridge
        self.epoch = ""
        self.seq = 0
        self._queue: asyncio.Queue[list[protocol.Event]] = asyncio.Queue()

    def reset(self, snapshot: protocol.Snapshot) -> None:
        # Consoles on MQTT take the current state from the feed server's snapshot
        # (feeds.transports.mqtt.http_snapshot); the broker carries the changes.
        self.epoch, self.seq = snapshot.epoch, snapshot.seq
        self.bridge.epoch, self.bridge.seq = snapshot.epoch, snapshot.seq
        self.bridge.now, self.bridge.rate = snapshot.now, snapshot.rate

    def apply(self, events: Sequence[protocol.Event]) -> None:
        fresh = [e for e in events if e.seq > self.seq]
        if fresh:
            self.seq = fresh[-1].seq
            self._queue.put_nowait(fresh)

    def set_clock(self, server_now: float, rate: float = 1.0) -> None:
        self.bridge.now, self.bridge.rate = server_now, rate

    def set_geography(self, geography: dict[str, Any]) -> None:
        pass

    async def pump(self) -> None:
        while True:
            batch = await self._queue.get()
            while not self._queue.empty() and len(batch) < 5000:
                batch.extend(self._queue.get_nowait())
            await self.bridge.publish_events(batch)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m feeds.serve.mqtt_bridge", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--feed", required=True, help="feed server base URL")
    ap.add_argument("--token-file", default=None, help="feed token file (or CC_FEED_TOKEN)")
    ap.add_argument("--broker", default="127.0.0.1:1883", help="host:port")
    ap.add_argument("--county", default="demo")
    ap.add_argument("--username", default=None)
    ap.add_argument("--password-file", default=None, help="or CC_MQTT_PASSWORD")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--ca-file", default=None)
    ap.add_argument("--log-level", default="info")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    host, _, port = args.broker.rpartition(":")
    token = read_token(args.token_file)
    if not token:
        print("error: no feed token (CC_FEED_TOKEN or --token-file)", file=sys.stderr)
        return 2
    config = MqttConfig(
        host=host or "127.0.0.1",
        port=int(port or 1883),
        county=args.county,
        client_id=f"cc-bridge-{args.county}",
        username=args.username,
        password=read_password(args.password_file),
        tls=args.tls,
        ca_file=args.ca_file,
    )
    bridge = MqttBridge(config)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(bridge.follow_feed(ClientConfig(base_url=args.feed, token=token)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
