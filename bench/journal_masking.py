"""Masking at rest: what the journal pays to keep reporters' personal data out of its file
(``feeds.journal_codec`` with the mask on, as on leader and viewer screens), per event and
per checkpoint, against the same codec unmasked in the same process.

A checkpoint encodes every case the store holds, so its cost grows with the store: it runs
on every snapshot and every 25,000 events or 30 minutes of feed time.

Run: ``python -m bench journal_masking`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import random
import time

import msgspec

from bench.table import Row, print_table


def _cases(n: int) -> list:
    from feeds import protocol as p

    rng = random.Random(5)
    names = ["田嘉怡", "赵建国", "欧阳娜娜", "王丽", "丁德胜"]
    out = []
    for i in range(n):
        who = rng.choice(names)
        phone = f"1{rng.randrange(3, 10)}{rng.randrange(10**9):09d}"
        steps = [
            p.TimelineItem(ts=1.0 + k, action="a", actor=a, state="reported", note=note)
            for k, (a, note) in enumerate(
                [
                    (f"监督员{who}", "监督员"),
                    ("值班员王丽", ""),
                    ("值班员王丽", "城管局"),
                    ("城管局", ""),
                    ("城管局", f"已联系{who}"),
                ]
            )
        ]
        case = p.CaseData(
            id=f"PD{i:07d}", version=1, category="路灯", source="hotline", urgency="normal",
            state="reported", township="冠山镇", grid="G1", lon=113.6, lat=37.8,
            created_ts=1.0, state_ts=1.0, title="北环路路灯不亮",
            description=f"{who}来电：人民广场附近路灯时亮时不亮，电话{phone}",
            address=f"冠山镇北环路{rng.randrange(1, 200)}号", reporter_name=who,
            reporter_phone=phone, timeline=steps,
        )  # fmt: skip
        out.append(case)
    return out


def _time(fn, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(quick: bool = False) -> list[Row]:
    from commandcenter.privacy import Mask
    from feeds import protocol as p
    from feeds.journal_codec import journal_codec

    n = 2_000 if quick else 20_000
    cases = _cases(n)
    state = {"v": 1, "epoch": "e", "seq": 0, "now": 0.0, "rate": 1.0, "cases": cases,
             "units": [], "positions": [], "cameras": [], "grids": [], "kpis": [], "alerts": []}  # fmt: skip
    plain = journal_codec()
    reps = 1 if quick else 3
    cp_plain = _time(lambda: plain.encode_state(state), reps)
    # First checkpoint (a snapshot): every case masked; the next one (1% of the cases
    # changed since, journaled as events) reuses the rest.
    first = min(_time(lambda: journal_codec(Mask(enabled=True)).encode_state(state), 1)
                for _ in range(reps))  # fmt: skip
    masked = journal_codec(Mask(enabled=True))
    masked.encode_state(state)
    changed = cases[:: 100]
    bumped = [msgspec.structs.replace(c, version=2) for c in changed]
    events = [p.Event(seq=i, kind=p.CASE_UPDATED, ts=1.0, data=c) for i, c in enumerate(bumped)]
    t0 = time.perf_counter()
    for e in events:
        masked.encode_event(e)
    ev_masked = (time.perf_counter() - t0) / len(events)
    ev_plain = _time(lambda: [plain.encode_event(e) for e in events], 1) / len(events)
    index = {c.id: i for i, c in enumerate(cases)}
    for c in bumped:
        cases[index[c.id]] = c
    nxt = _time(lambda: masked.encode_state(state), reps)
    return [
        Row(f"journal checkpoint, {n:,} cases, all masked", first * 1e3, "ms", "",
            cp_plain * 1e3, "a snapshot: once per epoch"),
        Row(f"journal checkpoint, {n:,} cases, 1% changed", nxt * 1e3, "ms", "",
            cp_plain * 1e3, "every 25k events / 30 min"),
        Row("journal case event encoded, masked", ev_masked * 1e6, "µs", "", ev_plain * 1e6),
    ]  # fmt: skip

if __name__ == "__main__":
    print_table(run())
