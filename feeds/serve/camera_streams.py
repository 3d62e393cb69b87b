"""Live pictures for the demo county's cameras: MJPEG over HTTP, made only while watched.

Why generated MJPEG: a demo must play on any machine with no camera and no media server,
and ``multipart/x-mixed-replace`` JPEG is what cheap IP cameras serve and what the
console's player (Qt's FFmpeg backend) opens like any other URL. Each frame shows the
camera's name and id, the hall's time (the simulated county's clock, in the hall's time
zone) and some motion, so a frozen tile is obvious at a glance.

Cheap by construction: a camera costs nothing until a client opens its URL; the stream is
a generator that ends when the client goes away. Frames are small (main 640×360, sub
320×180), a few per second, drawn with Pillow on a worker thread (JPEG encoding releases
the GIL, so the feed loop and the console's repaints are not held up), and viewers of the
same camera and size share each frame.

Routes (added by ``feeds.serve.server.create_app``): ``GET /v1/cameras/{id}/main.mjpg`` and
``GET /v1/cameras/{id}/sub.mjpg``; 404 for an unknown camera, 503 for one the feed reports
offline. No token: like a camera on the hall's video network, the picture is served to
whoever can reach it (the server listens on loopback unless told otherwise).
"""

from __future__ import annotations

import asyncio
import glob
import io
import logging
import math
import time
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from commandcenter.hall_time import local

log = logging.getLogger(__name__)

SIZES: dict[str, tuple[int, int]] = {"main": (640, 360), "sub": (320, 180)}
BOUNDARY = b"ccframe"
PALETTE = ((31, 78, 121), (35, 94, 60), (92, 62, 130), (120, 50, 84), (128, 96, 30), (27, 96, 100))
_FONT_GLOBS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK*.ttc",
    "/usr/share/fonts/truetype/wqy/*.ttc",
    "/usr/share/fonts/**/*CJK*.tt[cf]",
)


def stream_paths(camera_id: str) -> tuple[str, str]:
    """The relative main and sub-stream URLs of a demo camera (the client resolves them
    against the feed's base URL)."""
    return f"/v1/cameras/{camera_id}/main.mjpg", f"/v1/cameras/{camera_id}/sub.mjpg"


_fonts: dict[int, Any] = {}
_font_file: list[str | None] = []


def _font(px: int) -> Any:
    """A CJK font at ``px`` pixels (camera names are Chinese); Pillow's own otherwise."""
    if px in _fonts:
        return _fonts[px]
    if not _font_file:
        found = None
        for pattern in _FONT_GLOBS:
            hits = sorted(glob.glob(pattern, recursive=True))
            if hits:
                found = hits[0]
                break
        _font_file.append(found)
        if found is None:
            log.warning("no CJK font found: demo camera names are drawn without Chinese glyphs")
    path = _font_file[0]
    try:
        font = ImageFont.truetype(path, px) if path else ImageFont.load_default(px)
    except OSError:
        font = ImageFont.load_default(px)
    _fonts[px] = font
    return font


@dataclass(slots=True)
class _Shared:
    tick: int
    jpeg: bytes


class DemoCameraStreams:
    """Draws and serves the demo cameras' pictures.

    ``cameras`` maps id -> record with ``name`` and ``online`` (the world's live dict);
    ``clock`` returns the county's time (epoch seconds). ``watching`` is the number of open
    streams and ``frames_made`` counts frames drawn: nothing is drawn while nobody watches.
    """

    def __init__(
        self,
        cameras: Mapping[str, Any],
        clock: Callable[[], float],
        fps: float = 6.0,
        quality: int = 70,
    ) -> None:
        self.cameras = cameras
        self.clock = clock
        self.fps = fps
        self.quality = quality
        self.watching = 0
        self.frames_made = 0
        self._bases: dict[tuple[str, str], Image.Image] = {}
        self._shared: dict[tuple[str, str], _Shared] = {}

    # ---- drawing ---------------------------------------------------------------------------

    def _base(self, cid: str, size: str) -> Image.Image:
        """The still part of a camera's picture (ground, name plate), drawn once."""
        key = (cid, size)
        img = self._bases.get(key)
        if img is not None:
            return img
        w, h = SIZES[size]
        colour = PALETTE[zlib.crc32(cid.encode()) % len(PALETTE)]
        img = Image.new("RGB", (w, h), colour)
        d = ImageDraw.Draw(img)
        horizon = int(h * 0.55)
        ground = tuple(max(0, c - 45) for c in colour)
        d.rectangle((0, horizon, w, h), fill=ground)
        for i in range(-4, 10):  # a road in perspective
            x = w // 2 + i * w // 8
            d.line((w // 2, horizon, x, h), fill=tuple(min(255, c + 35) for c in ground), width=1)
        cam = self.cameras.get(cid)
        name = str(getattr(cam, "name", "") or cid)
        f = _font(max(12, h // 12))
        d.rectangle((0, 0, w, h // 12 + 12), fill=(0, 0, 0))
        d.text((8, 4), name, font=f, fill=(255, 255, 255))
        small = _font(max(10, h // 18))
        d.text((8, h - h // 18 - 8), cid, font=small, fill=(230, 230, 230))
        self._bases[key] = img
        return img

    def render(self, cid: str, size: str, tick: int) -> bytes:
        """One JPEG frame of camera ``cid`` at ``size`` for frame number ``tick``."""
        base = self._base(cid, size)
        w, h = base.size
        img = base.copy()
        d = ImageDraw.Draw(img)
        # Motion: a "vehicle" crossing the road and a sweeping bar, both from the tick, so
        # two frames a second apart always differ.
        phase = (tick % int(self.fps * 8)) / (self.fps * 8)
        x = int(phase * (w + 80)) - 40
        y = int(h * 0.72 + math.sin(phase * 6.28) * h * 0.06)
        d.rectangle((x, y, x + w // 10, y + h // 14), fill=(235, 200, 40), outline=(0, 0, 0))
        bar = int((tick % self.fps) / self.fps * w)
        d.rectangle((bar, h - 4, bar + w // 12, h), fill=(255, 255, 255))
        stamp = local(self.clock()).strftime("%Y-%m-%d %H:%M:%S")
        f = _font(max(11, h // 16))
        tw = int(d.textlength(stamp, font=f))
        d.rectangle((w - tw - 16, h // 12 + 16, w, h // 12 + 22 + h // 16), fill=(0, 0, 0))
        d.text((w - tw - 8, h // 12 + 16), stamp, font=f, fill=(255, 255, 255))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=self.quality)
        self.frames_made += 1
        return out.getvalue()

    async def frame(self, cid: str, size: str, tick: int) -> bytes:
        """The frame for ``tick``, drawn once however many viewers ask (off the loop)."""
        key = (cid, size)
        shared = self._shared.get(key)
        if shared is not None and shared.tick == tick:
            return shared.jpeg
        jpeg = await asyncio.to_thread(self.render, cid, size, tick)
        self._shared[key] = _Shared(tick, jpeg)
        return jpeg

    # ---- serving ---------------------------------------------------------------------------

    def check(self, cid: str, size: str) -> tuple[int, str]:
        """(200, "") when the stream can be served, else the HTTP status and why."""
        if size not in SIZES:
            return 404, "streams are main.mjpg and sub.mjpg"
        cam = self.cameras.get(cid)
        if cam is None:
            return 404, f"no camera {cid}"
        if not getattr(cam, "online", True):
            return 503, f"camera {cid} is offline"
        return 200, ""

    async def stream(self, cid: str, size: str) -> AsyncIterator[bytes]:
        """The multipart body: one part per frame, until the client leaves or the camera
        goes offline (a real camera that loses power drops its stream)."""
        self.watching += 1
        period = 1.0 / self.fps
        try:
            while True:
                cam = self.cameras.get(cid)
                if cam is None or not getattr(cam, "online", True):
                    return
                tick = int(time.monotonic() * self.fps)
                jpeg = await self.frame(cid, size, tick)
                yield (
                    b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\n"
                    b"Content-Length: " + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n"
                )
                await asyncio.sleep(period - (time.monotonic() % period))
        finally:
            self.watching -= 1
            if not self.watching:
                self._shared.clear()  # nobody watches: keep no frames around

    @property
    def media_type(self) -> str:
        return "multipart/x-mixed-replace; boundary=" + BOUNDARY.decode()
