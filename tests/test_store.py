"""The live store: applying batches, idempotency, change sets, queries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commandcenter.domain import SlaLevel
from commandcenter.store import ChangeSet, Store
from feeds import protocol as p

NOW = 1_700_000_000.0


def case(
    i: int, version: int = 1, state: str = "reported", urgency: str = "normal", created: float = NOW
) -> p.CaseData:
    return p.CaseData(
        id=f"C{i}",
        version=version,
        category=["占道经营", "井盖缺失", "路灯不亮"][i % 3],
        source="hotline",
        urgency=urgency,
        state=state,
        township=["冠山镇", "冶西镇"][i % 2],
        grid=f"G{i % 7}",
        lon=113.6 + i * 1e-4,
        lat=37.8,
        created_ts=created,
        state_ts=created,
    )


def ev(seq: int, kind: str, data) -> p.Event:
    return p.Event(seq=seq, kind=kind, ts=NOW, data=data)


def test_apply_creates_updates_and_reports_changes() -> None:
    s = Store()
    seen: list[ChangeSet] = []
    unsubscribe = s.subscribe(seen.append)
    cs = s.apply(
        [
            ev(1, "case.created", case(1)),
            ev(2, "case.created", case(2)),
            ev(3, "case.updated", case(1, 2, "signed")),
        ]
    )
    assert cs.cases_created == ["C1", "C2"] and cs.cases_updated == {"C1"}
    assert cs.first_seq == 1 and cs.last_seq == 3 and cs.applied == 3
    assert s.case("C1").state == "signed" and len(s) == 2 and s.seq == 3
    assert seen == [cs]
    unsubscribe()
    s.apply([ev(4, "case.created", case(3))])
    assert len(seen) == 1 and s.subscriber_count == 0


def test_duplicates_and_stale_versions_are_skipped() -> None:
    s = Store()
    s.apply([ev(1, "case.created", case(1)), ev(2, "case.updated", case(1, 3, "assigned"))])
    cs = s.apply([ev(2, "case.updated", case(1, 3)), ev(3, "case.updated", case(1, 2, "signed"))])
    assert cs.duplicates == 1 and cs.stale == 1 and not cs
    assert s.case("C1").state == "assigned" and s.case("C1").version == 3


def test_units_cameras_grids_kpis_alerts() -> None:
    s = Store()
    s.apply(
        [
            ev(
                1,
                "unit.status",
                p.UnitStatusData(id="U1", name="张伟", kind="grid_worker", status="available"),
            ),
            ev(2, "unit.position", p.UnitPosition(id="U1", lon=113.7, lat=37.9, heading=90)),
            ev(
                3,
                "camera.upsert",
                p.CameraData(id="CAM1", name="东门", lon=113.7, lat=37.8, fov=60),
            ),
            ev(4, "camera.status", p.CameraStatus(id="CAM1", online=False)),
            ev(5, "grid.stats", p.GridStats(id="G1", township="冠山镇", population=800)),
            ev(6, "kpi.update", p.Kpi(name="closure_rate", value=0.96, target=0.95)),
            ev(7, "alert.raised", p.Alert(id="A1", level="red", kind="sla.breach", message="超时")),
        ]
    )
    u = s.units["U1"]
    assert (u.lon, u.lat, u.heading, u.status.name) == (113.7, 37.9, 90, "张伟")
    assert s.cameras["CAM1"].online is False and s.grids["G1"].population == 800
    assert s.kpis["closure_rate"].value == 0.96 and s.alerts[-1].id == "A1"


def test_snapshot_reset_replaces_everything() -> None:
    s = Store()
    s.apply([ev(1, "case.created", case(1))])
    snap = p.Snapshot(
        v=1,
        epoch="E",
        seq=50,
        now=NOW,
        rate=2.0,
        cases=[case(5), case(6)],
        kpis=[p.Kpi(name="k", value=1.0)],
    )
    cs = s.reset(snap)
    assert cs.reset and s.epoch == "E" and s.seq == 50 and len(s) == 2 and s.case("C1") is None
    assert s.clock.rate == 2.0 and abs(s.clock.now() - NOW) < 1.0
    assert s.apply([ev(50, "case.created", case(9))]).duplicates == 1


def test_sla_counts_and_newest() -> None:
    s = Store()
    s.apply(
        [
            ev(
                1, "case.created", case(1, urgency="urgent", created=NOW - 60)
            ),  # 20% of 5 min: blue
            ev(2, "case.created", case(2, urgency="urgent", created=NOW - 200)),  # 67%: yellow
            ev(3, "case.created", case(3, urgency="urgent", created=NOW - 400)),  # overdue: red
            ev(4, "case.created", case(4, state="closed", created=NOW - 10)),  # closed: none
        ]
    )
    assert s.sla_counts(NOW) == {SlaLevel.BLUE: 1, SlaLevel.YELLOW: 1, SlaLevel.RED: 1}
    assert s.overdue_count(NOW) == 1 and s.open_count() == 3
    assert [c.id for c in s.newest_cases(2)] == ["C4", "C1"]
    assert [c.id for c in s.newest_cases(10)] == ["C4", "C1", "C2", "C3"]


def test_growth_and_frame() -> None:
    s = Store(capacity=4)
    s.apply([ev(i + 1, "case.created", case(i)) for i in range(1000)])
    df = s.to_frame()
    assert len(df) == 1000 and df["id"].iloc[999] == "C999"
    assert set(df["township"].cat.categories) == {"冠山镇", "冶西镇"}
    assert np.allclose(df["lon"].to_numpy(), [113.6 + i * 1e-4 for i in range(1000)])


def test_unknown_fields_of_a_case_are_kept() -> None:
    raw = (
        b'{"v":1,"seq":1,"kind":"case.created","ts":1,"data":{"id":"C1","version":1,"category":"x",'
        b'"source":"hotline","urgency":"normal","state":"reported","township":"t","grid":"g","lon":1,'
        b'"lat":2,"created_ts":1,"state_ts":1,"weather":"rain"}}'
    )
    s = Store()
    s.apply(p.parse_message(raw).events)
    assert s.case_extra("C1") == {"weather": "rain"}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 9), st.integers(1, 5)), min_size=1, max_size=60), st.randoms()
)
def test_replaying_any_prefix_again_changes_nothing(updates, rnd) -> None:
    """A reconnect replays events the store already has: the result must not change."""
    events = [
        ev(i + 1, "case.updated", case(cid, version)) for i, (cid, version) in enumerate(updates)
    ]
    once = Store()
    once.apply(events)
    twice = Store()
    cut = rnd.randint(0, len(events))
    twice.apply(events[:cut])
    twice.apply(events[: rnd.randint(0, cut)] + events[cut:])
    assert once.state_fingerprint() == twice.state_fingerprint()
    for cid, _ in updates:
        assert once.case(f"C{cid}").version == max(v for c, v in updates if c == cid)


def test_clock_follows_the_feed_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """No wall clock: the local monotonic clock is stepped by hand."""
    import commandcenter.store as store_module

    local = [500.0]

    class FakeTime:
        @staticmethod
        def monotonic() -> float:
            return local[0]

        @staticmethod
        def time() -> float:
            return 42.0

    monkeypatch.setattr(store_module, "time", FakeTime)
    s = Store()
    assert s.clock.now() == 42.0  # no feed clock yet: the wall
    s.set_clock(NOW, rate=60.0)
    assert s.clock.now() == NOW
    local[0] += 0.05
    assert s.clock.now() == pytest.approx(NOW + 3.0, abs=1e-6)
    s.set_clock(NOW + 100)  # the feed's own pace unless it says otherwise
    assert s.clock.rate == 1.0
    local[0] += 2.0
    assert s.clock.now() == pytest.approx(NOW + 102.0, abs=1e-6)


# ---- by hand: change sets fold, and say whether anything changed -------------------------


def test_a_change_set_is_true_when_anything_a_panel_shows_changed() -> None:
    from commandcenter.store import ChangeSet

    assert not ChangeSet(applied=3, duplicates=1, stale=2, skipped=1, rejected=[(9, "x")])
    for changed in (
        ChangeSet(reset=True), ChangeSet(cases_created=["PD1"]), ChangeSet(cases_updated={"PD1"}),
        ChangeSet(units={"U1"}), ChangeSet(cameras={"C1"}), ChangeSet(grids={"G1"}),
        ChangeSet(kpis={"k"}), ChangeSet(alerts=["a"]),
    ):  # fmt: skip
        assert changed, changed


def test_change_sets_fold_into_one_per_frame() -> None:
    from commandcenter.store import ChangeSet

    cs = ChangeSet()
    cs.merge(ChangeSet(first_seq=5, last_seq=7, cases_created=["PD1"], cases_updated={"PD2"},
                       units={"U1"}, applied=3, duplicates=1, rejected=[(6, "bad state")]))  # fmt: skip
    cs.merge(ChangeSet(first_seq=8, last_seq=9, reset=True, cases_created=["PD3"],
                       cases_updated={"PD2", "PD4"}, cameras={"C1"}, grids={"G1"}, kpis={"k"},
                       alerts=["a1"], applied=2, stale=4, skipped=1, rejected=[(9, "range")]))  # fmt: skip
    cs.merge(ChangeSet(first_seq=10, last_seq=8, units={"U2"}, alerts=["a2"]))
    assert cs == ChangeSet(
        first_seq=5, last_seq=9, reset=True, cases_created=["PD1", "PD3"],
        cases_updated={"PD2", "PD4"}, units={"U1", "U2"}, cameras={"C1"}, grids={"G1"},
        kpis={"k"}, alerts=["a1", "a2"], applied=5, duplicates=1, stale=4, skipped=1,
        rejected=[(6, "bad state"), (9, "range")],
    )  # fmt: skip


def test_names_people_read_for_codes() -> None:
    store = Store()
    store.set_geography({
        "townships": [{"code": "T1", "name": "冠山镇"}, {"code": "T2"}, "junk"],
        "grids": [{"code": "G1", "name": "西关一网格"}, {"name": "无码网格"}],
        "departments": [{"code": "ZJ", "name": "住建局"}],
    })  # fmt: skip
    store.reset(p.Snapshot(v=1, epoch="e", seq=0, now=0.0, rate=1.0, units=[
        p.UnitStatusData(id="ZF001", name="执法一队", kind="enforcement", status="available"),
    ]))  # fmt: skip
    shown = {c: store.display_name(c) for c in ("T1", "T2", "G1", "ZJ", "ZF001", "X9", "")}
    assert shown == {
        "T1": "冠山镇", "T2": "T2", "G1": "西关一网格", "ZJ": "住建局",
        "ZF001": "执法一队", "X9": "X9", "": "",
    }  # fmt: skip
    assert store.geography["departments"] == [{"code": "ZJ", "name": "住建局"}]


def test_units_from_a_status_then_a_position_and_the_other_way_round() -> None:
    store = Store()
    cs = store.apply([
        p.Event(1, p.UNIT_STATUS, 0.0, p.UnitStatusData(
            id="U1", name="网格员1", kind="grid_worker", status="busy", lon=113.5, lat=37.7)),
        p.Event(2, p.UNIT_POSITION, 0.0, p.UnitPosition(
            id="U2", lon=113.6, lat=37.8, heading=45.0, speed=3.0, ts=100.0)),
        p.Event(3, p.UNIT_POSITION, 0.0, p.UnitPosition(
            id="U1", lon=113.55, lat=37.75, heading=90.0, speed=5.0, ts=101.0)),
        p.Event(4, p.UNIT_STATUS, 0.0, p.UnitStatusData(
            id="U2", name="执法2", kind="enforcement", status="available", lon=1.0, lat=1.0)),
    ])  # fmt: skip
    assert cs.units == {"U1", "U2"}
    u1, u2 = store.units["U1"], store.units["U2"]
    assert (u1.id, u1.lon, u1.lat, u1.heading, u1.speed, u1.ts) == (
        "U1",
        113.55,
        37.75,
        90.0,
        5.0,
        101.0,
    )
    assert u1.status.status == "busy"
    # A status after a position keeps the position it has.
    assert (u2.id, u2.lon, u2.lat, u2.heading, u2.speed, u2.ts) == (
        "U2",
        113.6,
        37.8,
        45.0,
        3.0,
        100.0,
    )
    assert u2.status.name == "执法2"
    only_status = Store()
    only_status.apply([p.Event(1, p.UNIT_STATUS, 0.0, p.UnitStatusData(
        id="U3", name="车3", kind="vehicle", status="available", lon=113.1, lat=37.2))])  # fmt: skip
    u3 = only_status.units["U3"]
    assert (u3.id, u3.lon, u3.lat) == ("U3", 113.1, 37.2)


def test_extra_fields_rows_and_the_newest_of_one_case() -> None:
    store = Store()
    store.apply([p.Event(1, p.CASE_CREATED, 0.0, p.CaseData(
        id="PD1", version=1, category="井盖缺失", source="hotline", urgency="normal",
        state="reported", township="T1", grid="G1", lon=113.6, lat=37.8, created_ts=5.0,
        state_ts=5.0))])  # fmt: skip
    assert store.case_extra("PD1") == {} and store.case_extra("NOPE") == {}
    store.restore_extras({"PD1": {"工单来源": "12345"}, "NOPE": {"x": 1}})
    assert store.case_extra("PD1") == {"工单来源": "12345"} and store.case_extra("NOPE") == {}
    copy = store.case_extras()
    copy.clear()
    assert store.case_extras() == {"PD1": {"工单来源": "12345"}}
    assert (store.row_of("PD1"), store.row_of("NOPE")) == (0, None)
    assert [c.id for c in store.newest_cases(5)] == ["PD1"]
    assert Store().newest_cases(5) == []


# ---- by hand: bulk loads, the columns the engines read, the history a rebuild takes -------

_FLOATS = ("created_ts", "state_ts", "assigned_ts", "on_site_ts", "completed_ts", "closed_ts",
           "extension_s", "lon", "lat", "due_ts")  # fmt: skip
_CODES = ("category", "township", "grid", "assignee", "assignee_kind", "address")


def _record(cid: str, version: int, state: str, **kw) -> p.CaseData:
    base = dict(category="井盖缺失", source="hotline", urgency="normal", township="T1",
                grid="G1", lon=113.6, lat=37.8, created_ts=1000.0, state_ts=1000.0)  # fmt: skip
    base.update(kw)
    return p.CaseData(id=cid, version=version, state=state, **base)


def _bulk(records: list[p.CaseData]):
    """Columns of hand-made records, as an import hands them to ``bulk_load``."""
    from commandcenter.store import BulkCases

    return BulkCases(
        ids=np.array([r.id for r in records], dtype=object),
        version=np.array([r.version for r in records], dtype=np.int64),
        state=np.array([r.state for r in records], dtype=object),
        urgency=np.array([r.urgency for r in records], dtype=object),
        source=np.array([r.source for r in records], dtype=object),
        rating=np.array([r.rating for r in records], dtype=np.int64),
        floats={k: np.array([getattr(r, k) for r in records], dtype=np.float64) for k in _FLOATS},
        codes={k: np.array([getattr(r, k) for r in records], dtype=object) for k in _CODES},
        record=lambda i: records[i],
    )


H1 = _record("H1", 2, "closed", category="路灯不亮", source="video", urgency="urgent",
             township="T1", grid="G1", lon=113.1, lat=37.1, created_ts=1000.0, state_ts=2000.0,
             assigned_ts=1100.0, on_site_ts=1200.0, completed_ts=1500.0, closed_ts=2000.0,
             extension_s=60.0, rating=5, due_ts=5000.0, address="东街1号", assignee="ZJ",
             assignee_kind="department")  # fmt: skip
H2 = _record("H2", 1, "handling", category="井盖缺失", source="sensor", township="T2",
             grid="G2", lon=113.2, lat=37.2, created_ts=3000.0, state_ts=3100.0,
             address="西街2号", assignee="SZ", assignee_kind="department")  # fmt: skip
H3 = _record("H3", 3, "reported", category="占道经营", source="opinion", township="T1",
             grid="G3", lon=113.3, lat=37.3, created_ts=4000.0, state_ts=4000.0, rating=1)  # fmt: skip


def _decoded(cols, name: str) -> list[str]:
    return [cols.values[name][c] for c in cols.codes[name].tolist()]


def test_the_columns_the_engines_read_are_the_records_values() -> None:
    from commandcenter.sla import STATE_ORDER, URGENCY_ORDER

    store = Store(capacity=2)
    store.apply([ev(1, "case.created", H2)])  # one live case, then a load past the capacity
    store.bulk_load(_bulk([H1, H3, *[_record(f"B{i}", 1, "reported") for i in range(6)]]))
    assert len(store) == 9 and [store.row_of(c) for c in ("H2", "H1", "H3")] == [0, 1, 2]
    cols = store.columns()
    assert list(cols.ids[:3]) == ["H2", "H1", "H3"] and len(cols) == 9
    assert [STATE_ORDER[i].value for i in cols.state[:3]] == ["handling", "closed", "reported"]
    assert [URGENCY_ORDER[i].value for i in cols.urgency[:3]] == ["normal", "urgent", "normal"]
    assert cols.rating[:3].tolist() == [0, 5, 1] and cols.version[:3].tolist() == [1, 2, 3]
    assert cols.created[:3].tolist() == [3000.0, 1000.0, 4000.0]
    assert cols.completed[:3].tolist() == [0.0, 1500.0, 0.0]
    assert cols.closed[:3].tolist() == [0.0, 2000.0, 0.0]
    assert cols.on_site[:3].tolist() == [0.0, 1200.0, 0.0]
    assert cols.extension[:3].tolist() == [0.0, 60.0, 0.0]
    assert cols.due[:3].tolist() == [0.0, 5000.0, 0.0]
    assert _decoded(cols, "category")[:3] == ["井盖缺失", "路灯不亮", "占道经营"]
    assert _decoded(cols, "township")[:3] == ["T2", "T1", "T1"]
    assert _decoded(cols, "grid")[:3] == ["G2", "G1", "G3"]
    assert _decoded(cols, "assignee")[:3] == ["SZ", "ZJ", ""]
    assert _decoded(cols, "assignee_kind")[:3] == ["department", "department", ""]
    assert _decoded(cols, "address")[:3] == ["西街2号", "东街1号", ""]
    assert all(len(a) == 9 for a in (cols.state, cols.urgency, cols.rating, cols.created,
                                     cols.completed, cols.closed, cols.on_site, cols.extension,
                                     cols.due, cols.version, *cols.codes.values()))  # fmt: skip
    assert cols.values["grid"] is store.interners["grid"].values  # shared, never copied
    frame = store.to_frame()
    assert list(frame.columns) == [
        "id", "version", "state", "urgency", "source", "supervised", "rating", "created_ts",
        "state_ts", "assigned_ts", "on_site_ts", "completed_ts", "closed_ts", "extension_s",
        "lon", "lat", "due_ts", "category", "township", "grid", "assignee", "assignee_kind",
        "address",
    ]  # fmt: skip
    assert frame["id"].dtype == "string" and frame["version"].tolist()[:3] == [1, 2, 3]
    assert frame["state"].tolist()[:3] == ["handling", "closed", "reported"]
    assert frame["urgency"].tolist()[:3] == ["normal", "urgent", "normal"]
    assert frame["source"].tolist()[:3] == ["sensor", "video", "opinion"]
    assert frame["lon"].tolist()[:3] == [113.2, 113.1, 113.3]


def test_the_history_a_rebuild_takes_is_the_rows_an_import_left_as_they_were() -> None:
    store = Store()
    store.bulk_load(_bulk([H1, H2]), in_history=True)
    store.bulk_load(_bulk([H3]), in_history=True)  # a second import: its own record builder
    store.apply([ev(1, "case.updated", _record("H2", 2, "completed", created_ts=3000.0))])
    assert store.history_rows().tolist() == [True, False, True]  # H2 changed live since
    hb = store.history_bulk()
    assert hb.ids.tolist() == ["H1", "H3"] and len(hb) == 2
    assert hb.version.tolist() == [2, 3]
    assert hb.state.tolist() == ["closed", "reported"]
    assert hb.urgency.tolist() == ["urgent", "normal"]
    assert hb.source.tolist() == ["video", "opinion"]
    assert hb.rating.tolist() == [5, 1] and hb.rating.dtype == np.int64
    assert {k: v.tolist() for k, v in hb.floats.items()} == {
        "created_ts": [1000.0, 4000.0], "state_ts": [2000.0, 4000.0],
        "assigned_ts": [1100.0, 0.0], "on_site_ts": [1200.0, 0.0],
        "completed_ts": [1500.0, 0.0], "closed_ts": [2000.0, 0.0],
        "extension_s": [60.0, 0.0], "lon": [113.1, 113.3], "lat": [37.1, 37.3],
        "due_ts": [5000.0, 0.0],
    }  # fmt: skip
    assert {k: v.tolist() for k, v in hb.codes.items()} == {
        "category": ["路灯不亮", "占道经营"], "township": ["T1", "T1"], "grid": ["G1", "G3"],
        "assignee": ["ZJ", ""], "assignee_kind": ["department", ""], "address": ["东街1号", ""],
    }  # fmt: skip
    # The records are built when asked for, each by the import that brought it.
    assert hb.record(1) is H3 and hb.record(0) is H1
    assert store.case("H1") is H1
    assert hb.record(0) is H1  # built once: the one the store holds now
    only = store.history_bulk(keep=np.array([False, True, True]))
    assert only.ids.tolist() == ["H3"] and only.record(0) is H3
    # Into a store rebuilt from a snapshot: the same cases, as they were.
    rebuilt = Store()
    rebuilt.bulk_load(hb, in_history=True)
    assert rebuilt.state_fingerprint()["cases"] == {"H1": 2, "H3": 3}
    assert rebuilt.history_rows().tolist() == [True, True]
    assert rebuilt.case("H3") is H3 and rebuilt.to_frame()["address"].tolist() == ["东街1号", ""]
    assert Store().history_bulk().ids.tolist() == []


def test_sla_counts_follow_the_feed_clock_and_a_records_own_deadline() -> None:
    s = Store()
    s.apply([
        ev(1, "case.created", case(1, urgency="urgent", created=NOW - 60)),  # 20% of 5 min: blue
        ev(2, "case.created", p.CaseData(
            id="D1", version=1, category="井盖缺失", source="hotline", urgency="urgent",
            state="reported", township="T1", grid="G1", lon=113.6, lat=37.8,
            created_ts=NOW - 60, state_ts=NOW - 60, due_ts=NOW - 1)),  # its own deadline: passed
    ])  # fmt: skip
    assert s.sla_counts(NOW) == {SlaLevel.BLUE: 1, SlaLevel.YELLOW: 0, SlaLevel.RED: 1}
    assert s.overdue_count(NOW) == 1
    s.set_clock(NOW - 30, rate=0.0)  # a stopped feed clock: "now" is its time, not the wall's
    assert s.sla_counts() == {SlaLevel.BLUE: 1, SlaLevel.YELLOW: 1, SlaLevel.RED: 0}
    assert s.overdue_count() == 0
    only_blue = Store()
    only_blue.apply([ev(1, "case.created", case(1, urgency="urgent", created=NOW - 60))])
    assert only_blue.sla_counts(NOW) == {SlaLevel.BLUE: 1, SlaLevel.YELLOW: 0, SlaLevel.RED: 0}


def test_the_newest_cases_of_many_filed_in_no_order() -> None:
    import random

    order = list(range(300))
    random.Random(5).shuffle(order)
    s = Store()
    s.apply([ev(k + 1, "case.created", case(i, created=NOW + i)) for k, i in enumerate(order)])
    assert [c.id for c in s.newest_cases(5)] == ["C299", "C298", "C297", "C296", "C295"]
    assert [c.id for c in s.newest_cases(1)] == ["C299"]
    assert len(s.newest_cases(300)) == 300 and s.newest_cases(300)[-1].id == "C0"


def test_an_interner_codes_values_in_the_order_first_seen() -> None:
    from commandcenter.store import Interner

    it = Interner()
    got = it.codes(["b", "a", "b", "", "a"])
    assert got.tolist() == [0, 1, 0, 2, 1] and got.dtype == np.int32
    assert it.values == ["b", "a", ""] and it.code("c") == 3 and it.code("a") == 1


def test_a_bulk_load_adds_replaces_and_skips_by_version_as_apply_does() -> None:
    from commandcenter.store import BULK_REPAINT

    store = Store()
    seen: list[ChangeSet] = []
    store.subscribe(seen.append)
    a, b = _record("A", 1, "reported"), _record("B", 1, "reported", source="no-such-source")
    cs = store.bulk_load(_bulk([a, b]))
    assert (cs.cases_created, cs.cases_updated, cs.applied, cs.stale) == (["A", "B"], set(), 2, 0)
    assert not cs.reset and seen == [cs] and store.seq == 0  # no sequence numbers taken
    assert store.to_frame()["source"].tolist() == ["hotline", "hotline"]  # unknown: the first
    again = store.bulk_load(_bulk([a, b]))  # the same history twice changes nothing
    assert (again.cases_created, again.cases_updated, again.applied, again.stale) == (
        [],
        set(),
        0,
        2,
    )
    a2 = _record("A", 2, "signed", category="路灯不亮")
    cs = store.bulk_load(_bulk([a2, _record("C", 1, "reported")]))
    assert (cs.cases_created, cs.cases_updated, cs.applied, cs.stale) == (["C"], {"A"}, 2, 0)
    assert store.case("A") is a2 and store.case("C").id == "C" and len(store) == 3
    assert _decoded(store.columns(), "category") == ["路灯不亮", "井盖缺失", "井盖缺失"]
    assert store.bulk_load(_bulk([])) == ChangeSet()
    assert len(seen) == 2  # the stale load and the empty one changed nothing: not published
    # Many at once: published as a reset (panels repaint from the columns).
    many = [_record(f"M{i}", 1, "reported") for i in range(BULK_REPAINT + 1)]
    assert BULK_REPAINT == 10_000
    assert not Store().bulk_load(_bulk(many[:BULK_REPAINT])).reset
    assert Store().bulk_load(_bulk(many)).reset


def test_a_bulk_load_refuses_each_case_its_columns_cannot_take_with_the_reason() -> None:
    good = _record("OK", 1, "reported")
    bad = [
        _record("S", 1, "no-such-state"),
        _record("U", 1, "reported", urgency="whenever"),
        _record("V", 1, "reported"),
        _record("R1", 1, "reported", rating=127),
        _record("R2", 1, "reported"),
        _record("F", 1, "reported"),
        _record("L", 1, "reported"),
        _record("", 1, "reported"),
        _record("SU", 1, "no-such-state", urgency="whenever"),  # the first reason only
    ]
    bulk = _bulk([good, *bad])
    bulk.version[3] = -1
    bulk.rating[4], bulk.rating[5] = 127, 128  # 127 fits, 128 does not
    bulk.floats["created_ts"][6] = np.nan
    bulk.floats["lon"][7] = np.inf
    store = Store()
    cs = store.bulk_load(bulk)
    assert cs.rejected == [
        (0, "case 'S': unknown state"),
        (0, "case 'SU': unknown state"),
        (0, "case 'U': unknown urgency"),
        (0, "case 'V': version outside 0..2**63-1"),
        (0, "case 'R2': rating outside 0..127"),
        (0, "case 'F': created_ts is not a finite number"),
        (0, "case 'L': lon is not a finite number"),
        (0, "case '': the case has no id"),
    ]
    assert store.state_fingerprint()["cases"] == {"OK": 1, "R1": 1}
    assert cs.cases_created == ["OK", "R1"] and cs.applied == 2
    assert store.columns().rating.tolist() == [0, 127]
    # Ids that are not all text: a missing one is refused, the rest load.
    mixed = _bulk([good, _record("N", 1, "reported")])
    mixed.ids[1] = None
    cs = Store().bulk_load(mixed)
    assert cs.rejected == [(0, "case None: the case has no id")] and cs.cases_created == ["OK"]


def test_the_same_case_twice_in_one_load_keeps_the_later_row() -> None:
    store = Store()
    store.bulk_load(_bulk([_record("K", 1, "reported")]))
    first, later = _record("D", 1, "reported"), _record("D", 1, "signed")
    k2, k3 = _record("K", 2, "signed"), _record("K", 3, "assigned")
    cs = store.bulk_load(_bulk([first, k2, later, k3]))
    assert cs.rejected == [
        (0, "case 'D': a later row has the same id"),
        (0, "case 'K': a later row has the same id"),
    ]
    assert (cs.cases_created, cs.cases_updated, cs.applied) == (["D"], {"K"}, 2)
    assert store.case("D") is later and store.case("K") is k3 and len(store) == 2
    assert store.state_fingerprint()["cases"] == {"K": 3, "D": 1}


def test_a_bulk_load_without_some_columns_takes_them_as_empty() -> None:
    bulk = _bulk([_record("E", 1, "reported", address="北街", lon=113.9)])
    del bulk.codes["address"], bulk.floats["lon"]
    store = Store()
    store.bulk_load(bulk)
    assert _decoded(store.columns(), "address") == [""]
    assert store.to_frame()["lon"].tolist() == [0.0]


def test_a_case_whose_values_its_columns_cannot_take_is_refused_whole_with_the_reason() -> None:
    top = 2**63 - 1
    fits = [
        _record("K1", top, "reported", supervised=2**31 - 1, rating=127),
        _record("K2", 0, "signed", rating=0, due_ts=float("nan")),
    ]
    refused = {
        "version=-1 outside 0..9223372036854775807": _record("X", -1, "reported"),
        f"version={top + 1} outside 0..{top}": _record("X", top + 1, "reported"),
        "version=1.5 outside 0..9223372036854775807": _record("X", 1.5, "reported"),
        "supervised=2147483648 outside 0..2147483647": _record(
            "X", 1, "reported", supervised=2**31
        ),
        "supervised=-1 outside 0..2147483647": _record("X", 1, "reported", supervised=-1),
        "rating=128 outside 0..127": _record("X", 1, "reported", rating=128),
        "rating=True outside 0..127": _record("X", 1, "reported", rating=True),
        "lon=nan is not a finite number": _record("X", 1, "reported", lon=float("nan")),
        "created_ts=True is not a finite number": _record("X", 1, "reported", created_ts=True),
        "lat='x' is not a finite number": _record("X", 1, "reported", lat="x"),
        "extension_s=inf is not a finite number": _record("X", 1, "reported", extension_s=math.inf),
        "the case has no id": _record("", 1, "reported"),
        "unknown state or urgency 'nope'": _record("X", 1, "nope"),
        "unknown state or urgency 'soon'": _record("X", 1, "reported", urgency="soon"),
    }
    store = Store()
    events = [ev(i + 1, "case.created", c) for i, c in enumerate([*fits, *refused.values()])]
    cs = store.apply(events)
    assert cs.rejected == [
        (i + 3, f"case.created: ValueError: {why}") for i, why in enumerate(refused)
    ]
    assert cs.applied == 2 and store.seq == len(events)
    assert store.state_fingerprint()["cases"] == {"K1": top, "K2": 0}
    assert store.columns().due.tolist() == [0.0, 0.0]  # a deadline that is no number: none
    # In a snapshot: refused with the snapshot's seq, the rest of the snapshot held.
    cs = Store().reset(p.Snapshot(v=1, epoch="e", seq=7, now=NOW, rate=1.0,
                                  cases=[fits[0], refused["the case has no id"]]))  # fmt: skip
    assert cs.rejected == [(7, "snapshot case '': the case has no id")]


def test_a_newer_import_of_a_case_is_the_record_its_history_hands_on() -> None:
    store = Store()
    first, newer = _record("N1", 1, "reported"), _record("N1", 2, "closed")
    store.bulk_load(_bulk([first]), in_history=True)
    store.bulk_load(_bulk([newer]), in_history=True)  # replaces it, and is history too
    hb = store.history_bulk()
    assert hb.ids.tolist() == ["N1"] and hb.version.tolist() == [2]
    assert hb.record(0) is newer and store.case("N1") is newer


def test_the_newest_of_hundreds_filed_in_any_order() -> None:
    """Each case is named by its filing time, so the newest are known by their names; in
    these two filing orders a partial sort split one place off would pick a wrong one."""

    def filed(n: int, seed: int) -> Store:
        order = np.random.default_rng(seed).permutation(n).tolist()
        s = Store()
        s.apply([
            ev(k + 1, "case.created", _record(f"T{v}", 1, "reported", created_ts=NOW + v))
            for k, v in enumerate(order)
        ])  # fmt: skip
        return s

    assert [c.id for c in filed(300, 15).newest_cases(100)] == [
        f"T{v}" for v in range(299, 199, -1)
    ]
    assert [c.id for c in filed(270, 6).newest_cases(210)] == [f"T{v}" for v in range(269, 59, -1)]


def test_the_state_fingerprint_names_what_is_held() -> None:
    s = Store()
    s.apply([
        ev(1, "case.created", case(1, version=3)),
        ev(2, "unit.status", p.UnitStatusData(id="U1", name="网格员1", kind="grid_worker",
                                              status="busy", lon=113.123456789, lat=37.987654321)),
        ev(3, "unit.position", p.UnitPosition(id="U2", lon=113.5, lat=37.5)),
        ev(4, "camera.upsert", p.CameraData(id="CAM1", name="东门", lon=113.7, lat=37.8,
                                            online=False)),
        ev(5, "grid.stats", p.GridStats(id="G2", township="冠山镇", population=1)),
        ev(6, "grid.stats", p.GridStats(id="G1", township="冠山镇", population=2)),
        ev(7, "kpi.update", p.Kpi(name="closure_rate", value=0.5)),
    ])  # fmt: skip
    s.cameras["CAM2"] = object()  # a camera record that says nothing of being online
    s.kpis["bare"] = object()
    assert s.state_fingerprint() == {
        "seq": 7,
        "cases": {"C1": 3},
        "units": {"U1": (113.1234568, 37.9876543, "busy"), "U2": (113.5, 37.5, None)},
        "cameras": {"CAM1": False, "CAM2": True},
        "grids": ["G1", "G2"],
        "kpis": {"closure_rate": 0.5, "bare": None},
    }


def test_a_factorization_at_hand_is_taken_only_for_the_rows_it_was_made_of() -> None:
    bulk = _bulk([_record("F1", 1, "reported"), _record("F2", 1, "reported", urgency="urgent")])
    stale = (np.array([0]), np.array(["urgent"], dtype=object))  # of a one-row column
    bulk.factored = {"urgency": stale}
    assert bulk.factorized("urgency", bulk.urgency)[1].tolist() == ["normal", "urgent"]
    good = (np.array([1, 0]), np.array(["urgent", "normal"], dtype=object))
    bulk.factored = {"urgency": good}
    assert bulk.factorized("urgency", bulk.urgency) is good
    store = Store()
    store.bulk_load(bulk)
    assert store.to_frame()["urgency"].tolist() == ["normal", "urgent"]


def test_a_bulk_load_at_the_edges_of_its_rules() -> None:
    # The first state and version 0 are values like any other.
    store = Store()
    store.apply([ev(1, "case.created", _record("L1", 1, "reported", supervised=3))])
    cs = store.bulk_load(_bulk([_record("E0", 0, "discovered"), _record("L1", 2, "closed")]))
    assert cs.rejected == [] and cs.cases_created == ["E0"] and cs.cases_updated == {"L1"}
    assert store.to_frame()["supervised"].tolist() == [0, 0]  # an import carries none
    # A state that is no text is unknown; a value only refused rows had is not interned.
    odd = _bulk([_record("N0", 1, "reported"), _record("N1", 1, "reported", category="仅被拒")])
    odd.state[1] = None
    cs = Store().bulk_load(odd)
    assert cs.rejected == [(0, "case 'N1': unknown state")]
    nope = Store()
    nope.bulk_load(odd)
    assert nope.interners["category"].values == ["井盖缺失"]
    # An empty id among ids that are not all text is refused as a missing one is.
    mixed = _bulk([_record("M0", 1, "reported"), _record("M1", 1, "reported"),
                   _record("M2", 1, "reported")])  # fmt: skip
    mixed.ids[1], mixed.ids[2] = None, ""
    assert [r[1] for r in Store().bulk_load(mixed).rejected] == [
        "case None: the case has no id", "case '': the case has no id",
    ]  # fmt: skip
    # Each reason names at most a thousand cases.
    many = _bulk([_record(f"Z{i}", 1, "nope") for i in range(1001)])
    assert len(Store().bulk_load(many).rejected) == 1000


def test_a_case_twice_in_one_load_is_found_among_new_or_held_cases_alone() -> None:
    new_twice = Store()
    cs = new_twice.bulk_load(_bulk([_record("D", 1, "reported"), _record("X", 1, "nope"),
                                    _record("D", 1, "signed")]))  # fmt: skip
    assert cs.rejected == [(0, "case 'X': unknown state"),
                           (0, "case 'D': a later row has the same id")]  # fmt: skip
    assert new_twice.state_fingerprint()["cases"] == {"D": 1} and len(new_twice) == 1
    assert new_twice.case("D").state == "signed"
    held_twice = Store()
    held_twice.bulk_load(_bulk([_record("K", 1, "reported")]))
    cs = held_twice.bulk_load(_bulk([_record("K", 2, "signed"), _record("K", 3, "assigned")]))
    assert cs.rejected == [(0, "case 'K': a later row has the same id")]
    assert held_twice.case("K").version == 3 and cs.cases_updated == {"K"}


# ---- by hand: what each apply says it did, and the defaults of a case-like record ------------


def test_each_kind_of_event_says_what_it_changed() -> None:
    s = Store()
    steps = [
        ("unit.status", p.UnitStatusData(id="U1", name="张伟", kind="grid_worker", status="available")),
        ("unit.position", p.UnitPosition(id="U2", lon=113.7, lat=37.9)),
        ("camera.upsert", p.CameraData(id="CAM1", name="东门", lon=113.7, lat=37.8)),
        ("camera.status", p.CameraStatus(id="CAM1", online=False)),
        ("grid.stats", p.GridStats(id="G1", township="冠山镇", population=800)),
        ("kpi.update", p.Kpi(name="closure_rate", value=0.96, target=0.95)),
        ("alert.raised", p.Alert(id="A1", level="red", kind="sla.breach", message="超时")),
    ]
    got = []
    for seq, (kind, data) in enumerate(steps, start=1):
        cs = s.apply([ev(seq, kind, data)])
        assert (cs.applied, cs.rejected, cs.skipped) == (1, [], 0), kind
        got.append((cs.units, cs.cameras, cs.grids, cs.kpis, [a.id for a in cs.alerts]))
    assert got == [
        ({"U1"}, set(), set(), set(), []),
        ({"U2"}, set(), set(), set(), []),
        (set(), {"CAM1"}, set(), set(), []),
        (set(), {"CAM1"}, set(), set(), []),
        (set(), set(), {"G1"}, set(), []),
        (set(), set(), set(), {"closure_rate"}, []),
        (set(), set(), set(), set(), ["A1"]),
    ]


def test_skipped_duplicate_and_stale_events_are_each_counted() -> None:
    s = Store()
    s.apply([ev(1, "case.created", case(1)), ev(2, "case.updated", case(1, 3, "assigned"))])
    cs = s.apply([
        ev(1, "case.created", case(1)),  # duplicates: seq not newer
        ev(2, "case.updated", case(1, 3)),
        ev(3, "weather.report", None),  # kinds the store does not hold
        ev(4, "weather.report", None),
        ev(5, "case.updated", case(1, 3, "signed")),  # the same version: stale
        ev(6, "case.updated", case(1, 2, "signed")),  # an older one: stale
        ev(7, "case.created", case(2)),
    ])  # fmt: skip
    assert (cs.duplicates, cs.skipped, cs.stale, cs.applied) == (2, 2, 2, 3)
    assert cs.cases_created == ["C2"] and s.seq == 7
    assert s.case("C1").state == "assigned"


def test_a_refusal_says_why_in_at_most_300_characters() -> None:
    s = Store()
    bad = case(1)
    bad.version = "9" * 400  # type: ignore[assignment]
    cs = s.apply([ev(1, "case.created", bad)])
    ((seq, why),) = cs.rejected
    assert seq == 1 and len(why) == 300
    assert why.startswith("case.created: ValueError: version='999")


def test_a_store_before_any_snapshot() -> None:
    s = Store()
    assert (s.epoch, s.seq, s.geography, len(s)) == ("", 0, {}, 0)
    assert s.display_name("T1") == "T1"  # no names known: the code itself


def test_the_store_keeps_the_newest_thousand_alerts() -> None:
    s = Store()
    s.apply([ev(i, "alert.raised", p.Alert(id=f"A{i}", level="red", kind="sla.breach", message="m"))
             for i in range(1, 1002)])  # fmt: skip
    assert len(s.alerts) == 1000 and s.alerts[0].id == "A2" and s.alerts[-1].id == "A1001"


def test_a_case_like_record_without_the_optional_fields_takes_their_defaults() -> None:
    from types import SimpleNamespace

    full = case(1)
    fields = {name: getattr(full, name) for name in full.__struct_fields__}
    for name in ("address", "assignee_kind", "due_ts"):
        del fields[name]
    record = SimpleNamespace(**fields)
    event = SimpleNamespace(seq=1, kind="case.created", ts=NOW, data=record)  # no extra
    s = Store()
    cs = s.apply([event])
    assert (cs.applied, cs.rejected) == (1, [])
    frame = s.to_frame()
    assert (frame["address"][0], frame["assignee_kind"][0], frame["due_ts"][0]) == ("", "", 0.0)
    assert s.case_extra("C1") == {}


def test_a_case_of_a_source_the_store_does_not_know_is_held_as_the_hotlines() -> None:
    s = Store()
    odd = case(1)
    odd.source = "drone"
    cs = s.apply([ev(1, "case.created", odd)])
    assert (cs.applied, cs.rejected) == (1, [])
    assert s.to_frame()["source"][0] == "hotline"  # the first source, code 0


def test_the_case_columns_are_as_narrow_as_their_values() -> None:
    s = Store()
    s.apply([ev(1, "case.created", case(1))])
    cols = s.columns()
    assert (cols.rating.dtype, cols.version.dtype, cols.created.dtype) == (np.int8, np.int64, np.float64)
    frame = s.to_frame()
    assert (frame["supervised"].dtype, frame["rating"].dtype) == (np.int32, np.int8)


def test_a_bulk_load_not_said_to_be_journaled_is_the_live_stores_own() -> None:
    s = Store()
    s.bulk_load(_bulk([H1, H2]))
    assert s.history_rows().tolist() == [False, False]


def test_a_load_names_at_most_a_thousand_ids_that_come_twice() -> None:
    twice = [_record(f"D{i}", 1, "reported") for i in range(1001)]
    s = Store()
    cs = s.bulk_load(_bulk(twice + twice))
    again = [why for _, why in cs.rejected if why.endswith(": a later row has the same id")]
    assert len(again) == 1000 and len(s) == 1001


def test_a_snapshot_puts_back_everything_it_carries_and_says_so_once() -> None:
    from types import SimpleNamespace

    s = Store()
    seen: list[ChangeSet] = []
    s.subscribe(seen.append)
    nameless = SimpleNamespace(version=1)  # a case without even an id
    long_id = case(2)
    long_id.id = "L" * 400
    long_id.state = "no-such-state"
    snap = p.Snapshot(
        v=1, epoch="E", seq=50, now=NOW, rate=1.0,
        cases=[case(1), nameless, long_id],
        units=[p.UnitStatusData(id="U1", name="张伟", kind="grid_worker", status="available")],
        positions=[p.UnitPosition(id="U2", lon=113.7, lat=37.9, heading=90.0, speed=3.0, ts=NOW)],
        cameras=[p.CameraData(id="CAM1", name="东门", lon=113.7, lat=37.8)],
        grids=[p.GridStats(id="G1", township="冠山镇", population=800)],
        kpis=[p.Kpi(name="k", value=1.0)],
    )  # fmt: skip
    cs = s.reset(snap)
    assert (cs.first_seq, cs.last_seq, cs.reset) == (50, 50, True)
    assert seen == [cs]
    (first, second) = cs.rejected
    assert first[0] == 50 and first[1].startswith("snapshot case '?': ")
    assert second[0] == 50 and len(second[1]) == 300 and second[1].startswith("snapshot case 'LLL")
    assert len(s) == 1 and s.case("C1") is not None
    u2 = s.units["U2"]
    assert (u2.lon, u2.lat, u2.heading, u2.speed, u2.ts) == (113.7, 37.9, 90.0, 3.0, NOW)
    assert s.units["U1"].status.name == "张伟"
    assert s.cameras["CAM1"].name == "东门" and s.grids["G1"].population == 800
    assert s.kpis["k"].value == 1.0
    assert s.to_frame()["id"].dtype == "string"
