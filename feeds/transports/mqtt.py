"""Feed protocol v1 over MQTT 5 (aiomqtt): for counties whose events flow through a broker.

Topic layout (docs/feed-protocol.md, section 9):

    cc/v1/{county}/events/{kind}   one envelope (JSON, exactly as in the SSE stream), QoS 1
    cc/v1/{county}/events/batch    a JSON array of envelopes in seq order, QoS 1
    cc/v1/{county}/heartbeat       a Heartbeat (epoch, last seq, clock), QoS 1, retained

Why these choices:

- **QoS 1 + persistent session** (``clean_start=False``, a session expiry, a stable client
  id): the broker queues what arrives while the console is away or reconnecting, and
  keeps it across its own restart when it persists to disk. QoS 1 may deliver twice;
  the envelope's ``seq`` makes that harmless (dedupe here and in the store).
- **Resubscribe on every connect**, even when the broker says the session is present:
  a broker that lost its state (no persistence, failover to a node without the session)
  would otherwise leave us connected and deaf.
- **Reorder window**: MQTT orders messages per topic, not across topics; kinds live on
  different topics, so an event may overtake an earlier one. Events are held (at most
  ``reorder_wait_s``) until their predecessors arrive; a hole that never fills is counted
  (``errors["gap"]``) and skipped, never waited on forever.
- **Batches when behind**: everything already queued is applied ``max_batch`` events per
  ``sink.apply``, so a backlog after a reconnect costs one change set per batch, not one
  per message; between applies that ran longer than ``slice_s`` the loop gets the thread
  back, so the Qt loop (which runs us) keeps painting while a backlog drains.
- Credentials: username/password from the config, ``CC_MQTT_PASSWORD`` or an owner-only
  file; never logged (``MqttConfig.__repr__`` hides it). TLS is always verified (the
  system's trust store, or the CA file named).

It feeds the same ``FeedSink`` and ``FeedStatus`` as ``feeds.client.FeedClient``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import ssl
import stat
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import msgspec
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from commandcenter.status import FeedStatus, LinkState
from feeds import protocol
from feeds.client import FeedLink, FeedSink, back_off
from feeds.net import is_loopback

log = logging.getLogger(__name__)

TOPIC_ROOT = "cc/v1"
BATCH_KIND = "batch"
PASSWORD_ENV = "CC_MQTT_PASSWORD"


def events_topic(county: str, kind: str) -> str:
    return f"{TOPIC_ROOT}/{county}/events/{kind}"


def heartbeat_topic(county: str) -> str:
    return f"{TOPIC_ROOT}/{county}/heartbeat"


def read_password(password_file: str | Path | None = None) -> str | None:
    """The broker password from ``CC_MQTT_PASSWORD`` or an owner-only file (mode 600)."""
    if env := os.environ.get(PASSWORD_ENV):
        return env.strip()
    if not password_file:
        return None
    path = Path(password_file)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PermissionError(
            f"password file {path} is readable by others ({stat.filemode(mode)}); run: chmod 600 {path}"
        )
    return path.read_text(encoding="utf-8").strip() or None


@dataclass(slots=True)
class MqttConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    county: str = "demo"
    client_id: str = ""  # stable per console: the broker keeps its session under it
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None  # None: the system's trust store; TLS is always verified
    session_expiry_s: int = 7 * 86_400  # how long the broker queues for us while away
    keepalive_s: int = 15
    connect_timeout: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    stale_after: float = 6.0  # no message or heartbeat for this long: show "stale"
    max_batch: int = 2000  # events per store apply (and messages per drain) when behind
    slice_s: float = 0.008  # give the loop back after applying for this long (Qt paints)
    reorder_wait_s: float = 0.5
    max_event_bytes: int = protocol.MAX_EVENT_BYTES

    def __post_init__(self) -> None:
        if not self.client_id:
            self.client_id = f"cc-console-{socket.gethostname()}"[:64]

    def __repr__(self) -> str:  # the password must never reach a log line
        return (
            f"MqttConfig(host={self.host!r}, port={self.port}, county={self.county!r}, "
            f"client_id={self.client_id!r}, username={self.username!r}, password=<hidden>, "
            f"tls={self.tls}, ca_file={self.ca_file!r})"
        )

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=self.ca_file)


def make_client(
    config: MqttConfig,
    *,
    client_id: str | None = None,
    persistent: bool = True,
    max_inflight: int | None = None,
) -> aiomqtt.Client:
    """An aiomqtt client for MQTT 5 with our session settings (shared by the bridge).

    ``max_inflight``: QoS 1 publishes paho keeps unacknowledged on the wire at once
    (paho's default is 20). A publisher raises it to its window so that the window really
    is in flight together instead of trickling out 20 at a time behind PUBACKs.
    """
    props = Properties(PacketTypes.CONNECT)
    if persistent:
        props.SessionExpiryInterval = int(config.session_expiry_s)
    if config.password and not config.tls and not is_loopback(config.host):
        log.warning("MQTT broker %s without TLS: the password travels in clear text", config.host)
    return aiomqtt.Client(
        config.host,
        config.port,
        identifier=client_id or config.client_id,
        username=config.username,
        password=config.password,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=not persistent,
        properties=props,
        keepalive=config.keepalive_s,
        timeout=config.connect_timeout,
        tls_context=config.tls_context(),
        max_inflight_messages=max_inflight,
    )


def classify(err: BaseException) -> tuple[str, str]:
    """A connection failure -> (cause, detail) for FeedStatus.errors."""
    text = str(err) or type(err).__name__
    low = text.lower()
    if isinstance(err, ssl.SSLError) or "certificate" in low or "ssl" in low:
        return "tls", text
    if "not authori" in low or "bad user name or password" in low or "code:135" in low:
        return "mqtt_auth", text
    if isinstance(err, TimeoutError) or "timed out" in low:
        return "timeout", text
    if "refused" in low or "connect" in low:
        return "connect", text
    if "disconnected" in low:
        return "dropped", text
    return "mqtt", text


class MqttTransport(FeedLink):
    """Subscribe to a county's topics and keep ``sink`` in step, forever, never raising."""

    def __init__(
        self,
        config: MqttConfig,
        sink: FeedSink,
        status: FeedStatus | None = None,
        *,
        snapshot: Callable[[], Awaitable[protocol.Snapshot]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(config, sink, status, rng)
        self._snapshot = snapshot
        self._held: dict[int, protocol.Event] = {}
        self._held_since = 0.0
        self._placeholder_epoch = f"mqtt:{config.county}"
        self.connects = 0
        self._events_topic = events_topic(config.county, "#")
        self._hb_topic = heartbeat_topic(config.county)
        self._need_snapshot = snapshot is not None and not sink.epoch

    # ---- lifecycle ---------------------------------------------------------------------

    async def run(self) -> None:
        attempt = 0
        watchdog = asyncio.ensure_future(self._watch_staleness())
        try:
            while not self._stop.is_set():
                try:
                    async with make_client(self.config) as client:
                        await self._on_connected(client)
                        attempt = 0
                        await self._consume(client)
                except aiomqtt.MqttError as err:
                    self._failed(*classify(err))
                except (OSError, ssl.SSLError, TimeoutError) as err:
                    self._failed(*classify(err))
                except Exception as err:  # anything else: counted, shown, reconnected
                    self._crashed(err)
                if self._stop.is_set():
                    break
                await back_off(self.status, self._stop, attempt, self.config, self._rng)
                attempt += 1
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog

    async def _on_connected(self, client: aiomqtt.Client) -> None:
        self.connects += 1
        opts = SubscribeOptions(qos=1)
        # Always resubscribe: a broker that lost our session would otherwise leave us deaf.
        await client.subscribe([(self._hb_topic, opts), (self._events_topic, opts)])
        if self._need_snapshot and self._snapshot is not None:
            # Subscribed first, snapshot second: whatever happens in between is queued by
            # the broker and deduped by seq, so nothing falls between the two.
            snap = await self._snapshot()
            self._note_rejected(self.sink.reset(snap))
            self._held.clear()
            self._need_snapshot = False
        self.status.last_data_at = time.time()
        self.status.set_state(LinkState.LIVE)
        log.info(
            "MQTT connected to %s:%d as %s",
            self.config.host,
            self.config.port,
            self.config.client_id,
        )

    def _failed(self, cause: str, detail: str) -> None:
        self.status.error(cause, detail)
        log.warning("MQTT feed %s: %s", cause, detail)
        self.status.set_state(LinkState.RECONNECTING)

    def _need_resync(self) -> None:
        if self._snapshot is not None:
            self._need_snapshot = True

    async def _consume(self, client: aiomqtt.Client) -> None:
        messages = client.messages
        # aiomqtt's incoming queue, drained directly when it already holds messages:
        # ``anext(messages)`` costs a task and an ``asyncio.wait`` per message, which at
        # thousands of messages a second is most of the GUI thread's time. Fallback when
        # a future aiomqtt renames it: the public iterator.
        queue = getattr(client, "_queue", None)
        drain = queue.get_nowait if isinstance(queue, asyncio.Queue) else None
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            timeout = None
            if self._held:
                timeout = max(0.0, self._held_since + self.config.reorder_wait_s - loop.time())
            try:
                first = await asyncio.wait_for(anext(messages), timeout)
            except TimeoutError:
                self._deliver([], force=True)
                continue
            batch = [first]
            # Behind? Take what is already queued (up to max_batch messages) in one go.
            while len(messages) and len(batch) < self.config.max_batch:
                batch.append(drain() if drain is not None else await anext(messages))
            await self._handle(batch)

    # ---- messages ----------------------------------------------------------------------

    async def _handle(self, batch: list[aiomqtt.Message]) -> None:
        """Decode and apply ``batch`` in slices that give the loop back.

        Why slices: one ``events/batch`` message may carry hundreds of events, so a drained
        backlog can hold a million; applying it in one go would freeze the GUI thread
        (the Qt loop runs our callbacks) for seconds. Events are applied ``max_batch`` at a
        time, and after each apply that ran past ``slice_s`` since the loop last had the
        thread, we ``await asyncio.sleep(0)``: Qt paints and serves its timers in between.
        Nothing is dropped or reordered by yielding; what is not applied yet just waits.
        """
        self.status.last_data_at = time.time()
        if self.status.state is not LinkState.LIVE:
            self.status.set_state(LinkState.LIVE)
        events: list[protocol.Event] = []
        noisy = False
        chunk = self.config.max_batch
        started = time.perf_counter()
        for msg in batch:
            topic = msg.topic.value
            payload = msg.payload
            raw = payload if isinstance(payload, bytes | bytearray) else str(payload).encode()
            if topic == self._hb_topic:
                self._heartbeat(bytes(raw))
                continue
            kind = topic.rsplit("/", 1)[-1]
            parsed = protocol.parse_message(
                bytes(raw),
                protocol.SSE_BATCH if kind == BATCH_KIND else "",
                self.config.max_event_bytes,
            )
            for bad in parsed.bad:
                self.status.quarantine(bad.reason, bad.detail)
                log.warning(
                    "quarantined MQTT message on %s (%s): %s", topic, bad.reason, bad.detail
                )
                noisy = True
            for unknown in parsed.unknown_kinds:
                self.status.unknown_kinds[unknown] += 1
                noisy = True
            events.extend(parsed.events)
            if len(events) >= chunk:
                self._deliver(events)
                events = []
                if time.perf_counter() - started >= self.config.slice_s:
                    await asyncio.sleep(0)
                    started = time.perf_counter()
        self._deliver(events)
        if noisy:
            self.status.notify()
        if time.perf_counter() - started >= self.config.slice_s:
            await asyncio.sleep(0)

    def _heartbeat(self, raw: bytes) -> None:
        try:
            hb = protocol.decode_heartbeat(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as err:
            self.status.quarantine("bad_heartbeat", str(err))
            return
        if self.sink.epoch in ("", self._placeholder_epoch):
            if not self.sink.epoch:
                self._reset_empty(hb.epoch, 0)
            else:
                self.sink.epoch = hb.epoch  # we only lacked its name
        elif hb.epoch != self.sink.epoch:
            # Another history (the publisher's server was reset): its seqs restart.
            self.status.resyncs += 1
            log.info("MQTT feed changed history (%s): starting again", hb.epoch)
            self._held.clear()
            self._need_snapshot = self._snapshot is not None
            self._reset_empty(hb.epoch, 0)
        self.sink.set_clock(hb.now, hb.rate)

    def _reset_empty(self, epoch: str, seq: int) -> None:
        self.sink.reset(
            protocol.Snapshot(
                v=protocol.PROTOCOL_VERSION, epoch=epoch, seq=seq, now=time.time(), rate=1.0
            )
        )

    def _deliver(self, events: list[protocol.Event], *, force: bool = False) -> None:
        """Apply what is contiguous after the sink's seq; hold the rest for a while."""
        st = self.status
        if events:
            st.received += len(events)
            if not self.sink.epoch:
                # Events before any heartbeat: start from the first one we see.
                first = min(e.seq for e in events)
                self._reset_empty(self._placeholder_epoch, first - 1)
        held = self._held
        base = self.sink.seq
        for ev in events:
            if ev.seq <= base or ev.seq in held:
                st.duplicates += 1
            else:
                held[ev.seq] = ev
        if not held:
            return
        fresh: list[protocol.Event] = []
        expected = base + 1
        while True:
            ev = held.pop(expected, None)
            if ev is None:
                if not force or not held:
                    break
                nxt = min(held)
                st.error("gap", f"seq {expected}..{nxt - 1} never arrived")
                log.warning("MQTT feed: seq %d..%d never arrived; skipping", expected, nxt - 1)
                expected = nxt
                force = False  # one hole at a time; the rest wait their turn again
                continue
            fresh.append(ev)
            expected += 1
        if held:
            if fresh or not self._held_since:  # the oldest hole is new: its wait starts now
                self._held_since = asyncio.get_running_loop().time()
        else:
            self._held_since = 0.0
        if fresh:
            changes = self.sink.apply(fresh)
            st.applied += len(fresh) - len(getattr(changes, "rejected", None) or ())
            self._note_rejected(changes)


def http_snapshot(
    base_url: str, token: str, ca_file: str | None = None
) -> Callable[[], Awaitable[protocol.Snapshot]]:
    """A snapshot source for ``MqttTransport``: ``GET /v1/snapshot`` of a feed server, for
    deployments where the broker carries the stream and a feed server the current state."""
    import httpx  # only needed by deployments that use it

    async def fetch() -> protocol.Snapshot:
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_file) if ca_file else True
        )
        async with httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            verify=verify,
            timeout=10,
        ) as http:
            response = await http.get("/v1/snapshot")
            response.raise_for_status()
            return protocol.decode_snapshot(response.content)

    return fetch
