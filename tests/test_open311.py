"""Open311 GeoReport v2: the spec's own examples (three are invalid JSON on purpose) served by
a real local HTTP server, polled with updated_after; messy records reported and skipped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commandcenter import lifecycle
from commandcenter.domain import CaseState
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from feeds.adapters.open311 import (
    Open311Config,
    Open311Poller,
    parse_requests_json,
    parse_requests_xml,
)
from feeds.transports import Sequencer
from tests.support import ThreadedServer


@pytest.fixture
def o311(shared_external: Path) -> Path:
    return shared_external / "open311"


def _legal(case) -> bool:  # type: ignore[no-untyped-def]
    state = CaseState.DISCOVERED
    for item in case.timeline[1:]:
        if lifecycle.check(state, item.action, params={"assignee": "x"}) is not None:
            return False
        state = CaseState(item.state)
    return state.value == case.state


def test_spec_examples_json_and_xml_agree(o311: Path) -> None:
    j = parse_requests_json((o311 / "example_get_service_requests.json").read_bytes())
    x = parse_requests_xml((o311 / "example_get_service_requests.xml").read_bytes())
    assert (
        [r.case.id for r in j.records]
        == [r.case.id for r in x.records]
        == ["311-638344", "311-638349"]
    )
    for a, b in zip(j.records, x.records, strict=True):
        assert (a.case.state, a.case.category, a.case.version) == (
            b.case.state,
            b.case.category,
            b.case.version,
        )
        assert a.extra["service_code"] == b.extra["service_code"] == "006"  # leading zeros kept
        assert _legal(a.case)
    assert j.records[0].case.state == "closed" and j.records[1].case.state == "reported"
    assert any("leading zeros" in n for n in j.notes)
    token = parse_requests_json(
        (o311 / "example_get_service_request_id_from_a_token.json").read_bytes()
    )
    assert not token.records and token.bad[0].reason == "not_a_request"


def test_messy_records_each_reported_and_skipped_never_crash() -> None:
    raw = b"""[
      {"service_request_id": 00123, "status": "open", "status": "closed", "service_name": "Pothole",
       "requested_datetime": "2024-01-02T03:04:05Z", "updated_datetime": "2024-01-03T03:04:05Z",
       "updated_datetime": "null", "lat": 0, "long": 0, "description": "null"},
      {"service_request_id": "7", "status": "open", "requested_datetime": "yesterday"},
      {"service_request_id": "null", "status": "open"},
      {"service_request_id": 8, "status": "open", "requested_datetime": "2024-01-02T03:04:05-08:00",
       "lat": "37.1", "long": "-122.2", "agency_responsible": "NULL"},
      {"service_request_id": 9, "status": oops},
      {"service_request_id": 10, "status": "open", "requested_datetime": "2024-01-02T03:04:05Z"
    """
    b = parse_requests_json(raw)
    ids = [r.case.id for r in b.records]
    assert ids == ["311-00123", "311-8"]
    first = b.records[0]
    # duplicate keys: the first non-null value wins (noted); a later "null" erases nothing
    assert first.case.state == "reported"
    assert first.case.state_ts == 1704251045.0  # 2024-01-03T03:04:05Z
    assert first.case.description == "" and first.extra["location_missing"]
    assert "agency_responsible" not in b.records[1].extra  # "NULL" is no value
    reasons = sorted(x.reason for x in b.bad)
    assert reasons == ["bad_time", "malformed_json", "missing_id", "truncated"]
    assert any("duplicate keys" in n for n in b.notes) and any(
        "no usable location" in n for n in b.notes
    )


def test_malformed_xml_salvages_the_good_requests(o311: Path) -> None:
    good = (o311 / "example_get_service_requests.xml").read_bytes()
    broken = good.replace(b"<status>open</status>", b"<status>open</statu>")  # second one
    b = parse_requests_xml(broken)
    assert [r.case.id for r in b.records] == ["311-638344"]
    assert [x.reason for x in b.bad] == ["malformed_xml"]
    cut = parse_requests_xml(good[: len(good) - 300])
    assert [r.case.id for r in cut.records] == ["311-638344"] and cut.bad[0].reason == "truncated"
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><service_requests>&a;</service_requests>'
    assert parse_requests_xml(bomb).bad[0].reason == "unsafe_xml"
    assert parse_requests_xml(b"\x00\xff garbage").bad[0].reason == "malformed_xml"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_poller_against_a_real_local_server(o311: Path, fmt: str) -> None:
    seen: list[dict[str, str]] = []
    body = (o311 / f"example_get_service_requests.{fmt}").read_bytes()
    errors = (o311 / "example_errors.txt").read_text().split("\n\n", 1)[1].encode()

    async def requests(request: Request) -> Response:
        seen.append(dict(request.query_params))
        if request.query_params.get("jurisdiction_id") == "denied":
            return Response(errors, 403, media_type="text/xml")
        return Response(body, media_type=f"application/{fmt}")

    app = Starlette(routes=[Route(f"/open311/v2/requests.{fmt}", requests)])
    store, status = Store(), FeedStatus()
    seq = Sequencer(store, status)
    with ThreadedServer(app) as srv:
        cfg = Open311Config(base_url=f"{srv.url}/open311/v2", fmt=fmt)
        poller = Open311Poller(cfg, status)

        async def scenario() -> None:
            async with httpx.AsyncClient() as http:
                seq.publish(await poller.poll_once(http))
                assert len(store) == 2 and store.seq == 2
                # the same page again: nothing new (updated_after is inclusive on many servers)
                assert await poller.poll_once(http) == []
                denied = Open311Poller(
                    Open311Config(base_url=cfg.base_url, fmt=fmt, jurisdiction_id="denied"), status
                )
                with pytest.raises(httpx.HTTPStatusError):
                    await denied.poll_once(http)

        asyncio.run(scenario())
    assert "updated_after" not in seen[0]
    assert seen[1]["updated_after"].startswith("2010-04-19T14:37:38")  # the newest seen, in UTC
    assert status.errors["http_403"] == 1 and "api_key" in status.last_error
    assert store.case("311-638344").state == "closed"


@pytest.mark.slow
def test_poller_wrapped_page_zone_less_times_agency_and_due(o311: Path) -> None:
    """A server that wraps its list, repeats a key with "null", omits zones and names the
    responsible agency: closure times survive, times are the city's, departments fill."""
    raw = (o311 / "example_get_service_requests.json").read_text()
    raw = raw.replace('"agency_responsible":null', '"agency_responsible":"Public Works"')
    raw = raw.replace("-08:00", "")  # zone-less wall times
    raw = raw.replace('"updated_datetime":"2010-04-14T06:37:38"',
                      '"updated_datetime":"2010-04-14T09:00:00","updated_datetime":"null"')  # fmt: skip
    body = ('{"requests": ' + raw + "}").encode()

    async def requests(request: Request) -> Response:
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/v2/requests.json", requests)])
    store, status = Store(), FeedStatus()
    seq = Sequencer(store, status)
    with ThreadedServer(app) as srv:
        poller = Open311Poller(
            Open311Config(base_url=f"{srv.url}/v2", zone="America/Los_Angeles"), status
        )

        async def scenario() -> None:
            async with httpx.AsyncClient() as http:
                seq.publish(await poller.poll_once(http))

        asyncio.run(scenario())
    closed, open_ = store.case("311-638344"), store.case("311-638349")
    assert closed.state == "closed" and closed.closed_ts == 1271260800.0  # 09:00 PDT
    assert closed.created_ts == 1271252258.0  # 06:37:38 PDT, not UTC
    assert open_.state == "assigned" and open_.assignee == "Public Works"
    assert open_.assignee_kind == "department" and _legal(open_)
    assert open_.due_ts == 1271684258.0  # expected_datetime, 2010-04-19T06:37:38 PDT
