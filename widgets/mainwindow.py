"""The main window: the overview panel, a language switch, full screen and quit.

It owns the LiveBridge, so closing the window is the whole teardown: the bridge
unsubscribes from the store and the feed status and stops its timers. The composition
root only builds the store and the status and hands them in:

    win = MainWindow(store, status, language="zh_CN"); win.show()
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QMainWindow, QToolButton, QWidget

from commandcenter.metrics.engine import MetricEngine
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from widgets import i18n
from widgets.i18n import zh_en
from widgets.live import DEFAULT_FRAME_HZ, LiveBridge
from widgets.overview import OverviewPanel

DEFAULT_COUNTY = "平定县"


class MainWindow(QMainWindow):
    """One window per console; the overview is its central widget for now."""

    def __init__(
        self,
        store: Store,
        status: FeedStatus,
        *,
        language: str = i18n.CHINESE,
        county: str = DEFAULT_COUNTY,
        frame_hz: float = DEFAULT_FRAME_HZ,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self._county = county
        self.bridge = LiveBridge(store, status, frame_hz=frame_hz, parent=self)
        # the window is its own composition root: its one catalogue engine is built here
        self.metrics = MetricEngine(store)
        self.overview = OverviewPanel(self.bridge, metrics=self.metrics)
        self.setCentralWidget(self.overview)
        self._build_actions()
        self.setMinimumSize(1024, 640)
        self.resize(1600, 900)
        app = QCoreApplication.instance()
        if app is not None:
            i18n.set_language(app, language)
        self.retranslate()

    # -- actions
    def _build_actions(self) -> None:
        self.lang_group = QActionGroup(self)
        self.lang_group.setExclusive(True)
        self.lang_actions: dict[str, QAction] = {}
        for lang in i18n.LANGUAGES:
            # Each language is named in itself, so whoever cannot read the current UI
            # can still find their own.
            act = QAction(i18n.LANGUAGE_NAMES[lang], self, checkable=True)
            act.setData(lang)
            self.lang_group.addAction(act)
            self.lang_actions[lang] = act

        self.lang_group.triggered.connect(self._on_language_action)

        self.toggle_lang_action = QAction(self)
        self.toggle_lang_action.setShortcut(QKeySequence("Ctrl+L"))
        self.toggle_lang_action.triggered.connect(self.toggle_language)

        self.fullscreen_action = QAction(self, checkable=True)
        self.fullscreen_action.setShortcut(QKeySequence(QKeySequence.StandardKey.FullScreen))
        if QKeySequence("F11") not in self.fullscreen_action.shortcuts():
            self.fullscreen_action.setShortcuts(
                [QKeySequence("F11"), *self.fullscreen_action.shortcuts()]
            )
        self.fullscreen_action.triggered.connect(self.set_full_screen)

        self.quit_action = QAction(self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.triggered.connect(self.close)

        bar = self.menuBar()
        self.file_menu = bar.addMenu("")
        self.file_menu.addAction(self.quit_action)
        self.view_menu = bar.addMenu("")
        self.lang_menu = self.view_menu.addMenu("")
        for act in self.lang_actions.values():
            self.lang_menu.addAction(act)
        self.lang_menu.addSeparator()
        self.lang_menu.addAction(self.toggle_lang_action)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.fullscreen_action)

        # Visible switch in the menu bar's corner: shows the language it switches *to*.
        self.lang_button = QToolButton(objectName="langToggle")
        self.lang_button.clicked.connect(self.toggle_language)
        bar.setCornerWidget(self.lang_button)

    def _on_language_action(self, action: QAction) -> None:
        self.set_language(str(action.data()))

    def set_language(self, language: str) -> str:
        """Switch the whole application's language; returns the language in effect."""
        app = QCoreApplication.instance()
        if app is None:
            return i18n.current_language()
        return i18n.set_language(app, language)

    def toggle_language(self) -> str:
        target = i18n.ENGLISH if i18n.is_chinese() else i18n.CHINESE
        return self.set_language(target)

    def set_full_screen(self, on: bool) -> None:
        if on:
            self.showFullScreen()
        else:
            self.showNormal()
        self.fullscreen_action.setChecked(self.isFullScreen() or on)

    # -- language
    def retranslate(self) -> None:
        title = zh_en("指挥中心", "Command Center")
        if i18n.is_chinese() and self._county:
            title = f"{title} · {self._county}"
        self.setWindowTitle(title)
        self.file_menu.setTitle(zh_en("文件(&F)", "&File"))
        self.view_menu.setTitle(zh_en("视图(&V)", "&View"))
        self.lang_menu.setTitle(zh_en("语言(&L)", "&Language"))
        self.toggle_lang_action.setText(zh_en("切换语言", "Switch language"))
        self.fullscreen_action.setText(zh_en("全屏(&F)", "&Full screen"))
        self.quit_action.setText(zh_en("退出(&Q)", "&Quit"))
        current = i18n.current_language()
        self.lang_actions[current].setChecked(True)
        other = i18n.ENGLISH if current == i18n.CHINESE else i18n.CHINESE
        self.lang_button.setText(i18n.LANGUAGE_NAMES[other])
        self.lang_button.setToolTip(zh_en("切换语言 (Ctrl+L)", "Switch language (Ctrl+L)"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        elif event.type() == QEvent.Type.WindowStateChange:
            self.fullscreen_action.setChecked(self.isFullScreen())
        super().changeEvent(event)

    # -- teardown
    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        if event.isAccepted():
            self.shutdown()

    def shutdown(self) -> None:
        """Stop the live updates: unsubscribe from the core and stop the timers."""
        self.overview.teardown()
        self.metrics.close()
        self.bridge.close()
