"""League tables over 1,000,000 cases: full recomputation and incremental updates.

The synthetic county has 10 townships, 452 grids, 20 departments, 150 officers and 40
categories; 1,000,000 cases filed over the last 60 days, so the 30-day window and its
previous window hold about half each and every case takes part. States, urgency, ratings,
addresses (for repeats) and extensions are drawn to look like a hall's: most cases
finished, recent ones often open.

Baseline (same process): a naive pandas groupby over the whole frame that yields only
four of the table's columns (received, closure rate, median and p90 handling time) for
one level and one window, with no SLA, repeats, score, rank or previous window.

Times are the best of several runs, as in bench/ingest.py (a shared machine shows its
neighbours in the median, which the incremental rows give in their note).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from bench.table import Row
from commandcenter.ranking import LAST_30_DAYS, LEVELS, LeagueTable, RankingEngine
from commandcenter.sla import DAY, STATE_ORDER, URGENCY_ORDER

NOW = 1_795_399_200.0  # 2026-11-23 08:00 Beijing
ZONE = "Asia/Shanghai"
STATES = [s.value for s in STATE_ORDER]
_NEXT = {
    "discovered": "reported",
    "reported": "signed",
    "signed": "assigned",
    "assigned": "handling",
    "returned": "assigned",
    "handling": "completed",
    "completed": "closed",
    "closed": "called_back",
    "called_back": "evaluated",
}


def synthetic_frame(n: int, seed: int = 1, days: int = 60) -> tuple[pd.DataFrame, dict]:
    """``Store.to_frame()``-shaped cases (categoricals as the store gives them)."""
    rng = np.random.default_rng(seed)
    townships = [f"1403211{i:02d}" for i in range(10)]
    grids = [f"{townships[i % 10]}{i:03d}" for i in range(452)]
    departments = [f"部门{i:02d}" for i in range(20)]
    officers = [f"ZF{i:03d}" for i in range(150)]
    categories = [f"类别{i:02d}" for i in range(40)]
    mapping = {c: departments[i % 20] for i, c in enumerate(categories)}
    addresses = [""] + [f"街道{i}号" for i in range(30_000)]

    created = NOW - rng.random(n) * days * DAY
    age = NOW - created
    grid = rng.integers(0, len(grids), n)
    township = grid % 10
    category = rng.integers(0, len(categories), n)
    urgent = rng.random(n) < 0.1
    p_open = np.where(age < 2 * DAY, 0.5, 0.03)
    open_ = rng.random(n) < p_open
    open_states = np.array(
        [STATES.index(s) for s in ("reported", "signed", "assigned", "handling")]
    )
    done_states = np.array(
        [STATES.index(s) for s in ("completed", "closed", "called_back", "evaluated")]
    )
    state = np.where(
        open_,
        open_states[rng.integers(0, 4, n)],
        done_states[rng.choice(4, n, p=[0.05, 0.2, 0.2, 0.55])],
    )
    done = ~open_
    took = rng.exponential(np.where(urgent, 5 * 3600, 20 * 3600))
    completed = np.where(done, np.minimum(created + took, NOW), 0.0)
    dispatched = state >= STATES.index("assigned")
    unit = rng.random(n) < 0.4
    assignee_dept = np.array([departments.index(mapping[c]) for c in categories], dtype=np.int64)[
        category
    ]
    # assignee column: departments first, then officers, then "" (not yet dispatched)
    assignee = np.where(
        dispatched,
        np.where(unit, 20 + rng.integers(0, 150, n), assignee_dept),
        170,
    )
    kind = np.where(dispatched, np.where(unit, 1, 0), 2)  # department, unit, ""
    address = np.where(rng.random(n) < 0.7, rng.integers(1, len(addresses), n), 0)
    rating = np.where(
        state == STATES.index("evaluated"),
        rng.choice([1, 2, 3, 4, 5], n, p=[0.02, 0.03, 0.1, 0.35, 0.5]),
        0,
    )
    frame = pd.DataFrame(
        {
            "id": pd.Series([f"C{i:07d}" for i in range(n)], dtype="string"),
            "version": np.where(done, 8, 3).astype(np.int64),
            "state": pd.Categorical.from_codes(state, categories=STATES),
            "urgency": pd.Categorical.from_codes(
                np.where(urgent, 0, 1), categories=[u.value for u in URGENCY_ORDER]
            ),
            "supervised": np.zeros(n, dtype=np.int32),
            "rating": rating.astype(np.int8),
            "created_ts": created,
            "state_ts": np.where(done, completed, created),
            "assigned_ts": np.where(dispatched, created + 600, 0.0),
            "on_site_ts": np.where(state >= STATES.index("handling"), created + 1800, 0.0),
            "completed_ts": completed,
            "closed_ts": np.where(state >= STATES.index("closed"), completed + 600, 0.0),
            "extension_s": np.where(rng.random(n) < 0.02, 2 * DAY, 0.0),
            "lon": 113.6 + rng.random(n) * 0.3,
            "lat": 37.7 + rng.random(n) * 0.3,
            "category": pd.Categorical.from_codes(category, categories=categories),
            "township": pd.Categorical.from_codes(township, categories=townships),
            "grid": pd.Categorical.from_codes(grid, categories=grids),
            "assignee": pd.Categorical.from_codes(
                assignee, categories=[*departments, *officers, ""]
            ),
            "assignee_kind": pd.Categorical.from_codes(kind, categories=["department", "unit", ""]),
            "address": pd.Categorical.from_codes(address, categories=addresses),
        }
    )
    return frame, mapping


def changes(frame: pd.DataFrame, k: int, rng: np.random.Generator, complete: bool) -> pd.DataFrame:
    """k cases moved one step along their life; with ``complete``, k open cases completed
    (the worst case for the sorted index of handling times: 1,000 new entries per level)."""
    if complete:
        open_rows = np.flatnonzero(
            frame["state"].isin(["reported", "signed", "assigned", "handling"]).to_numpy()
        )
        rows = frame.iloc[rng.choice(open_rows, k, replace=False)].copy()
        new = pd.Series("completed", index=rows.index)
    else:
        rows = frame.iloc[rng.choice(len(frame), k, replace=False)].copy()
        new = rows["state"].astype(str).map(lambda s: _NEXT.get(s, s))
    state = rows["state"].astype(str)
    became_done = (new == "completed") & (state != "completed")
    rows["completed_ts"] = np.where(became_done, NOW - rng.random(k) * 86400, rows["completed_ts"])
    rows["rating"] = np.where((new == "evaluated") & (state != "evaluated"), 4, rows["rating"])
    rows["state"] = pd.Categorical(new, categories=STATES)
    rows["version"] = rows["version"] + 1
    return rows


def _time(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def naive_groupby(frame: pd.DataFrame) -> pd.DataFrame:
    """The baseline: received, closure rate, median and p90 handling time per assignee."""
    start = NOW - 30 * DAY
    f = frame[frame["created_ts"] >= start]
    state = f["state"].astype(str)
    closed = state.isin(["closed", "called_back", "evaluated"])
    ht = (f["completed_ts"] - f["created_ts"]).where(f["completed_ts"] > 0)
    g = pd.DataFrame({"who": f["assignee"], "closed": closed, "ht": ht}).groupby(
        "who", observed=True
    )
    return pd.DataFrame(
        {
            "received": g.size(),
            "closure_rate": g["closed"].mean(),
            "median": g["ht"].median(),
            "p90": g["ht"].quantile(0.9),
        }
    )


def run(quick: bool = False) -> list[Row]:
    n = 200_000 if quick else 1_000_000
    repeat = 2 if quick else 3
    frame, mapping = synthetic_frame(n)
    kw = {"zone": ZONE, "category_departments": mapping}
    label = f"{n // 1000:,}k" if n < 1_000_000 else "1M"

    base = min(_time(lambda: naive_groupby(frame), repeat))
    rows = [Row(f"naive groupby, 4 columns, 1 level ({label}, baseline)", base, "ms")]
    for level in LEVELS:
        ms = min(
            _time(
                lambda level=level: LeagueTable.compute(frame, level, LAST_30_DAYS, NOW, **kw),
                repeat,
            )
        )
        rows.append(
            Row(
                f"full league table, {level} ({label}, 30 d + previous)",
                ms,
                "ms",
                "<= 1,000",
                baseline=base,
            )
        )
    ms = min(_time(lambda: LeagueTable.compute_all(frame, LAST_30_DAYS, NOW, **kw), repeat))
    rows.append(
        Row(f"full league tables, all 4 levels ({label})", ms, "ms", "<= 1,000", baseline=base)
    )

    engine = RankingEngine(**kw)
    t0 = time.perf_counter()
    engine.load_frame(frame)
    rows.append(Row(f"engine: load {label} cases", (time.perf_counter() - t0) * 1000, "ms"))
    for level in LEVELS:
        ms = min(_time(lambda level=level: engine.table(level, LAST_30_DAYS, NOW), repeat * 3))
        rows.append(Row(f"engine: table, {level} (30 d + previous)", ms, "ms", "<= 50"))

    rng = np.random.default_rng(7)
    full_one = min(
        _time(lambda: LeagueTable.compute(frame, "department", LAST_30_DAYS, NOW, **kw), repeat)
    )
    for what, complete in (("lifecycle steps", False), ("1,000 open cases completed", True)):
        times = []
        refreshed = []
        for _ in range(repeat * 4):
            batch = changes(frame, 1000, rng, complete)
            t0 = time.perf_counter()
            got = engine.update_frame(batch)
            t1 = time.perf_counter()
            engine.table("department", LAST_30_DAYS, NOW)
            t2 = time.perf_counter()
            assert got.applied == 1000
            frame.loc[batch.index, batch.columns] = batch  # keep the next batch's versions ahead
            times.append((t1 - t0) * 1000)
            refreshed.append((t2 - t0) * 1000)
        rows.append(
            Row(
                f"engine: update 1,000 changed cases ({what})",
                min(times),
                "ms",
                "<= 50",
                baseline=full_one,
                note=f"median {statistics.median(times):.1f}; baseline = recompute 1 level",
            )
        )
        rows.append(
            Row(
                f"engine: update 1,000 ({what}) + department table",
                min(refreshed),
                "ms",
                "<= 50",
                baseline=full_one,
                note=f"median {statistics.median(refreshed):.1f}",
            )
        )
    return rows
