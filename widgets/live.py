"""The Qt side of the live store: change sets in, at most one repaint signal per frame out.

Why coalesce: the feed may apply hundreds of small batches a second; repainting every panel
for each would spend the GUI thread on paint instead of on the officer. The bridge folds
change sets together (``ChangeSet.merge``) and emits ``changed`` once per frame (10 Hz by
default), so the cost of a repaint no longer depends on the event rate.

Why a separate 1 Hz ``tick``: countdowns, clocks and the data age move with time even when
no event arrives; one shared timer keeps every panel's second in step and costs one wakeup.

Teardown: the bridge keeps the unsubscribes of the store and the feed status, and calls them
in ``close()`` and, as a safety net, when the Qt object is destroyed; its timers are its
children and stop in ``close()``. A panel that owns no timers of its own therefore leaves
nothing behind when it closes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from commandcenter.status import FeedStatus, StatusBoard
from commandcenter.store import ChangeSet, Store

log = logging.getLogger(__name__)

DEFAULT_FRAME_HZ = 10.0
TICK_MS = 1000


def _run_all(unsubscribes: list[Callable[[], None]]) -> None:
    """Unsubscribe without touching the (possibly half-destroyed) bridge object."""
    while unsubscribes:
        unsub = unsubscribes.pop()
        try:
            unsub()
        except Exception:  # a broken unsubscribe must not keep the others alive
            log.exception("unsubscribe failed")


class LiveBridge(QObject):
    """Subscribes to a Store and a FeedStatus and re-emits them as frame-paced Qt signals.

    Signals (all on the bridge's thread, i.e. the GUI thread):
    - ``changed(ChangeSet)``: everything that changed since the last emission, merged;
    - ``statusChanged(FeedStatus)``: the link status moved (state, counters, error);
    - ``tick()``: once a second, for clocks, countdowns and data age.

    With several live sources ``status`` is the hall's status over them and ``sources``
    the ``StatusBoard`` holding each one's own; the bridge recomputes the hall's from the
    sources before every tick (their counters move without notifications), so every
    reader of ``status`` on a tick sees the sums of that second.
    """

    changed = Signal(object)
    statusChanged = Signal(object)
    tick = Signal()
    _wake = Signal()  # queued to the bridge's thread when a callback arrives from elsewhere

    def __init__(
        self,
        store: Store,
        status: FeedStatus,
        *,
        frame_hz: float = DEFAULT_FRAME_HZ,
        tick_ms: int = TICK_MS,
        parent: QObject | None = None,
        sources: StatusBoard | None = None,
    ) -> None:
        super().__init__(parent)
        if frame_hz <= 0:
            raise ValueError(f"frame_hz must be positive, got {frame_hz}")
        self.store = store
        self.status = status
        self.sources = sources
        self._frame_s = 1.0 / frame_hz
        self._lock = threading.Lock()
        self._pending: ChangeSet | None = None
        self._status_dirty = False
        self._last_flush = 0.0
        self._closed = False
        self.emitted = 0  # how many ``changed`` emissions so far (tests, diagnostics)

        self._frame = QTimer(self)
        self._frame.setObjectName("liveBridgeFrame")
        self._frame.setSingleShot(True)
        self._frame.setTimerType(Qt.TimerType.PreciseTimer)
        self._frame.timeout.connect(self.flush)

        self._tick = QTimer(self)
        self._tick.setObjectName("liveBridgeTick")
        self._tick.setInterval(tick_ms)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start()

        self._wake.connect(self._schedule, Qt.ConnectionType.QueuedConnection)

        self._unsubscribes: list[Callable[[], None]] = [
            store.subscribe(self._on_changes),
            status.subscribe(self._on_status),
        ]
        # Safety net when the owner forgets close(): the list, not self, is captured.
        unsubs = self._unsubscribes
        self.destroyed.connect(lambda *_: _run_all(unsubs))

    # ---- callbacks from the core (any thread; normally the GUI thread) ------------------

    def _on_changes(self, cs: ChangeSet) -> None:
        if self._closed:
            return
        with self._lock:
            if self._pending is None:
                self._pending = ChangeSet()
            self._pending.merge(cs)
        self._request_frame()

    def _on_status(self, _status: FeedStatus) -> None:
        if self._closed:
            return
        with self._lock:
            self._status_dirty = True
        self._request_frame()

    def _request_frame(self) -> None:
        if not shiboken6.isValid(self):
            return
        if QThread.currentThread() is self.thread():
            self._schedule()
        else:  # never start a QTimer from a foreign thread
            self._wake.emit()

    @Slot()
    def _schedule(self) -> None:
        """Start the frame timer unless a frame is already due; leading edge when idle."""
        if self._closed or self._frame.isActive():
            return
        wait = self._frame_s - (time.monotonic() - self._last_flush)
        self._frame.start(max(0, round(wait * 1000)))

    @Slot()
    def _on_tick(self) -> None:
        if self.sources is not None:
            self.sources.refresh()
        self.tick.emit()

    # ---- public ------------------------------------------------------------------------

    @Slot()
    def flush(self) -> None:
        """Emit what is pending now (the frame timer calls it; tests may too)."""
        if self._closed:
            return
        self._frame.stop()
        with self._lock:
            cs, self._pending = self._pending, None
            status_dirty, self._status_dirty = self._status_dirty, False
        self._last_flush = time.monotonic()
        if status_dirty:
            self.statusChanged.emit(self.status)
        if cs is not None:
            self.emitted += 1
            self.changed.emit(cs)

    @property
    def frame_hz(self) -> float:
        return 1.0 / self._frame_s

    def set_frame_hz(self, hz: float) -> None:
        """A wall far from the eye can paint less often than a console; 1..60 Hz."""
        if not 1.0 <= hz <= 60.0:
            raise ValueError(f"frame rate must be within 1..60 Hz, got {hz}")
        self._frame_s = 1.0 / hz

    @property
    def is_closed(self) -> bool:
        return self._closed

    def timers(self) -> list[QTimer]:
        """The bridge's own timers (tests check none is active after close)."""
        return [self._frame, self._tick]

    def close(self) -> None:
        """Unsubscribe from the core and stop every timer; idempotent."""
        if self._closed:
            return
        self._closed = True
        _run_all(self._unsubscribes)
        if shiboken6.isValid(self):
            self._frame.stop()
            self._tick.stop()
        with self._lock:
            self._pending = None
            self._status_dirty = False
