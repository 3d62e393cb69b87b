"""Map benchmark (software rendering, 1920x1080, offscreen), every frame complete.

The plan, at 10k, 100k and 1M case markers with all default layers on (boundaries,
choropleth, names, cameras, units and tracks, clusters when zoomed out, components where
the zoom shows them): from the county view, 10 zoom-in steps to 20% of each axis, 10 pan
steps (10% of the view each), 10 zoom-out steps back. A step is the view change plus a
full ``QWidget.grab`` of the canvas, i.e. a complete frame. The baseline, in the same
process, is the same plan with every cached layer redrawn at each step (what the map did
before the scaled blit: a synchronous re-render per zoom step).

Then, at 100k, a stream: 16 marker updates every 16 ms for 10 s, each tick applied to
the store and followed by a complete frame; complete frames per second, against a
baseline that redraws the whole marker layer per tick. Then the settle frame (the exact
redraw once a zoom is over), the tiled alternative (all 256-px tiles of the view painted
at a new scale, what a tiled cache pays per zoom step) and memory. The last row states
the load average, so a slow table can be told from a slow machine.

Run: ``python -m bench.map`` (``--quick``: 10k and 100k only, a 3 s stream).
"""

from __future__ import annotations

import gc
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import msgspec
import numpy as np

from bench.table import Row, print_table

ZOOM_STEPS = 10
ZOOM_TO = 0.2  # of each axis
PAN = 0.10  # of the view per pan step


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return fh.read().split()[0]
    except OSError:
        return "?"


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _p95(v: list[float]) -> float:
    return float(np.percentile(v, 95))


def plan_steps() -> list[tuple[str, float, float, float]]:
    """(kind, zoom factor, pan dx, pan dy) of the 30 steps."""
    f = ZOOM_TO ** (1 / ZOOM_STEPS)
    pans = [(PAN, 0.0), (0.0, PAN), (-PAN, 0.0), (0.0, -PAN), (PAN, PAN)] * 2
    return (
        [("zoom", f, 0.0, 0.0)] * ZOOM_STEPS
        + [("pan", 1.0, dx, dy) for dx, dy in pans]
        + [("zoom", 1 / f, 0.0, 0.0)] * ZOOM_STEPS
    )


def _invalidate_all(panel) -> None:
    for item in panel._cached_layers():
        item.cache.invalidate()


def run_plan(panel, app, sync: bool = False) -> list[float]:
    """ms per complete frame over the 30 steps; ``sync`` redraws every cache per step."""
    c = panel.canvas
    c.home()
    panel._update_lod()
    for item in panel._cached_layers():
        item.cache.settle()
    app.processEvents()
    c.grab()
    out: list[float] = []
    for kind, f, dx, dy in plan_steps():
        t = time.perf_counter()
        if kind == "zoom":
            c.zoom_by(f)
        else:
            c.pan_by(dx, dy)
        panel._update_lod()
        if sync:
            _invalidate_all(panel)
        c.grab()
        out.append((time.perf_counter() - t) * 1000)
        app.processEvents()
    return out


def settle_frame(panel, app) -> float:
    """The frame after a zoom is over: every stale cache redrawn exactly."""
    c = panel.canvas
    c.zoom_by(0.85)
    panel._update_lod()
    c.grab()
    t = time.perf_counter()
    for item in panel._cached_layers():
        item.cache.settle()
    c.grab()
    return (time.perf_counter() - t) * 1000


def tiled_zoom_step(panel) -> float:
    """What a tiled cache pays for one zoom step: every 256-px tile of the view painted
    at the new scale (each cached layer's render into its own tile image)."""
    from PySide6.QtGui import QImage, QPainter, QTransform

    c = panel.canvas
    t = c.vb.childGroup.sceneTransform() * c.viewportTransform()
    w, h = c.viewport().width(), c.viewport().height()
    start = time.perf_counter()
    for item in panel._cached_layers():
        if not item.isVisible():
            continue
        for tx in range(0, w, 256):
            for ty in range(0, h, 256):
                img = QImage(256, 256, QImage.Format.Format_ARGB32_Premultiplied)
                img.fill(0)
                q = QPainter(img)
                q.setTransform(t * QTransform.fromTranslate(-tx, -ty))
                item.cache.render(q)
                q.end()
    return (time.perf_counter() - start) * 1000


def _panel(app, store):
    from commandcenter.status import FeedStatus
    from widgets.base import hall_context
    from widgets.live import LiveBridge
    from widgets.map.panel import MapPanel

    status = FeedStatus()
    bridge = LiveBridge(store, status)
    panel = MapPanel(hall_context(store, status, bridge), {})
    panel.resize(1920, 1080)
    panel.show()
    app.processEvents()
    panel._frame()
    panel._update_choropleth()
    return panel, bridge


def _updater(store, world):
    from feeds import protocol as P

    n = len(store)
    rng = np.random.default_rng(5)
    rows = rng.choice(n, size=min(n, 20_000), replace=False)
    state = {"seq": store.seq, "k": 0}

    def updates(batch: int) -> list:
        out = []
        for _ in range(batch):
            r = int(rows[state["k"] % rows.size])
            state["k"] += 1
            cur = store.record_at(r)
            state["seq"] += 1
            new = msgspec.structs.replace(
                cur,
                version=cur.version + 1,
                state="handling" if cur.state != "handling" else "signed",
                lon=cur.lon + 1e-5,
                lat=cur.lat + 1e-5,
            )
            out.append(P.Event(seq=state["seq"], kind="case.updated", ts=world.now, data=new))
        return out

    return updates


def stream(panel, bridge, store, updates, app, seconds: float, full: bool) -> tuple[float, int]:
    """16 updates every 16 ms for ``seconds``; (complete frames/s, updates applied).
    ``full`` redraws the whole marker layer per tick (the baseline)."""
    c = panel.canvas
    panel.update_settings({"cluster": False})  # every marker drawn: the worst case
    c.home()
    c.zoom_by(0.5)  # the county seat, most markers on screen
    panel._update_lod()
    for item in panel._cached_layers():
        item.cache.settle()
    c.grab()
    frames = applied = 0
    t0 = time.perf_counter()
    next_tick = t0
    last_frame = t0
    while time.perf_counter() - t0 < seconds:
        store.apply(updates(16))
        applied += 16
        bridge.flush()
        now = time.perf_counter()
        if now - last_frame >= 0.25:  # the panel's quarter-second tick and timers
            last_frame = now
            panel._frame()
            app.processEvents()
        if full:
            panel.cases.points.cache.invalidate()
        c.grab()
        frames += 1
        next_tick += 0.016
        delay = next_tick - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    app.processEvents()
    return frames / (time.perf_counter() - t0), applied


def _hwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(n: int) -> dict[str, float]:
    """In a process of its own (as a console has one store): RSS after the imports and
    the QApplication, after the store of ``n`` extra cases, after the map panel, and after
    the 30-step plan in both cluster modes, back at the county view with the default
    clustering; the peak; the bytes the map's raster caches hold at the end."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from PySide6.QtWidgets import QApplication

    from tests.mapdata import filled_store
    from widgets import i18n
    from widgets.theme import apply_theme

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    i18n.set_language(app, i18n.CHINESE)
    import widgets.map  # noqa: F401  (registers the panel)

    out = {"base": _rss_mb()}
    store, _county, _world = filled_store(extra_cases=n)
    gc.collect()
    out["store"] = _rss_mb()
    panel, bridge = _panel(app, store)
    out["panel"] = _rss_mb()
    for cluster in (True, False):
        panel.update_settings({"cluster": cluster})
        run_plan(panel, app)
    panel.update_settings({"cluster": True})
    panel.canvas.home()
    panel._update_lod()
    panel.canvas.grab()
    app.processEvents()
    gc.collect()
    out["end"] = _rss_mb()
    out["peak"] = _hwm_mb()
    out["caches"] = sum(item.cache.holds for item in panel._cached_layers()) / 2**20
    out["cases"] = len(store)
    bridge.close()
    return out


def memory_row(n: int) -> Row:
    """The memory row, measured in a child process (``memory_child``)."""
    import json
    import subprocess

    got = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bench.map", "--memory", str(n)],
            capture_output=True,
            text=True,
            check=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    return Row(
        f"memory, process RSS with {got['cases'] / 1000:,.0f}k cases on the map",
        got["end"],
        "MB",
        "<= 300 MB",
        note=f"own process, after the plan, county view; Python + Qt + imports "
        f"{got['base']:.0f}, + store {got['store'] - got['base']:.0f}, + map panel "
        f"{got['panel'] - got['store']:.0f}, after the plan {got['end']:.0f} (peak "
        f"{got['peak']:.0f}); raster caches hold {got['caches']:.0f} MB",
    )


def run(quick: bool = False) -> list[Row]:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from PySide6.QtWidgets import QApplication

    from tests.mapdata import filled_store
    from widgets import i18n
    from widgets.theme import apply_theme

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    i18n.set_language(app, i18n.CHINESE)
    import widgets.map  # noqa: F401  (registers the panel)

    rows: list[Row] = []
    load0 = _loadavg()
    t_run = time.perf_counter()
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    for n in sizes:
        gc.collect()
        store, _county, world = filled_store(extra_cases=n)
        panel, bridge = _panel(app, store)
        label = f"{len(store) // 1000:,}k" if len(store) < 1e6 else f"{len(store) / 1e6:.1f}M"
        target = "<= 33 ms" if n >= 1_000_000 else "<= 16.7 ms"
        for cluster, what in ((True, "default layers"), (False, "markers, no clusters")):
            # at 1920 px the county is 68 m/px and the plan's deepest view 14 m/px: with
            # the default clustering (above 9 m/px) the plan never shows single markers,
            # so it runs once more with clustering off, every marker drawn
            panel.update_settings({"cluster": cluster})
            base = run_plan(panel, app, sync=True)
            ft = run_plan(panel, app)
            rows.append(
                Row(
                    f"map 30-step plan, {label} cases, {what} (p95)",
                    _p95(ft),
                    "ms",
                    target,
                    baseline=_p95(base),
                    note=f"p50 {np.median(ft):.1f}, max {max(ft):.1f}; baseline (sync "
                    f"re-render per step) p50 {np.median(base):.1f}, p95 {_p95(base):.1f}",
                )
            )
        panel.update_settings({"cluster": True})
        if n == 100_000:
            rows.append(memory_row(n))
            rows.append(
                Row(
                    "settle frame after a zoom, 100k (exact redraw)",
                    float(np.median([settle_frame(panel, app) for _ in range(5)])),
                    "ms",
                    "",
                    note="once per gesture, when the view has been still 0.3 s",
                )
            )
            c = panel.canvas
            c.home()
            c.zoom_by(0.5)
            panel._update_lod()
            c.grab()
            tiled = float(np.median([tiled_zoom_step(panel) for _ in range(3)]))
            rows.append(
                Row(
                    "tiled cache alternative: one zoom step, 100k (all tiles new)",
                    tiled,
                    "ms",
                    "",
                    note="256-px tiles of the view at the new scale; rejected (docs/map.md)",
                )
            )
            updates = _updater(store, world)
            secs = 3.0 if quick else 10.0
            fps_base, _ = stream(panel, bridge, store, updates, app, secs, full=True)
            fps, applied = stream(panel, bridge, store, updates, app, secs, full=False)
            panel.update_settings({"cluster": True})
            pts = panel.cases.points
            rows.append(
                Row(
                    "complete frames/s, 100k, 16 updates every 16 ms",
                    fps,
                    "fps",
                    ">= 55",
                    baseline=fps_base,
                    note=f"{applied / secs:,.0f} updates/s; baseline redraws all markers "
                    f"per tick: {fps_base:.1f} fps; {pts.patches} patches, "
                    f"{pts.patched_cells / max(pts.patches, 1):.0f} cells each",
                )
            )
        panel.teardown()
        panel.close()
        bridge.close()
        panel.deleteLater()
        app.processEvents()
        del store, world, panel, bridge
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
    if sys.argv[1:2] == ["--memory"]:
        import json

        print(json.dumps(memory_child(int(sys.argv[2]))))
    else:
        print_table(run(quick="--quick" in sys.argv))
