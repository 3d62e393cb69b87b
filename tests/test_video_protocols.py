"""Each protocol a county's media gateway hands out plays from a real local server:
RTSP (GStreamer's RTSP server), HLS (segments written by ffmpeg, served over HTTP),
HTTP-FLV (ffmpeg listening), MJPEG (the demo county's own cameras). A server killed
mid-play puts the failure overlay up; when it returns the picture comes back and the
camera's stall and recovery are counted. Credentials in a camera URL never reach the
log or stderr (FFmpeg's own logger included)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

from commandcenter.video_health import VideoHealth
from feeds.protocol import resolve_stream_urls
from feeds.serve.server import EmbeddedServer
from tests.support import BUSY_MORNING, ROOT, ThreadedServer, free_port
from widgets.media.player import StreamState, VideoPlayer

WAIT_MS = 30_000
FFMPEG = shutil.which("ffmpeg")
SYSTEM_PY = "/usr/bin/python3"
needs_ffmpeg = pytest.mark.skipif(
    FFMPEG is None,
    reason="ffmpeg missing: scripts/sysdeps test installs it (apt-get install ffmpeg)",
)
TESTSRC = ["-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10"]
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "10"]


def _gst_rtsp_available() -> bool:
    if not Path(SYSTEM_PY).exists():
        return False
    probe = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    return subprocess.run([SYSTEM_PY, "-c", probe], capture_output=True).returncode == 0


@pytest.fixture
def player(qtbot) -> Iterator[VideoPlayer]:
    p = VideoPlayer(stall_after_s=2.0, connect_timeout_s=10.0, backoff_s=(0.3, 0.6, 1.0))
    p.health = VideoHealth()
    qtbot.addWidget(p)
    p.resize(640, 400)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.release()


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


@pytest.fixture
def hls(tmp_path: Path) -> Iterator[str]:
    """ffmpeg writing a live HLS playlist into a folder that a real HTTP server serves."""
    if FFMPEG is None:
        pytest.skip("ffmpeg missing: scripts/sysdeps test installs it")
    out = tmp_path / "hls"
    out.mkdir()
    proc = _spawn(
        [FFMPEG, "-loglevel", "error", *TESTSRC, *H264, "-f", "hls", "-hls_time", "1",
         "-hls_list_size", "6", "-hls_flags", "delete_segments", str(out / "live.m3u8")]
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not (out / "live.m3u8").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    app = Starlette()
    app.mount("/hls", StaticFiles(directory=out))
    try:
        with ThreadedServer(app) as srv:
            yield f"{srv.url}/hls/live.m3u8"
    finally:
        _stop(proc)


def _flv_server(port: int) -> subprocess.Popen[bytes]:
    """ffmpeg as an HTTP-FLV server (one viewer, like a gateway's /live/x.flv)."""
    assert FFMPEG is not None
    proc = _spawn(
        [FFMPEG, "-loglevel", "error", *TESTSRC, *H264, "-f", "flv", "-listen", "1",
         f"http://127.0.0.1:{port}/live.flv"]
    )  # fmt: skip
    time.sleep(0.8)  # until it listens
    return proc


@needs_ffmpeg
def test_hls_plays(qtbot, player: VideoPlayer, hls: str) -> None:
    player.set_source(hls, caption="HLS", camera_id="HLS1")
    qtbot.waitUntil(lambda: player.frames >= 5, timeout=WAIT_MS)
    assert player.state is StreamState.PLAYING
    assert player.snapshot().width() == 320
    assert player.decode_path in ("software", "hardware")
    assert player.path_text(), "the active decoding path is said"


@needs_ffmpeg
def test_http_flv_plays_and_recovers_after_the_server_is_killed(qtbot, player) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/live.flv"
    proc = _flv_server(port)
    try:
        player.set_source(url, caption="FLV", camera_id="FLV1")
        qtbot.waitUntil(lambda: player.frames >= 3, timeout=WAIT_MS)
        assert player.state is StreamState.PLAYING
        h = player.health.camera("FLV1")
        # Under load the first seconds may already stall and recover once; the
        # counts are judged against what they were when the gateway died.
        downs, recovered = h.stalls + h.failures, h.recoveries
        _stop(proc)  # the gateway dies mid-play
        qtbot.waitUntil(
            lambda: player.state in (StreamState.STALLED, StreamState.FAILED), timeout=WAIT_MS
        )
        assert player.overlay.isVisible()
        player.overlay.hide()
        assert player.overlay.isVisible(), "the failure overlay can never be hidden"
        assert h.stalls + h.failures > downs and h.recoveries == recovered
        before = player.frames
        proc = _flv_server(port)  # it comes back on the same address
        qtbot.waitUntil(
            lambda: player.state is StreamState.PLAYING and player.frames > before,
            timeout=WAIT_MS,
        )
        assert not player.overlay.isVisible()
        assert h.recoveries == recovered + 1
    finally:
        _stop(proc)


@pytest.mark.skipif(
    not _gst_rtsp_available(),
    reason="GStreamer RTSP server missing: scripts/sysdeps test installs gir1.2-gst-rtsp-server-1.0",
)
def test_rtsp_plays_and_credentials_are_never_logged(qtbot, player, capfd, caplog) -> None:
    port = free_port()
    proc = _spawn([SYSTEM_PY, str(ROOT / "tests" / "rtsp_server.py"), "--port", str(port)])
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("LISTENING"), line
        secret = "s3cret-Pa55"
        caplog.set_level(logging.DEBUG)
        player.set_source(f"rtsp://admin:{secret}@127.0.0.1:{port}/live", camera_id="RTSP1")
        qtbot.waitUntil(lambda: player.frames >= 5, timeout=WAIT_MS)
        assert player.state is StreamState.PLAYING
        assert secret not in player.toolTip() and "127.0.0.1" in player.toolTip()
        # A wrong path fails: the reason is logged, the password is not.
        player.set_source(f"rtsp://admin:{secret}@127.0.0.1:{port}/nope", camera_id="RTSP2")
        qtbot.waitUntil(lambda: player.state is StreamState.FAILED, timeout=WAIT_MS)
    finally:
        _stop(proc)
    err = capfd.readouterr()
    assert secret not in err.out and secret not in err.err
    assert secret not in caplog.text
    assert all(secret not in h.last_reason for h in player.health.cameras.values())


def test_demo_camera_streams_moving_pictures_only_while_watched(qtbot, player) -> None:
    with EmbeddedServer(history_hours=0.2, start_ts=BUSY_MORNING) as server:
        streams = server.service.camera_streams
        cam = next(iter(server.service.world.cameras.values()))
        assert cam.stream_url.startswith("/v1/") and cam.sub_stream_url.endswith("sub.mjpg")
        # The console resolves the demo's relative URLs against the feed it came from.
        from feeds.protocol import CameraData

        rec = CameraData(cam.id, cam.name, cam.lon, cam.lat, stream_url=cam.stream_url,
                         sub_stream_url=cam.sub_stream_url)  # fmt: skip
        resolve_stream_urls(rec, server.url)
        assert rec.stream_url == f"{server.url}/v1/cameras/{cam.id}/main.mjpg"
        assert streams.watching == 0 and streams.frames_made == 0, "nothing drawn unwatched"
        player.set_source(rec.stream_url, sub_url=rec.sub_stream_url, camera_id=cam.id)
        qtbot.waitUntil(lambda: player.frames >= 2, timeout=WAIT_MS)
        assert player.dialled == "main" and player.snapshot().width() == 640
        first = player.snapshot()
        qtbot.wait(1000)
        second = player.snapshot()
        assert first != second, "two frames a second apart differ"
        assert streams.watching == 1
        # A small tile dials the sub-stream.
        player.resize(320, 200)
        player.set_source("", camera_id="")
        player.set_source(rec.stream_url, sub_url=rec.sub_stream_url, camera_id=cam.id)
        qtbot.waitUntil(lambda: player.frames >= 1 and player.snapshot().width() == 320,
                        timeout=WAIT_MS)  # fmt: skip
        assert player.dialled == "sub"
        player.stop()
        qtbot.waitUntil(lambda: streams.watching == 0, timeout=WAIT_MS)
        made = streams.frames_made
        qtbot.wait(800)
        assert streams.frames_made == made, "frames stop when the viewer leaves"
