"""The hall's clock face: every time shown to people is in the county's time zone.

A console's operating system may run on UTC (servers, kiosks, this project's CI); the
people in the hall read Beijing time, and the feed's timestamps are UTC epoch seconds.
One zone for the whole program, set once from settings at start-up.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"
_zone = ZoneInfo(DEFAULT_ZONE)


def set_zone(name: str) -> None:
    """Raises ValueError naming the zone when it is unknown."""
    global _zone
    try:
        _zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {name!r}") from err


def zone_name() -> str:
    return _zone.key


def local(ts: float) -> datetime:
    """Epoch seconds -> the hall's wall clock."""
    return datetime.fromtimestamp(ts, _zone)
