"""Shared selection: what the officer is looking at, so panels follow each other without
talking to each other (the map selects, the queue and the detail follow)."""

from __future__ import annotations

from collections.abc import Callable

from commandcenter.observable import Subscribers


class Selection:
    """Selected case ids, and which panel selected them (so it does not echo itself)."""

    def __init__(self) -> None:
        self.case_ids: tuple[str, ...] = ()
        self.origin: str = ""
        self._subscribers: Subscribers[Selection] = Subscribers()

    def select(self, case_ids: list[str] | tuple[str, ...], origin: str = "") -> None:
        ids = tuple(dict.fromkeys(case_ids))
        if ids == self.case_ids:
            return
        self.case_ids = ids
        self.origin = origin
        self._subscribers.notify(self)

    def clear(self, origin: str = "") -> None:
        self.select((), origin)

    def subscribe(self, callback: Callable[[Selection], None]) -> Callable[[], None]:
        return self._subscribers.add(callback)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
