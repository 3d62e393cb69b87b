"""Property-based fuzz of the feed's decoding and the store's apply: whatever the wire
carries (huge, negative, NaN and infinite numbers, wrong types, empty and 100k-character
strings, unknown fields, any kind), nothing escapes the codec or the store, and the store
stays consistent: every case it holds is one that passed, with the newest version seen."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commandcenter.store import Store
from feeds import protocol as p

KINDS = [*p.PAYLOAD_TYPES, "weather.update", "", "case.created\x00"]

hostile_numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**63, 2**64, 10**30, -(2**63) - 1, 1e308, -1e308, 5e-324]),
)
hostile_strings = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "null", "<b>x</b>", "\u202e", "a\nb", "x" * 100_000, "reported"]),
)
hostile_values = st.one_of(
    hostile_numbers, hostile_strings, st.booleans(), st.none(),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)  # fmt: skip


def _valid_case(i: int) -> dict[str, Any]:
    return {
        "id": f"C{i % 7}", "version": 1 + i % 5, "category": "c", "source": "hotline",
        "urgency": "normal", "state": "reported", "township": "T", "grid": "G",
        "lon": 113.6, "lat": 37.8, "created_ts": 1.7e9, "state_ts": 1.7e9,
    }  # fmt: skip


def _valid_payload(kind: str, i: int) -> dict[str, Any]:
    if kind in (p.CASE_CREATED, p.CASE_UPDATED):
        return _valid_case(i)
    typ = p.PAYLOAD_TYPES.get(kind)
    if typ is None:
        return {}
    fields: dict[str, Any] = {}
    for name, ftype in zip(typ.__struct_fields__, typ.__annotations__.values(), strict=False):
        fields[name] = {"str": "x", "bool": True}.get(str(ftype), 1)
    return fields


def _sometimes(draw: st.DrawFn, good: Any, bad: st.SearchStrategy[Any], odds: int = 5) -> Any:
    """Mostly the good value, one time in ``odds`` a hostile one: most events must pass
    validation, or the fuzz would test only the quarantine and never the store."""
    return draw(bad) if draw(st.integers(0, odds - 1)) == 0 else good


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    i = draw(st.integers(0, 50))
    data: Any = _valid_payload(kind, i)
    spoil = draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))
    for _ in range(spoil):  # spoil a few fields, or add unknown ones
        key = draw(st.one_of(st.sampled_from(sorted(data) or ["id"]), st.text(max_size=8)))
        data[key] = draw(hostile_values)
    data = _sometimes(draw, data, hostile_values, odds=12)
    env: dict[str, Any] = {
        "v": _sometimes(draw, 1, hostile_numbers, odds=12),
        "seq": _sometimes(draw, draw(st.integers(1, 10_000)), hostile_numbers, odds=8),
        "kind": kind,
        "ts": _sometimes(draw, 1.7e9, hostile_numbers, odds=8),
        "data": data,
    }
    if draw(st.integers(0, 14)) == 0:
        del env[draw(st.sampled_from(sorted(env)))]
    return env


def _wire(env: dict[str, Any]) -> bytes:
    """JSON as a sloppy producer writes it: NaN and Infinity spelled out."""
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return "__NAN__" if math.isnan(v) else ("__INF__" if v > 0 else "__NINF__")
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    raw = p._encoder.encode(clean(env))
    return raw.replace(b'"__NAN__"', b"NaN").replace(b'"__INF__"', b"1e999").replace(
        b'"__NINF__"', b"-1e999"
    )


def _consistent(store: Store, applied_versions: dict[str, int]) -> None:
    assert len(store) == len(applied_versions)
    for cid, version in applied_versions.items():
        case = store.case(cid)
        assert case is not None and case.version == version
    frame = store.to_frame()
    assert len(frame) == len(applied_versions)
    for name in ("lon", "lat", "created_ts", "state_ts"):
        assert frame[name].map(math.isfinite).all(), name
    assert sum(store.sla_counts().values()) <= store.open_count() <= len(store)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(envelopes(), min_size=1, max_size=25), st.booleans())
def test_nothing_escapes_decode_or_apply_and_the_store_stays_consistent(
    envs: list[dict[str, Any]], as_batch: bool
) -> None:
    store = Store()
    expected: dict[str, int] = {}
    raws = [_wire(e) for e in envs]
    parsed_all: list[p.Parsed] = []
    if as_batch:
        parsed_all.append(p.parse_message(b"[" + b",".join(raws) + b"]", p.SSE_BATCH))
    else:
        parsed_all.extend(p.parse_message(raw) for raw in raws)
    for parsed in parsed_all:
        assert all(q.reason for q in parsed.bad)
        events = sorted(parsed.events, key=lambda e: e.seq)
        before = store.seq
        cs = store.apply(events)
        refused = {seq for seq, _ in cs.rejected}
        seen = before
        for ev in events:
            if ev.seq <= seen:
                continue
            seen = ev.seq
            is_case = ev.kind in (p.CASE_CREATED, p.CASE_UPDATED) and ev.seq not in refused
            # a new id is held whatever its version (0 included); a known one only newer
            held = expected.get(ev.data.id, -1) if is_case else 0
            if is_case and ev.data.version > held:
                expected[ev.data.id] = ev.data.version
        assert store.seq == max([before, *(e.seq for e in events)])
    _consistent(store, expected)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["", p.SSE_BATCH, p.CASE_CREATED]))
def test_random_bytes_never_raise(raw: bytes, event: str) -> None:
    parsed = p.parse_message(raw, event)
    assert len(parsed.events) + len(parsed.bad) + len(parsed.unknown_kinds) >= 0
    for ev in parsed.events:
        Store().apply([ev])
