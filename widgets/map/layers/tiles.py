"""The base map: raster tiles from the fetcher, drawn in Mercator metres.

Zoom choice: the integer zoom whose tiles are closest to one tile pixel per screen pixel,
clamped to the source's range; beyond its maximum zoom, the deepest tiles are stretched
(overzoom) rather than leaving the map blank. While a tile loads, any ancestor already in
memory is drawn in its place, so panning never flashes to black.
"""

from __future__ import annotations

from collections import OrderedDict

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter

from commandcenter import geo
from widgets.map.tilefetch import TileFetcher

MEMORY_TILES = 600


class TileLayer(pg.GraphicsObject):
    def __init__(self, fetcher: TileFetcher, min_zoom: int = 0, max_zoom: int = 19) -> None:
        super().__init__()
        self.fetcher = fetcher
        self.min_zoom = min_zoom
        self.max_zoom = max_zoom
        self.images: OrderedDict[tuple[int, int, int], QImage | None] = OrderedDict()
        self.requested = 0
        self.drawn = 0
        fetcher.loaded.connect(self._loaded)

    def boundingRect(self) -> QRectF:  # type: ignore[override]
        w = geo.MERCATOR_HALF
        return QRectF(-w, -w, 2 * w, 2 * w)

    def _loaded(self, key: tuple[int, int, int], data: bytes | None) -> None:
        img = QImage.fromData(data) if data else None
        if img is not None and img.isNull():
            img = None
        self.images[key] = img
        self.images.move_to_end(key)
        while len(self.images) > MEMORY_TILES:
            self.images.popitem(last=False)
        self.update()

    def zoom_for(self, mpp: float) -> int:
        z = round(geo.zoom_for_resolution(mpp) + 0.2)
        return int(min(max(z, self.min_zoom), self.max_zoom))

    def paint(self, p: QPainter, *_args) -> None:  # type: ignore[override]
        t = p.transform()
        mpp = 1.0 / max(abs(t.m11()), 1e-12)
        z = self.zoom_for(mpp)
        inv, ok = p.transform().inverted()
        if not ok:
            return
        view = inv.mapRect(QRectF(p.viewport()))
        x0, x1, y0, y1 = geo.tiles_covering(view.left(), view.top(), view.right(), view.bottom(), z)
        if (x1 - x0 + 1) * (y1 - y0 + 1) > 400:
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.drawn = 0
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                key = (z, x, y)
                if key in self.images:
                    img = self.images[key]
                    if img is not None:
                        self._draw(p, img, z, x, y, None)
                    continue
                if self.fetcher.request(z, x, y):
                    self.requested += 1
                self._draw_ancestor(p, z, x, y)

    def _draw_ancestor(self, p: QPainter, z: int, x: int, y: int) -> None:
        for dz in range(1, 6):
            pz = z - dz
            if pz < 0:
                return
            key = (pz, x >> dz, y >> dz)
            img = self.images.get(key)
            if img is not None:
                n = 1 << dz
                size = img.width() / n
                sx = (x - (key[1] << dz)) * size
                sy = (y - (key[2] << dz)) * size
                self._draw(p, img, z, x, y, QRectF(sx, sy, size, size))
                return

    def _draw(self, p: QPainter, img: QImage, z: int, x: int, y: int, src: QRectF | None) -> None:
        xmin, ymin, xmax, ymax = geo.tile_bounds_mercator(x, y, z)
        # The image's rows run north to south while Mercator y runs up: flip per tile.
        p.save()
        p.translate(xmin, ymax)
        p.scale((xmax - xmin) / 256.0, -(ymax - ymin) / 256.0)
        target = QRectF(0, 0, 256, 256)
        p.drawImage(target, img, src if src is not None else QRectF(img.rect()))
        p.restore()
        self.drawn += 1
