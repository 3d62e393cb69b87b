"""Which layout to show now: layouts bound to hours of the day (day shift, night shift).

A layout document may carry ``"schedule": {"from": "HH:MM", "to": "HH:MM"}`` in the hall's
time zone (``commandcenter.hall_time``, Asia/Shanghai by default, whatever the machine's
zone). Qt-free so the rule can be tested at any instant without waiting for it.

The rule, so that the same inputs always give the same screen:

1. A window ``from`` -> ``to`` covers ``from <= t < to`` (start included, end excluded, so
   08:00-20:00 and 20:00-08:00 hand over at exactly 08:00 and 20:00 without overlap).
   When ``to`` is earlier than ``from`` it wraps midnight (night 20:00-08:00 covers 23:00
   and 03:00). ``from == to`` covers the whole day.
2. When several windows cover ``t`` (overlap), the **narrowest** wins (a 12:00-13:00
   briefing inside a 08:00-20:00 day shift shows during its hour); equal widths go to the
   one **earlier in the list** (the caller passes the library's order).
3. When none covers ``t`` (a gap), the **first layout without a schedule** is shown (the
   operator's default); with none, the scheduled layout that **ended most recently** stays
   (a gap keeps the screen as it was rather than blanking it).
4. No layouts at all: None.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from commandcenter import hall_time

DAY_MINUTES = 24 * 60


def parse_hhmm(text: str) -> int:
    """'HH:MM' -> minutes after midnight; ValueError when it is not a time of day."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise ValueError(f"not HH:MM: {text!r}")
    h, m = text[:2], text[3:]
    if not (h.isdigit() and m.isdigit()) or int(h) > 23 or int(m) > 59:
        raise ValueError(f"not HH:MM: {text!r}")
    return int(h) * 60 + int(m)


def window(doc: dict[str, Any]) -> tuple[int, int] | None:
    """(start, end) minutes of a layout's schedule, or None when it has none."""
    sched = doc.get("schedule")
    if not sched:
        return None
    return parse_hhmm(sched["from"]), parse_hhmm(sched["to"])


def width(win: tuple[int, int]) -> int:
    """Minutes the window covers (a whole day when start == end)."""
    start, end = win
    return (end - start) % DAY_MINUTES or DAY_MINUTES


def covers(win: tuple[int, int], minute: int) -> bool:
    """Whether ``minute`` (0..1439) is inside the window (start in, end out; wraps)."""
    start, end = win
    if start == end:
        return True
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def minute_of_day(when: datetime | float) -> int:
    """Minutes after midnight in the hall's zone, from epoch seconds or a datetime
    (an aware datetime is converted to the hall's zone; a naive one is taken as hall time)."""
    if isinstance(when, datetime):
        local = when.astimezone(hall_time.local(0).tzinfo) if when.tzinfo else when
    else:
        local = hall_time.local(float(when))
    return local.hour * 60 + local.minute


def pick(docs: Sequence[dict[str, Any]], when: datetime | float) -> dict[str, Any] | None:
    """The layout to show at ``when`` by the rule in this module's docstring."""
    if not docs:
        return None
    t = minute_of_day(when)
    best: tuple[int, int] | None = None  # (width, index)
    for i, doc in enumerate(docs):
        win = window(doc)
        if win is not None and covers(win, t):
            key = (width(win), i)
            if best is None or key < best:
                best = key
    if best is not None:
        return docs[best[1]]
    for doc in docs:
        if window(doc) is None:
            return doc
    # A gap and no default: the one that ended most recently (least time since its end).
    ended: list[tuple[int, int]] = []
    for i, doc in enumerate(docs):
        win = window(doc)
        if win is not None:
            ended.append(((t - win[1]) % DAY_MINUTES, i))
    return docs[min(ended)[1]] if ended else None


def next_change(docs: Sequence[dict[str, Any]], when: datetime | float) -> int | None:
    """Minutes from ``when`` until the layout picked may change (the next window start or
    end), so a shell can sleep until then; None when no layout has a schedule."""
    t = minute_of_day(when)
    edges = {e for doc in docs if (win := window(doc)) is not None for e in win}
    if not edges:
        return None
    return min((e - t) % DAY_MINUTES or DAY_MINUTES for e in edges)
