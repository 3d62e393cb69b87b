"""A point layer that draws 100,000 markers in one call.

Why not one QGraphicsItem per marker: 10,000 QGraphicsEllipseItems take ~10x longer per
pan frame than this (bench/map.py measures both in the same process), and a hundred
thousand would not fit a frame at all. Why not pyqtgraph's ScatterPlotItem: restyling one
point rebuilds its per-point style arrays, and the hall restyles hundreds per second as
cases change warning level.

Here a marker is a row in numpy arrays (Mercator x, y, a small-int style). ``paint`` maps
the rows to device pixels with the item's transform (two multiply-adds per point), culls
those off screen and hands the rest to ``QPainter.drawPixmapFragments`` with a sprite
atlas: one C++ call for the whole layer. Updating a marker is writing into the arrays.
Draw order follows the style code (higher on top), so red is never hidden under blue.

Markers that would be painted over completely are not drawn: positions are snapped to
whole device pixels (sprites are blitted on whole pixels anyway) and, of all markers on
the same pixel, only the last in draw order is kept: sprites grow with the style code, so
it covers the others. At the bench's 100k view that drops ~40% of the blits (58k -> 34k)
for ~1 ms of numpy, a scratch buffer of one int32 per screen pixel. Measured and
rejected: ``drawPoints`` with a wide round pen per colour (~240 ms for 58k points).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap


@dataclass(frozen=True, slots=True)
class Sprite:
    """A round marker: fill colour, diameter in pixels, outline colour and width."""

    fill: str
    size: float
    outline: str = "#05070c"
    outline_w: float = 1.5
    shape: str = "circle"  # or "square", "diamond"


def build_atlas(sprites: Sequence[Sprite], dpr: float = 1.0) -> tuple[QPixmap, np.ndarray]:
    """One pixmap with every sprite side by side; rows of (left, top, w, h) per sprite."""
    cells = [int(np.ceil(s.size + 2 * s.outline_w + 2)) for s in sprites]
    width = max(1, sum(cells))
    height = max(cells) if cells else 1
    pm = QPixmap(width, height)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    rects = np.zeros((len(sprites), 4))
    x = 0
    for i, (s, c) in enumerate(zip(sprites, cells, strict=True)):
        r = QRectF(x + (c - s.size) / 2, (c - s.size) / 2, s.size, s.size)
        p.setPen(QPen(QColor(s.outline), s.outline_w) if s.outline_w > 0 else Qt.PenStyle.NoPen)
        p.setBrush(QColor(s.fill))
        if s.shape == "square":
            p.drawRect(r)
        elif s.shape == "diamond":
            cx, cy, h = r.center().x(), r.center().y(), s.size / 2
            p.drawPolygon(
                [QPointF(cx, cy - h), QPointF(cx + h, cy), QPointF(cx, cy + h), QPointF(cx - h, cy)]
            )
        else:
            p.drawEllipse(r)
        rects[i] = (x, 0, c, c)
        x += c
    p.end()
    return pm, rects


class PointLayer(pg.GraphicsObject):
    """Many styled points in Mercator metres, painted as pixmap fragments."""

    def __init__(self, sprites: Sequence[Sprite]) -> None:
        super().__init__()
        self.setFlag(self.GraphicsItemFlag.ItemIgnoresParentOpacity, False)
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.style = np.zeros(0, dtype=np.int16)
        self.n = 0
        self.style_visible = np.ones(len(sprites), dtype=bool)
        self._frags = internals.PrimitiveArray(QPainter.PixmapFragment, 10)
        self._order: np.ndarray | None = None
        self._bounds = QRectF()
        self._occ = np.zeros(0, dtype=np.int32)  # pixel -> last marker (occlusion scratch)
        self.set_sprites(sprites)
        self.drawn = 0  # markers drawn in the last paint (tests, bench)
        self.on_screen = 0  # markers on screen before occlusion culling

    def set_sprites(self, sprites: Sequence[Sprite]) -> None:
        self.sprites = list(sprites)
        self.atlas, self.rects = build_atlas(self.sprites)
        if len(self.style_visible) != len(self.sprites):
            self.style_visible = np.ones(len(self.sprites), dtype=bool)
        self.update()

    def set_points(self, x: np.ndarray, y: np.ndarray, style: np.ndarray) -> None:
        """Replace every point (copies are not made: the arrays become the layer's)."""
        self.prepareGeometryChange()
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.style = np.asarray(style, dtype=np.int16)
        self.n = len(self.x)
        self._order = None
        self._recompute_bounds()
        self.update()

    def styles_changed(self) -> None:
        """Call after writing into ``style`` in place."""
        self._order = None
        self.update()

    def positions_changed(self) -> None:
        self.prepareGeometryChange()
        self._recompute_bounds()
        self.update()

    def _recompute_bounds(self) -> None:
        if self.n == 0:
            self._bounds = QRectF()
            return
        ok = np.isfinite(self.x[: self.n]) & np.isfinite(self.y[: self.n])
        if not ok.any():
            self._bounds = QRectF()
            return
        x = self.x[: self.n][ok]
        y = self.y[: self.n][ok]
        self._bounds = QRectF(
            float(x.min()), float(y.min()), float(np.ptp(x)) + 1, float(np.ptp(y)) + 1
        )

    def extent(self) -> tuple[float, float, float, float] | None:
        """Mercator box of the points (the raster caches' overview), None when empty."""
        r = self._bounds
        return None if r.isNull() else (r.left(), r.top(), r.right(), r.bottom())

    def boundingRect(self) -> QRectF:  # type: ignore[override]
        # Markers have a size in pixels, not metres: pad generously (a few hundred metres
        # at any useful zoom) so their edges are never clipped by the item's bounds.
        pad = max(self._bounds.width(), self._bounds.height(), 1000.0) * 0.05 + 500.0
        return self._bounds.adjusted(-pad, -pad, pad, pad)

    def draw_order(self) -> np.ndarray:
        if self._order is None:
            self._order = np.argsort(self.style[: self.n], kind="stable")
        return self._order

    def visible_rows(self, painter_transform, width: float, height: float):
        """(rows, px, py) of points on screen under ``painter_transform``, in draw order."""
        n = self.n
        if n == 0:
            e = np.zeros(0)
            return e.astype(np.int64), e, e
        t = painter_transform
        order = self.draw_order()
        x = self.x[:n]
        y = self.y[:n]
        px = t.m11() * x + t.m21() * y + t.dx()
        py = t.m12() * x + t.m22() * y + t.dy()
        m = 12.0
        keep = (px > -m) & (px < width + m) & (py > -m) & (py < height + m)
        keep &= self.style_visible[self.style[:n]]
        keep_o = keep[order]
        rows = order[keep_o]
        return rows, px[rows], py[rows]

    def paint(self, p: QPainter, *_args) -> None:  # type: ignore[override]
        if self.n == 0:
            self.drawn = 0
            return
        t = p.transform()
        dev = p.device()
        w = float(dev.width()) if dev is not None else 4000.0
        h = float(dev.height()) if dev is not None else 4000.0
        rows, px, py = self.visible_rows(t, w, h)
        self.on_screen = len(rows)
        rows, px, py = self._unoccluded(rows, px, py, w, h)
        self.drawn = len(rows)
        if len(rows) == 0:
            return
        p.save()
        p.resetTransform()
        self._draw_fragments(p, rows, px, py)
        p.restore()

    def _draw_fragments(
        self, p: QPainter, rows: np.ndarray, px: np.ndarray, py: np.ndarray
    ) -> None:
        """One drawPixmapFragments call: the sprite of each row centred at (px, py)."""
        self._frags.resize(len(rows))
        a = self._frags.ndarray()
        a[:, 0] = px
        a[:, 1] = py
        a[:, 2:6] = self.rects[self.style[rows]]
        a[:, 6] = 1.0
        a[:, 7] = 1.0
        a[:, 8] = 0.0
        a[:, 9] = 1.0
        p.drawPixmapFragments(*self._frags.drawargs(), self.atlas)

    def _unoccluded(self, rows: np.ndarray, px: np.ndarray, py: np.ndarray, w: float, h: float):
        """Snap to whole pixels and keep the last marker (in draw order) on each pixel."""
        k = len(rows)
        if k < 2:
            return rows, px, py
        pad = 16  # visible_rows keeps markers up to 12 px outside the view
        stride = int(w) + 2 * pad
        size = stride * (int(h) + 2 * pad)
        if self._occ.size < size:
            self._occ = np.full(size, -1, dtype=np.int32)
        ix = np.clip(np.rint(px).astype(np.int64), -pad, int(w) + pad - 1)
        iy = np.clip(np.rint(py).astype(np.int64), -pad, int(h) + pad - 1)
        lin = (iy + pad) * stride + (ix + pad)
        order = np.arange(k, dtype=np.int32)
        occ = self._occ
        occ[lin] = order  # repeated indices: numpy keeps the last write
        keep = occ[lin] == order
        occ[lin] = -1
        return rows[keep], ix[keep].astype(np.float64), iy[keep].astype(np.float64)

    def release_scratch(self) -> None:
        """Drop the occlusion scratch (one int32 per pixel of the largest device painted
        on, ~16 MB for an overview): a layer not shown needs none."""
        self._occ = np.zeros(0, dtype=np.int32)

    def nearest(self, px: float, py: float, transform, radius_px: float = 10.0) -> int | None:
        """Row of the visible point closest to device pixel (px, py) within ``radius_px``."""
        n = self.n
        if n == 0:
            return None
        t = transform
        x = self.x[:n]
        y = self.y[:n]
        dx = t.m11() * x + t.m21() * y + t.dx() - px
        dy = t.m12() * x + t.m22() * y + t.dy() - py
        d2 = dx * dx + dy * dy
        d2 = np.where(self.style_visible[self.style[:n]], d2, np.inf)
        # prefer the marker drawn on top (highest style) among the near ones
        near = np.flatnonzero(d2 <= radius_px * radius_px)
        if near.size == 0:
            return None
        best = near[np.lexsort((d2[near], -self.style[near]))[0]]
        return int(best)
