"""A raster cache for layers that do not change while the view pans.

Why: under software rendering the boundary layer (452 grid fills and outlines, township
lines, the antialiased county edge, names) cost ~17 ms of a ~37 ms frame at 100k markers,
and none of it changes when the map is dragged. So such a layer paints itself once into a
QImage a little larger than the view (``MARGIN`` pixels on every side), and every frame
after that is one blit with an offset (~1-2 ms). The image is redrawn when

- the scale changes (a zoom step: drawn at once, never stretched, so lines stay crisp),
- the layer's own key changes (choropleth classes, opacity, toggles, data version),
- a pan has gone past the margin (drawn at once: the next frame must be complete),
- a pan has settled with the image off-centre (``recentre``, called from the panel's
  quarter-second tick, redraws lazily so the next drag has its full margin again).

The owner passes ``render(painter)``: it draws exactly what its ``paint`` used to, with
``painter.transform()`` mapping Mercator metres to image pixels.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable

from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage, QPainter, QTransform

MARGIN = 256  # image pixels kept beyond each edge of the view
SETTLE_S = 0.3  # a pan is over when the view has not moved for this long


def _same_scale(a: QTransform, b: QTransform) -> bool:
    for u, v in ((a.m11(), b.m11()), (a.m12(), b.m12()), (a.m21(), b.m21()), (a.m22(), b.m22())):
        if not math.isclose(u, v, rel_tol=1e-7, abs_tol=1e-12):
            return False
    return True


class RasterCache:
    """One cached image of a layer at the current scale; see the module docstring."""

    def __init__(self, render: Callable[[QPainter], None], margin: int = MARGIN) -> None:
        self.render = render
        self.margin = margin
        self.image: QImage | None = None
        self._t = QTransform()
        self._key: Hashable = None
        self._size: tuple[int, int, float] = (0, 0, 1.0)
        self.offset = (0, 0)
        self.moved_at = 0.0
        self.renders = 0  # tests and the bench read these
        self.blits = 0

    def invalidate(self) -> None:
        """Drop the image; the next paint redraws it."""
        self.image = None

    def paint(self, p: QPainter, key: Hashable) -> None:
        """Draw the layer through the cache. ``key`` is everything besides the view that
        the picture depends on; a different key redraws."""
        t = p.transform()
        dev = p.device()
        if dev is None:
            self.render(p)
            return
        w, h = int(dev.width()), int(dev.height())
        dpr = float(dev.devicePixelRatioF()) if hasattr(dev, "devicePixelRatioF") else 1.0
        m = self.margin
        if (
            self.image is None
            or key != self._key
            or (w, h, dpr) != self._size
            or not _same_scale(t, self._t)
        ):
            self._draw(t, w, h, dpr, key)
        ox = round(t.dx() - self._t.dx())
        oy = round(t.dy() - self._t.dy())
        if abs(ox) > m or abs(oy) > m:
            self._draw(t, w, h, dpr, key)
            ox = oy = 0
        if (ox, oy) != self.offset:
            self.offset = (ox, oy)
            self.moved_at = time.monotonic()
        assert self.image is not None
        p.save()
        p.resetTransform()
        p.drawImage(QPoint(ox - m, oy - m), self.image)
        p.restore()
        self.blits += 1

    def recentre(self, now: float | None = None) -> bool:
        """After a pan has settled off-centre, drop the image so that the next paint
        redraws it centred. True when the owner should ``update()``."""
        if self.image is None or self.offset == (0, 0):
            return False
        now = time.monotonic() if now is None else now
        if now - self.moved_at < SETTLE_S:
            return False
        self.image = None
        return True

    def _draw(self, t: QTransform, w: int, h: int, dpr: float, key: Hashable) -> None:
        m = self.margin
        img = QImage(
            int((w + 2 * m) * dpr),
            int((h + 2 * m) * dpr),
            QImage.Format.Format_ARGB32_Premultiplied,
        )
        img.setDevicePixelRatio(dpr)
        img.fill(0)
        q = QPainter(img)
        q.setTransform(t * QTransform.fromTranslate(m, m))
        self.render(q)
        q.end()
        self.image = img
        self._t = QTransform(t)
        self._key = key
        self._size = (w, h, dpr)
        self.offset = (0, 0)
        self.renders += 1
