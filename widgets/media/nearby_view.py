"""The nearest camera to a case, playing, for the case detail (看得见: the officer opens a
case and sees the place). A small player on the camera's sub-stream when it has one; it
follows the case it is given and is released with the panel that holds it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget

from commandcenter.nearby_cameras import camera_label
from commandcenter.video_health import VideoHealth
from widgets.media.player import VideoPlayer


class NearbyCameraView(VideoPlayer):
    def __init__(self, parent: QWidget | None = None, health: VideoHealth | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("caseCameraView")
        self.setMinimumSize(QSize(200, 112))
        self.health = health

    def show_camera(self, camera_id: str, cam: Any | None, metres: float = 0.0) -> None:
        """Play ``cam`` (None: no camera near; the player says so)."""
        if cam is None:
            self.camera_id = ""
            self.stop()
            return
        self.camera_id = camera_id
        caption = camera_label(cam, camera_id) + (f" · {metres:.0f} m" if metres else "")
        self.set_source(
            cam.stream_url,
            caption=caption,
            online=bool(cam.online),
            sub_url=str(getattr(cam, "sub_stream_url", "") or ""),
            camera_id=camera_id,
        )

    def sizeHint(self) -> QSize:
        return QSize(320, 180)
