"""The map panel on the demo county: layers filled from the store, selection both ways,
box selection, search, tooltips, tiles with good and broken MBTiles, no leaks; real mouse
clicks and lasso drags on the viewport, the measure tool against haversine, XYZ tiles from
a local server through the disk cache, translated unit tooltips, the boundary cache."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from commandcenter.selection import Selection
from commandcenter.status import FeedStatus
from tests.mapdata import filled_store
from widgets import i18n, registry
from widgets.base import active_timers, hall_context
from widgets.live import LiveBridge
from widgets.map import tools
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
    c = hall_context(store, status, bridge, Selection())
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


# ---- real input, tools, XYZ tiles, translated tooltips ---------------------------------


def _px(p: Any, row: int) -> QPoint:
    x, y = _device(p, float(p.cases._x[row]), float(p.cases._y[row]))
    return QPoint(round(x), round(y))


def _isolated_row(p: Any) -> int:
    """A visible marker that is the one picked at its own pixel (nothing on top of it)."""
    pts = p.cases.points
    rows = pts.visible_rows(p._device_transform(), 1280, 700)[0]
    for row in rows[::-1].tolist():
        q = _px(p, row)
        inside = 20 < q.x() < p.canvas.width() - 20 and 20 < q.y() < p.canvas.height() - 20
        if inside and p.case_at(q.x(), q.y()) == row:
            return int(row)
    raise AssertionError("no pickable marker in view")


def _move(widget: Any, pos: QPoint, buttons: Any) -> None:
    ev = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(pos),
        QPointF(widget.mapToGlobal(pos)),
        Qt.MouseButton.NoButton,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, ev)


def test_real_mouse_click_on_a_marker_selects_it(ctx, qtbot, demo) -> None:
    store, _ = demo
    p = make(ctx, qtbot, cluster=False)
    row0 = int(np.flatnonzero(p.cases.points.style_visible[p.cases.points.style])[0])
    p.canvas.fly_to_point(float(p.cases._x[row0]), float(p.cases._y[row0]), 1500, animate=False)
    p.canvas.grab()
    row = _isolated_row(p)
    ctx.selection.clear(origin="test")
    QTest.mouseClick(p.canvas.viewport(), Qt.MouseButton.LeftButton, pos=_px(p, row))
    assert ctx.selection.case_ids == (store._ids[row],)
    assert ctx.selection.origin == p.selection_origin
    # a click on empty ground clears it
    QTest.mouseClick(p.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(3, 3))
    assert ctx.selection.case_ids == ()


def test_lasso_select_with_the_mouse(ctx, qtbot, demo) -> None:
    store, _ = demo
    p = make(ctx, qtbot, cluster=False)
    p.canvas.home()
    p.canvas.grab()
    p.set_tool("lasso")
    vp = p.canvas.viewport()
    w, h = vp.width(), vp.height()
    pts = [
        QPoint(w // 4, h // 4),
        QPoint(3 * w // 4, h // 3),
        QPoint(2 * w // 3, 3 * h // 4),
        QPoint(w // 3, 2 * h // 3),
    ]
    ctx.selection.clear(origin="test")
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, pos=pts[0])
    for q in pts[1:]:
        QTest.qWait(30)  # pyqtgraph coalesces moves that arrive within one frame
        _move(vp, q, Qt.MouseButton.LeftButton)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=pts[-1])
    poly = []
    for q in pts:
        m = p.canvas.to_map(q.x(), q.y())
        poly.append([m.x(), m.y()])
    expected = {store._ids[r] for r in p.cases.rows_in(tools.mask_in_polygon(np.array(poly)))}
    assert len(expected) > 20
    assert set(ctx.selection.case_ids) == expected
    assert not p._band.isVisible()


def test_measure_tool_matches_haversine(ctx, qtbot) -> None:
    from commandcenter import geo

    p = make(ctx, qtbot)
    p.set_tool("measure")
    vp = p.canvas.viewport()
    a, b = QPoint(200, 200), QPoint(900, 500)
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, pos=a)
    QTest.qWait(QApplication.doubleClickInterval() + 50)
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, pos=b)
    assert len(p.measure.points) == 2
    ma, mb = p.canvas.to_map(a.x(), a.y()), p.canvas.to_map(b.x(), b.y())
    lon, lat = p.projection.lonlat(np.array([ma.x(), mb.x()]), np.array([ma.y(), mb.y()]))
    want = float(geo.haversine_m(lon[0], lat[0], lon[1], lat[1]))
    assert want > 5000
    assert p.measure.length_m() == pytest.approx(want, rel=1e-9)
    assert p.measure.label.text() == f"{want / 1000:.2f} km"


def _tile_app(mbtiles: Path, hits: list[str]):
    import sqlite3

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    def tile(request: Request) -> Response:
        z, x, y = (int(request.path_params[k]) for k in ("z", "x", "y"))
        hits.append(f"{z}/{x}/{y}")
        with sqlite3.connect(f"file:{mbtiles}?mode=ro", uri=True) as conn:
            row = conn.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                (z, x, (1 << z) - 1 - y),  # MBTiles rows are TMS (south up)
            ).fetchone()
        if row is None:
            return Response(status_code=404)
        return Response(bytes(row[0]), media_type="image/png")

    return Starlette(routes=[Route("/{z:int}/{x:int}/{y:int}.png", tile)])


def test_xyz_tiles_from_a_local_server_land_in_the_disk_cache(
    ctx, qtbot, shared_external: Path, tmp_path: Path, monkeypatch
) -> None:
    from tests.support import ThreadedServer

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    hits: list[str] = []
    world = (-2e7, -2e7, 2e7, 2e7)
    with ThreadedServer(_tile_app(shared_external / "tiles" / "plain_1.mbtiles", hits)) as srv:
        url = srv.url + "/{z}/{x}/{y}.png"
        p = make(ctx, qtbot, base="xyz", xyz_url=url, tile_crs="wgs84")
        assert p.tile_layer is not None
        p.canvas.fly_to_box(world, animate=False)
        p.canvas.grab()
        qtbot.waitUntil(
            lambda: any(img is not None for img in p.tile_layer.images.values()), timeout=10000
        )
        qtbot.waitUntil(lambda: p.fetcher is not None and p.fetcher.pending() == 0, timeout=10000)
        loaded = {k for k, img in p.tile_layer.images.items() if img is not None}
        cached = sorted((tmp_path / "commandcenter" / "tiles").rglob("*"))
        files = [f for f in cached if f.is_file()]
        assert len(files) >= len(loaded) > 0 and hits
        assert p.banner.isHidden()
        served = len(hits)
        p.teardown()
        # a second map on the same source reads the disk cache: no new requests
        q = make(ctx, qtbot, base="xyz", xyz_url=url, tile_crs="wgs84")
        q.canvas.fly_to_box(world, animate=False)
        q.canvas.grab()
        qtbot.waitUntil(
            lambda: {k for k, img in q.tile_layer.images.items() if img is not None} >= loaded,
            timeout=10000,
        )
        assert len(hits) == served
        q.teardown()


def test_unit_tooltip_is_translated(ctx, qtbot, qapp) -> None:
    from widgets.map.layers.live import UNIT_STATUS_LABELS

    p = make(ctx, qtbot)
    tr = next(t for t in p.units.tracks.values() if t.xs and t.status)
    x, y = tr.xs[-1], tr.ys[-1]
    p.canvas.fly_to_point(x, y, 600, animate=False)  # zoomed in: one glyph per unit
    assert not p.units.clustered(p.canvas.metres_per_pixel())
    zh, en = UNIT_STATUS_LABELS[tr.status]
    try:
        text = p.tooltip_at(*_device(p, x, y))
        assert zh in text and tr.status not in text
        i18n.set_language(qapp, i18n.ENGLISH)
        text = p.tooltip_at(*_device(p, x, y))
        assert en in text and f"\n{tr.status}" not in text
        # zoomed out, a unit badge lists its members with translated states
        p.canvas.home()
        mpp = p.canvas.metres_per_pixel()
        assert p.units.clustered(mpp)
        cx, cy, count, _members = p.units.clusters(mpp)
        i = int(np.argmax(count))
        text = p.tooltip_at(*_device(p, float(cx[i]), float(cy[i])))
        assert f"{int(count[i])} units" in text
    finally:
        i18n.set_language(qapp, i18n.CHINESE)


def test_pan_blits_the_cached_boundaries(ctx, qtbot) -> None:
    """The boundary layer is drawn once per zoom; a pan within the margin is a blit, and a
    settled pan re-centres the image lazily."""
    p = make(ctx, qtbot, cluster=False)
    p.canvas.grab()
    cache = p.boundaries.cache
    renders = cache.renders
    for _ in range(3):
        p.canvas.pan_by(0.02, 0.0)
        p.canvas.grab()
    assert cache.renders == renders and cache.offset != (0, 0)
    assert cache.recentre(now=cache.moved_at + 1.0)
    p.canvas.grab()
    assert cache.renders == renders + 1 and cache.offset == (0, 0)
    # a zoom step blits the image scaled; the exact redraw waits until the zoom settles
    p.canvas.zoom_by(0.5)
    p.canvas.grab()
    assert cache.renders == renders + 1 and cache.stale
    cache.settle()
    p.canvas.grab()
    assert cache.renders == renders + 2 and not cache.stale


def test_click_a_camera_and_box_cameras_select_them_for_the_wall(ctx, qtbot, demo) -> None:
    store, _ = demo
    p = make(ctx, qtbot, cluster=False)
    cid = sorted(store.cameras)[7]
    i = p.cameras.ids.index(cid)
    x, y = float(p.cameras.x[i]), float(p.cameras.y[i])
    p.canvas.fly_to_point(x, y, 400, animate=False)  # street zoom: cameras drawn
    p.canvas.grab()
    p._on_click(QPointF(x, y), Qt.KeyboardModifier.NoModifier)
    assert ctx.selection.case_ids == (cid,)
    r = p.canvas.view_rect()
    poly = np.array(
        [[r.left(), r.top()], [r.right(), r.top()], [r.right(), r.bottom()], [r.left(), r.bottom()]]
    )
    p.select_polygon(poly)
    assert cid in ctx.selection.case_ids
    boxed = [s for s in ctx.selection.case_ids if s in store.cameras]
    assert boxed == tools.cameras_in(p.cameras, poly) and len(boxed) >= 1


def test_a_damaged_tile_cache_is_reported_and_the_tile_fetched_again(
    ctx, qtbot, shared_external: Path, tmp_path: Path, monkeypatch
) -> None:
    from commandcenter.tiles import TileCache, image_complete
    from tests.support import ThreadedServer

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    hits: list[str] = []
    with ThreadedServer(_tile_app(shared_external / "tiles" / "plain_1.mbtiles", hits)) as srv:
        url = srv.url + "/{z}/{x}/{y}.png"
        key = "xyz:" + url
        cache = TileCache(tmp_path / "commandcenter" / "tiles")
        # Torn files from an older version: every tile of zoom 0..4 cut short on disk.
        for z in range(5):
            for x in range(1 << z):
                for y in range(1 << z):
                    p = cache.path(key, z, x, y)
                    p.parent.mkdir(parents=True, exist_ok=True)
                    p.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
        p = make(ctx, qtbot, base="xyz", xyz_url=url, tile_crs="wgs84")
        p.canvas.fly_to_box((-2e7, -2e7, 2e7, 2e7), animate=False)
        p.canvas.grab()
        qtbot.waitUntil(lambda: "底图缓存" in p.banner.text(), timeout=10000)
        qtbot.waitUntil(lambda: p.fetcher is not None and p.fetcher.pending() == 0, timeout=10000)
        loaded = [k for k, img in p.tile_layer.images.items() if img is not None]
        assert loaded and hits  # drawn from the server, not from the torn files
        assert "损坏" in p.banner.text() and ".corrupt-" in p.banner.text()
        for z, x, y in loaded:
            assert image_complete(cache.path(key, z, x, y).read_bytes())
            assert list(cache.path(key, z, x, y).parent.glob(f"{y}.corrupt-*"))
        p.teardown()


def test_an_mbtiles_file_damaged_inside_shows_what_failed_and_draws_the_rest(
    ctx, qtbot, shared_external: Path, tmp_path: Path
) -> None:
    import random
    import sqlite3

    from tests.test_tiles import _mbtiles_with_big_tiles, _png

    path = tmp_path / "county.mbtiles"
    _mbtiles_with_big_tiles(path, _png(shared_external))
    con = sqlite3.connect(path)
    overflow = [r[0] for r in con.execute(
        "SELECT pageno FROM dbstat WHERE name = 'tiles' AND pagetype = 'overflow'")]  # fmt: skip
    con.close()
    with path.open("r+b") as f:
        for n in overflow[len(overflow) // 3 :: 20]:
            f.seek((n - 1) * 4096)
            f.write(random.Random(n).randbytes(4096))
    p = make(ctx, qtbot, base="mbtiles", mbtiles_path=str(path), tile_crs="wgs84")
    assert p.tile_layer is not None  # it opens: the damage is inside the tile data
    p.canvas.fly_to_box((-2e7, -2e7, 2e7, 2e7), animate=False)
    p.canvas.grab()
    qtbot.waitUntil(
        lambda: p.fetcher.pending() == 0 and len(p.tile_layer.images) >= 16, timeout=10000
    )
    p._frame()
    failed = p.fetcher.errors
    drawn = [k for k, img in p.tile_layer.images.items() if img is not None]
    assert failed >= 1 and len(drawn) == 16 - failed
    assert (
        f"底图瓦片加载失败 {failed} 次" in p.banner.text() and "county.mbtiles" in p.banner.text()
    )
    p.teardown()


def test_layers_not_shown_hold_no_cached_images(ctx, qtbot) -> None:
    """Memory (bench/map.py): markers hidden behind clusters and cameras above their
    zoom let go of their raster caches; shown again, they draw as before."""
    p = make(ctx, qtbot, cluster=False)
    pts, cams = p.cases.points, p.cameras
    p.canvas.zoom_by(0.1)  # below the cameras' SHOW_BELOW_MPP
    p._update_lod()
    p.canvas.grab()
    assert pts.cache.holds > 0 and cams.cache.holds > 0
    drawn = pts.drawn
    p.update_settings({"cluster": True})
    p.canvas.home()
    p._update_lod()
    p.canvas.grab()
    assert not pts.isVisible()
    assert pts.cache.holds == 0 and pts._occ.size == 0
    assert cams.cache.holds == 0
    pts.mark_dirty(np.arange(10))  # no image to patch: nothing queued while hidden
    assert not pts._dirty
    p.update_settings({"cluster": False})
    p.canvas.zoom_by(0.1)
    p._update_lod()
    p.canvas.grab()
    assert pts.cache.holds > 0 and pts.drawn == drawn
