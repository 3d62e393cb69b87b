"""What replay mode adds to a screen window: the frame, the banner and the commands.

Why so loud: a wall showing the county as it was an hour ago, mistaken for the present, is
worse than a blank wall. The status bar's ``TimeSlider`` chip alone is small and far from
the eye (and briefing screens hide the status bar), so while replaying every window also
gets a thick red frame drawn *over* its panels and a red banner "回放 REPLAY hh:mm · 非实时
NOT LIVE" across its top, and its title starts with the same words (the task bar and a
window switcher say it too).

Widgets only, Qt-side: the shell (``layouts/shell.py``) decides when a window is in replay
and calls ``ReplayDecoration.show_replay`` / ``clear``. The texts are small bilingual
tables like the slider's, so the marker reads the same in either interface language.
"""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QWidget,
)

from commandcenter import hall_time
from widgets.i18n import is_chinese

REPLAY_RED = "#b3261e"
FRAME_PX = 8  # thick enough to see from the back of the hall, thin enough to keep data

_TEXT: dict[str, tuple[str, str]] = {
    "banner": ("回放 REPLAY {t} · 非实时 NOT LIVE", "REPLAY {t} · 回放 · NOT LIVE"),
    "sub": ("显示的是过去的县情，操作已停用", "showing the past; actions are disabled"),
    "back": ("返回实时 (Esc)", "Back to live (Esc)"),
    "title": ("【回放 REPLAY {t}】", "[REPLAY {t}]"),
    "replay_1h": ("回放：1小时前", "Replay: 1 hour ago"),
    "replay_1h_tip": (
        "显示1小时前的县情（实时数据继续接收）",
        "Show the county as it was 1 h ago (the live feed keeps arriving)",
    ),
    "replay_24h": ("回放：24小时前", "Replay: 24 hours ago"),
    "replay_24h_tip": (
        "显示24小时前的县情（日志所及之处）",
        "Show the county as it was 24 h ago (as far as the journal reaches)",
    ),
    "back_to_live": ("返回实时", "Back to live"),
    "back_to_live_tip": ("结束回放，回到实时县情", "Leave replay and show the county live again"),
    "escape_live": ("返回实时 (Esc)", "Back to live (Esc)"),
    "escape_live_tip": ("结束回放，回到实时县情", "Leave replay and show the county live again"),
}


def _t(key: str) -> str:
    zh, en = _TEXT[key]
    return zh if is_chinese() else en


def hhmm(ts: float) -> str:
    """A feed time as the hall's clock reads it (the marker and the slider agree)."""
    return hall_time.local(ts).strftime("%H:%M")


class ReplayFrame(QWidget):
    """A red frame painted over the whole window; it takes no mouse events, so the
    panels under it stay usable (scrolling, selecting) while they show the past."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("replayFrame")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        window.installEventFilter(self)
        self.setGeometry(window.rect())
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.setGeometry(self.parentWidget().rect())
            self.raise_()
        return False

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        pen = QPen(QColor(REPLAY_RED))
        pen.setWidth(FRAME_PX)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        p.setPen(pen)
        half = FRAME_PX // 2
        p.drawRect(QRect(half, half, self.width() - FRAME_PX, self.height() - FRAME_PX))
        p.end()


class ReplayBanner(QWidget):
    """The red strip across the top: what time is shown, that it is not live, and the
    way back. ``backRequested`` is the button's ``clicked`` (the shell connects it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replayBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(
            f"QWidget#replayBanner {{ background: {REPLAY_RED}; }}"
            " QLabel#replayBannerText { color: #ffffff; font-weight: bold; font-size: 20pt; }"
            " QLabel#replayBannerSub { color: #ffe4e1; font-size: 12pt; }"
            " QPushButton#replayBannerBack { background: #ffffff; color: #b3261e;"
            " font-weight: bold; font-size: 13pt; padding: 4px 16px; border-radius: 4px; }"
        )
        self.text = QLabel(self, objectName="replayBannerText")
        self.sub = QLabel(self, objectName="replayBannerSub")
        self.back = QPushButton(self, objectName="replayBannerBack")
        self.back.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # On a narrow (folded) window the explanation gives way; the marker and the way
        # back never do.
        self.sub.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.sub.setMinimumWidth(0)
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 4, 16, 4)
        row.setSpacing(20)
        row.addWidget(self.text)
        row.addWidget(self.back)  # beside the marker: never pushed off a narrow window
        row.addWidget(self.sub, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._ts = 0.0

    def set_time(self, ts: float) -> None:
        self._ts = ts
        self.retranslate()

    def retranslate(self) -> None:
        self.text.setText(_t("banner").format(t=hhmm(self._ts)))
        self.sub.setText(_t("sub"))
        self.back.setText(_t("back"))


class ReplayDecoration:
    """The frame, banner and title prefix of one window while it shows the past."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.toolbar: QToolBar | None = None
        self.banner: ReplayBanner | None = None
        self.frame: ReplayFrame | None = None
        self._title = ""

    @property
    def shown(self) -> bool:
        return self.banner is not None

    def show_replay(self, ts: float) -> ReplayBanner:
        """Mark the window as replaying ``ts``; returns the banner (for its button)."""
        win = self.window
        if self.banner is None:
            tb = QToolBar(win)
            tb.setObjectName("replayToolBar")
            tb.setMovable(False)
            tb.setFloatable(False)
            tb.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
            tb.setStyleSheet("QToolBar { border: 0; padding: 0; margin: 0; spacing: 0; }")
            self.banner = ReplayBanner(tb)
            tb.addWidget(self.banner)
            win.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
            win.insertToolBarBreak(tb)
            self.toolbar = tb
            self.frame = ReplayFrame(win)
            self.frame.show()
        self.banner.set_time(ts)
        self.set_title(win.windowTitle(), ts)
        return self.banner

    def set_title(self, title: str, ts: float | None) -> None:
        """Prefix the window title while replaying (the shell calls it on retranslate)."""
        self._title = title
        prefix = _t("title").format(t=hhmm(ts)) + " " if ts is not None else ""
        self.window.setWindowTitle(prefix + title)

    def clear(self) -> None:
        """Remove every mark (the window is live again); idempotent."""
        if self.toolbar is not None:
            self.window.removeToolBar(self.toolbar)
            self.toolbar.deleteLater()
        if self.frame is not None:
            self.window.removeEventFilter(self.frame)
            self.frame.deleteLater()
        self.toolbar = self.banner = self.frame = None


class ReplayCommands(QObject):
    """The replay actions of one window, in View so the command palette finds them.

    ``replay_1h`` (Ctrl+Shift+R), ``replay_24h``, ``back_to_live`` (Ctrl+Shift+L) and
    ``escape_live`` (Esc). Esc is enabled only while replaying and no briefing runs: the
    briefing's own Esc (stop) must never be ambiguous with it, and a duty console that is
    live keeps Esc for its fields and dialogs.
    """

    SHORTCUTS: ClassVar[dict[str, str]] = {
        "replay_1h": "Ctrl+Shift+R",
        "replay_24h": "",
        "back_to_live": "Ctrl+Shift+L",
        "escape_live": "Esc",
    }

    replay_1h: QAction
    replay_24h: QAction
    back_to_live: QAction
    escape_live: QAction

    def __init__(self, window: QWidget, view_menu: QMenu) -> None:
        super().__init__(window)
        self.actions: dict[str, QAction] = {}
        view_menu.addSeparator()
        for key, keys in self.SHORTCUTS.items():
            act = QAction(window)
            act.setObjectName(f"action-{key.replace('_', '-')}")
            if keys:
                act.setShortcut(QKeySequence(keys))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.addAction(act)
            if key != "escape_live":  # the same command as back_to_live; Esc is its key
                view_menu.addAction(act)
            self.actions[key] = act
            setattr(self, key, act)
        self.set_state(replaying=False, briefing=False)
        self.retranslate()

    def set_state(self, *, replaying: bool, briefing: bool) -> None:
        self.back_to_live.setEnabled(replaying)
        self.escape_live.setEnabled(replaying and not briefing)

    def retranslate(self) -> None:
        for key, act in self.actions.items():
            act.setText(_t(key))
            keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            tip = _t(f"{key}_tip")
            act.setToolTip(f"{tip} ({keys})" if keys else tip)
            act.setStatusTip(tip)
