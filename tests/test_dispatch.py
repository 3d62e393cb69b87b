"""Dispatch suggestions: the responsible body from the county's own map, and the nearest
units by status and known distances."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from commandcenter.dispatch import (
    EARTH_RADIUS_M,
    ROAD_FACTOR,
    SPEED_MPS,
    haversine_m,
    nearest_units,
    suggest_departments,
)
from commandcenter.domain import AssigneeKind
from commandcenter.store import Store
from feeds import protocol as P
from feeds.serve.simulator.county import County

M_PER_DEG = EARTH_RADIUS_M * math.pi / 180  # 111,195.08 m per degree of a great circle


@pytest.fixture(scope="module")
def geography() -> dict:
    return County.build(4, outline_path=False).geography()


def test_haversine_known_distances() -> None:
    assert haversine_m(113.6, 37.8, 113.6, 37.81) == pytest.approx(0.01 * M_PER_DEG, abs=1e-6)
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(M_PER_DEG, rel=1e-12)
    # along a parallel the distance shrinks with cos(latitude) (nearly, for small steps)
    assert haversine_m(113.0, 60.0, 113.001, 60.0) == pytest.approx(
        0.001 * M_PER_DEG * 0.5, rel=1e-6
    )
    # Beijing Tiananmen -> Shanghai People's Square: about 1,067 km
    assert haversine_m(116.3975, 39.9087, 121.4737, 31.2304) / 1000 == pytest.approx(1067, abs=3)
    assert haversine_m(10.0, 20.0, 10.0, 20.0) == 0.0
    assert haversine_m(0, 0, 180, 0) == pytest.approx(math.pi * EARTH_RADIUS_M)


def test_haversine_vectorised_matches_scalar() -> None:
    rng = np.random.default_rng(3)
    lon = rng.uniform(113.4, 114.1, 500)
    lat = rng.uniform(37.6, 38.1, 500)
    got = haversine_m(113.63, 37.80, lon, lat)

    def scalar(lo1: float, la1: float, lo2: float, la2: float) -> float:
        p1, p2 = math.radians(la1), math.radians(la2)
        a = (
            math.sin((p2 - p1) / 2) ** 2
            + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lo2 - lo1) / 2) ** 2
        )
        return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))

    want = [scalar(113.63, 37.80, a, b) for a, b in zip(lon, lat, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def _unit(uid: str, status: str, north_m: float, kind: str = "enforcement") -> SimpleNamespace:
    lat = 37.8 + north_m / M_PER_DEG
    return SimpleNamespace(
        id=uid,
        lon=113.6,
        lat=lat,
        status=SimpleNamespace(id=uid, name=f"队员{uid}", kind=kind, status=status),
    )


def _fake_store(*units: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(units={u.id: u for u in units})


def test_nearest_units_available_first_then_by_distance() -> None:
    store = _fake_store(
        _unit("A2000", "available", 2000),
        _unit("B100", "busy", 100),
        _unit("A500", "available", 500),
        _unit("E300", "en_route", 300),
        _unit("OFF50", "off_duty", 50),
        _unit("OFFL10", "offline", 10),
        _unit("V900", "available", 900, kind="vehicle"),
        SimpleNamespace(id="NOSTATUS", lon=113.6, lat=37.8, status=None),
    )
    got = nearest_units(store, 113.6, 37.8, k=10)
    # available by ETA, then busy and en route together by ETA (not by status)
    assert [u.unit_id for u in got] == ["A500", "V900", "A2000", "B100", "E300"]
    uid, name, dist, status, eta, *_ = got[0]
    assert (uid, name, status) == ("A500", "队员A500", "available")
    assert dist == pytest.approx(500, abs=1e-6)
    assert eta == pytest.approx(500 * ROAD_FACTOR / SPEED_MPS["enforcement"] / 60)
    assert got[1].eta_min == pytest.approx(900 * ROAD_FACTOR / 12.0 / 60)
    assert [u.unit_id for u in nearest_units(store, 113.6, 37.8, k=2)] == ["A500", "V900"]
    only_free = nearest_units(store, 113.6, 37.8, k=10, statuses=("available",))
    assert [u.unit_id for u in only_free] == ["A500", "V900", "A2000"]
    cars = nearest_units(store, 113.6, 37.8, k=10, kinds=["vehicle"])
    assert [u.unit_id for u in cars] == ["V900"]
    by_distance = nearest_units(store, 113.6, 37.8, k=3, statuses=("busy", "en_route", "available"))
    assert [u.unit_id for u in by_distance] == ["B100", "E300", "A500"]
    assert nearest_units(_fake_store(), 113.6, 37.8) == []
    assert nearest_units(store, 113.6, 37.8, k=0) == []


def test_nearest_units_over_a_real_store() -> None:
    store = Store()
    units = [
        P.UnitStatusData(id=f"ZF{i:03d}", name=f"执法{i}", kind="enforcement", status="available")
        for i in range(1, 4)
    ]
    positions = [
        P.UnitPosition(id="ZF001", lon=113.60, lat=37.80 + 1000 / M_PER_DEG),
        P.UnitPosition(id="ZF002", lon=113.60, lat=37.80 - 250 / M_PER_DEG),
        P.UnitPosition(id="ZF003", lon=113.60, lat=37.80 + 5000 / M_PER_DEG),
    ]
    snap = P.Snapshot(v=1, epoch="e", seq=1, now=0.0, rate=1.0, units=units, positions=positions)
    store.reset(snap)
    got = nearest_units(store, 113.60, 37.80, k=2)
    assert [(u.unit_id, round(u.distance_m)) for u in got] == [("ZF002", 250), ("ZF001", 1000)]


def test_category_map_gives_the_responsible_department(geography: dict) -> None:
    town = geography["townships"][0]
    grid = next(g for g in geography["grids"] if g["township"] == town["code"])
    got = suggest_departments("井盖缺失", town["code"], geography, grid=grid["code"])
    assert [(s.assignee, s.assignee_kind) for s in got] == [
        ("住建局", AssigneeKind.DEPARTMENT),
        (town["name"], AssigneeKind.TOWNSHIP),
        (grid["community"], AssigneeKind.VILLAGE),
    ]
    first = got[0]
    assert first.code == "ZJ" and first.params == {
        "assignee": "住建局",
        "assignee_kind": "department",
    }
    assert any("井盖缺失 → 住建局" in str(r) for r in first.reasons)
    assert any("最近可用单元" in str(r) for r in first.reasons), "a unit category points at units"
    assert any(town["name"] in str(r) for r in got[1].reasons)
    assert first.reasons[0].text(chinese=False) == "Responsible: 井盖缺失 → 住建局"
    assert "the township leads" not in " ".join(r.text(False) for r in first.reasons)
    assert got[2].code == grid["code"]


def test_every_category_of_the_county_maps_to_a_known_department(geography: dict) -> None:
    town = geography["townships"][1]["code"]
    names = {d["name"] for d in geography["departments"]}
    for cat in geography["categories"]:
        got = suggest_departments(cat["name"], town, geography)
        depts = [s for s in got if s.assignee_kind is AssigneeKind.DEPARTMENT]
        assert len(depts) == 1 and depts[0].assignee == cat["department"] in names


def test_local_matters_go_to_the_township_first(geography: dict) -> None:
    town = geography["townships"][2]
    got = suggest_departments("矛盾纠纷", town["code"], geography)
    assert got[0].assignee_kind is AssigneeKind.TOWNSHIP and got[0].assignee == town["name"]
    assert "属地管理" in str(got[0].reasons[0])
    assert got[0].reasons[0].text(chinese=False) == "矛盾纠纷 is a local matter: the township leads"
    assert got[1].assignee == "民政局"


def test_unknown_category_and_unknown_area(geography: dict) -> None:
    town = geography["townships"][0]
    got = suggest_departments("外星人入侵", town["code"], geography)
    assert [s.assignee_kind for s in got] == [AssigneeKind.TOWNSHIP]
    assert "不在本县职责清单" in str(got[0].reasons[0])
    assert "not in the county's list of duties" in got[0].reasons[0].text(chinese=False)
    assert suggest_departments("外星人入侵", "nowhere", geography) == []
    assert suggest_departments("井盖缺失", "nowhere", {}) == []


# ---- a county map written out by hand: every mode, score and reason ------------------------

GEO = {
    "categories": [
        {"name": "井盖缺失", "department": "住建局", "dispatch": "unit"},
        {"name": "占道经营", "department": "城管局"},  # no mode: the department leads
        {"name": "矛盾纠纷", "department": "司法局", "dispatch": "township"},
        {"name": "无主管", "department": ""},
        {"name": "无部门"},
        "not a mapping",
        {"department": "a category without a name"},
    ],
    "departments": [
        {"name": "住建局", "code": "ZJ", "full_name": "平定县住房和城乡建设管理局"},
        {"name": "城管局"},
    ],
    "townships": [{"code": "T1", "name": "冠山镇"}, {"code": "T2"}],
    "grids": [
        {"code": "G1", "community": "西关村", "name": "西关一网格"},
        {"code": "G2", "community": "东关社区"},
        {"code": "G3"},
        {"code": "", "community": "无码村"},  # a grid without a code: no case is in it
        {"code": "XXXX", "community": "代码村"},
    ],
}


def _rows(got: list) -> list[tuple]:
    return [(s.assignee, s.assignee_kind.value, s.name, s.code, s.score) for s in got]


def _texts(s, chinese: bool = True) -> list[str]:
    return [r.text(chinese) for r in s.reasons]


def test_a_unit_category_the_department_then_the_area() -> None:
    got = suggest_departments("井盖缺失", "T1", GEO, grid="G1")
    assert _rows(got) == [
        ("住建局", "department", "住建局", "ZJ", 100.0),
        ("冠山镇", "township", "冠山镇", "T1", 60.0),
        ("西关村", "village", "西关村", "G1", 40.0),
    ]
    assert _texts(got[0]) == [
        "职责部门：井盖缺失 → 住建局",
        "平定县住房和城乡建设管理局",
        "通常派现场力量处置：见最近可用单元",
    ]
    assert _texts(got[0], False) == [
        "Responsible: 井盖缺失 → 住建局",
        "平定县住房和城乡建设管理局",
        "Usually handled on site: see the nearest free people and vehicles",
    ]
    assert got[0].reasons[0].text() == "职责部门：井盖缺失 → 住建局"  # Chinese by default
    assert str(got[1].reasons[0]) == "属地：案件位于冠山镇"
    assert _texts(got[1], False) == ["Area: the case is in 冠山镇"]
    assert _texts(got[2]) == ["属地村（社区）：西关村（西关一网格）"]
    assert _texts(got[2], False) == ["Village (community): 西关村 (西关一网格)"]
    assert got[2].params == {"assignee": "西关村", "assignee_kind": "village"}


def test_a_department_category_without_code_or_full_name() -> None:
    got = suggest_departments("占道经营", "T1", GEO, grid="G2")
    assert _rows(got) == [
        ("城管局", "department", "城管局", "", 100.0),
        ("冠山镇", "township", "冠山镇", "T1", 60.0),
        ("东关社区", "village", "东关社区", "G2", 40.0),
    ]
    assert _texts(got[0]) == ["职责部门：占道经营 → 城管局"]
    assert _texts(got[2]) == ["属地村（社区）：东关社区（G2）"]  # a grid without a name


def test_a_local_matter_the_township_then_the_department_then_the_village() -> None:
    got = suggest_departments("矛盾纠纷", "T1", GEO, grid="G1")
    assert _rows(got) == [
        ("冠山镇", "township", "冠山镇", "T1", 100.0),
        ("司法局", "department", "司法局", "", 80.0),
        ("西关村", "village", "西关村", "G1", 70.0),
    ]
    assert _texts(got[0]) == ["矛盾纠纷按属地管理，由乡镇（街道）牵头", "属地：案件位于冠山镇"]
    assert _texts(got[1]) == ["职责部门：矛盾纠纷 → 司法局"]


def test_an_unknown_category_goes_to_the_area() -> None:
    got = suggest_departments("外星人入侵", "T1", GEO, grid="G1")
    assert _rows(got) == [
        ("冠山镇", "township", "冠山镇", "T1", 90.0),
        ("西关村", "village", "西关村", "G1", 85.0),
    ]
    assert _texts(got[0]) == [
        "类别“外星人入侵”不在本县职责清单中，先交属地",
        "属地：案件位于冠山镇",
    ]
    assert (
        _texts(got[0], False)[0]
        == "“外星人入侵” is not in the county's list of duties: to the area first"
    )


def test_what_the_map_does_not_name_is_not_suggested() -> None:
    # A category without a department, a township without a name, a grid without a
    # community: nobody to send to at that level.
    assert _rows(suggest_departments("无主管", "T2", GEO, grid="G3")) == []
    assert _rows(suggest_departments("无部门", "T2", GEO)) == []
    assert _rows(suggest_departments("无部门", "T2", GEO, grid="XXXX"))[0][0] == "代码村"
    assert _rows(suggest_departments("无主管", "T1", GEO)) == [
        ("冠山镇", "township", "冠山镇", "T1", 60.0)
    ]
    assert _rows(suggest_departments("井盖缺失", "T9", GEO, grid="G2")) == [
        ("住建局", "department", "住建局", "ZJ", 100.0),
        ("东关社区", "village", "东关社区", "G2", 40.0),
    ]
    assert _rows(suggest_departments("井盖缺失", "T1", GEO, grid="G9"))[-1][0] == "冠山镇"


def _placed(uid: str, status: str, north_m: float, kind: str, **extra: str) -> SimpleNamespace:
    u = _unit(uid, status, north_m, kind)
    for k, v in extra.items():
        setattr(u.status, k, v)
    return u


def test_unit_suggestions_carry_their_reason_line() -> None:
    store = _fake_store(
        _placed("W1", "available", 900, "grid_worker", township="T1", grid="G1"),
        _placed("V1", "returning", 1200, "vehicle", township="T1", grid="G2", case_id="PD7"),
        _placed("I1", "busy", 100, "inspector", township="T2", grid="G1", case_id=""),
        _placed("X1", "available", 400, "drone", township="T2", grid="G9"),
    )
    got = nearest_units(store, 113.6, 37.8, k=10, township="T1", grid="G1")
    assert [(u.unit_id, u.status, u.kind, u.near, u.case_id) for u in got] == [
        ("X1", "available", "drone", "", ""),  # 400 m at the default 4.5 m/s: 1.93 min
        ("W1", "available", "grid_worker", "grid", ""),  # 900 m at 4.5 m/s: 4.33 min
        ("V1", "returning", "vehicle", "township", "PD7"),
        ("I1", "busy", "inspector", "grid", ""),
    ]
    assert got[0].eta_min == pytest.approx(400 * 1.3 / 4.5 / 60)
    assert got[2].eta_min == pytest.approx(1200 * 1.3 / 12.0 / 60)
    assert [u.params for u in got] == [
        {"assignee": "X1", "assignee_kind": "unit"},
        {"assignee": "W1", "assignee_kind": "person"},
        {"assignee": "V1", "assignee_kind": "unit"},
        {"assignee": "I1", "assignee_kind": "person"},
    ]
    assert [u.near for u in nearest_units(store, 113.6, 37.8, k=10)] == ["", "", "", ""]
    # Tiers given as a mapping: returning first, then busy; others left out.
    tiers = nearest_units(store, 113.6, 37.8, k=10, statuses={"returning": 0, "busy": 1})
    assert [u.unit_id for u in tiers] == ["V1", "I1"]
    people = nearest_units(store, 113.6, 37.8, k=10, kinds=("grid_worker", "inspector"))
    assert [u.unit_id for u in people] == ["W1", "I1"]
    assert nearest_units(store, 113.6, 37.8, k=-1) == []


def test_five_units_by_default_and_area_codes_are_compared_as_given() -> None:
    # Area codes are free text from the feed: a unit without area fields is near no case,
    # and a case without codes makes no unit near, whatever the codes are spelled.
    store = _fake_store(
        *(_placed(f"U{i}", "available", 100 * i, "grid_worker") for i in range(1, 7)),
        _placed("Z1", "available", 50, "grid_worker", township="XXXX", grid="XXXX", case_id=None),
    )
    got = nearest_units(store, 113.6, 37.8)
    assert [u.unit_id for u in got] == ["Z1", "U1", "U2", "U3", "U4"]
    assert [(u.near, u.case_id) for u in got] == [("", "")] * 5
    assert [u.near for u in nearest_units(store, 113.6, 37.8, k=2, grid="XXXX")] == ["grid", ""]
    assert [u.near for u in nearest_units(store, 113.6, 37.8, k=2, township="XXXX")] == [
        "township",
        "",
    ]
    assert [u.unit_id for u in nearest_units(store, 113.6, 37.8, k=1)] == ["Z1"]
