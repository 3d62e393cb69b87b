"""The video player and panel against real local streams: a generated MJPEG camera served
over HTTP on 127.0.0.1 plays offscreen and its frames arrive; a dead address shows the
failure overlay and is retried; a frozen camera is called stalled and redialled; a hidden
player does not decode; snapshots are PNGs of the stream's size; the CoT camera marker
imports with its field of view."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from commandcenter.selection import Selection
from commandcenter.status import FeedStatus
from commandcenter.store import Store
from feeds.protocol import CameraData, CameraStatus, Event
from tests.mjpeg import MjpegCamera
from tests.support import ThreadedServer, free_port
from widgets.base import PanelContext
from widgets.live import LiveBridge
from widgets.media.player import StreamState, VideoPlayer
from widgets.video.panel import VideoPanel

WAIT_MS = 25_000  # a busy two-core machine: generous, but bounded


@pytest.fixture(scope="module")
def camera_server(qapp: QApplication) -> Iterator[tuple[ThreadedServer, MjpegCamera]]:
    cam = MjpegCamera(["东门", "广场", "北街"], fps=10)
    with ThreadedServer(cam) as srv:
        yield srv, cam


@pytest.fixture
def player(qtbot) -> Iterator[VideoPlayer]:
    p = VideoPlayer(stall_after_s=2.0, connect_timeout_s=8.0, backoff_s=(0.3, 0.6, 1.0))
    qtbot.addWidget(p)
    p.resize(480, 320)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.release()


def test_local_stream_plays_offscreen_and_frames_arrive(qtbot, player, camera_server) -> None:
    srv, _ = camera_server
    sink_frames: list[int] = []
    player.sink.videoFrameChanged.connect(lambda f: sink_frames.append(f.width()))
    player.set_source(f"{srv.url}/cam/东门", caption="东门")
    qtbot.waitUntil(lambda: len(sink_frames) >= 5, timeout=WAIT_MS)
    assert player.state is StreamState.PLAYING
    assert not player.overlay.isVisible(), "no overlay over a live picture"
    assert set(sink_frames) == {320}
    # The frame is painted: the middle of the widget is not the black background.
    img = player.grab().toImage()
    assert img.pixelColor(img.width() // 2, img.height() // 3) != QColor("#000000")


def test_dead_url_shows_failure_overlay_and_retries(qtbot, player) -> None:
    port = free_port()  # nothing listens there
    player.set_source(f"http://127.0.0.1:{port}/cam/none", caption="死链")
    qtbot.waitUntil(lambda: player.state is StreamState.FAILED, timeout=WAIT_MS)
    assert player.overlay.isVisible()
    assert "无法播放" in player.overlay.text() or "Cannot play" in player.overlay.text()
    player.overlay.hide()  # nobody can hide the truth
    assert player.overlay.isVisible()
    player.overlay.setVisible(False)
    assert player.overlay.isVisible()
    qtbot.waitUntil(lambda: player.attempts >= 3, timeout=WAIT_MS)
    assert player.frames == 0
    # The overlay covers the middle of the picture in the failure colour (red-ish).
    qtbot.waitUntil(lambda: player.state is StreamState.FAILED, timeout=WAIT_MS)
    img = player.grab().toImage()
    c = img.pixelColor(img.width() // 2, img.height() // 2 + img.height() // 5)
    assert c.red() > 120 and c.red() > c.green() + 40, c.name()


def test_frozen_stream_is_called_stalled_and_redialled(qtbot, player, camera_server) -> None:
    srv, cam = camera_server
    path = "/stall/广场"
    before = cam.connections.get(path, 0)
    seen: list[str] = []
    player.stateChanged.connect(seen.append)
    player.set_source(srv.url + path, caption="广场")
    qtbot.waitUntil(lambda: StreamState.STALLED.value in seen, timeout=WAIT_MS)
    assert player.overlay.isVisible()
    qtbot.waitUntil(lambda: cam.connections.get(path, 0) >= before + 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: seen.count(StreamState.PLAYING.value) >= 2, timeout=WAIT_MS)


def test_snapshot_is_a_png_of_the_stream_size(qtbot, player, camera_server, tmp_path) -> None:
    srv, _ = camera_server
    assert not player.save_snapshot(tmp_path / "none.png"), "no frame yet: no snapshot"
    player.set_source(f"{srv.url}/cam/北街")
    qtbot.waitUntil(lambda: player.frames >= 2, timeout=WAIT_MS)
    path = tmp_path / "snap.png"
    assert player.save_snapshot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = QImage(str(path))
    assert (img.width(), img.height()) == (320, 240)


def test_hidden_player_does_not_decode(qtbot, player, camera_server) -> None:
    srv, _ = camera_server
    player.set_source(f"{srv.url}/cam/东门")
    qtbot.waitUntil(lambda: player.frames >= 3, timeout=WAIT_MS)
    player.hide()
    assert not player.decoding
    qtbot.wait(300)  # frames already in flight may still land
    settled = player.frames
    qtbot.wait(1500)
    assert player.frames == settled, "a hidden player kept decoding"
    player.show()
    qtbot.waitUntil(lambda: player.frames >= settled + 3, timeout=WAIT_MS)
    assert player.state is StreamState.PLAYING


def test_offline_camera_is_not_dialled_until_back(qtbot, player, camera_server) -> None:
    srv, _ = camera_server
    player.set_source(f"{srv.url}/cam/东门", online=False)
    assert player.state is StreamState.OFFLINE
    assert player.overlay.isVisible() and player.attempts == 0
    player.set_online(True)
    qtbot.waitUntil(lambda: player.state is StreamState.PLAYING, timeout=WAIT_MS)
    player.set_online(False)
    assert player.state is StreamState.OFFLINE and not player.decoding


# ---- the panel -------------------------------------------------------------------------------


def _camera(cid: str, lon: float, lat: float, url: str, online: bool = True) -> CameraData:
    return CameraData(
        id=cid, name=f"测试{cid}", lon=lon, lat=lat, direction=90.0, fov=60.0,
        range_m=120.0, stream_url=url, online=online,
    )  # fmt: skip


@pytest.fixture
def ctx(qapp: QApplication, camera_server) -> Iterator[PanelContext]:
    srv, _ = camera_server
    store = Store()
    cams = [
        _camera("CAM1", 113.600, 37.800, f"{srv.url}/cam/东门"),
        _camera("CAM2", 113.650, 37.800, f"{srv.url}/cam/广场"),
        _camera("CAM3", 113.700, 37.800, f"{srv.url}/cam/北街", online=False),
    ]
    store.apply(Event(i + 1, "camera.upsert", time.time(), c) for i, c in enumerate(cams))
    status = FeedStatus()
    bridge = LiveBridge(store, status)
    yield PanelContext(store, status, bridge, Selection())
    bridge.close()


def test_video_panel_plays_the_camera_nearest_the_selected_case(qtbot, ctx) -> None:
    from tests.test_widgets import created, make_case

    now = time.time()
    case = make_case(1, now, 60, lon=113.648, lat=37.801)
    ctx.store.apply([created(ctx.store.seq + 1, case, now)])
    panel = VideoPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(800, 600)
    panel.show()
    ctx.selection.select([case.id])
    assert panel.camera_id == "CAM2"
    qtbot.waitUntil(lambda: panel.player.state is StreamState.PLAYING, timeout=WAIT_MS)
    # A camera id in the selection plays that camera.
    ctx.selection.select(["CAM1"])
    assert panel.camera_id == "CAM1"
    # The feed says CAM1 went offline: the overlay says so at once.
    ctx.store.apply([Event(ctx.store.seq + 1, "camera.status", now, CameraStatus("CAM1", False))])
    ctx.bridge.flush()
    assert panel.player.state is StreamState.OFFLINE and panel.player.overlay.isVisible()
    player = panel.player
    panel.teardown()
    assert player.released and not player.decoding


def test_cot_camera_marker_imports_with_its_field_of_view(
    qtbot, shared_external: Path, camera_server
) -> None:
    """The TAK camera marker (read by feeds.adapters.cot, the one CoT parser) lands in the
    store with position, direction, field of view and stream; the video panel plays it,
    and since nothing listens at its address the failure overlay shows."""
    cot = pytest.importorskip("feeds.adapters.cot", reason="the CoT adapter is not in the tree")
    CotTracker, parse_cot, read_file = cot.CotTracker, cot.parse_cot, cot.read_file

    path = shared_external / "cot" / "camera_lake_city_video_marker.cot.xml"
    [raw] = read_file(path)
    marker = parse_cot(raw)
    tracker = CotTracker(clock=lambda: marker.time + 60)  # while the marker is fresh
    events = tracker.convert(raw)
    store = Store()
    store.apply(Event(i + 1, kind, ts, data) for i, (kind, data, ts) in enumerate(events))
    assert len(store.cameras) == 1
    cam = next(iter(store.cameras.values()))
    assert cam.fov == pytest.approx(45.0)
    assert cam.direction == pytest.approx(270.0)
    assert cam.range_m == pytest.approx(100.0)
    assert cam.lat == pytest.approx(38.0351828) and cam.lon == pytest.approx(-107.312862)
    assert "127.0.0.1:37779" in cam.stream_url and cam.online

    status = FeedStatus()
    bridge = LiveBridge(store, status)
    panel = VideoPanel(PanelContext(store, status, bridge, Selection()), {"camera_id": cam.id})
    qtbot.addWidget(panel)
    panel.resize(640, 480)
    panel.show()
    try:
        assert "45°" in panel.info.text() and "Lake City" in panel.info.text()
        qtbot.waitUntil(lambda: panel.player.state is StreamState.FAILED, timeout=WAIT_MS)
        assert panel.player.overlay.isVisible()
    finally:
        panel.teardown()
        bridge.close()


def test_case_detail_plays_the_nearest_camera(qtbot, ctx) -> None:
    from tests.test_widgets import created, make_case
    from widgets.cases.detail import CaseDetailPanel

    now = time.time()
    case = make_case(2, now, 60, lon=113.602, lat=37.801)
    ctx.store.apply([created(ctx.store.seq + 1, case, now)])
    panel = CaseDetailPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    try:
        ctx.selection.select([case.id])
        assert panel.camera_view.camera_id == "CAM1"
        qtbot.waitUntil(lambda: panel.camera_view.state is StreamState.PLAYING, timeout=WAIT_MS)
        assert panel.camera_view.frames > 0
    finally:
        view = panel.camera_view
        panel.teardown()
    assert view.released and not view.decoding
