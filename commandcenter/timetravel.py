"""Live or replay: which store the panels read, and what time they show.

Why a controller and not a flag in the store: the live store must keep applying the feed
while the officer looks back (returning to live must be instant and must not miss what
happened meanwhile), so the past is rebuilt in a *second* store from the journal. Panels
read ``view``; when the mode changes every subscriber is told, and panels rebind to the
new ``view`` (or, simplest, repaint from it on the ``reset`` change set it publishes).

Qt-free, like the rest of the core: the time slider widget drives it, tests drive it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from commandcenter.journal import Journal, SeekResult
from commandcenter.observable import Subscribers
from commandcenter.store import Store

DEFAULT_WINDOW_S = 24 * 3600.0


class Mode(StrEnum):
    LIVE = "live"
    REPLAY = "replay"


@dataclass(slots=True, frozen=True)
class TimeTravelState:
    """What a subscriber is told on every change."""

    mode: Mode
    replay_ts: float | None  # the feed time shown while replaying; None when live
    last_seek: SeekResult | None


class TimeTravel:
    def __init__(
        self, live: Store, journal: Journal, *, window_s: float = DEFAULT_WINDOW_S
    ) -> None:
        self.live = live
        self.journal = journal
        self.window_s = window_s
        self.mode = Mode.LIVE
        self.replay_ts: float | None = None
        self.last_seek: SeekResult | None = None
        self._replay: Store | None = None
        self._subscribers: Subscribers[TimeTravelState] = Subscribers()

    # ---- reading -----------------------------------------------------------------------

    @property
    def view(self) -> Store:
        """The store panels should read now: the live one, or the rebuilt past."""
        if self.mode is Mode.REPLAY and self._replay is not None:
            return self._replay
        return self.live

    @property
    def is_live(self) -> bool:
        return self.mode is Mode.LIVE

    def now(self) -> float:
        """The live feed's present (the right end of the slider)."""
        return self.live.clock.now()

    def bounds(self) -> tuple[float, float]:
        """(earliest, latest) time one can seek to: the last ``window_s`` seconds of the
        live clock, narrowed to what the journal holds, and widened to the start of any
        imported history (months of another system's records are there to be looked at)."""
        now = self.now()
        lo = now - self.window_s
        got = self.journal.bounds()
        if got is not None:
            lo = max(lo, got[0])
            imported = [float(t_first) for _key, t_first, *_ in self.journal.history()]
            if imported:
                lo = min(lo, *imported)
        return lo, now

    def state(self) -> TimeTravelState:
        return TimeTravelState(self.mode, self.replay_ts, self.last_seek)

    # ---- moving ------------------------------------------------------------------------

    def seek(self, ts: float) -> SeekResult:
        """Show the county as it was at feed time ``ts``; the live store keeps applying."""
        if self._replay is None:
            self._replay = Store(policy=self.live.policy)
        if self.live.geography and self._replay.geography is not self.live.geography:
            self._replay.set_geography(self.live.geography)
        result = self.journal.seek_into(self._replay, ts)
        shown = ts if not result.clamped else result.reached
        # Countdowns and ages are computed "as of then": a frozen clock at the chosen time.
        self._replay.set_clock(shown, rate=0.0)
        self.mode = Mode.REPLAY
        self.replay_ts = shown
        self.last_seek = result
        self._notify()
        return result

    def seek_back(self, seconds: float) -> SeekResult:
        return self.seek(self.now() - seconds)

    def back_to_live(self) -> None:
        if self.mode is Mode.LIVE:
            return
        self.mode = Mode.LIVE
        self.replay_ts = None
        self._notify()

    def subscribe(self, callback: Callable[[TimeTravelState], None]) -> Callable[[], None]:
        """Called on every mode change and seek; returns the unsubscribe."""
        return self._subscribers.add(callback)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def _notify(self) -> None:
        self._subscribers.notify(self.state())


def wall_to_feed(live: Store, wall_ts: float) -> float:
    """A wall-clock time -> the feed's time (they differ when the demo runs faster)."""
    return live.clock.now() - (time.time() - wall_ts) * live.clock.rate
