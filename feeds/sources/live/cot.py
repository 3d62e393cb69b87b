"""``cot``: Cursor-on-Target over TCP, UDP or from a file (``feeds.adapters.cot``).

Options: ``listen`` (HOST:PORT, loopback unless ``allow_remote=1``), ``proto`` (udp or
tcp, default udp), ``file`` (a file of events read once at start, instead of or besides
listening), ``expire`` (seconds between stale-time sweeps, default 5).

A listener that is bound is live even while nobody sends: CoT has no heartbeat, and
silence on a mesh is normal. A port it cannot bind is an error in its own row
(``listen``), retried with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from commandcenter.status import FeedStatus, LinkState
from feeds.adapters.cot import CotFeed, serve_tcp, serve_udp
from feeds.client import FeedSink, back_off
from feeds.sources.live.task import TaskSource
from feeds.sources.registry import SourceError, SourceKind, SourceSpec
from feeds.transports import Sequencer

log = logging.getLogger(__name__)


class CotSource(TaskSource):
    def __init__(
        self,
        sink: FeedSink,
        status: FeedStatus,
        *,
        listen: tuple[str, int] | None,
        proto: str,
        file: Path | None,
        allow_remote: bool,
        expire_s: float,
    ) -> None:
        super().__init__(sink, status)
        self.feed = CotFeed(Sequencer(sink, status))
        self.listen = listen
        self.proto = proto
        self.file = file
        self.allow_remote = allow_remote
        self.expire_s = expire_s
        self.bound: tuple[str, int] | None = None  # the address really listened on

    async def run(self) -> None:
        if self.file is not None:
            await self._load_file()
            if self.listen is None:
                await self._stop.wait()
                return
        server = await self._bind()
        if server is None:
            return  # stopped while retrying
        sweeper = asyncio.ensure_future(self.feed.expire_every(self.expire_s))
        try:
            self.status.set_state(LinkState.LIVE)
            await self._stop.wait()
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            server.close()

    async def _load_file(self) -> None:
        """Read the file once; an unreadable one is retried with back-off (it may be
        being copied in), shown in the source's row meanwhile."""
        assert self.file is not None
        attempt = 0
        while not self._stop.is_set():
            try:
                self.feed.load_file(self.file)
                self.status.set_state(LinkState.LIVE)
                return
            except OSError as err:
                self.status.error("file", f"{self.file}: {err}")
                log.warning("CoT file %s unreadable: %s", self.file, err)
                self.status.set_state(LinkState.RECONNECTING)
                await back_off(self.status, self._stop, attempt, self.config, self._rng)
                attempt += 1

    async def _bind(self) -> Any:
        assert self.listen is not None
        host, port = self.listen
        attempt = 0
        while not self._stop.is_set():
            try:
                if self.proto == "tcp":
                    server = await serve_tcp(self.feed, host, port, allow_remote=self.allow_remote)
                    self.bound = server.sockets[0].getsockname()[:2]
                else:
                    server = await serve_udp(self.feed, host, port, allow_remote=self.allow_remote)
                    self.bound = server.get_extra_info("sockname")[:2]
                log.info("CoT %s listener on %s:%d", self.proto.upper(), *self.bound)
                return server
            except OSError as err:
                self.status.error("listen", f"{self.proto} {host}:{port}: {err}")
                log.warning("CoT cannot listen on %s %s:%d: %s", self.proto, host, port, err)
                self.status.set_state(LinkState.RECONNECTING)
                await back_off(self.status, self._stop, attempt, self.config, self._rng)
                attempt += 1
        return None


def build(spec: SourceSpec, sink: FeedSink, status: FeedStatus) -> CotSource:
    proto = spec.get("proto", "udp").lower()
    if proto not in ("udp", "tcp"):
        raise SourceError(f"source {spec.name!r}: proto must be udp or tcp, got {proto!r}")
    listen = spec.host_port("listen") if spec.get("listen") else None
    file = Path(spec.get("file")) if spec.get("file") else None
    if listen is None and file is None:
        raise SourceError(f"source {spec.name!r} (cot) needs listen=HOST:PORT or file=PATH")
    allow_remote = spec.flag("allow_remote")
    if listen is not None and not allow_remote:
        from feeds.net import is_loopback

        if not is_loopback(listen[0]):
            raise SourceError(
                f"source {spec.name!r}: refusing to listen on {listen[0]!r} (not loopback) "
                "without allow_remote=1"
            )
    return CotSource(
        sink,
        status,
        listen=listen,
        proto=proto,
        file=file,
        allow_remote=allow_remote,
        expire_s=spec.number("expire", 5.0) or 5.0,
    )


def _where(spec: SourceSpec) -> str:
    if spec.get("listen"):
        return f"{spec.get('proto', 'udp').lower()}://{spec.get('listen')}"
    return spec.get("file")


KIND = SourceKind(
    name="cot",
    summary="Cursor-on-Target (TAK) over TCP, UDP or from a file",
    build=build,
    options={
        "listen": "HOST:PORT to listen on (loopback unless allow_remote=1)",
        "proto": "udp or tcp (default udp)",
        "file": "a file of CoT events, read once at start",
        "allow_remote": "1 to listen on a non-loopback address",
        "expire": "seconds between stale-time sweeps (default 5)",
    },
    where=_where,
)
