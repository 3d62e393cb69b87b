"""Time travel: the live store keeps applying while the view shows the past; back to live."""

from __future__ import annotations

from pathlib import Path

from commandcenter.journal import Journal, Recorder
from commandcenter.store import Store
from commandcenter.timetravel import Mode, TimeTravel
from feeds.journal_codec import journal_codec
from tests.test_journal import T0, fingerprint, make_events, snapshot0


def _setup(tmp_path: Path) -> tuple[Store, Recorder, TimeTravel, list]:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), checkpoint_every=100)
    live = Store()
    rec = Recorder(live, journal)
    rec.reset(snapshot0())
    events = make_events(2000)
    for k in range(0, 1000, 50):
        rec.apply(events[k : k + 50])
    live.set_clock(T0 + 999, 1.0)
    return live, rec, TimeTravel(live, journal), events


def test_seek_shows_the_past_while_live_keeps_applying(tmp_path: Path) -> None:
    live, rec, tt, events = _setup(tmp_path)
    states = []
    unsub = tt.subscribe(states.append)
    assert tt.view is live and tt.is_live
    result = tt.seek(T0 + 499)
    assert tt.mode is Mode.REPLAY and tt.view is not live
    assert tt.view.seq == 500 and result.seconds < 1
    assert tt.view.clock.now() == T0 + 499  # countdowns frozen at the chosen time
    past = fingerprint(tt.view)
    for k in range(1000, 2000, 50):  # the feed goes on meanwhile
        rec.apply(events[k : k + 50])
    assert live.seq == 2000 and fingerprint(tt.view) == past
    tt.back_to_live()
    assert tt.view is live and tt.replay_ts is None
    assert [s.mode for s in states] == [Mode.REPLAY, Mode.LIVE]
    unsub()
    assert tt.subscriber_count == 0


def test_bounds_are_the_window_narrowed_to_the_journal(tmp_path: Path) -> None:
    _live, _rec, tt, _ = _setup(tmp_path)
    lo, hi = tt.bounds()
    assert lo == T0 and abs(hi - (T0 + 999)) < 5


def test_time_slider_drives_the_controller_and_cleans_up(tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    from widgets.chrome.timeslider import TimeSlider

    _live, _rec, tt, _ = _setup(tmp_path)
    w = TimeSlider(tt)
    assert not w.back.isVisibleTo(w)
    w.seek_minutes_back(10)
    assert tt.mode is Mode.REPLAY
    assert "REPLAY" in w.marker.text() and w.back.isVisibleTo(w)
    w.back.click()
    assert tt.is_live and "LIVE" in w.marker.text()
    w.teardown()
    assert tt.subscriber_count == 0
    w.deleteLater()
