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
from widgets.media.player import StreamState
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


@pytest.mark.parametrize(
    ("layout", "count", "big_span"),
    [("2x2", 4, 1), ("3x3", 9, 1), ("4x4", 16, 1), ("1+5", 6, 2), ("1+7", 8, 3)],
)
def test_wall_layouts(qtbot, wall: VideoWallPanel, layout: str, count: int, big_span: int) -> None:
    wall.update_settings({"layout": layout, "mode": "cycle"})
    assert len(wall.tiles) == count
    _r, _c, rs, cs = wall.grid.getItemPosition(wall.grid.indexOf(wall.tiles[0]))
    assert (rs, cs) == (big_span, big_span)
    if big_span > 1:  # the big tile is really bigger on screen
        qtbot.waitUntil(lambda: wall.tiles[0].width() > 1.8 * wall.tiles[-1].width())
    assert len([i for i in wall.assigned() if i]) == min(count, 11)  # the online cameras


def test_drag_one_tile_onto_another_swaps_them(qtbot, wall: VideoWallPanel) -> None:
    from widgets.video.wall import TILE_MIME

    wall.show_cameras(["CAM00", "CAM01", "CAM02"])
    mime = camera_mime("CAM00")
    mime.setData(TILE_MIME, b"0")
    ev = QDropEvent(
        QPointF(5, 5), Qt.DropAction.MoveAction, mime,
        Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    wall.tiles[2].dropEvent(ev)
    assert wall.assigned()[:3] == ["CAM02", "CAM01", "CAM00"]
    assert wall.settings["mode"] == "manual"
    assert wall.settings["tiles"].split(",")[:3] == ["CAM02", "CAM01", "CAM00"]


def test_cameras_picked_on_the_map_fill_the_wall(qtbot, wall: VideoWallPanel) -> None:
    wall.update_settings({"mode": "near_case"})
    wall.ctx.selection.select(["CAM03", "CAM08", "CAM10"], origin="map")
    assert wall.assigned()[:3] == ["CAM03", "CAM08", "CAM10"]
    assert not any(wall.assigned()[3:])


def test_wall_fills_when_the_cameras_arrive_after_it(qtbot, server: ThreadedServer) -> None:
    """The demo's wall opened before the snapshot landed read 未选择摄像头 on every tile."""
    store = Store()
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    panel = VideoWallPanel(PanelContext(store, status, bridge, Selection()), {"mode": "cycle"})
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    try:
        assert not any(panel.assigned())
        cams = [
            CameraData(id=f"C{i}", name=f"点位{i}", lon=113.6, lat=37.8,
                       stream_url=f"{server.url}/cam/{LABELS[i]}")
            for i in range(4)
        ]  # fmt: skip
        store.apply(Event(i + 1, "camera.upsert", time.time(), c) for i, c in enumerate(cams))
        bridge.flush()
        assert [i for i in panel.assigned() if i] == ["C0", "C1", "C2", "C3"]
        qtbot.waitUntil(lambda: status.video.playing == 4, timeout=WAIT_MS)
        assert {h.decode for h in status.video.cameras.values()} <= {"software", "hardware"}
    finally:
        panel.teardown()
        bridge.close()


def test_stalls_and_recoveries_counted_and_shown_in_feed_status(
    qtbot, wall: VideoWallPanel, server: ThreadedServer
) -> None:
    from widgets.panels.feed_status import FeedStatusPanel

    cam = wall.ctx.store.cameras["CAM01"]
    frozen = CameraData(**{**{f: getattr(cam, f) for f in cam.__struct_fields__},
                           "stream_url": f"{server.url}/stall/{cam.name}"})  # fmt: skip
    wall.ctx.store.apply([Event(wall.ctx.store.seq + 1, "camera.upsert", time.time(), frozen)])
    wall.ctx.bridge.flush()
    wall.show_cameras(["CAM01"])
    health = wall.ctx.status.video
    wall.tiles[0].player.stall_after_s = 1.0
    qtbot.waitUntil(lambda: health.camera("CAM01").recoveries >= 1, timeout=WAIT_MS)
    assert health.camera("CAM01").stalls >= 1
    status_panel = FeedStatusPanel(wall.ctx)
    qtbot.addWidget(status_panel)
    status_panel.refresh()
    texts = [
        status_panel.problems.item(r, 2).text() for r in range(status_panel.problems.rowCount())
    ]
    assert any("CAM01" in t and ("中断" in t or "stalls" in t) for t in texts), texts
    status_panel.teardown()
