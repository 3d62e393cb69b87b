"""The shipped presets: valid layouts, in Chinese, each bound to a role that allows every
panel it shows, built only from registered panels, with the screens the issue describes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commandcenter.domain import Role
from layouts import roles
from layouts.schema import ScreenInfo, match_screens, panels_in, parse
from widgets import registry
from widgets.theme import scale_for_screen

PRESETS = Path(__file__).resolve().parent.parent / "layouts" / "presets"
NAMES = ["duty_console", "dispatch_desk", "leader_briefing", "video_wall"]
BUILTIN = {
    "overview",
    "sla_tiles",
    "newest_cases",
    "feed_status",
    "alerts",
    "kpis",
    "map",
    "video_wall",
}


def load(name: str) -> dict:
    doc, steps = parse((PRESETS / f"{name}.json").read_text(encoding="utf-8"))
    assert steps == [], "presets ship at the current version"
    return doc


@pytest.mark.parametrize("name", NAMES)
def test_preset_is_valid_chinese_and_allowed_for_its_role(name: str) -> None:
    doc = load(name)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in doc["name"])
    Role(doc["role"])
    assert roles.check_layout(doc) == []
    types = {p["type"] for p in doc["panels"].values()}
    assert types <= BUILTIN | set(registry.names()), "a preset shows no placeholder"
    placed = [pid for s in doc["screens"] for pid in panels_in(s["dock"])]
    assert sorted(placed) == sorted(doc["panels"]), "every panel is placed, once"


def test_each_preset_matches_the_issue() -> None:
    duty, desk, brief, wall = (load(n) for n in NAMES)
    assert duty["role"] == "duty_officer" and len(duty["screens"]) == 2
    first = {duty["panels"][p]["type"] for p in panels_in(duty["screens"][0]["dock"])}
    second = {duty["panels"][p]["type"] for p in panels_in(duty["screens"][1]["dock"])}
    assert {"case_queue", "case_detail", "alarms"} <= first, "the officer's work screen"
    assert {"map", "sla_tiles", "kpis", "feed_status"} <= second
    desk_types = {p["type"] for p in desk["panels"].values()}
    assert {"case_queue", "case_detail", "map"} <= desk_types
    assert desk["role"] == "dispatcher" and len(desk["screens"]) == 1
    assert brief["role"] == "leader" and len(brief["screens"]) == 1
    assert brief["screens"][0]["scale"] >= 1.5, "big type for a briefing"
    assert wall["role"] == "viewer" and len(wall["screens"]) == 1
    screen = wall["screens"][0]
    assert screen["match"]["geometry"] == [0, 0, 6656, 1792]
    assert screen["scale"] == scale_for_screen(6656, 1792)
    assert not roles.profile(wall["role"]).allows_action("assign")


def test_video_wall_goes_to_the_wall_by_geometry() -> None:
    wall = load("video_wall")
    present = [
        ScreenInfo(0, "DP-1", (0, 0, 1920, 1080)),
        ScreenInfo(1, "WALL", (0, 0, 6656, 1792)),
    ]
    assert match_screens(wall["screens"], present) == [1]


def test_scale_for_screen_rule() -> None:
    assert scale_for_screen(1920, 1080) == 1.0
    assert scale_for_screen(1280, 800) == 1.0, "never below the console's type"
    assert scale_for_screen(3840, 2160) == 2.0, "4K at device pixel ratio 1"
    assert scale_for_screen(2560, 1440) == 1.3  # 1.333 rounded down to 0.05
    assert scale_for_screen(6656, 1792) == 1.65, "a wall: its height decides"
    assert scale_for_screen(1080, 1920) == 1.0, "portrait: its width decides"
    assert scale_for_screen(20000, 9000) == 4.0
    assert scale_for_screen(0, 0) == 1.0
    json.dumps(scale_for_screen(6656, 1792))  # plain float, storable in a layout
