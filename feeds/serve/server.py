"""Reference feed server: the demo county served over feed protocol v1 (docs/feed-protocol.md).

The same HTTP protocol as production, so the app, its tests and its benchmarks exercise
the real client path even when no real county is attached. Three ways to run it:

- ``python -m feeds.serve.server --port 0`` prints ``TOKEN <t>`` (when no token was configured)
  and ``LISTENING http://127.0.0.1:<port>`` on stdout for a parent process to read
  (``feeds.serve.child.ServerProcess`` starts it so and waits for that line);
- ``EmbeddedServer(ServerConfig(...)).start()`` runs it on a thread of its own (main.py's
  demo county; tests);
- ``create_app(config)`` returns the Starlette app for an ASGI server of your choice.

One asyncio loop owns everything (world, hub, streams): no locks, and a snapshot is
always exactly the state after its ``seq`` because nothing else runs while it is built.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec
import uvicorn
from sse_starlette.sse import AppStatus, EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from commandcenter import lifecycle
from commandcenter.domain import Role
from feeds import protocol as P
from feeds.net import is_loopback
from feeds.serve.camera_streams import DemoCameraStreams
from feeds.serve.history import history_page
from feeds.serve.hub import Hub, Stored, Subscriber
from feeds.serve.simulator.county import County
from feeds.serve.simulator.history_cache import Warm, warmed_world
from feeds.serve.simulator.world import World

log = logging.getLogger("feeds.serve.server")

ACTION_STATUS_CODES = {
    "applied": 200,
    "illegal": 409,
    "conflict": 409,
    "not_found": 404,
    "forbidden": 403,
    "invalid": 422,
}
# Outcomes stored under an Idempotency-Key. An invalid body is not: the caller may fix it
# and retry with the same key.
_STORED_STATUSES = frozenset({200, 403, 404, 409})
MAX_IDEMPOTENCY_KEY = 200


@dataclass(slots=True)
class ServerConfig:
    """Everything the server can be told; CLI flags map one to one (``--cases-per-day``)."""

    seed: int = 1
    rate: float = 1.0  # simulated seconds per real second
    history_hours: float = 8.0  # warm-up before the first event is served
    # the warm-up's last hours served as events (not folded into the baseline), so that a
    # console starting after the server can replay them at once (GET /v1/history)
    history_tail_hours: float = 0.0
    cases_per_day: float = 550.0
    heartbeat_s: float = 2.0
    resume_window: int = 100_000  # events kept for Last-Event-ID resumes ...
    resume_window_s: float = 86_400.0  # ... and none published longer ago than this
    idempotency_window_s: float = 86_400.0  # how long an action's outcome is replayed
    idempotency_max_keys: int = 50_000  # ... and how many outcomes at most (oldest go)
    subscriber_queue: int = 10_000  # events a stalled stream may miss before it is cut off
    state_dir: Path | None = None  # SQLite log + epoch + idempotency keys; None = memory
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    tokens: dict[str, Role] = field(default_factory=dict)
    start_ts: float | None = None  # simulated start time; None = the wall clock now
    tick_s: float = 0.15  # how often the simulation advances
    burst: int = 0  # extra synthetic unit.position events per second (benchmarks)
    max_seq: int = 0  # stop the world once the log reaches this seq (tests: a still point)
    outline_path: Path | str | bool | None = None  # see County.build
    allow_remote: bool = False
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    max_batch_events: int = 2000
    max_batch_bytes: int = 512 * 1024
    position_interval_s: float = 8.0
    log_level: str = "warning"
    history_cache: bool = False  # keep the warmed-up demo world on disk (simulator/history_cache)


def make_hub(config: ServerConfig, state_dir: Path | None = None) -> Hub:
    """The hub with the windows and bounds ``config`` names (county and replay alike)."""
    return Hub(
        state_dir,
        ring_size=config.resume_window,
        resume_window_s=config.resume_window_s,
        idempotency_window_s=config.idempotency_window_s,
        idempotency_max_keys=config.idempotency_max_keys,
        subscriber_queue=config.subscriber_queue,
    )


def load_tokens(path: Path | None, default_role: Role) -> dict[str, Role]:
    """The tokens a server answers: ``token=role`` entries from ``path`` and from the
    environment variable ``CC_FEED_TOKENS``. With neither, one token of ``default_role``
    is generated and printed once on stdout as ``TOKEN <t>`` (for the parent process that
    started us; never logged)."""
    tokens: dict[str, Role] = {}
    if path is not None:
        tokens.update(parse_tokens(path.read_text(encoding="utf-8")))
    if os.environ.get("CC_FEED_TOKENS"):
        tokens.update(parse_tokens(os.environ["CC_FEED_TOKENS"]))
    if not tokens:
        generated = secrets.token_urlsafe(24)
        tokens[generated] = default_role
        print(f"TOKEN {generated}", flush=True)
    return tokens


def parse_tokens(text: str) -> dict[str, Role]:
    """``token=role`` pairs separated by commas or new lines; ``#`` starts a comment."""
    out: dict[str, Role] = {}
    for raw_line in text.replace(",", "\n").splitlines():
        line = raw_line.split("#", 1)[0].strip()
        if not line:
            continue
        token, sep, role = line.partition("=")
        if not sep or not token.strip():
            raise ValueError("token entries look like token=role")
        out[token.strip()] = Role(role.strip())
    return out


def _sse(event: str, data: bytes, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\nevent: {event}\n" if event_id else f"event: {event}\n"
    return head.encode() + b"data: " + data + b"\n\n"


class FeedService:
    """The county, its world and the hub, driven on one loop; the routes call into it."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        t0 = time.perf_counter()
        self.hub = make_hub(config, config.state_dir)
        seed = config.seed
        cpd = config.cases_per_day
        if self.hub.restored:
            # the log's world decides: its geography and ids must keep meaning the same
            seed = int(self.hub.meta.get("seed", seed))
            cpd = float(self.hub.meta.get("cases_per_day", cpd))
        else:
            self.hub.set_meta("seed", str(seed))
            self.hub.set_meta("cases_per_day", repr(cpd))
        start = config.start_ts if config.start_ts is not None else time.time()
        if self.hub.restored:
            start = self.hub.now or start
        self.history_from = "built"
        warm = Warm([], [])
        if config.history_cache and not self.hub.restored:
            # the county and its warmed-up history from disk (start-up budget)
            self.world, self.history_from, warm = warmed_world(
                seed,
                start,
                config.history_hours,
                cpd,
                config.position_interval_s,
                config.outline_path,
                tail_s=config.history_tail_hours * 3600.0,
            )
            self.county = self.world.county
        else:
            self.county = County.build(seed, outline_path=config.outline_path)
            self.world = World(
                self.county,
                seed=seed,
                start_ts=start,
                cases_per_day=cpd,
                position_interval_s=config.position_interval_s,
            )
        st = self.hub.state
        if self.hub.restored:
            self.world.adopt(
                now=start,
                last_seq=self.hub.seq,
                cases=list(st.cases.values()),
                units=list(st.units.values()),
                positions=list(st.positions.values()),
                cameras=list(st.cameras.values()),
                grids=list(st.grids.values()),
                kpis=list(st.kpis.values()),
                alerts=list(st.alerts),
            )
        else:
            if config.history_hours > 0 and not config.history_cache:  # else warmed above
                warm = Warm(*self.world.warm_up(config.history_hours, config.history_tail_hours * 3600.0))
            self._publish_warm_up(warm)
        self.hub.now = self.world.now
        self.hub.rate = config.rate
        self.hub.commit()
        self.geography = msgspec.json.encode(self.county.geography())
        self.tokens = dict(config.tokens)
        self.camera_streams = DemoCameraStreams(self.world.cameras, lambda: self.world.now)
        self._tasks: list[asyncio.Task[None]] = []
        self.build_s = time.perf_counter() - t0
        log.info(
            "feed ready in %.2f s: epoch %s seq %d (%s)",
            self.build_s,
            self.hub.epoch,
            self.hub.seq,
            "restored" if self.hub.restored else "fresh",
        )

    def _publish_warm_up(self, warm: Warm) -> None:
        """The fresh log's start: the warmed-up state as one baseline, or (with a tail) the
        state before the tail, then the tail's events a simulated minute at a time, each
        at its own time, so the history endpoint can serve any moment of it."""
        if not warm.baseline:
            self.hub.now = self.world.now
            self.hub.publish(self.world.state_events())
            return
        tail = warm.tail
        # hub.now is the time of the state a batch is published onto (its keyframe's time)
        self.hub.now = tail[0].ts if tail else self.world.now
        self.hub.publish(warm.baseline, commit=False)
        start = 0
        while start < len(tail):
            end = start + 1
            while end < len(tail) and tail[end].ts < tail[start].ts + 60.0:
                end += 1
            self.hub.publish(tail[start:end], commit=False)
            self.hub.now = tail[end - 1].ts
            start = end
        self.hub.commit()

    # ------------------------------------------------------------------ driving

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._drive(), name="feed-drive"))
        if self.config.burst > 0:
            self._tasks.append(asyncio.create_task(self._burst(), name="feed-burst"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        self.hub.close()

    def close_streams(self) -> None:
        """Make open SSE streams end (called before the server shuts down)."""
        self.hub.closed = True
        self.hub._wake()

    def _frozen(self) -> bool:
        return bool(self.config.max_seq) and self.hub.seq >= self.config.max_seq

    async def _drive(self) -> None:
        """Advance the world in real time x rate and publish what happened."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        rate = self.config.rate
        while True:
            await asyncio.sleep(self.config.tick_s)
            now = loop.time()
            dt, last = now - last, now
            if self._frozen():
                continue
            try:
                events = self.world.advance(self.world.now + dt * rate)
                if events:
                    self.hub.publish(events)
                self.hub.now = self.world.now
                self.hub.maybe_commit()
            except Exception:  # one bad step must not stop the county
                log.exception("simulation step failed")

    async def _burst(self) -> None:
        """Benchmark mode: N synthetic unit.position events per second through the hub.

        Their ids are BURST0000..BURST0999; ``ts`` inside the payload is the wall clock
        (time.time()) when the event was made, so a client can measure latency."""
        loop = asyncio.get_running_loop()
        rate = float(self.config.burst)
        t0 = loop.time()
        sent = 0
        lon0, lat0 = self.county.seat
        ids = [f"BURST{i:04d}" for i in range(1000)]
        k = 0
        while True:
            await asyncio.sleep(0.01)
            due = int((loop.time() - t0) * rate) - sent
            if due <= 0:
                continue
            due = min(due, int(rate) + 1)  # never try to catch up more than a second
            wall = time.time()
            now = self.world.now
            batch = []
            for _ in range(due):
                k += 1
                i = k % 1000
                pos = P.UnitPosition(
                    ids[i],
                    lon0 + (i % 40) * 0.001 + (k % 7) * 1e-5,
                    lat0 + (i // 40) * 0.001,
                    float(k % 360),
                    5.0,
                    wall,
                )
                batch.append((P.UNIT_POSITION, pos, now))
            sent += due
            if not self._frozen():
                self.hub.publish(batch)

    # ------------------------------------------------------------------ requests

    def role_of(self, request: Request) -> Role | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        token = token.strip()
        found: Role | None = None
        for known, role in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = role
        return found

    def action(self, case_id: str, body: bytes, role: Role) -> tuple[int, bytes]:
        try:
            req = msgspec.json.decode(body, type=P.ActionRequest)
        except (msgspec.DecodeError, msgspec.ValidationError) as err:
            return 422, P.encode(P.ActionResult(status="invalid", reason=str(err)[:300]))
        try:
            lifecycle.Action(req.action)
        except ValueError:
            reason = f"unknown action {req.action!r}"
            return 422, P.encode(P.ActionResult(status="invalid", reason=reason))
        outcome, events = self.world.apply_action(
            case_id, req.action, req.actor, role, req.params, req.expected_version
        )
        # Not committed here: the route commits these events in one transaction with the
        # Idempotency-Key that produced them (Hub.idem_put), before it yields to the loop.
        seq = self.hub.publish(events, commit=False) if events else self.hub.seq
        code = ACTION_STATUS_CODES.get(outcome.status, 500)
        result = P.ActionResult(
            status=outcome.status, reason=outcome.reason, case=outcome.case, seq=seq
        )
        return code, P.encode(result)


def _unauthorized() -> Response:
    return JSONResponse(
        {"error": "unauthorized", "reason": "missing or unknown bearer token"},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="feed"'},
    )


def create_app(config: ServerConfig | None = None, service: FeedService | None = None) -> Starlette:
    """The ASGI app. Builds the county and its world now (so start-up cost is paid before
    the socket accepts), and starts the simulation when the app's lifespan starts."""
    config = config or ServerConfig()
    svc = service or FeedService(config)
    hub = svc.hub

    async def health(_request: Request) -> Response:
        return JSONResponse(
            {"ok": True, "epoch": hub.epoch, "seq": hub.seq, "v": 1, **hub.health()}
        )

    async def geography(request: Request) -> Response:
        if svc.role_of(request) is None:
            return _unauthorized()
        return Response(svc.geography, media_type="application/json")

    async def snapshot(request: Request) -> Response:
        if svc.role_of(request) is None:
            return _unauthorized()
        snap = hub.snapshot(now=svc.world.now, rate=float(config.rate))
        return Response(P.encode(snap), media_type="application/json")

    async def history(request: Request) -> Response:
        if svc.role_of(request) is None:
            return _unauthorized()
        code, body = history_page(
            hub, dict(request.query_params), svc.world.now, float(config.rate)
        )
        return Response(body, code, media_type="application/json")

    async def stream(request: Request) -> Response:
        if svc.role_of(request) is None:
            return _unauthorized()
        last_id = request.headers.get("last-event-id") or request.query_params.get(
            "last_event_id", ""
        )
        resync_reason = ""
        start_seq = hub.seq
        if last_id:
            parsed = P.parse_event_id(last_id)
            if parsed is None:
                resync_reason = "bad_event_id"
            elif parsed[0] != hub.epoch:
                resync_reason = "epoch_changed"
            else:
                start_seq = parsed[1]
        elif "from" in request.query_params:
            raw = request.query_params["from"]
            if not raw.isdigit():
                return JSONResponse({"error": "bad_request", "reason": "from must be a seq"}, 400)
            start_seq = int(raw)
        if not resync_reason:
            hub.expire_ring()
            if start_seq > hub.seq:
                resync_reason = "ahead_of_server"
            elif not hub.can_resume(start_seq):
                resync_reason = "outside_resume_window"
        return EventSourceResponse(
            _stream_body(svc, start_seq, resync_reason),
            ping=0,  # our own heartbeats carry seq and clock; sse-starlette's pings would not
            headers={"Cache-Control": "no-store"},
        )

    async def actions(request: Request) -> Response:
        role = svc.role_of(request)
        if role is None:
            return _unauthorized()
        key = request.headers.get("idempotency-key", "").strip()
        if not key or len(key) > MAX_IDEMPOTENCY_KEY:
            return JSONResponse(
                {
                    "status": "invalid",
                    "reason": f"Idempotency-Key header required (1..{MAX_IDEMPOTENCY_KEY} chars)",
                },
                status_code=400,
            )
        case_id = request.path_params["case_id"]
        body = await request.body()
        fingerprint = hashlib.sha256(
            case_id.encode() + b"\0" + role.value.encode() + b"\0" + body
        ).hexdigest()
        stored = hub.idem_get(key)
        if stored is not None:
            if stored[0] != fingerprint:
                result = P.ActionResult(
                    status="invalid", reason="Idempotency-Key was used for a different request"
                )
                return Response(P.encode(result), 422, media_type="application/json")
            return Response(
                stored[2],
                stored[1],
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        code, out = svc.action(case_id, body, role)
        if code in _STORED_STATUSES:
            hub.idem_put(key, fingerprint, code, out)  # commits the action's events too
        else:
            hub.commit()
        return Response(out, code, media_type="application/json")

    async def camera_stream(request: Request) -> Response:
        cams = svc.camera_streams
        cid = request.path_params["camera_id"]
        size = request.path_params["size"]
        code, reason = cams.check(cid, size)
        if code != 200:
            return JSONResponse({"error": "camera", "reason": reason}, status_code=code)
        return StreamingResponse(
            cams.stream(cid, size),
            media_type=cams.media_type,
            headers={"Cache-Control": "no-store"},
        )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await svc.start()
        try:
            yield
        finally:
            svc.close_streams()
            await svc.stop()

    app = Starlette(
        routes=[
            Route("/v1/health", health),
            Route("/v1/geography", geography),
            Route("/v1/snapshot", snapshot),
            Route("/v1/stream", stream),
            Route("/v1/history", history),
            Route("/v1/cases/{case_id}/actions", actions, methods=["POST"]),
            Route("/v1/cameras/{camera_id}/{size}.mjpg", camera_stream),
        ],
        lifespan=lifespan,
    )
    app.state.feed = svc
    return app


async def _stream_body(svc: FeedService, after: int, resync_reason: str) -> AsyncIterator[bytes]:
    """The SSE body: a resync at once when the client cannot be served from the ring,
    else the stream of ``_stream_chunks`` as one subscriber of the hub.

    Each chunk is handed over at ``yield`` and the generator resumes only once the ASGI
    server took it, which waits while the socket's buffer is full: so a subscriber is
    "writing" exactly while it is suspended here, and the hub counts what is published
    meanwhile (its queue) to cut off a client that stopped reading."""
    hub = svc.hub
    if resync_reason:
        yield _sse(P.SSE_RESYNC, P.encode(P.Resync(reason=resync_reason, epoch=hub.epoch)))
        return
    sub = hub.subscribe(after)
    try:
        async for chunk in _stream_chunks(svc, sub):
            sub.writing_since = hub.seq
            yield chunk
            sub.writing_since = -1
    finally:
        hub.unsubscribe(sub)


async def _stream_chunks(svc: FeedService, sub: Subscriber) -> AsyncIterator[bytes]:
    """Events after the subscriber's cursor (batched when several wait), then live ones,
    with a heartbeat every ``heartbeat_s``; a resync and the end when the subscriber
    fell out of the ring or was cut off as a slow consumer."""
    hub = svc.hub
    cfg = svc.config
    loop = asyncio.get_running_loop()
    yield b"retry: 1000\n\n"
    next_hb = loop.time()
    epoch = hub.epoch
    while not hub.closed and not AppStatus.should_exit:
        if sub.cut:
            yield _sse(P.SSE_RESYNC, P.encode(P.Resync(reason="slow_consumer", epoch=epoch)))
            return
        if sub.cursor < hub.seq:
            if not hub.can_resume(sub.cursor):
                yield _sse(P.SSE_RESYNC, P.encode(P.Resync(reason="fell_behind", epoch=epoch)))
                return
            items = hub.events_after(sub.cursor, cfg.max_batch_events, cfg.max_batch_bytes)
            if items:
                sub.cursor = items[-1].seq
                yield _frame(epoch, items)
            await asyncio.sleep(0)  # let uvicorn and the other streams breathe
        now = loop.time()
        if now >= next_hb and not sub.cut:
            hb = P.Heartbeat(now=svc.world.now, seq=hub.seq, epoch=epoch, rate=float(cfg.rate))
            next_hb = now + cfg.heartbeat_s
            yield _sse(P.SSE_HEARTBEAT, P.encode(hb))
        if sub.cursor >= hub.seq and not sub.cut:
            await hub.wait_beyond(sub.cursor, next_hb - loop.time())


def _frame(epoch: str, items: list[Stored]) -> bytes:
    last = items[-1]
    event_id = P.format_event_id(epoch, last.seq)
    if len(items) == 1:
        return _sse(last.kind, last.payload, event_id)
    data = b"[" + b",".join(i.payload for i in items) + b"]"
    return _sse(P.SSE_BATCH, data, event_id)


# ---------------------------------------------------------------------------------------


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _check_host(config: ServerConfig) -> None:
    if not is_loopback(config.host) and not config.allow_remote:
        raise ValueError(
            f"refusing to listen on non-loopback host {config.host!r} without allow_remote"
        )


def _uvicorn_config(app: Starlette, config: ServerConfig) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=config.log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
        ssl_certfile=config.ssl_certfile,
        ssl_keyfile=config.ssl_keyfile,
    )


class EmbeddedServer:
    """The feed server on a background thread with its own loop, for main.py and tests.

    ``start()`` returns once the socket accepts (well under a second for the demo county);
    ``stop()`` ends the streams, shuts uvicorn down and joins the thread.
    """

    def __init__(self, config: ServerConfig | None = None, **overrides: Any) -> None:
        config = config or ServerConfig()
        if overrides:
            config = replace(config, **overrides)
        if not config.tokens:
            config = replace(config, tokens={secrets.token_urlsafe(24): Role.DUTY_OFFICER})
        _check_host(config)
        self.config = config
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._app: Starlette | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self.port = 0

    @property
    def token(self) -> str:
        """A token with the strongest role configured (duty_officer when generated)."""
        order = [Role.DUTY_OFFICER, Role.DISPATCHER, Role.SYSTEM, Role.LEADER, Role.FIELD]
        for role in order:
            for tok, r in self.config.tokens.items():
                if r is role:
                    return tok
        return next(iter(self.config.tokens))

    @property
    def tokens(self) -> dict[str, Role]:
        return dict(self.config.tokens)

    @property
    def url(self) -> str:
        scheme = "https" if self.config.ssl_certfile else "http"
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        return f"{scheme}://{host}:{self.port}"

    @property
    def service(self) -> FeedService:
        assert self._app is not None
        return self._app.state.feed

    def start(self, timeout: float = 15.0, *, wait: bool = True) -> EmbeddedServer:
        """Bind, listen and serve. ``wait=False`` returns once the socket listens: its
        port is known and a client may connect at once (the connection waits in the
        backlog until the county is built); ``wait_started`` then says whether it came
        up. The console builds its window meanwhile instead of waiting (start-up)."""
        sock = _bind(self.config.host, self.config.port)
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name="feed-server", daemon=True
        )
        self._thread.start()
        if wait:
            self.wait_started(timeout)
        return self

    def wait_started(self, timeout: float = 15.0) -> None:
        """Until the server accepts; TimeoutError or RuntimeError (its cause attached)
        when it does not."""
        if not self._ready.wait(timeout):
            raise TimeoutError("feed server did not start in time")
        if self._error is not None:
            raise RuntimeError("feed server failed to start") from self._error

    def _make_app(self) -> Starlette:
        """The app to serve (on the server thread): the simulated county; a replay
        (feeds.serve.replay.ReplayServer) serves a recorded feed instead."""
        return create_app(self.config)

    def _run(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            self._app = self._make_app()
            server = uvicorn.Server(_uvicorn_config(self._app, self.config))
            self._server = server

            async def serve() -> None:
                task = asyncio.create_task(server.serve(sockets=[sock]))
                while not server.started and not task.done():
                    await asyncio.sleep(0.005)
                self._ready.set()
                await task

            loop.run_until_complete(serve())
        except BaseException as err:  # reported to start()
            self._error = err
            log.exception("feed server crashed")
        finally:
            self._ready.set()
            with contextlib.suppress(Exception):
                sock.close()
            with contextlib.suppress(Exception):
                # e.g. sse-starlette's shutdown watcher: end it rather than leak it
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        loop, server = self._loop, self._server
        if loop is not None and server is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.service.close_streams)
            server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            if server is not None:
                server.force_exit = True
            self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    d = ServerConfig()  # the defaults live in one place: the flags map onto its fields
    ap = argparse.ArgumentParser(
        prog="python -m feeds.serve.server", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--rate", type=float, default=d.rate, help="simulated seconds per real second")
    ap.add_argument("--history-hours", type=float, default=d.history_hours)
    ap.add_argument("--history-tail-hours", type=float, default=d.history_tail_hours,
                    help="the warm-up's last hours served as events a late console can replay")  # fmt: skip
    ap.add_argument("--cases-per-day", type=float, default=d.cases_per_day)
    ap.add_argument(
        "--heartbeat", type=float, default=d.heartbeat_s, help="seconds between heartbeats"
    )
    ap.add_argument(
        "--resume-window", type=int, default=d.resume_window, help="events kept for resume"
    )
    ap.add_argument(
        "--resume-window-s", type=float, default=d.resume_window_s, help="... for at most this long"
    )
    ap.add_argument(
        "--idempotency-window",
        type=float,
        default=d.idempotency_window_s,
        help="seconds an action's outcome is replayed for its Idempotency-Key",
    )
    ap.add_argument(
        "--idempotency-max-keys",
        type=int,
        default=d.idempotency_max_keys,
        help="outcomes kept at most",
    )
    ap.add_argument(
        "--subscriber-queue",
        type=int,
        default=d.subscriber_queue,
        help="events a stream that stopped reading may miss before it is cut off",
    )
    ap.add_argument("--state-dir", type=Path, default=d.state_dir)
    ap.add_argument("--host", default=d.host)
    ap.add_argument("--port", type=int, default=d.port, help="0 = pick a free port")
    ap.add_argument("--allow-remote", action="store_true")
    ap.add_argument("--token-file", type=Path, default=None, help="token=role per line")
    ap.add_argument("--burst", type=int, default=d.burst, help="extra unit.position events/s")
    ap.add_argument(
        "--max-seq", type=int, default=d.max_seq, help="stop the world at this seq (tests)"
    )
    ap.add_argument("--start-ts", type=float, default=d.start_ts, help="simulated start (epoch s)")
    ap.add_argument("--synthetic-outline", action="store_true", help="ignore shared data")
    ap.add_argument("--ssl-certfile", default=d.ssl_certfile)
    ap.add_argument("--ssl-keyfile", default=d.ssl_keyfile)
    ap.add_argument("--log-level", default=d.log_level)
    return ap.parse_args(argv)


def config_from_args(args: argparse.Namespace, tokens: dict[str, Role]) -> ServerConfig:
    """The flags as a ``ServerConfig``: with none given, exactly its defaults (and tokens)."""
    return ServerConfig(
        seed=args.seed,
        rate=args.rate,
        history_hours=args.history_hours,
        history_tail_hours=args.history_tail_hours,
        cases_per_day=args.cases_per_day,
        heartbeat_s=args.heartbeat,
        resume_window=args.resume_window,
        resume_window_s=args.resume_window_s,
        idempotency_window_s=args.idempotency_window,
        idempotency_max_keys=args.idempotency_max_keys,
        subscriber_queue=args.subscriber_queue,
        state_dir=args.state_dir,
        host=args.host,
        port=args.port,
        tokens=tokens,
        start_ts=args.start_ts,
        burst=args.burst,
        max_seq=args.max_seq,
        outline_path=False if args.synthetic_outline else None,
        allow_remote=args.allow_remote,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        log_level=args.log_level,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    config = config_from_args(args, load_tokens(args.token_file, Role.DUTY_OFFICER))
    try:
        _check_host(config)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not is_loopback(config.host) and not config.ssl_certfile:
        log.warning("serving beyond loopback without TLS: bearer tokens travel in clear text")
    serve_blocking(create_app(config), config)
    return 0


def serve_blocking(app: Starlette, config: ServerConfig) -> None:
    """Serve ``app`` on ``config.host:port`` until stopped; print the machine-readable
    ``LISTENING <url>`` line once the socket accepts (parents read it for the port)."""
    sock = _bind(config.host, config.port)
    port = sock.getsockname()[1]
    server = uvicorn.Server(_uvicorn_config(app, config))
    scheme = "https" if config.ssl_certfile else "http"
    host = config.host if ":" not in config.host else f"[{config.host}]"

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.005)
        if server.started:
            print(f"LISTENING {scheme}://{host}:{port}", flush=True)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
