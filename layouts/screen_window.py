"""The window of one layout screen: a dock manager, menus, status bar, on one monitor.

Why one top-level window per screen (not one window stretched over the desktop): each
monitor of a hall is its own surface with its own full-screen or kiosk state, and
operating systems and window managers maximise, full-screen and restore per monitor.
Each ``ScreenWindow`` has its own ``CDockManager``; panels can still float to any screen.

The window asks the shell that made it for little (``WindowHost``), so this module never
imports the shell.
"""

from __future__ import annotations

from typing import Any, Protocol

import PySide6QtAds as ads
from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QCloseEvent, QScreen
from PySide6.QtWidgets import QMainWindow, QToolButton

from commandcenter.timetravel import TimeTravel
from layouts.docking import lock_docks, retranslate_docking
from layouts.schema import ScreenInfo
from widgets import i18n
from widgets.base import Panel, PanelContext
from widgets.chrome.briefing import BriefingCommands
from widgets.chrome.palette import ShellCommands
from widgets.chrome.replay import ReplayCommands, ReplayDecoration
from widgets.chrome.statusbar import HallStatusBar, screen_label
from widgets.chrome.timeslider import TimeSlider


class WindowHost(Protocol):
    """What a window reads of the shell that made it (``layouts.shell.Shell``)."""

    ctx: PanelContext
    timetravel: TimeTravel | None
    read_only: str

    def layout_name(self) -> str: ...

    def replay_ts(self) -> float | None: ...

    def toggle_language(self) -> str: ...

    def request_quit(self) -> None: ...


def screen_info(screens: list[QScreen]) -> list[ScreenInfo]:
    """QScreens as the plain data ``schema.match_screens`` works on."""
    out = []
    for i, s in enumerate(screens):
        g = s.geometry()
        out.append(ScreenInfo(i, s.name(), (g.x(), g.y(), g.width(), g.height())))
    return out


class ScreenWindow(QMainWindow):
    """The window of one layout screen: a dock manager, menus, status bar."""

    def __init__(
        self, shell: WindowHost, index: int, entry: dict[str, Any], screen: QScreen
    ) -> None:
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
