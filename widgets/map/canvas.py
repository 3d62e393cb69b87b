"""The map canvas: a pyqtgraph ViewBox in Web Mercator metres, north up, aspect locked.

Why pyqtgraph rather than QtLocation's QML Map: measured here (docs/map.md, QT_NOTES 6),
QML map items cost ~400 ms per pan frame at 10k circles under software rendering, while
a ViewBox with custom items that paint in device space draws 100k markers in ~20 ms.

The canvas knows nothing of cases or tiles: it provides the plane (Mercator metres, y up),
the resolution (``metres_per_pixel``), fly-to, keyboard pan/zoom, the tools' mouse hooks
(box, lasso, measure; see tools.py) and a foreground overlay with the scale bar and the
north arrow. Layers are QGraphicsItems added with ``add_layer``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QWidget

from commandcenter import geo
from widgets import theme

WORLD = geo.MERCATOR_HALF


class MapViewBox(pg.ViewBox):
    """A ViewBox whose left button belongs to the active tool when one is chosen."""

    clicked = Signal(object, object)  # (QPointF in Mercator metres, Qt.KeyboardModifiers)
    doubleClicked = Signal(object)
    dragged = Signal(object, object, bool)  # (start, current, finished) in Mercator metres

    def __init__(self) -> None:
        super().__init__(lockAspect=True, enableMenu=False, invertY=False)
        self.tool = "pan"
        self.setLimits(xMin=-WORLD, xMax=WORLD, yMin=-WORLD, yMax=WORLD, minXRange=50, minYRange=50)

    def mouseClickEvent(self, ev) -> None:  # type: ignore[override]
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            if ev.double():
                self.doubleClicked.emit(p)
            else:
                self.clicked.emit(p, ev.modifiers())
            return
        super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # type: ignore[override]
        if self.tool in ("box", "lasso") and ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            start = self.mapSceneToView(ev.buttonDownScenePos())
            cur = self.mapSceneToView(ev.scenePos())
            self.dragged.emit(start, cur, bool(ev.isFinish()))
            return
        super().mouseDragEvent(ev, axis)


class Overlay(QWidget):
    """Scale bar (ground metres at the view's centre latitude) and north arrow, painted
    over the view. Transparent to the mouse; part of the widget, so grabs include it."""

    def __init__(self, canvas: MapCanvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.extra: list[Callable[[QPainter, QRectF], None]] = []

    def paintEvent(self, _ev) -> None:  # type: ignore[override]
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._scale_bar(p)
        self._north_arrow(p)
        for draw in self.extra:
            draw(p, QRectF(self.rect()))
        p.end()

    def _scale_bar(self, p: QPainter) -> None:
        mpp = self.canvas.ground_metres_per_pixel()
        if not math.isfinite(mpp) or mpp <= 0:
            return
        target_px = 160.0
        raw = mpp * target_px
        mag = 10 ** math.floor(math.log10(raw))
        nice = max(m * mag for m in (1, 2, 5) if m * mag <= raw) if raw >= mag else mag
        px = nice / mpp
        label = f"{nice / 1000:g} km" if nice >= 1000 else f"{nice:g} m"
        x0 = 16.0
        y0 = self.height() - 22.0
        fm = QFont(self.font())
        fm.setPointSizeF(max(11.0, fm.pointSizeF()))
        fm.setBold(True)
        p.setFont(fm)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(7, 11, 20, 190))
        p.drawRoundedRect(QRectF(x0 - 8, y0 - 30, px + 16 + 80, 44), 4, 4)
        pen = QPen(QColor(theme.colors()["text_strong"]), 3)
        p.setPen(pen)
        p.drawLine(QPointF(x0, y0), QPointF(x0 + px, y0))
        p.drawLine(QPointF(x0, y0 - 7), QPointF(x0, y0))
        p.drawLine(QPointF(x0 + px, y0 - 7), QPointF(x0 + px, y0))
        p.drawText(QPointF(x0, y0 - 10), label)

    def _north_arrow(self, p: QPainter) -> None:
        cx = self.width() - 36.0
        cy = 44.0
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(7, 11, 20, 190))
        p.drawEllipse(QPointF(cx, cy), 24, 24)
        tri = QPolygonF([QPointF(cx, cy - 18), QPointF(cx - 9, cy + 8), QPointF(cx, cy + 2)])
        p.setBrush(QColor(theme.colors()["red"]))
        p.drawPolygon(tri)
        tri2 = QPolygonF([QPointF(cx, cy - 18), QPointF(cx + 9, cy + 8), QPointF(cx, cy + 2)])
        p.setBrush(QColor(theme.colors()["text_strong"]))
        p.drawPolygon(tri2)
        f = QFont(self.font())
        f.setBold(True)
        f.setPointSizeF(10)
        p.setFont(f)
        p.setPen(QColor(theme.colors()["text_strong"]))
        p.drawText(QRectF(cx - 12, cy + 4, 24, 18), Qt.AlignmentFlag.AlignCenter, "N")


class MapCanvas(pg.GraphicsView):
    """The view. Coordinates are Mercator metres (EPSG:3857) of the display CRS."""

    viewChanged = Signal()  # range changed (coalesced by Qt's paint; cheap listeners only)
    escape = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=theme.colors()["bg"])
        self.vb = MapViewBox()
        self.setCentralItem(self.vb)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAntialiasing(False)
        self.overlay = Overlay(self)
        self.overlay.setGeometry(self.rect())
        self.vb.sigRangeChanged.connect(self._range_changed)
        self._home: tuple[float, float, float, float] | None = None
        self._fly: QTimer | None = None
        self._fly_from: tuple[float, float, float, float] | None = None
        self._fly_to: tuple[float, float, float, float] | None = None
        self._fly_t = 0.0
        self.vb.setRange(xRange=(-WORLD, WORLD), yRange=(-WORLD, WORLD), padding=0)

    # ---- layers ------------------------------------------------------------------------

    def add_layer(self, item: QGraphicsItem, z: float) -> None:
        item.setZValue(z)
        self.vb.addItem(item, ignoreBounds=True)

    def remove_layer(self, item: QGraphicsItem) -> None:
        self.vb.removeItem(item)

    # ---- geometry ----------------------------------------------------------------------

    def view_rect(self) -> QRectF:
        return self.vb.viewRect()

    def metres_per_pixel(self) -> float:
        """Mercator metres per device pixel (what layers use to size things on screen)."""
        w = max(1.0, float(self.vb.width()))
        return float(self.vb.viewRect().width()) / w

    def ground_metres_per_pixel(self) -> float:
        """True ground metres per pixel at the view's centre latitude (for the scale bar)."""
        c = self.vb.viewRect().center()
        _, lat = geo.mercator_to_lonlat(c.x(), c.y())
        return self.metres_per_pixel() * math.cos(math.radians(float(lat)))

    def zoom(self) -> float:
        """Fractional web-map zoom level of the view (256-px tiles)."""
        return geo.zoom_for_resolution(self.metres_per_pixel())

    def set_home(self, box: tuple[float, float, float, float]) -> None:
        """The Mercator box that Home (and the first view) shows: the whole county."""
        self._home = box

    def home(self, animate: bool = False) -> None:
        if self._home is not None:
            self.fly_to_box(self._home, animate=animate, padding=0.04)

    def fly_to_box(
        self, box: tuple[float, float, float, float], animate: bool = True, padding: float = 0.1
    ) -> None:
        """Show a Mercator box (xmin, ymin, xmax, ymax), animating ~300 ms when asked."""
        xmin, ymin, xmax, ymax = box
        w = max(xmax - xmin, 200.0)
        h = max(ymax - ymin, 200.0)
        cx = (xmin + xmax) / 2
        cy = (ymin + ymax) / 2
        target = (
            cx - w * (0.5 + padding),
            cy - h * (0.5 + padding),
            cx + w * (0.5 + padding),
            cy + h * (0.5 + padding),
        )
        if not animate or not self.isVisible():
            self._stop_fly()
            self.vb.setRange(
                xRange=(target[0], target[2]), yRange=(target[1], target[3]), padding=0
            )
            return
        r = self.vb.viewRect()
        self._fly_from = (r.left(), r.top(), r.right(), r.bottom())
        self._fly_to = target
        self._fly_t = 0.0
        if self._fly is None:
            self._fly = QTimer(self)
            self._fly.setInterval(30)
            self._fly.timeout.connect(self._fly_step)
        self._fly.start()

    def fly_to_point(
        self, x: float, y: float, span_m: float = 1500.0, animate: bool = True
    ) -> None:
        box = (x - span_m / 2, y - span_m / 2, x + span_m / 2, y + span_m / 2)
        self.fly_to_box(box, animate=animate, padding=0)

    def _fly_step(self) -> None:
        assert self._fly_from is not None and self._fly_to is not None
        self._fly_t = min(1.0, self._fly_t + 0.1)
        t = 1 - (1 - self._fly_t) ** 3  # ease out
        a, b = self._fly_from, self._fly_to
        box = [a[i] + (b[i] - a[i]) * t for i in range(4)]
        self.vb.setRange(xRange=(box[0], box[2]), yRange=(box[1], box[3]), padding=0)
        if self._fly_t >= 1.0:
            self._stop_fly()

    def _stop_fly(self) -> None:
        if self._fly is not None:
            self._fly.stop()

    def stop(self) -> None:
        """Stop the fly-to timer (panel teardown)."""
        self._stop_fly()

    def pan_by(self, fx: float, fy: float) -> None:
        r = self.vb.viewRect()
        self.vb.translateBy(x=r.width() * fx, y=r.height() * fy)

    def zoom_by(self, factor: float) -> None:
        """factor < 1 zooms in."""
        self.vb.scaleBy((factor, factor))

    def to_device(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mercator -> widget pixel coordinates (vectorised)."""
        t = self.vb.childGroup.sceneTransform() * self.viewportTransform()
        return (
            t.m11() * x + t.m21() * y + t.dx(),
            t.m12() * x + t.m22() * y + t.dy(),
        )

    def to_map(self, px: float, py: float) -> QPointF:
        scene = self.mapToScene(int(px), int(py))
        return self.vb.mapSceneToView(scene)

    # ---- events ------------------------------------------------------------------------

    def _range_changed(self, *_: object) -> None:
        self.overlay.update()
        self.viewChanged.emit()

    def resizeEvent(self, ev) -> None:  # type: ignore[override]
        super().resizeEvent(ev)
        overlay = getattr(self, "overlay", None)
        if overlay is not None:
            overlay.setGeometry(self.rect())

    def keyPressEvent(self, ev: QKeyEvent) -> None:  # type: ignore[override]
        k = ev.key()
        K = Qt.Key
        if k == K.Key_Left:
            self.pan_by(-0.2, 0)
        elif k == K.Key_Right:
            self.pan_by(0.2, 0)
        elif k == K.Key_Up:
            self.pan_by(0, 0.2)
        elif k == K.Key_Down:
            self.pan_by(0, -0.2)
        elif k in (K.Key_Plus, K.Key_Equal):
            self.zoom_by(0.5)
        elif k in (K.Key_Minus, K.Key_Underscore):
            self.zoom_by(2.0)
        elif k == K.Key_Home:
            self.home(animate=True)
        elif k == K.Key_Escape:
            self.escape.emit()
        else:
            super().keyPressEvent(ev)
            return
        ev.accept()


def ring_path(ring: np.ndarray) -> QPainterPath:
    """A closed QPainterPath of an (n, 2) ring (Mercator metres)."""
    path = QPainterPath()
    poly = QPolygonF([QPointF(float(a), float(b)) for a, b in ring])
    path.addPolygon(poly)
    path.closeSubpath()
    return path


class Projection:
    """Data lon/lat (in ``data_crs``) -> Mercator metres of the display CRS, and back.

    The display CRS is the base map's (tiles cannot be re-projected cheaply; points can),
    or the data's own when there is no base map. Conversion happens here only, once per
    point when it enters the map, so a datum mistake has exactly one place to hide."""

    def __init__(self, data_crs: str = geo.CRS_GCJ02, display_crs: str | None = None) -> None:
        self.data_crs = geo.normalize_crs(data_crs)
        self.display_crs = geo.normalize_crs(display_crs or data_crs)

    @property
    def converts(self) -> bool:
        return self.data_crs != self.display_crs

    def xy(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        if self.converts:
            lon, lat = geo.convert(lon, lat, self.data_crs, self.display_crs)
        return geo.lonlat_to_mercator(lon, lat)

    def lonlat(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Mercator of the display -> lon/lat in the data's CRS (what search and the
        case records use)."""
        lon, lat = geo.mercator_to_lonlat(x, y)
        if self.converts:
            lon, lat = geo.convert(lon, lat, self.display_crs, self.data_crs)
        return lon, lat
