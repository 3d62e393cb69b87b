"""The map's fast paths draw the same picture as the slow ones (no timing here: bench/map.py).

- a zoom blits the cached layers scaled and redraws them once the zoom settles; the
  settled picture equals a fresh synchronous render;
- a zoom-out past the cached image's margin is filled from the overview, not redrawn;
- changed markers repaint only the cells they touch, and the patched image equals a full
  repaint.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from commandcenter.selection import Selection
from commandcenter.status import FeedStatus
from feeds import protocol as P
from tests.mapdata import filled_store
from widgets import i18n, registry
from widgets.base import hall_context
from widgets.live import LiveBridge
from widgets.theme import apply_theme


@pytest.fixture(scope="module", autouse=True)
def map_registered():
    global MapPanel
    import widgets.map.panel as mod

    registry._REGISTRY["map"] = mod.MapPanel
    MapPanel = mod.MapPanel
    yield
    if "widgets.map" not in registry.BUILTIN_MODULES:
        registry._REGISTRY.pop("map", None)


@pytest.fixture(scope="module")
def demo():
    store, _county, world = filled_store(seed=1, hours=4.0, extra_cases=20_000)
    return store, world


@pytest.fixture
def panel(qapp: QApplication, qtbot, demo) -> Any:
    apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)
    store, _ = demo
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    p = MapPanel(hall_context(store, status, bridge, Selection()), {"cluster": False})
    qtbot.addWidget(p)
    p.resize(1280, 800)
    p.show()
    qtbot.waitExposed(p)
    p._frame()
    p.canvas.home()
    p.canvas.zoom_by(0.5)
    p._update_lod()
    p.canvas.grab()
    yield p
    p.teardown()
    bridge.close()


def _pixels(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    return np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), -1).copy()


def test_zoom_blits_scaled_then_settles_to_the_exact_render(panel) -> None:
    cache = panel.boundaries.cache
    renders = cache.renders
    panel.canvas.zoom_by(0.8)
    mid = panel.canvas.grab().toImage()
    assert cache.renders == renders and cache.stale and cache.scaled >= 1
    assert _pixels(mid).any()  # a complete picture, not a blank frame
    for c in (panel.boundaries.cache, panel.cases.points.cache):
        c.settle()
    settled = _pixels(panel.canvas.grab().toImage())
    assert cache.renders == renders + 1 and not cache.stale
    # the same view drawn synchronously from nothing
    for c in (panel.boundaries.cache, panel.cases.points.cache):
        c.invalidate()
    fresh = _pixels(panel.canvas.grab().toImage())
    assert np.array_equal(settled, fresh)


def test_zoom_out_past_the_margin_uses_the_overview(panel) -> None:
    cache = panel.boundaries.cache
    assert cache.overview is not None
    renders = cache.renders
    panel.canvas.zoom_by(1.6)  # the scaled image no longer covers the view
    mid = _pixels(panel.canvas.grab().toImage()).astype(np.int16)
    assert cache.renders == renders and cache.stale
    for c in panel._cached_layers():
        c.cache.settle()
    exact = _pixels(panel.canvas.grab().toImage()).astype(np.int16)
    h, w = exact.shape
    rim = np.zeros_like(exact, dtype=bool)
    rim[: h // 8], rim[-h // 8 :], rim[:, : w // 8], rim[:, -w // 8 :] = True, True, True, True
    blank = np.broadcast_to(exact[2, :4], (h, w // 4, 4)).reshape(h, w)  # background
    # the rim, drawn from the overview, is close to the exact picture, far from blank
    assert np.abs(mid - exact)[rim].mean() < 0.5 * np.abs(blank - exact)[rim].mean()


def _update(store, world, rows: list[int]) -> list:
    evs = []
    seq = store.seq
    for r in rows:
        cur = store.record_at(r)
        seq += 1
        new = msgspec.structs.replace(
            cur,
            version=cur.version + 1,
            state="handling" if cur.state != "handling" else "signed",
            lon=cur.lon + 2e-4,
            lat=cur.lat - 1e-4,
        )
        evs.append(P.Event(seq=seq, kind="case.updated", ts=world.now, data=new))
    return evs


def test_changed_markers_repaint_only_their_cells_and_equal_a_full_repaint(panel, demo) -> None:
    store, world = demo
    pts = panel.cases.points
    cache = pts.cache
    vis = np.flatnonzero(pts.style_visible[pts.style[: pts.n]])
    on_image = vis[np.isfinite(pts._ipx[vis]) & (pts._cell[vis] < pts._grid[0] * pts._grid[1])]
    rows = on_image[:: max(1, on_image.size // 16)][:16].tolist()
    renders = cache.renders
    store.apply(_update(store, world, rows))
    panel.ctx.bridge.flush()
    panel.canvas.grab()
    assert cache.renders == renders  # no full redraw
    assert pts.patches >= 1
    # at most the cells under the old and new sprites: a few per marker, not the layer
    cols, nrows = pts._grid
    assert 0 < pts.patched_cells <= 16 * 8 < cols * nrows / 10
    patched = _pixels(cache.image)
    cache.invalidate()
    panel.canvas.grab()
    assert cache.renders == renders + 1
    full = _pixels(cache.image)
    assert np.array_equal(patched, full)


def test_cluster_bins_equal_the_sorted_grouping() -> None:
    from widgets.map.layers.cases import _bins

    rng = np.random.default_rng(1)
    x = rng.normal(1.26e7, 3e4, 50_000)
    y = rng.normal(4.56e6, 3e4, 50_000)
    inv, cnt = _bins(x, y, 1024.0)
    keys = np.floor(x / 1024).astype(np.int64) * 4_194_304 + np.floor(y / 1024).astype(np.int64)
    _, inv2, cnt2 = np.unique(keys, return_inverse=True, return_counts=True)
    assert cnt.sum() == x.size and np.array_equal(np.sort(cnt), np.sort(cnt2))
    assert np.array_equal(cnt[inv], cnt2[inv2])
