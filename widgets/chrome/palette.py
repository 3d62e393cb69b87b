"""Commands of a screen window: the command palette (Ctrl+K) and the named actions.

Why a palette: a hall has dozens of actions (layouts, panels, screens, language) and an
operator at a wall keyboard should not hunt through menus; typing a few letters of an
action's name, in Chinese or English, and Enter runs it. Every action the windows have is
in the palette, with its shortcut shown, so "every action has a shortcut or is reachable
from the palette" holds by construction.

``CommandPalette`` is generic over QActions (it knows nothing of layouts or cases). Beside
the window's fixed actions it asks ``more(query)`` for entries that depend on what is
typed and selected: the case actions ("签收 PD0000123") the case panels offer. Those are
listed even when disabled, greyed with the reason, and Enter on one says the reason
instead of running it: the palette shows what the buttons show. ``ShellCommands``
declares the window's actions with their texts, shortcuts and tooltips, so the
translations live with the widgets (``tr`` contexts are checked by tests/test_i18n.py);
what the actions *do* is wired by ``layouts/shell.py``, because widgets never import
layouts. ``ScheduleDialog`` asks for a day/night shift a layout is bound to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTime
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMenuBar,
    QRadioButton,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from widgets.i18n import zh_en

# ---- matching ------------------------------------------------------------------------


def fuzzy_score(query: str, text: str) -> int | None:
    """Score of ``query`` as a subsequence of ``text`` (case-insensitive); None if absent.

    Higher is better: consecutive letters and a match at a word start count extra, so
    "sv" ranks "Save" above "Kiosk view". Chinese matches character by character in order
    ("存为" finds "布局另存为").
    """
    q = query.strip().lower()
    if not q:
        return 0
    t = text.lower()
    score = 0
    pos = -1
    prev = -2
    for ch in q:
        if ch == " ":
            continue
        found = t.find(ch, pos + 1)
        if found < 0:
            return None
        score += 1
        if found == prev + 1:
            score += 3
        if found == 0 or not t[found - 1].isalnum():
            score += 2
        prev = pos = found
    return score * 100 - len(t)  # shorter texts first among equal matches


def action_label(action: QAction) -> str:
    """The action's text without mnemonics and without a trailing ellipsis."""
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(".…")


def collect_actions(roots: Iterable[QMenuBar | QMenu]) -> list[tuple[str, QAction]]:
    """Every enabled, visible, non-separator action under menus, as (path label, action);
    a sub-menu's entries read "Layout › Open preset › Duty console"."""
    out: list[tuple[str, QAction]] = []
    seen: set[int] = set()

    def walk(menu: QMenu | QMenuBar, prefix: str) -> None:
        if isinstance(menu, QMenu):
            menu.aboutToShow.emit()  # dynamic sub-menus fill themselves on show
        for act in menu.actions():
            if act.isSeparator() or not act.isVisible():
                continue
            sub = act.menu()
            label = action_label(act)
            path = f"{prefix} › {label}" if prefix else label
            if isinstance(sub, QMenu):
                walk(sub, path)
            elif act.isEnabled() and id(act) not in seen:
                seen.add(id(act))
                out.append((path, act))

    for root in roots:
        walk(root, "")
    return out


# ---- palette -------------------------------------------------------------------------


def _give_back(widget: QWidget | None) -> None:
    if widget is None or not shiboken6.isValid(widget) or not widget.isVisible():
        return
    widget.window().activateWindow()
    widget.setFocus(Qt.FocusReason.OtherFocusReason)


class CommandPalette(QDialog):
    """Type to filter the window's actions; Enter runs the highlighted one, Esc closes."""

    def __init__(
        self,
        entries: list[tuple[str, QAction]],
        parent: QWidget | None = None,
        more: Callable[[str], list[QAction]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("commandPalette")
        self._more = more
        self.setWindowTitle(zh_en("命令面板", "Command palette"))
        self.setModal(True)
        self._entries = entries
        self.query = QLineEdit(self)
        self.query.setObjectName("paletteQuery")
        self.query.setPlaceholderText(
            zh_en(
                "输入命令，例如：保存、布局、全屏", "Type a command, e.g. save, layout, full screen"
            )
        )
        self.query.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setObjectName("paletteList")
        self.list.setUniformItemSizes(True)
        self._hint_text = zh_en(
            "回车执行 · Esc 关闭 · ↑↓ 选择 · 输入案件编号查找其操作",
            "Enter runs · Esc closes · ↑↓ choose · type a case id for its actions",
        )
        self.hint = QLabel(self._hint_text, self)
        self.hint.setObjectName("paletteHint")
        col = QVBoxLayout(self)
        col.addWidget(self.query)
        col.addWidget(self.list, 1)
        col.addWidget(self.hint)
        self.query.textChanged.connect(self.refilter)
        self.query.returnPressed.connect(self.run_current)
        self.list.itemActivated.connect(lambda _item: self.run_current())
        self.query.installEventFilter(self)
        # Closing hands the keyboard back to where it was (the case queue), whether an
        # entry ran or Esc was pressed: the next key of the shift must land somewhere.
        back = QApplication.focusWidget()
        self.finished.connect(lambda _r: _give_back(back))
        self.resize(760, 520)
        self.refilter("")

    def refilter(self, text: str) -> None:
        """Show the entries matching ``text``, best first; the first is highlighted."""
        self.list.clear()
        self.hint.setText(self._hint_text)
        scored = []
        extra = [(action_label(a), a) for a in self._more(text)] if self._more else []
        for i, (label, act) in enumerate([*extra, *self._entries]):
            keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            hay = f"{label} {act.toolTip()} {act.objectName()}"
            s = fuzzy_score(text, label)
            if s is None:
                s2 = fuzzy_score(text, hay)
                s = None if s2 is None else s2 - 10_000  # label matches rank first
            if s is not None:
                if not act.isEnabled():
                    s -= 50  # below the enabled ones of an equal match
                scored.append((-s, i, label, keys, act))
        scored.sort(key=lambda x: (x[0], x[1]))
        for _, _, label, keys, act in scored:
            text_ = f"{label}    {keys}" if keys else label
            item = QListWidgetItem(text_)
            if not act.isEnabled():
                item.setText(
                    zh_en("{entry}    （不可用：{why}）", "{entry}    (unavailable: {why})").format(
                        entry=text_, why=act.toolTip()
                    )
                )
                item.setForeground(
                    self.palette().color(
                        self.palette().ColorGroup.Disabled, self.palette().ColorRole.Text
                    )
                )
            item.setData(Qt.ItemDataRole.UserRole, act)
            item.setToolTip(act.toolTip())
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def visible_labels(self) -> list[str]:
        """Texts of the entries shown now (tests)."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def run_current(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        act: QAction = item.data(Qt.ItemDataRole.UserRole)
        if not act.isEnabled():  # shown, but it does not run: say why, stay open
            self.hint.setText(
                zh_en("不可用：{why}", "Unavailable: {why}").format(why=act.toolTip())
            )
            return
        # Closed before the action runs, deleted only after: an action may open a prompt
        # whose own event loop would otherwise delete the palette under this key handler.
        delete = self.testAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.accept()
        act.trigger()
        if delete:
            self.deleteLater()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Arrow keys move the list while the cursor stays in the query field.
        if watched is self.query and event.type() == QEvent.Type.KeyPress:
            key = event.key() if isinstance(event, QKeyEvent) else None
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                row = self.list.currentRow()
                step = {
                    Qt.Key.Key_Down: 1,
                    Qt.Key.Key_Up: -1,
                    Qt.Key.Key_PageDown: 8,
                    Qt.Key.Key_PageUp: -8,
                }[key]
                if self.list.count():
                    self.list.setCurrentRow(max(0, min(self.list.count() - 1, row + step)))
                return True
        return super().eventFilter(watched, event)


# ---- the window's actions ------------------------------------------------------------


class ShellCommands(QObject):
    """The named actions and menus of a screen window, with texts in both languages.

    Attributes are QActions (``save``, ``save_as``, ``rename``, ``export``, ``import_``,
    ``bind_schedule``, ``delete``, ``panel_settings``, ``full_screen``, ``kiosk``,
    ``toggle_language``, ``palette``, ``quit``) and menus (``layout_menu``,
    ``open_menu``, ``preset_menu``, ``panels_menu``, ``add_panel_menu``, ``view_menu``).
    The owner connects ``triggered`` and fills the dynamic sub-menus.
    """

    SHORTCUTS: ClassVar[dict[str, str]] = {
        "save": "Ctrl+S",
        "save_as": "Ctrl+Shift+S",
        "rename": "F2",
        "export": "Ctrl+E",
        "import_": "Ctrl+O",
        "bind_schedule": "Ctrl+Shift+B",
        "delete": "",
        "panel_settings": "Ctrl+,",
        "full_screen": "F11",
        "kiosk": "Ctrl+Shift+F11",
        "toggle_language": "Ctrl+L",
        "palette": "Ctrl+K",
        "quit": "Ctrl+Q",
    }

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.actions: dict[str, QAction] = {}
        for key, keys in self.SHORTCUTS.items():
            act = QAction(window)
            act.setObjectName(f"action-{key.rstrip('_')}")
            if keys:
                act.setShortcut(QKeySequence(keys))
            # Window shortcuts work with the menu bar hidden (kiosk) because the actions
            # are the window's own, not only the menus'.
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.addAction(act)
            self.actions[key] = act
            setattr(self, key, act)
        self.full_screen.setCheckable(True)
        self.kiosk.setCheckable(True)

        bar = QMenuBar(window)
        bar.setObjectName("shellMenuBar")
        self.menu_bar = bar
        self.layout_menu = bar.addMenu("")
        self.open_menu = self.layout_menu.addMenu("")
        self.preset_menu = self.layout_menu.addMenu("")
        self.layout_menu.addSeparator()
        for key in ("save", "save_as", "rename", "delete"):
            self.layout_menu.addAction(self.actions[key])
        self.layout_menu.addSeparator()
        for key in ("export", "import_"):
            self.layout_menu.addAction(self.actions[key])
        self.layout_menu.addSeparator()
        self.layout_menu.addAction(self.bind_schedule)
        self.layout_menu.addSeparator()
        self.layout_menu.addAction(self.quit)
        self.panels_menu = bar.addMenu("")
        self.add_panel_menu = self.panels_menu.addMenu("")
        self.panels_menu.addAction(self.panel_settings)
        self.view_menu = bar.addMenu("")
        for key in ("full_screen", "kiosk"):
            self.view_menu.addAction(self.actions[key])
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.toggle_language)
        self.view_menu.addAction(self.palette)
        self.retranslate()

    def entries(self) -> list[tuple[str, QAction]]:
        """What the palette offers: every menu entry, dynamic sub-menus included."""
        return collect_actions([self.menu_bar])

    def retranslate(self) -> None:
        t = {
            "save": (
                zh_en("保存布局(&S)", "&Save layout"),
                zh_en("保存每块屏幕的面板布置", "Save the arrangement of every screen"),
            ),
            "save_as": (
                zh_en("布局另存为(&A)…", "Save layout &as…"),
                zh_en("以新名称保存当前布置", "Save the arrangement under a new name"),
            ),
            "rename": (
                zh_en("重命名布局(&R)…", "&Rename layout…"),
                zh_en("给当前布局改名", "Give the current layout a new name"),
            ),
            "delete": (
                zh_en("删除布局(&D)", "&Delete layout"),
                zh_en(
                    "从本机删除当前布局（预设布局保留）",
                    "Delete the current layout from this computer (presets stay)",
                ),
            ),
            "export": (
                zh_en("导出布局(&E)…", "&Export layout…"),
                zh_en(
                    "把布局写入文件，用于其他大厅或备份",
                    "Write the layout to a file for another hall or a backup",
                ),
            ),
            "import_": (
                zh_en("导入布局(&I)…", "&Import layout…"),
                zh_en(
                    "读取布局文件；使用前会校验并升级",
                    "Read a layout file; it is checked and upgraded before use",
                ),
            ),
            "bind_schedule": (
                zh_en("绑定班次(&B)…", "&Bind to schedule…"),
                zh_en(
                    "在某个班次（白班或夜班）显示此布局",
                    "Show this layout during a shift (day or night)",
                ),
            ),
            "panel_settings": (
                zh_en("面板设置(&S)…", "Panel &settings…"),
                zh_en("编辑当前选中面板的设置", "Edit the settings of the focused panel"),
            ),
            "full_screen": (
                zh_en("本屏全屏(&F)", "&Full screen this screen"),
                zh_en("让窗口铺满本块屏幕", "Fill this screen with its window"),
            ),
            "kiosk": (
                zh_en("展示模式(&K)", "&Kiosk"),
                zh_en(
                    "无边框全屏、隐藏菜单；再按同一快捷键退出",
                    "Frameless full screen without menus; the same keys leave it",
                ),
            ),
            "toggle_language": (
                zh_en("切换语言(&L)", "Switch &language"),
                zh_en("在中文和英文之间切换", "Switch between Chinese and English"),
            ),
            "palette": (
                zh_en("命令面板(&C)…", "&Command palette…"),
                zh_en("输入名称查找并执行任何命令", "Find and run any command by typing its name"),
            ),
            "quit": (
                zh_en("退出(&Q)", "&Quit"),
                zh_en("关闭所有窗口并退出", "Close every window and stop"),
            ),
        }
        for key, (text, tip) in t.items():
            act = self.actions[key]
            act.setText(text)
            keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            act.setToolTip(f"{tip} ({keys})" if keys else tip)
            act.setStatusTip(tip)
        self.layout_menu.setTitle(zh_en("布局(&L)", "&Layout"))
        self.open_menu.setTitle(zh_en("打开布局(&O)", "&Open layout"))
        self.preset_menu.setTitle(zh_en("打开预设(&P)", "Open &preset"))
        self.panels_menu.setTitle(zh_en("面板(&P)", "&Panels"))
        self.add_panel_menu.setTitle(zh_en("添加面板(&A)", "&Add panel"))
        self.view_menu.setTitle(zh_en("视图(&V)", "&View"))
        for menu in (
            self.layout_menu,
            self.open_menu,
            self.preset_menu,
            self.panels_menu,
            self.add_panel_menu,
            self.view_menu,
        ):
            menu.setToolTipsVisible(True)

    def texts(self) -> dict[str, str]:
        """Dialog and message texts the shell shows (translated here, with the actions)."""
        return {
            "save_as_title": zh_en("布局另存为", "Save layout as"),
            "rename_title": zh_en("重命名布局", "Rename layout"),
            "name_prompt": zh_en("布局名称：", "Layout name:"),
            "export_title": zh_en("导出布局", "Export layout"),
            "import_title": zh_en("导入布局", "Import layout"),
            "file_filter": zh_en("布局文件 (*.json)", "Layout files (*.json)"),
            "delete_question": zh_en(
                "从本机删除布局“{name}”？", "Delete the layout “{name}” from this computer?"
            ),
            "saved": zh_en("布局“{name}”已保存", "Layout “{name}” saved"),
            "imported": zh_en("布局“{name}”已导入", "Layout “{name}” imported"),
            "exported": zh_en("布局已导出到 {path}", "Layout exported to {path}"),
            "failed": zh_en("布局无法使用", "The layout could not be used"),
            "no_panel": zh_en(
                "没有选中的面板：请先点击一个面板。",
                "No panel has the focus: click into a panel first.",
            ),
            "no_settings": zh_en("此面板没有可设置的项目。", "This panel has no settings."),
            "scheduled": zh_en(
                "“{name}”将在 {start} 至 {end} 显示", "“{name}” is shown from {start} to {end}"
            ),
            "unscheduled": zh_en(
                "“{name}”已不再绑定班次", "“{name}” is no longer bound to a shift"
            ),
            "empty": zh_en("（暂无）", "(none yet)"),
        }


# ---- schedule ------------------------------------------------------------------------


DAY_SHIFT = ("08:00", "20:00")
NIGHT_SHIFT = ("20:00", "08:00")


class ScheduleDialog(QDialog):
    """Bind a layout to a shift: day, night, custom hours, or none."""

    def __init__(
        self,
        layout_name: str,
        current: dict[str, str] | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("scheduleDialog")
        self.setWindowTitle(
            zh_en("将“{name}”绑定到班次", "Bind “{name}” to a schedule").format(name=layout_name)
        )
        self.day = QRadioButton(
            zh_en("白班（{start}–{end}）", "Day shift ({start}–{end})").format(
                start=DAY_SHIFT[0], end=DAY_SHIFT[1]
            )
        )
        self.night = QRadioButton(
            zh_en("夜班（{start}–{end}）", "Night shift ({start}–{end})").format(
                start=NIGHT_SHIFT[0], end=NIGHT_SHIFT[1]
            )
        )
        self.custom = QRadioButton(zh_en("自定义时段", "Custom hours"))
        self.none = QRadioButton(zh_en("不绑定班次", "Not bound to a shift"))
        self.start = QTimeEdit(self)
        self.end = QTimeEdit(self)
        for edit in (self.start, self.end):
            edit.setDisplayFormat("HH:mm")
        hours = (current or {}).get("from"), (current or {}).get("to")
        if current is None:
            self.none.setChecked(True)
            hours = DAY_SHIFT
        elif hours == DAY_SHIFT:
            self.day.setChecked(True)
        elif hours == NIGHT_SHIFT:
            self.night.setChecked(True)
        else:
            self.custom.setChecked(True)
        self.start.setTime(QTime.fromString(hours[0] or DAY_SHIFT[0], "HH:mm"))
        self.end.setTime(QTime.fromString(hours[1] or DAY_SHIFT[1], "HH:mm"))
        form = QFormLayout()
        form.addRow(zh_en("开始", "From"), self.start)
        form.addRow(zh_en("结束", "To"), self.end)
        note = QLabel(
            zh_en(
                "时间为大厅当地时间；夜班跨越午夜。",
                "Times are the hall's local time; a night shift runs past midnight.",
            )
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        col = QVBoxLayout(self)
        for w in (self.day, self.night, self.custom, self.none):
            col.addWidget(w)
        col.addLayout(form)
        col.addWidget(note)
        col.addWidget(buttons)
        for radio in (self.day, self.night, self.custom, self.none):
            radio.toggled.connect(self._sync)
        self._sync()

    def _sync(self, *_: object) -> None:
        editable = self.custom.isChecked()
        self.start.setEnabled(editable)
        self.end.setEnabled(editable)
        if self.day.isChecked():
            self.start.setTime(QTime.fromString(DAY_SHIFT[0], "HH:mm"))
            self.end.setTime(QTime.fromString(DAY_SHIFT[1], "HH:mm"))
        elif self.night.isChecked():
            self.start.setTime(QTime.fromString(NIGHT_SHIFT[0], "HH:mm"))
            self.end.setTime(QTime.fromString(NIGHT_SHIFT[1], "HH:mm"))

    def schedule(self) -> dict[str, str] | None:
        """The chosen ``{"from", "to"}`` (HH:MM), or None for no shift."""
        if self.none.isChecked():
            return None
        return {
            "from": self.start.time().toString("HH:mm"),
            "to": self.end.time().toString("HH:mm"),
        }
