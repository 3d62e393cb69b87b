"""Map benchmark: pan/zoom frame times with 10k and 100k case markers (software
rendering, 1920x1080, offscreen), the time to apply 1,000 marker updates, frames while
1,000 updates/s stream in, and memory. Baseline in the same process: the same 10k
markers as one QGraphicsEllipseItem each (the naive Qt way).

Every frame is a full ``QWidget.grab`` of the panel's canvas with all default layers on
(boundaries, choropleth, names, cameras, units and tracks, components where the zoom
shows them); only clustering is off, so that the markers themselves are drawn. The
machine may be shared: the last row states the load average (/proc/loadavg) before and
after the run, so a slow table can be told from a slow machine.

Run: ``python -m bench.map`` (or ``python -m bench map`` once listed in SUITES).
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import msgspec
import numpy as np

from bench.table import Row, print_table


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return fh.read().split()[0]
    except OSError:
        return "?"


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _frames(panel, app, steps: int) -> list[float]:
    """Pan and zoom through ``steps`` frames; ms per rendered frame (QWidget.grab)."""
    c = panel.canvas
    moves = [(0.03, 0.0), (0.0, 0.03), (-0.03, 0.0), (0.0, -0.03)]
    out: list[float] = []
    for i in range(steps):
        if i % 10 == 4:
            c.zoom_by(0.8)
        elif i % 10 == 9:
            c.zoom_by(1.25)
        else:
            c.pan_by(*moves[i % 4])
        t = time.perf_counter()
        panel._update_lod()
        c.grab()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _panel(app, store, settings: dict):
    from commandcenter.status import FeedStatus
    from widgets.base import PanelContext
    from widgets.live import LiveBridge
    from widgets.map.panel import MapPanel

    status = FeedStatus()
    bridge = LiveBridge(store, status)
    panel = MapPanel(PanelContext(store, status, bridge), settings)
    panel.resize(1920, 1080)
    panel.show()
    app.processEvents()
    panel._frame()
    panel._update_choropleth()
    return panel, bridge


def _naive(app, x: np.ndarray, y: np.ndarray, steps: int) -> list[float]:
    from PySide6.QtGui import QBrush, QColor, QPen
    from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsScene, QGraphicsView

    scene = QGraphicsScene()
    brush = QBrush(QColor("#40a9ff"))
    pen = QPen(QColor("#05070c"))
    pen.setCosmetic(True)
    r = 40.0
    for a, b in zip(x.tolist(), y.tolist(), strict=True):
        it = QGraphicsEllipseItem(a - r, -b - r, 2 * r, 2 * r)
        it.setBrush(brush)
        it.setPen(pen)
        scene.addItem(it)
    view = QGraphicsView(scene)
    view.resize(1920, 1080)
    view.show()
    view.fitInView(scene.itemsBoundingRect())
    app.processEvents()
    view.grab()
    out = []
    for i in range(steps):
        view.translate(5 if i % 2 else -5, 3)
        t = time.perf_counter()
        view.grab()
        out.append((time.perf_counter() - t) * 1000)
    view.close()
    return out


def run(quick: bool = False) -> list[Row]:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from PySide6.QtWidgets import QApplication

    from feeds import protocol as P
    from tests.mapdata import filled_store
    from widgets import i18n
    from widgets.theme import apply_theme

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    i18n.set_language(app, i18n.CHINESE)
    import widgets.map  # noqa: F401  (registers the panel)

    steps = 12 if quick else 40
    rows: list[Row] = []
    load0 = _loadavg()
    t_run = time.perf_counter()
    for n in (10_000, 100_000):
        gc.collect()
        rss0 = _rss_mb()
        store, _county, world = filled_store(extra_cases=n)
        rss1 = _rss_mb()
        panel, bridge = _panel(app, store, {"cluster": False})
        c = panel.canvas
        # a view of the seat: most markers on screen
        c.home()
        c.zoom_by(0.5)
        app.processEvents()
        c.grab()
        ft = _frames(panel, app, steps)
        rows.append(
            Row(
                f"map pan/zoom frame, {len(store) // 1000}k markers (p50)",
                float(np.median(ft)),
                "ms",
                "<= 33 ms",
            )
        )
        rows.append(
            Row(
                f"map pan/zoom frame, {len(store) // 1000}k markers (max)",
                float(np.max(ft)),
                "ms",
                "<= 100 ms",
                note=(
                    f"{panel.cases.points.on_screen:,} on screen, "
                    f"{panel.cases.points.drawn:,} drawn (rest covered) in last frame; "
                    f"boundary image drawn {panel.boundaries.cache.renders}x, "
                    f"blitted {panel.boundaries.cache.blits}x"
                ),
            )
        )
        if n == 100_000:
            panel.update_settings({"cluster": True})
            c.home()
            ftc = _frames(panel, app, steps)
            rows.append(
                Row(
                    "map frame, 100k clustered, county view (p50)",
                    float(np.median(ftc)),
                    "ms",
                    "<= 33 ms",
                )
            )
            panel.update_settings({"cluster": False})
            c.home()
            c.zoom_by(0.5)
            # 1,000 marker updates: state changes (colour) and moves, applied and drawn
            recs = [store.record_at(i) for i in range(0, len(store), max(1, len(store) // 1000))][
                :1000
            ]
            seq = store.seq

            def updates(k: int, batch: int, recs=recs, store=store, world=world) -> list:
                nonlocal seq
                out = []
                for j in range(batch):
                    r = recs[(k * batch + j) % len(recs)]
                    cur = store.case(r.id)
                    seq += 1
                    new = msgspec.structs.replace(
                        cur,
                        version=cur.version + 1,
                        state="handling" if cur.state != "handling" else "signed",
                        lon=cur.lon + 1e-5,
                        lat=cur.lat + 1e-5,
                    )
                    out.append(P.Event(seq=seq, kind="case.updated", ts=world.now, data=new))
                return out

            evs = updates(0, 1000)
            t = time.perf_counter()
            store.apply(evs)
            bridge.flush()
            panel.cases.refresh_levels(force=True)
            t_apply = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            c.grab()
            t_draw = (time.perf_counter() - t) * 1000
            rows.append(
                Row(
                    "apply 1,000 marker updates (store + map)",
                    t_apply,
                    "ms",
                    "",
                    note=f"+ {t_draw:.0f} ms to draw the frame",
                )
            )
            # streaming: 1,000 updates/s for 3 s (100 per 100 ms frame), a pan each frame
            worst = 0.0
            frames = []
            for k in range(10 if quick else 30):
                t = time.perf_counter()
                store.apply(updates(k + 1, 100))
                bridge.flush()
                panel._frame()
                c.pan_by(0.01, 0)
                c.grab()
                dt = (time.perf_counter() - t) * 1000
                frames.append(dt)
                worst = max(worst, dt)
                time.sleep(max(0.0, 0.1 - dt / 1000))
            rows.append(
                Row(
                    "frame while 1,000 updates/s stream in (max)",
                    worst,
                    "ms",
                    "<= 100 ms",
                    note=f"p50 {np.median(frames):.0f} ms",
                )
            )
        rows.append(
            Row(
                f"memory for {len(store) // 1000}k cases (store + map)",
                _rss_mb() - rss0,
                "MB",
                "",
                note=f"store alone {rss1 - rss0:.0f} MB",
            )
        )
        if n == 10_000:
            x = panel.cases._x[: len(store)]
            y = panel.cases._y[: len(store)]
            base = _naive(app, x, y, steps)
            rows[0].baseline = float(np.median(base))
            rows[
                0
            ].note = f"baseline: one QGraphicsEllipseItem per marker, {np.median(base):.0f} ms"
        panel.teardown()
        panel.close()
        bridge.close()
        panel.deleteLater()
        app.processEvents()
    rows.append(
        Row(
            "load average (1 min) during the run",
            float(_loadavg()) if _loadavg() != "?" else 0.0,
            "",
            "",
            note=f"{load0} at start, {_loadavg()} at end, {os.cpu_count()} CPUs, "
            f"{time.perf_counter() - t_run:.0f} s",
        )
    )
    return rows


if __name__ == "__main__":
    print_table(run(quick="--quick" in sys.argv))
