"""The briefing part of the shell: the windows' briefing actions following the
``BriefingMode`` (``layouts/briefing_mode.py``, which runs the playlist), and the one-key
briefing export (a PNG of every screen and the masked PDF report).

A part of ``layouts.shell.Shell``, which composes it; it never imports the shell.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication

from commandcenter.privacy import Mask
from layouts.briefing_mode import BriefingMode
from layouts.schema import LayoutError
from layouts.screen_window import ScreenWindow
from widgets.chrome.briefing import BlankCover
from widgets.chrome.report import export_briefing

log = logging.getLogger(__name__)


class BriefingPart:
    """The briefing's actions on every window; exporting what the screens show, masked."""

    briefing: BriefingMode
    forced_mask: Mask | None
    export_folder: Path
    last_export: tuple[list[Path], Path] | None

    def _briefing_changed(self) -> None:
        for win in self.windows:
            self._sync_briefing_actions(win)
            self._sync_replay_actions(win)

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
                return export_briefing(self.ctx.store, list(self.windows), folder, metrics=self.ctx.metrics)
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
