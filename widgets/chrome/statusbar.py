"""The status bar of every screen window: can I trust this screen, and what is it showing?

It reuses the overview's ``StatusStrip`` (link badge, data age, counters, the clock in the
hall's zone via ``commandcenter.hall_time.local``) rather than a second copy of the same
logic, and adds what only the window knows: the layout shown and the screen it is on.

Why every window has its own: in a hall each screen is read on its own from a distance;
an officer looking at the right-hand wall must not have to turn to the left one to learn
that the feed is down. The bar is driven by the shared ``LiveBridge`` (one 1 Hz tick and
status signal for all windows) and disconnects itself in ``teardown``.

With several live sources the strip's badge shows the worst of them (the hall status of
``commandcenter.status.StatusBoard``) and a label beside it counts how many are live, with
every source's own state, counters and last error in its tooltip: the officer sees that
one source is down without opening the feed status panel, and which one on hover.

The time slider (``widgets.chrome.timeslider.TimeSlider``) goes in a slot of its own
(``set_time_slider``) so every screen can leave live mode and show that it has; the bar
tears it down with itself, because the slider subscribes to the shell's time-travel
controller, which outlives every window.

While the slider replays, the link badge says both things at once, "链路实时 · 画面回放 /
Link live · view: replay" in the replay red, never the green "实时 / Live" alone: the link
is live (events keep arriving into the live store) but what the screen shows is the past,
and a green "live" beside a red REPLAY marker would contradict it (``link_badge_text``).

The message line (``say``) is where every key of the officer answers: what an action did,
why it was refused, that the server confirmed it. It is a label of its own, not
``showMessage``: a message must not hide the link badge beside it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from commandcenter import hall_time
from commandcenter.status import LinkState, StatusBoard
from commandcenter.timetravel import Mode, TimeTravelState
from widgets import theme
from widgets.chrome.timeslider import TimeSlider
from widgets.i18n import is_chinese, zh_en
from widgets.labels import link_label
from widgets.live import LiveBridge
from widgets.overview import StatusStrip

__all__ = ["HallStatusBar", "StatusStrip", "link_badge_text", "screen_label"]


def link_badge_text(state: LinkState, replaying: bool) -> str:
    """The link badge's words: the link's state, and while replaying that the view is not
    live ("链路实时 · 画面回放" / "Link live · view: replay")."""
    label = link_label(state)
    if not replaying:
        return label
    return zh_en("链路{state} · 画面回放", "Link {state} · view: replay").format(
        state=label if is_chinese() else label.lower()
    )


# Output names that say nothing (a virtual X server's, the offscreen platform's).
_GENERIC_SCREEN_NAMES = frozenset({"", "screen", "offscreen"})


def screen_label(name: str, index: int) -> str:
    """ "屏幕 2（HDMI-1）" / "screen 2 (HDMI-1)": the window's screen by number, with the
    output's own name when it has a telling one."""
    n = index + 1
    if name.strip().lower() in _GENERIC_SCREEN_NAMES:
        return zh_en("屏幕 {n}", "screen {n}").format(n=n)
    return zh_en("屏幕 {n}（{name}）", "screen {n} ({name})").format(n=n, name=name)


class HallStatusBar(QStatusBar):
    """Status strip (link, data age, counters, clock) plus layout and screen names."""

    def __init__(self, bridge: LiveBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hallStatusBar")
        self.setSizeGripEnabled(False)
        self.strip = StatusStrip(bridge.store, bridge.status, self)
        self._status = bridge.status
        self.where = QLabel(self)
        self.where.setObjectName("layoutWhere")
        self.message = QLabel(self)
        self.message.setObjectName("statusMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # case data may be in it
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.message.clear)
        self.addWidget(self.strip, 1)
        self.addPermanentWidget(self.message)
        self.board: StatusBoard | None = bridge.sources
        self.sources = QLabel(self)
        self.sources.setObjectName("sourcesSummary")
        self.addPermanentWidget(self.sources)
        self.addPermanentWidget(self.where)
        self._layout_name = ""
        self._screen_name = ""
        self._screen_index = 0
        self.time_slider: TimeSlider | None = None
        self._replay_ts: float | None = None  # the time shown while replaying, else None
        self._undo: list[Callable[[], None]] = []
        self._listen(bridge.tick, self._on_tick)
        self._listen(bridge.statusChanged, self.update_status)
        self._listen(bridge.statusChanged, self.update_sources)
        self.retranslate()

    def _listen(self, signal, slot) -> None:  # type: ignore[no-untyped-def]
        signal.connect(slot)

        def undo() -> None:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass

        self._undo.append(undo)

    def _on_tick(self) -> None:
        # Counters move without a status notification: re-read them with the clock.
        self.update_status()
        self.strip.update_time()
        self.update_sources()

    @property
    def replaying(self) -> bool:
        return self._replay_ts is not None

    def update_status(self, *_: object) -> None:
        """The strip's badge and counters, then the badge told that the view is a replay
        when it is (the strip alone only knows the link)."""
        self.strip.update_status()
        badge = self.strip.badge
        state = self._status.state
        if self._replay_ts is not None:
            badge.setText(link_badge_text(state, True))
            badge.setToolTip(
                zh_en(
                    "画面显示的是过去（回放 {t}），不是实时；数据链路：{state}，实时数据继续接收",
                    "The view shows the past (replay {t}), not the present; feed link: "
                    "{state}, live data keeps arriving",
                ).format(
                    t=hall_time.local(self._replay_ts).strftime("%H:%M"), state=link_label(state)
                )
            )
        if badge.property("replay") != self.replaying:
            badge.setProperty("replay", self.replaying)
            badge.style().unpolish(badge)
            badge.style().polish(badge)

    def _on_time_travel(self, state: TimeTravelState) -> None:
        replay = state.mode is Mode.REPLAY and state.replay_ts is not None
        self._replay_ts = state.replay_ts if replay else None
        self.update_status()

    def update_sources(self, *_: object) -> None:
        """``live/total`` sources, shown when there are several; each one in the tooltip."""
        rows = self.board.rows if self.board is not None else []
        self.sources.setVisible(len(rows) > 1)
        if len(rows) < 2:
            return
        live = sum(r.status.state is LinkState.LIVE for r in rows)
        self.sources.setText(
            zh_en("数据源 {live}/{total} 实时", "sources {live}/{total} live").format(
                live=live, total=len(rows)
            )
        )
        alert = live < len(rows)
        if self.sources.property("alert") != alert:
            self.sources.setProperty("alert", alert)
            self.sources.style().unpolish(self.sources)
            self.sources.style().polish(self.sources)
        lines = []
        for r in rows:
            st = r.status
            line = zh_en(
                "{name}（{kind}）：{state} · 事件 {events} · 隔离 {bad}",
                "{name} ({kind}): {state} · events {events} · quarantined {bad}",
            ).format(
                name=r.name,
                kind=r.kind,
                state=link_label(st.state),
                events=f"{st.applied:,}",
                bad=f"{st.quarantined_total:,}",
            )
            if st.last_error:
                line += "\n    " + st.last_error
            lines.append(line)
        self.sources.setToolTip("\n".join(lines))

    def set_time_slider(self, slider: TimeSlider) -> None:
        """Put the time slider between the status strip and the layout name; the bar owns
        it from now on (``teardown`` unsubscribes it)."""
        if self.time_slider is not None:
            self.time_slider.teardown()
            self.removeWidget(self.time_slider)
            self.time_slider.deleteLater()
        self.time_slider = slider
        self.insertPermanentWidget(1, slider, 1)  # after the strip (index 0), before `where`
        self._undo.append(slider.teardown)
        self._undo.append(slider.controller.subscribe(self._on_time_travel))
        self._on_time_travel(slider.controller.state())

    MESSAGE_MS = 30_000  # a message stays this long unless the next one replaces it

    def say(self, text: str, error: bool = False) -> None:
        """Show what the officer's last key did (red when it was refused)."""
        c = theme.colors()
        colour = c["red"] if error else c["text_strong"]
        self.message.setStyleSheet(
            f"QLabel#statusMessage {{ color: {colour}; font-weight: bold; padding: 0 8px; }}"
        )
        self.message.setText(text)
        self.message.setToolTip(text)
        self._message_timer.start(self.MESSAGE_MS)

    def set_location(self, layout_name: str, screen_name: str, index: int = 0) -> None:
        """Say which layout this window shows and on which screen (operators arranging
        a hall need to know which physical output a window landed on)."""
        self._layout_name, self._screen_name, self._screen_index = layout_name, screen_name, index
        self.retranslate()

    def retranslate(self) -> None:
        self.where.setText(
            zh_en("布局 {layout} · {screen}", "Layout {layout} · {screen}").format(
                layout=self._layout_name or "—",
                screen=screen_label(self._screen_name, self._screen_index),
            )
        )
        self.where.setToolTip(
            zh_en(
                "当前显示的布局，以及本窗口所在的屏幕（显示器输出）",
                "The layout shown and the screen (monitor output) this window is on",
            )
        )
        self.update_sources()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def teardown(self) -> None:
        """Disconnect from the bridge (it outlives the window). Idempotent."""
        while self._undo:
            self._undo.pop()()
