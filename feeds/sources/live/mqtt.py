"""``mqtt``: feed protocol v1 through a broker (``feeds.transports.mqtt.MqttTransport``).

Options: ``broker`` (HOST:PORT), ``county`` (the topic segment), ``user``,
``password_file`` (or ``CC_MQTT_PASSWORD``), ``ca_file`` (verified TLS), ``client_id``,
and ``snapshot_url`` + ``token_file`` when a feed server holds the current state (it
then also takes the console's actions).
"""

from __future__ import annotations

import logging

from commandcenter.status import FeedStatus
from feeds.client import FeedSink
from feeds.sources.live.v1 import feed_token
from feeds.sources.registry import SourceError, SourceKind, SourceSpec
from feeds.transports.mqtt import MqttConfig, MqttTransport, http_snapshot, read_password

log = logging.getLogger(__name__)


class MqttSource(MqttTransport):
    actions: tuple[str, str, str | None] | None = None


def build(spec: SourceSpec, sink: FeedSink, status: FeedStatus) -> MqttSource:
    host, port = spec.host_port("broker")
    try:
        password = read_password(spec.get("password_file") or None)
    except OSError as err:
        raise SourceError(f"source {spec.name!r}: {err}") from None
    config = MqttConfig(
        host=host,
        port=port,
        county=spec.get("county", "demo"),
        client_id=spec.get("client_id"),
        username=spec.get("user") or None,
        password=password,
        tls=bool(spec.get("ca_file")),
        ca_file=spec.get("ca_file") or None,
    )
    snapshot_url = spec.get("snapshot_url")
    token = feed_token(spec) if snapshot_url else ""
    ca_file = spec.get("snapshot_ca_file") or None
    snapshot = http_snapshot(snapshot_url, token, ca_file) if snapshot_url else None
    log.info("MQTT source %s: %r, snapshot from %s", spec.name, config, snapshot_url or "none")
    source = MqttSource(config, sink, status, snapshot=snapshot)
    if snapshot_url:
        source.actions = (snapshot_url, token, ca_file)
    return source


KIND = SourceKind(
    name="mqtt",
    summary="feed protocol v1 through an MQTT broker",
    build=build,
    options={
        "broker": "HOST:PORT of the broker",
        "county": "topic segment cc/v1/{county}/... (default demo)",
        "user": "broker user name",
        "password_file": "broker password in a file only its owner can read",
        "ca_file": "use verified TLS to the broker with this CA",
        "client_id": "the broker session's id (default cc-console-<host>)",
        "snapshot_url": "a feed server to take the snapshot (and the actions) from",
        "token_file": "that server's token file (mode 600)",
        "snapshot_ca_file": "CA bundle to verify that server's TLS certificate with",
    },
    required=("broker",),
    heartbeat=True,
    where=lambda spec: f"mqtt://{spec.get('broker')}/{spec.get('county', 'demo')}",
)
