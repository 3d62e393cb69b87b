"""The ``video_wall`` panel: N×M camera tiles (看得见 for the whole hall).

Three ways to fill it, because the hall uses it three ways:

- *manual*: the operator drags cameras from the list onto tiles (kept in the layout);
- *near case*: the wall follows the selected case and shows the k nearest online
  cameras, nearest top-left — "call up the cameras near the incident";
- *cycle* (轮巡): the wall pages through a group of cameras (ids, or a township code, or
  all online cameras) every ``cycle_s`` seconds.

A double click maximises a tile (the others are hidden, and so stop decoding); another
double click restores the grid. Only visible tiles decode: a player stops on hide, and a
page not on screen is simply not assigned to any tile.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDrag, QDragEnterEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from commandcenter.nearby_cameras import camera_label, nearest_cameras
from commandcenter.selection import Selection
from commandcenter.store import ChangeSet
from widgets.base import Panel, PanelContext, Setting
from widgets.i18n import is_chinese, zh_en
from widgets.media.player import VideoPlayer
from widgets.registry import register

CAMERA_MIME = "application/x-commandcenter-camera"
TILE_MIME = "application/x-commandcenter-tile"  # a tile dragged onto another: swap them
MODES = ("manual", "near_case", "cycle")
# Wall layouts: (rows, cols, spans of the big tile or 0). "custom" uses the rows/cols settings.
LAYOUTS: dict[str, tuple[int, int, int]] = {
    "2x2": (2, 2, 0),
    "3x3": (3, 3, 0),
    "4x4": (4, 4, 0),
    "1+5": (3, 3, 2),  # one 2×2 tile and five around it
    "1+7": (4, 4, 3),  # one 3×3 tile and seven around it
}


def layout_cells(layout: str, rows: int, cols: int) -> list[tuple[int, int, int, int]]:
    """(row, col, row span, col span) of each tile, the big one first."""
    r, c, big = LAYOUTS.get(layout, (rows, cols, 0))
    if not big:
        return [(i // c, i % c, 1, 1) for i in range(r * c)]
    cells = [(0, 0, big, big)]
    for i in range(r):
        for j in range(c):
            if i >= big or j >= big:
                cells.append((i, j, 1, 1))
    return cells


def camera_mime(camera_id: str) -> QMimeData:
    """The drag payload for a camera (also plain text, so it can be dropped in an editor)."""
    mime = QMimeData()
    mime.setData(CAMERA_MIME, camera_id.encode("utf-8"))
    mime.setText(camera_id)
    return mime


class CameraList(QListWidget):
    """The cameras to drag onto tiles; offline ones are listed but marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wallCameraList")
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

    def mimeData(self, items: list[QListWidgetItem]) -> QMimeData:
        cid = items[0].data(Qt.ItemDataRole.UserRole) if items else ""
        return camera_mime(str(cid or ""))

    def mimeTypes(self) -> list[str]:
        return [CAMERA_MIME, "text/plain"]


class VideoTile(QWidget):
    """One tile: a player that accepts a dropped camera and maximises on double click."""

    cameraDropped = Signal(int, str)
    tileDropped = Signal(int, int)  # (from, to): swap the two tiles' cameras
    doubleClicked = Signal(int)

    def __init__(self, index: int, parent: QWidget | None = None, stall_s: float = 5.0) -> None:
        super().__init__(parent)
        self.index = index
        self.camera_id = ""
        self.setObjectName("videoTile")
        self.setAcceptDrops(True)
        self.player = VideoPlayer(self, stall_after_s=stall_s)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(1, 1, 1, 1)
        lay.addWidget(self.player)

    def set_camera(self, camera_id: str, cam: Any | None) -> None:
        self.camera_id = camera_id if cam is not None else ""
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

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        press = getattr(self, "_press", None)
        if (
            press is None
            or not self.camera_id
            or not event.buttons() & Qt.MouseButton.LeftButton
            or (event.position().toPoint() - press).manhattanLength() < 12
        ):
            return
        self._press = None
        mime = camera_mime(self.camera_id)
        mime.setData(TILE_MIME, str(self.index).encode())
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.MoveAction)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(CAMERA_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(CAMERA_MIME):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        data = event.mimeData()
        if not data.hasFormat(CAMERA_MIME):
            event.ignore()
            return
        cid = bytes(data.data(CAMERA_MIME).data()).decode("utf-8").strip()
        event.acceptProposedAction()
        if data.hasFormat(TILE_MIME):
            src = bytes(data.data(TILE_MIME).data()).decode()
            if src.isdigit() and int(src) != self.index:
                self.tileDropped.emit(int(src), self.index)
            return
        if cid:
            self.cameraDropped.emit(self.index, cid)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.doubleClicked.emit(self.index)
        event.accept()


@register
class VideoWallPanel(Panel):
    name = "video_wall"
    title_zh = "视频墙"
    title_en = "Video wall"
    icon = "▦"
    description_zh = "多路视频：拖放摄像头、轮巡分组、自动调取选中事件附近的摄像头"
    description_en = (
        "Many cameras at once: drag cameras onto tiles, cycle groups, or show the cameras "
        "nearest the selected case"
    )
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "layout": Setting(
            "choice",
            "custom",
            "画面布局",
            "Wall layout",
            choices=("custom", *LAYOUTS),
            choice_labels_zh=("按行列", "2×2", "3×3", "4×4", "1+5", "1+7"),
            choice_labels_en=("Rows × columns", "2×2", "3×3", "4×4", "1+5", "1+7"),
        ),
        "rows": Setting("int", 3, "行数", "Rows", minimum=1, maximum=6),
        "cols": Setting("int", 3, "列数", "Columns", minimum=1, maximum=8),
        "mode": Setting(
            "choice",
            "manual",
            "填充方式",
            "Fill",
            choices=MODES,
            choice_labels_zh=("手动拖放", "选中事件附近", "轮巡"),
            choice_labels_en=("Manual (drag)", "Near selected case", "Cycle"),
        ),
        "cycle_s": Setting(
            "int", 30, "轮巡间隔（秒）", "Cycle period (s)", minimum=5, maximum=3600
        ),
        "group": Setting(
            "str",
            "",
            "轮巡分组（编号或乡镇代码，逗号分隔；空为全部）",
            "Cycle group (ids or township codes; empty: all)",
        ),
        "tiles": Setting("str", "", "手动布置（按格的摄像头编号）", "Manual tiles (camera ids)"),
        "show_list": Setting("bool", True, "显示摄像头列表", "Show the camera list"),
        "stall_s": Setting(
            "float", 5.0, "无画面多少秒算中断", "Stalled after (s)", minimum=1, maximum=120
        ),
    }

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.tiles: list[VideoTile] = []
        self.maximised: int | None = None
        self.page = 0
        self.camera_list = CameraList(self.body)
        self.mode_box = QComboBox(self.body)
        self.mode_box.setObjectName("wallMode")
        self.status = QLabel(self.body)
        self.status.setObjectName("wallStatus")
        self.grid_host = QWidget(self.body)
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        side = QVBoxLayout()
        side.addWidget(self.mode_box)
        side.addWidget(self.camera_list, 1)
        self.side = QWidget(self.body)
        self.side.setLayout(side)
        self.side.setMaximumWidth(260)
        main = QVBoxLayout()
        main.setContentsMargins(0, 0, 0, 0)
        main.addWidget(self.grid_host, 1)
        main.addWidget(self.status)
        outer = QHBoxLayout(self.body)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.addWidget(self.side)
        outer.addLayout(main, 1)
        self.listen(self.mode_box.activated, self._on_mode_chosen)
        self.listen(ctx.bridge.changed, self._on_changes)
        self.hold(ctx.selection.subscribe(self._on_selection))
        self.cycle_timer = self.timer(int(self.settings["cycle_s"]) * 1000, self.next_page)
        self.cycle_timer.stop()
        self.retranslate()
        self.apply_settings()

    # ---- structure -------------------------------------------------------------------------

    def cells(self) -> list[tuple[int, int, int, int]]:
        return layout_cells(
            str(self.settings.get("layout", "custom")),
            int(self.settings["rows"]),
            int(self.settings["cols"]),
        )

    @property
    def tile_count(self) -> int:
        return len(self.cells())

    def _build_tiles(self) -> None:
        cells = self.cells()
        if getattr(self, "_cells", None) == cells and len(self.tiles) == len(cells):
            return
        self._cells = cells
        rows = max(r + rs for r, _c, rs, _cs in cells)
        cols = max(c + cs for _r, c, _rs, cs in cells)
        for t in self.tiles:
            t.player.release()
            self.grid.removeWidget(t)
            t.deleteLater()
        self.tiles = []
        self.maximised = None
        for i, (r, c, rs, cs) in enumerate(cells):
            tile = VideoTile(i, self.grid_host, stall_s=float(self.settings["stall_s"]))
            tile.player.health = self.ctx.status.video
            tile.cameraDropped.connect(self.assign)
            tile.tileDropped.connect(self.swap)
            tile.doubleClicked.connect(self.toggle_maximise)
            self.grid.addWidget(tile, r, c, rs, cs)
            self.tiles.append(tile)
        for r in range(self.grid.rowCount()):
            self.grid.setRowStretch(r, 1 if r < rows else 0)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 1 if c < cols else 0)

    def apply_settings(self) -> None:
        self._build_tiles()
        for t in self.tiles:
            t.player.stall_after_s = float(self.settings["stall_s"])
        self.side.setVisible(bool(self.settings["show_list"]))
        self.mode_box.setCurrentIndex(MODES.index(self.settings["mode"]))
        self.cycle_timer.setInterval(int(self.settings["cycle_s"]) * 1000)
        self._refill_list()
        self.refill()

    def refill(self) -> None:
        """Assign cameras to tiles according to the mode."""
        mode = self.settings["mode"]
        if mode == "cycle":
            if not self.cycle_timer.isActive():
                self.cycle_timer.start()
            self._show_page()
            return
        self.cycle_timer.stop()
        if mode == "near_case":
            self._on_selection(self.ctx.selection, force=True)
        else:
            ids = [s.strip() for s in str(self.settings["tiles"]).split(",")]
            self.show_cameras(ids)

    def show_cameras(self, ids: list[str]) -> None:
        """Put these camera ids on the tiles in order; the rest go idle."""
        cams = self.ctx.store.cameras
        for i, tile in enumerate(self.tiles):
            cid = ids[i] if i < len(ids) else ""
            if cid != tile.camera_id or cid == "":
                tile.set_camera(cid, cams.get(cid) if cid else None)
        self._update_status()

    def assigned(self) -> list[str]:
        return [t.camera_id for t in self.tiles]

    # ---- manual --------------------------------------------------------------------------

    def assign(self, index: int, camera_id: str) -> None:
        """A camera dropped on tile ``index``: the wall becomes manual, the choice is kept
        in the settings (and so in the saved layout)."""
        if not 0 <= index < len(self.tiles):
            return
        ids = self.assigned()
        if self.settings["mode"] != "manual":
            self.settings["mode"] = "manual"
            self.cycle_timer.stop()
            self.mode_box.setCurrentIndex(0)
        ids[index] = camera_id
        self.settings["tiles"] = ",".join(ids)
        self.tiles[index].set_camera(camera_id, self.ctx.store.cameras.get(camera_id))
        self._update_status()

    def swap(self, src: int, dst: int) -> None:
        """A tile dragged onto another: the two cameras change places (the wall becomes
        manual, and the arrangement is kept in the layout)."""
        ids = self.assigned()
        if not (0 <= src < len(ids) and 0 <= dst < len(ids)):
            return
        ids[src], ids[dst] = ids[dst], ids[src]
        if self.settings["mode"] != "manual":
            self.settings["mode"] = "manual"
            self.cycle_timer.stop()
            self.mode_box.setCurrentIndex(0)
        self.settings["tiles"] = ",".join(ids)
        cams = self.ctx.store.cameras
        for i in (src, dst):
            self.tiles[i].set_camera(ids[i], cams.get(ids[i]) if ids[i] else None)
        self._update_status()

    # ---- near case / from the map ----------------------------------------------------------

    def _on_selection(self, selection: Selection, force: bool = False) -> None:
        if self.settings["mode"] != "near_case":
            return
        cams = self.ctx.store.cameras
        picked = [sid for sid in selection.case_ids if sid in cams]
        if picked:
            # Cameras picked on the map (click or box): those, in the order given.
            self.show_cameras(picked[: self.tile_count])
            self._update_status()
            return
        for sid in selection.case_ids:
            case = self.ctx.store.case(sid)
            if case is not None and (case.lon or case.lat):
                self.fill_near(case.lon, case.lat)
                return
        if force:
            self.show_cameras([])

    def fill_near(self, lon: float, lat: float) -> list[tuple[str, float]]:
        """The k nearest online cameras to a point, nearest first; k = number of tiles."""
        near = nearest_cameras(self.ctx.store.cameras, lon, lat, self.tile_count)
        self.show_cameras([cid for cid, _ in near])
        self._near = near
        self._update_status()
        return near

    # ---- cycle -----------------------------------------------------------------------------

    def group_cameras(self) -> list[str]:
        """The cycle group: listed ids and cameras of listed townships, online, in order;
        all online cameras when the group is empty."""
        cams = self.ctx.store.cameras
        keys = [s.strip() for s in str(self.settings["group"]).split(",") if s.strip()]
        online = sorted(c for c, cam in cams.items() if cam.online and cam.stream_url)
        if not keys:
            return online
        out: list[str] = []
        for key in keys:
            if key in cams:
                out.append(key)
            else:
                out.extend(c for c in online if getattr(cams[c], "township", "") == key)
        return list(dict.fromkeys(out))

    def page_count(self) -> int:
        n = len(self.group_cameras())
        return max(1, -(-n // self.tile_count))

    def next_page(self) -> None:
        self.page = (self.page + 1) % self.page_count()
        self._show_page()

    def _show_page(self) -> None:
        group = self.group_cameras()
        self.page %= max(1, -(-len(group) // self.tile_count))
        start = self.page * self.tile_count
        self.show_cameras(group[start : start + self.tile_count])

    # ---- maximise -------------------------------------------------------------------------

    def toggle_maximise(self, index: int) -> None:
        """Double click: this tile alone (the hidden ones stop decoding) or back to the grid."""
        if self.maximised is None:
            self.maximised = index
            for t in self.tiles:
                t.setVisible(t.index == index)
        else:
            self.maximised = None
            for t in self.tiles:
                t.setVisible(True)
        self._update_status()

    # ---- data ----------------------------------------------------------------------------

    def _on_changes(self, cs: ChangeSet) -> None:
        if not (cs.reset or cs.cameras):
            return
        self._refill_list()
        cams = self.ctx.store.cameras
        for tile in self.tiles:
            if tile.camera_id and (cs.reset or tile.camera_id in cs.cameras):
                cam = cams.get(tile.camera_id)
                if cam is None or cam.stream_url != tile.player.url:
                    tile.set_camera(tile.camera_id, cam)
                else:
                    tile.player.set_online(bool(cam.online))
        if cs.reset or not any(self.assigned()):
            # The cameras arrived after the wall was built (start-up, a new snapshot).
            self.refill()

    def _refill_list(self) -> None:
        cams = self.ctx.store.cameras
        self.camera_list.clear()
        for cid in sorted(cams):
            cam = cams[cid]
            label = camera_label(cam, cid)
            if not cam.online:
                label += zh_en("（离线）", " (offline)")
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, cid)
            self.camera_list.addItem(item)

    def _on_mode_chosen(self, index: int) -> None:
        self.settings["mode"] = MODES[index]
        self.page = 0
        self.refill()

    def _update_status(self) -> None:
        zh = is_chinese()
        mode = self.settings["mode"]
        shown = sum(1 for t in self.tiles if t.camera_id)
        if mode == "cycle":
            text = (
                f"轮巡 第 {self.page + 1}/{self.page_count()} 组 · 每 {self.settings['cycle_s']} 秒"
                if zh
                else f"Cycle page {self.page + 1}/{self.page_count()} · every {self.settings['cycle_s']} s"
            )
        elif mode == "near_case":
            text = (
                f"选中事件附近的 {shown} 路摄像头"
                if zh
                else f"{shown} cameras near the selected case"
            )
        else:
            text = f"{shown} 路视频" if zh else f"{shown} streams"
        if self.maximised is not None:
            text += zh_en(" · 已放大，双击还原", " · maximised, double-click to restore")
        self.status.setText(text)

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "mode_box"):
            return
        labels = self.SETTINGS["mode"].choice_labels()
        self.mode_box.clear()
        self.mode_box.addItems(list(labels))
        self.mode_box.setCurrentIndex(MODES.index(self.settings["mode"]))
        for t in self.tiles:
            t.player.retranslate()
        self._refill_list()
        self._update_status()

    def on_teardown(self) -> None:
        for t in self.tiles:
            t.player.release()
