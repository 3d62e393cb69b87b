"""Cursor-on-Target (TAK) -> unit positions, unit status, camera markers and alerts.

CoT is the XML that TAK servers, ATAK/WinTAK clients and many sensor gateways speak:
one ``<event uid type time start stale how>`` with a ``<point lat lon>`` and a free-form
``<detail>``. What the hall can use:

| CoT | feed protocol |
| --- | --- |
| ``a-*`` (an atom: a person, a vehicle, a unit) | ``unit.position`` (+ ``unit.status`` when first seen or online/offline changes) |
| a ``<__video>`` or ``<sensor>`` detail, or type ``b-m-p-s-p-loc`` | ``camera.upsert``: ``<sensor azimuth fov range>`` -> direction/fov/range_m, ``<__video url>`` (or its ``ConnectionEntry``) -> stream_url |
| ``b-a-o-*`` (emergency) | ``alert.raised`` (red) |
| anything else (chat, shapes, routes, drawings) | counted in ``FeedStatus.unknown_kinds`` as ``cot:<type>`` and skipped |

**Stale times are respected**: CoT says how long an event stays true (``stale``). A
position already past its stale time is dropped (counted as ``stale``), a camera marker
past it is shown offline, and ``CotFeed.expire()`` (called every few seconds) turns units
and cameras whose last report went stale into ``offline``.

Readers: files (one or many concatenated events), a TCP listener (a stream of events, the
TAK convention) and a UDP listener (one event per datagram). They bind to loopback
unless told otherwise. XML is parsed with defusedxml (no entities, no DTDs) and a size
limit; an event that does not parse is quarantined with a reason, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from commandcenter.domain import UnitKind, UnitStatus
from commandcenter.status import FeedStatus
from feeds import protocol as P
from feeds.net import is_loopback
from feeds.transports import RawEvent, Sequencer

log = logging.getLogger(__name__)

MAX_EVENT_BYTES = 256 * 1024
_EVENT_RE = re.compile(rb"<event\b.*?</event\s*>", re.S)


class CotError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class CotEvent:
    uid: str
    type: str
    time: float
    start: float
    stale: float
    lat: float
    lon: float
    how: str = ""
    callsign: str = ""
    course: float = 0.0
    speed: float = 0.0
    video_url: str = ""
    sensor: dict[str, float] = field(default_factory=dict)
    emergency: str = ""
    remarks: str = ""

    @property
    def is_camera(self) -> bool:
        return bool(self.video_url or self.sensor or self.type.startswith("b-m-p-s-p-loc"))


def _time(value: str | None, what: str) -> float:
    if not value:
        raise CotError("bad_time", f"no {what}")
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
    except ValueError as err:
        raise CotError("bad_time", f"{what}={value!r}") from err


def _float(value: str | None, default: float = 0.0) -> float:
    try:
        f = float(value) if value is not None else default
    except ValueError:
        return default
    return f if math.isfinite(f) else default


def _video_url(detail: Element) -> str:
    video = detail.find("__video")
    if video is None:
        return ""
    url = video.get("url", "")
    if url:
        return url
    ce = video.find("ConnectionEntry")
    if ce is None:
        return ""
    address = ce.get("address", "")
    if "://" in address:
        return address
    proto, port, path = ce.get("protocol", "rtsp"), ce.get("port", ""), ce.get("path", "")
    if not address:
        return ""
    port_part = f":{port}" if port and port != "-1" else ""
    return f"{proto}://{address}{port_part}{path}"


def parse_cot(raw: bytes) -> CotEvent:
    """One ``<event>`` -> CotEvent; raises CotError with a reason (never anything else)."""
    if len(raw) > MAX_EVENT_BYTES:
        raise CotError("oversized", f"{len(raw)} bytes")
    try:
        root = safe_fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as err:
        raise CotError("unsafe_xml", type(err).__name__) from err
    except ParseError as err:
        raise CotError("malformed_xml", str(err)) from err
    if root.tag != "event":
        raise CotError("not_cot", f"root element <{root.tag}>")
    uid, typ = root.get("uid", "").strip(), root.get("type", "").strip()
    if not uid or not typ:
        raise CotError("bad_event", "uid and type are required")
    point = root.find("point")
    if point is None:
        raise CotError("bad_event", "no <point>")
    lat, lon = _float(point.get("lat"), math.nan), _float(point.get("lon"), math.nan)
    if math.isnan(lat) or math.isnan(lon) or abs(lat) > 90 or abs(lon) > 180:
        raise CotError("bad_point", f"lat={point.get('lat')!r} lon={point.get('lon')!r}")
    t = _time(root.get("time"), "time")
    ev = CotEvent(
        uid=uid,
        type=typ,
        time=t,
        start=_time(root.get("start") or root.get("time"), "start"),
        stale=_time(root.get("stale"), "stale"),
        lat=lat,
        lon=lon,
        how=root.get("how", ""),
    )
    detail = root.find("detail")
    if detail is not None:
        contact = detail.find("contact")
        if contact is not None:
            ev.callsign = contact.get("callsign", "").split("\n")[0].strip()
        track = detail.find("track")
        if track is not None:
            ev.course = _float(track.get("course")) % 360.0
            ev.speed = max(0.0, _float(track.get("speed")))
        ev.video_url = _video_url(detail)
        sensor = detail.find("sensor")
        if sensor is not None:
            ev.sensor = {
                k: _float(sensor.get(k))
                for k in ("azimuth", "fov", "range", "vfov")
                if sensor.get(k) is not None
            }
        emergency = detail.find("emergency")
        if emergency is not None:
            ev.emergency = (emergency.get("type") or emergency.text or "emergency").strip()
        ev.remarks = (detail.findtext("remarks") or "").strip()
    return ev


def split_events(data: bytes) -> list[bytes]:
    """Every ``<event>...</event>`` in a file or stream chunk (declarations ignored)."""
    return _EVENT_RE.findall(data)


def read_file(path: str | Path) -> list[bytes]:
    return split_events(Path(path).read_bytes())


def _unit_kind(cot_type: str) -> str:
    parts = cot_type.split("-")
    if len(parts) >= 5 and parts[2] == "G" and parts[3] == "E" and parts[4] == "V":
        return UnitKind.VEHICLE.value
    return UnitKind.ENFORCEMENT.value


@dataclass(slots=True)
class _Seen:
    stale: float
    camera: bool
    online: bool
    status: P.UnitStatusData | None = None


class CotTracker:
    """CoT events -> protocol events, remembering each uid's stale time for ``expire``."""

    def __init__(
        self,
        status: FeedStatus | None = None,
        clock: Callable[[], float] = time.time,
        camera_url: Callable[[str, str], str] | None = None,
    ) -> None:
        self.status = status or FeedStatus()
        self.clock = clock
        self.seen: dict[str, _Seen] = {}
        # (uid, callsign) -> stream URL for a camera whose event carries none (a profile's
        # cameras.url_template: the hall's video gateway by channel)
        self.camera_url = camera_url

    def convert(self, raw: bytes) -> list[RawEvent]:
        try:
            ev = parse_cot(raw)
        except CotError as err:
            self.status.quarantine(f"cot_{err.reason}", err.detail)
            log.warning("CoT event quarantined (%s): %s", err.reason, err.detail)
            return []
        return self.events_for(ev)

    def events_for(self, ev: CotEvent) -> list[RawEvent]:
        now = self.clock()
        fresh = now < ev.stale
        if ev.type.startswith("b-a-o"):
            if not fresh:
                self.status.quarantine("stale", f"{ev.uid}: emergency stale since {ev.stale:.0f}")
                return []
            alert = P.Alert(id=f"COT-{ev.uid}", level="red", kind="cot.emergency",
                            message=f"{ev.emergency or 'Emergency'} ({ev.callsign or ev.uid})", ts=ev.time)  # fmt: skip
            return [(P.ALERT_RAISED, alert, ev.time)]
        if ev.is_camera:
            cam = P.CameraData(
                id=ev.uid,
                name=ev.callsign or ev.uid,
                lon=ev.lon,
                lat=ev.lat,
                direction=ev.sensor.get("azimuth", 0.0) % 360.0,
                fov=ev.sensor.get("fov", 0.0),
                range_m=ev.sensor.get("range", 0.0),
                stream_url=ev.video_url
                or (self.camera_url(ev.uid, ev.callsign) if self.camera_url else ""),
                online=fresh,
            )
            self.seen[ev.uid] = _Seen(ev.stale, camera=True, online=fresh)
            return [(P.CAMERA_UPSERT, cam, ev.time)]
        if ev.type.startswith("a-"):
            if not fresh:
                self.status.quarantine("stale", f"{ev.uid}: position stale since {ev.stale:.0f}")
                return []
            if ev.lat == 0.0 and ev.lon == 0.0:
                self.status.quarantine("cot_no_location", f"{ev.uid}: point 0,0")
                return []
            out: list[RawEvent] = []
            prev = self.seen.get(ev.uid)
            unit = P.UnitStatusData(
                id=ev.uid,
                name=ev.callsign or ev.uid,
                kind=_unit_kind(ev.type),
                status=UnitStatus.AVAILABLE.value,
                lon=ev.lon,
                lat=ev.lat,
            )
            if (
                prev is None
                or not prev.online
                or prev.status is None
                or prev.status.name != unit.name
            ):
                out.append((P.UNIT_STATUS, unit, ev.time))
            pos = P.UnitPosition(
                id=ev.uid, lon=ev.lon, lat=ev.lat, heading=ev.course, speed=ev.speed, ts=ev.time
            )
            out.append((P.UNIT_POSITION, pos, ev.time))
            self.seen[ev.uid] = _Seen(ev.stale, camera=False, online=True, status=unit)
            return out
        self.status.unknown_kinds[f"cot:{ev.type}"] += 1
        return []

    def expire(self) -> list[RawEvent]:
        """Units and cameras whose last report went stale -> offline (once each)."""
        now = self.clock()
        out: list[RawEvent] = []
        for uid, s in self.seen.items():
            if s.online and now >= s.stale:
                s.online = False
                if s.camera:
                    out.append((P.CAMERA_STATUS, P.CameraStatus(id=uid, online=False), now))
                elif s.status is not None:
                    offline = P.UnitStatusData(
                        **{f: getattr(s.status, f) for f in s.status.__struct_fields__}
                    )
                    offline.status = UnitStatus.OFFLINE.value
                    s.status = offline
                    out.append((P.UNIT_STATUS, offline, now))
        return out


class CotFeed:
    """CoT into a sink: convert, number (Sequencer), expire stale units periodically."""

    def __init__(
        self,
        sequencer: Sequencer,
        clock: Callable[[], float] = time.time,
        camera_url: Callable[[str, str], str] | None = None,
    ) -> None:
        self.sequencer = sequencer
        self.tracker = CotTracker(sequencer.status, clock, camera_url)

    def handle(self, raw: bytes) -> int:
        events = self.tracker.convert(raw)
        if events:
            self.sequencer.publish(events)
        return len(events)

    def handle_many(self, chunks: list[bytes]) -> int:
        events: list[RawEvent] = []
        for raw in chunks:
            events.extend(self.tracker.convert(raw))
        if events:
            self.sequencer.publish(events)
        return len(events)

    def load_file(self, path: str | Path) -> int:
        return self.handle_many(read_file(path))

    def expire(self) -> int:
        events = self.tracker.expire()
        if events:
            self.sequencer.publish(events)
        return len(events)

    async def expire_every(self, seconds: float = 5.0) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.expire()


def _check_host(host: str, allow_remote: bool) -> None:
    if not is_loopback(host) and not allow_remote:
        raise ValueError(f"refusing to listen on non-loopback host {host!r} without allow_remote")


class _StreamSplitter:
    """TCP carries events back to back; cut the byte stream at each ``</event>``."""

    def __init__(self, limit: int = MAX_EVENT_BYTES) -> None:
        self.buf = b""
        self.limit = limit

    def feed(self, data: bytes) -> tuple[list[bytes], bool]:
        self.buf += data
        out: list[bytes] = []
        while True:
            end = self.buf.find(b"</event>")
            if end < 0:
                break
            start = self.buf.find(b"<event")
            chunk = self.buf[max(0, start) : end + 8]
            self.buf = self.buf[end + 8 :]
            out.append(chunk)
        overflow = len(self.buf) > self.limit
        if overflow:
            self.buf = b""
        return out, overflow


async def serve_tcp(
    feed: CotFeed, host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False
) -> asyncio.Server:
    """A CoT TCP listener (e.g. a TAK server's streaming output pointed at us)."""
    _check_host(host, allow_remote)

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = _StreamSplitter()
        try:
            while data := await reader.read(65536):
                chunks, overflow = splitter.feed(data)
                if chunks:
                    feed.handle_many(chunks)
                if overflow:
                    feed.sequencer.report("cot_oversized", "no </event> within the size limit")
        except (ConnectionError, OSError) as err:
            log.info("CoT TCP client dropped: %s", err)
        finally:
            writer.close()

    return await asyncio.start_server(client, host, port)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, feed: CotFeed) -> None:
        self.feed = feed

    def datagram_received(self, data: bytes, addr: Any) -> None:
        chunks = split_events(data)
        if not chunks:
            self.feed.sequencer.report("cot_not_cot", f"{len(data)} bytes without an <event>")
            return
        self.feed.handle_many(chunks)


async def serve_udp(
    feed: CotFeed, host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False
) -> asyncio.DatagramTransport:
    """A CoT UDP listener: one event per datagram (the mesh/SA convention)."""
    _check_host(host, allow_remote)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(feed), local_addr=(host, port))
    return transport
