"""What a briefing screen adds to a window: the title bar, the blank cover, the commands.

Why widgets only: the sequencing lives in ``commandcenter.briefing`` (Qt-free, tested
without a clock) and the orchestration (which layout or panel goes on which screen,
the timer, the presenter keys) in the shell (``layouts/briefing_mode.py``). This module
is the part a leader sees from across the hall and the translated names of the commands,
which must live under ``widgets/`` for the catalogue (tests/test_i18n.py).

The bar is large on purpose: a briefing is read from five metres away or on a video
conference in a township office; the title of the screen, "3/7" and the time left must
be readable there, and the "masked" badge tells everyone watching that the names and
numbers on screen are starred deliberately (not a fault).
"""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QSizePolicy, QWidget

from widgets import theme
from widgets.i18n import zh_en


def format_clock(seconds: float) -> str:
    """0:42, 12:05, 1:02:03 (a remaining time the presenter glances at)."""
    if seconds == float("inf"):
        return "—"
    s = max(0, int(seconds + 0.999))  # 0.2 s left still reads 0:01, never a premature 0:00
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class BriefingBar(QFrame):
    """The title strip of a briefing screen: title, masked badge, state, position, time.

    Sizes come from the application font (already the theme scale) times fixed factors,
    so the bar grows with the briefing scale and never with the window.
    """

    TITLE_FACTOR = 1.9
    META_FACTOR = 1.35

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("briefingBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.mark = QLabel("▶", self, objectName="briefingMark")
        self.title = QLabel(self, objectName="briefingTitle")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.masked = QLabel(self, objectName="briefingMasked")
        self.state = QLabel(self, objectName="briefingState")
        self.position = QLabel(self, objectName="briefingPosition")
        self.remaining = QLabel(self, objectName="briefingRemaining")
        self.remaining.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row = QHBoxLayout(self)
        row.setSpacing(24)
        row.addWidget(self.mark)
        row.addWidget(self.title, 1)
        row.addWidget(self.masked)
        row.addWidget(self.state)
        row.addWidget(self.position)
        row.addWidget(self.remaining)
        self._is_masked = True
        self._paused = False
        self.apply_metrics()
        self.retranslate()

    def apply_metrics(self) -> None:
        """Fonts, margins and colours from the current theme and scale."""
        base = QFont(self.font())
        size = base.pointSizeF() if base.pointSizeF() > 0 else 11.0 * theme.current_scale()
        title = QFont(base)
        title.setPointSizeF(size * self.TITLE_FACTOR)
        title.setBold(True)
        meta = QFont(base)
        meta.setPointSizeF(size * self.META_FACTOR)
        meta.setBold(True)
        self.title.setFont(title)
        self.mark.setFont(title)
        for w in (self.masked, self.state, self.position, self.remaining):
            w.setFont(meta)
        pad = round(size * 0.9)
        self.layout().setContentsMargins(pad * 2, pad, pad * 2, pad)
        c = theme.colors()
        bg, fg = c.get("surface2", "#16223a"), c.get("text_strong", "#ffffff")
        accent, red = c.get("accent_bg", "#1d3b63"), c.get("red", "#d4380d")
        line = c.get("accent", "#40a9ff")
        self.setStyleSheet(
            f"#briefingBar {{ background: {bg}; border-bottom: {max(2, pad // 4)}px solid"
            f" {line}; }}"
            f"#briefingTitle, #briefingPosition, #briefingRemaining {{ color: {fg}; }}"
            f"#briefingMark {{ color: {line}; }}"
            f"#briefingMasked {{ color: #ffffff; background: {accent}; border-radius: 6px;"
            f" padding: 2px 14px; }}"
            f"#briefingState {{ color: #ffffff; background: {red}; border-radius: 6px;"
            f" padding: 2px 14px; }}"
        )
        fm = self.remaining.fontMetrics()
        self.remaining.setMinimumWidth(fm.horizontalAdvance("88:88") + pad)

    def show_item(
        self, title: str, position: str, remaining_s: float, paused: bool, masked: bool
    ) -> None:
        """What the presenter and the audience need to know about the screen shown."""
        self.title.setText(title)
        self.title.setToolTip(title)
        self.position.setText(position)
        self.remaining.setText(format_clock(remaining_s))
        if (paused, masked) != (self._paused, self._is_masked):
            self._paused, self._is_masked = paused, masked
            self.retranslate()

    def retranslate(self) -> None:
        self.masked.setText(zh_en("已脱敏", "Masked"))
        self.masked.setToolTip(
            zh_en(
                "本屏已隐去报告人姓名、电话和详细地址",
                "Names, phone numbers and exact addresses of reporters are hidden on this screen",
            )
        )
        self.masked.setVisible(self._is_masked)
        self.state.setText(zh_en("已暂停", "Paused"))
        self.state.setToolTip(zh_en("计时已停止：按 P 继续", "The time does not run: P resumes"))
        self.state.setVisible(self._paused)
        self.position.setToolTip(zh_en("汇报当前屏 / 总屏数", "Screen of the briefing"))
        self.remaining.setToolTip(zh_en("本屏剩余时间", "Time left on this screen"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class BlankCover(QWidget):
    """A black screen over a whole window (a presenter remote's "blank" button): the
    audience looks at the presenter; the briefing keeps its place underneath."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("briefingBlank")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#briefingBlank { background: #000000; }")
        parent.installEventFilter(self)
        self.setGeometry(parent.rect())
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
        return False

    def set_blank(self, on: bool) -> None:
        if on:
            self.setGeometry(self.parentWidget().rect())
            self.show()
            self.raise_()
        else:
            self.hide()


class BriefingCommands(QObject):
    """The briefing's actions on one screen window, with texts in both languages.

    ``start``, ``stop``, ``next``, ``prev``, ``pause``, ``blank``, ``export``; they go into
    View ▸ Briefing and (export) the Layout menu, so the command palette finds them. The
    keys while a briefing runs are the presenter's (``commandcenter.briefing.KEYMAP``,
    through the shell's application-wide filter); the shortcuts here are the same keys,
    enabled only while they mean something, so P or B typed into a field on a duty
    console never reach a briefing.
    """

    SHORTCUTS: ClassVar[dict[str, str]] = {
        "start": "F5",
        "stop": "Esc",
        "next": "PgDown",
        "prev": "PgUp",
        "pause": "P",
        "blank": "B",
        "export": "Ctrl+Shift+E",
    }

    start: QAction
    stop: QAction
    next: QAction
    prev: QAction
    pause: QAction
    blank: QAction
    export: QAction

    def __init__(self, window: QWidget, view_menu: QMenu, layout_menu: QMenu) -> None:
        super().__init__(window)
        self.actions: dict[str, QAction] = {}
        for key, keys in self.SHORTCUTS.items():
            act = QAction(window)
            act.setObjectName(f"action-briefing-{key}")
            act.setShortcut(QKeySequence(keys))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.addAction(act)
            self.actions[key] = act
            setattr(self, key, act)
        self.pause.setCheckable(True)
        self.blank.setCheckable(True)
        self.menu = QMenu(view_menu)
        self.menu.setObjectName("briefingMenu")
        self.menu.setToolTipsVisible(True)
        for key in ("start", "stop", "next", "prev", "pause", "blank"):
            self.menu.addAction(self.actions[key])
        self.menu.addSeparator()
        self.menu.addAction(self.export)
        view_menu.addSeparator()
        view_menu.addMenu(self.menu)
        before = next((a for a in layout_menu.actions() if a.isSeparator()), None)
        # Right after the open menus: one key away from the layout the briefing shows.
        if before is not None:
            layout_menu.insertAction(before, self.export)
        else:
            layout_menu.addAction(self.export)
        self.set_running(False)
        self.retranslate()

    def set_running(self, running: bool, paused: bool = False, blanked: bool = False) -> None:
        """Enable what makes sense now (Start is always there: it restarts)."""
        for key in ("stop", "next", "prev", "pause", "blank"):
            self.actions[key].setEnabled(running)
        self.pause.setChecked(running and paused)
        self.blank.setChecked(running and blanked)

    def retranslate(self) -> None:
        t = {
            "start": (
                zh_en("开始汇报(&S)", "&Start briefing"),
                zh_en(
                    "按汇报清单逐屏放映本布局：大字号、已脱敏",
                    "Show the briefing of this layout screen by screen, masked, in large type",
                ),
            ),
            "stop": (
                zh_en("结束汇报(&T)", "S&top briefing"),
                zh_en(
                    "结束汇报，回到汇报前的布局",
                    "End the briefing and return to the layout shown before",
                ),
            ),
            "next": (
                zh_en("下一屏(&N)", "&Next screen"),
                zh_en("切换到汇报的下一屏", "Go to the next screen of the briefing"),
            ),
            "prev": (
                zh_en("上一屏(&P)", "&Previous screen"),
                zh_en("回到汇报的上一屏", "Go back to the previous screen of the briefing"),
            ),
            "pause": (
                zh_en("暂停/继续(&P)", "&Pause / resume"),
                zh_en(
                    "暂停本屏计时，或恢复计时", "Stop the clock on this screen, or let it run again"
                ),
            ),
            "blank": (
                zh_en("黑屏(&B)", "&Blank screen"),
                zh_en(
                    "所有屏幕黑屏；汇报保持当前位置",
                    "Black out every screen; the briefing keeps its place",
                ),
            ),
            "export": (
                zh_en("导出汇报材料(&B)…", "Export &briefing…"),
                zh_en(
                    "将每块屏幕保存为 PNG，并生成已脱敏的汇报 PDF",
                    "Save every screen as PNG and the masked briefing report as PDF",
                ),
            ),
        }
        for key, (text, tip) in t.items():
            act = self.actions[key]
            act.setText(text)
            keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            act.setToolTip(f"{tip} ({keys})" if keys else tip)
            act.setStatusTip(tip)
        self.menu.setTitle(zh_en("领导汇报(&R)", "B&riefing"))

    def texts(self) -> dict[str, str]:
        """Messages the shell shows about briefings (translated here, with the actions)."""
        return {
            "no_playlist": zh_en(
                "本布局没有汇报清单：请打开带汇报清单的布局（如“领导研判大屏”预设）。",
                "This layout has no briefing: open a layout with one (the leader briefing preset).",
            ),
            "bad_playlist": zh_en(
                "本布局的汇报清单无法使用：{error}",
                "The briefing of this layout cannot be used: {error}",
            ),
            "bad_item": zh_en(
                "汇报第 {position} 屏无法显示：{error}",
                "Screen {position} of the briefing cannot be shown: {error}",
            ),
            "started": zh_en(
                "汇报开始：共 {count} 屏，约 {minutes} 分钟",
                "Briefing started: {count} screens, {minutes} min",
            ),
            "stopped": zh_en("汇报结束", "Briefing ended"),
            "exporting": zh_en("正在导出汇报材料…", "Exporting the briefing…"),
            "exported": zh_en(
                "汇报材料已导出：{count} 张屏幕截图和报告，位于 {folder}",
                "Briefing exported: {count} screens and the report in {folder}",
            ),
            "export_failed": zh_en(
                "汇报材料导出失败：{error}", "The briefing could not be exported: {error}"
            ),
        }
