"""Replay a recorded feed as a live feed server, at 1x to 100x, for training and demos.

    python -m feeds.serve.replay --speed 10 journal.sqlite3        # a console's journal
    python -m feeds.serve.replay --speed 60 nyc311_sample.csv      # a 311 export (CSV or JSON)

It is the reference server with another driver: the same ``feeds.serve.hub.Hub`` numbers and
keeps the events, and the same routes of ``feeds.serve.server.create_app`` serve snapshot,
stream and geography, so a console attaches to a replay exactly as to a county (and the
replay cannot drift from the protocol). Instead of a simulated world, events are taken
from the recording in time order and published when the replay clock, which runs
``speed`` times faster than the wall from the recording's first event, reaches their
``ts``. The feed's ``now``/``rate`` are the replay clock, so countdowns in the console run
in the recording's time. Actions are refused (403): a replay is read only.

This module also holds ``journal_codec()``, the bytes <-> protocol mapping the core's
``commandcenter.journal.Journal`` needs (the core does not import the protocol).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import secrets
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from starlette.applications import Starlette

from commandcenter.domain import Role, Source
from commandcenter.journal import Journal
from feeds import protocol as P
from feeds.serve.hub import Hub
from feeds.serve.server import (
    EmbeddedServer,
    FeedService,
    ServerConfig,
    create_app,
    parse_tokens,
    serve_blocking,
)

log = logging.getLogger(__name__)

MIN_SPEED, MAX_SPEED = 1.0, 100.0
RawEvent = tuple[str, Any, float]


# ---- journal codec ---------------------------------------------------------------------


class ProtocolJournalCodec:
    """Journal rows hold the payload JSON of each event; states are snapshot JSON."""

    def __init__(self) -> None:
        self._enc = msgspec.json.Encoder()
        self._dec = {kind: msgspec.json.Decoder(typ) for kind, typ in P.PAYLOAD_TYPES.items()}

    def encode_event(self, event: Any) -> bytes:
        return self._enc.encode(event.data)

    def decode_events(self, rows: Sequence[tuple[int, str, float, bytes]]) -> list[Any]:
        out: list[P.Event] = []
        dec = self._dec
        for seq, kind, ts, payload in rows:
            d = dec.get(kind)
            if d is None:
                continue
            try:
                out.append(P.Event(seq=seq, kind=kind, ts=ts, data=d.decode(payload)))
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.warning("journal row seq %d (%s) unreadable: skipped", seq, kind)
        return out

    def encode_state(self, state: dict[str, Any]) -> bytes:
        return self._enc.encode(state)

    def decode_state(self, raw: bytes) -> P.Snapshot:
        return P.decode_snapshot(raw)


def journal_codec() -> ProtocolJournalCodec:
    return ProtocolJournalCodec()


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


_NY = ZoneInfo("America/New_York")


def _nyc_time(value: str | None) -> float | None:
    if not value:
        return None
    for fmt in ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=_NY).timestamp()
        except ValueError:
            continue
    return None


def _first(row: dict[str, Any], *keys: str) -> str:
    for k in keys:
        v = row.get(k)
        if v not in (None, ""):
            return str(v)
    return ""


def nyc311_events(path: str | Path) -> list[RawEvent]:
    """A NYC 311 export (Socrata CSV with title-case headers, or its JSON) -> case events.

    A minimal mapping of our own (feeds.adapters.nyc311 is the full one when present):
    each request is created at ``Created Date``; a closed one is closed at ``Closed Date``
    with a legal full timeline. Rows without a key or a creation time are skipped."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        rows: list[dict[str, Any]] = json.loads(p.read_text(encoding="utf-8"))
    else:
        with p.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    out: list[RawEvent] = []
    skipped = 0
    for row in rows:
        key = _first(row, "Unique Key", "unique_key")
        created = _nyc_time(_first(row, "Created Date", "created_date"))
        if not key or created is None:
            skipped += 1
            continue
        closed = _nyc_time(_first(row, "Closed Date", "closed_date"))
        try:
            lat = float(_first(row, "Latitude", "latitude") or 0.0)
            lon = float(_first(row, "Longitude", "longitude") or 0.0)
        except ValueError:
            lat = lon = 0.0
        category = _first(row, "Complaint Type", "complaint_type") or "311"
        address = _first(row, "Incident Address", "incident_address")
        base = P.CaseData(
            id=f"NYC{key}",
            version=1,
            category=category,
            source=Source.HOTLINE.value,
            urgency="normal",
            state="reported",
            township=_first(row, "Borough", "borough"),
            grid="",
            lon=lon,
            lat=lat,
            created_ts=created,
            state_ts=created,
            title=f"{category} {address}".strip(),
            description=_first(row, "Descriptor", "descriptor"),
            address=address,
            assignee=_first(row, "Agency", "agency"),
            timeline=[
                P.TimelineItem(
                    ts=created, action="discover", actor="311", state="discovered", note="12345热线"
                ),
                P.TimelineItem(ts=created, action="report", actor="311", state="reported"),
            ],
        )
        out.append((P.CASE_CREATED, base, created))
        status = _first(row, "Status", "status").lower()
        if closed is not None and closed >= created and status == "closed":
            path_ = [("sign", "signed"), ("assign", "assigned"), ("arrive", "handling"),
                     ("complete", "completed"), ("verify", "closed")]  # fmt: skip
            timeline = list(base.timeline) + [
                P.TimelineItem(ts=closed, action=a, actor="311", state=s) for a, s in path_
            ]
            done = msgspec.structs.replace(base, version=2, state="closed", state_ts=closed, closed_ts=closed,
                           completed_ts=closed, assignee_kind="department", timeline=timeline)  # fmt: skip
            out.append((P.CASE_UPDATED, done, closed))
    if skipped:
        log.warning("%s: %d rows without a key or creation time skipped", p.name, skipped)
    out.sort(key=lambda e: e[2])
    return out


def load_source(path: str | Path) -> tuple[dict[str, Any], Iterator[RawEvent]]:
    p = Path(path)
    with p.open("rb") as f:
        head = f.read(16)
    if head.startswith(b"SQLite format 3"):
        return journal_source(p)
    return {}, iter(nyc311_events(p))


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
    ) -> None:
        # Deliberately not FeedService.__init__: no county, no world; the routes only
        # need hub, config, tokens, geography and world.now.
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValueError(f"speed must be within {MIN_SPEED:g}..{MAX_SPEED:g}, got {speed}")
        self.config = replace(config, rate=speed)
        self.hub = Hub(None, ring_size=config.resume_window)
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
            replay_now = t0_feed + (loop.time() - t0_wall) * self.speed
            batch: list[RawEvent] = []
            while (
                self._pending is not None and self._pending[2] <= replay_now and len(batch) < 5000
            ):
                batch.append(self._pending)
                self._pending = next(self._events, None)
            if batch:
                self.hub.publish(batch)
                self.published += len(batch)
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

    def __init__(self, source: str | Path, speed: float = 1.0, **overrides: Any) -> None:
        super().__init__(ServerConfig(**overrides))
        self.source = Path(source)
        self.speed = speed

    def _make_app(self) -> Starlette:
        geography, events = load_source(self.source)
        svc = ReplayService(self.config, events, speed=self.speed, geography=geography)
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
    tokens: dict[str, Role] = {}
    if args.token_file is not None:
        tokens.update(parse_tokens(args.token_file.read_text(encoding="utf-8")))
    if os.environ.get("CC_FEED_TOKENS"):
        tokens.update(parse_tokens(os.environ["CC_FEED_TOKENS"]))
    if not tokens:
        generated = secrets.token_urlsafe(24)
        tokens[generated] = Role.VIEWER
        print(f"TOKEN {generated}", flush=True)
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
    geography, events = load_source(args.file)
    svc = ReplayService(config, events, speed=args.speed, geography=geography)
    serve_blocking(create_app(config, service=svc), config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
