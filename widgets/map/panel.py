"""The "map" panel: one map of the county (一张图).

Answers "where is it happening, and who is near?": township and grid boundaries with a
choropleth of the chosen metric, every case coloured by its warning level (clusters with
counts when zoomed out), field units with heading and a fading track, cameras with their
field of view, urban components, a heat map of the day's cases, over an offline base map.

Selection is shared state: clicking a marker (or a box/lasso) selects cases for every
panel; a selection made elsewhere is ringed here and, optionally, flown to.

Coordinates: the feed's geography says its datum (``county.crs``; the Pingding outline is
GCJ-02); the base map has its own (setting ``tile_crs``). The map draws in the base map's
datum and converts the data into it (``canvas.Projection``); without a base map it draws
in the data's datum and converts nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QToolTip,
    QVBoxLayout,
)

from commandcenter import geo
from commandcenter.domain import STATE_LABELS_ZH, CaseState
from commandcenter.geojson import GeoJSONError, from_geography
from commandcenter.geojson import load as load_geojson
from commandcenter.store import ChangeSet
from commandcenter.tiles import (
    CacheHealth,
    MBTilesSource,
    TileCache,
    TileSourceError,
    XYZSource,
)
from widgets.base import Need, Panel, PanelContext, Setting
from widgets.i18n import is_chinese, zh_en
from widgets.map import tools
from widgets.map.canvas import MapCanvas, Projection
from widgets.map.layers.boundaries import (
    METRIC_LABELS_EN,
    METRIC_LABELS_ZH,
    METRICS,
    BoundaryLayer,
    LabelLayer,
    Legend,
    classify,
    grid_metric,
    project_areas,
    quantile_breaks,
    township_metric,
)
from widgets.map.layers.cases import CasesLayer
from widgets.map.layers.live import (
    CamerasLayer,
    ComponentsLayer,
    HeatLayer,
    UnitsLayer,
    unit_kind_label,
    unit_status_label,
)
from widgets.map.layers.tiles import TileLayer
from widgets.map.search import SearchHit, search
from widgets.map.tilefetch import TileFetcher, default_cache_dir
from widgets.registry import register

log = logging.getLogger(__name__)

CLUSTER_ABOVE_MPP = 9.0  # Mercator m/px: above it (zoomed out) cases are clustered
CHOROPLETH_EVERY_S = 2.0
HEAT_EVERY_S = 5.0
LAYER_KEYS = (
    ("show_cases", "案件", "Cases"),
    ("cluster", "缩小时聚合", "Cluster when zoomed out"),
    ("show_closed", "已结案件", "Closed cases"),
    ("show_units", "人员车辆", "Units"),
    ("show_tracks", "轨迹", "Tracks"),
    ("show_cameras", "视频点位", "Cameras"),
    ("show_components", "城市部件", "Urban components"),
    ("show_heat", "热力图", "Heat map"),
    ("show_grids", "网格边界", "Grid boundaries"),
    ("show_labels", "地名", "Names"),
    ("show_legend", "图例", "Legend"),
)


def _b(default: bool, zh: str, en: str) -> Setting:
    return Setting("bool", default, zh, en)


@register
class MapPanel(Panel):
    name = "map"
    title_zh = "一张图"
    title_en = "County map"
    icon = "◈"
    description_zh = "哪里出事、谁在附近？全县边界、网格、案件预警、人员、视频一张图"
    description_en = "Where is it happening, who is near? Boundaries, grids, cases, units, cameras"
    REQUIRES = (Need.METRICS,)  # the legend's counts are the catalogue's
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "base": Setting(
            "choice",
            "none",
            "底图",
            "Base map",
            ("none", "xyz", "mbtiles"),
            choice_labels_zh=("无（仅矢量）", "瓦片服务 (XYZ)", "MBTiles 文件"),
            choice_labels_en=("None (vector only)", "Tile server (XYZ)", "MBTiles file"),
        ),
        "xyz_url": Setting("str", "", "瓦片地址模板", "Tile URL template"),
        "mbtiles_path": Setting("str", "", "MBTiles 文件路径", "MBTiles file path"),
        "tile_crs": Setting(
            "choice",
            "gcj02",
            "底图坐标系",
            "Base map datum",
            ("gcj02", "wgs84"),
            choice_labels_zh=("GCJ-02（国内地图）", "WGS-84"),
            choice_labels_en=("GCJ-02 (Chinese maps)", "WGS-84"),
        ),
        "data_crs": Setting(
            "choice",
            "auto",
            "数据坐标系",
            "Data datum",
            ("auto", "gcj02", "wgs84"),
            choice_labels_zh=("自动（按数据源）", "GCJ-02", "WGS-84"),
            choice_labels_en=("Automatic (from the feed)", "GCJ-02", "WGS-84"),
        ),
        "tile_opacity": Setting("float", 1.0, "底图不透明度", "Base map opacity", maximum=1.0),
        "boundary_file": Setting("str", "", "边界文件 (GeoJSON)", "Boundary file (GeoJSON)"),
        "choropleth": Setting(
            "choice",
            "open",
            "分级着色指标",
            "Choropleth metric",
            METRICS,
            choice_labels_zh=METRIC_LABELS_ZH,
            choice_labels_en=METRIC_LABELS_EN,
        ),
        "choropleth_level": Setting(
            "choice",
            "grid",
            "着色单元",
            "Colour by",
            ("grid", "township"),
            choice_labels_zh=("网格", "乡镇"),
            choice_labels_en=("Grid", "Township"),
        ),
        "choropleth_opacity": Setting(
            "float", 0.55, "着色不透明度", "Choropleth opacity", maximum=1.0
        ),
        "show_cases": _b(True, "案件", "Cases"),
        "cluster": _b(True, "缩小时聚合", "Cluster when zoomed out"),
        "show_closed": _b(False, "已结案件", "Closed cases"),
        "show_units": _b(True, "人员车辆", "Units"),
        "show_tracks": _b(True, "轨迹", "Tracks"),
        "show_cameras": _b(True, "视频点位", "Cameras"),
        "show_components": _b(True, "城市部件（放大后）", "Urban components (zoomed in)"),
        "show_heat": _b(False, "热力图", "Heat map"),
        "show_grids": _b(True, "网格边界", "Grid boundaries"),
        "show_labels": _b(True, "地名", "Names"),
        "show_legend": _b(True, "图例", "Legend"),
        "follow_selection": _b(True, "跟随选中案件", "Fly to selected cases"),
    }
    COMPACT_WIDTH = 700

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.store = ctx.store
        self.canvas = MapCanvas(self.body)
        self.canvas.setObjectName("mapCanvas")
        self.projection = Projection(geo.CRS_GCJ02)
        self.legend = Legend()
        self.canvas.overlay.extra.append(self.legend.draw)
        self.banner = QLabel(self.body)
        self.banner.setObjectName("mapBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)  # file names and reasons, as written
        self.banner.setStyleSheet(
            "QLabel#mapBanner { background: #3a2a05; color: #ffe58f; padding: 4px 8px; }"
        )
        self.banner.hide()
        self._messages: dict[str, str] = {}

        # toolbar
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        bar.setSpacing(4)
        self.search_box = QLineEdit(self.body)
        self.search_box.setObjectName("mapSearch")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self._search)
        bar.addWidget(self.search_box, 2)
        self.tool_buttons: dict[str, QToolButton] = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        for key in ("pan", "box", "lasso", "measure"):
            act = QAction(self)
            act.setCheckable(True)
            act.setData(key)
            group.addAction(act)
            btn = QToolButton(self.body)
            btn.setDefaultAction(act)
            btn.setObjectName(f"mapTool-{key}")
            bar.addWidget(btn)
            self.tool_buttons[key] = btn
        self.tool_buttons["pan"].defaultAction().setChecked(True)
        self.listen(group.triggered, lambda a: self.set_tool(str(a.data())))
        self.home_button = QToolButton(self.body)
        self.home_button.clicked.connect(lambda: self.canvas.home(animate=True))
        bar.addWidget(self.home_button)
        self.layers_button = QToolButton(self.body)
        self.layers_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.layers_menu = QMenu(self.layers_button)
        self.layer_actions: dict[str, QAction] = {}
        for key, _zh, _en in LAYER_KEYS:
            act = self.layers_menu.addAction("")
            act.setCheckable(True)
            act.toggled.connect(lambda on, k=key: self._toggle(k, on))
            self.layer_actions[key] = act
        self.layers_button.setMenu(self.layers_menu)
        bar.addWidget(self.layers_button)
        self.status_label = QLabel(self.body)
        self.status_label.setObjectName("mapStatus")
        bar.addWidget(self.status_label, 1)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.canvas, 1)

        # layers
        self.boundaries = BoundaryLayer()
        self.labels = LabelLayer(self.boundaries)
        self.heat = HeatLayer()
        self.components = ComponentsLayer()
        self.cameras = CamerasLayer(self.store, self.projection)
        self.cases = CasesLayer(self.store, self.projection)
        self.units = UnitsLayer(self.store, self.projection)
        # z order: what matters most on top. Case markers (the warnings) above everything
        # but the selection rings; names above the cluster and unit badges, so a township
        # name is never hidden; cameras and components are background.
        self.canvas.add_layer(self.boundaries, 10)
        self.canvas.add_layer(self.heat, 15)
        self.canvas.add_layer(self.components, 20)
        self.canvas.add_layer(self.cameras, 30)
        self.canvas.add_layer(self.cases.clusters, 36)
        self.canvas.add_layer(self.units, 37)
        self.canvas.add_layer(self.labels, 39)
        self.canvas.add_layer(self.cases.points, 40)
        self.canvas.add_layer(self.cases.selection, 60)
        self.tile_layer: TileLayer | None = None
        self.fetcher: TileFetcher | None = None
        self._cache_seen = -1  # the version of the tile cache's health last shown
        self._tile_error = ""  # the first tile failure of this source, shown with a count
        self._errors_shown = 0
        self._tile_key: tuple[str, str, str] | None = None
        self._components_given = False
        self._components_built = False
        self._choro_dirty = True
        self._choro_at = 0.0
        self._heat_dirty = True
        self._heat_at = 0.0
        self._hover_at = 0.0
        self._search_hits: list[SearchHit] = []
        self._search_i = 0
        self._search_text = ""
        self.tool = "pan"
        self._lasso: list[QPointF] = []
        self._band = tools.rubber_band()
        self._band.setVisible(False)
        self.canvas.vb.addItem(self._band, ignoreBounds=True)
        self.measure = tools.Measure(self.projection.lonlat)
        self.canvas.vb.addItem(self.measure.path, ignoreBounds=True)
        self.canvas.vb.addItem(self.measure.label, ignoreBounds=True)

        self.listen(ctx.bridge.changed, self._on_changed)
        self.listen(self.canvas.viewChanged, self._update_lod)
        self.listen(self.canvas.vb.clicked, self._on_click)
        self.listen(self.canvas.vb.doubleClicked, self._on_double_click)
        self.listen(self.canvas.vb.dragged, self._on_drag)
        self.listen(self.canvas.escape, self._on_escape)
        self.listen(self.canvas.scene().sigMouseMoved, self._on_hover)
        self.hold(ctx.selection.subscribe(self._on_selection))
        self.timer(250, self._frame)

        self.retranslate()
        self.apply_settings()
        self.canvas.home()

    # ---- settings and set-up -------------------------------------------------------------

    def _data_crs(self) -> str:
        s = self.settings["data_crs"]
        if s != "auto":
            return s
        crs = str((self.store.geography.get("county") or {}).get("crs", ""))
        try:
            return geo.normalize_crs(crs)
        except ValueError:
            return geo.CRS_GCJ02  # synthetic outlines are generated in the real file's datum

    def apply_settings(self) -> None:
        s = self.settings
        data_crs = self._data_crs()
        display = s["tile_crs"] if s["base"] != "none" else data_crs
        proj = Projection(data_crs, display)
        if (proj.data_crs, proj.display_crs) != (
            self.projection.data_crs,
            self.projection.display_crs,
        ):
            self.projection = proj
            self.cases.projection = proj
            self.units.projection = proj
            self.cameras.projection = proj
            self.measure.to_lonlat = proj.lonlat
            self._components_built = False
        self._setup_tiles()
        self._load_boundaries()
        self.rebuild()
        for key, act in self.layer_actions.items():
            act.blockSignals(True)
            act.setChecked(bool(s[key]))
            act.blockSignals(False)
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        s = self.settings
        self.cases.set_show_closed(bool(s["show_closed"]))
        self.units.setVisible(bool(s["show_units"]))
        self.units.show_tracks = bool(s["show_tracks"])
        self.cameras.setVisible(bool(s["show_cameras"]))
        self.components.setVisible(bool(s["show_components"]))
        self.heat.setVisible(bool(s["show_heat"]))
        self.boundaries.show_grids = bool(s["show_grids"])
        self.boundaries.show_labels = bool(s["show_labels"])
        self.boundaries.fill_alpha = float(s["choropleth_opacity"])
        self.legend.visible = bool(s["show_legend"])
        if self.tile_layer is not None:
            self.tile_layer.setOpacity(float(s["tile_opacity"]))
        self._choro_dirty = True
        self._heat_dirty = True
        self._update_lod()
        self.boundaries.update()
        self.labels.update()
        self.canvas.overlay.update()

    def _toggle(self, key: str, on: bool) -> None:
        self.settings[key] = on
        self._apply_visibility()

    def _message(self, key: str, text: str | None) -> None:
        """A banner line per cause (tiles, boundaries); None removes it."""
        if text:
            self._messages[key] = text
        else:
            self._messages.pop(key, None)
        self.banner.setText("\n".join(self._messages.values()))
        self.banner.setVisible(bool(self._messages))

    def _setup_tiles(self) -> None:
        s = self.settings
        key = (s["base"], s["xyz_url"], s["mbtiles_path"])
        if key == self._tile_key:
            return
        self._tile_key = key
        self._close_tiles()
        self._message("tiles", None)
        self._message("tile_cache", None)
        self._cache_seen = -1
        self._tile_error = ""
        zh = is_chinese()
        if s["base"] == "none":
            return
        try:
            if s["base"] == "mbtiles":
                source: MBTilesSource | XYZSource = MBTilesSource(s["mbtiles_path"])
                info = source.info
                if info is not None and info.warnings:
                    self._message(
                        "tiles",
                        (zh_en("底图提示：", "Base map: ")) + "; ".join(info.warnings),
                    )
                cache = None
            else:
                source = XYZSource(s["xyz_url"])
                cache = TileCache(default_cache_dir())
        except TileSourceError as err:
            self._message(
                "tiles",
                (
                    f"底图不可用：{err}。其他图层照常显示。"
                    if zh
                    else f"Base map unavailable: {err}. Other layers still work."
                ),
            )
            return
        self.fetcher = TileFetcher(source, cache, parent=self)
        self.listen(self.fetcher.failed, self._tile_failed)
        self.listen(self.fetcher.cache_trouble, self._cache_trouble)
        if cache is not None and not cache.health.ok:  # found at opening (a folder set aside)
            self._cache_trouble(cache.report())
        self.tile_layer = TileLayer(self.fetcher, source.min_zoom, source.max_zoom)
        self.tile_layer.setOpacity(float(s["tile_opacity"]))
        self.canvas.add_layer(self.tile_layer, 0)

    def _tile_failed(self, message: str) -> None:
        self._tile_error = self._tile_error or message
        self._show_tile_errors()

    def _show_tile_errors(self) -> None:
        """The first failure and how many tiles have failed so far (the fetcher reports a
        cause once; the count is refreshed with the frame)."""
        n = self.fetcher.errors if self.fetcher is not None else 0
        self._errors_shown = n
        self._message(
            "tiles",
            zh_en("底图瓦片加载失败 {n} 次：", "Tiles failed ({n}): ").format(n=n) + self._tile_error,
        )

    def _cache_trouble(self, health: CacheHealth) -> None:
        """The disk cache's troubles in one banner line, counted, with where the last
        damaged file was kept; the tiles are fetched again (or without a cache)."""
        if health.version <= self._cache_seen:
            return  # an older report overtaken by a newer one from another worker
        self._cache_seen = health.version
        parts: list[str] = []
        if health.corrupt:
            n, last = health.corrupt, health.kept[-1] if health.kept else ""
            parts.append(
                zh_en(
                    "{n} 个损坏的缓存文件已另存为 {last} 等，瓦片重新获取",
                    "{n} damaged file(s) kept aside (last: {last}), tiles fetched again",
                ).format(n=n, last=last)
            )
        if health.write_errors:
            parts.append(
                zh_en(
                    "{n} 次写入失败（{error}）", "{n} write(s) failed ({error})"
                ).format(n=health.write_errors, error=health.last_error)
            )
        if health.disabled:
            parts.append(
                zh_en(
                    "缓存已停用：{why}；瓦片直接获取", "cache off: {why}; tiles fetched without it"
                ).format(why=health.disabled)
            )
        if parts:
            self._message("tile_cache", zh_en("底图缓存：", "Tile cache: ") + "；".join(parts))

    def _close_tiles(self) -> None:
        if self.tile_layer is not None:
            self.canvas.remove_layer(self.tile_layer)
            self.tile_layer = None
        if self.fetcher is not None:
            self.fetcher.close()
            self.fetcher.deleteLater()
            self.fetcher = None

    def _load_boundaries(self) -> None:
        areas = from_geography(self.store.geography or {})
        path = str(self.settings["boundary_file"]).strip()
        self._message("boundaries", None)
        if path:
            try:
                extra = load_geojson(path).areas
                for a in extra:
                    a.kind = "county"
                areas["county"] = extra
            except GeoJSONError as err:
                self._message(
                    "boundaries",
                    (
                        f"边界文件无法使用：{err}"
                        if is_chinese()
                        else f"Boundary file unusable: {err}"
                    ),
                )
        self.boundaries.set_areas(
            project_areas(areas["county"], self.projection),
            project_areas(areas["townships"], self.projection),
            project_areas(areas["grids"], self.projection),
        )
        ext = self.boundaries.extent()
        if ext is not None:
            self.canvas.set_home(ext)
            self.heat.set_extent(ext)

    def rebuild(self) -> None:
        """Every layer from the store (snapshot, datum change)."""
        self.cases.rebuild()
        self.units.rebuild()
        self.cameras.rebuild()
        if self.boundaries.extent() is None and self.cases.points.n:
            r = self.cases.points._bounds
            self.canvas.set_home((r.left(), r.top(), r.right(), r.bottom()))
            self.heat.set_extent((r.left(), r.top(), r.right(), r.bottom()))
        self._choro_dirty = True
        self._heat_dirty = True
        self._refresh_selection(fly=False)

    def set_components(self, lon: np.ndarray, lat: np.ndarray, kind: np.ndarray) -> None:
        """Urban components (lon/lat in the data's datum, kind codes into the feed's
        ``component_kinds``). Without this call the map places each grid's component
        count inside the grid, which is right in number and approximate in position."""
        x, y = self.projection.xy(lon, lat)
        self.components.set_points(x, y, np.asarray(kind) % len(self.components.sprites))
        self._components_given = True
        self._components_built = True

    def _ensure_components(self) -> None:
        if self._components_built:
            return
        self._components_built = True
        grids = (self.store.geography or {}).get("grids") or []
        rings = [np.asarray(g.get("polygon") or [], dtype=float) for g in grids]
        counts = [int(g.get("facilities") or 0) for g in grids]
        if not rings:
            return
        lon, lat, _ = geo.sample_in_rings(rings, counts, seed=7)
        kind = np.random.default_rng(7).integers(0, len(self.components.sprites), lon.size)
        x, y = self.projection.xy(lon, lat)
        self.components.set_points(x, y, kind)

    # ---- live data -----------------------------------------------------------------------

    def _on_changed(self, cs: ChangeSet) -> None:
        if cs.reset:
            prev_crs = self.projection.data_crs
            self._load_boundaries_if_changed()
            if self._data_crs() != prev_crs:
                self.apply_settings()
            else:
                self.rebuild()
            if not self._components_given:
                self._components_built = False
            self._update_lod()
            return
        self.cases.sync(cs)
        if cs.units:
            self.units.sync(cs.units)
        if cs.cameras:
            self.cameras.rebuild()
        if cs.cases_created or cs.cases_updated:
            self._choro_dirty = True
            self._heat_dirty = True
            if self.ctx.selection.case_ids:
                self._refresh_selection(fly=False)

    def _load_boundaries_if_changed(self) -> None:
        geo_id = id(self.store.geography)
        if getattr(self, "_geo_id", None) != geo_id:
            self._geo_id = geo_id
            self._load_boundaries()
            if not self._components_given:
                self._components_built = False
            self.canvas.home()

    def _frame(self) -> None:
        """Four times a second: warning levels (they move with time), choropleth and heat
        (rate-limited: both are whole-county aggregates), legend counts, and re-centring
        the cached layers once a pan has settled."""
        self._load_boundaries_if_changed()
        if (
            self._tile_error
            and self.fetcher is not None
            and self.fetcher.errors != self._errors_shown
        ):
            self._show_tile_errors()
        now = time.monotonic()
        for item in self._cached_layers():
            if item.cache.recentre(now):
                item.update()
        self.cases.refresh_levels()
        now = time.monotonic()
        if self._choro_dirty and now - self._choro_at >= CHOROPLETH_EVERY_S:
            self._update_choropleth()
        if self.settings["show_heat"] and self._heat_dirty and now - self._heat_at >= HEAT_EVERY_S:
            self._heat_at = now
            self._heat_dirty = False
            self.heat.compute(self.store, self.cases._x, self.cases._y)
        # The legend's numbers are the catalogue's, as on the warning tiles: red includes
        # the overdue, which the legend lists as "of which overdue".
        fig = self.ctx.metrics.figures()
        new = {
            key: int(fig.value(name).value or 0)
            for key, name in (
                ("blue", "sla_blue"),
                ("yellow", "sla_yellow"),
                ("red", "sla_red"),
                ("overdue", "overdue_now"),
            )
        }
        if new != self.legend.counts:
            self.legend.counts = new
            self.canvas.overlay.update()
        self._update_status()

    def _cached_layers(self) -> tuple:
        return (self.boundaries, self.cameras, self.components, self.cases.points)

    def _update_choropleth(self) -> None:
        self._choro_at = time.monotonic()
        self._choro_dirty = False
        metric = self.settings["choropleth"]
        level = self.settings["choropleth_level"]
        b = self.boundaries
        self.legend.metric = metric
        self.legend.level_name = level
        if metric == "none" or not b.grids:
            b.set_fills(level, {})
            self.legend.metric = "none" if not b.grids else metric
            self.legend.breaks = []
            self.canvas.overlay.update()
            return
        values = grid_metric(self.store, metric, b.grids)
        if level == "township":
            values = township_metric(values, b.grids, metric, b.townships)
        breaks = quantile_breaks(list(values.values()))
        b.set_fills(level, {k: classify(v, breaks) for k, v in values.items()})
        self.legend.breaks = breaks
        self.canvas.overlay.update()

    def _update_lod(self) -> None:
        mpp = self.canvas.metres_per_pixel()
        show = bool(self.settings["show_cases"])
        cluster = bool(self.settings["cluster"]) and mpp > CLUSTER_ABOVE_MPP
        self.cases.set_cluster_mode(cluster)
        self.cases.points.setVisible(show and not cluster)
        self.cases.clusters.setVisible(show and cluster)
        self.cases.selection.setVisible(show)
        if self.settings["show_components"] and mpp < ComponentsLayer.SHOW_BELOW_MPP:
            self._ensure_components()

    def _update_status(self) -> None:
        zh = is_chinese()
        z = self.canvas.zoom()
        open_n = int(self.cases.counts_by_style()[1:].sum())
        text = f"在办 {open_n:,} · 级别 {z:.1f}" if zh else f"open {open_n:,} · zoom {z:.1f}"
        if self.projection.converts:
            text += f" · {self.projection.data_crs}→{self.projection.display_crs}"
        if self.status_label.text() != text:
            self.status_label.setText(text)

    # ---- selection -----------------------------------------------------------------------

    def _on_selection(self, _sel: Any) -> None:
        mine = self.ctx.selection.origin == self.selection_origin
        self._refresh_selection(fly=not mine and bool(self.settings["follow_selection"]))

    def _refresh_selection(self, fly: bool) -> None:
        rows = [self.store.row_of(cid) for cid in self.ctx.selection.case_ids]
        idx = np.array([r for r in rows if r is not None], dtype=np.int64)
        idx = idx[idx < self.cases._x.size]
        self.cases.selection.set_rows(idx)
        self.cameras.set_focus(self.cases._x[idx], self.cases._y[idx])
        if fly and idx.size:
            x = self.cases._x[idx]
            y = self.cases._y[idx]
            ok = np.isfinite(x)
            if ok.any():
                if idx.size == 1:
                    self.canvas.fly_to_point(float(x[ok][0]), float(y[ok][0]), 1500.0)
                else:
                    self.canvas.fly_to_box((x[ok].min(), y[ok].min(), x[ok].max(), y[ok].max()))

    def select_rows(self, rows: np.ndarray) -> None:
        ids = self.cases.ids(rows)
        self.ctx.selection.select(ids, origin=self.selection_origin)

    # ---- interaction ---------------------------------------------------------------------

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        self.canvas.vb.tool = tool
        self.canvas.vb.setMouseEnabled(True, True)
        act = self.tool_buttons[tool].defaultAction()
        if not act.isChecked():
            act.setChecked(True)
        if tool != "measure":
            self.measure.clear()
        self.canvas.setCursor(
            Qt.CursorShape.CrossCursor if tool != "pan" else Qt.CursorShape.ArrowCursor
        )

    def _device_transform(self):
        return self.canvas.vb.childGroup.sceneTransform() * self.canvas.viewportTransform()

    def case_at(self, px: float, py: float) -> int | None:
        if not self.cases.points.isVisible():
            return None
        return self.cases.points.nearest(px, py, self._device_transform(), 10.0)

    def _on_click(self, p: QPointF, modifiers: Any) -> None:
        if self.tool == "measure":
            self.measure.add(p)
            return
        t = self._device_transform()
        d = t.map(p)
        if self.cases.cluster_mode:
            # clicking a cluster zooms into it; the markers then take over
            mpp = self.canvas.metres_per_pixel()
            cx, cy, _count, _ = self.cases.clusters.clusters(mpp)
            if cx.size:
                dx = (cx - p.x()) / mpp
                dy = (cy - p.y()) / mpp
                i = int(np.argmin(dx * dx + dy * dy))
                if dx[i] ** 2 + dy[i] ** 2 < 30**2:
                    span = max(CLUSTER_ABOVE_MPP * 0.8 * self.canvas.vb.width(), 500.0)
                    self.canvas.fly_to_point(float(cx[i]), float(cy[i]), span)
            return
        cam = self._camera_at(d.x(), d.y())
        if cam:  # a camera clicked: it plays in the video panel and on a following wall
            self.ctx.selection.select([cam], origin=self.selection_origin)
            return
        row = self.case_at(d.x(), d.y())
        if row is None:
            if not (modifiers & Qt.KeyboardModifier.ControlModifier):
                self.ctx.selection.clear(origin=self.selection_origin)
            return
        ids = self.cases.ids(np.array([row]))
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            ids = [*self.ctx.selection.case_ids, *ids]
        self.ctx.selection.select(ids, origin=self.selection_origin)

    def _camera_at(self, px: float, py: float) -> str:
        if self.canvas.metres_per_pixel() >= CamerasLayer.SHOW_BELOW_MPP:
            return ""  # cameras are not drawn at this zoom
        return tools.camera_at(self.cameras, self._device_transform(), px, py, radius_px=6.0)

    def _on_double_click(self, _p: QPointF) -> None:
        if self.tool == "measure":
            d = self.measure.length_m()
            self.status_label.setText(
                f"距离 {d:,.0f} 米" if is_chinese() else f"distance {d:,.0f} m"
            )

    def _on_drag(self, start: QPointF, cur: QPointF, finished: bool) -> None:
        if self.tool == "box":
            poly = tools.box_polygon(start, cur)
        else:
            if not self._lasso:
                self._lasso = [QPointF(start)]
            self._lasso.append(QPointF(cur))
            poly = np.array([[q.x(), q.y()] for q in self._lasso])
        from PySide6.QtGui import QPainterPath, QPolygonF

        path = QPainterPath()
        path.addPolygon(QPolygonF([QPointF(a, b) for a, b in poly]))
        path.closeSubpath()
        self._band.setPath(path)
        self._band.setVisible(not finished)
        if finished:
            self._lasso = []
            if len(poly) >= 3:
                self.select_polygon(poly)

    def select_polygon(self, poly: np.ndarray) -> list[str]:
        """Select the visible cases inside a Mercator polygon (box or lasso)."""
        rows = self.cases.rows_in(tools.mask_in_polygon(poly))
        ids = self.cases.ids(rows)
        cams: list[str] = []
        if self.canvas.metres_per_pixel() < CamerasLayer.SHOW_BELOW_MPP:
            cams = tools.cameras_in(self.cameras, poly)  # the wall shows the boxed cameras
        self.ctx.selection.select([*ids, *cams], origin=self.selection_origin)
        zh = is_chinese()
        self.status_label.setText(f"已选 {len(ids):,} 件" if zh else f"{len(ids):,} selected")
        return ids

    def _on_escape(self) -> None:
        self.measure.clear()
        self._band.setVisible(False)
        self._lasso = []
        self.set_tool("pan")

    def _on_hover(self, scene_pos: QPointF) -> None:
        now = time.monotonic()
        if now - self._hover_at < 0.05:
            return
        self._hover_at = now
        d = self.canvas.mapFromScene(scene_pos)
        text = self.tooltip_at(float(d.x()), float(d.y()))
        if text:
            QToolTip.showText(self.canvas.mapToGlobal(d), text, self.canvas)
        else:
            QToolTip.hideText()

    def tooltip_at(self, px: float, py: float) -> str:
        """What hovering at device pixel (px, py) says: a case, a unit, a camera or a
        cluster; empty when nothing is within reach."""
        zh = is_chinese()
        t = self._device_transform()
        # units and cameras first: few, and on top of the cases
        if self.units.isVisible():
            text = self._unit_tooltip(px, py, t, zh)
            if text:
                return text
        mpp = self.canvas.metres_per_pixel()
        if self.cameras.isVisible() and self.cameras.ids and mpp < CamerasLayer.SHOW_BELOW_MPP:
            dx = t.m11() * self.cameras.x + t.dx() - px
            dy = t.m22() * self.cameras.y + t.dy() - py
            i = int(np.argmin(dx * dx + dy * dy))
            if dx[i] ** 2 + dy[i] ** 2 < 8**2:
                cam = self.store.cameras.get(self.cameras.ids[i])
                if cam is not None:
                    state = (
                        ("在线" if cam.online else "离线")
                        if zh
                        else ("online" if cam.online else "offline")
                    )
                    return f"{cam.name} · {cam.id}\n{state}"
        if self.cases.cluster_mode and self.cases.clusters.isVisible():
            mpp = self.canvas.metres_per_pixel()
            cx, cy, count, _ = self.cases.clusters.clusters(mpp)
            if cx.size:
                dx = t.m11() * cx + t.dx() - px
                dy = t.m22() * cy + t.dy() - py
                i = int(np.argmin(dx * dx + dy * dy))
                if dx[i] ** 2 + dy[i] ** 2 < 24**2:
                    n = int(count[i])
                    return f"{n:,} 件案件 · 点击放大" if zh else f"{n:,} cases · click to zoom in"
            return ""
        row = self.case_at(px, py)
        if row is None:
            return ""
        c = self.store.record_at(row)
        try:
            state = STATE_LABELS_ZH[CaseState(c.state)] if zh else c.state
        except (KeyError, ValueError):
            state = c.state
        town = self.store.display_name(c.township)
        return f"{c.id} · {c.category} · {state}\n{getattr(c, 'address', '') or town}"

    def _unit_tooltip(self, px: float, py: float, t: Any, zh: bool) -> str:
        """A unit (name, kind, status in words) or, zoomed out, a unit badge's members."""
        mpp = self.canvas.metres_per_pixel()
        if self.units.clustered(mpp):
            cx, cy, _count, members = self.units.clusters(mpp)
            if not cx.size:
                return ""
            dx = t.m11() * cx + t.dx() - px
            dy = t.m22() * cy + t.dy() - py
            i = int(np.argmin(dx * dx + dy * dy))
            if dx[i] ** 2 + dy[i] ** 2 >= 14**2:
                return ""
            ids = members[i]
        else:
            ids, ux, uy = self.units.positions()
            if not ids:
                return ""
            dx = t.m11() * ux + t.dx() - px
            dy = t.m22() * uy + t.dy() - py
            i = int(np.argmin(dx * dx + dy * dy))
            if dx[i] ** 2 + dy[i] ** 2 >= 12**2:
                return ""
            ids = [ids[i]]
        if len(ids) == 1:
            tr = self.units.tracks[ids[0]]
            kind = unit_kind_label(tr.kind, zh)
            status = unit_status_label(tr.status, zh)
            return f"{tr.name or ids[0]} · {ids[0]}\n{kind} · {status}"
        lines = [f"{len(ids)} 个人员/车辆" if zh else f"{len(ids)} units"]
        for uid in ids[:8]:
            tr = self.units.tracks[uid]
            kind = unit_kind_label(tr.kind, zh)
            status = unit_status_label(tr.status, zh)
            lines.append(f"{tr.name or uid} · {kind} · {status}")
        if len(ids) > 8:
            lines.append(f"… 共 {len(ids)} 个" if zh else f"… {len(ids)} in all")
        return "\n".join(lines)

    def _search(self) -> None:
        text = self.search_box.text().strip()
        if text != self._search_text:
            self._search_text = text
            self._search_hits = search(self.store, text)
            self._search_i = 0
        else:
            self._search_i += 1
        zh = is_chinese()
        hits = self._search_hits
        if not hits:
            self.status_label.setText(f"未找到“{text}”" if zh else f"nothing found for “{text}”")
            return
        hit = hits[self._search_i % len(hits)]
        self.fly_to_hit(hit)
        n = len(hits)
        more = (zh_en("（回车看下一个）", " (Enter for next)")) if n > 1 else ""
        self.status_label.setText(f"{self._search_i % n + 1}/{n} {hit.label}{more}")

    def fly_to_hit(self, hit: SearchHit) -> None:
        if hit.kind == "case":
            self.ctx.selection.select([hit.key], origin=self.selection_origin)
            x, y = self.projection.xy(np.array([hit.lon]), np.array([hit.lat]))
            self.canvas.fly_to_point(float(x[0]), float(y[0]), 1200.0)
        elif hit.bbox is not None:
            x, y = self.projection.xy(
                np.array([hit.bbox[0], hit.bbox[2]]), np.array([hit.bbox[1], hit.bbox[3]])
            )
            self.canvas.fly_to_box((float(x[0]), float(y[0]), float(x[1]), float(y[1])))

    # ---- texts and teardown --------------------------------------------------------------

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "search_box"):
            return
        zh = is_chinese()
        self.search_box.setPlaceholderText(
            zh_en(
                "搜索：案件号 / 地址 / 网格 / 乡镇", "Search: case id / address / grid / township"
            )
        )
        labels = {
            "pan": (
                "✥ 平移",
                "✥ Pan",
                "拖动平移，滚轮缩放；方向键平移，+/- 缩放",
                "Drag to pan, wheel to zoom; arrows pan, +/- zoom",
            ),
            "box": ("▭ 框选", "▭ Box", "拖出矩形选择案件", "Drag a rectangle to select cases"),
            "lasso": ("◌ 圈选", "◌ Lasso", "拖出任意形状选择案件", "Draw a shape to select cases"),
            "measure": (
                "↔ 测距",
                "↔ Measure",
                "单击添加点，双击结束，Esc 清除",
                "Click to add points, double-click to finish, Esc clears",
            ),
        }
        for key, btn in self.tool_buttons.items():
            zt, et, ztip, etip = labels[key]
            btn.defaultAction().setText(zt if zh else et)
            btn.defaultAction().setToolTip(ztip if zh else etip)
        self.home_button.setText(zh_en("⌂ 全县", "⌂ County"))
        self.home_button.setToolTip(zh_en("显示全县（Home 键）", "Whole county (Home)"))
        self.layers_button.setText(zh_en("图层", "Layers"))
        for key, z_, e_ in LAYER_KEYS:
            self.layer_actions[key].setText(z_ if zh else e_)
        self._update_status()
        self.canvas.overlay.update()

    def on_teardown(self) -> None:
        self.canvas.stop()
        for item in self._cached_layers():
            item.cache.stop()
        self._close_tiles()
        QToolTip.hideText()
