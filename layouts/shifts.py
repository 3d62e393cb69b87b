"""Layouts bound to shifts switch in the running console at the shift change.

Why edges, not levels: ``layouts.schedule.pick`` says which bound layout covers an
instant; switching whenever the answer differs from the layout shown would undo every
layout the officer opens by hand. So the console acts only when the answer *changes*
(a shift starts): a notice counts down (``notice_seconds``, 30 by default) on every
screen, then the layout switches, unless the officer pressed Stay, which keeps the
layout shown until the next change. Only layouts with a schedule take part: a gap
between shifts keeps what is shown (``schedule`` rule 3 without a default). A briefing
running is not cut off nor overlaid: the notice waits for its end and then counts down
from the start.

Time is the store's clock (the feed's, so a replayed or simulated day changes shift on
its own time) read in the hall's zone (``commandcenter.hall_time``, via ``schedule``).
The shell ticks this every few seconds; tests call ``tick`` with a clock they move.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from layouts import schedule
from layouts.library import Entry
from widgets import i18n
from widgets.chrome.shift_notice import ShiftNotice

if TYPE_CHECKING:
    from layouts.shell import Shell

log = logging.getLogger(__name__)

NOTICE_SECONDS = 30.0
TICK_MS = 5_000  # while nothing is pending: a shift starts within 5 s of its time
NOTICE_TICK_MS = 1_000  # while counting down


@dataclass(slots=True)
class Pending:
    entry: Entry  # the layout to switch to
    due: float  # clock time of the switch

    @property
    def key(self) -> str:
        return self.entry.key

    @property
    def name(self) -> str:
        """Its name in the interface's language."""
        return self.entry.title(i18n.is_chinese())


class ShiftSwitcher(QObject):
    """Watches the bound layouts and switches the shell's layout at a shift change."""

    def __init__(
        self,
        shell: Shell,
        clock: Callable[[], float],
        notice_seconds: float = NOTICE_SECONDS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or shell)
        self.shell = shell
        self.clock = clock
        self.notice_seconds = float(notice_seconds)
        self.pending: Pending | None = None
        self.stayed: str = ""  # the key the officer stayed away from, for this shift
        self._last: str | None = None  # the bound layout picked at the last tick
        self._armed = False  # the first tick only learns what is picked (no switch at start)
        self._notices: list[ShiftNotice] = []
        self.timer = QTimer(self, interval=TICK_MS)
        self.timer.timeout.connect(self.tick)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._hide_notices()

    # ---- the rule ------------------------------------------------------------------

    def bound(self) -> list[dict[str, Any]]:
        """The layouts with a schedule, in the library's order (user layouts first; a
        user copy of a preset hides the preset), as the documents ``schedule`` reads."""
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for e in self.shell.library.entries():
            if e.key in seen or e.problem:
                continue
            seen.add(e.key)
            if e.schedule:
                out.append({"name": e.name, "schedule": e.schedule, "key": e.key, "entry": e})
        return out

    def tick(self) -> None:
        """Look at the clock: start a notice at a shift change, switch when it is due."""
        now = self.clock()
        docs = self.bound()
        try:
            picked = schedule.pick(docs, now)
        except (ValueError, KeyError) as err:  # a schedule the schema let through, broken
            log.warning("shift schedule unreadable: %s", err)
            picked = None
        key = picked["key"] if picked else None
        changed, self._last = key != self._last, key
        if not self._armed:
            self._armed = True  # at start the startup rule chose the layout
        elif changed and picked is not None:
            self.stayed = ""
            if key == self.shell.key:
                self._cancel()
            else:
                self.pending = Pending(picked["entry"], now + self.notice_seconds)
                log.info("shift change: %s in %.0f s", picked["name"], self.notice_seconds)
        if self.pending is not None:
            if self.pending.key == self.shell.key:
                self._cancel()
            elif self.shell.briefing.active:
                # Not in front of a briefing's audience: after it, a full notice again.
                self.pending.due = max(self.pending.due, now + self.notice_seconds)
                self._hide_notices()
            elif now >= self.pending.due:
                due, self.pending = self.pending, None
                self._hide_notices()
                log.info("shift change: switching to %s", due.name)
                self.shell.open_layout(due.key, due.entry.source)
            else:
                self._show_notices(self.pending.name, round(self.pending.due - now))
        self.timer.setInterval(NOTICE_TICK_MS if self.pending else TICK_MS)

    def stay(self) -> None:
        """The officer keeps the layout shown: no switch until the next shift change."""
        if self.pending is not None:
            log.info("shift change to %s declined: staying", self.pending.name)
            self.stayed = self.pending.key
        self._cancel()

    def _cancel(self) -> None:
        self.pending = None
        self._hide_notices()

    # ---- the notice on every screen -------------------------------------------------

    def _show_notices(self, name: str, seconds: int) -> None:
        self._notices = [n for n in self._notices if _alive(n)]  # windows are rebuilt
        have = {id(n.window()) for n in self._notices}
        for win in self.shell.windows:
            if id(win) not in have:
                notice = ShiftNotice(win.status)
                notice.stay.connect(self.stay)
                win.status.addPermanentWidget(notice)
                self._notices.append(notice)
        for notice in self._notices:
            notice.show_countdown(name, seconds)

    def _hide_notices(self) -> None:
        for notice in self._notices:
            if _alive(notice):
                notice.hide()
                notice.deleteLater()
        self._notices = []

    def notices(self) -> list[ShiftNotice]:
        """The notices shown now (one per window)."""
        return [n for n in self._notices if _alive(n) and n.isVisible()]


def _alive(widget: ShiftNotice) -> bool:
    try:
        widget.objectName()
    except RuntimeError:
        return False
    return True
