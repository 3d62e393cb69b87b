"""The layout-library part of the shell: the layouts on disk as the operator acts on
them (save, save as, rename, delete, export, import, bind to a shift, open), with the
dialogs and menus that ask for them.

A layout written by a newer version is read-only (``LayoutLibrary.read_only_reason``):
saving it goes to a new name, the file stays as it is. A part of ``layouts.shell.Shell``,
which composes it; it never imports the shell.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from layouts.library import BUILTIN, DEFAULT_PRESET, USER, LayoutLibrary
from layouts.schema import LayoutError
from layouts.screen_window import ScreenWindow
from widgets import i18n
from widgets.chrome.palette import ScheduleDialog

log = logging.getLogger(__name__)


class LibraryPart:
    """Saving, opening and managing layouts; the Layout menu's dialogs and lists."""

    library: LayoutLibrary
    key: str
    source: str
    read_only: str

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
