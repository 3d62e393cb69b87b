"""How each camera's stream has behaved since the console started: stalls, failures,
recoveries, and which decoding path played it.

The players write it, the feed status panel reads it. It lives in the core, beside
``FeedStatus`` (which carries one), because a camera that keeps stalling is a link problem
the hall must see in the same place as a feed that keeps reconnecting, and panels never
talk to each other. Counters only grow; the panel re-reads them on its one-second tick.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit


@dataclass(slots=True)
class CameraHealth:
    camera_id: str
    connects: int = 0  # connection attempts
    stalls: int = 0  # was playing, then no frame within the stall limit (or the stream ended)
    failures: int = 0  # could not open / error / connect timeout
    recoveries: int = 0  # playing again after a stall or failure
    frames: int = 0
    state: str = "idle"
    decode: str = ""  # "software" / "hardware (…)", as the first frame showed
    stream: str = ""  # "main" / "sub"
    last_reason: str = ""
    changed_at: float = 0.0
    down: bool = False  # stalled or failed and not playing again yet


@dataclass
class VideoHealth:
    """Per-camera counters. ``note`` is called by the player on every state change."""

    cameras: dict[str, CameraHealth] = field(default_factory=dict)

    def camera(self, camera_id: str) -> CameraHealth:
        h = self.cameras.get(camera_id)
        if h is None:
            h = self.cameras[camera_id] = CameraHealth(camera_id)
        return h

    def note(self, camera_id: str, state: str, reason: str = "") -> None:
        """A player of ``camera_id`` entered ``state`` (a ``StreamState`` value)."""
        if not camera_id:
            return
        h = self.camera(camera_id)
        if state == "connecting":
            h.connects += 1
        elif state == "stalled":
            h.stalls += 1
            h.down = True
        elif state == "failed":
            h.failures += 1
            h.down = True
        elif state == "playing" and h.down:
            h.recoveries += 1  # once per outage, however many retries it took
            h.down = False
        elif state in ("idle", "offline"):
            h.down = False  # taken off the wall or off the feed: not an outage of the stream
        h.state = state
        if reason:
            h.last_reason = redact_url(reason)
        h.changed_at = time.time()

    def troubled(self) -> list[CameraHealth]:
        """Cameras that stalled or failed at least once, worst first."""
        bad = [h for h in self.cameras.values() if h.stalls or h.failures]
        return sorted(bad, key=lambda h: (-(h.stalls + h.failures), h.camera_id))

    @property
    def playing(self) -> int:
        return sum(1 for h in self.cameras.values() if h.state == "playing")

    @property
    def stalls(self) -> int:
        return sum(h.stalls for h in self.cameras.values())

    @property
    def recoveries(self) -> int:
        return sum(h.recoveries for h in self.cameras.values())


def redact_url(text: str) -> str:
    """``text`` with the user info of every URL in it (rtsp://user:pass@host) and any
    ``token=``/``password=`` query values replaced: camera URLs carry credentials, and
    neither a log line nor a tooltip may repeat them."""
    out = []
    for word in text.split(" "):
        if "://" in word:
            word = _redact_one(word)
        out.append(word)
    return " ".join(out)


_SECRET_KEYS = ("token", "password", "passwd", "pwd", "auth", "key", "secret", "access_token")


def _redact_one(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<url>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        kept = []
        for pair in query.split("&"):
            k, sep, _v = pair.partition("=")
            kept.append(f"{k}=***" if sep and k.lower() in _SECRET_KEYS else pair)
        query = "&".join(kept)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
