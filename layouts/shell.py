"""The shell: one docking window per screen a layout uses, built from the layout and
captured back into it.

Why one top-level window per screen (not one window stretched over the desktop): each
monitor of a hall is its own surface with its own full-screen or kiosk state, and
operating systems and window managers maximise, full-screen and restore per monitor.
Each ``ScreenWindow`` has its own ``CDockManager``; panels can still float to any screen.

Screens are matched by ``schema.match_screens`` (name, then geometry, then index). When a
layout wants more screens than are attached it folds: the extra windows share a screen
side by side, each in its own column, so nothing is ever off-screen or hidden under a
full-screen sibling. Folding never rewrites the layout's ``match``: when the monitor is
back, the next start puts the window where it belongs.

The actions of every window (menus, shortcuts, the command palette) are declared in
``widgets/palette.py`` with their translations and wired here, because widgets never
import layouts.

Time travel: the shell owns the ``TimeTravel`` controller's effect on screen. Every
window's status bar carries a ``TimeSlider``; entering replay rebuilds the panels with a
``PanelContext`` whose store is the controller's rebuilt past (``tt.view``), read through
a second ``LiveBridge`` over that store, with no outbox, audit or alarm engine (the past
cannot be acted on, and replayed alarms must not reach the audit log). Rebuilding rather
than re-pointing panels means a panel cannot keep a stray reference to the live store.
Every window is marked (``widgets.chrome.replay``); back to live rebuilds with the live context
and closes the second bridge.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import PySide6QtAds as ads
from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QObject,
    QRect,
    QSize,
    QStandardPaths,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QDesktopServices, QGuiApplication, QScreen
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QToolButton,
)

from commandcenter.briefing import Command
from commandcenter.domain import Role
from commandcenter.privacy import Mask
from commandcenter.timetravel import Mode, TimeTravel, TimeTravelState
from layouts import engine, folding, roles, schema
from layouts.briefing_mode import BriefingMode
from layouts.docking import (
    apply_docking_theme,
    configure_docking,
    lock_dock,
    lock_docks,
    retranslate_docking,
)
from layouts.library import BUILTIN, DEFAULT_PRESET, PRESET, USER, LayoutLibrary, builtin_layout
from layouts.schema import LayoutError, ScreenInfo
from layouts.shifts import ShiftSwitcher
from widgets import i18n, registry, theme
from widgets.base import Panel, PanelContext
from widgets.cases.common import role_label
from widgets.chrome.briefing import BlankCover, BriefingCommands
from widgets.chrome.palette import CommandPalette, ScheduleDialog, ShellCommands
from widgets.chrome.replay import ReplayCommands, ReplayDecoration
from widgets.chrome.report import export_briefing
from widgets.chrome.sources_dialog import SourcesDialog, sources_action
from widgets.chrome.statusbar import HallStatusBar, screen_label
from widgets.chrome.timeslider import TimeSlider
from widgets.live import LiveBridge
from widgets.masking import masks_for
from widgets.registry import PendingPanel, PlaceholderPanel, panel_widget_name

log = logging.getLogger(__name__)


def screen_info(screens: list[QScreen]) -> list[ScreenInfo]:
    """QScreens as the plain data ``schema.match_screens`` works on."""
    out = []
    for i, s in enumerate(screens):
        g = s.geometry()
        out.append(ScreenInfo(i, s.name(), (g.x(), g.y(), g.width(), g.height())))
    return out


def layout_role(doc: dict[str, Any]) -> Role | None:
    """The role a layout is for (its case actions follow it: ``widgets/cases/desk.py``);
    None for a role this version does not know (the schema reported it on load)."""
    try:
        return Role(doc.get("role") or Role.DUTY_OFFICER.value)
    except ValueError:
        return None


class ScreenWindow(QMainWindow):
    """The window of one layout screen: a dock manager, menus, status bar."""

    def __init__(self, shell: Shell, index: int, entry: dict[str, Any], screen: QScreen) -> None:
        super().__init__()
        self.setObjectName(f"screenWindow-{index}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.shell = shell
        self.index = index
        self.entry = entry
        self.target_screen = screen
        # What the monitor was when the window was made: kept as plain data because a
        # monitor unplugged while running takes its QScreen with it.
        g = screen.geometry()
        self.monitor_name = screen.name()
        self.monitor_geometry = [g.x(), g.y(), g.width(), g.height()]
        self.guests: list[tuple[int, dict[str, Any]]] = []  # layout screens folded in
        self.tree: dict[str, Any] | None = None  # the docking tree as built (folded, fitted)
        self.kiosk = bool(entry.get("kiosk", False))
        self.manager = ads.CDockManager(self)
        self.manager.setObjectName(f"dockManager-{index}")
        for made in (
            self.manager.dockAreaCreated,
            self.manager.dockWidgetAdded,
            self.manager.floatingWidgetCreated,
        ):
            made.connect(lambda *_: retranslate_docking(self.manager))
        self.commands = ShellCommands(self)
        self.setMenuBar(self.commands.menu_bar)
        self.briefing = BriefingCommands(self, self.commands.view_menu, self.commands.layout_menu)
        self.status = HallStatusBar(shell.ctx.bridge, self)
        self.setStatusBar(self.status)
        self.replay = ReplayCommands(self, self.commands.view_menu)
        self.replay_marks = ReplayDecoration(self)
        if shell.timetravel is not None:
            self.status.set_time_slider(TimeSlider(shell.timetravel, self.status))
        self.lang_button = QToolButton(objectName="langToggle")
        self.lang_button.clicked.connect(shell.toggle_language)
        self.commands.menu_bar.setCornerWidget(self.lang_button)
        self._closing = False
        self.retranslate()

    # -- placement
    @property
    def folded(self) -> bool:
        return bool(self.guests)

    def target_rect(self) -> QRect:
        """Where the window goes: its monitor's available geometry (all of it in kiosk)."""
        screen = self.target_screen
        return screen.geometry() if self.kiosk else screen.availableGeometry()

    def place(self, size: QSize | None = None) -> None:
        """Put the window on its screen, in kiosk, full-screen or normal state, and show it."""
        self.setScreen(self.target_screen)
        flags = self.windowFlags()
        frameless = bool(flags & Qt.WindowType.FramelessWindowHint)
        if self.kiosk != frameless:
            self.setWindowFlag(Qt.WindowType.FramelessWindowHint, self.kiosk)
        self.menuBar().setVisible(not self.kiosk)
        rect = self.target_rect()
        if size is not None and not self.kiosk:  # --geometry, never beyond the monitor
            rect = QRect(
                rect.topLeft(),
                QSize(min(size.width(), rect.width()), min(size.height(), rect.height())),
            )
        layout = self.layout()
        if layout is not None:  # the minimum of panels re-docked to fit, not the first one
            layout.invalidate()
            layout.activate()
        self.setGeometry(rect)
        if self.kiosk:
            self.showFullScreen()
        else:
            self.show()
        for fc in self.manager.floatingWidgets():
            fc.show()
        lock_docks(self.manager, self.kiosk)
        self.commands.kiosk.setChecked(self.kiosk)

    def set_kiosk(self, on: bool) -> None:
        """Frameless full screen without menus (the shortcuts still work)."""
        self.kiosk = bool(on)
        if not on and self.isFullScreen():
            self.showNormal()
        self.place()

    def set_full_screen(self, on: bool) -> None:
        if on:
            self.setGeometry(self.target_screen.geometry())
            self.showFullScreen()
        else:
            self.showNormal()
            self.setGeometry(self.target_rect())
        self.commands.full_screen.setChecked(self.isFullScreen())

    # -- language
    def retranslate(self) -> None:
        self.commands.retranslate()
        retranslate_docking(self.manager)
        self.briefing.retranslate()
        self.replay.retranslate()
        title = i18n.zh_en("指挥中心", "Command Center")
        name = self.shell.layout_name()
        if name and self.shell.read_only:
            name += i18n.zh_en("（只读）", " (read-only)")
        output = self.target_screen.name() if self.target_screen else ""
        screen = screen_label(output, self.index)
        self.replay_marks.set_title(
            f"{title} · {name} · {screen}" if name else title, self.shell.replay_ts()
        )
        if self.replay_marks.banner is not None:
            self.replay_marks.banner.retranslate()
        self.status.set_location(name, output, self.index)
        current = i18n.current_language()
        other = i18n.ENGLISH if current == i18n.CHINESE else i18n.CHINESE
        self.lang_button.setText(i18n.LANGUAGE_NAMES[other])
        self.lang_button.setToolTip(self.commands.toggle_language.toolTip())
        for dock in self.manager.dockWidgetsMap().values():
            panel = dock.widget()
            if isinstance(panel, Panel):
                dock.setWindowTitle(panel.title())
                dock.setTabToolTip(panel.title())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif event.type() == QEvent.Type.WindowStateChange:
            self.commands.full_screen.setChecked(self.isFullScreen() and not self.kiosk)
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Closing any screen's window (window manager, Alt+F4) ends the shell: a hall
        # with one screen silently gone is worse than a clean stop.
        super().closeEvent(event)
        if event.isAccepted() and not self._closing:
            self.shell.request_quit()


class Shell(QObject):
    """Opens a layout over the attached screens and captures it back.

    ``apply_layout(doc)`` replaces whatever is shown; ``capture_layout()`` returns the
    document as the operator has arranged it; ``close_all()`` tears down every panel and
    leaves no window. Problems (corrupt files, failed imports) go to ``show_problem``:
    the log, a non-modal message box, and ``problems`` (tests).
    """

    quitRequested = Signal()
    layoutChanged = Signal(str)  # the key of the layout now shown

    def __init__(
        self,
        ctx: PanelContext,
        library: LayoutLibrary | None = None,
        screens: list[QScreen] | None = None,
        *,
        first_size: QSize | None = None,
        interactive: bool = True,
        timetravel: TimeTravel | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        configure_docking()
        self.ctx = ctx
        # Live or replay (None: no journal, e.g. tests of the layouts alone).
        self.timetravel = timetravel
        # Starts one more live source from its --source text (main.py sets it; the Sources
        # dialog's Subscribe); None: this console has no source set to add to.
        self.source_subscriber: Callable[[str], str] | None = None
        self._replay_bridge: LiveBridge | None = None
        self._replaying = False
        self._tt_undo: Callable[[], None] | None = None
        self.library = library or LayoutLibrary()
        self._screens = screens
        self.first_size = first_size
        self.interactive = interactive  # False: no modal dialogs (tests, --quit-after)
        self.windows: list[ScreenWindow] = []
        self.problems: list[str] = []
        self._doc: dict[str, Any] = builtin_layout()
        self.key = ""
        self.source = ""
        self.read_only = ""  # why the layout shown must not be saved over (a newer version's)
        self._panels: dict[str, tuple[Panel, ads.CDockWidget]] = {}
        self._settings_in: dict[str, dict[str, Any]] = {}
        # At start-up (main.py) the heavy panels (registry.DEFERRED) are docked as
        # placeholders and built by ``build_pending`` once the first live frame is up.
        self.defer_heavy = False
        self._pending: list[str] = []
        self._quitting = False
        self._boxes: list[QMessageBox] = []
        # Masking: the context panels get (``panel_context``). A briefing forces its own
        # policy here (always enabled) for as long as it runs.
        self.forced_mask: Mask | None = None
        self._panel_ctx = ctx
        self.briefing = BriefingMode(self)
        self.briefing.changed.connect(self._briefing_changed)
        docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        self.export_folder = Path(docs or Path.home()) / "commandcenter-briefings"
        self.last_export: tuple[list[Path], Path] | None = None
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_docking_theme(app)
        if timetravel is not None:
            self._tt_undo = timetravel.subscribe(self._on_time_travel)
        # Layouts bound to shifts switch at the shift change, on the feed's clock.
        self.shifts = ShiftSwitcher(self, clock=lambda: self.ctx.store.clock.now())
        self.shifts.start()
        # Monitors plugged in or out while running: fold again (a short delay, because
        # xrandr and the platform report one change as several).
        self._refold = QTimer(self, singleShot=True, interval=250)
        self._refold.timeout.connect(self.refold)
        gui = QGuiApplication.instance()
        if screens is None and isinstance(gui, QGuiApplication):
            gui.screenAdded.connect(self._refold.start)
            gui.screenRemoved.connect(self._refold.start)

    # ---- screens -----------------------------------------------------------------------

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

    def layout_name(self) -> str:
        """The layout's name in the interface's language (``schema.display_name``)."""
        return schema.display_name(self._doc, i18n.is_chinese())

    def document(self) -> dict[str, Any]:
        """The layout as last applied (not captured): name, role, schedule..."""
        return copy.deepcopy(self._doc)

    # ---- apply -------------------------------------------------------------------------

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

    def apply_layout(self, doc: dict[str, Any], key: str = "", source: str = "") -> None:
        """Show ``doc`` (validated, current version) over the attached screens, replacing
        the windows shown before: one window per monitor used, the layout's screens beyond
        the monitors attached folded into them (``layouts/folding.py``)."""
        doc = copy.deepcopy(doc)
        schema.validate(doc)
        doc, left_out = self._role_panels(doc)
        self._teardown_windows()
        self._doc, self.key, self.source = doc, key, source
        told = self.read_only
        self.read_only = self.library.read_only_reason(key, source)
        self._panel_ctx = self.panel_context(doc)
        screens = self.screens()
        targets = schema.match_screens(doc["screens"], screen_info(screens))
        placements = folding.plan(targets)
        self._apply_type_scale(doc, placements, screens)
        for p in placements:
            entry = doc["screens"][p.host]
            win = ScreenWindow(self, p.host, entry, screens[p.monitor])
            win.guests = [(g, doc["screens"][g]) for g in p.guests]
            self._wire(win)
            self.windows.append(win)
            self._build_window(win)
        if len(targets) > len(set(targets)):
            log.info(
                "layout %r wants %d screens, %d attached: folded",
                doc["name"],
                len(targets),
                len(screens),
            )
        for i, win in enumerate(self.windows):
            win.retranslate()
            win.place(self.first_size if i == 0 else None)
        self._mark_windows()
        self.settle()
        if self.read_only and self.read_only != told:
            lead = i18n.zh_en(
                "此布局由较新版本写入：以只读方式打开，原文件保持不变，保存时另存为新名称。",
                "Written by a newer version: opened read-only, the file stays as it is, "
                "a save goes to a new name.",
            )
            self.show_problem(
                f"{lead}\n\n{self.read_only}", i18n.zh_en("只读布局", "Read-only layout")
            )
        for text in left_out:
            self.show_problem(text, i18n.zh_en("布局角色", "Layout role"))
        self._focus_start()
        self.layoutChanged.emit(key)

    def _role_panels(self, doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """``doc`` without the panels its role may not show (``layouts/roles.py``: a wall
        or a leader's screen shows views, not the case desk), and what to tell about each."""
        problems = roles.check_layout(doc)
        drop = {p.panel_id for p in problems if p.panel_id}
        said: list[str] = []
        role = layout_role(doc)
        for p in problems:
            if not p.panel_id or role is None:
                said.append(p.reason)
                continue
            said.append(
                i18n.zh_en(
                    "布局“{name}”为{role}席位，不能显示面板 {panel}（{type}），已略去",
                    "Layout “{name}” is a {role} layout and may not show panel {panel} "
                    "({type}): left out",
                ).format(
                    name=doc.get("name", ""),
                    role=role_label(role.value),
                    panel=p.panel_id,
                    type=p.panel_type,
                )
            )
        if not drop:
            return doc, said
        keep = set(doc["panels"]) - drop
        for entry in doc["screens"]:
            entry["dock"] = folding.prune(entry.get("dock"), keep) or {"area": []}
            entry["floating"] = [
                f
                for f in entry.get("floating") or []
                if set(engine.panel_ids(f.get("dock") or {"area": [f["panel"]]})) <= keep
            ]
        doc["panels"] = {k: v for k, v in doc["panels"].items() if k in keep}
        return doc, said

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

    def panel_context(self, doc: dict[str, Any] | None = None) -> PanelContext:
        """The context the panels of ``doc`` get: the shell's, with the screen's masking
        policy. Masked when a briefing forces it, or when the layout's role or the
        operator's is one that does not work cases (leader, viewer: walls and video
        conferences); duty consoles keep full detail. A masked policy learns every
        reporter name in the store, so free text repeating a caller's name is starred."""
        if doc is None:
            return self._panel_ctx
        base = self._base_context()
        if self.forced_mask is not None and self.forced_mask.enabled:
            mask = self.forced_mask
        else:
            own = self.ctx.mask
            mask = masks_for((doc.get("role", "duty_officer"), self.ctx.role))
            if own is not None and own.enabled:
                mask = own
            elif mask.enabled:
                store = base.store
                mask.learn_from_cases(store.record_at(r) for r in range(len(store)))
        return dataclasses.replace(base, mask=mask, layout_role=layout_role(doc))

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

    def _on_closed(self, pid: str) -> None:
        """The operator closed a panel: it leaves the layout and releases what it holds."""
        entry = self._panels.pop(pid, None)
        self._settings_in.pop(pid, None)
        if entry is not None:
            entry[0].teardown()

    # ---- capture -----------------------------------------------------------------------

    def panels(self) -> dict[str, Panel]:
        """Open panels by id."""
        return {pid: p for pid, (p, _d) in self._panels.items()}

    def panel_settings(self, pid: str) -> dict[str, Any]:
        """What is saved for a panel: its settings, plus keys this version does not know
        (a layout from a newer version keeps them)."""
        panel = self._panels[pid][0]
        if isinstance(panel, PlaceholderPanel):
            return dict(panel.kept_settings)
        return {**self._settings_in.get(pid, {}), **panel.settings}

    def capture_layout(self) -> dict[str, Any]:
        """The layout as arranged now: docking trees, floating panels (geometry relative
        to the screen they are on), kiosk states and panel settings."""
        doc = copy.deepcopy(self._doc)
        open_ids = set(self._panels)
        screens_out: list[dict[str, Any]] = [copy.deepcopy(e) for e in doc["screens"]]
        guest_of: dict[str, int] = {}  # panel id -> the folded screen it came from
        live = self.screens()
        floating = [
            (win, geo, tree)
            for win in self.windows
            for geo, tree in engine.capture_floating(win.manager)
        ]
        docked_ids = open_ids - {p for _w, _g, t in floating for p in engine.panel_ids(t)}
        for win in self.windows:
            for gi, gentry in win.guests:
                for pid in engine.panel_ids(gentry.get("dock")):
                    guest_of.setdefault(pid, gi)
                # Folding never rewrites a folded screen: its panels, as laid out for its
                # own monitor, minus the ones closed meanwhile.
                out = screens_out[gi]
                out["dock"] = folding.prune(gentry.get("dock"), docked_ids) or {"area": []}
                out["floating"] = []
        for win in self.windows:
            entry = screens_out[win.index]
            own = open_ids - {p for p, g in guest_of.items() if g != win.index}
            entry["dock"] = folding.prune(engine.capture_dock(win.manager), own) or {"area": []}
            entry["kiosk"] = win.kiosk
            entry["floating"] = []
            if win.target_screen in live:  # a monitor unplugged keeps the match it had
                entry["match"] = {
                    "name": win.monitor_name,
                    "geometry": list(win.monitor_geometry),
                    "index": live.index(win.target_screen),
                }
        for win, geo, tree in floating:
            ids = engine.panel_ids(tree)
            origins = {guest_of.get(p) for p in ids}
            owner = origins.pop() if len(origins) == 1 and None not in origins else None
            if owner is None:
                owner = self.windows[self._owner_of(geo, win)].index
            g = self.monitor_origin(owner)
            screens_out[owner]["floating"].append(engine.floating_entry(tree, geo, g))
        placed = set()
        for entry in screens_out:
            placed.update(engine.panel_ids(entry["dock"]))
            for fl in entry["floating"]:
                placed.update(engine.panel_ids(fl.get("dock") or {"area": [fl["panel"]]}))
        doc["panels"] = {
            pid: {
                "type": panel_widget_name(self._panels[pid][0]),
                "settings": self.panel_settings(pid),
            }
            for pid in self._panels
            if pid in placed
        }
        doc["screens"] = screens_out
        schema.validate(doc)
        return doc

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

    # ---- editing -----------------------------------------------------------------------

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

    # ---- layouts on disk ---------------------------------------------------------------

    def save(self) -> str:
        """Save the arrangement under the current key (a preset is saved as the
        operator's own copy with the same key); returns the key. A read-only layout (a
        newer version's file) is never written over: it is saved under a new name."""
        if self.read_only:
            old = self.layout_name()
            key = self.save_as(
                self.library.free_name(i18n.zh_en("{old} 副本", "{old} copy").format(old=old))
            )
            self.show_problem(
                i18n.zh_en(
                    "“{old}”由较新版本写入，保持原样；已另存为“{new}”。",
                    "“{old}” was written by a newer version and stays as it is; "
                    "saved as “{new}” instead.",
                ).format(old=old, new=self.layout_name())
            )
            return key
        doc = self.capture_layout()
        key = self.library.save(doc, self.key if self.key and self.source != BUILTIN else None)
        self._remember(doc, key, USER)
        return key

    def save_as(self, name: str) -> str:
        key, doc = self.library.save_as(self.capture_layout(), name)
        self._remember(doc, key, USER)
        return key

    def rename(self, name: str) -> str:
        """Rename the current layout (saved first when it is not a user layout yet)."""
        if self.source != USER:
            return self.save_as(name)
        self.save()
        key = self.library.rename(self.key, name)
        doc = self.library.load(key, USER).doc
        self._remember(doc, key, USER)
        return key

    def delete_current(self) -> None:
        if self.source != USER:
            raise LayoutError("only your own layouts can be deleted; presets are shipped")
        self.library.delete(self.key)
        self.open_startup_default()

    def export(self, path: Path) -> None:
        self.library.export(self.capture_layout(), path)

    def import_file(self, path: Path) -> str:
        """Import (validated, migrated, saved as a user layout) and show it."""
        key, doc = self.library.import_file(path)
        self.briefing.stop(restore=False)
        self.apply_layout(doc, key, USER)
        self.library.set_current(key, USER, doc)
        return key

    def bind_schedule(self, schedule: dict[str, str] | None) -> str:
        """Bind the current layout to a shift ({"from","to"} HH:MM, or None) and save."""
        self._doc["schedule"] = schedule
        return self.save()

    def open_layout(self, key: str, source: str | None = None) -> bool:
        """Open a layout by key; on failure say why and keep what is shown."""
        try:
            loaded = self.library.load(key, source)
        except LayoutError as err:
            self.show_problem(str(err))
            return False
        self.briefing.stop(restore=False)  # the operator chose another layout
        self.apply_layout(loaded.doc, loaded.key, loaded.source)
        self.library.set_current(loaded.key, loaded.source, loaded.doc)
        return True

    def open_startup_default(self) -> None:
        loaded = self.library.startup(None, DEFAULT_PRESET)
        self.apply_layout(loaded.doc, loaded.key, loaded.source)

    def _remember(self, doc: dict[str, Any], key: str, source: str) -> None:
        self._doc = copy.deepcopy(doc)
        screens = self._doc["screens"]
        for win in self.windows:
            if win.index < len(screens):
                win.entry = screens[win.index]
            win.guests = [(g, screens[g]) for g, _e in win.guests if g < len(screens)]
        self.key, self.source = key, source
        self.read_only = self.library.read_only_reason(key, source)
        self.library.set_current(key, source, doc)
        for win in self.windows:
            win.retranslate()
        self.layoutChanged.emit(key)

    # ---- messages, language, quit ------------------------------------------------------

    def show_problem(self, text: str, title: str = "") -> None:
        """Log it, keep it, and show it without blocking (a kiosk must keep running)."""
        log.error("%s", text.replace("\n", " "))
        self.problems.append(text)
        if not self.windows:
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning, title or "commandcenter", text, parent=self.windows[0]
        )
        box.setObjectName("layoutProblem")
        box.setTextFormat(Qt.TextFormat.PlainText)  # paths and reasons, never markup
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.finished.connect(lambda *_: self._boxes.remove(box) if box in self._boxes else None)
        self._boxes.append(box)
        box.show()

    def toggle_language(self) -> str:
        app = QCoreApplication.instance()
        target = i18n.ENGLISH if i18n.is_chinese() else i18n.CHINESE
        return i18n.set_language(app, target) if app is not None else target

    def request_quit(self) -> None:
        if not self._quitting:
            self._quitting = True
            self.quitRequested.emit()

    # ---- teardown ----------------------------------------------------------------------

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

    def close_all(self) -> None:
        """Tear down every panel and close every window (floating ones included)."""
        self.shifts.stop()
        self.briefing.stop(restore=False)
        self._teardown_windows()
        if self._tt_undo is not None:
            self._tt_undo()
            self._tt_undo = None
        self._close_replay_bridge()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    # ---- wiring the window's commands ------------------------------------------------

    def _wire(self, win: ScreenWindow) -> None:
        c = win.commands
        texts = c.texts
        connect: list[tuple[Any, Callable[..., Any]]] = [
            (c.save, lambda: self._guard(win, lambda: self._say_saved(win, self.save()))),
            (c.save_as, lambda: self._ask_name(win, texts()["save_as_title"], self.save_as)),
            (c.rename, lambda: self._ask_name(win, texts()["rename_title"], self.rename)),
            (c.delete, lambda: self._ask_delete(win)),
            (c.export, lambda: self._ask_export(win)),
            (c.import_, lambda: self._ask_import(win)),
            (c.bind_schedule, lambda: self._ask_schedule(win)),
            (c.panel_settings, lambda: self._edit_settings(win)),
            (c.full_screen, win.set_full_screen),
            (c.kiosk, win.set_kiosk),
            (c.toggle_language, self.toggle_language),
            (c.palette, lambda: self.open_palette(win)),
            (c.quit, self.request_quit),
        ]
        b = win.briefing
        connect += [
            (b.start, lambda: self.briefing.command(Command.START)),
            (b.stop, lambda: self.briefing.command(Command.STOP)),
            (b.next, lambda: self.briefing.command(Command.NEXT)),
            (b.prev, lambda: self.briefing.command(Command.PREV)),
            (b.pause, lambda: self.briefing.command(Command.PAUSE)),
            (b.blank, lambda: self.briefing.command(Command.BLANK)),
            (b.export, lambda: self._export_briefing_ui(win)),
        ]
        r = win.replay
        connect += [
            (r.replay_1h, lambda: self.replay_minutes_back(60)),
            (r.replay_24h, lambda: self.replay_minutes_back(24 * 60)),
            (r.back_to_live, self.back_to_live),
            (r.escape_live, self.back_to_live),
        ]
        for act, slot in connect:
            act.triggered.connect(slot)
        sources_action(win, c.panels_menu, lambda: self.open_sources(win))
        self._sync_briefing_actions(win)
        c.open_menu.aboutToShow.connect(lambda: self._fill_open_menu(win, USER))
        c.preset_menu.aboutToShow.connect(lambda: self._fill_open_menu(win, PRESET))
        c.add_panel_menu.aboutToShow.connect(lambda: self._fill_add_menu(win))

    # ---- briefing ---------------------------------------------------------------------

    def _briefing_changed(self) -> None:
        for win in self.windows:
            self._sync_briefing_actions(win)
            self._sync_replay_actions(win)

    # ---- time travel ------------------------------------------------------------------

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

    def _sync_briefing_actions(self, win: ScreenWindow) -> None:
        player = self.briefing.player
        running = self.briefing.active and player is not None
        win.briefing.set_running(
            running,
            paused=bool(running and player is not None and player.state.value == "paused"),
            blanked=self.briefing.blanked,
        )

    def export_briefing(self, folder: str | Path | None = None) -> tuple[list[Path], Path]:
        """The one key: a PNG of every screen and the masked PDF report in a time-stamped
        folder under ``folder`` (default ``export_folder``); returns (PNGs, PDF).

        The pictures may go anywhere, so they are always of masked screens: when the
        screens shown are not masked (a duty console), the same arrangement is rebuilt
        masked for the pictures and then restored. A blanked briefing is un-blanked for
        the pictures (a black PNG informs nobody)."""
        folder = Path(folder) if folder is not None else self.export_folder
        rebuild = bool(self.windows) and not (
            self._panel_ctx.mask is not None and self._panel_ctx.mask.enabled
        )
        doc, key, source = (
            (self.capture_layout(), self.key, self.source) if rebuild else ({}, "", "")
        )
        try:
            if rebuild:
                self.forced_mask = Mask(enabled=True)
                self.apply_layout(doc, key, source)
            hidden = [w for w in self._blank_covers() if w.isVisible()]
            for w in hidden:
                w.hide()
            QCoreApplication.processEvents()
            try:
                return export_briefing(self.ctx.store, list(self.windows), folder)
            finally:
                for w in hidden:
                    w.show()
        finally:
            if rebuild:
                self.forced_mask = None
                self.apply_layout(doc, key, source)

    def _blank_covers(self) -> list[BlankCover]:
        return [c for win in self.windows for c in win.findChildren(BlankCover)]

    def _export_briefing_ui(self, win: ScreenWindow) -> None:
        """Export with a busy cursor and messages; the folder is shown at the end."""
        t = win.briefing.texts()
        for w in self.windows:
            w.statusBar().showMessage(t["exporting"])
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        QCoreApplication.processEvents()
        try:
            shots, pdf = self.export_briefing()
        except (OSError, LayoutError, ValueError, RuntimeError) as err:
            QApplication.restoreOverrideCursor()
            self.show_problem(t["export_failed"].format(error=err))
            return
        QApplication.restoreOverrideCursor()
        msg = t["exported"].format(count=len(shots), folder=str(pdf.parent))
        self.last_export = (shots, pdf)
        for w in self.windows:
            w.statusBar().showMessage(msg, 15000)
        log.info("%s", msg)
        if self.interactive and not self.briefing.active:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(pdf.parent)))

    def _guard(self, win: ScreenWindow, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except (LayoutError, OSError) as err:
            self.show_problem(str(err), win.commands.texts()["failed"])

    def _say_saved(self, win: ScreenWindow, key: str) -> None:
        win.statusBar().showMessage(
            win.commands.texts()["saved"].format(name=self.layout_name()), 5000
        )
        log.info("layout saved as %s", self.library.user_path(key))

    def _fill_open_menu(self, win: ScreenWindow, source: str) -> None:
        menu = win.commands.open_menu if source == USER else win.commands.preset_menu
        menu.clear()
        entries = self.library.entries(source)
        for e in entries:
            title = e.title(i18n.is_chinese())
            label = title if title == e.key else f"{title}  ({e.key})"
            if e.schedule:
                label += f"  ⏱ {e.schedule['from']}–{e.schedule['to']}"
            if e.read_only:
                label += i18n.zh_en("（只读）", " (read-only)")
            act = menu.addAction(label)
            act.setObjectName(f"open-{source}-{e.key}")
            act.setEnabled(not e.problem)
            act.setToolTip(e.problem or e.read_only or str(e.path))
            act.setCheckable(True)
            act.setChecked(e.key == self.key and source == self.source)
            act.triggered.connect(lambda _=False, k=e.key, s=source: self.open_layout(k, s))
        if not entries:
            menu.addAction(win.commands.texts()["empty"]).setEnabled(False)

    def _fill_add_menu(self, win: ScreenWindow) -> None:
        menu = win.commands.add_panel_menu
        menu.clear()
        for name in registry.names():
            cls = registry.panel_class(name)
            if cls is None or cls is PlaceholderPanel:
                continue
            title = cls.title_zh if i18n.is_chinese() else cls.title_en
            act = menu.addAction(f"{title or name}")
            act.setObjectName(f"add-{name}")
            act.setToolTip(getattr(cls, "description", lambda: "")() or name)
            act.triggered.connect(lambda _=False, n=name: self.add_panel(n, win))

    def open_sources(self, win: ScreenWindow) -> SourcesDialog:
        """数据源 (Ctrl+Shift+I): import an export into the live store and the journal. The
        importer is built here because panels and dialogs never import ``feeds``."""
        from feeds.sources.service import SourceImporter

        journal = self.timetravel.journal if self.timetravel is not None else None
        dialog = SourcesDialog(
            SourceImporter(self.ctx.store, journal), win, subscribe=self.source_subscriber
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.show()
        return dialog

    def open_palette(self, win: ScreenWindow) -> CommandPalette:
        palette = CommandPalette(win.commands.entries(), win, more=self._panel_commands)
        palette.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        palette.open()
        return palette

    def _panel_commands(self, query: str) -> list[Any]:
        """The palette entries panels offer for ``query`` (``palette_actions``: the case
        actions of the selected case and of a typed case id), each name once."""
        out: dict[str, Any] = {}
        for panel, _dock in self._panels.values():
            offer = getattr(panel, "palette_actions", None)
            if callable(offer):
                for act in offer(query):
                    out.setdefault(act.objectName() or act.text(), act)
        return list(out.values())

    def _ask_name(self, win: ScreenWindow, title: str, action: Callable[[str], str]) -> None:
        t = win.commands.texts()
        name, ok = QInputDialog.getText(win, title, t["name_prompt"], text=self.layout_name())
        if ok and name.strip():
            self._guard(win, lambda: self._say_saved(win, action(name.strip())))

    def _ask_delete(self, win: ScreenWindow) -> None:
        q = win.commands.texts()["delete_question"].format(name=self.layout_name())
        if QMessageBox.question(win, "commandcenter", q) == QMessageBox.StandardButton.Yes:
            self._guard(win, self.delete_current)

    def _ask_export(self, win: ScreenWindow) -> None:
        t = win.commands.texts()
        path, _ = QFileDialog.getSaveFileName(
            win, t["export_title"], f"{self.key or 'layout'}.json", t["file_filter"]
        )
        if path:
            self._guard(win, lambda: self.export(Path(path)))
            win.statusBar().showMessage(t["exported"].format(path=path), 5000)

    def _ask_import(self, win: ScreenWindow) -> None:
        t = win.commands.texts()
        path, _ = QFileDialog.getOpenFileName(win, t["import_title"], "", t["file_filter"])
        if path:
            self._guard(win, lambda: self.import_file(Path(path)))
            if self.windows:
                self.windows[0].statusBar().showMessage(
                    t["imported"].format(name=self.layout_name()), 5000
                )

    def _ask_schedule(self, win: ScreenWindow) -> None:
        dlg = ScheduleDialog(self.layout_name(), self._doc.get("schedule"), win)
        if dlg.exec():
            sched = dlg.schedule()
            self._guard(win, lambda: self.bind_schedule(sched))
            t = win.commands.texts()
            msg = (
                t["scheduled"].format(name=self.layout_name(), start=sched["from"], end=sched["to"])
                if sched
                else t["unscheduled"].format(name=self.layout_name())
            )
            win.statusBar().showMessage(msg, 8000)

    def _edit_settings(self, win: ScreenWindow) -> None:
        t = win.commands.texts()
        panel = self.focused_panel(win)
        if panel is None:
            win.statusBar().showMessage(t["no_panel"], 5000)
        elif not panel.SETTINGS:
            win.statusBar().showMessage(t["no_settings"], 5000)
        else:
            panel.edit_settings()
