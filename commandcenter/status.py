"""How healthy the live link is, in terms the hall can act on.

The feed client writes it, the status bar and every panel's freshness badge read it.
It lives in the core so that views can show it without knowing where data comes from.
Times are wall-clock seconds (time.time()) because they are shown to people.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from commandcenter.observable import Subscribers
from commandcenter.video_health import VideoHealth


class LinkState(StrEnum):
    CONNECTING = "connecting"  # first connection, nothing received yet
    LIVE = "live"  # stream open, heartbeats arriving
    STALE = "stale"  # stream open but silent past the staleness limit
    RECONNECTING = "reconnecting"  # lost; backing off before the next try
    STOPPED = "stopped"  # closed on purpose


LINK_LABELS_ZH = {
    LinkState.CONNECTING: "连接中",
    LinkState.LIVE: "实时",
    LinkState.STALE: "数据停滞",
    LinkState.RECONNECTING: "重连中",
    LinkState.STOPPED: "已断开",
}


@dataclass(slots=True)
class BadEvent:
    at: float
    reason: str
    detail: str


@dataclass
class FeedStatus:
    state: LinkState = LinkState.CONNECTING
    since: float = field(default_factory=time.time)
    last_data_at: float = 0.0  # last event or heartbeat: proof the server is alive
    last_error: str = ""
    next_retry_at: float = 0.0
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    reconnects: int = 0
    resyncs: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    unknown_kinds: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # connection-level failures by cause
    recent_bad: deque[BadEvent] = field(default_factory=lambda: deque(maxlen=200))
    # The cameras' streams (stalls, failures, recoveries per camera): written by the players.
    video: VideoHealth = field(default_factory=VideoHealth)
    _subscribers: Subscribers[FeedStatus] = field(default_factory=Subscribers, repr=False)

    def set_state(self, state: LinkState, error: str = "") -> None:
        if state is not self.state:
            self.state = state
            self.since = time.time()
        if error:
            self.last_error = error
        self.notify()

    def quarantine(self, reason: str, detail: str) -> None:
        self.quarantined[reason] += 1
        self.recent_bad.append(BadEvent(time.time(), reason, detail))

    def error(self, cause: str, detail: str) -> None:
        self.errors[cause] += 1
        self.last_error = f"{cause}: {detail}"[:300]

    def data_age(self, now: float | None = None) -> float | None:
        """Seconds since the server last proved alive; None before anything arrived."""
        if not self.last_data_at:
            return None
        return (time.time() if now is None else now) - self.last_data_at

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    def subscribe(self, callback: Callable[[FeedStatus], None]) -> Callable[[], None]:
        return self._subscribers.add(callback)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def notify(self) -> None:
        self._subscribers.notify(self)
