"""The windows part of the shell: one window per monitor a layout uses, its panels
docked, fitted and kept on its monitor.

Screens are matched by ``schema.match_screens`` (name, then geometry, then index). When a
layout wants more screens than are attached it folds: the extra windows share a screen
side by side, each in its own column, so nothing is ever off-screen or hidden under a
full-screen sibling. Folding never rewrites the layout's ``match``: when the monitor is
back, the next start puts the window where it belongs. A monitor plugged in or out while
running folds the arrangement again (``refold``).

A part of ``layouts.shell.Shell`` (which composes it and holds the state it reads); it
never imports the shell, so there is no import circle.
"""

from __future__ import annotations

import logging
from typing import Any

import PySide6QtAds as ads
from PySide6.QtCore import QCoreApplication, QRect, Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QSplitter

from layouts import engine, folding
from layouts.docking import apply_docking_theme, lock_dock
from layouts.schema import LayoutError
from layouts.screen_window import ScreenWindow
from widgets import registry, theme
from widgets.base import Panel
from widgets.registry import PendingPanel

log = logging.getLogger(__name__)


class WindowsPart:
    """Creating, docking, fitting and placing the shell's windows; the panels in them."""

    windows: list[ScreenWindow]
    _panels: dict[str, tuple[Panel, ads.CDockWidget]]
    _settings_in: dict[str, dict[str, Any]]
    _pending: list[str]
    defer_heavy: bool
    _screens: list[QScreen] | None

    def screens(self) -> list[QScreen]:
        return list(self._screens) if self._screens else list(QGuiApplication.screens())

    def refold(self) -> None:
        """The monitors changed: the arrangement as it is, folded onto the monitors there
        are now (a window of a monitor gone moves back on-screen, a monitor back gets its
        screen again). A briefing rebuilds its current item the same way."""
        if not self.windows or self._quitting:
            return
        log.info("monitors changed: %d attached; folding again", len(self.screens()))
        if self.briefing.active:
            self.briefing.reshow()
            return
        try:
            doc = self.capture_layout()
        except (LayoutError, ValueError, KeyError) as err:
            log.warning("monitors changed: capture failed (%s); reopening as applied", err)
            doc = self.document()
        self.apply_layout(doc, self.key, self.source)

    def _apply_type_scale(
        self, doc: dict[str, Any], placements: list[folding.Placement], screens: list[QScreen]
    ) -> None:
        """Type large enough for the screens the layout lands on, small enough to fit them.

        Per window: the largest scale its layout screens ask for, shrunk by how much
        smaller its monitor is than the one the layout was made for
        (``folding.fitted_scale``), and at least the size rule of the monitor itself
        (``widgets.theme.scale_for_screen``: a 6656x1792 wall gets 1.65, a 1080p console
        1.0). The theme's scale is application-wide, so the smallest window's answer wins:
        type one monitor cannot hold would push panels off it. A running briefing sets
        its own."""
        briefing = getattr(self, "briefing", None)
        if briefing is not None and getattr(briefing, "active", False):
            return
        answers = []
        for p in placements:
            entries = [doc["screens"][i] for i in (p.host, *p.guests)]
            asked = max(float(e.get("scale", 1.0)) for e in entries)
            g = screens[p.monitor].geometry()
            size = (g.width(), g.height())
            answers.append(
                max(
                    folding.fitted_scale(asked, folding.made_for(entries[0]), size),
                    theme.scale_for_screen(*size),
                )
            )
        scale = min(theme.MAX_SCALE, min(answers, default=1.0))
        app = QApplication.instance()
        if isinstance(app, QApplication) and abs(theme.current_scale() - scale) >= 0.01:
            theme.apply_theme(app, theme.current_theme(), scale)
            apply_docking_theme(app)

    def _build_window(self, win: ScreenWindow) -> None:
        """Dock the window's panels: its host screen's tree with the guests' panels as
        tabs, then folded further into tabs until it fits its monitor.

        The panels are built and measured before they are docked, and the tree folded
        with their minimums first: re-docking a built tree reparents (and so repolishes)
        every panel, which cost a two-screen layout on one monitor ~0.4 s of its start.
        The measurement once docked (``_fit_window``) still decides; it re-docks only
        when the docks' title bars or splitter handles change the answer."""
        guests = [e for _i, e in win.guests]
        trees = [e.get("dock") for e in guests]
        tree = folding.fold_screens(win.entry.get("dock"), trees)
        made: dict[str, ads.CDockWidget] = {}
        if tree is not None:
            made = {pid: self._make_dock(win, pid) for pid in engine.panel_ids(tree)}
            mins = {}
            for pid, dock in made.items():
                hint = dock.minimumSizeHint()
                mins[pid] = (hint.width(), hint.height())
            tree = self._fitted(win, trees, mins, 4) or tree
        floating = [f for e in (win.entry, *guests) for f in e.get("floating") or []]
        origin = win.target_screen.geometry().topLeft()
        engine.build_dock(
            win.manager,
            tree,
            lambda pid: made.pop(pid, None) or self._make_dock(win, pid),
            floating=floating,
            origin=(origin.x(), origin.y()),
        )
        win.tree = self._fit_window(win, tree, trees)

    def _fitted(
        self, win: ScreenWindow, guests: list[Any], mins: dict[str, tuple[int, int]], handle: int
    ) -> dict[str, Any] | None:
        """The window's tree folded to fit its monitor with the panels' minimum sizes."""
        rect = win.target_rect()
        chrome = max(0, win.minimumSizeHint().height() - win.manager.minimumSizeHint().height())
        room = (rect.width(), rect.height() - chrome)
        folded = folding.fold_screens(win.entry.get("dock"), guests, mins, room, handle)
        return folding.fit_tree(folded, mins, room, handle)

    def _fit_window(
        self, win: ScreenWindow, tree: dict[str, Any] | None, guests: list[Any]
    ) -> dict[str, Any] | None:
        """Measure the built panels and, when the guests' panels fit better elsewhere or
        the minimum sizes need more than the monitor's available room, re-dock the same
        panels as ``folding`` says (no panel is built twice). Returns the tree docked."""
        if tree is None:
            return None
        docks = {d.objectName(): d for d in win.manager.dockWidgetsMap().values()}
        inside = [p for p in engine.panel_ids(tree) if p in docks]
        title = 0
        for area in win.manager.openedDockAreas():
            tabs = [d.minimumSizeHint().height() for d in area.dockWidgets()]
            if tabs:
                title = max(title, area.minimumSizeHint().height() - max(tabs))
            title = max(title, area.titleBar().sizeHint().height())
        mins = {}
        for pid in inside:
            hint = docks[pid].minimumSizeHint()
            mins[pid] = (hint.width(), hint.height() + title)
        splitters = win.manager.findChildren(QSplitter)
        handle = max((sp.handleWidth() for sp in splitters), default=4)
        rect = win.target_rect()
        chrome = max(0, win.minimumSizeHint().height() - win.manager.minimumSizeHint().height())
        room = (rect.width(), rect.height() - chrome)
        fitted = self._fitted(win, guests, mins, handle)
        if fitted is None or engine.same_tree(fitted, engine.normalise(tree), tolerance=1.0):
            self._squeeze_if_needed(win, room)
            return tree
        log.info(
            "screen %d on %s: panels folded into tabs to fit %dx%d",
            win.index,
            win.monitor_name,
            *room,
        )
        for pid in inside:
            win.manager.removeDockWidget(docks[pid])
        engine.build_dock(win.manager, fitted, lambda pid: docks[pid])
        self._squeeze_if_needed(win, room)
        return fitted

    def _squeeze_if_needed(self, win: ScreenWindow, room: tuple[int, int]) -> None:
        """The last resort when one panel alone is larger than the monitor: its content
        no longer sets a minimum (it is clipped, not pushed off the monitor)."""
        need = win.manager.minimumSizeHint()
        if need.width() <= room[0] and need.height() <= room[1]:
            return
        log.warning(
            "screen %d on %s: panels need %dx%d of %dx%d; squeezed",
            win.index,
            win.monitor_name,
            need.width(),
            need.height(),
            *room,
        )
        mode = ads.CDockWidget.eMinimumSizeHintMode.MinimumSizeHintFromDockWidget
        for dock in win.manager.dockWidgetsMap().values():
            dock.setMinimumSizeHintMode(mode)
            dock.setMinimumSize(0, 0)

    def settle(self) -> None:
        """Let the windows take their size, then set splitter proportions again (QtAds
        re-divides splitters while areas are inserted) and keep floating panels on-screen."""
        QCoreApplication.processEvents()
        for win in self.windows:
            engine.apply_sizes(win.manager, win.tree)
            self._clamp_floating(win)
            self._keep_on_monitor(win)
        QCoreApplication.processEvents()

    def _keep_on_monitor(self, win: ScreenWindow) -> None:
        """A window that grew past its monitor's available geometry (a minimum that only
        shrank after it was first laid out) goes back inside it."""
        if win.isFullScreen():
            return
        avail = win.target_rect()
        if not avail.contains(win.frameGeometry()):
            win.setGeometry(
                avail.intersected(win.geometry()) if win.geometry().intersects(avail) else avail
            )
            if not avail.contains(win.frameGeometry()):
                win.setGeometry(avail)

    def _clamp_floating(self, win: ScreenWindow) -> None:
        avail = win.target_screen.availableGeometry()
        for fc in win.manager.floatingWidgets():
            g = fc.geometry()
            w, h = min(g.width(), avail.width()), min(g.height(), avail.height())
            x = min(max(g.x(), avail.x()), avail.x() + avail.width() - w)
            y = min(max(g.y(), avail.y()), avail.y() + avail.height() - h)
            if (x, y, w, h) != (g.x(), g.y(), g.width(), g.height()):
                fc.setGeometry(QRect(x, y, w, h))

    def _make_dock(
        self, win: ScreenWindow, pid: str, spec: dict[str, Any] | None = None
    ) -> ads.CDockWidget:
        spec = spec or self._doc["panels"].get(pid) or {"type": pid, "settings": {}}
        settings = dict(spec.get("settings") or {})
        if self.defer_heavy and spec["type"] in registry.DEFERRED:
            panel: Panel = PendingPanel(self._panel_ctx, missing=spec["type"], settings=settings)
            self._pending.append(pid)
        else:
            panel = registry.create(spec["type"], self._panel_ctx, settings)
        dock = ads.CDockWidget(win.manager, panel.title())
        dock.setObjectName(pid)
        # A splitter must not squash a panel below what its content needs: squashed big
        # numbers draw over their titles and read as nonsense from across the hall.
        dock.setMinimumSizeHintMode(ads.CDockWidget.eMinimumSizeHintMode.MinimumSizeHintFromContent)
        dock.setFeature(ads.CDockWidget.DockWidgetFeature.DockWidgetDeleteOnClose, True)
        lock_dock(dock, win.kiosk)
        dock.closed.connect(lambda pid=pid: self._on_closed(pid))
        self._settings_in[pid] = settings
        self._put(pid, panel, dock)
        return dock

    def _put(self, pid: str, panel: Panel, dock: ads.CDockWidget) -> None:
        """``panel`` into ``dock``, titled and answering keys there."""
        dock.setWidget(panel, ads.CDockWidget.eInsertMode.ForceNoScrollArea)
        dock.setWindowTitle(panel.title())
        dock.setTabToolTip(panel.title())
        said = getattr(panel, "said", None)  # panels that answer keys (the case desk)
        if said is not None:
            said.connect(lambda text, error, p=panel: self._say(p, text, error))
        self._panels[pid] = (panel, dock)

    def build_pending(self) -> None:
        """Build the panels docked as placeholders at start-up (``defer_heavy``) in their
        docks; the windows are fitted again only if the built panels need more room."""
        self.defer_heavy = False
        pending, self._pending = self._pending, []
        changed = False
        for pid in pending:
            entry = self._panels.get(pid)
            if entry is None or not isinstance(entry[0], PendingPanel):
                continue  # closed meanwhile, or the layout was replaced
            old, dock = entry
            panel = registry.create(old.missing, self._panel_ctx, self._settings_in.get(pid))
            self._put(pid, panel, dock)
            old.teardown()
            old.deleteLater()
            changed = True
        if changed:
            for win in self.windows:
                win.tree = self._fit_window(win, win.tree, [e.get("dock") for _i, e in win.guests])

    def _on_closed(self, pid: str) -> None:
        """The operator closed a panel: it leaves the layout and releases what it holds."""
        entry = self._panels.pop(pid, None)
        self._settings_in.pop(pid, None)
        if entry is not None:
            entry[0].teardown()

    def _focus_start(self) -> None:
        """Keyboard first: the panel the officer works from (one with ``start_focus``, the
        case queue) has the keys when the layout opens, before any click."""
        for panel, dock in self._panels.values():
            start = getattr(panel, "start_focus", None)
            if callable(start):
                dock.toggleView(True)
                dock.raise_()
                target = start()
                target.window().activateWindow()
                target.setFocus(Qt.FocusReason.OtherFocusReason)
                return

    def _say(self, panel: Panel, text: str, error: bool) -> None:
        """A panel's answer to a key, on the status line of the window it is in now
        (panels can be dragged between screens; a floating one answers on the first)."""
        win = panel.window()
        target = win if isinstance(win, ScreenWindow) else (self.windows or [None])[0]
        if target is not None:
            target.status.say(text, error)

    def new_panel_id(self, type_name: str) -> str:
        used = set(self._panels) | set(self._doc.get("panels", {}))
        n = 1
        while f"{type_name}-{n}" in used:
            n += 1
        return f"{type_name}-{n}"

    def add_panel(
        self,
        type_name: str,
        window: ScreenWindow | None = None,
        settings: dict[str, Any] | None = None,
    ) -> str:
        """Add a panel of ``type_name`` as a new tab of the focused area of ``window``
        (a new area on the right when the window is empty); returns its id."""
        win = window or self.windows[0]
        pid = self.new_panel_id(type_name)
        dock = self._make_dock(win, pid, {"type": type_name, "settings": dict(settings or {})})
        area = None
        focused = win.manager.focusedDockWidget()
        if focused is not None and focused.dockAreaWidget() is not None:
            area = focused.dockAreaWidget()
        elif win.manager.openedDockAreas():
            area = win.manager.openedDockAreas()[-1]
        if area is not None:
            win.manager.addDockWidget(ads.CenterDockWidgetArea, dock, area)
        else:
            win.manager.addDockWidget(ads.RightDockWidgetArea, dock)
        dock.toggleView(True)
        dock.raise_()
        return pid

    def focused_panel(self, window: ScreenWindow | None = None) -> Panel | None:
        """The panel the operator is in: QtAds' focused dock, else the one holding the
        keyboard focus, else the current tab of the window's first area."""
        wins = [window] if window else self.windows
        for win in wins:
            dock = win.manager.focusedDockWidget()
            if dock is not None and isinstance(dock.widget(), Panel):
                return dock.widget()
        w = QApplication.focusWidget()
        while w is not None:
            if isinstance(w, Panel):
                return w
            w = w.parentWidget()
        for win in wins:
            areas = win.manager.openedDockAreas()
            if areas and isinstance(areas[0].currentDockWidget().widget(), Panel):
                return areas[0].currentDockWidget().widget()
        return None

    def _owner_of(self, geo: QRect, fallback: ScreenWindow) -> int:
        """The window whose area holds the centre of a floating panel (it may have been
        dragged to another screen), else the window that created it."""
        c = geo.center()
        for i, win in enumerate(self.windows):
            if win.geometry().contains(c):
                return i
        for i, win in enumerate(self.windows):
            if QRect(*win.monitor_geometry).contains(c):
                return i
        return self.windows.index(fallback)

    def monitor_origin(self, screen: int) -> tuple[int, int]:
        """Top-left of the monitor a layout screen is shown on (its host's when folded)."""
        for win in self.windows:
            if win.index == screen or any(g == screen for g, _e in win.guests):
                return win.monitor_geometry[0], win.monitor_geometry[1]
        return 0, 0

    def _teardown_windows(self) -> None:
        for panel, _dock in list(self._panels.values()):
            panel.teardown()
        self._panels.clear()
        self._pending.clear()
        self._settings_in.clear()
        for box in list(self._boxes):
            box.close()
        self._boxes.clear()
        for win in self.windows:
            win._closing = True
            win.status.teardown()
            for fc in win.manager.floatingWidgets():
                fc.hide()
            win.hide()
            win.deleteLater()
        self.windows = []
