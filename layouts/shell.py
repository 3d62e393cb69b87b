"""The shell: one docking window per screen a layout uses, built from the layout and
captured back into it.

``Shell`` holds the state (the layout shown, its windows and panels, the context the
panels get) and the two operations everything else is built on: ``apply_layout`` and
``capture_layout``. The rest is in parts it composes, each its own module:

- ``layouts/screen_window.py``: the window of one screen (``ScreenWindow``);
- ``layouts/shell_windows.py``: creating, docking, fitting and placing the windows, and
  folding them again when monitors come and go;
- ``layouts/shell_library.py``: the layouts on disk (save, open, rename, import, export,
  bind to a shift; read-only layouts of a newer version) and their dialogs and menus;
- ``layouts/shell_commands.py``: what each window's menus, shortcuts and palette do;
- ``layouts/shell_replay.py``: time travel on screen (panels rebuilt over the past);
- ``layouts/shell_briefing.py``: the briefing's actions and the one-key export.

The parts never import this module (nor does ``layouts/briefing_mode.py`` at run time),
so there is no import circle; a part reads the state it needs from ``self``.
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
    QSize,
    QStandardPaths,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QMessageBox

from commandcenter.domain import Role
from commandcenter.privacy import Mask
from commandcenter.timetravel import TimeTravel
from layouts import engine, folding, roles, schema
from layouts.briefing_mode import BriefingMode
from layouts.docking import apply_docking_theme, configure_docking
from layouts.library import LayoutLibrary, builtin_layout
from layouts.screen_window import ScreenWindow, screen_info
from layouts.shell_briefing import BriefingPart
from layouts.shell_commands import CommandsPart
from layouts.shell_library import LibraryPart
from layouts.shell_replay import ReplayPart
from layouts.shell_windows import WindowsPart
from layouts.shifts import ShiftSwitcher
from widgets import i18n
from widgets.base import Panel, PanelContext
from widgets.cases.common import role_label
from widgets.live import LiveBridge
from widgets.masking import masks_for
from widgets.registry import PlaceholderPanel, panel_widget_name

__all__ = ["ScreenWindow", "Shell", "layout_role", "screen_info"]

log = logging.getLogger(__name__)


def layout_role(doc: dict[str, Any]) -> Role | None:
    """The role a layout is for (its case actions follow it: ``widgets/cases/desk.py``);
    None for a role this version does not know (the schema reported it on load)."""
    try:
        return Role(doc.get("role") or Role.DUTY_OFFICER.value)
    except ValueError:
        return None


class Shell(WindowsPart, LibraryPart, CommandsPart, ReplayPart, BriefingPart, QObject):
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

    def layout_name(self) -> str:
        """The layout's name in the interface's language (``schema.display_name``)."""
        return schema.display_name(self._doc, i18n.is_chinese())

    def document(self) -> dict[str, Any]:
        """The layout as last applied (not captured): name, role, schedule..."""
        return copy.deepcopy(self._doc)

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
        shown, targets = folding.unfold(doc, targets, len(screens))  # no monitor left black
        placements = folding.plan(targets)
        self._apply_type_scale(shown, placements, screens)
        for p in placements:
            entry = shown["screens"][p.host]
            win = ScreenWindow(self, p.host, entry, screens[p.monitor])
            win.guests = [(g, shown["screens"][g]) for g in p.guests]
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
            if folding.LENT in win.entry:  # part of a screen on a spare monitor: rejoined
                continue
            entry = screens_out[win.index]
            own = open_ids - {p for p, g in guest_of.items() if g != win.index}
            lent = [(engine.capture_dock(w.manager), w.entry) for w in self.windows
                    if w.entry.get(folding.LENT) == win.index]  # fmt: skip
            tree = folding.rejoin(engine.capture_dock(win.manager), lent)
            entry["dock"] = folding.prune(tree, own) or {"area": []}
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
                home = self.windows[self._owner_of(geo, win)]
                owner = home.entry.get(folding.LENT, home.index)
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
