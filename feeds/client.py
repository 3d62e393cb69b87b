"""Subscribe to a feed server: snapshot, then the stream; survive everything else.

The client never gives up and never crashes the app: every failure becomes a counted
cause in FeedStatus and a back-off before the next try. The order of work is

    snapshot (when we hold nothing, or the server says we cannot resume)
    -> stream from the last event id we saw (Last-Event-ID)
    -> on a drop: back off with jitter, resume from that id
    -> on ``resync``: take a new snapshot

It is written against asyncio only, so it runs on the Qt thread's qasync loop in the app
and on a plain loop in tests and benchmarks. What it learns goes into a ``FeedSink``
(the core's Store satisfies it) and a ``commandcenter.status.FeedStatus``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import msgspec

from commandcenter.status import FeedStatus, LinkState
from feeds import protocol
from feeds.net import tls_verify, url_is_loopback
from feeds.sse import SseMessage, read_sse

log = logging.getLogger(__name__)


class FeedSink(Protocol):
    epoch: str
    seq: int

    def reset(self, snapshot: protocol.Snapshot) -> Any: ...

    def apply(self, events: Sequence[protocol.Event]) -> Any: ...

    def set_clock(self, server_now: float, rate: float = 1.0) -> None: ...

    def set_geography(self, geography: dict[str, Any]) -> None: ...


@dataclass(slots=True)
class ClientConfig:
    base_url: str
    token: str
    ca_file: str | None = None  # None: the system's trust store; TLS is always verified
    connect_timeout: float = 5.0
    stale_after: float = 6.0  # no event or heartbeat for this long: show "stale"
    dead_after: float = 15.0  # ... and for this long: drop the connection and reconnect
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    max_event_bytes: int = protocol.MAX_EVENT_BYTES
    max_snapshot_bytes: int = 1 << 30  # 1 GiB: ~2M cases; larger is refused while reading
    # The feed's past fetched into the journal at start (GET /v1/history): how far back is
    # the sink's to say (``history_since``); these bound what one start may take.
    max_history_page_bytes: int = 64 << 20  # one page (its base snapshot included)
    max_history_events: int = 500_000  # all pages together; the rest is left out, counted
    slice_s: float = 0.008  # give the loop back after handling messages for this long

    def __repr__(self) -> str:  # the token must never reach a log line
        return f"ClientConfig(base_url={self.base_url!r}, token=<hidden>, ca_file={self.ca_file!r})"


class _Resync(Exception):
    """The server cannot resume our position: a new snapshot is needed."""


class _FeedError(Exception):
    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(f"{cause}: {detail}")
        self.cause = cause
        self.detail = detail


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Exponential back-off with 'equal jitter': half fixed, half random, so a hall of
    consoles that lost the server together does not come back in one thundering herd."""
    ceiling = min(maximum, initial * (2**attempt))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


async def back_off(
    status: FeedStatus, stop: asyncio.Event, attempt: int, config: Any, rng: random.Random
) -> None:
    """Before the next connection attempt: say in the status when it will be (the badge
    shows it), then wait for it, or for a stop. ``config`` has backoff_initial/_max."""
    delay = backoff_delay(attempt, config.backoff_initial, config.backoff_max, rng)
    status.next_retry_at = time.time() + delay
    status.reconnects += 1
    status.notify()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)


class FeedLink:
    """What every feed connection shares, whatever the transport (SSE here, MQTT in
    feeds.transports.mqtt): the sink it keeps in step, the status it reports, a task that
    runs until stopped, and the watchdog that calls a silent link stale."""

    def __init__(
        self, config: Any, sink: FeedSink, status: FeedStatus | None, rng: random.Random | None
    ) -> None:
        self.config = config
        self.sink = sink
        self.status = status or FeedStatus()
        self._rng = rng or random.Random()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        raise NotImplementedError

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.ensure_future(self._supervised())
        return self._task

    async def _supervised(self) -> None:
        """Run the link until stopped, whatever it raises. ``run`` handles the failures it
        knows; anything else (a bug, a value nobody foresaw) would otherwise end the task
        silently while the badge still says live. Here it becomes a counted cause, one log
        line with the traceback, the badge turns to reconnecting, and the link starts again
        after the usual back-off, from a fresh snapshot."""
        attempt = 0
        while not self._stop.is_set():
            try:
                await self.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._crashed(err)
            if self._stop.is_set():
                break
            await back_off(self.status, self._stop, attempt, self.config, self._rng)
            attempt += 1

    def _crashed(self, err: BaseException) -> None:
        """An exception nothing expected: count it by type, log the traceback the first time
        a type is seen (then one line), show it, and resync from a snapshot, because a batch
        that broke half-way may have left the sink behind the feed."""
        cause = f"internal_{type(err).__name__}"
        first = self.status.errors[cause] == 0
        self.status.error(cause, f"{type(err).__name__}: {err}")
        if first:
            log.error("feed link failed unexpectedly (%s); reconnecting", cause, exc_info=err)
        else:
            log.warning("feed link failed unexpectedly again (%s): %s", cause, err)
        self._need_resync()
        self.status.set_state(LinkState.RECONNECTING)

    def _need_resync(self) -> None:
        """Transports that can re-snapshot set their flag here."""

    def _note_rejected(self, changes: Any) -> None:
        """Events the sink refused to hold (values its columns cannot take) are quarantined
        like malformed ones: counted, kept for the operator to look at, never applied."""
        rejected = getattr(changes, "rejected", None)
        if not rejected:
            return
        for seq, reason in rejected:
            self.status.quarantine("rejected_by_store", f"seq {seq}: {reason}")
            log.warning("event seq %s refused by the store: %s", seq, reason)
        self.status.notify()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self.status.set_state(LinkState.STOPPED)

    async def _watch_staleness(self) -> None:
        """A silent link is not a live one: flag it long before the read times out."""
        while True:
            await asyncio.sleep(0.5)
            age = self.status.data_age()
            if (
                self.status.state is LinkState.LIVE
                and age is not None
                and age > self.config.stale_after
            ):
                self.status.set_state(LinkState.STALE)


class FeedClient(FeedLink):
    def __init__(
        self,
        config: ClientConfig,
        sink: FeedSink,
        status: FeedStatus | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(config, sink, status, rng)
        self._need_snapshot = not sink.epoch
        self._last_id: tuple[str, int] | None = (sink.epoch, sink.seq) if sink.epoch else None
        self._geography_epoch = ""
        self._bad_since_good = False  # a quarantined event explains the next seq gap
        self._history_task: asyncio.Future[None] | None = None
        if config.base_url.startswith("http://") and not url_is_loopback(config.base_url):
            log.warning("feed %s is plain HTTP: the token travels unencrypted", config.base_url)

    # ---- lifecycle ---------------------------------------------------------------------

    @property
    def last_event_id(self) -> tuple[str, int] | None:
        return self._last_id

    async def run(self) -> None:
        """Until stopped: connect, follow, back off, repeat."""
        watchdog = asyncio.ensure_future(self._watch_staleness())
        try:
            async with httpx.AsyncClient(
                base_url=self.config.base_url,
                headers={"Authorization": f"Bearer {self.config.token}"},
                verify=tls_verify(self.config.base_url, self.config.ca_file),
                timeout=httpx.Timeout(self.config.connect_timeout, read=self.config.dead_after),
            ) as http:
                try:
                    await self._connect_loop(http)
                finally:
                    await self._end_history()
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog

    async def _end_history(self) -> None:
        """A history still coming when the link ends is cut short (its writer lets the
        held live rows go); it never outlives the HTTP client it reads from."""
        task, self._history_task = self._history_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _connect_loop(self, http: httpx.AsyncClient) -> None:
        """Snapshot when needed, follow the stream, back off after a failure; until stopped."""
        attempt = 0
        while not self._stop.is_set():
            try:
                if self._need_snapshot:
                    await self._take_snapshot(http)
                    attempt = 0
                got_data = await self._follow(http)
                if got_data:
                    attempt = 0
                # A clean end of stream (server shutting down) is a drop like any other.
                raise _FeedError("stream_ended", "the server closed the stream")
            except _Resync as why:
                self.status.resyncs += 1
                log.info("server cannot resume (%s): taking a new snapshot", why)
                self._need_snapshot = True
                continue
            except _FeedError as err:
                self._failed(err.cause, err.detail)
            except (httpx.HTTPError, OSError, ssl.SSLError) as err:
                self._failed(*self._classify(err))
            except Exception as err:  # anything else: counted, shown, reconnected
                self._crashed(err)
            if self._stop.is_set():
                break
            await back_off(self.status, self._stop, attempt, self.config, self._rng)
            attempt += 1

    def _failed(self, cause: str, detail: str) -> None:
        self.status.error(cause, detail)
        log.warning("feed %s: %s", cause, detail)
        self.status.set_state(LinkState.RECONNECTING)

    def _need_resync(self) -> None:
        self._need_snapshot = True

    @staticmethod
    def _classify(err: BaseException) -> tuple[str, str]:
        text = str(err) or type(err).__name__
        if "CERTIFICATE_VERIFY_FAILED" in text or isinstance(err, ssl.SSLError):
            return "tls", text
        if isinstance(err, httpx.TimeoutException):
            return "timeout", text
        if isinstance(err, httpx.ConnectError):
            return "connect", text
        if isinstance(err, httpx.RemoteProtocolError):
            return "dropped", text
        return type(err).__name__.lower(), text

    @staticmethod
    def _check_response(response: httpx.Response, what: str) -> None:
        if 300 <= response.status_code < 400:
            # Never followed: the token would go wherever the redirect points.
            where = response.headers.get("location", "?")
            raise _FeedError("redirect_refused", f"{what}: HTTP {response.status_code} to {where}")
        if response.status_code in (401, 403):
            raise _FeedError(f"http_{response.status_code}", f"{what}: the feed refused the token")
        if response.status_code >= 400:
            raise _FeedError(f"http_{response.status_code}", f"{what}: HTTP {response.status_code}")

    # ---- snapshot ----------------------------------------------------------------------

    async def _take_snapshot(self, http: httpx.AsyncClient) -> None:
        if self.status.state is not LinkState.CONNECTING:
            self.status.set_state(LinkState.CONNECTING)
        limit = self.config.max_snapshot_bytes
        async with http.stream("GET", "/v1/snapshot") as response:
            self._check_response(response, "snapshot")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:  # checked while reading, not after holding it all
                    raise _FeedError("snapshot_oversized", f"more than {limit} bytes")
        try:
            snap = protocol.decode_snapshot(bytes(body))
        except (msgspec.DecodeError, msgspec.ValidationError) as err:
            kind = response.headers.get("content-type", "?")
            raise _FeedError("snapshot_invalid", f"{kind}: {err}") from err
        if snap.v != protocol.PROTOCOL_VERSION:
            raise _FeedError("unsupported_version", f"snapshot v={snap.v}")
        if snap.epoch != self._geography_epoch:
            await self._load_geography(http, snap.epoch)
        for cam in snap.cameras:
            protocol.resolve_stream_urls(cam, self.config.base_url)
        history = self._history_wanted(snap)  # asked before the reset: it holds the journal
        try:
            self._note_rejected(self.sink.reset(snap))
        except BaseException:
            if history is not None:
                history[1].finish()  # the held journal rows must not wait for a history
            raise
        self._bad_since_good = False
        self._last_id = (snap.epoch, snap.seq)
        self._need_snapshot = False
        self.status.last_data_at = time.time()
        log.info("snapshot: epoch %s seq %d, %d cases", snap.epoch, snap.seq, len(snap.cases))
        if history is not None:  # the past comes meanwhile; the live start does not wait
            self._history_task = asyncio.ensure_future(self._take_history(http, snap, *history))

    async def _load_geography(self, http: httpx.AsyncClient, epoch: str) -> None:
        """Area and department names, once per server history. Without them the hall
        still works, showing codes, so a failure here is counted, not fatal."""
        try:
            response = await http.get("/v1/geography")
            self._check_response(response, "geography")
            geography = msgspec.json.decode(response.content)
            if not isinstance(geography, dict):
                raise _FeedError("geography_invalid", "not a JSON object")
        except (_FeedError, msgspec.DecodeError) as err:
            cause = err.cause if isinstance(err, _FeedError) else "geography_invalid"
            self.status.error(cause, str(err))
            log.warning("no geography from the feed (%s): showing area codes", err)
            return
        self.sink.set_geography(geography)
        self._geography_epoch = epoch

    # ---- history -----------------------------------------------------------------------

    def _history_wanted(self, snap: protocol.Snapshot) -> tuple[float, Any] | None:
        """(since, writer) when the sink wants the feed's past before ``snap`` (a fresh
        console, or a gap in its journal); the writer holds the journal's live rows from
        now on, so it is asked for before the snapshot is applied."""
        if self._history_task is not None and not self._history_task.done():
            return None
        ask = getattr(self.sink, "history_since", None)
        since = ask(snap.now) if ask is not None else None
        if since is None:
            return None
        return float(since), self.sink.history_writer()  # type: ignore[attr-defined]

    async def _take_history(
        self, http: httpx.AsyncClient, snap: protocol.Snapshot, since: float, writer: Any
    ) -> None:
        """Fetch the feed's past up to ``snap`` and hand it to the sink's history writer,
        which journals it in front of the live rows; it never reaches the live store (the
        snapshot did, and the stream goes on meanwhile).

        Whatever goes wrong is counted in ``FeedStatus.errors`` under ``history_*`` and
        logged; the live link never waits on, nor breaks for, its history. What was
        written before a failure stays (it is a true past up to where it stops)."""
        t0 = time.perf_counter()
        try:
            written = await self._fetch_history(http, snap, since, writer)
        except _FeedError as err:
            self.status.error(err.cause, err.detail)
            log.warning("no history from the feed (%s): %s", err.cause, err.detail)
        except (httpx.HTTPError, OSError, ssl.SSLError) as err:
            cause, detail = self._classify(err)
            self.status.error(f"history_{cause}", detail)
            log.warning("no history from the feed (%s): %s", cause, detail)
        except Exception as err:  # a bug must not end the task unseen
            self.status.error(f"history_internal_{type(err).__name__}", str(err))
            log.error("history failed unexpectedly", exc_info=err)
        else:
            log.info(
                "history: %d events since %.0f journaled in %.2f s",
                written,
                since,
                time.perf_counter() - t0,
            )
        finally:
            writer.finish()
            for seq, reason in writer.rejected:
                self.status.quarantine("history_rejected_by_store", f"seq {seq}: {reason}")
            self.status.notify()

    async def _fetch_history(
        self, http: httpx.AsyncClient, snap: protocol.Snapshot, since: float, writer: Any
    ) -> int:
        """Page through ``GET /v1/history`` from ``since`` up to the snapshot's seq."""
        base_params = {"until_seq": str(snap.seq)}
        got = await self._history_get(http, {**base_params, "since": repr(since)})
        if isinstance(got, protocol.HistoryRefusal):
            avail = got.available
            if got.error != "outside_history_window" or avail is None:
                raise _FeedError(f"history_{got.error}", got.reason or "refused")
            if avail.since >= snap.now:  # a server that has no past yet: nothing to fetch
                log.info("history: the feed holds no past before %.0f", avail.since)
                return 0
            # Asked further back than the server keeps: take what it has (not an error).
            log.info("history: the feed keeps %.0f s of the %.0f asked", snap.now - avail.since,
                     snap.now - since)  # fmt: skip
            got = await self._history_get(http, {**base_params, "since": repr(avail.since)})
            if isinstance(got, protocol.HistoryRefusal):
                raise _FeedError(f"history_{got.error}", got.reason or "refused")
        page = got
        if page.base is None or page.epoch != snap.epoch or page.base.seq > snap.seq:
            raise _FeedError(
                "history_invalid",
                f"first page: base {'missing' if page.base is None else page.base.seq}, "
                f"epoch {page.epoch!r} (snapshot {snap.epoch!r} seq {snap.seq})",
            )
        for cam in page.base.cameras:
            protocol.resolve_stream_urls(cam, self.config.base_url)
        if not writer.begin(page.base):
            raise _FeedError(f"history_{writer.reason}", "the journal took no history")
        written = 0
        limit = self.config.max_history_events
        while True:
            events = await self._history_events(page)
            if not await self._write_history(writer, events):
                raise _FeedError(f"history_{writer.reason}", f"stopped after {written} events")
            written += len(events)
            if page.complete or page.last_seq >= snap.seq:
                return written
            if written >= limit:
                raise _FeedError("history_truncated", f"stopped at {written} events (limit)")
            await asyncio.sleep(0)  # a page journaled: let the loop paint before the next
            got = await self._history_get(
                http, {**base_params, "after": str(page.last_seq), "epoch": snap.epoch}
            )
            if isinstance(got, protocol.HistoryRefusal):
                raise _FeedError(f"history_{got.error}", got.reason or "refused")
            if got.after != page.last_seq or got.epoch != snap.epoch:
                raise _FeedError(
                    "history_invalid", f"page after {got.after}, asked after {page.last_seq}"
                )
            page = got

    async def _write_history(self, writer: Any, events: list[protocol.Event]) -> bool:
        """Hand a page over in slices, giving the loop back between them: the live stream
        and the screen go on while the past is journaled."""
        step = self.HISTORY_SLICE
        for i in range(0, len(events), step):
            if not writer.add(events[i : i + step]):
                return False
            await asyncio.sleep(0)
        return True

    HISTORY_SLICE = 1000  # events parsed or journaled between two turns of the loop

    async def _history_events(self, page: protocol.HistoryPage) -> list[protocol.Event]:
        """A page's events, parsed like stream batches a slice at a time (the loop paints
        in between): bad members quarantined (counted as ``history_<reason>``); a hole
        nothing explains ends the history (the stream's contract: contiguous seqs)."""
        limit = self.config.max_history_page_bytes
        raw = bytes(page.events)
        try:
            members = msgspec.json.decode(raw, type=list[msgspec.Raw])
        except (msgspec.DecodeError, msgspec.ValidationError):
            members = None  # not an array: parsed whole below, which says why
        parsed = protocol.Parsed()
        chunks = [raw] if members is None else [
            b"[" + b",".join(members[i : i + self.HISTORY_SLICE]) + b"]"
            for i in range(0, len(members), self.HISTORY_SLICE)
        ]  # fmt: skip
        for chunk in chunks:
            part = protocol.parse_message(chunk, protocol.SSE_BATCH, limit)
            parsed.events.extend(part.events)
            parsed.bad.extend(part.bad)
            parsed.unknown_kinds.extend(part.unknown_kinds)
            await asyncio.sleep(0)
        for bad in parsed.bad:
            self.status.quarantine(f"history_{bad.reason}", bad.detail)
            log.warning("quarantined history event (%s): %s", bad.reason, bad.detail)
        for kind in parsed.unknown_kinds:
            self.status.unknown_kinds[kind] += 1
        events = parsed.events
        expected = page.after
        for ev in events:
            if ev.seq <= expected or ev.seq > page.last_seq:
                raise _FeedError("history_invalid", f"seq {ev.seq} out of order after {expected}")
            expected = ev.seq
        explained = len(events) + len(parsed.bad) + len(parsed.unknown_kinds)
        if explained < page.last_seq - page.after:
            raise _FeedError(
                "history_gap",
                f"{explained} events for seqs {page.after + 1}..{page.last_seq}",
            )
        for e in events:
            if e.kind == protocol.CAMERA_UPSERT:
                protocol.resolve_stream_urls(e.data, self.config.base_url)
        return events

    async def _history_get(
        self, http: httpx.AsyncClient, params: dict[str, str]
    ) -> protocol.HistoryPage | protocol.HistoryRefusal:
        """One history answer, read within ``max_history_page_bytes``; a refusal (409,
        416) is returned for the caller to read its reason and range."""
        limit = self.config.max_history_page_bytes
        async with http.stream("GET", "/v1/history", params=params) as response:
            refused = response.status_code in (409, 416)
            if not refused:
                try:
                    self._check_response(response, "history")
                except _FeedError as err:
                    raise _FeedError(f"history_{err.cause}", err.detail) from None
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise _FeedError("history_oversized", f"a page of more than {limit} bytes")
        try:
            if refused:
                return protocol.decode_history_refusal(bytes(body))
            page = protocol.decode_history_page(bytes(body))
        except (msgspec.DecodeError, msgspec.ValidationError) as err:
            raise _FeedError("history_invalid", f"HTTP {response.status_code}: {err}") from err
        if page.v != protocol.PROTOCOL_VERSION:
            raise _FeedError("history_unsupported_version", f"history v={page.v}")
        return page

    # ---- stream ------------------------------------------------------------------------

    async def _follow(self, http: httpx.AsyncClient) -> bool:
        """Read the stream until it ends or fails; True when anything arrived."""
        assert self._last_id is not None
        epoch = self._last_id[0]
        headers = {"Last-Event-ID": protocol.format_event_id(*self._last_id)}
        got_data = False
        # Time-sliced: when the socket already holds more data, the SSE reader hands message
        # after message over without ever suspending, so a fast stream could keep the Qt
        # loop (which runs us) from painting for as long as the burst lasts. After
        # ``slice_s`` of handling we yield once; nothing is skipped, the rest waits.
        slice_s = self.config.slice_s
        started = time.perf_counter()
        headers["Accept"] = "text/event-stream"
        async with http.stream("GET", "/v1/stream", headers=headers) as response:
            self._check_response(response, "stream")
            ctype = response.headers.get("content-type", "").partition(";")[0].strip()
            if ctype != "text/event-stream":
                raise _FeedError("not_event_stream", f"stream: content-type {ctype or '?'}")
            reader = read_sse(response.aiter_bytes(), self.config.max_event_bytes)
            async with contextlib.aclosing(reader) as messages:
                async for msg in messages:
                    if self._stop.is_set():
                        break
                    got_data = True
                    self.status.last_data_at = time.time()
                    if self.status.state is not LinkState.LIVE:
                        self.status.set_state(LinkState.LIVE)
                    if msg.error:
                        self._on_unreadable(msg, epoch)
                    else:
                        self._on_message(msg.event, msg.data, msg.id, epoch)
                    if time.perf_counter() - started >= slice_s:
                        await asyncio.sleep(0)
                        started = time.perf_counter()
        return got_data

    def _on_unreadable(self, msg: SseMessage, epoch: str) -> None:
        """A message too large to hold, or not UTF-8: quarantined unread. Its id still moves
        our cursor (a resume must not ask for it again) and explains the seq it leaves out."""
        detail = f"event {msg.event or 'message'} id {msg.id or '-'}: {msg.size} bytes"
        self.status.quarantine(msg.error, detail)
        log.warning("quarantined event (%s): %s", msg.error, detail)
        parsed_id = protocol.parse_event_id(msg.id) if msg.id else None
        if parsed_id is not None and parsed_id[0] == epoch and parsed_id[1] > self._last_id[1]:  # type: ignore[index]
            self._last_id = parsed_id
        self._bad_since_good = True
        self.status.notify()

    def _on_message(self, event: str, data: str, sse_id: str, epoch: str) -> None:
        if not data and event == "message":
            # A block with no data (e.g. only "retry:") dispatches nothing, per the SSE spec;
            # the reader still yields it.
            return
        if event == protocol.SSE_HEARTBEAT:
            try:
                hb = protocol.decode_heartbeat(data)
            except (msgspec.DecodeError, msgspec.ValidationError) as err:
                self.status.quarantine("bad_heartbeat", str(err))
                return
            if hb.epoch != epoch:
                raise _Resync(f"server history changed ({hb.epoch})")
            self.sink.set_clock(hb.now, hb.rate)
            return
        if event == protocol.SSE_RESYNC:
            reason = "unspecified"
            with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
                reason = protocol.decode_resync(data).reason
            raise _Resync(reason)
        if sse_id:
            parsed_id = protocol.parse_event_id(sse_id)
            if parsed_id is not None:
                if parsed_id[0] != epoch:
                    raise _Resync(f"event from another history ({parsed_id[0]})")
                # The server's cursor, even when the event under it turns out malformed:
                # resuming must not ask for a bad event again and again.
                if parsed_id[1] > self._last_id[1]:  # type: ignore[index]
                    self._last_id = parsed_id
        parsed = protocol.parse_message(data, event, self.config.max_event_bytes)
        for bad in parsed.bad:
            self.status.quarantine(bad.reason, bad.detail)
            log.warning("quarantined event (%s): %s", bad.reason, bad.detail)
        for kind in parsed.unknown_kinds:
            self.status.unknown_kinds[kind] += 1
        if parsed.bad:
            self._bad_since_good = True
        if parsed.events:
            self.status.received += len(parsed.events)
            fresh = [e for e in parsed.events if e.seq > self.sink.seq]
            self.status.duplicates += len(parsed.events) - len(fresh)
            if fresh:
                if fresh[0].seq > self.sink.seq + 1 and not self._bad_since_good:
                    # The stream is contiguous by contract; an unexplained hole means we
                    # would silently miss changes, so start again from a snapshot.
                    self.status.error(
                        "gap", f"expected seq {self.sink.seq + 1}, got {fresh[0].seq}"
                    )
                    raise _Resync(f"gap before seq {fresh[0].seq}")
                self._bad_since_good = False
                for e in fresh:
                    if e.kind == "camera.upsert":
                        protocol.resolve_stream_urls(e.data, self.config.base_url)
                changes = self.sink.apply(fresh)
                rejected = len(getattr(changes, "rejected", None) or ())
                self.status.applied += len(fresh) - rejected
                self._note_rejected(changes)
        if parsed.bad or parsed.unknown_kinds:
            self.status.notify()
