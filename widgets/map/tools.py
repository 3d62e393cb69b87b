"""Map tools: box and lasso selection, distance measurement.

Each tool is a small state machine over Mercator points fed by the canvas' mouse hooks;
it draws its own rubber band (a QGraphicsPathItem with a cosmetic pen) and reports a
result. Distances are great-circle metres (``geo.haversine_m``) of the points converted
back to lon/lat, never Mercator lengths (which are 27% long at Pingding's latitude).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsSimpleTextItem

from commandcenter import geo
from widgets import theme


def rubber_band() -> QGraphicsPathItem:
    item = QGraphicsPathItem()
    pen = QPen(QColor(theme.colors()["accent"]), 2.0, Qt.PenStyle.DashLine)
    pen.setCosmetic(True)
    item.setPen(pen)
    fill = QColor(theme.colors()["accent"])
    fill.setAlpha(40)
    item.setBrush(fill)
    item.setZValue(1000)
    return item


def box_polygon(a: QPointF, b: QPointF) -> np.ndarray:
    x0, x1 = sorted((a.x(), b.x()))
    y0, y1 = sorted((a.y(), b.y()))
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def mask_in_polygon(poly: np.ndarray):
    """A function (x, y) -> bool mask of points inside ``poly`` (Mercator)."""

    def fn(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return geo.points_in_polygon(x, y, [poly])

    return fn


class Measure:
    """Click to add points; the label shows the running great-circle length."""

    def __init__(self, to_lonlat) -> None:
        self.to_lonlat = to_lonlat
        self.points: list[QPointF] = []
        self.path = QGraphicsPathItem()
        pen = QPen(QColor("#ffd666"), 2.5)
        pen.setCosmetic(True)
        self.path.setPen(pen)
        self.path.setZValue(1000)
        self.label = QGraphicsSimpleTextItem()
        self.label.setBrush(QColor("#ffd666"))
        self.label.setFlag(self.label.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.label.setZValue(1001)
        f = self.label.font()
        f.setPointSizeF(13)
        f.setBold(True)
        self.label.setFont(f)

    def add(self, p: QPointF) -> float:
        self.points.append(QPointF(p))
        return self._redraw()

    def clear(self) -> None:
        self.points.clear()
        self._redraw()

    def length_m(self) -> float:
        if len(self.points) < 2:
            return 0.0
        x = np.array([q.x() for q in self.points])
        y = np.array([q.y() for q in self.points])
        lon, lat = self.to_lonlat(x, y)
        return geo.path_length_m(lon, lat)

    def _redraw(self) -> float:
        path = QPainterPath()
        if self.points:
            path.addPolygon(QPolygonF(self.points))
        self.path.setPath(path)
        d = self.length_m()
        if self.points:
            self.label.setText(f"{d / 1000:.2f} km" if d >= 1000 else f"{d:.0f} m")
            self.label.setPos(self.points[-1])
            self.label.setVisible(len(self.points) > 1)
        else:
            self.label.setVisible(False)
        return d


# ---- cameras: click or box-select them to put them on the video wall ------------------------


def camera_at(layer, transform, px: float, py: float, radius_px: float = 10.0) -> str:
    """The id of the camera drawn within ``radius_px`` of device pixel (px, py), or ""."""
    ids = getattr(layer, "ids", None)
    if not ids or not layer.isVisible():
        return ""
    dx = transform.m11() * layer.x + transform.dx() - px
    dy = transform.m22() * layer.y + transform.dy() - py
    d2 = dx * dx + dy * dy
    i = int(np.argmin(d2))
    return str(ids[i]) if d2[i] <= radius_px**2 else ""


def cameras_in(layer, poly: np.ndarray) -> list[str]:
    """Ids of the cameras inside a Mercator polygon (box or lasso), in id order."""
    ids = getattr(layer, "ids", None)
    if not ids or not layer.isVisible():
        return []
    inside = mask_in_polygon(poly)(np.asarray(layer.x), np.asarray(layer.y))
    return sorted(str(ids[i]) for i in np.flatnonzero(inside))
