"""Layout files: list, save-as, rename, delete, export/import, v0 migration, and every
kind of broken file (corrupt, empty, unknown version, not JSON): a clear message, a
``NAME.corrupt-<time>`` copy kept, and a usable layout all the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from layouts import schema
from layouts.library import BUILTIN, PRESET, USER, LayoutLibrary, builtin_layout, key_for
from layouts.schema import LayoutError, NewerLayoutError

V0 = {
    "version": 0,
    "title": "老布局",
    "screens": [{"panels": ["overview", "cases"]}, {"panels": ["map"], "fullscreen": True}],
}


def doc(name: str = "测试布局", panel: str = "overview") -> dict:
    d = builtin_layout()
    d["name"] = name
    d["panels"] = {"p1": {"type": panel, "settings": {"rows": 5}}}
    d["screens"][0]["dock"] = {"area": ["p1"], "current": "p1"}
    return d


@pytest.fixture
def lib(tmp_path: Path) -> LayoutLibrary:
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "duty_console.json").write_text(schema.dumps(doc("值班台")), encoding="utf-8")
    (presets / "video_wall.json").write_text(schema.dumps(doc("视频墙")), encoding="utf-8")
    return LayoutLibrary(tmp_path / "user", presets)


BROKEN = {
    "corrupt": '{"schema": "commandcenter.layout", "version": 1, "name": "x", "panels": {',
    "empty": "",
    "not_json": "this is not a layout at all\n",
    "not_a_layout": json.dumps({"version": 1, "name": "x"}),
}
EXPECTED_WORDS = {
    "corrupt": "not valid JSON",
    "empty": "empty",
    "not_json": "not valid JSON",
    "not_a_layout": "not a commandcenter layout",
}


def test_save_as_list_load(lib: LayoutLibrary) -> None:
    key, saved = lib.save_as(doc(), "夜班布局")
    assert key == "夜班布局" and saved["name"] == "夜班布局"
    assert [(e.key, e.source) for e in lib.entries()] == [
        ("夜班布局", USER),
        ("duty_console", PRESET),
        ("video_wall", PRESET),
    ]
    loaded = lib.load("夜班布局")
    assert loaded.source == USER and loaded.doc == saved


def test_user_layout_shadows_preset_but_preset_stays_reachable(lib: LayoutLibrary) -> None:
    mine = doc("我的值班台")
    lib.save(mine, "duty_console")
    assert lib.load("duty_console").doc["name"] == "我的值班台"
    assert lib.load("duty_console", PRESET).doc["name"] == "值班台"


def test_rename_moves_the_file_and_follows_current(lib: LayoutLibrary) -> None:
    key, d = lib.save_as(doc(), "甲")
    lib.set_current(key, USER, d)
    new = lib.rename(key, "乙")
    assert new == "乙"
    assert not lib.user_path("甲").exists() and lib.user_path("乙").exists()
    assert lib.load("乙").doc["name"] == "乙"
    assert lib.read_current()[0] == "乙"
    lib.save_as(doc(), "丙")
    with pytest.raises(LayoutError, match="exists"):
        lib.rename("乙", "丙")


def test_delete_only_user_layouts(lib: LayoutLibrary) -> None:
    key, _ = lib.save_as(doc(), "临时")
    lib.delete(key)
    assert not lib.user_path(key).exists()
    with pytest.raises(LayoutError, match="presets cannot be deleted"):
        lib.delete("duty_console")


def test_export_then_import_round_trips(lib: LayoutLibrary, tmp_path: Path) -> None:
    d = doc("导出的")
    out = tmp_path / "elsewhere" / "exported.json"
    lib.export(d, out)
    key, imported = lib.import_file(out)
    assert imported == d and lib.load(key).doc == d


def test_v0_file_migrates_through_the_library(lib: LayoutLibrary, tmp_path: Path) -> None:
    src = tmp_path / "old.json"
    src.write_text(json.dumps(V0, ensure_ascii=False), encoding="utf-8")
    loaded = lib.load(str(src))
    assert loaded.migrated == ["v0 -> v1"]
    d = loaded.doc
    assert d["version"] == schema.VERSION and d["name"] == "老布局"
    assert len(d["screens"]) == 2 and d["screens"][1]["kiosk"] is True
    assert [p["type"] for p in d["panels"].values()] == ["overview", "cases", "map"]
    key, _ = lib.import_file(src)  # import migrates too and saves as v1
    assert json.loads(lib.user_path(key).read_text(encoding="utf-8"))["version"] == 1


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_import_refuses_broken_files_and_writes_nothing(
    lib: LayoutLibrary, tmp_path: Path, kind: str
) -> None:
    src = tmp_path / f"{kind}.json"
    src.write_text(BROKEN[kind], encoding="utf-8")
    with pytest.raises(LayoutError, match=EXPECTED_WORDS[kind]) as err:
        lib.import_file(src)
    assert src.name in str(err.value)
    assert not lib.user_dir.exists() or list(lib.user_dir.iterdir()) == []


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_user_file_is_kept_aside_and_last_good_is_used(
    lib: LayoutLibrary, kind: str
) -> None:
    good_key, good = lib.save_as(doc("好的"), "好的")
    lib.set_current(good_key, USER, good)
    lib.user_path("坏的").write_text(BROKEN[kind], encoding="utf-8")
    got = lib.startup("坏的")
    assert got.doc == good and got.key == good_key
    assert EXPECTED_WORDS[kind] in got.message
    baks = list(lib.user_dir.glob("坏的.json.corrupt-*"))
    assert len(baks) == 1 and baks[0].read_text(encoding="utf-8") == BROKEN[kind]
    assert got.backups == baks and str(baks[0]) in got.message
    # moved aside: it no longer shows in the list nor nags at the next start
    assert "坏的" not in [e.key for e in lib.entries()]


def test_a_layout_of_a_newer_version_opens_read_only_and_is_never_written(
    lib: LayoutLibrary,
) -> None:
    good_key, good = lib.save_as(doc("好的"), "好的")
    lib.set_current(good_key, USER, good)
    future = {**doc("新版布局", panel="heat_forecast"), "version": 99, "theme_of_v99": {"x": 1}}
    newer = json.dumps(future, ensure_ascii=False)
    lib.user_path("新版").write_text(newer, encoding="utf-8")
    got = lib.startup("新版")
    # What this version understands of it, under its own key, marked read-only.
    assert (got.key, got.source, got.problems) == ("新版", USER, [])
    assert got.doc["panels"]["p1"]["type"] == "heat_forecast"  # a placeholder keeps it
    assert got.doc["theme_of_v99"] == {"x": 1} and got.doc["version"] == schema.VERSION
    assert "newer than this program" in got.read_only and "read-only" in got.read_only
    assert lib.read_only_reason("新版", USER) == got.read_only
    # Listed and openable, marked; never written over, renamed or deleted.
    entry = {e.key: e for e in lib.user_layouts()}["新版"]
    assert (entry.name, entry.problem) == ("新版布局", "") and entry.read_only
    with pytest.raises(NewerLayoutError, match="new name"):
        lib.save(got.doc, "新版")
    with pytest.raises(NewerLayoutError, match="not renamed"):
        lib.rename("新版", "改名")
    with pytest.raises(NewerLayoutError, match="not deleted"):
        lib.delete("新版")
    key, _ = lib.save_as(got.doc, lib.free_name("新版"))
    assert key == "新版 2" and lib.read_only_reason(key, USER) == ""
    assert lib.user_path("新版").read_text(encoding="utf-8") == newer  # untouched
    assert not list(lib.user_dir.glob("新版.json.corrupt-*")) and got.backups == []


def test_a_newer_layout_this_version_cannot_read_opens_as_its_nearest_preset(
    lib: LayoutLibrary,
) -> None:
    wall = {**doc("视频墙"), "role": "viewer"}
    lib.preset_path("video_wall").write_text(schema.dumps(wall), encoding="utf-8")
    newer = json.dumps({"schema": schema.SCHEMA, "version": 7, "name": "未来墙",
                        "role": "viewer", "walls": [{"tiles": 64}]}, ensure_ascii=False)  # fmt: skip
    lib.user_dir.mkdir(parents=True)
    lib.user_path("未来").write_text(newer, encoding="utf-8")
    got = lib.startup("未来")
    assert (got.key, got.source, got.doc["name"]) == ("未来", USER, "未来墙")
    assert got.doc["role"] == "viewer" and got.doc["panels"] == wall["panels"]
    assert "nearest preset “video_wall”" in got.read_only
    assert lib.user_path("未来").read_text(encoding="utf-8") == newer
    # No preset of its role: the default one.
    lib.user_path("未来").write_text(newer.replace("viewer", "field"), encoding="utf-8")
    assert "“duty_console”" in lib.load("未来").read_only


def test_current_file_broken_falls_back_to_its_snapshot(lib: LayoutLibrary) -> None:
    key, good = lib.save_as(doc("当前"), "当前")
    lib.set_current(key, USER, good)
    lib.user_path(key).write_text("{", encoding="utf-8")
    got = lib.startup()
    assert got.doc == good
    assert "not valid JSON" in got.message and "last good copy" in got.message


def test_nothing_usable_gives_default_preset_then_builtin(lib: LayoutLibrary) -> None:
    got = lib.startup()
    assert (got.key, got.source, got.problems) == ("duty_console", PRESET, [])
    lib.preset_path("duty_console").unlink()
    got = lib.startup("no_such_layout")
    assert got.source == BUILTIN and got.doc == builtin_layout()
    assert "no_such_layout" in got.message


def test_broken_preset_is_reported_without_writing_into_presets(lib: LayoutLibrary) -> None:
    lib.preset_path("video_wall").write_text("{", encoding="utf-8")
    with pytest.raises(LayoutError, match=r"preset video_wall\.json"):
        lib.load("video_wall")
    assert sorted(p.name for p in lib.presets_dir.iterdir()) == [
        "duty_console.json",
        "video_wall.json",
    ]
    e = {x.key: x for x in lib.presets()}
    assert e["video_wall"].problem


def test_key_for_keeps_chinese_and_refuses_paths() -> None:
    assert key_for("值班台 / 夜班") == "值班台 _ 夜班"
    with pytest.raises(LayoutError):
        key_for("  ..  ")
    with pytest.raises(LayoutError):
        key_for("current")


def test_schedule_binding_is_validated(lib: LayoutLibrary) -> None:
    d = doc()
    d["schedule"] = {"from": "20:00", "to": "08:00"}
    key = lib.save(d)
    assert lib.load(key).doc["schedule"] == {"from": "20:00", "to": "08:00"}
    d["schedule"] = {"from": "25:00", "to": "08:00"}
    with pytest.raises(LayoutError, match="schedule"):
        lib.save(d)


def test_real_presets_load_if_shipped() -> None:
    lib = LayoutLibrary(Path("/nonexistent-user-dir"))
    presets = lib.presets()
    if not presets:
        pytest.skip("no presets shipped yet")
    for e in presets:
        assert e.problem == "", (e.key, e.problem)
        assert lib.load(e.key, PRESET).doc["name"]
