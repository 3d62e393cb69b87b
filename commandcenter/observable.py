"""Callbacks with an unsubscribe: the one subscription pattern of the core.

Every subscription returns the function that undoes it, so a closed panel can leave
nothing behind (the Panel base calls them all at teardown).
"""

from __future__ import annotations

from collections.abc import Callable


class Subscribers[T]:
    __slots__ = ("_callbacks",)

    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], None]] = []

    def add(self, callback: Callable[[T], None]) -> Callable[[], None]:
        """Subscribe ``callback``; returns the unsubscribe (safe to call twice)."""
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def notify(self, value: T) -> None:
        for cb in list(self._callbacks):  # a callback may unsubscribe itself
            cb(value)

    def __len__(self) -> int:
        return len(self._callbacks)
