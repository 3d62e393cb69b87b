"""The map panel on the demo county: layers filled from the store, selection both ways,
box selection, search, tooltips, tiles with good and broken MBTiles, no leaks."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from commandcenter.selection import Selection
from commandcenter.status import FeedStatus
from tests.mapdata import filled_store
from widgets import i18n, registry
from widgets.base import PanelContext, active_timers
from widgets.live import LiveBridge
from widgets.theme import apply_theme

MapPanel: Any = None


@pytest.fixture(scope="module", autouse=True)
def map_registered():
    """Register the map panel for this module only. widgets.registry.BUILTIN_MODULES does
    not list widgets.map yet and tests/test_panels.py still uses "map" as its example of an
    unknown panel; importing at collection time would register it for the whole session."""
    global MapPanel
    import widgets.map.panel as mod

    registry._REGISTRY["map"] = mod.MapPanel
    MapPanel = mod.MapPanel
    yield
    if "widgets.map" not in registry.BUILTIN_MODULES:
        registry._REGISTRY.pop("map", None)


@pytest.fixture(scope="module")
def demo():
    store, county, _world = filled_store(seed=1, hours=4.0)
    return store, county


@pytest.fixture
def ctx(qapp: QApplication, demo):
    apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)
    store, _ = demo
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    c = PanelContext(store, status, bridge, Selection())
    yield c
    bridge.close()


def make(ctx, qtbot, **settings) -> Any:
    p = MapPanel(ctx, settings)
    qtbot.addWidget(p)
    p.resize(1280, 800)
    p.show()
    qtbot.waitExposed(p)
    p._frame()
    return p


def test_registered_and_layers_filled(ctx, qtbot, demo) -> None:
    assert registry.panel_class("map") is MapPanel
    store, _county = demo
    p = make(ctx, qtbot)
    assert p.cases.points.n == len(store)
    assert len(p.boundaries.townships) == 10 and len(p.boundaries.grids) == 452
    assert len(p.cameras.ids) == len(store.cameras) and p.units.tracks
    assert p.cases.cluster_mode  # the whole county is zoomed out: clusters
    p.canvas.grab()
    assert p.cases.clusters.drawn > 0
    assert p.legend.breaks  # choropleth computed


def test_click_selects_and_external_selection_rings(ctx, qtbot, demo) -> None:
    store, _ = demo
    p = make(ctx, qtbot, cluster=False)
    row = int(np.flatnonzero(p.cases.points.style_visible[p.cases.points.style])[0])
    x, y = float(p.cases._x[row]), float(p.cases._y[row])
    p.canvas.fly_to_point(x, y, 800, animate=False)
    p.canvas.grab()
    from PySide6.QtCore import QPointF, Qt

    p._on_click(QPointF(x, y), Qt.KeyboardModifier.NoModifier)
    assert ctx.selection.case_ids == (store._ids[row],)
    assert ctx.selection.origin == p.selection_origin
    assert p.cases.selection.rows.tolist() == [row]
    assert store._ids[row] in p.tooltip_at(*_device(p, x, y))
    # selection from another panel: ringed and flown to
    other = len(store) - 1
    ctx.selection.select([store._ids[other]], origin="queue")
    assert p.cases.selection.rows.tolist() == [other]


def _device(p: Any, x: float, y: float) -> tuple[float, float]:
    d = p._device_transform().map(__import__("PySide6.QtCore", fromlist=["QPointF"]).QPointF(x, y))
    return d.x(), d.y()


def test_box_select_and_search(ctx, qtbot, demo) -> None:
    store, county = demo
    p = make(ctx, qtbot, cluster=False)
    r = p.canvas.view_rect()
    poly = np.array(
        [[r.left(), r.top()], [r.right(), r.top()], [r.right(), r.bottom()], [r.left(), r.bottom()]]
    )
    ids = p.select_polygon(poly)
    assert len(ids) == int(p.cases.counts_by_style()[1:].sum())  # every open case in view
    # search: a case id, a township name
    cid = store._ids[3]
    p.search_box.setText(cid)
    p._search()
    assert ctx.selection.case_ids == (cid,)
    p.search_box.setText(county.townships[2].name)
    p._search()
    assert county.townships[2].name in p.status_label.text()


def test_mbtiles_base_layer_and_broken_files(ctx, qtbot, shared_external: Path) -> None:
    tiles = shared_external / "tiles"
    p = make(
        ctx, qtbot, base="mbtiles", mbtiles_path=str(tiles / "plain_1.mbtiles"), tile_crs="wgs84"
    )
    assert p.tile_layer is not None and p.projection.converts  # GCJ-02 data onto WGS-84 tiles
    p.canvas.fly_to_box((-2e7, -2e7, 2e7, 2e7), animate=False)
    p.canvas.grab()
    qtbot.waitUntil(lambda: bool(p.tile_layer.images), timeout=5000)
    for name, needle in (("corrupt.mbtiles", "corrupt"), ("with_spaces.mbtiles", "no tiles")):
        p.update_settings({"mbtiles_path": str(tiles / name)})
        assert p.tile_layer is None
        assert not p.banner.isHidden() and needle in p.banner.text()
        p.canvas.grab()  # the map still draws
    p.update_settings({"base": "none"})
    assert p.banner.isHidden() and not p.projection.converts


def test_bad_boundary_file_is_reported(ctx, qtbot, tmp_path: Path) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text("{oops")
    p = make(ctx, qtbot, boundary_file=str(bad))
    assert "not JSON" in p.banner.text() and len(p.boundaries.grids) == 452


def test_open_close_leaves_nothing(ctx, qtbot) -> None:
    before_timers = len(active_timers())
    subs = ctx.selection.subscriber_count
    for _ in range(5):
        p = MapPanel(ctx)
        p.resize(600, 400)
        p.teardown()
        p.close()
        p.deleteLater()
    QApplication.processEvents()
    gc.collect()
    assert ctx.selection.subscriber_count == subs
    assert len(active_timers()) <= before_timers
