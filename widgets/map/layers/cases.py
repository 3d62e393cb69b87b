"""Cases on the map: a marker per case coloured by its warning level, clusters with counts
when zoomed out, and rings around the selected cases.

The layer reads the store's numpy columns directly (``_f["lon"]``, ``_f["lat"]``, row
order) because copying 100k records into Python objects each frame is what would make
the map slow; rows never move in the store, so a row index is a stable marker id.
Positions are converted (datum, then Mercator) once per created or updated case; warning
levels are recomputed for all rows at most every ``LEVEL_REFRESH_S`` (they move with time,
not only with events), and written into the marker styles in place.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap

from commandcenter.store import ChangeSet, Store
from widgets import theme
from widgets.map.canvas import Projection
from widgets.map.layers.markers import CachedPointLayer
from widgets.map.layers.points import PointLayer, Sprite

# style codes: index into the sprite list; higher draws on top
CLOSED, BLUE, YELLOW, RED, OVERDUE = range(5)
STYLE_NAMES = ("closed", "blue", "yellow", "red", "overdue")
LEVEL_REFRESH_S = 0.25


def case_sprites(scale: float = 1.0) -> list[Sprite]:
    c = theme.colors()
    return [
        Sprite(c["grey"], 6 * scale, "#05070c", 1.0),
        Sprite(c["blue"], 10 * scale, "#05070c", 1.5),
        Sprite(c["yellow"], 11 * scale, "#05070c", 1.5),
        Sprite(c["red"], 12 * scale, "#05070c", 1.5),
        Sprite(c["red"], 13 * scale, "#ffffff", 2.0, "diamond"),
    ]


def _bins(x: np.ndarray, y: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """(bin index per point, points per bin) of square cells of ``cell`` metres.

    Why not np.unique over the cell keys: it sorts, ~100 ms at 1M points; the county's
    cells form a small dense grid, so a bincount over it and a compaction are O(n)."""
    ix = np.floor(x / cell).astype(np.int64)
    iy = np.floor(y / cell).astype(np.int64)
    ix -= ix.min()
    iy -= iy.min()
    ny = int(iy.max()) + 1
    dense = ix * ny + iy
    size = (int(ix.max()) + 1) * ny
    if size > 4 * x.size + 1_000_000:  # sparse (far-flung points): sorting is cheaper
        _, inv, cnt = np.unique(dense, return_inverse=True, return_counts=True)
        return inv, cnt
    full = np.bincount(dense, minlength=size)
    used = np.flatnonzero(full)
    remap = np.zeros(size, dtype=np.int64)
    remap[used] = np.arange(used.size)
    return remap[dense], full[used]


class ClusterLayer(pg.GraphicsObject):
    """Grid-bin clusters of a PointLayer's visible styles, with counts.

    Bins are squares of a power-of-two size in Mercator metres chosen for ~70 px on
    screen, so clusters do not jump while panning and only re-form when the zoom crosses
    a power of two or the data change."""

    CELL_PX = 72.0

    def __init__(self, points: PointLayer) -> None:
        super().__init__()
        self.points = points
        self.version = 0
        self._key: tuple[float, int] | None = None
        self._cx = np.zeros(0)
        self._cy = np.zeros(0)
        self._count = np.zeros(0, dtype=np.int64)
        self._worst = np.zeros(0, dtype=np.int16)
        self._badges: dict[tuple[int, str], QPixmap] = {}
        self.drawn = 0

    def invalidate(self) -> None:
        self.version += 1
        self.update()

    def boundingRect(self) -> QRectF:  # type: ignore[override]
        return self.points.boundingRect()

    def clusters(self, mpp: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(cx, cy, count, worst style) of every cluster at this resolution (cached)."""
        cell = 2.0 ** math.ceil(math.log2(max(self.CELL_PX * mpp, 1.0)))
        key = (cell, self.version)
        if key == self._key:
            return self._cx, self._cy, self._count, self._worst
        pts = self.points
        n = pts.n
        vis = pts.style_visible[pts.style[:n]]
        x = pts.x[:n][vis]
        y = pts.y[:n][vis]
        st = pts.style[:n][vis]
        if x.size == 0:
            e = np.zeros(0)
            self._cx, self._cy, self._count, self._worst = (
                e,
                e,
                e.astype(np.int64),
                e.astype(np.int16),
            )
        else:
            inv, cnt = _bins(x, y, cell)
            sx = np.bincount(inv, weights=x)
            sy = np.bincount(inv, weights=y)
            # worst style per bin without ufunc.at (slow): count each style, keep the top
            worst = np.full(cnt.size, -1, dtype=np.int16)
            for code in range(int(st.max()) + 1):
                has = np.bincount(inv[st == code], minlength=cnt.size) > 0
                worst[has] = code
            self._cx, self._cy, self._count, self._worst = sx / cnt, sy / cnt, cnt, worst
        self._key = key
        return self._cx, self._cy, self._count, self._worst

    def paint(self, p: QPainter, *_args) -> None:  # type: ignore[override]
        t = p.transform()
        mpp = 1.0 / max(abs(t.m11()), 1e-12)
        cx, cy, count, worst = self.clusters(mpp)
        if cx.size == 0:
            self.drawn = 0
            return
        px = t.m11() * cx + t.m21() * cy + t.dx()
        py = t.m12() * cx + t.m22() * cy + t.dy()
        dev = p.device()
        w = float(dev.width()) if dev else 4000.0
        h = float(dev.height()) if dev else 4000.0
        keep = (px > -40) & (px < w + 40) & (py > -40) & (py < h + 40)
        idx = np.flatnonzero(keep)
        idx = idx[np.lexsort((count[idx], worst[idx]))]  # worst and biggest on top
        self.drawn = idx.size
        p.save()
        p.resetTransform()
        for i in idx.tolist():
            badge = self.badge(int(worst[i]), int(count[i]), p.font())
            half = badge.width() / badge.devicePixelRatio() / 2
            p.drawPixmap(QPointF(px[i] - half, py[i] - half), badge)
        p.restore()

    def badge(self, style: int, n: int, base_font: QFont) -> QPixmap:
        """The pixmap of one cluster (halo, disc, count), made once per (style, count).

        Why: painting a halo, a disc and shaped text per cluster cost ~12 ms a frame at
        the county view; blitting cached badges costs ~1 ms."""
        text = f"{n / 1000:.1f}k" if n >= 10_000 else str(n)
        key = (style, text if n > 1 else "")
        pm = self._badges.get(key)
        if pm is not None:
            return pm
        if len(self._badges) > 2048:
            self._badges.clear()
        colors = theme.colors()
        fills = [colors["grey"], colors["blue"], colors["yellow"], colors["red"], colors["red"]]
        r = 6.0 if n == 1 else 11.0 + 5.0 * math.log10(n)
        size = math.ceil(2 * (r + 6))
        pm = QPixmap(size, size)
        pm.fill(Qt.GlobalColor.transparent)
        q = QPainter(pm)
        q.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        c = QPointF(size / 2, size / 2)
        fill = QColor(fills[max(style, 0)])
        halo = QColor(fill)
        halo.setAlpha(70)
        dark = QColor("#05070c")
        q.setPen(Qt.PenStyle.NoPen)
        q.setBrush(halo)
        q.drawEllipse(c, r + 5, r + 5)
        overdue = style == OVERDUE
        q.setPen(QPen(QColor("#ffffff") if overdue else dark, 2.0 if overdue else 1.5))
        q.setBrush(fill)
        q.drawEllipse(c, r, r)
        if n > 1:
            font = QFont(base_font)
            font.setBold(True)
            font.setPointSizeF(10.5)
            q.setFont(font)
            q.setPen(dark)
            q.drawText(
                QRectF(c.x() - r - 4, c.y() - r, 2 * r + 8, 2 * r),
                Qt.AlignmentFlag.AlignCenter,
                text,
            )
        q.end()
        self._badges[key] = pm
        return pm


class SelectionLayer(pg.GraphicsObject):
    """Rings around selected markers: visible over any colour (white on a dark halo)."""

    def __init__(self, points: PointLayer) -> None:
        super().__init__()
        self.points = points
        self.rows = np.zeros(0, dtype=np.int64)

    def set_rows(self, rows: np.ndarray) -> None:
        self.rows = np.asarray(rows, dtype=np.int64)
        self.update()

    def boundingRect(self) -> QRectF:  # type: ignore[override]
        return self.points.boundingRect()

    def paint(self, p: QPainter, *_args) -> None:  # type: ignore[override]
        rows = self.rows[self.rows < self.points.n]
        if rows.size == 0:
            return
        t = p.transform()
        x = self.points.x[rows]
        y = self.points.y[rows]
        px = t.m11() * x + t.m21() * y + t.dx()
        py = t.m12() * x + t.m22() * y + t.dy()
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(Qt.BrushStyle.NoBrush)
        many = rows.size > 50
        for a, b in zip(px.tolist(), py.tolist(), strict=True):
            r = 9.0 if many else 14.0
            p.setPen(QPen(QColor(0, 0, 0, 200), 5.0))
            p.drawEllipse(QPointF(a, b), r, r)
            p.setPen(QPen(QColor(theme.colors()["text_strong"]), 2.5))
            p.drawEllipse(QPointF(a, b), r, r)
        p.restore()


class CasesLayer:
    """Owns the case markers, their clusters and the selection rings."""

    def __init__(self, store: Store, projection: Projection) -> None:
        self.store = store
        self.projection = projection
        self.points = CachedPointLayer(case_sprites())
        self.points.style_visible[CLOSED] = False
        self.clusters = ClusterLayer(self.points)
        self.selection = SelectionLayer(self.points)
        self._cap = 0
        self._x = np.zeros(0)
        self._y = np.zeros(0)
        self._style = np.zeros(0, dtype=np.int16)
        self._levels_dirty = True
        self._last_levels = 0.0
        self._clusters_dirty = False
        self._changed = np.zeros(0, dtype=np.int64)  # rows whose style the last refresh moved
        self.cluster_mode = False

    # ---- data --------------------------------------------------------------------------

    def _ensure(self, n: int) -> None:
        if n <= self._cap:
            return
        cap = max(1024, 1 << (n - 1).bit_length())
        for name in ("_x", "_y"):
            old = getattr(self, name)
            new = np.full(cap, np.nan)
            new[: old.size] = old
            setattr(self, name, new)
        st = np.zeros(cap, dtype=np.int16)
        st[: self._style.size] = self._style
        self._style = st
        self._cap = cap

    def rebuild(self) -> None:
        """Everything from the store (snapshot, projection change)."""
        n = len(self.store)
        self._ensure(n)
        f = self.store._f
        x, y = self.projection.xy(f["lon"][:n], f["lat"][:n])
        self._x[:n] = x
        self._y[:n] = y
        self.refresh_levels(force=True, publish=False)
        self._publish(n)

    def _publish(self, n: int) -> None:
        self.points.set_points(self._x[:n], self._y[:n], self._style[:n])
        self.clusters.invalidate()

    def sync(self, cs: ChangeSet) -> None:
        """Apply one (merged) change set: new and moved markers now, levels soon."""
        if cs.reset:
            self.rebuild()
            return
        if not (cs.cases_created or cs.cases_updated):
            return
        n = len(self.store)
        grew = n != self.points.n
        self._ensure(n)
        rows = [self.store.row_of(cid) for cid in (*cs.cases_created, *cs.cases_updated)]
        idx = np.fromiter((r for r in rows if r is not None), dtype=np.int64)
        if idx.size:
            f = self.store._f
            x, y = self.projection.xy(f["lon"][idx], f["lat"][idx])
            self._x[idx] = x
            self._y[idx] = y
        self._levels_dirty = True
        old_n = self.points.n
        if grew:
            self.refresh_levels(force=True, publish=False)
            self.points.extend(self._x[:n], self._y[:n], self._style[:n], old_n)
            self.points.mark_dirty(self._changed[self._changed < old_n])
            self.clusters.invalidate()
        else:
            self.refresh_levels()
        if idx.size:
            self.points.mark_dirty(idx[idx < old_n], moved=True)
            # re-binning 100k points costs ~10 ms: at most at the level refresh's pace
            self._clusters_dirty = True

    def refresh_levels(self, force: bool = False, publish: bool = True) -> bool:
        """Recompute warning styles of every row (vectorised); rate-limited unless forced."""
        now = time.monotonic()
        if not force and (not self._levels_dirty and now - self._last_levels < 1.0):
            return False
        if not force and now - self._last_levels < LEVEL_REFRESH_S:
            return False
        n = len(self.store)
        self._ensure(n)
        changed = np.zeros(0, dtype=np.int64)
        if n:
            milestone, remaining, level = self.store.sla_arrays()
            st = (level + 1).astype(np.int16)
            st[(level >= 0) & (milestone > 0) & (remaining < 0)] = OVERDUE
            changed = np.flatnonzero(self._style[:n] != st)
            self._style[:n] = st
        self._changed = changed
        self._levels_dirty = False
        self._last_levels = now
        if self._clusters_dirty:
            self._clusters_dirty = False
            self.clusters.invalidate()
        if publish:
            if self.points.n == n:
                if changed.size:  # only the markers whose warning level moved repaint
                    self.points.mark_dirty(changed)
                    self.clusters.invalidate()
            else:
                self._publish(n)
        return True

    # ---- queries -----------------------------------------------------------------------

    def set_projection(self, projection: Projection) -> None:
        self.projection = projection
        self.rebuild()

    def set_show_closed(self, show: bool) -> None:
        self.points.style_visible[CLOSED] = show
        self.points.visibility_changed()
        self.clusters.invalidate()

    def set_cluster_mode(self, on: bool) -> None:
        """Clusters replace markers (the panel decides by zoom)."""
        self.cluster_mode = on
        self.points.setVisible(not on)
        self.clusters.setVisible(on)

    def rows_in(self, mask_fn) -> np.ndarray:
        """Rows of visible markers for which ``mask_fn(x, y)`` is True (box/lasso)."""
        n = self.points.n
        vis = self.points.style_visible[self.points.style[:n]]
        hit = mask_fn(self.points.x[:n], self.points.y[:n]) & vis
        return np.flatnonzero(hit)

    def ids(self, rows: np.ndarray) -> list[str]:
        ids = self.store._ids
        return [ids[int(r)] for r in rows if int(r) < len(ids)]

    def counts_by_style(self) -> np.ndarray:
        n = self.points.n
        return np.bincount(self.points.style[:n], minlength=5)

    def items(self) -> list:
        return [self.points, self.clusters, self.selection]
