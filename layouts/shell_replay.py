"""The replay part of the shell: the ``TimeTravel`` controller's effect on screen.

Every window's status bar carries a ``TimeSlider``; entering replay rebuilds the panels
with a ``PanelContext`` whose store is the controller's rebuilt past (``tt.view``), read
through a second ``LiveBridge`` over that store, with no outbox, audit or alarm engine
(the past cannot be acted on, and replayed alarms must not reach the audit log).
Rebuilding rather than re-pointing panels means a panel cannot keep a stray reference to
the live store. Every window is marked (``widgets.chrome.replay``); back to live rebuilds
with the live context and closes the second bridge.

A part of ``layouts.shell.Shell``, which composes it; it never imports the shell.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from commandcenter.timetravel import Mode, TimeTravel, TimeTravelState
from layouts.schema import LayoutError
from layouts.screen_window import ScreenWindow
from widgets.base import PanelContext
from widgets.live import LiveBridge

log = logging.getLogger(__name__)


class ReplayPart:
    """Live or replay: the panels' context, the windows' marks and replay actions."""

    timetravel: TimeTravel | None
    _replay_bridge: LiveBridge | None
    _replaying: bool
    _tt_undo: Callable[[], None] | None

    @property
    def replaying(self) -> bool:
        return self._replaying

    def replay_ts(self) -> float | None:
        """The feed time every window shows while replaying; None when live."""
        tt = self.timetravel
        return tt.replay_ts if tt is not None and self._replaying else None

    def replay_minutes_back(self, minutes: float) -> bool:
        """Show the county as it was ``minutes`` ago (clamped to the journal); False
        without a journal or before the first checkpoint."""
        if self.timetravel is None:
            return False
        try:
            self.timetravel.seek_back(minutes * 60.0)
        except LookupError as err:  # nothing journaled yet
            log.warning("replay: %s", err)
            return False
        return True

    def back_to_live(self) -> None:
        if self.timetravel is not None:
            self.timetravel.back_to_live()

    def _on_time_travel(self, state: TimeTravelState) -> None:
        """Mode changes rebuild the panels over the other store; a seek within replay only
        moves the marks (the replay store publishes a reset and the panels repaint)."""
        replaying = state.mode is Mode.REPLAY and self.timetravel is not None
        if replaying != self._replaying:
            old_bridge = self._replay_bridge
            if replaying:
                assert self.timetravel is not None
                self._replay_bridge = LiveBridge(self.timetravel.view, self.ctx.status)
                self._replay_bridge.setObjectName("replayBridge")
            self._replaying = replaying
            self._rebuild()
            if not replaying and old_bridge is not None:
                self._replay_bridge = None
                old_bridge.close()  # after the panels that listened to it are gone
                old_bridge.deleteLater()
            log.info(
                "time travel: %s%s",
                state.mode.value,
                f" at {state.replay_ts:.0f}" if state.replay_ts is not None else "",
            )
        else:
            self._mark_windows()

    def _rebuild(self) -> None:
        """The same arrangement again, its panels built over the other context."""
        if not self.windows:
            self._panel_ctx = self.panel_context(self._doc)
            return
        if self.briefing.active:
            self.briefing.reshow()
            return
        try:
            doc = self.capture_layout()
        except (LayoutError, ValueError, KeyError):
            doc = self.document()
        self.apply_layout(doc, self.key, self.source)

    def _mark_windows(self) -> None:
        ts = self.replay_ts()
        for win in self.windows:
            if ts is not None:
                fresh = not win.replay_marks.shown
                banner = win.replay_marks.show_replay(ts)
                if fresh:
                    banner.back.clicked.connect(self.back_to_live)
            else:
                win.replay_marks.clear()
            win.retranslate()
            self._sync_replay_actions(win)

    def _sync_replay_actions(self, win: ScreenWindow) -> None:
        win.replay.set_state(replaying=self._replaying, briefing=self.briefing.active)
        for act in (win.replay.replay_1h, win.replay.replay_24h):
            act.setEnabled(self.timetravel is not None)

    def _close_replay_bridge(self) -> None:
        bridge, self._replay_bridge = self._replay_bridge, None
        if bridge is not None:
            bridge.close()
            bridge.deleteLater()

    def _base_context(self) -> PanelContext:
        """The shell's context, or while replaying the read-only one over the past: the
        rebuilt store, its own bridge, and no outbox/audit/alarms (``ctx.outbox is None``
        is what the case panels read as "no actions here")."""
        if not self._replaying or self.timetravel is None or self._replay_bridge is None:
            return self.ctx
        return dataclasses.replace(
            self.ctx,
            store=self.timetravel.view,
            bridge=self._replay_bridge,
            outbox=None,
            audit=None,
            alarms=None,  # the context builds one over the past (shown, never sounded)
            replay=True,
        )
