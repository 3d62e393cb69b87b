"""The video wall: a 3×3 grid of live local streams, drag and drop, the cameras nearest
the selected case, cycling pages, maximise on double click (hidden tiles stop decoding),
and a teardown that leaves no stream open."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from commandcenter.selection import Selection
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from feeds.protocol import CameraData, Event
from tests.mjpeg import MjpegCamera
from tests.support import ThreadedServer
from widgets.base import PanelContext
from widgets.live import LiveBridge
from widgets.video.player import StreamState
from widgets.video.wall import CAMERA_MIME, VideoWallPanel, camera_mime

WAIT_MS = 30_000
LABELS = [f"点位{i}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def server(qapp: QApplication) -> Iterator[ThreadedServer]:
    with ThreadedServer(MjpegCamera(LABELS, fps=8)) as srv:
        yield srv


@pytest.fixture
def ctx(server: ThreadedServer) -> Iterator[PanelContext]:
    store = Store()
    cams = []
    for i in range(12):  # 12 cameras in a row eastwards, ~880 m apart; CAM05 offline
        label = LABELS[i % len(LABELS)]
        cams.append(
            CameraData(
                id=f"CAM{i:02d}",
                name=label,
                lon=113.60 + 0.01 * i,
                lat=37.80,
                fov=60.0,
                stream_url=f"{server.url}/cam/{label}",
                township="T1" if i < 6 else "T2",
                online=i != 5,
            )
        )
    store.apply(Event(i + 1, "camera.upsert", time.time(), c) for i, c in enumerate(cams))
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    yield PanelContext(store, status, bridge, Selection())
    bridge.close()


@pytest.fixture
def wall(qtbot, ctx: PanelContext) -> Iterator[VideoWallPanel]:
    panel = VideoWallPanel(ctx, {"rows": 3, "cols": 3})
    qtbot.addWidget(panel)
    panel.resize(1280, 760)
    panel.show()
    qtbot.waitExposed(panel)
    yield panel
    panel.teardown()


def test_three_by_three_wall_plays_nine_streams(qtbot, wall: VideoWallPanel) -> None:
    assert len(wall.tiles) == 9
    wall.show_cameras([f"CAM{i:02d}" for i in (0, 1, 2, 3, 4, 6, 7, 8, 9)])
    qtbot.waitUntil(
        lambda: all(t.player.state is StreamState.PLAYING for t in wall.tiles), timeout=WAIT_MS
    )
    assert all(t.player.frames > 0 for t in wall.tiles)
    players = [t.player for t in wall.tiles]
    wall.teardown()
    assert all(p.released and not p.decoding for p in players)


def test_drop_a_camera_on_a_tile(qtbot, wall: VideoWallPanel) -> None:
    tile = wall.tiles[4]
    mime = camera_mime("CAM07")
    assert mime.hasFormat(CAMERA_MIME)
    ev = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime,
        Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    tile.dropEvent(ev)
    assert tile.camera_id == "CAM07"
    assert wall.settings["mode"] == "manual"
    assert wall.settings["tiles"].split(",")[4] == "CAM07", "kept for the saved layout"
    # The camera list offers every camera, offline ones marked.
    assert wall.camera_list.count() == 12
    assert wall.camera_list.mimeData([wall.camera_list.item(3)]).data(CAMERA_MIME) == b"CAM03"


def test_near_selected_case_fills_with_nearest_online(qtbot, wall: VideoWallPanel) -> None:
    from tests.test_widgets import created, make_case

    now = time.time()
    case = make_case(1, now, 60, lon=113.651, lat=37.80)  # beside CAM05 (offline)
    wall.ctx.store.apply([created(wall.ctx.store.seq + 1, case, now)])
    wall.update_settings({"mode": "near_case"})
    wall.ctx.selection.select([case.id])
    ids = wall.assigned()
    assert "CAM05" not in ids, "an offline camera answers nothing"
    assert ids[:3] == ["CAM06", "CAM04", "CAM07"]  # 90 m, 790 m, 1.67 km
    assert len([i for i in ids if i]) == 9
    assert "附近" in wall.status.text() or "near" in wall.status.text()


def test_cycle_pages_through_the_group(qtbot, wall: VideoWallPanel) -> None:
    wall.update_settings({"mode": "cycle", "cycle_s": 5})
    assert wall.cycle_timer.isActive()
    assert wall.page_count() == 2  # 11 online cameras on 9 tiles
    first = wall.assigned()
    wall.next_page()
    second = [i for i in wall.assigned() if i]
    assert len(second) == 2 and not set(second) & set(first)
    wall.update_settings({"group": "T2"})
    assert wall.page_count() == 1
    assert [i for i in wall.assigned() if i] == [f"CAM{i:02d}" for i in range(6, 12)]


def test_double_click_maximises_and_hidden_tiles_stop(qtbot, wall: VideoWallPanel) -> None:
    wall.show_cameras(["CAM00", "CAM01", "CAM02"])
    qtbot.waitUntil(
        lambda: all(t.player.state is StreamState.PLAYING for t in wall.tiles[:3]), timeout=WAIT_MS
    )
    qtbot.mouseDClick(wall.tiles[1].player, Qt.MouseButton.LeftButton)
    assert wall.maximised == 1
    assert wall.tiles[1].isVisible() and not wall.tiles[0].isVisible()
    assert not wall.tiles[0].player.decoding and not wall.tiles[2].player.decoding
    assert wall.tiles[1].player.decoding
    qtbot.wait(300)
    settled = wall.tiles[0].player.frames
    qtbot.wait(1000)
    assert wall.tiles[0].player.frames == settled
    wall.toggle_maximise(1)
    assert wall.maximised is None
    qtbot.waitUntil(lambda: wall.tiles[0].player.frames > settled, timeout=WAIT_MS)
