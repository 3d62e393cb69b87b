"""Case markers through a raster cache, repainted where they changed.

Why: drawing 100k markers costs ~30 ms in software and the hall changes a few hundred
of them a second, so redrawing the whole layer per change capped the map at ~9 complete
frames/s. Here the markers live in a RasterCache image (a pan is a blit, a zoom a scaled
blit, see cache.py) and a changed marker repaints only the cells it touches:

- at each full render every row's position in image pixels and its cell (``CELL`` px
  squares) are kept;
- ``mark_dirty(rows)`` queues rows whose style or position changed (or that are new);
- before the next blit the cells under their old and new sprites are cleared and every
  marker in those cells or their neighbours (a sprite is smaller than a cell) is drawn
  again, clipped to the cells, in the layer's draw order and with the same occlusion
  rule, so the patched image equals a full render (tests/test_map_speed.py).

Finding the markers of a few cells is one gather over a per-row cell array (a lookup
table of flagged cells), ~0.3 ms at 100k; no spatial index to keep in step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QPainter, QRegion, QTransform

from widgets.map.layers.cache import RasterCache
from widgets.map.layers.points import PointLayer, Sprite, build_atlas

CELL = 32  # image pixels per patch cell; larger than any sprite
OVERVIEW_SPRITE = 0.35  # sprite size in the overview, as a share of the real one
FULL_ABOVE = 0.05  # more dirty rows than this share of the layer: redraw it all


class CachedPointLayer(PointLayer):
    """A PointLayer painted through a RasterCache with incremental patches."""

    def __init__(self, sprites: Sequence[Sprite]) -> None:
        super().__init__(sprites)
        self.version = 0
        # the overview is magnified when it fills a zoom-out's rim: drawn with sprites at
        # OVERVIEW_SPRITE of their size, so the magnified dots are about marker-sized
        self.cache = RasterCache(self._render, extent=self.extent, on_settle=lambda: self.update())
        self._dirty: list[np.ndarray] = []
        self._ipx = np.zeros(0)
        self._ipy = np.zeros(0)
        self._cell = np.zeros(0, dtype=np.int32)
        self._grid = (0, 0)  # (columns, rows) of cells in the cached image
        self.patches = 0  # tests and the bench read these
        self.patched_cells = 0
        self.patched_markers = 0

    # ---- data ----------------------------------------------------------------------------

    def set_points(self, x: np.ndarray, y: np.ndarray, style: np.ndarray) -> None:
        self.version += 1
        self._dirty.clear()
        super().set_points(x, y, style)

    def set_sprites(self, sprites: Sequence[Sprite]) -> None:
        self.version = getattr(self, "version", 0) + 1
        super().set_sprites(sprites)

    def extend(self, x: np.ndarray, y: np.ndarray, style: np.ndarray, old_n: int) -> None:
        """The arrays grew (new cases at the end): the new rows are patched in."""
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.style = np.asarray(style, dtype=np.int16)
        self.n = len(self.x)
        self._order = None
        self.mark_dirty(np.arange(old_n, self.n), moved=True)

    def mark_dirty(self, rows: np.ndarray, moved: bool = False) -> None:
        """Rows whose style or position changed (written into the arrays already)."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        self._order = None
        if moved:
            self._grow_bounds(rows)
        if self.cache.image is not None:  # else the next paint renders every row anyway
            self._dirty.append(rows)
        self.update()

    def itemChange(self, change, value):  # type: ignore[override]
        """Hidden (clusters shown instead when zoomed out): the cache lets go of its
        images and the occlusion scratch is dropped, ~45 MB at 1080p."""
        out = super().itemChange(change, value)
        if change == self.GraphicsItemChange.ItemVisibleHasChanged and not self.isVisible():
            self.cache.release()
            self._dirty.clear()
            self.release_scratch()
        return out

    def styles_changed(self) -> None:
        """Every style may have changed: redraw all (prefer ``mark_dirty``)."""
        self.version += 1
        super().styles_changed()

    def visibility_changed(self) -> None:
        self.version += 1
        self.update()

    def _grow_bounds(self, rows: np.ndarray) -> None:
        x = self.x[rows]
        y = self.y[rows]
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            return
        x, y = x[ok], y[ok]
        r = QRectF(float(x.min()), float(y.min()), float(np.ptp(x)) + 1, float(np.ptp(y)) + 1)
        new = r if self._bounds.isNull() else self._bounds.united(r)
        if new != self._bounds:
            self.prepareGeometryChange()
            self._bounds = new

    # ---- painting ------------------------------------------------------------------------

    def paint(self, p: QPainter, *_args) -> None:  # type: ignore[override]
        if self.n == 0:
            self.drawn = 0
            return
        key = (self.version, tuple(self.style_visible.tolist()))
        if self._dirty and self.cache.valid_for(p.transform()) and self.cache._key == key:
            self._patch()
        self.cache.paint(p, key)

    def _render(self, q: QPainter) -> None:
        """A full render into the cache's image (or its overview)."""
        if self.cache.drawing_overview:
            atlas, rects = self.atlas, self.rects
            small = [
                Sprite(s.fill, max(2.0, s.size * OVERVIEW_SPRITE), s.outline, 0.0, s.shape)
                for s in self.sprites
            ]
            self.atlas, self.rects = build_atlas(small)
            try:
                PointLayer.paint(self, q)
            finally:
                self.atlas, self.rects = atlas, rects
            return
        PointLayer.paint(self, q)
        dev = q.device()
        if dev is None:
            return
        # keep every row's image position and cell for later patches
        self._dirty.clear()
        t = q.transform()
        n = self.n
        self._ipx = t.m11() * self.x[:n] + t.m21() * self.y[:n] + t.dx()
        self._ipy = t.m12() * self.x[:n] + t.m22() * self.y[:n] + t.dy()
        w, h = int(dev.width()), int(dev.height())
        self._grid = (w // CELL + 1, h // CELL + 1)
        self._cell = self._cells(self._ipx, self._ipy)

    def _cells(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        cols, rows = self._grid
        sentinel = cols * rows
        with np.errstate(invalid="ignore"):
            cx = np.floor(px / CELL)
            cy = np.floor(py / CELL)
            ok = (cx >= 0) & (cx < cols) & (cy >= 0) & (cy < rows)
        out = np.full(px.shape, sentinel, dtype=np.int32)
        out[ok] = (cy[ok] * cols + cx[ok]).astype(np.int32)
        return out

    def _patch(self) -> None:
        image = self.cache.image
        assert image is not None
        rows = np.unique(np.concatenate(self._dirty))
        self._dirty.clear()
        rows = rows[rows < self.n]
        if rows.size > FULL_ABOVE * max(self.n, 1) or self._ipx.size == 0:
            self.cache.invalidate()
            return
        n = self.n
        if self._ipx.size < n:  # rows appended since the render
            grow = n - self._ipx.size
            self._ipx = np.concatenate([self._ipx, np.full(grow, np.nan)])
            self._ipy = np.concatenate([self._ipy, np.full(grow, np.nan)])
            cols, nrows = self._grid
            self._cell = np.concatenate([self._cell, np.full(grow, cols * nrows, np.int32)])
        t: QTransform = self.cache.image_transform()
        old_x, old_y = self._ipx[rows], self._ipy[rows]
        new_x = t.m11() * self.x[rows] + t.m21() * self.y[rows] + t.dx()
        new_y = t.m12() * self.x[rows] + t.m22() * self.y[rows] + t.dy()
        self._ipx[rows] = new_x
        self._ipy[rows] = new_y
        self._cell[rows] = self._cells(new_x, new_y)
        cols, nrows = self._grid
        half = float(self.rects[:, 2].max()) / 2 + 1
        touched: set[tuple[int, int]] = set()
        for ax, ay in ((old_x, old_y), (new_x, new_y)):
            ok = np.isfinite(ax) & np.isfinite(ay)
            for a, b in zip(ax[ok].tolist(), ay[ok].tolist(), strict=True):
                for cx in range(int((a - half) // CELL), int((a + half) // CELL) + 1):
                    for cy in range(int((b - half) // CELL), int((b + half) // CELL) + 1):
                        if 0 <= cx < cols and 0 <= cy < nrows:
                            touched.add((cx, cy))
        if not touched:
            return
        flag = np.zeros(cols * nrows + 1, dtype=bool)  # candidate cells: touched + ring
        region = QRegion()
        for cx, cy in touched:
            region += QRegion(QRect(cx * CELL, cy * CELL, CELL, CELL))
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    x2, y2 = cx + dx, cy + dy
                    if 0 <= x2 < cols and 0 <= y2 < nrows:
                        flag[y2 * cols + x2] = True
        cand = np.flatnonzero(flag[self._cell[:n]])
        cand = cand[self.style_visible[self.style[cand]]]
        cand = cand[np.lexsort((cand, self.style[cand]))]  # the layer's draw order
        px, py = self._ipx[cand], self._ipy[cand]
        dpr = image.devicePixelRatio()
        w, h = int(image.width() / dpr), int(image.height() / dpr)
        keep = (px > -12) & (px < w + 12) & (py > -12) & (py < h + 12)
        cand, px, py = cand[keep], px[keep], py[keep]
        cand, px, py = self._unoccluded(cand, px, py, w, h)
        q = QPainter(image)
        q.setClipRegion(region)
        q.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        q.fillRect(region.boundingRect(), 0)
        q.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        if cand.size:
            self._draw_fragments(q, cand, px, py)
        q.end()
        self.patches += 1
        self.patched_cells += len(touched)
        self.patched_markers += int(cand.size)
