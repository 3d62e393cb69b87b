"""Property-based fuzz of the feed's decoding and the store's apply: whatever a producer
sends, in any field of any kind (huge, negative, NaN and infinite numbers, wrong types,
empty and 100k-character strings, unknown fields), nothing raises and the store stays
consistent with the events it accepted."""

from __future__ import annotations

import math
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commandcenter.store import Store
from feeds import protocol as p

_GOOD_CASE = msgspec.to_builtins(
    p.CaseData(
        id="C1",
        version=1,
        category="占道经营",
        source="hotline",
        urgency="normal",
        state="reported",
        township="冠山镇",
        grid="G001",
        lon=113.6,
        lat=37.8,
        created_ts=1.7e9,
        state_ts=1.7e9,
    )
)
_GOOD = {
    p.CASE_CREATED: _GOOD_CASE,
    p.CASE_UPDATED: _GOOD_CASE,
    p.UNIT_POSITION: {"id": "U1", "lon": 113.6, "lat": 37.8},
    p.UNIT_STATUS: {"id": "U1", "name": "n", "kind": "grid", "status": "idle"},
    p.CAMERA_UPSERT: {"id": "K1", "name": "n", "lon": 113.6, "lat": 37.8},
    p.CAMERA_STATUS: {"id": "K1", "online": False},
    p.GRID_STATS: {"id": "G001", "township": "t", "population": 5},
    p.KPI_UPDATE: {"name": "closure", "value": 0.9},
    p.ALERT_RAISED: {"id": "A1", "level": "red", "kind": "sla.breach", "message": "m"},
}

hostile_value = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([10**30, -1, 0, 2**63, 2**64, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "x" * 100_000, "<b>x</b>", "\u202e", "reported", "urgent"]),
    st.text(max_size=20),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def hostile_event(draw: Any, seq: int) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(_GOOD)))
    data = dict(_GOOD[kind])
    data["id"] = draw(st.sampled_from(["C1", "C2", "U1", "K1", "A1", "G001"]))
    for name in draw(st.lists(st.sampled_from([*sorted(data), "unknown_field"]), max_size=4)):
        data[name] = draw(hostile_value)
    if draw(st.booleans()):
        data.pop(draw(st.sampled_from(sorted(data))), None)
    return kind, data


def _wire(seq: int, kind: str, data: dict[str, Any]) -> bytes:
    # Python's json writes NaN/Infinity and ints of any size; that is what a sloppy
    # producer sends, and what msgspec's own encoder would refuse to write.
    import json

    return json.dumps({"v": 1, "seq": seq, "kind": kind, "ts": 1.0, "data": data}).encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_decoding_and_applying_hostile_events_never_raises(data: st.DataObject) -> None:
    store = Store()
    store.reset(p.Snapshot(v=1, epoch="e", seq=0, now=1.7e9, rate=1.0))
    n = data.draw(st.integers(min_value=1, max_value=12))
    accepted_cases: dict[str, int] = {}
    for seq in range(1, n + 1):
        kind, payload = data.draw(hostile_event(seq))
        parsed = p.parse_message(_wire(seq, kind, payload))
        assert len(parsed.events) + len(parsed.bad) + len(parsed.unknown_kinds) == 1
        if parsed.events:
            ev = parsed.events[0]
            cs = store.apply(parsed.events)
            assert cs.applied + cs.rejected + cs.skipped + cs.duplicates + cs.stale >= 1
            if ev.kind in (p.CASE_CREATED, p.CASE_UPDATED) and cs.applied and not cs.stale:
                accepted_cases[ev.data.id] = max(accepted_cases.get(ev.data.id, 0), ev.data.version)
    # Consistent: one row per accepted case id, its version column equal to its record.
    assert len(store) == len(accepted_cases)
    for cid, version in accepted_cases.items():
        rec = store.case(cid)
        assert rec is not None and rec.version == version
        row = store.row_of(cid)
        assert int(store._version[row]) == rec.version
        assert math.isfinite(store._f["created_ts"][row])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_escape_the_decoder(raw: bytes) -> None:
    for event in ("", p.SSE_BATCH):
        parsed = p.parse_message(raw, event)
        assert isinstance(parsed, p.Parsed)


def test_the_store_refuses_a_case_it_cannot_hold_without_writing_half_of_it() -> None:
    store = Store()
    store.reset(p.Snapshot(v=1, epoch="e", seq=0, now=1.7e9, rate=1.0))
    bad = msgspec.convert(_GOOD_CASE, p.CaseData)
    bad.version = 10**30  # as if a producer bypassed the protocol's bounds
    cs = store.apply([p.Event(seq=1, kind=p.CASE_CREATED, ts=1.0, data=bad)])
    assert cs.rejected == 1 and cs.applied == 0
    assert len(store) == 0 and store.case("C1") is None and store.seq == 1
    assert "version" in store.rejections[-1]
    good = msgspec.convert(_GOOD_CASE, p.CaseData)
    assert store.apply([p.Event(seq=2, kind=p.CASE_CREATED, ts=1.0, data=good)]).applied == 1
    assert len(store) == 1
