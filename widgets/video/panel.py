"""The ``video`` panel: one camera, large — the selected camera, or the one nearest the
selected case (看得见: the officer selects an incident and sees it).

Follows the shared selection: an id that names a camera plays that camera; a case plays
the nearest online camera to it. A fixed ``camera_id`` setting pins a camera instead
(a wall panel that always shows the square). The camera's online flag from the feed
(``camera.status``) switches the player to its offline state without dialling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QDateTime, QStandardPaths
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from commandcenter.nearby_cameras import camera_label, nearest_cameras
from commandcenter.selection import Selection
from commandcenter.store import ChangeSet
from widgets.base import Panel, PanelContext, Setting
from widgets.i18n import is_chinese, zh_en
from widgets.media.player import VideoPlayer
from widgets.registry import register


@register
class VideoPanel(Panel):
    name = "video"
    title_zh = "视频"
    title_en = "Video"
    icon = "◉"
    description_zh = "选中事件或摄像头的实时画面：断流、离线一眼可见，可截图"
    description_en = (
        "Live picture of the selected camera or the camera nearest the selected case; "
        "stalls and outages are impossible to miss; snapshot to PNG"
    )
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "camera_id": Setting(
            "str", "", "固定摄像头编号（空为跟随选择）", "Fixed camera id (empty: follow)"
        ),
        "follow_selection": Setting("bool", True, "跟随选中的事件", "Follow the selection"),
        "stall_s": Setting(
            "float", 5.0, "无画面多少秒算中断", "Stalled after (s)", minimum=1, maximum=120
        ),
        "snapshot_dir": Setting(
            "str", "", "截图目录（空为图片目录）", "Snapshot folder (empty: Pictures)"
        ),
    }

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.camera_id = ""
        self.player = VideoPlayer(self.body, stall_after_s=float(self.settings["stall_s"]))
        self.player.health = ctx.status.video
        self.info = QLabel(self.body)
        self.info.setObjectName("videoInfo")
        self.snap_button = QPushButton(self.body)
        self.snap_button.setObjectName("videoSnapshot")
        self.snap_button.clicked.connect(self.snapshot_to_file)
        row = QHBoxLayout()
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(self.info, 1)
        row.addWidget(self.snap_button)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.player, 1)
        layout.addLayout(row)
        self.listen(ctx.bridge.changed, self._on_changes)
        self.hold(ctx.selection.subscribe(self._on_selection))
        self.retranslate()
        self.apply_settings()

    # ---- choosing the camera -----------------------------------------------------------

    def apply_settings(self) -> None:
        self.player.stall_after_s = float(self.settings["stall_s"])
        fixed = str(self.settings["camera_id"]).strip()
        if fixed:
            self.show_camera(fixed)
        elif self.settings["follow_selection"]:
            self._on_selection(self.ctx.selection)

    def camera_for_selection(self, selection: Selection) -> str:
        """The camera a selection asks for: a camera id itself, else the nearest online
        camera to the first selected case that has a position."""
        cameras = self.ctx.store.cameras
        for sid in selection.case_ids:
            if sid in cameras:
                return sid
        for sid in selection.case_ids:
            case = self.ctx.store.case(sid)
            if case is None or not (case.lon or case.lat):
                continue
            near = nearest_cameras(cameras, case.lon, case.lat, 1)
            if near:
                return near[0][0]
        return ""

    def _on_selection(self, selection: Selection) -> None:
        if str(self.settings["camera_id"]).strip() or not self.settings["follow_selection"]:
            return
        cid = self.camera_for_selection(selection)
        if cid:
            self.show_camera(cid)

    def show_camera(self, camera_id: str) -> None:
        self.camera_id = camera_id
        cam = self.ctx.store.cameras.get(camera_id)
        if cam is None:
            self.player.stop()
        else:
            self.player.set_source(
                cam.stream_url,
                caption=camera_label(cam, camera_id),
                online=bool(cam.online),
                sub_url=str(getattr(cam, "sub_stream_url", "") or ""),
                camera_id=camera_id,
            )
        self._update_info()

    def _on_changes(self, cs: ChangeSet) -> None:
        if not self.camera_id:
            if cs.reset or cs.cameras:
                self.apply_settings()
            return
        if cs.reset or self.camera_id in cs.cameras:
            cam = self.ctx.store.cameras.get(self.camera_id)
            if cam is None:
                self.player.stop()
            elif cam.stream_url != self.player.url:
                self.show_camera(self.camera_id)
            else:
                self.player.set_online(bool(cam.online))
            self._update_info()

    # ---- snapshot ------------------------------------------------------------------------

    def snapshot_to_file(self) -> Path | None:
        """Save the current frame as PNG in the snapshot folder; the path, or None."""
        folder = str(self.settings["snapshot_dir"]).strip() or QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.PicturesLocation
        )
        stamp = QDateTime.currentDateTime().toString("yyyyMMdd-HHmmss")
        path = Path(folder) / f"{self.camera_id or 'camera'}-{stamp}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = self.player.save_snapshot(path)
        self.info.setText(
            (f"截图已保存：{path}" if is_chinese() else f"Snapshot saved: {path}")
            if ok
            else (zh_en("无画面，未截图", "No picture to save"))
        )
        return path if ok else None

    # ---- presentation ----------------------------------------------------------------------

    def _update_info(self) -> None:
        cam = self.ctx.store.cameras.get(self.camera_id)
        if cam is None:
            self.info.setText("" if not self.camera_id else self.camera_id)
            return
        fov = f"{cam.fov:.0f}°" if cam.fov else (zh_en("全景", "dome"))
        self.info.setText(
            f"{camera_label(cam, self.camera_id)}  {zh_en('朝向', 'facing')} "
            f"{cam.direction:.0f}°  {zh_en('视场', 'FOV')} {fov}"
        )

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "player"):
            return
        self.snap_button.setText(zh_en("截图", "Snapshot"))
        self.player.retranslate()
        self._update_info()

    def on_teardown(self) -> None:
        self.player.release()
