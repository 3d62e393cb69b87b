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
