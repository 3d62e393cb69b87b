"""Briefing mode of the shell: a playlist of layouts and panels, shown full screen in
large type, masked, stepped by the presenter.

Why the shell re-applies layouts instead of hiding and showing panels: every briefing
screen is then built exactly like any other layout (docking, folding over the attached
monitors, teardown), and every panel on it is created with the briefing's forced mask in
its ``PanelContext``, so a panel cannot show an unmasked name by forgetting a flag: it
never received an unmasked policy. Stopping re-applies the layout shown before, as the
operator had arranged it (captured at the start), with its own masking.

The rules of sequencing (next on the last item, pause, blank) are
``commandcenter.briefing.BriefingPlayer``'s; this module drives it with a QTimer, maps
keys through ``command_for_key`` in an application-wide event filter (a presenter
remote is a keyboard sending PageUp/PageDown/B/Esc/F5 to whatever has the focus), and
renders what the player says: which item, the bar with title, "3/7" and time left, the
black cover when blanked.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QKeyCombination, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QSizePolicy, QToolBar, QWidget

from commandcenter.briefing import (
    BriefingError,
    BriefingItem,
    BriefingPlayer,
    Command,
    ItemKind,
    Playlist,
    State,
    command_for_key,
    playlist_from_layout,
)
from commandcenter.privacy import Mask
from layouts.docking import apply_docking_theme
from layouts.library import LayoutError
from widgets import registry, theme
from widgets.chrome.briefing import BlankCover, BriefingBar

if TYPE_CHECKING:
    from layouts.screen_window import ScreenWindow
    from layouts.shell import Shell

log = logging.getLogger(__name__)

_FALLBACK_TEXTS = {
    "no_playlist": "This layout has no briefing",
    "bad_playlist": "The briefing of this layout cannot be used: {error}",
    "bad_item": "Screen {position} of the briefing cannot be shown: {error}",
    "started": "Briefing started: {count} screens, {minutes} min",
    "stopped": "Briefing ended",
}

DEFAULT_BRIEFING = "leader_briefing"  # whose playlist F5 starts when the layout has none
MIN_SCALE = 1.5  # briefing type is never smaller than this (read from 5 m / a video call)
TICK_MS = 200
PANEL_ID = "briefing-panel"


def key_name(event: QKeyEvent) -> str:
    """The key as ``commandcenter.briefing.KEYMAP`` spells it ("PgDown", "Shift+F5", "B")."""
    mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    try:
        combo = QKeyCombination(mods, Qt.Key(event.key()))
    except ValueError:
        return ""
    return QKeySequence(combo).toString()


def briefing_mask(store: Any) -> Mask:
    """The policy forced onto briefing screens: on, knowing every reporter in the store
    (a description often repeats its caller's name in free text)."""
    mask = Mask(enabled=True)
    try:
        mask.learn_from_cases(store.record_at(r) for r in range(len(store)))
    except Exception:  # a store that cannot list records still gets a masked screen
        log.exception("could not learn reporter names for masking")
    return mask


class BriefingMode(QObject):
    """The shell's briefing: ``start``, ``stop``, ``command``; ``changed`` on every
    change of item, state or blank (the windows' actions follow it)."""

    changed = Signal()

    def __init__(self, shell: Shell, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(shell)
        self.shell = shell
        self.clock = clock
        self.player: BriefingPlayer | None = None
        self.timer = QTimer(self)
        self.timer.setObjectName("briefingTimer")
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        self._unsubscribe: Callable[[], None] | None = None
        self._before: tuple[dict[str, Any], str, str] | None = None
        self._scale_before: float | None = None
        self._shown: tuple[int, int] | None = None  # (index, id(item)) on screen
        self._item_title = ""
        self._bars: list[BriefingBar] = []
        self._covers: list[BlankCover] = []
        self._busy = False
        self._pending = False
        self._filtering = False
        self._restore = True  # what a stop re-applies: False when another layout is opened

    # ---- state -----------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.player is not None and self.player.state is not State.STOPPED

    @property
    def bars(self) -> list[BriefingBar]:
        return list(self._bars)

    @property
    def blanked(self) -> bool:
        return self.player is not None and self.player.blanked

    def playlist_for_current(self) -> Playlist | None:
        """The shown layout's playlist; else the leader-briefing preset's (so F5 works
        from any console); None when neither has one. Raises BriefingError when the
        layout's playlist is unusable (the operator must hear why)."""
        playlist = playlist_from_layout(self.shell.document())
        if playlist is not None:
            return playlist
        try:
            doc = self.shell.library.load(DEFAULT_BRIEFING).doc
        except LayoutError:
            return None
        return playlist_from_layout(doc)

    # ---- commands ----------------------------------------------------------------------

    def start(self, playlist: Playlist | None = None, index: int = 0) -> bool:
        """Start (or, when running, restart from ``index``); False when there is nothing
        to show (the reason is on the status bar or in ``shell.problems``)."""
        if self.active and self.player is not None and playlist is None:
            self.player.start(index=index)
            return True
        texts = self._texts()
        if playlist is None:
            try:
                playlist = self.playlist_for_current()
            except BriefingError as err:
                self.shell.show_problem(texts["bad_playlist"].format(error=err))
                return False
        if playlist is None or not playlist.items:
            self._say(texts["no_playlist"])
            return False
        if self.active:
            self.stop()
        try:
            doc = self.shell.capture_layout() if self.shell.windows else self.shell.document()
        except (LayoutError, ValueError, KeyError):
            doc = self.shell.document()
        self._before = (doc, self.shell.key, self.shell.source)
        self._scale_before = theme.current_scale()
        self.shell.forced_mask = briefing_mask(self.shell.ctx.store) if playlist.masked else None
        self.player = BriefingPlayer(playlist, clock=self.clock)
        self._unsubscribe = self.player.subscribe(self._on_player)
        app = QApplication.instance()
        if app is not None and not self._filtering:
            app.installEventFilter(self)
            self._filtering = True
        self.player.start(index=index)
        self.timer.start()
        minutes = max(1, round(playlist.total_s() / 60))
        self._say(texts["started"].format(count=len(playlist.items), minutes=minutes))
        log.info("briefing started: %d items, masked=%s", len(playlist.items), playlist.masked)
        return True

    def stop(self, restore: bool = True) -> None:
        """End the briefing; ``restore`` re-applies the layout shown before it."""
        if self.player is None:
            return
        self._restore = restore
        try:
            if self.player.state is not State.STOPPED:
                self.player.stop()  # notifies: _on_player -> _finish
            if self.player is not None:
                self._finish(restore)
        finally:
            self._restore = True

    def command(self, cmd: Command) -> None:
        """What a key or an action asked (START restarts from the first screen)."""
        if cmd is Command.START:
            self.start(index=0)
            return
        if cmd is Command.STOP:
            self.stop()
            return
        if self.player is not None:
            self.player.command(cmd, self.clock())

    def reshow(self) -> None:
        """Build the current item again (the shell's panel context changed: replay began or
        ended), keeping position, state and blank."""
        if self.player is None or not self.active:
            return
        self._shown = None
        self._on_player(self.player)

    def tick(self) -> None:
        """The timer: advance when time is up, and refresh the time left on the bars."""
        if self.player is None:
            return
        self.player.tick(self.clock())
        self._update_bars()

    # ---- reacting to the player ----------------------------------------------------------

    def _on_player(self, player: BriefingPlayer) -> None:
        if self._busy:
            self._pending = True  # a key arrived while a screen was being built
            return
        self._busy = True
        try:
            self._sync(player)
            while self._pending and self.player is player:
                self._pending = False
                self._sync(player)
        finally:
            self._busy = False
        self.changed.emit()

    def _sync(self, player: BriefingPlayer) -> None:
        if player.state is State.STOPPED:
            self._finish(self._restore)
            return
        item = player.current
        if item is None:
            return
        shown = (player.index, id(item))
        if shown != self._shown:
            self._shown = shown
            self._show(item, player.position_text())
        for cover in self._covers:
            cover.set_blank(player.blanked)
        self._update_bars()

    def _finish(self, restore: bool) -> None:
        """Leave briefing mode: timer, filter, mask, scale, and (``restore``) the layout."""
        self.timer.stop()
        if self._filtering:
            app = QApplication.instance()
            if app is not None:
                app.removeEventFilter(self)
            self._filtering = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.player = None
        self._shown = None
        self._bars, self._covers = [], []
        self.shell.forced_mask = None
        self._set_scale(self._scale_before)
        before, self._before = self._before, None
        if restore and before is not None:
            doc, key, source = before
            try:
                self.shell.apply_layout(doc, key, source)
            except (LayoutError, ValueError) as err:
                self.shell.show_problem(str(err))
        self._say(self._texts()["stopped"])
        log.info("briefing ended")
        self.changed.emit()

    # ---- showing an item ------------------------------------------------------------------

    def _show(self, item: BriefingItem, position: str) -> None:
        try:
            doc, key, source = self._doc_for(item)
        except (LayoutError, BriefingError, KeyError, ValueError) as err:
            text = self._texts()["bad_item"].format(position=position, error=err)
            self.shell.show_problem(text)
            self._item_title = item.title or item.target
            self._decorate()
            return
        self._item_title = item.title or self._default_title(item, doc)
        self._set_scale(self._scale_of(doc))
        self.shell.apply_layout(doc, key, source)
        self._decorate()

    def _doc_for(self, item: BriefingItem) -> tuple[dict[str, Any], str, str]:
        """The layout document an item shows: a saved layout (its own briefing removed,
        every screen kiosk) or one panel alone on the briefing's first screen."""
        if item.kind is ItemKind.LAYOUT:
            loaded = self.shell.library.load(item.target)
            doc = copy.deepcopy(loaded.doc)
            doc.pop("briefing", None)
            for screen in doc["screens"]:
                screen["kiosk"] = True
            return doc, loaded.key, loaded.source
        if registry.panel_class(item.target) is None:
            raise BriefingError(f"unknown panel {item.target!r}")
        before = self._before[0] if self._before else self.shell.document()
        first = (before.get("screens") or [{}])[0]
        doc = {
            "schema": "commandcenter.layout",
            "version": 1,
            "name": item.title or item.target,
            "role": before.get("role", "leader"),
            "schedule": None,
            "panels": {PANEL_ID: {"type": item.target, "settings": dict(item.settings)}},
            "screens": [
                {
                    "match": copy.deepcopy(first.get("match") or {"index": 0}),
                    "kiosk": True,
                    "scale": float(first.get("scale", 1.0)),
                    "dock": {"area": [PANEL_ID]},
                    "floating": [],
                }
            ],
        }
        return doc, self.shell.key, self.shell.source

    def _default_title(self, item: BriefingItem, doc: dict[str, Any]) -> str:
        if item.kind is ItemKind.PANEL:
            cls = registry.panel_class(item.target)
            return cls.display_title() if cls is not None else item.target
        return str(doc.get("name", item.target))

    def _scale_of(self, doc: dict[str, Any]) -> float:
        """Large type: the layout's own scale, the screen's size rule, never below 1.5."""
        scale = MIN_SCALE
        screens = self.shell.screens()
        for entry in doc.get("screens", [])[:1]:
            scale = max(scale, float(entry.get("scale", 1.0)))
        if screens:
            g = screens[0].geometry()
            scale = max(scale, theme.scale_for_screen(g.width(), g.height()))
        return min(theme.MAX_SCALE, scale)

    def _set_scale(self, scale: float | None) -> None:
        app = QApplication.instance()
        if scale is None or not isinstance(app, QApplication):
            return
        if abs(theme.current_scale() - scale) < 0.01:
            return
        theme.apply_theme(app, theme.current_theme(), scale)
        apply_docking_theme(app)

    def _decorate(self) -> None:
        """A bar at the top and a blank cover on every window of the item."""
        self._bars, self._covers = [], []
        for win in self.shell.windows:
            self._bars.append(self._add_bar(win))
            self._covers.append(BlankCover(win))
            # The audience reads the bar's title and each panel's own header: the dock
            # tabs (the same titles again) and the status line only take height.
            win.statusBar().hide()
            for area in win.manager.openedDockAreas():
                area.titleBar().hide()
        self._update_bars()

    def _add_bar(self, win: ScreenWindow) -> BriefingBar:
        tb = QToolBar(win)
        tb.setObjectName("briefingToolBar")
        tb.setMovable(False)
        tb.setFloatable(False)
        tb.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        tb.setStyleSheet("QToolBar { border: 0; padding: 0; margin: 0; spacing: 0; }")
        bar = BriefingBar(tb)
        bar.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(bar)
        win.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        return bar

    def _update_bars(self) -> None:
        player = self.player
        if player is None:
            return
        remaining = player.remaining(self.clock())
        paused = player.state is State.PAUSED
        for bar in self._bars:
            bar.show_item(
                self._item_title, player.position_text(), remaining, paused, player.masked
            )

    # ---- keys ------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Presenter keys anywhere in the shell's windows, while a briefing runs."""
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            return False
        if not self.active or not isinstance(watched, QWidget):
            return False
        if not self._ours(watched):
            return False  # a dialog (problem box, palette) keeps its keys
        assert isinstance(event, QKeyEvent)
        cmd = command_for_key(key_name(event))
        if cmd is None:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # the key is ours: no window shortcut fires, the press follows
            return True
        if not event.isAutoRepeat() or cmd in (Command.NEXT, Command.PREV):
            self.command(cmd)
        return True

    def _ours(self, widget: QWidget) -> bool:
        top = widget.window()
        if top in self.shell.windows:
            return True
        return any(top in win.manager.floatingWidgets() for win in self.shell.windows)

    # ---- messages --------------------------------------------------------------------------

    def _texts(self) -> dict[str, str]:
        if self.shell.windows:
            return self.shell.windows[0].briefing.texts()
        return _FALLBACK_TEXTS  # no window to translate with (a test without screens)

    def _say(self, text: str) -> None:
        log.info("%s", text)
        for win in self.shell.windows[:1]:
            win.statusBar().showMessage(text, 8000)
