"""A shell on a real X display, driven line by line from a test (tests/test_multiscreen.py).

Why a child process: the test session runs on Qt's offscreen platform, and one
QApplication per process; the screen tests need xcb on an Xvfb display whose monitors
the test changes with xrandr while this process runs.

Commands on stdin, one per line; each answers one ``PROBE {json}`` line on stdout:

- ``open KEY``: open preset KEY, let the windows settle, report them;
- ``file PATH``: open the layout document at PATH the same way;
- ``state``: let pending screen changes land, report the windows;
- ``quit``.

A report lists the screens Qt sees (geometry and available geometry) and every window:
its frame, the screen it is on, whether it is visible, its panels.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication


def _rect(r) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def main() -> None:
    app = QApplication([])
    from commandcenter.status import FeedStatus
    from commandcenter.store import Store
    from layouts.engine import panel_ids
    from layouts.library import PRESET, LayoutLibrary
    from layouts.shell import Shell
    from widgets.base import hall_context
    from widgets.live import LiveBridge
    from widgets.theme import apply_theme

    apply_theme(app)
    store, status = Store(), FeedStatus()
    bridge = LiveBridge(store, status)
    user = Path(sys.argv[1])
    shell = Shell(hall_context(store, status, bridge), LayoutLibrary(user), interactive=False)

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            time.sleep(0.01)

    def report() -> dict:
        return {
            "screens": [
                {
                    "name": s.name(),
                    "geometry": _rect(s.geometry()),
                    "available": _rect(s.availableGeometry()),
                }
                for s in app.screens()
            ],
            "windows": [
                {
                    "frame": _rect(w.frameGeometry()),
                    "screen": w.screen().name() if w.screen() else "",
                    "visible": w.isVisible(),
                    "panels": sorted(w.manager.dockWidgetsMap()),
                }
                for w in shell.windows
            ],
            "problems": list(shell.problems),
        }

    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "quit":
            break
        if cmd == "open":
            shell.open_layout(arg, PRESET)
        elif cmd == "file":
            shell.apply_layout(json.loads(Path(arg).read_text(encoding="utf-8")))
        pump(0.3)
        out = report()
        if cmd == "capture":  # the layout as a save would write it
            out["captured"] = [
                sorted(panel_ids(e["dock"])) for e in shell.capture_layout()["screens"]
            ]
        print("PROBE " + json.dumps(out, ensure_ascii=False), flush=True)
    shell.close_all()
    bridge.close()


if __name__ == "__main__":
    main()
