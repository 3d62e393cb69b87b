"""Open311 GeoReport v2 -> feed protocol cases: a poller and a parser that survives real data.

Why tolerant: GeoReport servers in the wild (and the spec's own examples) send numbers
with leading zeros (``"service_code":006``: invalid JSON), duplicate keys, the string
``"null"``, coordinates of 0 or none, and XML that is cut off or not well formed. The
parser takes what is usable record by record; every record it cannot use is reported
with a reason and skipped (``Open311Batch.bad``), and questionable values it could repair
are noted (``Open311Batch.notes``). One bad record never costs the others, and nothing
here raises on input.

Mapping (one service request -> one ``CaseData``):

| GeoReport v2 | case |
| --- | --- |
| ``service_request_id`` (kept as a string: "00123" stays "00123") | ``id`` = prefix + id |
| ``service_name`` (else ``service_code``) | ``category`` |
| ``status`` open / closed | ``state`` reported / closed, with a legal full ``timeline`` |
| ``requested_datetime`` / ``updated_datetime`` | ``created_ts`` / ``state_ts``; ``version`` = updated time in whole seconds |
| ``lat``/``long`` (0, missing or out of range: no location) | ``lat``/``lon`` (0.0, noted) |
| ``address``, ``description``, ``status_notes`` | ``address``, ``description`` |
| ``agency_responsible`` | ``assignee`` (a department; an open request is ``assigned``) |
| ``expected_datetime`` | ``due_ts``: the request's own deadline drives the SLA |

Duplicate keys: the first non-null value wins (docs/sources.md says why). A
``{"requests": [...]}`` or ``{"service_requests": [...]}`` wrapper is unwrapped.

Polling: ``GET {base}/requests.json|xml?updated_after=<last seen updated_datetime>``; a
request seen again with the same updated time is not re-emitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from zoneinfo import ZoneInfo

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from commandcenter.domain import SOURCE_LABELS_ZH, Source
from commandcenter.status import FeedStatus, LinkState
from feeds import protocol as P
from feeds.client import backoff_delay

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 32 << 20  # a GeoReport page larger than this is refused unread
_NULLS = frozenset({"", "null", "none", "nil", "n/a"})
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_LEADING_ZERO = re.compile(r"(?<![\w.\-])(-?0\d+(?:\.\d+)?)(?![\w.])")
_XML_REQUEST = re.compile(rb"<request\b.*?</request\s*>", re.S)


@dataclass(slots=True)
class BadRecord:
    index: int  # position in the document (-1: the whole document)
    reason: str  # malformed_json, malformed_xml, missing_id, bad_time, not_a_request, ...
    detail: str
    raw: str = ""  # at most 300 characters of the record


@dataclass(slots=True)
class Open311Record:
    case: P.CaseData
    updated_ts: float
    extra: dict[str, Any] = field(default_factory=dict)  # fields the case has no place for


@dataclass(slots=True)
class Open311Batch:
    records: list[Open311Record] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # repaired, not skipped


# ---- values ----------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """'null', 'NULL', '' and whitespace -> None; strings stripped."""
    if isinstance(value, str):
        v = value.strip()
        return None if v.lower() in _NULLS else v
    return value


def _text(value: Any) -> str:
    value = _clean(value)
    return "" if value is None else str(value)


def parse_time(value: Any, zone: tzinfo = UTC) -> float | None:
    """ISO 8601 with a zone (the spec requires one); a zone-less time is wall time in
    ``zone``, the city's (``Open311Config.zone``; the source profile's ``time.zone``)."""
    value = _clean(value)
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return dt.timestamp()


def _coord(value: Any, limit: float) -> float | None:
    value = _clean(value)
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if f != f or abs(f) > limit or f == 0.0:  # NaN, out of range, or the 0 of "unknown"
        return None
    return f


# ---- mapping ---------------------------------------------------------------------------

_CLOSED_PATH = (
    ("sign", "signed"),
    ("assign", "assigned"),
    ("arrive", "handling"),
    ("complete", "completed"),
    ("verify", "closed"),
)


def to_record(
    fields: dict[str, Any],
    index: int,
    out: Open311Batch,
    id_prefix: str = "311-",
    zone: tzinfo = UTC,
) -> Open311Record | None:
    """One GeoReport request (a dict of raw values) -> a case, or a BadRecord in ``out``."""
    raw_id = _clean(fields.get("service_request_id"))
    if raw_id is None:
        reason = "not_a_request" if "token" in fields else "missing_id"
        out.bad.append(BadRecord(index, reason, "no service_request_id", str(fields)[:300]))
        return None
    rid = str(raw_id)
    if _clean(fields.get("requested_datetime")) is None and _clean(fields.get("status")) is None:
        # e.g. the answer to GET tokens/{token}: an id, no request
        out.bad.append(
            BadRecord(
                index,
                "not_a_request",
                f"{rid}: no status, no requested_datetime",
                str(fields)[:300],
            )
        )
        return None
    requested = parse_time(fields.get("requested_datetime"), zone)
    if requested is None:
        detail = f"requested_datetime {fields.get('requested_datetime')!r} is not ISO 8601"
        out.bad.append(BadRecord(index, "bad_time", f"{rid}: {detail}", str(fields)[:300]))
        return None
    updated = parse_time(fields.get("updated_datetime"), zone) or requested
    status = _text(fields.get("status")).lower() or "open"
    if status not in ("open", "closed"):
        out.notes.append(f"{rid}: unknown status {status!r} taken as open")
        status = "open"
    lat = _coord(fields.get("lat"), 90.0)
    lon = _coord(fields.get("long", fields.get("lon")), 180.0)
    extra: dict[str, Any] = {}
    if lat is None or lon is None:
        out.notes.append(
            f"{rid}: no usable location (lat={fields.get('lat')!r}, long={fields.get('long')!r})"
        )
        lat = lon = 0.0
        extra["location_missing"] = True
    service = _text(fields.get("service_name")) or _text(fields.get("service_code")) or "Open311"
    address = _text(fields.get("address"))
    notes = _text(fields.get("status_notes"))
    description = _text(fields.get("description"))
    if notes:
        description = f"{description}\n{notes}".strip()
    source_label = SOURCE_LABELS_ZH[Source.HOTLINE]
    timeline = [
        P.TimelineItem(
            ts=requested, action="discover", actor="Open311", state="discovered", note=source_label
        ),
        P.TimelineItem(
            ts=requested, action="report", actor="Open311", state="reported", note="Open311"
        ),
    ]
    state = "reported"
    closed_ts = 0.0
    # agency_responsible is the department the request was routed to
    agency = _text(fields.get("agency_responsible"))
    path = _CLOSED_PATH if status == "closed" else (_CLOSED_PATH[:2] if agency else ())
    if path and status != "closed":
        for action, st in path:
            timeline.append(P.TimelineItem(ts=requested, action=action, actor="Open311", state=st))
        state = "assigned"
    if status == "closed":
        for action, st in _CLOSED_PATH:
            timeline.append(P.TimelineItem(ts=updated, action=action, actor="Open311", state=st))
        state, closed_ts = "closed", updated
    for key in ("service_code", "agency_responsible", "service_notice", "expected_datetime",
                "address_id", "zipcode", "media_url"):  # fmt: skip
        v = _clean(fields.get(key))
        if v is not None:
            extra[key] = str(v)
    due = parse_time(fields.get("expected_datetime"), zone) or 0.0
    case = P.CaseData(
        id=f"{id_prefix}{rid}",
        version=max(1, int(updated)),
        category=service,
        source=Source.HOTLINE.value,
        urgency="normal",
        state=state,
        township="",
        grid="",
        lon=lon,
        lat=lat,
        created_ts=requested,
        state_ts=updated,
        title=f"{service} {address}".strip(),
        description=description,
        address=address,
        closed_ts=closed_ts,
        completed_ts=closed_ts,
        timeline=timeline,
        assignee=agency if state != "reported" else "",
        assignee_kind="department" if agency and state != "reported" else "",
        assigned_ts=requested if agency and state != "reported" else 0.0,
        due_ts=due,
    )
    rec = Open311Record(case=case, updated_ts=updated, extra=extra)
    out.records.append(rec)
    return rec


# ---- JSON ------------------------------------------------------------------------------


def _split_top_level_array(text: str) -> list[str] | None:
    """The elements of a top-level JSON array as substrings, without parsing them, so that
    one malformed element can be skipped; None when the text is not an array. A cut-off
    document gives its complete elements plus the unfinished tail."""
    s = text.lstrip()
    if not s.startswith("["):
        return None
    items: list[str] = []
    depth = 0
    in_str = esc = False
    start = -1
    for i, ch in enumerate(s):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth == 1:
                start = i + 1
            elif depth == 2 and start < 0:
                start = i
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                if s[start:i].strip():
                    items.append(s[start:i])
                return items
        elif ch == "," and depth == 1:
            items.append(s[start:i])
            start = i + 1
    if start >= 0 and s[start:].strip():
        items.append(s[start:])  # truncated document: the tail will fail and be reported
    return items


def _quote_leading_zeros(text: str) -> str:
    """006 -> "006" outside strings: invalid JSON that GeoReport servers (and the spec) send."""
    out: list[str] = []
    pos = 0
    for m in _JSON_STRING.finditer(text):
        out.append(_LEADING_ZERO.sub(r'"\1"', text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_LEADING_ZERO.sub(r'"\1"', text[pos:]))
    return "".join(out)


def _loads_object(text: str, dups: list[str]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for k, v in pairs:
            if k in d:
                dups.append(k)
                if _clean(d[k]) is not None:
                    continue  # the first non-null wins (docs/sources.md: the repeat is emptier)
            d[k] = v
        return d

    return json.loads(text, object_pairs_hook=hook)


def parse_requests_json(
    raw: bytes | str, id_prefix: str = "311-", zone: tzinfo = UTC
) -> Open311Batch:
    out = Open311Batch()
    if isinstance(raw, bytes):
        if len(raw) > MAX_DOCUMENT_BYTES:
            out.bad.append(BadRecord(-1, "oversized", f"{len(raw)} bytes"))
            return out
        text = raw.decode("utf-8", errors="replace")
        if "\ufffd" in text:
            out.notes.append("document is not valid UTF-8: bad bytes replaced")
    else:
        text = raw
    items = _split_top_level_array(text)
    if items is None:
        # Some servers wrap the list: {"service_requests": [...]}; or send one object.
        try:
            doc = _loads_object(_quote_leading_zeros(text), [])
        except json.JSONDecodeError as err:
            out.bad.append(BadRecord(-1, "malformed_json", str(err), text[:300]))
            return out
        wrapped = next(
            (doc[k] for k in ("requests", "service_requests")
             if isinstance(doc, dict) and isinstance(doc.get(k), list)),
            None,
        )  # fmt: skip
        if wrapped is not None:
            items = [json.dumps(x) for x in wrapped]
        elif isinstance(doc, dict):
            items = [json.dumps(doc)]
        else:
            out.bad.append(BadRecord(-1, "not_a_list", type(doc).__name__, text[:300]))
            return out
    for index, item in enumerate(items):
        dups: list[str] = []
        try:
            try:
                fields = _loads_object(item, dups)
            except json.JSONDecodeError:
                dups.clear()
                fields = _loads_object(_quote_leading_zeros(item), dups)
                out.notes.append(f"record {index}: numbers with leading zeros kept as strings")
        except json.JSONDecodeError as err:
            reason = (
                "truncated"
                if "Expecting" in str(err) and index == len(items) - 1
                else "malformed_json"
            )
            out.bad.append(BadRecord(index, reason, str(err), item.strip()[:300]))
            continue
        if not isinstance(fields, dict):
            out.bad.append(
                BadRecord(index, "not_an_object", type(fields).__name__, item.strip()[:300])
            )
            continue
        if dups:
            out.notes.append(
                f"record {index}: duplicate keys {sorted(set(dups))}: the first non-null kept"
            )
        to_record(fields, index, out, id_prefix, zone)
    return out


# ---- XML -------------------------------------------------------------------------------


def _fields_of(elem: Element, index: int, out: Open311Batch) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    dups: list[str] = []
    for child in elem:
        if child.tag in fields:
            dups.append(child.tag)
            if _clean(fields[child.tag]) is not None:
                continue  # the first non-null wins, as in JSON
        fields[child.tag] = (child.text or "").strip()
    if dups:
        out.notes.append(
            f"record {index}: duplicate elements {sorted(set(dups))}: the first non-null kept"
        )
    return fields


def parse_requests_xml(raw: bytes, id_prefix: str = "311-", zone: tzinfo = UTC) -> Open311Batch:
    out = Open311Batch()
    if len(raw) > MAX_DOCUMENT_BYTES:
        out.bad.append(BadRecord(-1, "oversized", f"{len(raw)} bytes"))
        return out
    try:
        root = safe_fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as err:
        out.bad.append(BadRecord(-1, "unsafe_xml", type(err).__name__))
        return out
    except ParseError as err:
        # Not well formed as a whole: salvage each <request> that is well formed alone.
        pieces = _XML_REQUEST.findall(raw)
        if not pieces:
            out.bad.append(
                BadRecord(-1, "malformed_xml", str(err), raw[:300].decode("utf-8", "replace"))
            )
            return out
        out.notes.append(f"document not well formed ({err}): parsed request by request")
        for index, piece in enumerate(pieces):
            try:
                elem = safe_fromstring(piece, forbid_dtd=True)
            except (ParseError, DefusedXmlException) as e:
                out.bad.append(
                    BadRecord(
                        index, "malformed_xml", str(e), piece[:300].decode("utf-8", "replace")
                    )
                )
                continue
            to_record(_fields_of(elem, index, out), index, out, id_prefix, zone)
        tail = raw[raw.rfind(b"</request>") + 10 :] if b"</request>" in raw else raw
        if b"<request" in tail:
            out.bad.append(
                BadRecord(
                    len(pieces),
                    "truncated",
                    "a <request> never closed",
                    tail[:300].decode("utf-8", "replace"),
                )
            )
        return out
    if root.tag == "errors":
        msg = "; ".join(_text(e.findtext("description")) for e in root.iter("error"))
        out.bad.append(BadRecord(-1, "server_error", msg))
        return out
    requests = [root] if root.tag == "request" else list(root.iter("request"))
    for index, elem in enumerate(requests):
        to_record(_fields_of(elem, index, out), index, out, id_prefix, zone)
    return out


def parse_requests(
    raw: bytes, fmt: str, id_prefix: str = "311-", zone: tzinfo = UTC
) -> Open311Batch:
    if fmt == "xml":
        return parse_requests_xml(raw, id_prefix, zone)
    return parse_requests_json(raw, id_prefix, zone)


# ---- polling ---------------------------------------------------------------------------


@dataclass(slots=True)
class Open311Config:
    base_url: str  # e.g. https://311.example.gov/open311/v2
    fmt: str = "json"  # json | xml
    interval_s: float = 60.0
    jurisdiction_id: str | None = None
    api_key: str | None = None  # only sent if the server asks for it on GET
    id_prefix: str = "311-"
    since: float | None = None  # first updated_after; None = everything the server returns
    timeout_s: float = 20.0
    zone: str = "UTC"  # of zone-less times (the spec wants a zone; some servers omit it)

    def __repr__(self) -> str:
        return f"Open311Config(base_url={self.base_url!r}, fmt={self.fmt!r}, api_key=<hidden>)"


RawEvent = tuple[str, P.CaseData, float]


class Open311Poller:
    """Polls ``requests.{fmt}`` with ``updated_after`` and yields new or changed cases."""

    def __init__(self, config: Open311Config, status: FeedStatus | None = None) -> None:
        if config.fmt not in ("json", "xml"):
            raise ValueError("fmt must be json or xml")
        self.config = config
        self.status = status or FeedStatus()
        self.cursor: float | None = config.since
        self._versions: dict[str, int] = {}
        self.last_batch: Open311Batch | None = None

    def _params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.cursor is not None:
            params["updated_after"] = (
                datetime.fromtimestamp(self.cursor, UTC).isoformat().replace("+00:00", "Z")
            )
        if self.config.jurisdiction_id:
            params["jurisdiction_id"] = self.config.jurisdiction_id
        if self.config.api_key:
            params["api_key"] = self.config.api_key
        return params

    def accept(self, batch: Open311Batch) -> list[RawEvent]:
        """Report what was bad, and turn new or changed records into events."""
        for bad in batch.bad:
            self.status.quarantine(f"open311_{bad.reason}", f"record {bad.index}: {bad.detail}")
            log.warning("Open311 record %d skipped (%s): %s", bad.index, bad.reason, bad.detail)
        for note in batch.notes:
            log.info("Open311: %s", note)
        events: list[RawEvent] = []
        for rec in sorted(batch.records, key=lambda r: r.updated_ts):
            c = rec.case
            held = self._versions.get(c.id)
            if held is not None and c.version <= held:
                continue  # seen already (updated_after is inclusive on many servers)
            kind = P.CASE_CREATED if held is None else P.CASE_UPDATED
            self._versions[c.id] = c.version
            events.append((kind, c, rec.updated_ts))
            if self.cursor is None or rec.updated_ts > self.cursor:
                self.cursor = rec.updated_ts
        self.last_batch = batch
        return events

    async def poll_once(self, http: httpx.AsyncClient) -> list[RawEvent]:
        """One GET; raises httpx errors (``run`` counts and backs off)."""
        url = f"{self.config.base_url.rstrip('/')}/requests.{self.config.fmt}"
        response = await http.get(url, params=self._params())
        if response.status_code >= 400:
            batch = parse_requests(response.content, self.config.fmt)
            why = (
                "; ".join(b.detail for b in batch.bad if b.reason == "server_error")
                or response.text[:200]
            )
            self.status.error(f"http_{response.status_code}", why)
            raise httpx.HTTPStatusError(
                f"HTTP {response.status_code}", request=response.request, response=response
            )
        return self.accept(
            parse_requests(
                response.content, self.config.fmt, self.config.id_prefix, ZoneInfo(self.config.zone)
            )
        )

    async def run(
        self, publish: Callable[[list[RawEvent]], Any], stop: asyncio.Event | None = None
    ) -> None:
        """Poll forever (until ``stop``): publish each poll's events (e.g. to a
        ``feeds.transports.Sequencer`` or a ``feeds.serve.hub.Hub``); back off on failures."""
        stop = stop or asyncio.Event()
        rng = random.Random()
        attempt = 0
        async with httpx.AsyncClient(timeout=self.config.timeout_s) as http:
            while not stop.is_set():
                delay = self.config.interval_s
                try:
                    events = await self.poll_once(http)
                    attempt = 0
                    self.status.last_data_at = time.time()
                    if self.status.state is not LinkState.LIVE:
                        self.status.set_state(LinkState.LIVE)
                    if events:
                        publish(events)
                except (httpx.HTTPError, OSError) as err:
                    if not isinstance(err, httpx.HTTPStatusError):
                        self.status.error(
                            "connect" if isinstance(err, httpx.ConnectError) else "open311",
                            str(err),
                        )
                    self.status.set_state(LinkState.RECONNECTING)
                    delay = backoff_delay(attempt, 1.0, max(self.config.interval_s, 30.0), rng)
                    attempt += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
