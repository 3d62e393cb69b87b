"""The time slider of the status bar: scrub back through the last 24 h (and through any
imported history, months of it), then back to live.

Why it looks like this: in a hall, a screen showing the past that is mistaken for the
present is worse than a blank one. So while not live the slider shows a large, high
contrast "回放 REPLAY hh:mm" marker (also in English, which every officer reads) and a
"返回实时 / Back to live" button; live, it shrinks to a quiet "实时 LIVE" and the slider.

It drives ``commandcenter.timetravel.TimeTravel`` (seek on release, not on every pixel:
a seek rebuilds a store) and follows it by subscription, undone in ``teardown``. It knows
nothing of feeds. Texts come from small tables in both languages rather than the .ts
catalogue, so the bilingual marker reads the same whatever the interface language.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from commandcenter import hall_time
from commandcenter.timetravel import Mode, TimeTravel, TimeTravelState
from widgets.i18n import is_chinese

STEP_S = 60  # one slider step: a minute

_TEXT = {
    "live": ("实时 LIVE", "LIVE"),
    "replay": ("回放 REPLAY {t}", "REPLAY {t}"),
    "back": ("返回实时", "Back to live"),
    "tip": (
        "拖动查看过去的县情（实时记录最近24小时，导入的历史全部），松开后回放；最早可回到 {lo}",
        "Drag to see the county as it was (the live record's last 24 h, all imported history);"
        " release to replay. Earliest: {lo}",
    ),
    "ago": ("{h}小时{m}分钟前", "{h} h {m} min ago"),
    "ago_days": ("{d}天{h}小时前", "{d} d {h} h ago"),
}
RANGE_REFRESH_MS = 15_000  # an import can widen the range while the app runs


def _t(key: str) -> str:
    zh, en = _TEXT[key]
    return zh if is_chinese() else en


def _hhmm(ts: float, now: float | None = None) -> str:
    """The hall's wall time (as every clock shown); with the date when not ``now``'s day."""
    local = hall_time.local(ts)
    if now is not None and local.date() != hall_time.local(now).date():
        return local.strftime("%Y-%m-%d %H:%M")
    return local.strftime("%H:%M")


class TimeSlider(QWidget):
    def __init__(self, controller: TimeTravel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeSlider")
        self.controller = controller
        self.marker = QLabel(self)
        self.marker.setObjectName("replayMarker")
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("timeSliderBar")
        self.slider.setMinimumWidth(220)
        self.slider.setRange(-int(controller.window_s // STEP_S), 0)
        self.slider.setValue(0)
        self._range = QTimer(self)
        self._range.setInterval(RANGE_REFRESH_MS)
        self._range.timeout.connect(self.refresh_range)
        self._range.start()
        self.slider.setPageStep(15)
        self.ago = QLabel(self)
        self.ago.setObjectName("replayAgo")
        self.back = QPushButton(self)
        self.back.setObjectName("backToLive")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.setSpacing(8)
        lay.addWidget(self.marker)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.ago)
        lay.addWidget(self.back)
        self.slider.sliderReleased.connect(self._released)
        self.slider.valueChanged.connect(self._preview)
        self.back.clicked.connect(self.go_live)
        self._undo: list[Callable[[], None]] = [controller.subscribe(self._on_state)]
        self.refresh_range()
        self.retranslate()
        self._on_state(controller.state())

    def refresh_range(self) -> None:
        """The slider's left end: as far back as the controller can seek (whole minutes)."""
        lo, now = self.controller.bounds()
        back = max(1, int((now - lo) // STEP_S))
        if self.slider.minimum() != -back and not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setRange(-back, 0)
            self.slider.setPageStep(15 if back <= 48 * 60 else 24 * 60)  # a day a page over months
            self.slider.blockSignals(False)
        self.slider.setToolTip(_t("tip").format(lo=_hhmm(lo, now)))

    # ---- actions -----------------------------------------------------------------------

    def seek_minutes_back(self, minutes: int) -> None:
        """What releasing the slider at ``-minutes`` does (tests and keyboard use it too)."""
        if minutes <= 0:
            self.go_live()
            return
        self.controller.seek(self.controller.now() - minutes * STEP_S)

    def go_live(self) -> None:
        self.controller.back_to_live()
        self.slider.blockSignals(True)
        self.slider.setValue(0)
        self.slider.blockSignals(False)

    def _released(self) -> None:
        self.seek_minutes_back(-self.slider.value())

    def _preview(self, value: int) -> None:
        self.ago.setText(self._ago_text(-value) if value < 0 else "")
        if not self.slider.isSliderDown() and self.controller.is_live and value < 0:
            self.seek_minutes_back(-value)  # keyboard / page steps

    @staticmethod
    def _ago_text(minutes: int) -> str:
        if minutes >= 48 * 60:
            return _t("ago_days").format(d=minutes // 1440, h=minutes % 1440 // 60)
        return _t("ago").format(h=minutes // 60, m=minutes % 60)

    # ---- following the controller --------------------------------------------------------

    def _on_state(self, state: TimeTravelState) -> None:
        replay = state.mode is Mode.REPLAY and state.replay_ts is not None
        self.setProperty("replay", replay)
        if replay:
            assert state.replay_ts is not None
            self.marker.setText(_t("replay").format(t=_hhmm(state.replay_ts, self.controller.now())))
            self.marker.setStyleSheet(
                "QLabel#replayMarker { background: #b3261e; color: #ffffff; font-weight: bold;"
                " font-size: 16pt; padding: 2px 10px; border-radius: 4px; }"
            )
            minutes = max(0, round((self.controller.now() - state.replay_ts) / STEP_S))
            self.ago.setText(self._ago_text(minutes))
            if -minutes < self.slider.minimum():
                self.refresh_range()
            self.slider.blockSignals(True)
            self.slider.setValue(-minutes)
            self.slider.blockSignals(False)
        else:
            self.marker.setText(_t("live"))
            self.marker.setStyleSheet(
                "QLabel#replayMarker { background: #1b5e20; color: #ffffff; font-weight: bold;"
                " font-size: 11pt; padding: 2px 8px; border-radius: 4px; }"
            )
            self.ago.setText("")
        self.back.setVisible(replay)

    def retranslate(self) -> None:
        self.back.setText(_t("back"))
        self.refresh_range()
        self._on_state(self.controller.state())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def teardown(self) -> None:
        """Unsubscribe from the controller; idempotent."""
        self._range.stop()
        while self._undo:
            self._undo.pop()()
