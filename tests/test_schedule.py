"""Which layout shows when: windows in the hall's time zone, wrapping midnight, overlaps
to the narrowest, gaps to the default, all predictable."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from commandcenter import hall_time
from layouts import schedule as S

SH = ZoneInfo("Asia/Shanghai")


def doc(name: str, frm: str | None = None, to: str | None = None) -> dict:
    return {"name": name, "schedule": {"from": frm, "to": to} if frm else None}


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 3, 4, h, m, tzinfo=SH)


DAY, NIGHT, DEFAULT = doc("白班", "08:00", "20:00"), doc("夜班", "20:00", "08:00"), doc("默认")


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("07:59", "夜班"),
        ("08:00", "白班"),  # start included
        ("19:59", "白班"),
        ("20:00", "夜班"),  # end excluded: the night takes over exactly at 20:00
        ("23:30", "夜班"),
        ("00:00", "夜班"),
        ("03:15", "夜班"),
    ],
)
def test_day_and_night_hand_over_at_the_edges(when: str, expected: str) -> None:
    assert S.pick([DAY, NIGHT, DEFAULT], at(when))["name"] == expected


def test_overlap_goes_to_the_narrowest_then_to_the_list_order() -> None:
    briefing = doc("午间研判", "12:00", "13:00")
    assert S.pick([DAY, briefing], at("12:30"))["name"] == "午间研判"
    assert S.pick([DAY, briefing], at("13:00"))["name"] == "白班"
    twin = doc("白班2", "08:00", "20:00")
    assert S.pick([DAY, twin], at("10:00"))["name"] == "白班"
    assert S.pick([twin, DAY], at("10:00"))["name"] == "白班2"
    all_day = doc("全天", "06:00", "06:00")
    assert S.pick([all_day], at("05:59"))["name"] == "全天"
    assert S.pick([all_day, DAY], at("09:00"))["name"] == "白班", "narrower than all day"


def test_gaps_go_to_the_default_else_the_layout_that_ended_last() -> None:
    morning, evening = doc("早", "08:00", "12:00"), doc("晚", "18:00", "22:00")
    assert S.pick([morning, evening, DEFAULT], at("14:00"))["name"] == "默认"
    assert S.pick([morning, evening], at("14:00"))["name"] == "早"
    assert S.pick([morning, evening], at("23:00"))["name"] == "晚"
    assert S.pick([morning, evening], at("07:00"))["name"] == "晚", "ended at 22:00 yesterday"
    assert S.pick([], at("07:00")) is None
    assert S.pick([DEFAULT], at("07:00"))["name"] == "默认"


def test_time_is_the_halls_not_the_machines() -> None:
    # 00:30 UTC is 08:30 in Shanghai: the day shift, whatever zone the machine runs in.
    utc = datetime(2026, 3, 4, 0, 30, tzinfo=UTC)
    assert S.pick([DAY, NIGHT], utc)["name"] == "白班"
    assert S.pick([DAY, NIGHT], utc.timestamp())["name"] == "白班"
    try:
        hall_time.set_zone("UTC")
        assert S.pick([DAY, NIGHT], utc.timestamp())["name"] == "夜班"
    finally:
        hall_time.set_zone(hall_time.DEFAULT_ZONE)


def test_next_change_and_bad_times() -> None:
    assert S.next_change([DAY, NIGHT], at("07:00")) == 60
    assert S.next_change([DAY, NIGHT], at("20:00")) == 12 * 60
    assert S.next_change([DEFAULT], at("20:00")) is None
    for bad in ("8:00", "24:00", "12:60", "noon", ""):
        with pytest.raises(ValueError):
            S.parse_hhmm(bad)


# ---- the running shell switches at the shift change (layouts/shifts.py) ------------------


class MovedClock:
    """The feed's clock as the test moves it (the shell reads the store's clock)."""

    def __init__(self, when: datetime) -> None:
        self.t = when.timestamp()

    def __call__(self) -> float:
        return self.t

    def to(self, when: datetime) -> None:
        self.t = when.timestamp()


@pytest.fixture
def shift_shell(qapp, tmp_path):
    from commandcenter.status import FeedStatus
    from commandcenter.store import Store
    from layouts.library import USER, LayoutLibrary, builtin_layout
    from layouts.shell import Shell
    from widgets.base import hall_context
    from widgets.live import LiveBridge

    store, status = Store(), FeedStatus()
    bridge = LiveBridge(store, status)
    lib = LayoutLibrary(tmp_path / "user")  # the presets too (none is bound to a shift)
    from widgets import i18n

    i18n.set_language(qapp, i18n.CHINESE)
    for key, name, name_en, frm, to in (
        ("day", "白班", "Day shift", "08:00", "20:00"),
        ("night", "夜班", "Night shift", "20:00", "08:00"),
    ):
        doc = builtin_layout()
        doc["name"], doc["name_en"] = name, name_en
        doc["schedule"] = {"from": frm, "to": to}
        lib.save(doc, key)
    shell = Shell(hall_context(store, status, bridge), lib, interactive=False)
    shell.shifts.stop()  # the test ticks it
    shell.open_layout("day", USER)
    yield shell
    shell.close_all()
    bridge.close()


def _instant(hhmm: str, s: int = 0, day: int = 4) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 3, day, h, m, s, tzinfo=SH)


def test_shift_change_shows_a_notice_then_switches(shift_shell, qapp) -> None:
    sw = shift_shell.shifts
    clock = MovedClock(_instant("19:59", 50))
    sw.clock = clock
    sw.notice_seconds = 30
    from widgets import i18n

    sw.tick()  # learns what is bound now: the day shift, shown
    assert shift_shell.key == "day" and sw.pending is None and not sw.notices()
    clock.to(_instant("20:00", 0))
    sw.tick()
    notices = sw.notices()
    assert len(notices) == len(shift_shell.windows) >= 1
    text = notices[0].label.text()
    assert "夜班" in text and "30" in text, text
    assert notices[0].button.text() == "留在当前"
    i18n.set_language(qapp, i18n.ENGLISH)
    try:
        sw.tick()
        assert sw.notices()[0].label.text() == "Switching to Night shift in 30 s"
        assert sw.notices()[0].button.text() == "Stay"
    finally:
        i18n.set_language(qapp, i18n.CHINESE)
    clock.to(_instant("20:00", 29))
    sw.tick()
    assert shift_shell.key == "day" and "1" in sw.notices()[0].label.text()
    clock.to(_instant("20:00", 30))
    sw.tick()
    assert shift_shell.key == "night" and shift_shell.layout_name() == "夜班"
    assert sw.pending is None and not sw.notices()
    clock.to(_instant("20:05"))
    sw.tick()  # no change: nothing to say
    assert shift_shell.key == "night" and not sw.notices()


def test_stay_keeps_the_layout_until_the_next_shift_change(shift_shell) -> None:
    sw = shift_shell.shifts
    clock = MovedClock(_instant("07:59", 55))
    sw.clock = clock
    sw.notice_seconds = 10  # injectable: a hall may want a longer or shorter notice
    shift_shell.open_layout("night", "user")
    sw.tick()
    clock.to(_instant("08:00", 1))
    sw.tick()
    (first, *_rest) = sw.notices()
    assert "白班" in first.label.text()
    first.button.click()  # 留在当前 / Stay
    assert sw.pending is None and not sw.notices() and sw.stayed == "day"
    for minute in ("08:01", "12:00", "19:59"):
        clock.to(_instant(minute))
        sw.tick()
        assert shift_shell.key == "night" and not sw.notices(), minute
    clock.to(_instant("20:00"))
    sw.tick()  # the night shift starts: night is shown already, nothing to do
    assert shift_shell.key == "night" and sw.pending is None
    clock.to(_instant("08:00", 0, day=5))
    sw.tick()
    clock.to(_instant("08:00", 10, day=5))
    sw.tick()  # the next day shift: switched (the stay was for one shift)
    assert shift_shell.key == "day"


def test_a_layout_opened_by_hand_is_not_switched_back(shift_shell) -> None:
    sw = shift_shell.shifts
    clock = MovedClock(_instant("10:00"))
    sw.clock = clock
    sw.tick()
    shift_shell.open_layout("night", "user")  # the officer's choice mid-shift
    for minute in ("10:01", "15:00", "19:59"):
        clock.to(_instant(minute))
        sw.tick()
        assert shift_shell.key == "night" and not sw.notices()


def test_a_running_briefing_is_not_cut_off_by_the_shift_change(shift_shell) -> None:
    sw = shift_shell.shifts
    clock = MovedClock(_instant("19:59", 59))
    sw.clock = clock
    sw.tick()
    assert shift_shell.briefing.start()  # the leader preset's playlist (F5)
    clock.to(_instant("20:00", 0))
    sw.tick()
    clock.to(_instant("20:01", 0))
    sw.tick()
    assert shift_shell.briefing.active and sw.pending is not None
    assert not sw.notices(), "no notice in front of the briefing's audience"
    shift_shell.briefing.stop()  # back to the day layout it interrupted
    assert shift_shell.key == "day"
    sw.tick()
    assert shift_shell.key == "day" and "30" in sw.notices()[0].label.text()
    clock.to(_instant("20:01", 30))
    sw.tick()
    assert shift_shell.key == "night" and not sw.notices()


def test_the_shells_own_timer_makes_the_switch(shift_shell, qtbot) -> None:
    sw = shift_shell.shifts
    clock = MovedClock(_instant("07:59", 59))
    sw.clock = clock
    shift_shell.open_layout("night", "user")
    sw.tick()
    clock.to(_instant("08:00", 0))
    sw.notice_seconds = 0
    sw.timer.start(20)  # what Shell() starts at TICK_MS
    qtbot.waitUntil(lambda: shift_shell.key == "day", timeout=5000)
