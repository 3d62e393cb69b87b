"""Windows of time a number is counted over: whole local days of the hall's zone.

A leader's "today" starts at midnight in the hall, not at 00:00 UTC, and a figure over
whole days does not drift second by second; the previous window of equal length is what
a rank change or a trend compares with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

import numpy as np

from commandcenter import hall_time

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_TS_MIN, _TS_MAX = 0.0, 4_102_444_800.0  # 1970 .. 2100: day numbers of absurd times are clipped


class DayCalendar:
    """Local calendar days of a time zone as integers (days since 1970-01-01, local).

    Windows are whole local days because a leader's "today" starts at midnight in the hall,
    not at 00:00 UTC, and a table over whole days does not drift second by second.
    Timestamps map to days by a binary search over the local midnights, so days of 23 or
    25 hours (daylight saving time) come out right.
    """

    def __init__(self, zone: str | tzinfo | None = None) -> None:
        if zone is None:
            zone = hall_time.zone_name()
        self.zone: tzinfo = ZoneInfo(zone) if isinstance(zone, str) else zone
        self._lo = 0
        self._midnights = np.empty(0)

    def midnight(self, day: int) -> float:
        d = date.fromordinal(int(day) + _EPOCH_ORDINAL)
        return datetime(d.year, d.month, d.day, tzinfo=self.zone).timestamp()

    def _cover(self, lo: int, hi: int) -> None:
        if len(self._midnights) and lo >= self._lo and hi < self._lo + len(self._midnights) - 1:
            return
        if len(self._midnights):
            lo = min(lo, self._lo)
            hi = max(hi, self._lo + len(self._midnights) - 2)
        self._lo = lo
        self._midnights = np.array([self.midnight(d) for d in range(lo, hi + 2)])

    def days(self, ts: np.ndarray) -> np.ndarray:
        """Local day number of each timestamp (int64)."""
        t = np.clip(np.nan_to_num(np.asarray(ts, dtype=np.float64)), _TS_MIN, _TS_MAX)
        if not len(t):
            return np.empty(0, dtype=np.int64)
        lo = int(t.min() // 86400) - 2
        hi = int(t.max() // 86400) + 2
        self._cover(lo, hi)
        return self._lo + np.searchsorted(self._midnights, t, side="right").astype(np.int64) - 1

    def day(self, ts: float) -> int:
        return int(self.days(np.array([ts]))[0])

    def is_midnight(self, ts: float) -> bool:
        return math.isfinite(ts) and self.midnight(self.day(ts)) == ts

    def whole_days(self, span: Span) -> tuple[int, int] | bool | None:
        """Days [d0, d1) of a span made of whole local days; None for all time; False when
        it is neither (running counts kept per day answer only the first two)."""
        if span.start == -math.inf and span.end == math.inf:
            return None
        if self.is_midnight(span.start) and self.is_midnight(span.end):
            return self.day(span.start), self.day(span.end)
        return False


@dataclass(frozen=True, slots=True)
class Span:
    """A resolved window: cases with ``start <= created_ts < end``."""

    start: float
    end: float

    def contains(self, created: np.ndarray) -> np.ndarray:
        return (created >= self.start) & (created < self.end)


@dataclass(frozen=True, slots=True)
class Window:
    """What a leader picks: today, the last N days, a custom span, or all time.

    ``resolve`` turns it into the span at ``now`` and the previous span of equal length,
    the one the rank change compares with.
    """

    kind: str  # "days" | "custom" | "all"
    days: int = 0
    start: float = 0.0
    end: float = 0.0

    def __post_init__(self) -> None:
        if self.kind == "days" and self.days < 1:
            raise ValueError("a window of days needs days >= 1")
        if self.kind == "custom" and not self.end > self.start:
            raise ValueError("a custom window needs end > start")
        if self.kind not in ("days", "custom", "all"):
            raise ValueError(f"unknown window kind {self.kind!r}")

    @classmethod
    def today(cls) -> Window:
        return cls("days", 1)

    @classmethod
    def last_days(cls, n: int) -> Window:
        """Today and the n - 1 days before it (近n日)."""
        return cls("days", n)

    @classmethod
    def custom(cls, start: float, end: float) -> Window:
        return cls("custom", start=float(start), end=float(end))

    @classmethod
    def all_time(cls) -> Window:
        return cls("all")

    @property
    def label(self) -> str:
        if self.kind == "days":
            return "today" if self.days == 1 else f"{self.days}d"
        return self.kind

    def resolve(self, now: float, calendar: DayCalendar) -> tuple[Span, Span | None]:
        if self.kind == "all":
            return Span(-math.inf, math.inf), None
        if self.kind == "custom":
            length = self.end - self.start
            return Span(self.start, self.end), Span(self.start - length, self.start)
        today = calendar.day(now)
        d0, d1 = today - self.days + 1, today + 1
        start, end = calendar.midnight(d0), calendar.midnight(d1)
        return Span(start, end), Span(calendar.midnight(d0 - self.days), start)


TODAY = Window.today()
LAST_7_DAYS = Window.last_days(7)
LAST_30_DAYS = Window.last_days(30)
ALL_TIME = Window.all_time()
NOW: Window | None = None  # a stock metric (open, overdue now) has no window: it is "as of"
