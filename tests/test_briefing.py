"""The briefing playlist: JSON round trip inside a layout document, the state machine
driven by a fake clock, and the presenter-remote key map."""

from __future__ import annotations

import json

import pytest

from commandcenter.briefing import (
    BRIEFING_KEY,
    BriefingError,
    BriefingItem,
    BriefingPlayer,
    Command,
    ItemKind,
    Playlist,
    State,
    command_for_key,
    playlist_from_layout,
    playlist_into_layout,
)


def _playlist(loop: bool = False) -> Playlist:
    return Playlist(
        title="周一调度会",
        loop=loop,
        items=[
            BriefingItem(ItemKind.LAYOUT, "全县总览", 30, "全县态势"),
            BriefingItem(ItemKind.PANEL, "ranking", 20, "乡镇排名", {"by": "township"}),
            BriefingItem(ItemKind.PANEL, "video_wall", 10, "重点点位"),
        ],
    )


def test_round_trip_through_a_layout_document() -> None:
    doc = {"schema": "commandcenter.layout", "version": 1, "name": "汇报", "panels": {}}
    out = playlist_into_layout(doc, _playlist())
    assert BRIEFING_KEY not in doc, "the input document is not changed"
    back = playlist_from_layout(json.loads(json.dumps(out, ensure_ascii=False)))
    assert back == _playlist()
    assert back is not None and back.masked, "masking is on unless turned off on purpose"
    assert playlist_from_layout(doc) is None
    assert BRIEFING_KEY not in playlist_into_layout(out, None)


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"items": "x"},
        {"items": [{"kind": "movie", "target": "a"}]},
        {"items": [{"kind": "layout"}]},
        {"items": [{"kind": "layout", "target": "a", "duration_s": "long"}]},
        {"format": 99, "items": []},
    ],
)
def test_bad_briefings_are_refused_with_a_reason(raw: object) -> None:
    with pytest.raises(BriefingError):
        playlist_from_layout({"briefing": raw})


def test_durations_are_clamped() -> None:
    pl = Playlist.from_json(
        {"items": [{"target": "a", "duration_s": 0}, {"target": "b", "duration_s": 1e9}]}
    )
    assert [i.duration_s for i in pl.items] == [3.0, 3600.0]


def test_state_machine_with_a_fake_clock() -> None:
    now = [100.0]
    p = BriefingPlayer(_playlist(), clock=lambda: now[0])
    events: list[tuple[str, int, bool]] = []
    p.subscribe(lambda pl: events.append((pl.state.value, pl.index, pl.blanked)))
    assert p.current is None and p.state is State.STOPPED
    p.command(Command.START)
    assert p.current is not None and p.current.target == "全县总览" and p.position_text() == "1/3"
    now[0] += 29.9
    p.tick()
    assert p.index == 0
    now[0] += 0.2
    p.tick()
    assert p.index == 1 and p.remaining() == pytest.approx(20.0)
    # Pause freezes the remaining time.
    now[0] += 5
    p.command(Command.PAUSE)
    now[0] += 100
    p.tick()
    assert p.index == 1 and p.remaining() == pytest.approx(15.0)
    p.command(Command.PAUSE)
    assert p.state is State.PLAYING and p.remaining() == pytest.approx(15.0)
    # Blank: no advance while blanked, and any step unblanks.
    p.command(Command.BLANK)
    assert p.blanked
    now[0] += 60
    p.tick()
    assert p.index == 1
    p.command(Command.NEXT)
    assert p.index == 2 and not p.blanked
    # The last item holds; the presenter ends the briefing.
    now[0] += 1000
    p.tick()
    assert p.index == 2 and p.state is State.PLAYING
    p.command(Command.PREV)
    p.command(Command.PREV)
    p.command(Command.PREV)
    assert p.index == 0
    p.command(Command.LAST)
    p.command(Command.NEXT)
    assert p.state is State.STOPPED and p.current is None
    assert events[0] == ("playing", 0, False)


def test_loop_wraps_and_goto() -> None:
    now = [0.0]
    p = BriefingPlayer(_playlist(loop=True), clock=lambda: now[0])
    p.goto(2)
    assert p.state is State.PLAYING and p.index == 2
    now[0] += 10
    p.tick()
    assert p.index == 0
    p.next()
    p.next()
    p.next()
    assert p.index == 0
    p.stop()
    assert p.state is State.STOPPED
    BriefingPlayer(Playlist()).start()  # an empty playlist does nothing


def test_presenter_remote_keys() -> None:
    assert command_for_key("PgDown") is Command.NEXT
    assert command_for_key("PgUp") is Command.PREV
    assert command_for_key("Right") is Command.NEXT
    assert command_for_key("Left") is Command.PREV
    assert command_for_key("b") is Command.BLANK
    assert command_for_key(".") is Command.BLANK
    assert command_for_key("Period") is Command.BLANK
    assert command_for_key("F5") is Command.START
    assert command_for_key("Esc") is Command.STOP
    assert command_for_key("Escape") is Command.STOP
    assert command_for_key("Q") is None
