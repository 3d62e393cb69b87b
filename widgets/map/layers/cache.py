"""A raster cache for layers that do not change while the view pans or zooms.

Why: under software rendering the boundary layer (452 grid fills and outlines, township
lines, the antialiased county edge) costs ~17 ms and 100k case markers ~30 ms, and none
of it changes when the map is dragged or zoomed. So such a layer paints itself once into
a QImage a little larger than the view (``MARGIN`` pixels on every side), and every frame
after that is one blit (~1-3 ms):

- a pan within the margin blits the image with an offset;
- a zoom step blits the image *scaled* (nearest pixel: a frame in motion need not be
  crisp, it must be on time) and marks it stale; where the scaled image no longer covers
  the view (zooming out, or a pan past the margin), the *overview* (the layer's whole
  extent, drawn once per key at a coarser scale) fills the rest, so no frame has holes;
- once the view has been still for ``SETTLE_S`` the image is redrawn at the exact scale
  (crisp lines, sprites and names again) and the owner is asked to repaint;
- the layer's own key (choropleth classes, toggles, data version) changing redraws at once.

Why not redraw in a worker thread: measured here (PySide6 6.12), ``QPainter.drawPath`` and
friends keep the GIL while they run, so a QImage painted on a Python thread stalls the GUI
thread just as long (a 1.3 s gap while a 3.6 s paint ran on a worker). Deferring the exact
redraw to the end of the gesture is what keeps each frame short; docs/map.md has the
numbers and the tiled alternative that was measured and rejected.

The owner passes ``render(painter)``: it draws exactly what its ``paint`` used to, with
``painter.transform()`` mapping Mercator metres to image pixels.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable

from PySide6.QtCore import QPoint, QRect, QRectF, QTimer
from PySide6.QtGui import QImage, QPainter, QRegion, QTransform

MARGIN = 256  # image pixels kept beyond each edge of the view
SETTLE_S = 0.3  # a gesture is over when the view has not moved for this long
OVERVIEW_PX = 2048  # longest side of the overview image


def _same_scale(a: QTransform, b: QTransform) -> bool:
    for u, v in ((a.m11(), b.m11()), (a.m12(), b.m12()), (a.m21(), b.m21()), (a.m22(), b.m22())):
        if not math.isclose(u, v, rel_tol=1e-7, abs_tol=1e-12):
            return False
    return True


class RasterCache:
    """One cached image of a layer at one scale, plus an overview; see the module
    docstring. ``extent()`` gives the layer's Mercator box (xmin, ymin, xmax, ymax) for
    the overview, or None (then a zoom that uncovers the view redraws at once);
    ``on_settle()`` is called when a stale image should be redrawn (the item's update)."""

    def __init__(
        self,
        render: Callable[[QPainter], None],
        margin: int = MARGIN,
        extent: Callable[[], tuple[float, float, float, float] | None] | None = None,
        on_settle: Callable[[], None] | None = None,
    ) -> None:
        self.render = render
        self.margin = margin
        self.extent = extent
        self.on_settle = on_settle
        self.image: QImage | None = None
        self._t = QTransform()  # Mercator -> image pixels of ``image`` (margin included)
        self._key: Hashable = None
        self._size: tuple[int, int, float] = (0, 0, 1.0)
        self.overview: QImage | None = None
        self._ot = QTransform()
        self._okey: Hashable = None
        self.offset = (0, 0)
        self.moved_at = 0.0
        self.stale = False  # the last paint was scaled or patched from the overview
        self._timer: QTimer | None = None
        self.drawing_overview = False  # renders may tell the overview from the image
        self._refresh_overview = True  # first draw, and the first after each gesture
        self.renders = 0  # tests and the bench read these
        self.blits = 0
        self.scaled = 0

    def invalidate(self) -> None:
        """Drop the image; the next paint redraws it."""
        self.image = None

    def release(self) -> None:
        """The layer is not shown (hidden, or at a scale where it draws nothing): let go
        of the image and the overview (~15 MB each at 1080p); the next paint redraws."""
        self.image = None
        self.overview = None
        self._okey = None
        self.stale = False
        self._refresh_overview = True
        self.stop()

    @property
    def holds(self) -> int:
        """Bytes of the images held (the bench's memory rows)."""
        return sum(i.sizeInBytes() for i in (self.image, self.overview) if i is not None)

    def image_transform(self) -> QTransform:
        """Mercator -> pixels of the current image (for owners that patch it)."""
        return QTransform(self._t)

    def valid_for(self, t: QTransform) -> bool:
        """True when the image is at the scale of ``t`` (patches may be drawn into it)."""
        return self.image is not None and not self.stale and _same_scale(t, self._t)

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
        if self.image is None or key != self._key or (w, h, dpr) != self._size:
            self._draw(t, w, h, dpr, key)
        if _same_scale(t, self._t):
            ox = round(t.dx() - (self._t.dx() - m))
            oy = round(t.dy() - (self._t.dy() - m))
            if abs(ox) <= m and abs(oy) <= m:
                if (ox, oy) != self.offset:
                    self.offset = (ox, oy)
                    self.moved_at = time.monotonic()
                assert self.image is not None
                p.save()
                p.resetTransform()
                p.drawImage(QPoint(ox - m, oy - m), self.image)
                p.restore()
                self.blits += 1
                return
        if not self._paint_scaled(p, t, w, h, key):
            self._draw(t, w, h, dpr, key)
            self.paint(p, key)
            return
        self.moved_at = time.monotonic()
        self.stale = True
        self.scaled += 1
        self._arm()

    def _paint_scaled(self, p: QPainter, t: QTransform, w: int, h: int, key: Hashable) -> bool:
        """The image (and where it falls short, the overview) mapped through ``t``.
        False when together they do not cover the view."""
        assert self.image is not None
        dpr = self.image.devicePixelRatio()
        view = QRect(0, 0, w, h)
        inv, ok = self._t.inverted()
        if not ok:
            return False
        to_dev = inv * t  # image pixels -> device pixels
        img_rect = to_dev.mapRect(QRectF(0, 0, self.image.width() / dpr, self.image.height() / dpr))
        covered = img_rect.toAlignedRect()
        need_overview = not covered.contains(view)
        if need_overview:
            if self.overview is None:  # may be of an older key: only the uncovered rim
                return False
            oinv, ok = self._ot.inverted()
            if not ok:
                return False
            o_dev = oinv * t
            orect = o_dev.mapRect(QRectF(0, 0, self.overview.width(), self.overview.height()))
            if not orect.toAlignedRect().adjusted(-2, -2, 2, 2).contains(view):
                return False
        p.save()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        if need_overview:
            assert self.overview is not None
            p.resetTransform()  # the clip is in device pixels
            p.setClipRegion(QRegion(view).subtracted(QRegion(covered.adjusted(1, 1, -1, -1))))
            p.setTransform(oinv * t)
            p.drawImage(QPoint(0, 0), self.overview)
            p.setClipping(False)
        p.setTransform(to_dev)
        p.drawImage(QPoint(0, 0), self.image)
        p.restore()
        return True

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = QTimer()
            self._timer.setSingleShot(True)
            self._timer.timeout.connect(self._settle_check)
        if not self._timer.isActive():
            self._timer.start(int(SETTLE_S * 1000))

    def _settle_check(self) -> None:
        if not self.stale:
            return
        left = SETTLE_S - (time.monotonic() - self.moved_at)
        if left > 0.01:
            assert self._timer is not None
            self._timer.start(int(left * 1000) + 1)
            return
        self.settle()

    def settle(self) -> None:
        """The gesture is over: drop the stale image so the next paint is exact."""
        if self.stale:
            self.image = None
            self.stale = False
            self._refresh_overview = True
            if self.on_settle is not None:
                self.on_settle()

    def stop(self) -> None:
        """Stop the settle timer (teardown)."""
        if self._timer is not None:
            self._timer.stop()

    def recentre(self, now: float | None = None) -> bool:
        """After a pan has settled off-centre, drop the image so that the next paint
        redraws it centred. True when the owner should ``update()``."""
        if self.image is None or (self.offset == (0, 0) and not self.stale):
            return False
        now = time.monotonic() if now is None else now
        if now - self.moved_at < SETTLE_S:
            return False
        self.image = None
        self.stale = False
        self._refresh_overview = True
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
        it = t * QTransform.fromTranslate(m, m)
        q = QPainter(img)
        q.setTransform(it)
        self.render(q)
        q.end()
        self.image = img
        self._t = it
        self._key = key
        self._size = (w, h, dpr)
        self.offset = (0, 0)
        self.stale = False
        self.renders += 1
        if self._refresh_overview and self.extent is not None:
            # not on every key change (the choropleth changes every few seconds): only
            # after a gesture, when the next one is likely to need it
            self._refresh_overview = False
            if self._okey != key or self.overview is None:
                self._draw_overview(key)

    def _draw_overview(self, key: Hashable) -> None:
        box = self.extent() if self.extent is not None else None
        self._okey = key
        self.overview = None
        if box is None:
            return
        xmin, ymin, xmax, ymax = box
        bw, bh = xmax - xmin, ymax - ymin
        if not (bw > 0 and bh > 0 and math.isfinite(bw) and math.isfinite(bh)):
            return
        # pad by a third each side: a zoom-out well past the county still has a picture
        pad = 0.35 * max(bw, bh)
        xmin, ymin, xmax, ymax = xmin - pad, ymin - pad, xmax + pad, ymax + pad
        s = OVERVIEW_PX / max(xmax - xmin, ymax - ymin)
        wpx = max(1, math.ceil((xmax - xmin) * s))
        hpx = max(1, math.ceil((ymax - ymin) * s))
        img = QImage(wpx, hpx, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(0)
        # north up: Mercator y grows up, image rows grow down
        ot = QTransform(s, 0, 0, -s, -xmin * s, ymax * s)
        q = QPainter(img)
        q.setTransform(ot)
        self.drawing_overview = True
        try:
            self.render(q)
        finally:
            self.drawing_overview = False
        q.end()
        self.overview = img
        self._ot = ot
