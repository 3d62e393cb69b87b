"""A local MJPEG camera for video tests: JPEG frames drawn with QImage, served as
``multipart/x-mixed-replace`` over HTTP on 127.0.0.1 (what cheap IP cameras serve and what
Qt's bundled FFmpeg backend plays), so no ffmpeg binary and no network are needed.

``MjpegCamera`` is an ASGI app; serve it with ``tests.support.ThreadedServer``. Paths:
``/cam/<name>`` streams forever at ``fps``; ``/stall/<name>`` sends ``stall_after`` frames
and then keeps the connection open with nothing more (a frozen camera).
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

BOUNDARY = b"frame"
PALETTE = ("#1f6feb", "#238636", "#8957e5", "#bf3989", "#d29922", "#1b7c83", "#6e7781")


def jpeg_frames(label: str, n: int = 20, size: tuple[int, int] = (320, 240)) -> list[bytes]:
    """``n`` JPEG frames showing ``label`` and a moving bar (call from the GUI thread)."""
    w, h = size
    base = QColor(PALETTE[sum(map(ord, label)) % len(PALETTE)])
    out = []
    for i in range(n):
        img = QImage(w, h, QImage.Format.Format_RGB32)
        img.fill(base.darker(100 + 4 * (i % 10)))
        p = QPainter(img)
        p.fillRect(QRect(int(i * (w - 40) / max(1, n - 1)), h - 30, 40, 20), QColor("#ffffff"))
        f = QFont("Noto Sans CJK SC")
        f.setPixelSize(h // 6)
        p.setFont(f)
        p.setPen(QColor("#ffffff"))
        p.drawText(QRect(0, 0, w, h - 30), Qt.AlignmentFlag.AlignCenter, f"{label}\n{i:02d}")
        p.end()
        ba = QByteArray()
        buf = QBuffer(ba)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        img.save(buf, "JPEG", 80)
        out.append(bytes(ba.data()))
    return out


class MjpegCamera:
    """ASGI app serving MJPEG streams; counts connections per path (reconnect tests)."""

    def __init__(
        self, labels: list[str], fps: float = 10.0, stall_after: int = 8, size=(320, 240)
    ) -> None:
        self.frames = {label: jpeg_frames(label, size=size) for label in labels}
        self.fps = fps
        self.stall_after = stall_after
        self.connections: dict[str, int] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        parts = scope["path"].strip("/").split("/")
        if len(parts) != 2 or parts[0] not in ("cam", "stall") or parts[1] not in self.frames:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"no such camera"})
            return
        self.connections[scope["path"]] = self.connections.get(scope["path"], 0) + 1
        frames = self.frames[parts[1]]
        ctype = b"multipart/x-mixed-replace; boundary=" + BOUNDARY
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", ctype)]}
        )
        i = 0
        try:
            while True:
                if parts[0] == "stall" and i >= self.stall_after:
                    await asyncio.sleep(0.5)  # connection open, no more pictures
                    continue
                f = frames[i % len(frames)]
                i += 1
                head = b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % (
                    BOUNDARY,
                    len(f),
                )
                await send(
                    {"type": "http.response.body", "body": head + f + b"\r\n", "more_body": True}
                )
                await asyncio.sleep(1.0 / self.fps)
        except (OSError, asyncio.CancelledError):
            return
