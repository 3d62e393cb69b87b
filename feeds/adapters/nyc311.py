"""NYC 311 service requests (CSV export and Socrata JSON) as feed-protocol cases.

Real requests check the ranking against numbers nobody tuned: the department league table
of a replay must equal an independent pandas computation (tests/test_nyc311.py).

Mapping of one request (column names as in the Socrata JSON; the CSV's headers, e.g.
``Created Date``, are normalised to them):

| 311 field | case field |
| --- | --- |
| ``unique_key`` | ``id`` = ``NYC<unique_key>`` |
| ``created_date`` (New York local time) | ``created_ts``; the timeline discover, report, sign, assign |
| ``agency`` | ``assignee`` with ``assignee_kind`` ``department`` (311 routes at once) |
| ``closed_date`` when present | ``completed_ts`` = ``closed_ts``: arrive, complete, verify at that time |
| ``complaint_type`` / ``descriptor`` | ``category`` / ``title`` and ``description`` |
| ``borough`` (``Unspecified`` -> empty) | ``township`` |
| ``incident_zip``, else ``community_board`` | ``grid`` (empty when neither is usable) |
| ``incident_address`` | ``address`` |
| ``latitude``/``longitude`` | ``lat``/``lon``; missing, zero or junk -> 0.0 |
| ``due_date`` | ``due_ts``: the request's own deadline, which the SLA counts against |
| ``status`` | kept as ``nyc_status`` in the event's extra fields |

311 has no urgency: every case is ``normal``; the source is ``hotline`` (the 12345 of
New York). A request counts as closed when it has a valid closed date, whatever its
``status`` says (some ``Pending`` requests carry one; the status is kept for reference).

A record is skipped, with a reason, when: ``missing_id``, ``duplicate_id``,
``bad_created_date`` (missing or unreadable), ``bad_closed_date`` (present, unreadable),
``closed_before_created`` (includes the ``1900-01-01`` placeholders), ``missing_agency``,
``missing_complaint_type``, or ``not_a_record`` (JSON item that is not an object).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from commandcenter.domain import Case, CaseState, Role, Source, TimelineEntry, Urgency
from commandcenter.lifecycle import Action, apply
from feeds import protocol as p
from feeds.adapters import Imported, Skipped, Version

NYC_ZONE = ZoneInfo("America/New_York")
ACTOR = "NYC 311"
ID_PREFIX = "NYC"
_DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",  # CSV export: 06/26/2018 10:58:54 AM
    "%Y-%m-%dT%H:%M:%S.%f",  # Socrata: 2012-11-20T07:50:59.000
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
)
_UNSPECIFIED = {"", "unspecified", "n/a", "na", "none", "null"}


def normalise_key(name: str) -> str:
    """CSV header -> Socrata field name: ``X Coordinate (State Plane)`` ->
    ``x_coordinate_state_plane``."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def parse_time(value: Any) -> float | None:
    """A 311 date (New York wall time, either export's format) -> epoch seconds, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            dt = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return dt.replace(tzinfo=NYC_ZONE).timestamp()
    return None


def _text(raw: Mapping[str, Any], key: str) -> str:
    v = raw.get(key)
    return v.strip() if isinstance(v, str) else ("" if v is None else str(v).strip())


def _coord(raw: Mapping[str, Any], key: str) -> float:
    try:
        v = float(raw.get(key) or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return v if math.isfinite(v) else 0.0


def _grid(raw: Mapping[str, Any]) -> str:
    z = _text(raw, "incident_zip")
    if re.fullmatch(r"\d{5}", z[:5]) and z[:5] != "00000":
        return z[:5]
    board = _text(raw, "community_board")
    if board.lower() in _UNSPECIFIED or board.lower().startswith("0 "):
        return ""
    return board


def to_versions(raw: Mapping[str, Any], where: str) -> list[Version] | Skipped:
    """One request -> its case versions (created, and updated when closed), or why not."""
    key = _text(raw, "unique_key")
    if not key:
        return Skipped(where, "", "missing_id")
    created = parse_time(raw.get("created_date"))
    if created is None:
        return Skipped(where, key, "bad_created_date", repr(raw.get("created_date"))[:80])
    closed_raw = raw.get("closed_date")
    closed = parse_time(closed_raw)
    if closed is None and isinstance(closed_raw, str) and closed_raw.strip():
        return Skipped(where, key, "bad_closed_date", repr(closed_raw)[:80])
    if closed is not None and closed < created:
        return Skipped(
            where, key, "closed_before_created", f"{raw.get('created_date')} > {closed_raw}"
        )
    agency = _text(raw, "agency")
    if not agency:
        return Skipped(where, key, "missing_agency")
    category = _text(raw, "complaint_type")
    if not category:
        return Skipped(where, key, "missing_complaint_type")
    borough = _text(raw, "borough")
    descriptor = _text(raw, "descriptor")
    extra: dict[str, Any] = {"nyc_status": _text(raw, "status")}
    due = parse_time(raw.get("due_date"))
    case = Case(
        id=f"{ID_PREFIX}{key}",
        version=1,
        category=category,
        source=Source.HOTLINE,
        urgency=Urgency.NORMAL,
        state=CaseState.DISCOVERED,
        township="" if borough.lower() in _UNSPECIFIED else borough,
        grid=_grid(raw),
        lon=_coord(raw, "longitude"),
        lat=_coord(raw, "latitude"),
        created_ts=created,
        state_ts=created,
        title=f"{category}: {descriptor}" if descriptor else category,
        description=descriptor,
        address=_text(raw, "incident_address"),
        due_ts=due or 0.0,  # the request's own deadline drives the SLA
        timeline=[
            TimelineEntry(
                created,
                "discover",
                ACTOR,
                CaseState.DISCOVERED,
                _text(raw, "open_data_channel_type"),
            )
        ],
    )
    for action, params in (
        (Action.REPORT, None),
        (Action.SIGN, None),
        (Action.ASSIGN, {"assignee": agency, "assignee_kind": "department"}),
    ):
        case = apply(case, action, ACTOR, Role.SYSTEM, created, params)
    versions = [Version(p.CASE_CREATED, created, p.case_to_wire(case), extra)]
    if closed is not None:
        for action in (Action.ARRIVE, Action.COMPLETE, Action.VERIFY):
            case = apply(case, action, ACTOR, Role.SYSTEM, closed)
        versions.append(Version(p.CASE_UPDATED, closed, p.case_to_wire(case), extra))
    return versions


def _collect(records: Iterable[tuple[str, Any]]) -> Imported:
    out = Imported()
    seen: set[str] = set()
    for where, raw in records:
        out.read += 1
        if not isinstance(raw, Mapping):
            out.skipped.append(Skipped(where, "", "not_a_record", type(raw).__name__))
            continue
        got = to_versions(raw, where)
        if isinstance(got, Skipped):
            out.skipped.append(got)
            continue
        cid = got[0].case.id
        if cid in seen:
            out.skipped.append(Skipped(where, cid[len(ID_PREFIX) :], "duplicate_id"))
            continue
        seen.add(cid)
        out.cases.append(got)
    return out


def read_csv(path: str | Path) -> Imported:
    """The NYC Open Data CSV export (one request per row, a header row)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [normalise_key(h) for h in next(reader, [])]
        rows = (
            (f"{path.name}:{i}", dict(zip(header, row, strict=False)))
            for i, row in enumerate(reader, start=1)
        )
        return _collect(rows)


def read_socrata_json(path: str | Path) -> Imported:
    """A Socrata API dump: a JSON array of objects with snake_case fields.

    A file that is not a JSON array is reported as one skipped record, not raised.
    """
    path = Path(path)
    try:
        items = msgspec.json.decode(path.read_bytes())
    except msgspec.DecodeError as err:
        return Imported(skipped=[Skipped(path.name, "", "malformed_json", str(err)[:200])], read=1)
    if not isinstance(items, list):
        return Imported(
            skipped=[Skipped(path.name, "", "not_a_list", type(items).__name__)], read=1
        )
    return _collect((f"{path.name}:{i}", item) for i, item in enumerate(items, start=1))


def read(*paths: str | Path) -> Imported:
    """Any number of files, CSV or JSON by suffix; a case id seen twice is kept once."""
    out = Imported()
    for path in paths:
        got = read_socrata_json(path) if Path(path).suffix.lower() == ".json" else read_csv(path)
        out.extend(got)
    seen: set[str] = set()
    cases = []
    for versions in out.cases:
        cid = versions[0].case.id
        if cid in seen:
            out.skipped.append(Skipped("", cid[len(ID_PREFIX) :], "duplicate_id"))
            continue
        seen.add(cid)
        cases.append(versions)
    out.cases = cases
    return out


def replay(
    imported: Imported | Iterable[list[Version]], start_seq: int = 1
) -> Iterator[p.Envelope]:
    """Protocol envelopes of every case version in time order, ``seq`` from ``start_seq``.

    Ties in time keep a case's created event before its update (a request closed the
    second it was opened), then follow case ids, so a replay is the same every time. The
    extra field (``nyc_status``) travel inside ``data`` as unknown fields,
    which the protocol keeps in ``Event.extra``.
    """
    cases = imported.cases if isinstance(imported, Imported) else imported
    items = [
        (v.ts, 0 if v.kind == p.CASE_CREATED else 1, v.case.id, v)
        for versions in cases
        for v in versions
    ]
    items.sort(key=lambda t: t[:3])
    for seq, (_, _, _, v) in enumerate(items, start=start_seq):
        data = msgspec.to_builtins(v.case)
        data.update(v.extra)
        yield p.Envelope(v=p.PROTOCOL_VERSION, seq=seq, kind=v.kind, ts=v.ts, data=data)
