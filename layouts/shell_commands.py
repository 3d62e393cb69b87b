"""The commands part of the shell: what every window's menus, shortcuts and command
palette do.

The actions are declared in ``widgets/chrome/palette.py`` (and the briefing and replay
ones in ``widgets/chrome/``) with their translations, and wired here, because widgets
never import layouts. A part of ``layouts.shell.Shell``, which composes it; it never
imports the shell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt

from commandcenter.briefing import Command
from layouts.library import PRESET, USER
from layouts.screen_window import ScreenWindow
from widgets import i18n, registry
from widgets.chrome.palette import CommandPalette
from widgets.chrome.sources_dialog import SourcesDialog, sources_action
from widgets.registry import PlaceholderPanel


class CommandsPart:
    """Wiring each window's actions; the palette, the Add panel menu, the Sources dialog."""

    source_subscriber: Callable[[str], str] | None

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

    def _edit_settings(self, win: ScreenWindow) -> None:
        t = win.commands.texts()
        panel = self.focused_panel(win)
        if panel is None:
            win.statusBar().showMessage(t["no_panel"], 5000)
        elif not panel.SETTINGS:
            win.statusBar().showMessage(t["no_settings"], 5000)
        else:
            panel.edit_settings()
