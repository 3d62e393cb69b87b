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


# Worst first: the hall badge shows the worst of its sources. STOPPED is last because a
# source closed on purpose (the console shutting down) is not a fault to look at.
_WORST = (
    LinkState.RECONNECTING,
    LinkState.STALE,
    LinkState.CONNECTING,
    LinkState.LIVE,
    LinkState.STOPPED,
)


@dataclass(slots=True)
class SourceRow:
    """One live source as the hall sees it: its name, kind, where it reads, its status."""

    name: str
    kind: str
    where: str  # a URL, a listen address or a path; never a secret
    status: FeedStatus
    heartbeat: bool  # the source proves it is alive on a rhythm (v1, MQTT): its age counts
    cases: Callable[[], int] | None = None  # how many cases it holds in the store


class StatusBoard:
    """Every live source's own ``FeedStatus`` and the hall's one status over them.

    Why both: each source has its own link, counters and failures (a dead CoT listener
    must not hide behind a live v1 feed), while every panel's freshness badge and the
    status bar ask one question, "can I trust this screen?". ``hall`` answers it: the
    worst state of any source wins, counters are summed, reasons are named by source when
    there are several. With one source ``hall`` says exactly what that source says.

    Counters move without notifications (the links bump them per event), so whoever
    shows ``hall`` calls ``refresh`` before reading it (the Qt bridge does, every tick).
    """

    def __init__(self, hall: FeedStatus | None = None) -> None:
        self.hall = hall or FeedStatus()
        self.rows: list[SourceRow] = []
        self._unsubscribes: list[Callable[[], None]] = []

    def add(
        self,
        name: str,
        kind: str,
        where: str = "",
        *,
        heartbeat: bool = False,
        status: FeedStatus | None = None,
        cases: Callable[[], int] | None = None,
    ) -> FeedStatus:
        """Register a source; returns the status it writes (``status`` or a new one)."""
        if any(r.name == name for r in self.rows):
            raise ValueError(f"two sources are named {name!r}")
        row = SourceRow(name, kind, where, status or FeedStatus(), heartbeat, cases)
        self.rows.append(row)
        self._unsubscribes.append(row.status.subscribe(self._on_source))
        self.refresh()
        return row.status

    def row(self, name: str) -> SourceRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def _on_source(self, _status: FeedStatus) -> None:
        self.refresh()
        self.hall.notify()

    def worst(self) -> SourceRow | None:
        if not self.rows:
            return None
        return min(self.rows, key=lambda r: _WORST.index(r.status.state))

    def refresh(self) -> None:
        """Recompute ``hall`` from the sources (no notification)."""
        hall = self.hall
        worst = self.worst()
        if worst is None:
            return
        many = len(self.rows) > 1

        def named(row: SourceRow, text: str) -> str:
            return f"{row.name}: {text}" if many and text else text

        ws = worst.status
        hall.state, hall.since, hall.next_retry_at = ws.state, ws.since, ws.next_retry_at
        timed = [r for r in self.rows if r.heartbeat] or self.rows
        ages = [r.status.last_data_at for r in timed if r.status.last_data_at]
        # Heartbeat sources: the stalest one says how old the screen may be. Without any,
        # the newest data any source brought.
        hall.last_data_at = (
            (min(ages) if len(ages) == len(timed) else 0.0)
            if any(r.heartbeat for r in self.rows)
            else max(ages, default=0.0)
        )
        errors = [r for r in self.rows if r.status.last_error]
        first = next((r for r in errors if r is worst), errors[0] if errors else None)
        hall.last_error = named(first, first.status.last_error) if first else ""
        for counter in ("received", "applied", "duplicates", "reconnects", "resyncs"):
            setattr(hall, counter, sum(getattr(r.status, counter) for r in self.rows))
        for counter in ("quarantined", "unknown_kinds", "errors"):
            total: Counter[str] = Counter()
            for r in self.rows:
                for reason, n in getattr(r.status, counter).items():
                    total[named(r, reason)] += n
            setattr(hall, counter, total)
        bad = [
            BadEvent(b.at, named(r, b.reason), b.detail)
            for r in self.rows
            for b in r.status.recent_bad
        ]
        bad.sort(key=lambda b: b.at)
        hall.recent_bad = deque(bad[-200:], maxlen=200)

    def close(self) -> None:
        while self._unsubscribes:
            self._unsubscribes.pop()()
