"""``open311``: GeoReport v2 polling with ``updated_after``, JSON or XML
(``feeds.adapters.open311.Open311Poller``).

Options: ``url`` (the endpoint's base, e.g. ``https://311.example.gov/open311/v2``),
``format`` (json, xml), ``interval`` (seconds between polls, default 60),
``jurisdiction``, ``api_key_file``, ``zone`` (of zone-less times, default UTC),
``id_prefix`` (the adapter's own, default ``311-``), ``since`` (ISO time of the first
``updated_after``; default everything the server returns).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commandcenter.status import FeedStatus
from feeds.adapters.open311 import Open311Config, Open311Poller
from feeds.client import FeedSink
from feeds.sources.live.task import TaskSource
from feeds.sources.registry import SourceError, SourceKind, SourceSpec, read_secret
from feeds.transports import Sequencer


class Open311Source(TaskSource):
    def __init__(self, poller: Open311Poller, sink: FeedSink, status: FeedStatus) -> None:
        super().__init__(sink, status)
        self.poller = poller
        self.sequencer = Sequencer(sink, status)

    async def run(self) -> None:
        await self.poller.run(self.sequencer.publish, self._stop)


def build(spec: SourceSpec, sink: FeedSink, status: FeedStatus) -> Open311Source:
    fmt = spec.get("format", "json").lower()
    if fmt not in ("json", "xml"):
        raise SourceError(f"source {spec.name!r}: format must be json or xml, got {fmt!r}")
    since = None
    if spec.get("since"):
        try:
            dt = datetime.fromisoformat(spec.get("since").replace("Z", "+00:00"))
        except ValueError:
            raise SourceError(
                f"source {spec.name!r}: since={spec.get('since')!r} is not ISO 8601"
            ) from None
        since = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    zone = spec.get("zone", "UTC")
    try:
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise SourceError(f"source {spec.name!r}: unknown time zone {zone!r}") from None
    config = Open311Config(
        base_url=spec.get("url"),
        fmt=fmt,
        interval_s=spec.number("interval", 60.0) or 60.0,
        jurisdiction_id=spec.get("jurisdiction") or None,
        api_key=read_secret(spec, "api_key_file"),
        id_prefix=spec.get("id_prefix", "311-"),
        since=since,
        zone=zone,
    )
    try:
        poller = Open311Poller(config, status)
    except ValueError as err:
        raise SourceError(f"source {spec.name!r}: {err}") from None
    return Open311Source(poller, sink, status)


KIND = SourceKind(
    name="open311",
    summary="Open311 GeoReport v2 polling (JSON or XML)",
    build=build,
    options={
        "url": "the GeoReport v2 endpoint's base URL",
        "format": "json or xml (default json)",
        "interval": "seconds between polls (default 60)",
        "jurisdiction": "jurisdiction_id to send",
        "api_key_file": "file holding the API key (mode 600), when the server asks for one",
        "zone": "time zone of zone-less times (default UTC)",
        "id_prefix": "the adapter's prefix before service_request_id (default 311-)",
        "since": "ISO time of the first updated_after (default: all)",
    },
    required=("url",),
    where=lambda spec: spec.get("url"),
)
