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
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF

from commandcenter import geo
from commandcenter.store import Store
from widgets import theme
from widgets.map.canvas import Projection
from widgets.map.layers.points import PointLayer, Sprite

TRACK_LEN = 40  # positions kept per unit (at 8 s a fix, about five minutes of trail)

UNIT_STATUS_COLOURS = {
    "available": "#52c41a",
    "dispatched": "#faad14",
    "en_route": "#faad14",
    "on_site": "#fa8c16",
    "busy": "#fa8c16",
    "patrol": "#36cfc9",
    "offline": "#8c8c8c",
    "off_duty": "#595959",
}


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

    def paint(self, p: QPainter, *_args) -> None:  # type: ignore[override]
        t = p.transform()
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
            # heading glyph: an arrowhead pointing the way the unit moves (north-up map)
            a = math.radians(tr.heading)
            s = 11.0 if tr.kind != "vehicle" else 13.0

            def pt(dx: float, dy: float, a: float = a, head: QPointF = head) -> QPointF:
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
        p.restore()


class CamerasLayer(pg.GraphicsObject):
    """Cameras as dots; zoomed in, a wedge of their field of view (a circle for domes)."""

    WEDGE_BELOW_MPP = 12.0

    def __init__(self, store: Store, projection: Projection) -> None:
        super().__init__()
        self.store = store
        self.projection = projection
        self.ids: list[str] = []
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.scale = np.zeros(0)  # Mercator metres per ground metre at each camera

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
        self.update()

    def paint(self, p: QPainter, *_args) -> None:  # type: ignore[override]
        if not self.ids:
            return
        t = p.transform()
        mpp = 1.0 / max(abs(t.m11()), 1e-12)
        px = t.m11() * self.x + t.m21() * self.y + t.dx()
        py = t.m12() * self.x + t.m22() * self.y + t.dy()
        vp = QRectF(p.viewport())
        keep = np.flatnonzero(
            (px > -300) & (px < vp.width() + 300) & (py > -300) & (py < vp.height() + 300)
        )
        cams = self.store.cameras
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        on = QColor("#36cfc9")
        off = QColor(theme.colors()["grey"])
        wedges = mpp < self.WEDGE_BELOW_MPP
        for i in keep.tolist():
            cam = cams.get(self.ids[i])
            if cam is None:
                continue
            online = bool(getattr(cam, "online", True))
            col = on if online else off
            c = QPointF(px[i], py[i])
            if wedges and cam.range_m > 0:
                r = cam.range_m * self.scale[i] / mpp
                fill = QColor(col)
                fill.setAlpha(55 if online else 30)
                edge = QColor(col)
                edge.setAlpha(170)
                p.setPen(QPen(edge, 1.2))
                p.setBrush(fill)
                if cam.fov <= 0 or cam.fov >= 360:
                    p.drawEllipse(c, r, r)
                else:
                    path = QPainterPath(c)
                    start = 90.0 - cam.direction - cam.fov / 2.0
                    path.arcTo(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r), start, cam.fov)
                    path.closeSubpath()
                    p.drawPath(path)
            p.setPen(QPen(QColor("#05070c"), 1.5))
            p.setBrush(col)
            s = 4.5 if wedges else 3.0
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
    """The urban components (~74k), static; shown only when zoomed in (below
    ``SHOW_BELOW_MPP``), where they are individually meaningful."""

    SHOW_BELOW_MPP = 4.0

    def __init__(self) -> None:
        super().__init__([Sprite(c, 4.0, "#05070c", 0.8, "square") for c in COMPONENT_COLOURS])

    def paint(self, p: QPainter, *args) -> None:  # type: ignore[override]
        mpp = 1.0 / max(abs(p.transform().m11()), 1e-12)
        if mpp > self.SHOW_BELOW_MPP:
            self.drawn = 0
            return
        super().paint(p, *args)


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
