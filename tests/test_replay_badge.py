"""The link badge and the REPLAY marker never contradict: while replaying the badge says
the link is live but the view is a replay, in the replay red, in both languages."""

from __future__ import annotations

from pathlib import Path

from commandcenter.status import FeedStatus, LinkState
from tests.test_timetravel import _setup


def test_the_badge_says_link_live_view_replay_while_replaying(tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    from widgets import i18n
    from widgets.chrome.statusbar import HallStatusBar, link_badge_text
    from widgets.chrome.timeslider import TimeSlider
    from widgets.live import LiveBridge

    before = "zh_CN" if i18n.is_chinese() else "en"
    i18n.set_language(qapp, "zh_CN")
    live, _rec, tt, _ = _setup(tmp_path)
    status = FeedStatus()
    status.set_state(LinkState.LIVE)
    bridge = LiveBridge(live, status)
    bar = HallStatusBar(bridge)
    bar.set_time_slider(TimeSlider(tt, bar))
    badge, marker = bar.strip.badge, bar.time_slider.marker  # type: ignore[union-attr]
    try:
        assert badge.text() == "实时" and not badge.property("replay")
        assert "实时" in marker.text()
        bar.time_slider.seek_minutes_back(10)  # type: ignore[union-attr]
        assert "回放" in marker.text()
        assert badge.text() == "链路实时 · 画面回放" and badge.property("replay") is True
        assert "回放" in badge.toolTip()
        bridge.tick.emit()  # the 1 Hz refresh must not turn it back to a plain "live"
        assert badge.text() == link_badge_text(LinkState.LIVE, True)
        status.set_state(LinkState.RECONNECTING)  # the link's own state still shows
        bar.update_status()
        assert badge.text() == "链路重连中 · 画面回放"
        status.set_state(LinkState.LIVE)
        i18n.set_language(qapp, "en")
        bar.update_status()
        assert badge.text() == "Link live · view: replay" and "REPLAY" in marker.text()
        bar.time_slider.go_live()  # type: ignore[union-attr]
        assert badge.text() == "Live" and badge.property("replay") is False
        assert "LIVE" in marker.text()
    finally:
        i18n.set_language(qapp, before)
        bar.teardown()
        bridge.close()
    assert tt.subscriber_count == 0  # the bar's subscription went with it
