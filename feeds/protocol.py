"""Feed protocol v1: the event envelope, the payload of each kind, and a codec that never raises.

The spec is docs/feed-protocol.md; this module is its executable form. msgspec does the
decoding because it validates while it parses (bench/ shows it against stdlib json).

Forward compatibility rules, in code:
- a payload field we do not know is kept in ``Event.extra`` (case kinds) or ignored;
- a kind we do not know is counted and skipped (``Parsed.unknown_kinds``), not an error;
- a different major version ``v`` is quarantined, as is anything malformed.
Nothing here raises on bad input: every bad message becomes a ``Quarantined`` with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urljoin

import msgspec

from commandcenter.domain import Case, CaseState, Source, TimelineEntry, Urgency

PROTOCOL_VERSION = 1
MAX_EVENT_BYTES = 1 << 20  # a single SSE message larger than this is quarantined unread

# Numbers are bounded where they are decoded, so that a hostile or broken feed cannot pass
# validation and then break the store: a ``version`` of 10**30 once passed as an ``int`` and
# overflowed the store's int64 column inside ``Store.apply``; NaN or infinite coordinates and
# times poison every sort and distance. Out-of-range values quarantine the event with
# ``invalid_data`` and the field's name, like any other malformed field.
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**62)]
Version = Annotated[int, msgspec.Meta(ge=0, le=2**62)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
SmallInt = Annotated[int, msgspec.Meta(ge=0, le=100)]
Real = Annotated[float, msgspec.Meta(ge=-1e15, le=1e15)]  # finite: NaN and inf fail both bounds
Time = Annotated[float, msgspec.Meta(ge=-1e11, le=1e11)]  # epoch seconds, years -1200..5100
Lon = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Lat = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]

# Kinds of event. Their payload types are in PAYLOAD_TYPES below.
CASE_CREATED = "case.created"
CASE_UPDATED = "case.updated"
UNIT_POSITION = "unit.position"
UNIT_STATUS = "unit.status"
CAMERA_UPSERT = "camera.upsert"
CAMERA_STATUS = "camera.status"
GRID_STATS = "grid.stats"
KPI_UPDATE = "kpi.update"
ALERT_RAISED = "alert.raised"

# SSE event names that are not data events.
SSE_HEARTBEAT = "heartbeat"
SSE_RESYNC = "resync"  # the server cannot resume from Last-Event-ID: take a new snapshot
SSE_BATCH = "batch"  # data is a JSON array of envelopes; the SSE id is the last one's


class TimelineItem(msgspec.Struct, frozen=True):
    ts: Time
    action: str
    actor: str
    state: str
    note: str = ""


class CaseData(msgspec.Struct):
    """Full record of a case. case.created and case.updated both carry it whole, with a
    version that grows by one on each change, so applying is idempotent and order-safe."""

    id: str
    version: Version
    category: str
    source: str
    urgency: str
    state: str
    township: str
    grid: str
    lon: Lon
    lat: Lat
    created_ts: Time
    state_ts: Time
    title: str = ""
    description: str = ""
    address: str = ""
    assignee: str = ""
    assignee_kind: str = ""
    assigned_ts: Time = 0.0
    on_site_ts: Time = 0.0
    completed_ts: Time = 0.0
    closed_ts: Time = 0.0
    supervised: Count = 0
    extension_s: Real = 0.0
    rating: SmallInt = 0
    reporter_name: str = ""
    reporter_phone: str = ""
    timeline: list[TimelineItem] = []
    due_ts: float = 0.0  # the source's own deadline; 0 = the hall's SLA policy decides


class UnitPosition(msgspec.Struct):
    id: str
    lon: Lon
    lat: Lat
    heading: Real = 0.0  # degrees clockwise from north
    speed: Real = 0.0  # metres per second
    ts: Time = 0.0


class UnitStatusData(msgspec.Struct):
    id: str
    name: str
    kind: str
    status: str
    township: str = ""
    grid: str = ""
    department: str = ""
    case_id: str = ""
    shift: str = ""  # e.g. "08:00-17:00"
    lon: Lon = 0.0
    lat: Lat = 0.0


class CameraData(msgspec.Struct):
    id: str
    name: str
    lon: Lon
    lat: Lat
    direction: Real = 0.0  # degrees clockwise from north
    fov: Real = 0.0  # horizontal field of view in degrees; 0 = unknown / 360 dome
    range_m: Real = 0.0
    stream_url: str = ""  # absolute, or relative to the feed's base URL (the demo's)
    township: str = ""
    grid: str = ""
    online: bool = True
    sub_stream_url: str = ""  # a lower-resolution stream of the same camera, when offered


def resolve_stream_urls(cam: CameraData, base_url: str) -> None:
    """Make a camera's relative stream URLs (``/v1/cameras/CAM0001/main.mjpg``) absolute
    against the feed they came from: a demo county on a port picked at start-up can then
    keep its camera records in its durable log unchanged across restarts."""
    for attr in ("stream_url", "sub_stream_url"):
        url = getattr(cam, attr)
        if url and url.startswith("/"):
            setattr(cam, attr, urljoin(base_url.rstrip("/") + "/", url.lstrip("/")))


class CameraStatus(msgspec.Struct):
    id: str
    online: bool


class GridStats(msgspec.Struct):
    """The four actuals (四实) of a grid and today's patrol and reporting counts."""

    id: str
    township: str
    name: str = ""
    population: Count = 0
    houses: Count = 0
    units: Count = 0
    facilities: Count = 0
    worker: str = ""
    patrols_today: Count = 0
    events_today: Count = 0


class Kpi(msgspec.Struct):
    name: str
    value: Real
    target: Real = 0.0
    unit: str = ""
    label: str = ""


class Alert(msgspec.Struct):
    id: str
    level: str  # red / yellow / blue
    kind: str  # e.g. sla.breach, cluster, sensor
    message: str
    case_id: str = ""
    grid: str = ""
    ts: Time = 0.0


PAYLOAD_TYPES: dict[str, type[msgspec.Struct]] = {
    CASE_CREATED: CaseData,
    CASE_UPDATED: CaseData,
    UNIT_POSITION: UnitPosition,
    UNIT_STATUS: UnitStatusData,
    CAMERA_UPSERT: CameraData,
    CAMERA_STATUS: CameraStatus,
    GRID_STATS: GridStats,
    KPI_UPDATE: Kpi,
    ALERT_RAISED: Alert,
}
KINDS_KEEPING_EXTRA = frozenset({CASE_CREATED, CASE_UPDATED})


class Envelope(msgspec.Struct):
    """What every data event looks like on the wire."""

    v: Count
    seq: Seq
    kind: str
    ts: Time
    data: dict[str, Any]


class Heartbeat(msgspec.Struct):
    now: Time  # the server's clock (simulated time for the demo county)
    seq: Seq  # the last sequence the server has issued
    epoch: str
    rate: Real = 1.0  # simulated seconds per real second; 1.0 in production
    v: int = PROTOCOL_VERSION


class Resync(msgspec.Struct):
    reason: str
    epoch: str
    v: int = PROTOCOL_VERSION


class Snapshot(msgspec.Struct):
    """GET /v1/snapshot: the whole live state at sequence ``seq`` of ``epoch``."""

    v: Count
    epoch: str
    seq: Seq
    now: Time
    rate: Real
    cases: list[CaseData] = []
    units: list[UnitStatusData] = []
    positions: list[UnitPosition] = []
    cameras: list[CameraData] = []
    grids: list[GridStats] = []
    kpis: list[Kpi] = []
    alerts: list[Alert] = []


class HistoryRange(msgspec.Struct):
    """What ``GET /v1/history`` can answer from: a base at ``first_seq`` (feed time
    ``since``) and every event after it up to ``last_seq``."""

    first_seq: Seq
    last_seq: Seq
    since: Time
    until: Time


class HistoryPage(msgspec.Struct):
    """GET /v1/history: a base state (first page only) and the events after ``after``.

    ``events`` is kept raw: it is parsed like a stream batch (``parse_message(raw,
    "batch")``), so one bad member is quarantined and its neighbours still come."""

    v: Count
    epoch: str
    after: Seq
    last_seq: Seq
    until_seq: Seq
    complete: bool
    available: HistoryRange
    base: Snapshot | None = None
    events: msgspec.Raw = msgspec.Raw(b"[]")


class HistoryRefusal(msgspec.Struct):
    """A 4xx answer of GET /v1/history: ``error`` names why, ``available`` what exists."""

    error: str
    reason: str = ""
    available: HistoryRange | None = None
    epoch: str = ""


class ActionRequest(msgspec.Struct):
    """POST /v1/cases/{id}/actions; the Idempotency-Key header makes a retry safe."""

    action: str
    actor: str
    params: dict[str, Any] = {}
    expected_version: int = 0  # 0 = do not check; else 409 conflict when the case moved on


class ActionResult(msgspec.Struct):
    status: str  # applied | illegal | conflict | not_found | forbidden | invalid
    reason: str = ""
    case: CaseData | None = None
    seq: int = 0


@dataclass(slots=True)
class Event:
    """A validated data event."""

    seq: int
    kind: str
    ts: float
    data: Any  # one of PAYLOAD_TYPES
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Quarantined:
    reason: str
    detail: str
    raw: bytes  # at most the first 512 bytes, for the operator to look at


@dataclass(slots=True)
class Parsed:
    events: list[Event] = field(default_factory=list)
    bad: list[Quarantined] = field(default_factory=list)
    unknown_kinds: list[str] = field(default_factory=list)


_envelope_decoder = msgspec.json.Decoder(Envelope)
_list_decoder = msgspec.json.Decoder(list[Envelope])
_encoder = msgspec.json.Encoder()
_field_names: dict[type, frozenset[str]] = {
    t: frozenset(t.__struct_fields__) for t in set(PAYLOAD_TYPES.values())
}


def _quarantine(reason: str, detail: str, raw: bytes) -> Quarantined:
    return Quarantined(reason=reason, detail=detail[:300], raw=raw[:512])


def _reason_for_decode_error(raw: bytes, err: Exception) -> str:
    text = str(err)
    if "truncated" in text.lower():
        return "truncated"
    if "JSON is malformed" in text or "invalid character" in text.lower():
        return "malformed_json"
    return "bad_envelope"


def _validate(env: Envelope, raw: bytes, out: Parsed) -> None:
    if env.v != PROTOCOL_VERSION:
        out.bad.append(_quarantine("unsupported_version", f"v={env.v}", raw))
        return
    typ = PAYLOAD_TYPES.get(env.kind)
    if typ is None:
        out.unknown_kinds.append(env.kind)
        return
    try:
        data = msgspec.convert(env.data, typ)
    except msgspec.ValidationError as err:
        out.bad.append(_quarantine("invalid_data", f"{env.kind}: {err}", raw))
        return
    extra: dict[str, Any] = {}
    if env.kind in KINDS_KEEPING_EXTRA:
        known = _field_names[typ]
        extra = {k: v for k, v in env.data.items() if k not in known}
    out.events.append(Event(seq=env.seq, kind=env.kind, ts=env.ts, data=data, extra=extra))


def parse_message(
    raw: bytes | str, sse_event: str = "", max_bytes: int = MAX_EVENT_BYTES
) -> Parsed:
    """Decode one SSE message's data: a single envelope, or a JSON array of them when
    ``sse_event`` is ``batch``. Bad parts are quarantined; good parts still come through."""
    if isinstance(raw, str):
        raw = raw.encode()
    out = Parsed()
    if len(raw) > max_bytes:
        out.bad.append(_quarantine("oversized", f"{len(raw)} bytes > {max_bytes}", raw))
        return out
    if sse_event == SSE_BATCH:
        try:
            envs = _list_decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            # One bad member must not sink its neighbours: fall back to item by item.
            return _parse_batch_slowly(raw, out)
        for env in envs:
            _validate(env, raw, out)
        return out
    try:
        env = _envelope_decoder.decode(raw)
    except msgspec.ValidationError as err:
        out.bad.append(_quarantine("bad_envelope", str(err), raw))
        return out
    except msgspec.DecodeError as err:
        out.bad.append(_quarantine(_reason_for_decode_error(raw, err), str(err), raw))
        return out
    _validate(env, raw, out)
    return out


def _parse_batch_slowly(raw: bytes, out: Parsed) -> Parsed:
    try:
        items = msgspec.json.decode(raw)
    except msgspec.DecodeError as err:
        out.bad.append(_quarantine(_reason_for_decode_error(raw, err), str(err), raw))
        return out
    if not isinstance(items, list):
        out.bad.append(_quarantine("bad_envelope", "batch is not a JSON array", raw))
        return out
    for item in items:
        item_raw = _encoder.encode(item)
        try:
            env = msgspec.convert(item, Envelope)
        except msgspec.ValidationError as err:
            out.bad.append(_quarantine("bad_envelope", str(err), item_raw))
            continue
        _validate(env, item_raw, out)
    return out


def encode_envelope(seq: int, kind: str, ts: float, data: msgspec.Struct | dict[str, Any]) -> bytes:
    """The server's side: one envelope as JSON bytes."""
    return _encoder.encode(Envelope(v=PROTOCOL_VERSION, seq=seq, kind=kind, ts=ts, data=data))  # type: ignore[arg-type]


def encode(obj: Any) -> bytes:
    return _encoder.encode(obj)


def decode_snapshot(raw: bytes) -> Snapshot:
    """Raises msgspec.DecodeError/ValidationError: a bad snapshot is not partially usable."""
    return msgspec.json.decode(raw, type=Snapshot)


def decode_history_page(raw: bytes) -> HistoryPage:
    """Raises msgspec.DecodeError/ValidationError: a page that does not decode is refused
    whole (its events are parsed apart, from ``events``)."""
    return msgspec.json.decode(raw, type=HistoryPage)


def decode_history_refusal(raw: bytes) -> HistoryRefusal:
    return msgspec.json.decode(raw, type=HistoryRefusal)


def decode_heartbeat(raw: bytes | str) -> Heartbeat:
    return msgspec.json.decode(raw, type=Heartbeat)


def decode_resync(raw: bytes | str) -> Resync:
    return msgspec.json.decode(raw, type=Resync)


def format_event_id(epoch: str, seq: int) -> str:
    """SSE ``id:`` value. The epoch names the server's history, so a client never resumes
    a sequence number from a different history (a server reset to a new world)."""
    return f"{epoch}:{seq}"


def parse_event_id(value: str) -> tuple[str, int] | None:
    epoch, sep, seq = value.rpartition(":")
    if not sep or not epoch or not seq.isdigit():
        return None
    return epoch, int(seq)


def case_to_domain(data: CaseData, extra: dict[str, Any] | None = None) -> Case:
    """Wire record -> core Case (the enums validate the strings: ValueError on nonsense)."""
    return Case(
        id=data.id,
        version=data.version,
        category=data.category,
        source=Source(data.source),
        urgency=Urgency(data.urgency),
        state=CaseState(data.state),
        township=data.township,
        grid=data.grid,
        lon=data.lon,
        lat=data.lat,
        created_ts=data.created_ts,
        state_ts=data.state_ts,
        title=data.title,
        description=data.description,
        address=data.address,
        assignee=data.assignee,
        assignee_kind=data.assignee_kind,
        assigned_ts=data.assigned_ts,
        on_site_ts=data.on_site_ts,
        completed_ts=data.completed_ts,
        closed_ts=data.closed_ts,
        supervised=data.supervised,
        extension_s=data.extension_s,
        rating=data.rating,
        reporter_name=data.reporter_name,
        reporter_phone=data.reporter_phone,
        due_ts=data.due_ts,
        timeline=[
            TimelineEntry(
                ts=t.ts, action=t.action, actor=t.actor, state=CaseState(t.state), note=t.note
            )
            for t in data.timeline
        ],
        extra=dict(extra or {}),
    )


def case_to_wire(case: Case) -> CaseData:
    return CaseData(
        id=case.id,
        version=case.version,
        category=case.category,
        source=case.source.value,
        urgency=case.urgency.value,
        state=case.state.value,
        township=case.township,
        grid=case.grid,
        lon=case.lon,
        lat=case.lat,
        created_ts=case.created_ts,
        state_ts=case.state_ts,
        title=case.title,
        description=case.description,
        address=case.address,
        assignee=case.assignee,
        assignee_kind=case.assignee_kind,
        assigned_ts=case.assigned_ts,
        on_site_ts=case.on_site_ts,
        completed_ts=case.completed_ts,
        closed_ts=case.closed_ts,
        supervised=case.supervised,
        extension_s=case.extension_s,
        rating=case.rating,
        reporter_name=case.reporter_name,
        reporter_phone=case.reporter_phone,
        due_ts=case.due_ts,
        timeline=[
            TimelineItem(ts=t.ts, action=t.action, actor=t.actor, state=t.state.value, note=t.note)
            for t in case.timeline
        ],
    )
