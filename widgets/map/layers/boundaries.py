"""County, township and grid boundaries, the choropleth and its legend.

Boundaries come from the feed's geography or from a GeoJSON file (``commandcenter.geojson``),
already projected to Mercator by the panel. Lines are cosmetic (constant pixel width at any
zoom) so the county edge reads the same on a console and on the wall. Township names are
always drawn (they are how the hall talks: "冠山镇 has 40 open"); grid names appear once
zoomed in far enough for them not to collide.

The choropleth colours grids (or townships) by a metric with quantile classes: a county
where a few urban grids hold most cases would otherwise be one colour with a few hot
spots. The ramp is purple-to-pink, deliberately outside the red/yellow/blue of the SLA
warnings so that a filled area is never mistaken for a warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
)

from commandcenter.geojson import Area
from commandcenter.store import Store
from widgets import theme
from widgets.i18n import is_chinese, zh_en
from widgets.map.canvas import Projection
from widgets.map.layers.cache import RasterCache

RAMP = ("#2b1d52", "#4a2b80", "#7b3aa0", "#b3479f", "#ec6fa8")
METRICS = ("none", "open", "overdue", "per_1000")
METRIC_LABELS_ZH = ("无", "在办案件", "超期案件", "每千人在办")
METRIC_LABELS_EN = ("None", "Open cases", "Overdue cases", "Open per 1,000 residents")


def metric_label(metric: str) -> str:
    i = METRICS.index(metric) if metric in METRICS else 0
    return (METRIC_LABELS_ZH if is_chinese() else METRIC_LABELS_EN)[i]


@dataclass(slots=True)
class MapArea:
    """An area ready to draw: Mercator path, label anchor, properties."""

    code: str
    name: str
    kind: str
    path: QPainterPath
    label: QPointF
    bbox: tuple[float, float, float, float]
    population: int = 0
    township: str = ""


def project_areas(areas: Sequence[Area], projection: Projection) -> list[MapArea]:
    out: list[MapArea] = []
    for a in areas:
        path = QPainterPath()
        path.setFillRule(Qt.FillRule.OddEvenFill)
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        for poly in a.polygons:
            for ring in poly:
                x, y = projection.xy(ring[:, 0], ring[:, 1])
                xs.append(x)
                ys.append(y)
                path.addPolygon(
                    QPolygonF([QPointF(float(u), float(v)) for u, v in zip(x, y, strict=True)])
                )
                path.closeSubpath()
        lx, ly = a.label_point()
        px, py = projection.xy(np.array([lx]), np.array([ly]))
        allx = np.concatenate(xs)
        ally = np.concatenate(ys)
        out.append(
            MapArea(
                code=a.code,
                name=a.name,
                kind=a.kind,
                path=path,
                label=QPointF(float(px[0]), float(py[0])),
                bbox=(float(allx.min()), float(ally.min()), float(allx.max()), float(ally.max())),
                population=int(a.properties.get("population") or 0),
                township=str(a.properties.get("township", "")),
            )
        )
    return out


def grid_metric(store: Store, metric: str, grids: Sequence[MapArea]) -> dict[str, float]:
    """Value of ``metric`` per grid code (vectorised over the store's columns)."""
    if metric == "none" or not grids:
        return {}
    n = len(store)
    codes = store._codes["grid"][:n]
    names = store._interners["grid"].values
    if n == 0 or not names:
        return {g.code: 0.0 for g in grids}
    if metric == "overdue":
        milestone, remaining, _ = store.sla_arrays()
        mask = (milestone > 0) & (remaining < 0)
    else:
        mask = store.open_mask()
    counts = np.bincount(codes[mask], minlength=len(names))
    by_code = dict(zip(names, counts.tolist(), strict=False))
    out: dict[str, float] = {}
    for g in grids:
        v = float(by_code.get(g.code, 0))
        if metric == "per_1000":
            v = v / g.population * 1000.0 if g.population > 0 else 0.0
        out[g.code] = v
    return out


def township_metric(
    grid_values: dict[str, float],
    grids: Sequence[MapArea],
    metric: str,
    townships: Sequence[MapArea],
) -> dict[str, float]:
    """Township values from grid values (sums; per-1,000 recomputed from the sums)."""
    sums: dict[str, float] = {t.code: 0.0 for t in townships}
    pop: dict[str, int] = {t.code: 0 for t in townships}
    for g in grids:
        if g.township in sums:
            v = grid_values.get(g.code, 0.0)
            if metric == "per_1000":
                v = v * g.population / 1000.0
            sums[g.township] += v
            pop[g.township] += g.population
    if metric == "per_1000":
        return {k: (v / pop[k] * 1000.0 if pop[k] else 0.0) for k, v in sums.items()}
    return sums


def quantile_breaks(values: Sequence[float], k: int = len(RAMP)) -> list[float]:
    """Upper bounds of ``k`` classes (quantiles of the non-zero values, deduplicated)."""
    v = np.asarray([x for x in values if x > 0], dtype=float)
    if v.size == 0:
        return []
    qs = np.quantile(v, np.linspace(0, 1, k + 1)[1:])
    out: list[float] = []
    for q in qs.tolist():
        q = float(q)
        if not out or q > out[-1] + 1e-9:
            out.append(q)
    return out


def classify(value: float, breaks: Sequence[float]) -> int:
    """Class index for a value (-1 for zero / no data)."""
    if value <= 0 or not breaks:
        return -1
    for i, b in enumerate(breaks):
        if value <= b + 1e-9:
            return i
    return len(breaks) - 1


class BoundaryLayer(pg.GraphicsObject):
    """Draws the county, townships, grids and the choropleth fills (names: LabelLayer).

    Painted through a RasterCache: nothing here changes while the view pans, and drawing
    it from the polygons costs ~17 ms a frame in software (bench/map.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.county: list[MapArea] = []
        self.townships: list[MapArea] = []
        self.grids: list[MapArea] = []
        self.fill_level = "grid"  # or "township"
        self.fills: dict[str, int] = {}  # code -> class index
        self.fill_alpha = 0.55
        self.show_grids = True
        self.show_labels = True
        self._bounds = QRectF()
        self._sprites: dict[tuple[str, float, str], tuple[QPixmap, float, float]] = {}
        self.version = 0  # bumped when areas or fill classes change (cache key)
        self.cache = RasterCache(self.render, extent=self.extent, on_settle=lambda: self.update())

    def set_areas(
        self, county: list[MapArea], townships: list[MapArea], grids: list[MapArea]
    ) -> None:
        self.prepareGeometryChange()
        self.county, self.townships, self.grids = county, townships, grids
        boxes = [a.bbox for a in (*county, *townships, *grids)]
        if boxes:
            b = np.asarray(boxes)
            self._bounds = QRectF(
                float(b[:, 0].min()),
                float(b[:, 1].min()),
                float(b[:, 2].max() - b[:, 0].min()),
                float(b[:, 3].max() - b[:, 1].min()),
            )
        else:
            self._bounds = QRectF()
        self.version += 1
        self.update()

    def extent(self) -> tuple[float, float, float, float] | None:
        if self._bounds.isNull():
            return None
        r = self._bounds
        return (r.left(), r.top(), r.right(), r.bottom())

    def set_fills(self, level: str, classes: dict[str, int]) -> None:
        """New choropleth classes; an unchanged classification keeps the cached image."""
        if level == self.fill_level and classes == self.fills:
            return
        self.fill_level = level
        self.fills = classes
        self.version += 1
        self.update()

    def cache_key(self) -> tuple:
        c = theme.colors()
        return (self.version, self.fill_alpha, self.show_grids, c["accent"], c["border_strong"])

    def boundingRect(self) -> QRectF:  # type: ignore[override]
        r = self._bounds
        pad = max(r.width(), r.height()) * 0.1
        return r.adjusted(-pad, -pad, pad, pad)

    def paint(self, p: QPainter, *_args) -> None:  # type: ignore[override]
        self.cache.paint(p, self.cache_key())

    def render(self, p: QPainter) -> None:
        """Fills and lines, uncached (the cache calls this into its image)."""
        t = p.transform()
        mpp = 1.0 / max(abs(t.m11()), 1e-12)
        c = theme.colors()
        view = p.transform().inverted()[0].mapRect(QRectF(p.viewport())) if p.viewport() else None
        # Fills and thin lines without antialiasing: it halves their cost and adjacent
        # polygons then meet without hairline seams (measured in bench/map.py).
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

        def on_screen(a: MapArea) -> bool:
            if view is None:
                return True
            x0, y0, x1, y1 = a.bbox
            return not (
                x1 < view.left() or x0 > view.right() or y1 < view.top() or y0 > view.bottom()
            )

        # choropleth
        if self.fills:
            areas = self.grids if self.fill_level == "grid" else self.townships
            p.setPen(Qt.PenStyle.NoPen)
            brushes = []
            for col in RAMP:
                q = QColor(col)
                q.setAlphaF(self.fill_alpha)
                brushes.append(QBrush(q))
            for a in areas:
                k = self.fills.get(a.code, -1)
                if k >= 0 and on_screen(a):
                    p.setBrush(brushes[k])
                    p.drawPath(a.path)
        p.setBrush(Qt.BrushStyle.NoBrush)
        # grid lines: only where they are more than a smudge
        if self.show_grids and mpp < 90:
            col = QColor(c["border_strong"])
            col.setAlpha(170 if mpp < 20 else 110)
            pen = QPen(col, 1.0)
            pen.setCosmetic(True)
            p.setPen(pen)
            for a in self.grids:
                if on_screen(a):
                    p.drawPath(a.path)
        # townships
        tcol = QColor("#8fb3ff")
        tcol.setAlpha(230)
        pen = QPen(tcol, 2.0 if mpp > 15 else 2.5)
        pen.setCosmetic(True)
        p.setPen(pen)  # solid: a dashed cosmetic pen costs ~15 ms a frame here
        for a in self.townships:
            if on_screen(a):
                p.drawPath(a.path)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        # county edge: a dark casing under a bright line reads on any base map
        casing = QPen(QColor(0, 0, 0, 200), 6.0)
        casing.setCosmetic(True)
        line = QPen(QColor(c["accent"]), 3.0)
        line.setCosmetic(True)
        for a in self.county:
            p.setPen(casing)
            p.drawPath(a.path)
            p.setPen(line)
            p.drawPath(a.path)

    def render_labels(self, p: QPainter) -> None:
        """Area names in device pixels with a dark halo (LabelLayer calls this)."""
        t = p.transform()
        mpp = 1.0 / max(abs(t.m11()), 1e-12)
        view = t.inverted()[0].mapRect(QRectF(p.viewport())) if p.viewport() else None
        self._labels(p, t, mpp, view)

    def _label_sprite(
        self, text: str, font: QFont, color: QColor, w: float, fm: QFontMetricsF
    ) -> tuple[QPixmap, float, float]:
        """A name with its dark halo as a pixmap, made once per (name, size, colour).

        Why: shaping and stroking text is the slow part of a label (~0.3 ms each in
        software); a blit of the finished sprite is a few microseconds, so names can sit
        in their own layer above the cluster badges without an image cache."""
        key = (text, font.pointSizeF(), color.name(QColor.NameFormat.HexArgb))
        hit = self._sprites.get(key)
        if hit is not None:
            return hit
        halo_w = 5.0
        pad = halo_w
        width = math.ceil(w + 2 * pad)
        height = math.ceil(fm.height() + 2 * pad)
        pm = QPixmap(width, height)
        pm.fill(Qt.GlobalColor.transparent)
        q = QPainter(pm)
        q.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        path = QPainterPath()
        path.addText(QPointF(pad, pad + fm.ascent()), font, text)
        halo = QPen(QColor(3, 6, 12, 235), halo_w)
        halo.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        q.strokePath(path, halo)
        q.fillPath(path, color)
        q.end()
        # anchor: the old path was centred on x and had its baseline at ascent/2 - 1
        hit = (pm, pad + w / 2, pad + fm.ascent() - (fm.ascent() / 2 - 1))
        self._sprites[key] = hit
        return hit

    def _labels(self, p: QPainter, t, mpp: float, view) -> None:
        p.save()
        p.resetTransform()
        big = QFont(p.font())
        big.setBold(True)
        big.setPointSizeF(15 if mpp > 10 else 17)
        small = QFont(p.font())
        small.setPointSizeF(10.5)
        placed: list[QRectF] = []

        def draw(text: str, at: QPointF, font: QFont, color: QColor) -> None:
            d = t.map(at)
            fm = QFontMetricsF(font)
            w = fm.horizontalAdvance(text)
            box = QRectF(d.x() - w / 2 - 3, d.y() - fm.ascent() / 2 - 3, w + 6, fm.height() + 6)
            if any(box.intersects(o) for o in placed):
                return
            placed.append(box)
            sprite, ox, oy = self._label_sprite(text, font, color, w, fm)
            p.drawPixmap(QPointF(d.x() - ox, d.y() - oy), sprite)

        # township names first: they win collisions
        for a in self.townships:
            draw(a.name, a.label, big, QColor(theme.colors()["text_strong"]))
        if self.show_grids and mpp < 6:
            short = QColor(theme.colors()["text"])
            for a in self.grids:
                x0, _y0, x1, _y1 = a.bbox
                if view is not None and not view.contains(a.label):
                    continue
                if (x1 - x0) / mpp < 40:
                    continue
                name = a.name.split("第")[-1] if "第" in a.name else a.name
                draw(name, a.label, small, short)
        p.restore()


class LabelLayer(pg.GraphicsObject):
    """Township and grid names, above the cluster badges and below the case markers.

    Separate from BoundaryLayer so that a name is never hidden under a cluster badge
    (the hall talks in township names), while individual case markers still draw over
    the names: a warning is more important than a name. Each name is a cached sprite
    (``BoundaryLayer._label_sprite``), so this layer needs no screen-sized image."""

    def __init__(self, boundaries: BoundaryLayer) -> None:
        super().__init__()
        self.boundaries = boundaries

    def boundingRect(self) -> QRectF:  # type: ignore[override]
        return self.boundaries.boundingRect()

    def paint(self, p: QPainter, *_args) -> None:  # type: ignore[override]
        b = self.boundaries
        if not b.show_labels:
            return
        b.render_labels(p)


class Legend:
    """Drawn in the canvas overlay (top-left): the choropleth classes and the markers'
    warning colours with live counts. Sized from font metrics so it is never clipped."""

    def __init__(self) -> None:
        self.metric = "none"
        self.breaks: list[float] = []
        self.level_name = "grid"
        self.counts: dict[str, int] = {}
        self.visible = True

    def draw(self, p: QPainter, rect: QRectF) -> None:
        if not self.visible:
            return
        zh = is_chinese()
        c = theme.colors()
        title_f = QFont(p.font())
        title_f.setBold(True)
        title_f.setPointSizeF(12)
        body_f = QFont(p.font())
        body_f.setPointSizeF(11)
        fm_t = QFontMetricsF(title_f)
        fm_b = QFontMetricsF(body_f)
        lines: list[tuple[str, str, str]] = []  # (kind, colour, text)
        if self.metric != "none":
            unit = (
                ("网格" if self.level_name == "grid" else "乡镇")
                if zh
                else ("grids" if self.level_name == "grid" else "townships")
            )
            lines.append(
                (
                    "title",
                    "",
                    f"{metric_label(self.metric)}（{unit}）"
                    if zh
                    else f"{metric_label(self.metric)} ({unit})",
                )
            )
            lo = 0.0
            fmt = (lambda v: f"{v:.1f}") if self.metric == "per_1000" else (lambda v: f"{v:.0f}")
            if not self.breaks:
                lines.append(("swatch", RAMP[0], zh_en("无数据", "no data")))
            for i, b in enumerate(self.breaks):
                lines.append(("swatch", RAMP[i], f"{fmt(lo)} – {fmt(b)}" if i else f"≤ {fmt(b)}"))
                lo = b
        lines.append(("title", "", zh_en("案件预警", "Case warnings")))
        names = (
            ("overdue", c["red"], zh_en("超期", "Overdue")),
            ("red", c["red"], zh_en("红色预警", "Red")),
            ("yellow", c["yellow"], zh_en("黄色预警", "Yellow")),
            ("blue", c["blue"], zh_en("蓝色预警", "Blue")),
        )
        for key, col, text in names:
            n = self.counts.get(key)
            lines.append(
                (
                    "dot" if key != "overdue" else "diamond",
                    col,
                    f"{text}  {n:,}" if n is not None else text,
                )
            )
        pad = 10.0
        width = 0.0
        height = pad
        for kind, _, text in lines:
            fm = fm_t if kind == "title" else fm_b
            width = max(width, fm.horizontalAdvance(text) + (0 if kind == "title" else 28))
            height += (fm.height() + 6) if kind == "title" else (fm.height() + 3)
        box = QRectF(rect.left() + 12, rect.top() + 12, width + 2 * pad, height + pad)
        p.setPen(QPen(QColor(c["border_strong"]), 1))
        bg = QColor(c["surface"])
        bg.setAlpha(225)
        p.setBrush(bg)
        p.drawRoundedRect(box, 6, 6)
        y = box.top() + pad
        for kind, col, text in lines:
            if kind == "title":
                p.setFont(title_f)
                p.setPen(QColor(c["text_strong"]))
                p.drawText(QPointF(box.left() + pad, y + fm_t.ascent()), text)
                y += fm_t.height() + 6
                continue
            p.setFont(body_f)
            h = fm_b.height()
            cy = y + h / 2
            p.setPen(QPen(QColor("#05070c"), 1.2))
            p.setBrush(QColor(col))
            if kind == "swatch":
                p.drawRect(QRectF(box.left() + pad, y + 2, 18, h - 4))
            elif kind == "diamond":
                x0 = box.left() + pad + 9
                p.setPen(QPen(QColor("#ffffff"), 1.5))
                p.drawPolygon(
                    QPolygonF(
                        [
                            QPointF(x0, cy - 7),
                            QPointF(x0 + 7, cy),
                            QPointF(x0, cy + 7),
                            QPointF(x0 - 7, cy),
                        ]
                    )
                )
            else:
                p.drawEllipse(QPointF(box.left() + pad + 9, cy), 6, 6)
            p.setPen(QColor(c["text"]))
            p.drawText(QPointF(box.left() + pad + 28, y + fm_b.ascent()), text)
            y += h + 3

    @staticmethod
    def nice(v: float) -> str:
        return f"{v:.0f}" if v >= 10 or math.isclose(v, round(v)) else f"{v:.1f}"
