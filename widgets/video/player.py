"""One camera stream on screen, and an honest account of whether it is really live.

Why a state machine and an overlay that cannot be hidden: the worst a video wall can do
is show a frozen picture as if it were live, so an officer dispatches on what happened
ten minutes ago. Every state except ``playing`` puts a large label *over* the picture
(a child widget, so it always paints on top of the frame) and the label refuses to be
hidden while the state is not ``playing``. A watchdog calls a stream that delivers no
frame for ``stall_after_s`` stalled and reconnects with back-off; a stream that cannot
be opened is ``failed`` and is retried the same way; a camera the feed reports offline
is ``offline`` and is not dialled at all until it comes back.

Frames come through a ``QVideoSink`` and are painted here (converted lazily in
``paintEvent``, so a frame that is never shown is never converted) — that also makes
offscreen grabs, snapshots and screenshots work without a GPU. A hidden player stops its
stream (``hideEvent``) and reconnects when shown: a 3×3 wall on a hidden tab must not keep
nine decoders busy on a two-core console.

States: idle → connecting → playing ↔ stalled → (reconnect) connecting …;
connecting → failed → (retry after back-off) connecting …; any → offline (feed says so).
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QEvent, QRect, QRectF, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHideEvent,
    QImage,
    QPainter,
    QPaintEvent,
    QShowEvent,
)
from PySide6.QtMultimedia import QMediaPlayer, QVideoFrame, QVideoSink
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from commandcenter.video_health import VideoHealth, redact_url
from widgets import theme
from widgets.i18n import is_chinese, zh_en
from widgets.plaintext import plain_tooltip
from widgets.video.ffmpeg_log import quiet_ffmpeg_log

log = logging.getLogger(__name__)

BACKOFF_S: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
# Below this shown width (device pixels) a camera's sub-stream is dialled when it has one:
# a 3×3 wall on a 1080p screen shows 640-pixel tiles; decoding 1080p for them is waste.
SUB_STREAM_BELOW_PX = 480


class StreamState(StrEnum):
    IDLE = "idle"  # no camera / no source
    CONNECTING = "connecting"
    PLAYING = "playing"
    STALLED = "stalled"  # was playing, no frame for a while; reconnecting
    FAILED = "failed"  # could not open / error; retrying after back-off
    OFFLINE = "offline"  # the feed reports the camera offline; not dialled


_COLOURS = {
    StreamState.IDLE: "surface2",
    StreamState.CONNECTING: "accent_bg",
    StreamState.STALLED: "yellow",
    StreamState.FAILED: "red",
    StreamState.OFFLINE: "red",
}


def source_url(stream_url: str) -> QUrl:
    """A QUrl for what a camera record holds: a URL (rtsp/http/https/file) or a path."""
    if "://" in stream_url:
        return QUrl(stream_url)
    return QUrl.fromLocalFile(str(Path(stream_url).expanduser().resolve()))


class _Overlay(QLabel):
    """The state label. It cannot be hidden while the stream is not playing: anything
    (a tile, a style, a careless caller) that hides it gets it straight back."""

    def __init__(self, owner: VideoPlayer) -> None:
        super().__init__(owner)
        self._owner = owner
        self.setObjectName("videoOverlay")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)

    def setVisible(self, visible: bool) -> None:
        if not visible and self._owner.state is not StreamState.PLAYING:
            visible = True
        super().setVisible(visible)


class VideoPlayer(QWidget):
    """Plays one stream URL with a watchdog, back-off reconnects and a state overlay.

    ``frames`` counts frames received, ``attempts`` counts connection attempts (tests and
    the tile's tooltip read them). ``release()`` stops everything; call it at teardown.
    """

    stateChanged = Signal(str)
    frameArrived = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        stall_after_s: float = 5.0,
        connect_timeout_s: float = 15.0,
        backoff_s: tuple[float, ...] = BACKOFF_S,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("videoPlayer")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setMinimumSize(QSize(96, 54))
        self.stall_after_s = stall_after_s
        self.connect_timeout_s = connect_timeout_s
        self.backoff_s = backoff_s or BACKOFF_S
        self.state = StreamState.IDLE
        self.url = ""  # the camera's main stream
        self.sub_url = ""  # its sub-stream ("" when it offers none)
        self.camera_id = ""
        self.health: VideoHealth | None = None  # per-camera counters (FeedStatus.video)
        self.decode_path = ""  # "software" / "hardware": what the last frame came through
        self.dialled = ""  # "main" / "sub": which stream is open
        self.caption = ""
        self.frames = 0
        self.attempts = 0
        self.failures = 0  # consecutive failures: picks the back-off step
        self.reason = ""
        self._offline = False
        self._released = False
        self._suspended = False
        self._frame: QVideoFrame | None = None
        self._image: QImage | None = None  # the last frame converted (lazily)
        self._last_frame_at = 0.0
        self._connect_started = 0.0
        self._retry_at = 0.0

        self._player = QMediaPlayer(self)
        quiet_ffmpeg_log()  # FFmpeg prints the URLs it opens, credentials and all
        self._sink = QVideoSink(self)
        self._player.setVideoSink(self._sink)
        self._sink.videoFrameChanged.connect(self._on_frame)
        self._player.errorOccurred.connect(self._on_error)
        self._player.mediaStatusChanged.connect(self._on_media_status)

        self._watchdog = QTimer(self)
        self._watchdog.setInterval(500)
        self._watchdog.timeout.connect(self._check)
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.timeout.connect(self._reconnect)

        self.overlay = _Overlay(self)
        self._apply_state()

    # ---- public ----------------------------------------------------------------------------

    @property
    def sink(self) -> QVideoSink:
        return self._sink

    @property
    def media_player(self) -> QMediaPlayer:
        return self._player

    def set_source(
        self,
        url: str,
        *,
        caption: str = "",
        online: bool = True,
        sub_url: str = "",
        camera_id: str = "",
    ) -> None:
        """Play ``url`` (empty: idle). ``online`` False (the feed says the camera is off)
        shows offline without dialling; a later ``set_online(True)`` connects. ``sub_url``
        is dialled instead while the player is shown smaller than SUB_STREAM_BELOW_PX."""
        if self._released:
            return
        same = url == self.url and (not online) == self._offline and sub_url == self.sub_url
        self.caption = caption
        self.sub_url = sub_url
        self.camera_id = camera_id or self.camera_id
        if same and self.state is not StreamState.IDLE:
            self.update()
            return
        self.url = url
        self._offline = not online
        self.failures = 0
        self._frame = None
        self._image = None
        self._stop_stream()
        self._start()

    def set_online(self, online: bool) -> None:
        """The feed's camera.status: offline stops the stream and says so; back online
        connects again at once (no back-off: the feed just told us it is there)."""
        if self._released or online != self._offline:
            return
        self._offline = not online
        self.failures = 0
        self._stop_stream()
        self._start()

    def stop(self) -> None:
        """Back to idle (no camera)."""
        self.url = ""
        self.sub_url = ""
        self.caption = ""
        self._frame = None
        self._image = None
        self._stop_stream()
        self._set_state(StreamState.IDLE)
        self.update()

    def snapshot(self) -> QImage:
        """The last frame at the stream's own resolution (a null image when none came)."""
        if self._image is None and self._frame is not None:
            self._image = self._frame.toImage()
        return QImage(self._image) if self._image is not None else QImage()

    def save_snapshot(self, path: str | Path) -> bool:
        """Write the last frame as PNG; False when there is no frame or the write failed."""
        img = self.snapshot()
        return not img.isNull() and img.save(str(path), "PNG")

    def release(self) -> None:
        """Stop the stream and every timer, for good (panel teardown). Idempotent."""
        if self._released:
            return
        self._released = True
        self._watchdog.stop()
        self._retry.stop()
        try:
            self._sink.videoFrameChanged.disconnect(self._on_frame)
            self._player.errorOccurred.disconnect(self._on_error)
            self._player.mediaStatusChanged.disconnect(self._on_media_status)
        except (RuntimeError, TypeError):
            pass
        # Detach the sink first: FFmpeg's decoder thread delivers frames to it, and the sink
        # (a child of this object) may be destroyed before the player's deferred delete runs.
        self._player.setVideoSink(None)
        self._player.stop()
        self._player.setSource(QUrl())
        self._player.deleteLater()

    @property
    def released(self) -> bool:
        return self._released

    @property
    def decoding(self) -> bool:
        """True while a stream is open (what the visibility rule turns off)."""
        return self._player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def seconds_since_frame(self) -> float | None:
        return None if not self._last_frame_at else time.monotonic() - self._last_frame_at

    def retranslate(self) -> None:
        self._apply_state()

    def changeEvent(self, event: QEvent) -> None:
        # wherever a player sits (a wall tile, the case detail), it follows the language
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ---- connection ------------------------------------------------------------------------

    def _start(self) -> None:
        if not self.url:
            self._set_state(StreamState.IDLE)
            return
        if self._offline:
            self._set_state(StreamState.OFFLINE)
            return
        if not self.isVisible():
            # Not decoding while hidden: showEvent connects.
            self._suspended = True
            self._set_state(StreamState.CONNECTING)
            return
        self._connect()

    def _connect(self) -> None:
        if self._released:
            return
        self._suspended = False
        self.attempts += 1
        self._connect_started = time.monotonic()
        self._last_frame_at = 0.0
        self._set_state(StreamState.CONNECTING)
        url = source_url(self.choose_url())
        if url.isLocalFile():
            # A recorded clip stands in for a live camera: play it round.
            self._player.setLoops(QMediaPlayer.Loops.Infinite)
        else:
            self._player.setLoops(1)
        self._player.setSource(url)
        self._player.play()
        self._watchdog.start()

    def choose_url(self) -> str:
        """The stream to dial at the size shown: the sub-stream for a small tile when the
        camera offers one, else the main stream."""
        width = self.width() * self.devicePixelRatioF()
        use_sub = bool(self.sub_url) and width < SUB_STREAM_BELOW_PX
        self.dialled = "sub" if use_sub else "main"
        return self.sub_url if use_sub else self.url

    def shown_url(self) -> str:
        """The open stream's URL with its credentials removed (for tooltips and logs)."""
        return redact_url(self.sub_url if self.dialled == "sub" else self.url)

    def _stop_stream(self) -> None:
        self._watchdog.stop()
        self._retry.stop()
        if self._player.source().isValid() or self.decoding:
            self._player.stop()
            self._player.setSource(QUrl())

    def _fail(self, state: StreamState, reason: str) -> None:
        """Stalled or failed: close the stream, say why, retry after the back-off."""
        if self._released:
            return
        self.reason = reason
        self.failures += 1
        self._stop_stream()
        delay = self.backoff_s[min(self.failures - 1, len(self.backoff_s) - 1)]
        self._retry_at = time.monotonic() + delay
        self._set_state(state, force=True)
        if self.isVisible():
            self._retry.start(round(delay * 1000))
            self._watchdog.start()  # only to refresh the countdown in the overlay
        else:
            self._suspended = True

    def _reconnect(self) -> None:
        if self._released or not self.url or self._offline:
            return
        if not self.isVisible():
            self._suspended = True
            return
        self._stop_stream()
        self._connect()

    # ---- player callbacks ------------------------------------------------------------------

    def _on_frame(self, frame: QVideoFrame) -> None:
        if self._released or not frame.isValid():
            return
        self.frames += 1
        if self.frames == 1 or not self.decode_path:
            # A frame in CPU memory went through FFmpeg's software decoder; a GPU handle
            # means the hardware path (VA-API/VDPAU/CUDA, where the machine has one).
            hw = frame.handleType() != QVideoFrame.HandleType.NoHandle
            self.decode_path = "hardware" if hw else "software"
            if self.health is not None and self.camera_id:
                h = self.health.camera(self.camera_id)
                h.decode, h.stream = self.decode_path, self.dialled
        self._frame = QVideoFrame(frame)
        self._image = None
        self._last_frame_at = time.monotonic()
        if self.state is not StreamState.PLAYING:
            self.failures = 0
            self.reason = ""
            self._set_state(StreamState.PLAYING)
        self.frameArrived.emit()
        self.update()

    def _on_error(self, error: QMediaPlayer.Error, message: str) -> None:
        if error == QMediaPlayer.Error.NoError or self._released:
            return
        log.info("stream %s failed: %s", self.shown_url(), redact_url(message))
        self._fail(StreamState.FAILED, redact_url(message) or str(error))

    def _on_media_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if self._released:
            return
        if status == QMediaPlayer.MediaStatus.InvalidMedia:
            self._fail(
                StreamState.FAILED, redact_url(self._player.errorString()) or "invalid media"
            )
        elif status == QMediaPlayer.MediaStatus.EndOfMedia and self.state in (
            StreamState.PLAYING,
            StreamState.CONNECTING,
        ):
            # A live stream that "ends" has dropped: same as a stall.
            self._fail(StreamState.STALLED, "end of stream")

    def _check(self) -> None:
        """The watchdog: stall and connect timeouts, and the overlay's countdown."""
        if self._released:
            return
        now = time.monotonic()
        if self.state is StreamState.PLAYING:
            if now - self._last_frame_at > self.stall_after_s:
                self._fail(StreamState.STALLED, "no frame")
        elif self.state is StreamState.CONNECTING:
            if now - self._connect_started > self.connect_timeout_s:
                self._fail(StreamState.FAILED, "timeout")
        elif self.state in (StreamState.STALLED, StreamState.FAILED):
            self._apply_state()

    # ---- visibility: decode only while visible ------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._suspended and not self._released and self.url and not self._offline:
            self._connect()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if self._released or not self.url or self._offline:
            return
        if self.decoding or self._retry.isActive() or self.state is StreamState.CONNECTING:
            self._stop_stream()
            self._suspended = True

    # ---- presentation ----------------------------------------------------------------------

    def _set_state(self, state: StreamState, force: bool = False) -> None:
        if state is self.state and not force:
            return
        self.state = state
        if self.health is not None and self.camera_id:
            self.health.note(self.camera_id, state.value, self.reason)
        self._apply_state()
        self.stateChanged.emit(state.value)

    def state_text(self) -> str:
        zh = is_chinese()
        s = self.state
        if s is StreamState.IDLE:
            return zh_en("未选择摄像头", "No camera")
        if s is StreamState.CONNECTING:
            n = f"（第 {self.attempts} 次）" if zh else f" (attempt {self.attempts})"
            return (zh_en("正在连接…", "Connecting…")) + (n if self.attempts > 1 else "")
        if s is StreamState.OFFLINE:
            return zh_en("摄像头离线", "Camera offline")
        wait = max(0, round(self._retry_at - time.monotonic()))
        if s is StreamState.STALLED:
            head = zh_en("画面中断", "Stream stalled")
        else:
            head = zh_en("无法播放", "Cannot play")
        if zh:
            return f"{head}\n{wait} 秒后重连（已尝试 {self.attempts} 次）"
        return f"{head}\nretrying in {wait} s ({self.attempts} attempts)"

    def path_text(self) -> str:
        """Which stream and decoder are active, in words (tooltip, wall status)."""
        if not self.decode_path:
            return ""
        zh = is_chinese()
        stream = (
            ("子码流" if self.dialled == "sub" else "主码流") if zh else f"{self.dialled} stream"
        )
        if self.decode_path == "hardware":
            dec = "硬件解码" if zh else "hardware decoding"
        else:
            dec = "软件解码（CPU）" if zh else "software decoding (CPU)"
        return f"{stream} · {dec}"

    def reason_text(self) -> str:
        """Why the stream failed, in the UI's language when it is one of ours; the
        decoder's own message as it came."""
        ours = {
            "invalid media": zh_en("无法识别的媒体", "invalid media"),
            "end of stream": zh_en("码流结束", "end of stream"),
        }
        return ours.get(self.reason, self.reason)

    def _apply_state(self) -> None:
        s = self.state
        c = theme.colors()
        self.overlay.setProperty("state", s.value)
        # Never show a camera's credentials (rtsp://user:pass@...) on a wall.
        shown = self.shown_url()
        path = self.path_text()
        reason = self.reason_text()
        self.setToolTip(plain_tooltip(f"{self.caption}\n{shown}\n{path}\n{reason}".strip()))
        if s is StreamState.PLAYING:
            self.overlay.hide()
            return
        bg = QColor(c.get(_COLOURS[s], "#333333"))
        fg = "#000000" if s is StreamState.STALLED else c.get("text_strong", "#ffffff")
        bg.setAlpha(215)
        self.overlay.setStyleSheet(
            f"QLabel#videoOverlay {{ background: rgba({bg.red()},{bg.green()},{bg.blue()},"
            f"{bg.alpha()}); color: {fg}; border-radius: 6px; padding: 8px;"
            f" font-weight: bold; }}"
        )
        self.overlay.setText(self.state_text())
        self._place_overlay()  # after the text: the font is fitted to it
        self.overlay.show()
        self.overlay.raise_()
        self.update()

    def _place_overlay(self) -> None:
        r = self.rect()
        # Most of the tile: a failure must be impossible to miss from the back of the hall.
        w = max(80, int(r.width() * 0.86))
        h = max(40, int(r.height() * 0.5))
        self.overlay.setGeometry(QRect(r.center().x() - w // 2, r.center().y() - h // 2, w, h))
        # As large as fits: every line whole on one line, however small the tile.
        f = QFont(self.font())
        f.setBold(True)
        f.setPixelSize(100)
        fm = QFontMetrics(f)
        lines = self.overlay.text().splitlines() or [""]
        widest = max(1, *(fm.horizontalAdvance(line) for line in lines))
        px = min(48.0, 100 * (w - 24) / widest, (h - 16) / (1.5 * len(lines)))
        f.setPixelSize(max(10, int(px)))
        self.overlay.setFont(f)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self.state is not StreamState.PLAYING:
            self._place_overlay()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#000000"))
        if self._frame is not None and self._image is None:
            self._image = self._frame.toImage()
        img = self._image
        if img is not None and not img.isNull():
            size = img.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            x = (self.width() - size.width()) / 2
            y = (self.height() - size.height()) / 2
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(QRectF(x, y, size.width(), size.height()), img)
        if self.caption:
            f = QFont(self.font())
            f.setPixelSize(max(11, min(22, self.height() // 14)))
            p.setFont(f)
            fm = p.fontMetrics()
            text = fm.elidedText(self.caption, Qt.TextElideMode.ElideRight, self.width() - 16)
            box = QRect(0, 0, fm.horizontalAdvance(text) + 12, fm.height() + 6)
            p.fillRect(box, QColor(0, 0, 0, 160))
            p.setPen(QColor("#ffffff"))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        p.end()
