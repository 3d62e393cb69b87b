"""Live layers beside the cases: field units with heading and a fading track, cameras with
their field of view, urban components (static, tens of thousands) and a heat map.

Units and cameras are few (hundreds): they are painted by hand in device pixels, which
keeps glyphs a constant size at any zoom and costs well under a millisecond. Components
reuse the fast PointLayer. The heat map is a binned, blurred image of recent cases.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)

from commandcenter import geo
from commandcenter.store import Store
from widgets import theme
from widgets.i18n import zh_en
from widgets.map.canvas import Projection
from widgets.map.layers.cache import RasterCache
from widgets.map.layers.points import PointLayer, Sprite

TRACK_LEN = 40  # positions kept per unit (at 8 s a fix, about five minutes of trail)

UNIT_STATUS_COLOURS = {
    "available": "#52c41a",
    "dispatched": "#faad14",
    "en_route": "#faad14",
    "returning": "#95de64",
    "on_site": "#fa8c16",
    "busy": "#fa8c16",
    "patrol": "#36cfc9",
    "offline": "#8c8c8c",
    "off_duty": "#595959",
}

# What a duty officer reads in a tooltip: the status in words, never the feed's code.
UNIT_STATUS_LABELS = {
    "available": ("空闲", "Available"),
    "busy": ("处置中", "Busy"),
    "en_route": ("赶赴现场", "En route"),
    "returning": ("返回途中", "Returning"),
    "dispatched": ("已派遣", "Dispatched"),
    "on_site": ("到达现场", "On site"),
    "patrol": ("巡查中", "On patrol"),
    "off_duty": ("下班/休息", "Off duty"),
    "offline": ("设备离线", "Offline"),
}
UNIT_KIND_LABELS = {
    "grid_worker": ("网格员", "Grid worker"),
    "enforcement": ("执法队员", "Enforcement officer"),
    "inspector": ("城管监督员", "Inspector"),
    "vehicle": ("车辆", "Vehicle"),
}


def unit_status_label(code: str, zh: bool) -> str:
    """The status in the operator's language; an unknown code is shown as it came."""
    pair = UNIT_STATUS_LABELS.get(code)
    return (pair[0] if zh else pair[1]) if pair else (code or (zh_en("未知", "unknown")))


def unit_kind_label(code: str, zh: bool) -> str:
    pair = UNIT_KIND_LABELS.get(code)
    return (pair[0] if zh else pair[1]) if pair else code


@dataclass(slots=True)
class UnitTrack:
    """A unit's recent fixes, Mercator metres; a ring buffer (deque with maxlen)."""

    xs: deque = field(default_factory=lambda: deque(maxlen=TRACK_LEN))
    ys: deque = field(default_factory=lambda: deque(maxlen=TRACK_LEN))
    heading: float = 0.0
    status: str = ""
    name: str = ""
    kind: str = ""


class UnitsLayer(pg.GraphicsObject):
    """Field units: heading arrows with fading tracks when zoomed in, count badges when
    zoomed out (above ``CLUSTER_ABOVE_MPP``)."""

    CLUSTER_ABOVE_MPP = 9.0
    CELL_PX = 40.0

    def __init__(self, store: Store, projection: Projection) -> None:
        super().__init__()
        self.store = store
        self.projection = projection
        self.tracks: dict[str, UnitTrack] = {}
        self.show_tracks = True

    def boundingRect(self) -> QRectF:  # type: ignore[override]
        w = geo.MERCATOR_HALF
        return QRectF(-w, -w, 2 * w, 2 * w)

    def rebuild(self) -> None:
        self.tracks.clear()
        self.sync(set(self.store.units))

    def sync(self, ids: set[str]) -> None:
        """Append the latest fix of each unit in ``ids`` (skipping repeats)."""
        units = self.store.units
        ids = [i for i in ids if i in units]
        if not ids:
            return
        lon = np.array([units[i].lon for i in ids])
        lat = np.array([units[i].lat for i in ids])
        x, y = self.projection.xy(lon, lat)
        for i, uid in enumerate(ids):
            rec = units[uid]
            tr = self.tracks.get(uid)
            if tr is None:
                tr = self.tracks[uid] = UnitTrack()
            moved = not tr.xs or (tr.xs[-1], tr.ys[-1]) != (x[i], y[i])
            if moved and (rec.lon or rec.lat):
                tr.xs.append(float(x[i]))
                tr.ys.append(float(y[i]))
            tr.heading = float(rec.heading or 0.0)
            st = rec.status
            if st is not None:
                tr.status = str(getattr(st, "status", ""))
                tr.name = str(getattr(st, "name", uid))
                tr.kind = str(getattr(st, "kind", ""))
        self.update()

    def positions(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        ids = [k for k, t in self.tracks.items() if t.xs]
        return (
            ids,
            np.array([self.tracks[k].xs[-1] for k in ids]),
            np.array([self.tracks[k].ys[-1] for k in ids]),
        )

    def clusters(self, mpp: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[str]]]:
        """(cx, cy, count, member ids) of units binned in power-of-two cells of about
        ``CELL_PX`` pixels: stable while panning, like the case clusters."""
        ids, x, y = self.positions()
        if not ids:
            e = np.zeros(0)
            return e, e, e.astype(np.int64), []
        cell = 2.0 ** math.ceil(math.log2(max(self.CELL_PX * mpp, 1.0)))
        keys = np.floor(x / cell).astype(np.int64) * 4_194_304 + np.floor(y / cell).astype(np.int64)
        _, inv, cnt = np.unique(keys, return_inverse=True, return_counts=True)
        cx = np.bincount(inv, weights=x) / cnt
        cy = np.bincount(inv, weights=y) / cnt
        members: list[list[str]] = [[] for _ in range(cnt.size)]
        for uid, k in zip(ids, inv.tolist(), strict=True):
            members[k].append(uid)
        return cx, cy, cnt, members

    def clustered(self, mpp: float) -> bool:
        return mpp > self.CLUSTER_ABOVE_MPP

    def paint(self, p: QPainter, *_args) -> None:  # type: ignore[override]
        t = p.transform()
        mpp = 1.0 / max(abs(t.m11()), 1e-12)
        if self.clustered(mpp):
            self._paint_clusters(p, t, mpp)
            return
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        vp = QRectF(p.viewport()).adjusted(-30, -30, 30, 30)
        for tr in self.tracks.values():
            if not tr.xs:
                continue
            col = QColor(UNIT_STATUS_COLOURS.get(tr.status, "#36cfc9"))
            pts = [t.map(QPointF(a, b)) for a, b in zip(tr.xs, tr.ys, strict=True)]
            head = pts[-1]
            if self.show_tracks and len(pts) > 1:
                # four bands of fading alpha, one polyline each: 600 draw calls for 150
                # units instead of 6,000 single segments
                n = len(pts)
                bands = 4
                for b in range(bands):
                    lo = b * (n - 1) // bands
                    hi = (b + 1) * (n - 1) // bands + 1
                    if hi - lo < 2:
                        continue
                    c = QColor(col)
                    c.setAlphaF(0.12 + 0.7 * (b + 1) / bands)
                    pen = QPen(c, 1.0 + 0.6 * b)
                    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
                    p.setPen(pen)
                    p.drawPolyline(QPolygonF(pts[lo:hi]))
            if not vp.contains(head):
                continue
            self._glyph(p, head, tr, 11.0 if tr.kind != "vehicle" else 13.0, col)
        p.restore()

    @staticmethod
    def _glyph(p: QPainter, head: QPointF, tr: UnitTrack, s: float, col: QColor) -> None:
        """An arrowhead pointing the way the unit moves (north-up map)."""
        a = math.radians(tr.heading)

        def pt(dx: float, dy: float) -> QPointF:
            # rotate (dx, dy) (dy up) by heading clockwise; device y is down
            rx = dx * math.cos(a) + dy * math.sin(a)
            ry = -dx * math.sin(a) + dy * math.cos(a)
            return QPointF(head.x() + rx, head.y() - ry)

        glyph = QPolygonF(
            [pt(0, s), pt(0.7 * s, -0.7 * s), pt(0, -0.3 * s), pt(-0.7 * s, -0.7 * s)]
        )
        p.setPen(QPen(QColor("#05070c"), 2.0))
        p.setBrush(col)
        p.drawPolygon(glyph)

    def _paint_clusters(self, p: QPainter, t, mpp: float) -> None:
        """Zoomed out: a lone unit is a small arrow, a group a count badge; no tracks.

        Why: at county zoom ~150 arrows and their tracks piled into one black blob over
        the county seat and hid the case clusters there."""
        cx, cy, count, members = self.clusters(mpp)
        if cx.size == 0:
            return
        px = t.m11() * cx + t.m21() * cy + t.dx()
        py = t.m12() * cx + t.m22() * cy + t.dy()
        vp = QRectF(p.viewport()).adjusted(-30, -30, 30, 30)
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        font = QFont(p.font())
        font.setBold(True)
        font.setPointSizeF(9.5)
        p.setFont(font)
        fm = QFontMetricsF(font)
        teal = QColor("#36cfc9")
        for i in range(cx.size):
            at = QPointF(float(px[i]), float(py[i]))
            if not vp.contains(at):
                continue
            n = int(count[i])
            if n == 1:
                tr = self.tracks[members[i][0]]
                col = QColor(UNIT_STATUS_COLOURS.get(tr.status, "#36cfc9"))
                self._glyph(p, at, tr, 7.5, col)
                continue
            text = str(n)
            w = fm.horizontalAdvance(text) + 20
            h = fm.height() + 4
            box = QRectF(at.x() - w / 2, at.y() - h / 2, w, h)
            p.setPen(QPen(teal, 1.5))
            p.setBrush(QColor(7, 20, 28, 230))
            p.drawRoundedRect(box, 4, 4)
            # a small arrow says "units", so the badge is not read as a case count
            ax, ay = box.left() + 8, at.y()
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(teal)
            p.drawPolygon(
                QPolygonF(
                    [
                        QPointF(ax, ay - 5),
                        QPointF(ax + 4, ay + 4),
                        QPointF(ax, ay + 2),
                        QPointF(ax - 4, ay + 4),
                    ]
                )
            )
            p.setPen(QColor("#e6fffb"))
            p.drawText(
                QRectF(box.left() + 14, box.top(), w - 16, h), Qt.AlignmentFlag.AlignCenter, text
            )
        p.restore()


class CamerasLayer(pg.GraphicsObject):
    """Cameras: nothing at county zoom, a small dim icon zoomed in, and a faint outline
    of the field of view only at street zoom (below ``WEDGE_BELOW_MPP``) or for cameras
    that can see a selected case.

    Why so quiet: full-alpha wedges and 360-degree dome circles swamped the case markers
    at street zoom; a duty officer looks for the cases first and for "which camera sees
    this case" second, which the selected-case wedges answer. Domes are an icon (a ring
    with a dot), never a circle of their range. Cached (RasterCache): cameras change
    state rarely and the layer is the same while the view pans."""

    SHOW_BELOW_MPP = 20.0
    WEDGE_BELOW_MPP = 1.5
    FOCUS_BELOW_MPP = 12.0

    def __init__(self, store: Store, projection: Projection) -> None:
        super().__init__()
        self.store = store
        self.projection = projection
        self.ids: list[str] = []
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.scale = np.zeros(0)  # Mercator metres per ground metre at each camera
        self.focus_x = np.zeros(0)  # selected cases (Mercator): their cameras show wedges
        self.focus_y = np.zeros(0)
        self.version = 0
        self.cache = RasterCache(self.render, extent=self.extent, on_settle=lambda: self.update())

    def boundingRect(self) -> QRectF:  # type: ignore[override]
        w = geo.MERCATOR_HALF
        return QRectF(-w, -w, 2 * w, 2 * w)

    def rebuild(self) -> None:
        cams = self.store.cameras
        self.ids = list(cams)
        lon = np.array([cams[i].lon for i in self.ids], dtype=float)
        lat = np.array([cams[i].lat for i in self.ids], dtype=float)
        self.x, self.y = self.projection.xy(lon, lat)
        self.scale = geo.mercator_scale(lat)
        self.version += 1
        self.update()

    def extent(self) -> tuple[float, float, float, float] | None:
        ok = np.isfinite(self.x) & np.isfinite(self.y)
        if not ok.any():
            return None
        x, y = self.x[ok], self.y[ok]
        return (float(x.min()), float(y.min()), float(x.max()), float(y.max()))

    def set_focus(self, x: np.ndarray, y: np.ndarray) -> None:
        """Mercator positions of the selected cases (the first 200 count)."""
        self.focus_x = np.asarray(x, dtype=float)[:200]
        self.focus_y = np.asarray(y, dtype=float)[:200]
        self.version += 1
        self.update()

    def sees_focus(self) -> np.ndarray:
        """Per camera: is a selected case within its range (ground metres)?"""
        n = len(self.ids)
        out = np.zeros(n, dtype=bool)
        if n == 0 or self.focus_x.size == 0:
            return out
        cams = self.store.cameras
        rng = np.array([getattr(cams.get(i), "range_m", 0.0) or 0.0 for i in self.ids])
        dx = self.x[:, None] - self.focus_x[None, :]
        dy = self.y[:, None] - self.focus_y[None, :]
        d = np.sqrt(dx * dx + dy * dy).min(axis=1) / np.maximum(self.scale, 1e-9)
        return d <= np.maximum(rng, 1.0) * 1.1

    def paint(self, p: QPainter, *_args) -> None:  # type: ignore[override]
        if not self.ids:
            return
        mpp = 1.0 / max(abs(p.transform().m11()), 1e-12)
        if mpp >= self.SHOW_BELOW_MPP:
            self.cache.release()  # nothing shown at this zoom: no images held for it
            return
        self.cache.paint(p, (self.version, bool(self.focus_x.size)))

    def render(self, p: QPainter) -> None:
        t = p.transform()
        mpp = 1.0 / max(abs(t.m11()), 1e-12)
        px = t.m11() * self.x + t.m21() * self.y + t.dx()
        py = t.m12() * self.x + t.m22() * self.y + t.dy()
        vp = QRectF(p.viewport())
        keep = np.flatnonzero(
            (px > -300) & (px < vp.width() + 300) & (py > -300) & (py < vp.height() + 300)
        )
        focus = self.sees_focus() if mpp < self.FOCUS_BELOW_MPP else np.zeros(len(self.ids), bool)
        cams = self.store.cameras
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        on = QColor("#36cfc9")
        off = QColor(theme.colors()["grey"])
        wedges = mpp < self.WEDGE_BELOW_MPP
        dark = QColor("#05070c")
        for i in keep.tolist():
            cam = cams.get(self.ids[i])
            if cam is None:
                continue
            online = bool(getattr(cam, "online", True))
            col = on if online else off
            c = QPointF(px[i], py[i])
            dome = cam.fov <= 0 or cam.fov >= 360
            if (wedges or focus[i]) and cam.range_m > 0 and not dome:
                r = cam.range_m * self.scale[i] / mpp
                edge = QColor(col)
                edge.setAlpha(200 if focus[i] else 90)
                fill = QColor(col)
                fill.setAlpha(40 if focus[i] else 14)
                p.setPen(QPen(edge, 1.5 if focus[i] else 1.0))
                p.setBrush(fill)
                path = QPainterPath(c)
                start = 90.0 - cam.direction - cam.fov / 2.0
                path.arcTo(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r), start, cam.fov)
                path.closeSubpath()
                p.drawPath(path)
            icon = QColor(col)
            icon.setAlpha(255 if focus[i] else 170)
            if dome:
                # a ring with a dot: "looks all around", at icon size
                p.setPen(QPen(dark, 3.0))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawEllipse(c, 4.5, 4.5)
                p.setPen(QPen(icon, 1.6))
                p.drawEllipse(c, 4.5, 4.5)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(icon)
                p.drawEllipse(c, 1.6, 1.6)
            else:
                s = 3.0 if mpp < self.FOCUS_BELOW_MPP / 2 else 2.2
                p.setPen(QPen(dark, 1.0))
                p.setBrush(icon)
                p.drawRect(QRectF(c.x() - s, c.y() - s, 2 * s, 2 * s))
        p.restore()


COMPONENT_COLOURS = (
    "#7f8fa6",  # 井盖 manhole
    "#ffd666",  # 路灯 lamp
    "#95de64",  # 垃圾桶 bin
    "#ff7875",  # 消防栓 hydrant
    "#5cdbd3",  # 监控杆 camera pole
    "#adc6ff",  # 交通标志 sign
    "#73d13d",  # 绿化 greenery
    "#ffc069",  # 公交站 bus stop
    "#d3adf7",  # 电力箱 power box
    "#bfbfbf",  # 其他 other
)


class ComponentsLayer(PointLayer):
    """The urban components (~74k), static; shown only at street zoom (below
    ``SHOW_BELOW_MPP``), where they are individually meaningful, and at half opacity:
    their ten colours include red and yellow, which must not compete with the warnings."""

    SHOW_BELOW_MPP = 1.5

    def __init__(self) -> None:
        super().__init__([Sprite(c, 4.0, "#05070c", 0.8, "square") for c in COMPONENT_COLOURS])
        self.version = 0
        self.cache = RasterCache(
            lambda q: PointLayer.paint(self, q), extent=self.extent, on_settle=lambda: self.update()
        )
        self.setOpacity(0.5)

    def set_points(self, x: np.ndarray, y: np.ndarray, style: np.ndarray) -> None:
        self.version += 1
        super().set_points(x, y, style)

    def paint(self, p: QPainter, *args) -> None:  # type: ignore[override]
        """Static, so cached like the boundaries."""
        mpp = 1.0 / max(abs(p.transform().m11()), 1e-12)
        if mpp > self.SHOW_BELOW_MPP:
            self.drawn = 0
            self.cache.release()  # nothing shown at this zoom: no images held for it
            self.release_scratch()
            return
        self.cache.paint(p, self.version)


class HeatLayer(pg.ImageItem):
    """Cases filed in the last ``window_s`` seconds (feed clock), binned on a grid over the
    county and blurred: where the day's trouble concentrates, independent of zoom."""

    def __init__(self, bins: int = 220, window_s: float = 24 * 3600.0) -> None:
        super().__init__()
        self.bins = bins
        self.window_s = window_s
        self.extent: tuple[float, float, float, float] | None = None
        self.total = 0

    def set_extent(self, box: tuple[float, float, float, float]) -> None:
        self.extent = box

    def compute(self, store: Store, x: np.ndarray, y: np.ndarray) -> None:
        if self.extent is None:
            return
        n = min(len(store), x.size)
        created = store._f["created_ts"][:n]
        recent = (created >= store.clock.now() - self.window_s) & np.isfinite(x[:n])
        xmin, ymin, xmax, ymax = self.extent
        w = xmax - xmin
        h = ymax - ymin
        nx = self.bins
        ny = max(8, int(self.bins * h / max(w, 1.0)))
        hist, _, _ = np.histogram2d(
            x[:n][recent], y[:n][recent], bins=(nx, ny), range=((xmin, xmax), (ymin, ymax))
        )
        self.total = int(recent.sum())
        k = _gauss(3.0)
        hist = np.apply_along_axis(lambda r: np.convolve(r, k, mode="same"), 0, hist)
        hist = np.apply_along_axis(lambda r: np.convolve(r, k, mode="same"), 1, hist)
        peak = float(np.quantile(hist[hist > 0], 0.995)) if (hist > 0).any() else 1.0
        v = np.clip(hist / max(peak, 1e-9), 0, 1)
        rgba = np.zeros((nx, ny, 4), dtype=np.ubyte)
        # transparent -> orange -> hot white, alpha grows with density
        rgba[..., 0] = (255 * np.clip(0.6 + v, 0, 1)).astype(np.ubyte)
        rgba[..., 1] = (255 * np.clip(v * 1.2 - 0.2, 0, 1) * 0.85).astype(np.ubyte)
        rgba[..., 2] = (255 * np.clip(v * 2 - 1.4, 0, 1)).astype(np.ubyte)
        rgba[..., 3] = (220 * np.sqrt(v)).astype(np.ubyte)
        self.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.setRect(QRectF(xmin, ymin, w, h))


def _gauss(sigma: float) -> np.ndarray:
    r = int(3 * sigma)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return k / k.sum()


__all__ = ["CamerasLayer", "ComponentsLayer", "HeatLayer", "QImage", "UnitsLayer"]
