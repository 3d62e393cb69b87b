"""Replay a recorded feed as a live feed server, at 1x to 100x, for training and demos.

    python -m feeds.serve.replay --speed 10 journal.sqlite3        # a console's journal
    python -m feeds.serve.replay --speed 60 nyc311_sample.csv      # a 311 export (CSV or JSON)
    python -m feeds.serve.replay --fast --profile open311 requests.json   # all at once

It is the reference server with another driver: the same ``feeds.serve.hub.Hub`` numbers and
keeps the events, and the same routes of ``feeds.serve.server.create_app`` serve snapshot,
stream and geography, so a console attaches to a replay exactly as to a county (and the
replay cannot drift from the protocol). Instead of a simulated world, events are taken
from the recording in time order and published when the replay clock, which runs
``speed`` times faster than the wall from the recording's first event, reaches their
``ts``. The feed's ``now``/``rate`` are the replay clock, so countdowns in the console run
in the recording's time. Actions are refused (403): a replay is read only.

The journal codec lives on the consumer side, in ``feeds.journal_codec``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette

from commandcenter.domain import Role
from commandcenter.journal import Journal
from feeds import protocol as P
from feeds.journal_codec import ProtocolJournalCodec, journal_codec  # noqa: F401 (re-exported)
from feeds.serve.server import (
    EmbeddedServer,
    FeedService,
    ServerConfig,
    create_app,
    load_tokens,
    make_hub,
    serve_blocking,
)

log = logging.getLogger(__name__)

MIN_SPEED, MAX_SPEED = 1.0, 100.0
RawEvent = tuple[str, Any, float]


# ---- sources ---------------------------------------------------------------------------


def snapshot_events(snap: P.Snapshot) -> list[RawEvent]:
    """A state as the events that build it (what a replay publishes first)."""
    t = snap.now
    out: list[RawEvent] = []
    out += [(P.CAMERA_UPSERT, c, t) for c in snap.cameras]
    out += [(P.GRID_STATS, g, t) for g in snap.grids]
    out += [(P.UNIT_STATUS, u, t) for u in snap.units]
    out += [(P.UNIT_POSITION, p, t) for p in snap.positions]
    out += [(P.KPI_UPDATE, k, t) for k in snap.kpis]
    out += [(P.CASE_CREATED, c, t) for c in snap.cases]
    out += [(P.ALERT_RAISED, a, t) for a in snap.alerts]
    return out


def journal_source(path: str | Path) -> tuple[dict[str, Any], Iterator[RawEvent]]:
    """(geography, events) of a console journal: its first checkpoint, then every row."""
    codec = journal_codec()
    journal = Journal(path, codec)
    geography: dict[str, Any] = {}
    with_geo = journal.meta("geography")
    if with_geo:
        geography = json.loads(with_geo)

    def events() -> Iterator[RawEvent]:
        db = journal._read()
        cp = db.execute("SELECT n, state FROM checkpoints ORDER BY id LIMIT 1").fetchone()
        after = 0
        if cp is not None:
            after = int(cp[0])
            yield from snapshot_events(codec.decode_state(bytes(cp[1])))
        while True:
            rows = journal.rows(after, 5000)
            if not rows:
                break
            after = rows[-1][0]
            for ev in codec.decode_events([(r[1], r[2], r[3], bytes(r[4])) for r in rows]):
                yield (ev.kind, ev.data, ev.ts)
        journal.close()

    return geography, events()


def export_events(path: str | Path, profile: str | Path | None = None) -> list[RawEvent]:
    """An export (CSV, XLSX, JSON, NDJSON) -> case events in time order, mapped by a source
    profile (docs/sources.md): the same mapping as ``main.py import``, so a replay and an
    import of one file cannot disagree. Without ``profile``: ``open311`` for a JSON file of
    GeoReport requests, ``nyc311`` otherwise. Rejected rows are logged by reason."""
    from feeds.sources.profile import load_profile
    from feeds.sources.tabular import map_table, read_table

    p = Path(path)
    prof = load_profile(profile or _guess_profile(p))
    mapped = map_table(read_table(p, prof), prof)
    if len(mapped.rejected):
        log.warning("%s: %d rows rejected: %s", p.name, len(mapped.rejected),
                    dict(mapped.rejected["reason"].value_counts()))  # fmt: skip
    out = [(kind, data, ts) for kind, ts, data in mapped.versions]
    out.sort(key=lambda e: (e[2], e[0] != P.CASE_CREATED))
    return out


def _guess_profile(p: Path) -> str:
    if p.suffix.lower() in (".json", ".ndjson", ".jsonl"):
        with p.open("rb") as f:
            if b"service_request_id" in f.read(1 << 16):
                return "open311"
    return "nyc311"


def nyc311_events(path: str | Path) -> list[RawEvent]:
    """A NYC 311 export as case events (the ``nyc311`` profile)."""
    return export_events(path, "nyc311")


def load_source(
    path: str | Path, profile: str | Path | None = None
) -> tuple[dict[str, Any], Iterator[RawEvent]]:
    p = Path(path)
    with p.open("rb") as f:
        head = f.read(16)
    if head.startswith(b"SQLite format 3"):
        return journal_source(p)
    return {}, iter(export_events(p, profile))


# ---- the service -----------------------------------------------------------------------


class _ReplayClock:
    """What the server's routes read as ``svc.world.now``: the replay clock."""

    def __init__(self) -> None:
        self.now = 0.0


class ReplayService(FeedService):
    """A FeedService whose events come from a recording instead of a simulated world."""

    def __init__(
        self,
        config: ServerConfig,
        events: Iterator[RawEvent],
        *,
        speed: float = 1.0,
        geography: dict[str, Any] | None = None,
        loop_forever: bool = False,
        fast: bool = False,
    ) -> None:
        # Deliberately not FeedService.__init__: no county, no world; the routes only
        # need hub, config, tokens, geography and world.now.
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValueError(f"speed must be within {MIN_SPEED:g}..{MAX_SPEED:g}, got {speed}")
        self.config = replace(config, rate=speed)
        self.hub = make_hub(config)
        self.hub.rate = speed
        self.world = _ReplayClock()  # type: ignore[assignment]
        self.geography = msgspec.json.encode(
            geography or {"v": 1, "county": {}, "townships": [], "grids": []}
        )
        self.tokens = dict(config.tokens)
        self._tasks: list[asyncio.Task[None]] = []
        self.speed = speed
        self._events = events
        self._pending: RawEvent | None = next(self._events, None)
        self.loop_forever = loop_forever
        self.fast = fast  # as fast as possible: the whole recording into the history at once
        self.published = 0
        self.build_s = 0.0
        if self._pending is not None:
            self.world.now = self.hub.now = self._pending[2]

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._replay(), name="feed-replay"))

    def action(self, case_id: str, body: bytes, role: Role) -> tuple[int, bytes]:
        return 403, P.encode(P.ActionResult(status="forbidden", reason="a replay is read only"))

    async def _replay(self) -> None:
        loop = asyncio.get_running_loop()
        if self._pending is None:
            return
        t0_feed = self._pending[2]
        t0_wall = loop.time()
        tick = 0.05
        while True:
            replay_now = (
                float("inf") if self.fast else t0_feed + (loop.time() - t0_wall) * self.speed
            )
            batch: list[RawEvent] = []
            while (
                self._pending is not None and self._pending[2] <= replay_now and len(batch) < 5000
            ):
                batch.append(self._pending)
                self._pending = next(self._events, None)
            if batch:
                self.hub.publish(batch)
                self.published += len(batch)
            self.hub.maybe_commit()  # the windows (a replay has no log to commit)
            if batch and self.fast:
                replay_now = batch[-1][2]
            self.world.now = self.hub.now = max(self.hub.now, replay_now)
            if self._pending is None:
                log.info("replay finished: %d events", self.published)
                return
            if not batch:
                await asyncio.sleep(
                    min(tick, max(0.0, (self._pending[2] - replay_now) / self.speed))
                )
            else:
                await asyncio.sleep(0)


class ReplayServer(EmbeddedServer):
    """The replay on a background thread (tests, the app's demo mode)."""

    def __init__(
        self,
        source: str | Path,
        speed: float = 1.0,
        *,
        fast: bool = False,
        profile: str | Path | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(ServerConfig(**overrides))
        self.source = Path(source)
        self.speed = speed
        self.fast = fast
        self.profile = profile

    def _make_app(self) -> Starlette:
        geography, events = load_source(self.source, self.profile)
        svc = ReplayService(
            self.config, events, speed=self.speed, geography=geography, fast=self.fast
        )
        return create_app(self.config, service=svc)

    @property
    def replay(self) -> ReplayService:
        return self.service  # type: ignore[return-value]


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m feeds.serve.replay", description=__doc__.split("\n")[0]
    )
    ap.add_argument("file", type=Path, help="a journal (.sqlite3) or a 311 export (.csv/.json)")
    ap.add_argument("--speed", type=float, default=1.0, help="1..100 times real time")
    ap.add_argument(
        "--fast",
        action="store_true",
        help="as fast as possible: serve the whole recording at once (load it into history)",
    )
    ap.add_argument(
        "--profile", metavar="NAME|PATH", help="source profile of an export (docs/sources.md)"
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--heartbeat", type=float, default=2.0)
    ap.add_argument("--token-file", type=Path, default=None)
    ap.add_argument("--log-level", default="warning")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    if not MIN_SPEED <= args.speed <= MAX_SPEED:
        print(f"error: --speed must be within {MIN_SPEED:g}..{MAX_SPEED:g}", file=sys.stderr)
        return 2
    tokens = load_tokens(args.token_file, Role.VIEWER)
    from feeds.net import is_loopback

    if not is_loopback(args.host):
        print("error: a replay listens on loopback only", file=sys.stderr)
        return 2
    config = ServerConfig(
        host=args.host,
        port=args.port,
        tokens=tokens,
        heartbeat_s=args.heartbeat,
        log_level=args.log_level,
    )
    geography, events = load_source(args.file, args.profile)
    svc = ReplayService(config, events, speed=args.speed, geography=geography, fast=args.fast)
    serve_blocking(create_app(config, service=svc), config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
