"""Leader briefing (领导汇报) as data and as a state machine, free of Qt.

A briefing is a playlist: each item shows a saved layout or a single panel full screen for
a number of seconds, under a title in large type. The presenter steps it with the keyboard
or a presenter remote (which sends PageUp/PageDown, F5, Esc and "." or B), pauses it to
answer a question, or blanks the screen. The playlist lives in the layout document under
the optional ``"briefing"`` key, so an operator prepares it once with the layout it
belongs to and the hall opens both together.

Why Qt-free: the sequencing rules (what "next" does on the last item, what pausing does to
the remaining time, what a blank screen means) are the part worth testing exhaustively,
and they must not depend on a real clock. The shell drives ``BriefingPlayer.tick(now)``
from a timer and maps key events through ``command_for_key``; it renders what
``current``/``blanked``/``masked`` say. Every briefing screen is masked
(``commandcenter.privacy``) unless the playlist explicitly says otherwise: leaders brief
on video conferences.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from commandcenter.observable import Subscribers

BRIEFING_KEY = "briefing"  # the optional key in a layout document
FORMAT = 1
MIN_DURATION_S = 3.0
MAX_DURATION_S = 3600.0
DEFAULT_DURATION_S = 60.0


class ItemKind(StrEnum):
    LAYOUT = "layout"  # a saved layout by name (the layout library's name)
    PANEL = "panel"  # one panel type by registry name, shown alone, with its settings


@dataclass(slots=True)
class BriefingItem:
    """One screen of the briefing."""

    kind: ItemKind
    target: str  # layout name or panel registry name
    duration_s: float = DEFAULT_DURATION_S
    title: str = ""  # shown in large type above the screen; empty: the target's own title
    settings: dict[str, Any] = field(default_factory=dict)  # panel settings (PANEL only)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind.value,
            "target": self.target,
            "duration_s": self.duration_s,
            "title": self.title,
        }
        if self.settings:
            out["settings"] = dict(self.settings)
        return out

    @classmethod
    def from_json(cls, raw: Any) -> BriefingItem:
        if not isinstance(raw, dict):
            raise BriefingError("a briefing item must be an object")
        try:
            kind = ItemKind(raw.get("kind", "layout"))
        except ValueError as err:
            raise BriefingError(f"unknown briefing item kind {raw.get('kind')!r}") from err
        target = raw.get("target")
        if not isinstance(target, str) or not target.strip():
            raise BriefingError("a briefing item needs a 'target' (layout or panel name)")
        duration = raw.get("duration_s", DEFAULT_DURATION_S)
        if not isinstance(duration, int | float) or isinstance(duration, bool):
            raise BriefingError(f"{target}: 'duration_s' must be a number")
        settings = raw.get("settings", {})
        if not isinstance(settings, dict):
            raise BriefingError(f"{target}: 'settings' must be an object")
        return cls(
            kind=kind,
            target=target,
            duration_s=clamp_duration(float(duration)),
            title=str(raw.get("title", "")),
            settings=dict(settings),
        )


class BriefingError(ValueError):
    """A briefing that cannot be used, with a reason an operator can act on."""


def clamp_duration(seconds: float) -> float:
    """Durations outside 3 s .. 1 h are mistakes (a 0 would flash, a day would hang)."""
    return min(max(seconds, MIN_DURATION_S), MAX_DURATION_S)


@dataclass(slots=True)
class Playlist:
    """The ordered screens of a briefing and how it runs.

    ``masked`` is True by default and should stay so: it is written into the JSON so that
    turning it off is a visible, deliberate act in the layout file.
    """

    items: list[BriefingItem] = field(default_factory=list)
    loop: bool = False  # after the last item: start again (lobby) or hold the last screen
    masked: bool = True
    title: str = ""

    def total_s(self) -> float:
        return sum(i.duration_s for i in self.items)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "title": self.title,
            "loop": self.loop,
            "masked": self.masked,
            "items": [i.to_json() for i in self.items],
        }

    @classmethod
    def from_json(cls, raw: Any) -> Playlist:
        if not isinstance(raw, dict):
            raise BriefingError("'briefing' must be an object")
        fmt = raw.get("format", FORMAT)
        if not isinstance(fmt, int) or fmt > FORMAT:
            raise BriefingError(f"briefing format {fmt!r} is newer than this program ({FORMAT})")
        items = raw.get("items", [])
        if not isinstance(items, list):
            raise BriefingError("'briefing.items' must be a list")
        return cls(
            items=[BriefingItem.from_json(i) for i in items],
            loop=bool(raw.get("loop", False)),
            masked=bool(raw.get("masked", True)),
            title=str(raw.get("title", "")),
        )


def playlist_from_layout(doc: dict[str, Any]) -> Playlist | None:
    """The layout's briefing, or None when it has none. Raises BriefingError when the key
    is there but unusable (the caller shows why; the layout itself still opens)."""
    raw = doc.get(BRIEFING_KEY)
    if raw is None:
        return None
    return Playlist.from_json(raw)


def playlist_into_layout(doc: dict[str, Any], playlist: Playlist | None) -> dict[str, Any]:
    """A copy of the layout document carrying this playlist (None removes the key)."""
    out = dict(doc)
    if playlist is None:
        out.pop(BRIEFING_KEY, None)
    else:
        out[BRIEFING_KEY] = playlist.to_json()
    return out


# ---- keyboard / presenter remote -----------------------------------------------------------


class Command(StrEnum):
    START = "start"
    STOP = "stop"
    NEXT = "next"
    PREV = "prev"
    PAUSE = "pause"  # toggles pause/resume
    BLANK = "blank"  # toggles a black screen (presenter remotes' "blank" button)
    FIRST = "first"
    LAST = "last"


# Key names as Qt spells them without the ``Key_`` prefix (QKeySequence(key).toString()
# gives the same names): presenter remotes send PageUp/PageDown, F5 / Shift+F5 / Esc and
# "." or "B" for blank; a keyboard user has the arrows and space too.
KEYMAP: dict[str, Command] = {
    "PgDown": Command.NEXT,
    "PageDown": Command.NEXT,
    "Right": Command.NEXT,
    "Down": Command.NEXT,
    "Space": Command.NEXT,
    "Return": Command.NEXT,
    "PgUp": Command.PREV,
    "PageUp": Command.PREV,
    "Left": Command.PREV,
    "Up": Command.PREV,
    "Backspace": Command.PREV,
    "B": Command.BLANK,
    "Period": Command.BLANK,
    ".": Command.BLANK,
    "W": Command.BLANK,  # PowerPoint's white screen; here the same blank
    "F5": Command.START,
    "Shift+F5": Command.START,
    "Esc": Command.STOP,
    "Escape": Command.STOP,
    "P": Command.PAUSE,
    "Pause": Command.PAUSE,
    "Home": Command.FIRST,
    "End": Command.LAST,
}


def command_for_key(name: str) -> Command | None:
    """The briefing command for a key name (case-insensitive for letters), or None."""
    cmd = KEYMAP.get(name)
    if cmd is None and len(name) == 1:
        cmd = KEYMAP.get(name.upper())
    return cmd


# ---- the state machine -----------------------------------------------------------------------


class State(StrEnum):
    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"


class BriefingPlayer:
    """Which item is on screen, how long it has left, and whether the screen is blanked.

    Time is passed in (``now``, monotonic seconds) so the rules are testable without
    sleeping; the shell calls ``tick(time.monotonic())`` a few times a second. Observers
    (``subscribe``) hear every change of item, state or blank, never a mere tick.

    Rules: ``next`` on the last item stops unless the playlist loops (the presenter
    decides when the briefing ends, an auto-advance never does: the last item holds);
    ``prev`` on the first stays; stepping restarts the item's full duration; pausing
    freezes the remaining time; blanking does not pause (a remote's blank is "look at
    me", the playlist keeps its place and time), but a blanked briefing never advances.
    """

    def __init__(self, playlist: Playlist, clock: Callable[[], float] = time.monotonic) -> None:
        self.playlist = playlist
        self.clock = clock
        self.state = State.STOPPED
        self.index = 0
        self.blanked = False
        self._deadline = 0.0  # when PLAYING: the monotonic time the item ends
        self._remaining = 0.0  # when PAUSED: what was left
        self._subscribers: Subscribers[BriefingPlayer] = Subscribers()

    # ---- observation -----------------------------------------------------------------

    def subscribe(self, callback: Callable[[BriefingPlayer], None]) -> Callable[[], None]:
        return self._subscribers.add(callback)

    def _changed(self) -> None:
        self._subscribers.notify(self)

    @property
    def current(self) -> BriefingItem | None:
        """The item on screen; None when stopped or the playlist is empty."""
        if self.state is State.STOPPED or not self.playlist.items:
            return None
        return self.playlist.items[self.index]

    @property
    def masked(self) -> bool:
        return self.playlist.masked

    def remaining(self, now: float | None = None) -> float:
        now = self.clock() if now is None else now
        if self.state is State.PLAYING:
            return max(0.0, self._deadline - now)
        if self.state is State.PAUSED:
            return self._remaining
        return 0.0

    def position_text(self) -> str:
        """ "3/7" for the presenter's corner; empty when stopped."""
        if self.current is None:
            return ""
        return f"{self.index + 1}/{len(self.playlist.items)}"

    # ---- commands ----------------------------------------------------------------------

    def command(self, cmd: Command, now: float | None = None) -> None:
        """Do what a key (``command_for_key``) asked."""
        now = self.clock() if now is None else now
        {
            Command.START: self.start,
            Command.STOP: self.stop,
            Command.NEXT: self.next,
            Command.PREV: self.prev,
            Command.PAUSE: self.toggle_pause,
            Command.BLANK: self.toggle_blank,
            Command.FIRST: lambda now: self.goto(0, now),
            Command.LAST: lambda now: self.goto(len(self.playlist.items) - 1, now),
        }[cmd](now)

    def start(self, now: float | None = None, index: int = 0) -> None:
        """Start (or restart) from ``index``; a running briefing restarts from there too."""
        if not self.playlist.items:
            return
        self.blanked = False
        self._enter(max(0, min(index, len(self.playlist.items) - 1)), now)

    def stop(self, now: float | None = None) -> None:
        if self.state is State.STOPPED and not self.blanked:
            return
        self.state = State.STOPPED
        self.blanked = False
        self._changed()

    def toggle_pause(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        if self.state is State.PLAYING:
            self._remaining = max(0.0, self._deadline - now)
            self.state = State.PAUSED
        elif self.state is State.PAUSED:
            self._deadline = now + self._remaining
            self.state = State.PLAYING
        else:
            return
        self._changed()

    def toggle_blank(self, now: float | None = None) -> None:
        if self.state is State.STOPPED:
            return
        self.blanked = not self.blanked
        self._changed()

    def next(self, now: float | None = None) -> None:
        if self.state is State.STOPPED:
            self.start(now)
            return
        if self.index + 1 < len(self.playlist.items):
            self._enter(self.index + 1, now, keep_paused=True)
        elif self.playlist.loop:
            self._enter(0, now, keep_paused=True)
        else:
            self.stop(now)

    def prev(self, now: float | None = None) -> None:
        if self.state is State.STOPPED:
            return
        self._enter(max(0, self.index - 1), now, keep_paused=True)

    def goto(self, index: int, now: float | None = None) -> None:
        if not self.playlist.items or not 0 <= index < len(self.playlist.items):
            return
        if self.state is State.STOPPED:
            self.start(now, index)
        else:
            self._enter(index, now, keep_paused=True)

    def tick(self, now: float | None = None) -> None:
        """Advance when the current item's time is up (never while paused or blanked)."""
        now = self.clock() if now is None else now
        if self.state is not State.PLAYING or self.blanked or now < self._deadline:
            return
        if self.index + 1 < len(self.playlist.items):
            self._enter(self.index + 1, now)
        elif self.playlist.loop:
            self._enter(0, now)
        else:
            # Hold the last screen: the presenter ends the briefing, not the clock.
            self._deadline = float("inf")

    def _enter(self, index: int, now: float | None, keep_paused: bool = False) -> None:
        now = self.clock() if now is None else now
        self.index = index
        self.blanked = False
        duration = self.playlist.items[index].duration_s
        if keep_paused and self.state is State.PAUSED:
            self._remaining = duration
        else:
            self.state = State.PLAYING
            self._deadline = now + duration
        self._changed()
