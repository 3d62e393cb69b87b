"""Events parsed and applied per second: the client's hot path without the network.

The stream is a realistic mix (positions dominate, as in a real hall: ~150 units every
few seconds, plus case changes, grid statistics, KPIs). The baseline is stdlib json.loads
of the same bytes with no validation and no store: what parsing alone costs.
"""

from __future__ import annotations

import json
import random
import time

from bench.table import Row
from commandcenter.store import Store
from feeds import protocol as p

NOW = 1_700_000_000.0


def make_stream(n: int, seed: int = 1) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    msgs: list[tuple[str, bytes]] = []
    versions: dict[str, int] = {}
    for seq in range(1, n + 1):
        r = rng.random()
        if r < 0.70:
            kind = p.UNIT_POSITION
            data = p.UnitPosition(
                id=f"U{rng.randrange(150)}",
                lon=113.6 + rng.random() * 0.3,
                lat=37.7 + rng.random() * 0.3,
                heading=rng.random() * 360,
                speed=rng.random() * 10,
                ts=NOW + seq,
            )
        elif r < 0.92:
            cid = f"C{rng.randrange(20000)}"
            v = versions[cid] = versions.get(cid, 0) + 1
            kind = p.CASE_CREATED if v == 1 else p.CASE_UPDATED
            data = p.CaseData(
                id=cid,
                version=v,
                category="占道经营",
                source="hotline",
                urgency="normal",
                state="reported" if v == 1 else "signed",
                township="冠山镇",
                grid="140321100001",
                lon=113.6,
                lat=37.8,
                created_ts=NOW,
                state_ts=NOW + seq,
                title="占道经营 冠山镇",
                description="有商贩在人行道上摆摊，影响行人通行，请尽快处理。",
                address="冠山镇平定路12号",
                reporter_name="王丽",
                reporter_phone="13800001234",
                timeline=[
                    p.TimelineItem(ts=NOW, action="report", actor="hotline", state="reported")
                ]
                * min(v, 6),
            )
        elif r < 0.97:
            kind = p.GRID_STATS
            data = p.GridStats(
                id=f"G{rng.randrange(450)}", township="冠山镇", population=700, patrols_today=2
            )
        else:
            kind = p.KPI_UPDATE
            data = p.Kpi(
                name=rng.choice(["closure_rate", "on_time_rate", "open_urgent"]), value=rng.random()
            )
        msgs.append((kind, p.encode_envelope(seq, kind, NOW + seq, data)))
    return msgs


def _rate(fn, n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def run(quick: bool = False) -> list[Row]:
    n = 20_000 if quick else 100_000
    repeat = 2 if quick else 3
    stream = make_stream(n)
    raws = [raw for _, raw in stream]

    def baseline() -> None:
        for raw in raws:
            json.loads(raw)

    def parse_only() -> None:
        for raw in raws:
            p.parse_message(raw)

    def parse_apply_single() -> None:
        store = Store()
        for raw in raws:
            store.apply(p.parse_message(raw).events)

    batches = [b"[" + b",".join(raws[i : i + 200]) + b"]" for i in range(0, n, 200)]

    def parse_apply_batched() -> None:
        store = Store()
        for raw in batches:
            store.apply(p.parse_message(raw, p.SSE_BATCH).events)

    base = _rate(baseline, n, repeat)
    return [
        Row("json.loads only (baseline, no validation)", base, "events/s"),
        Row("parse+validate (msgspec)", _rate(parse_only, n, repeat), "events/s", baseline=base),
        Row(
            "parse+apply, one event per message",
            _rate(parse_apply_single, n, repeat),
            "events/s",
            ">= 20,000",
            baseline=base,
        ),
        Row(
            "parse+apply, batches of 200",
            _rate(parse_apply_batched, n, repeat),
            "events/s",
            ">= 20,000",
            baseline=base,
        ),
    ]
