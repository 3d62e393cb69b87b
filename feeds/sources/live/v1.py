"""``v1``: our feed protocol over HTTP/SSE (``feeds.client.FeedClient``).

Options: ``url`` (the feed's base URL), ``token_file`` (default: ``CC_FEED_TOKEN`` or
``<config>/token``), ``ca_file``. Its server also takes the console's actions, so the
app sends them to the first source that names one (``actions``).
"""

from __future__ import annotations

from commandcenter.settings import SettingsError, read_token
from commandcenter.status import FeedStatus
from feeds.client import ClientConfig, FeedClient, FeedSink
from feeds.sources.registry import SourceError, SourceKind, SourceSpec


class V1Source(FeedClient):
    """A FeedClient that also says where the console's actions go."""

    def __init__(self, config: ClientConfig, sink: FeedSink, status: FeedStatus) -> None:
        super().__init__(config, sink, status)
        self.actions = (config.base_url, config.token, config.ca_file)


def feed_token(spec: SourceSpec, key: str = "token_file") -> str:
    """The token for a feed server: in memory (the demo), from the env or a file."""
    if spec.secret:
        return spec.secret
    try:
        token = read_token(spec.get(key) or None)
    except SettingsError as err:
        raise SourceError(f"source {spec.name!r}: {err}") from None
    if token is None:
        raise SourceError(
            f"source {spec.name!r}: the feed {spec.get('url') or spec.get('snapshot_url')} needs "
            "a token: set CC_FEED_TOKEN, give token_file=, or put it in the config dir's "
            "'token' file (chmod 600)"
        )
    return token


def build(spec: SourceSpec, sink: FeedSink, status: FeedStatus) -> V1Source:
    config = ClientConfig(
        base_url=spec.get("url"), token=feed_token(spec), ca_file=spec.get("ca_file") or None
    )
    return V1Source(config, sink, status)


KIND = SourceKind(
    name="v1",
    summary="feed protocol v1 over HTTP/SSE",
    build=build,
    options={
        "url": "the feed server's base URL",
        "token_file": "file holding the token (mode 600); default CC_FEED_TOKEN or <config>/token",
        "ca_file": "CA bundle to verify its TLS certificate with",
    },
    required=("url",),
    heartbeat=True,
    where=lambda spec: spec.get("url"),
)
