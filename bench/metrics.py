"""The metric catalogue over 1,000,000 cases: every metric, all four ranking levels, one window.

The catalogue is evaluated over columns (``commandcenter.metrics.columns.CaseColumns``,
what ``Store.columns()`` hands out without a copy), built here from the synthetic county
of bench/ranking.py (10 townships, 452 grids, 60 days), coded as the store codes them.

- from scratch: every catalogue metric county-wide over the last 30 days (SLA
  evaluation, per-case flags, window masks: each once, shared by the metrics), then the
  four league-table levels. Two ways to the tables: the batch engine over a frame
  (``LeagueTable.compute_all``) and the incremental engine loaded from the columns with
  the columns' own codes (``RankingEngine.load_columns``, what the shared engine does
  after a snapshot) plus its four tables.
- incremental: 1,000 cases change (a lifecycle step each, written into the columns as
  the store writes them); the catalogue's running counts (``metrics.incremental.Tally``,
  what ``MetricEngine`` keeps in step with the store) and the shared ranking engine
  (``update_columns``, what ``collect`` hands it) take their rows, and every metric and
  the four tables are read again. The rows below it say which part costs what; the
  catalogue recomputed from the columns is there for comparison.

Baseline (same process): bench/ranking.py's plain pandas groupby (received, closure
rate, median and p90 handling time for one level).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

from bench.ranking import NOW, ZONE, _time, naive_groupby, synthetic_frame
from bench.table import Row
from commandcenter.metrics.catalogue import CATALOGUE
from commandcenter.metrics.columns import CODE_COLUMNS, CaseColumns
from commandcenter.metrics.definitions import STATE_INDEX
from commandcenter.metrics.engine import LiveFigures, figures_of
from commandcenter.metrics.incremental import Tally
from commandcenter.metrics.windows import DayCalendar
from commandcenter.ranking import LAST_30_DAYS, LEVELS, LeagueTable, RankingEngine
from commandcenter.sla import SlaPolicy
from commandcenter.store import Interner

_NEXT = {
    "reported": "signed",
    "signed": "assigned",
    "assigned": "handling",
    "handling": "completed",
    "completed": "closed",
    "closed": "called_back",
    "called_back": "evaluated",
}


def columns_of(frame: pd.DataFrame) -> tuple[CaseColumns, dict[str, Interner]]:
    """The frame as the store holds it: columns, and interners that coded them."""
    state_map = np.array([STATE_INDEX[s] for s in frame["state"].cat.categories], dtype=np.int8)
    interners = {}
    for c in CODE_COLUMNS:
        it = interners[c] = Interner()
        it.codes(str(v) for v in frame[c].cat.categories)
    cols = CaseColumns(
        ids=list(frame["id"]),
        state=state_map[frame["state"].cat.codes.to_numpy()],
        urgency=frame["urgency"].cat.codes.to_numpy().astype(np.int8),
        rating=frame["rating"].to_numpy().copy(),
        created=frame["created_ts"].to_numpy().copy(),
        completed=frame["completed_ts"].to_numpy().copy(),
        closed=frame["closed_ts"].to_numpy().copy(),
        on_site=frame["on_site_ts"].to_numpy().copy(),
        extension=frame["extension_s"].to_numpy().copy(),
        due=frame["due_ts"].to_numpy() if "due_ts" in frame else np.zeros(len(frame)),
        codes={c: frame[c].cat.codes.to_numpy().astype(np.int32) for c in CODE_COLUMNS},
        values={c: interners[c].values for c in CODE_COLUMNS},
        version=frame["version"].to_numpy().copy(),
    )
    return cols, interners


def step(cols: CaseColumns, rows: np.ndarray) -> None:
    """One lifecycle step for each of ``rows``, written in place as the store writes."""
    names = {i: s for s, i in STATE_INDEX.items()}
    nxt = np.array(
        [STATE_INDEX[_NEXT.get(names[i], names[i])] for i in range(len(STATE_INDEX))],
        dtype=np.int8,
    )
    old = cols.state[rows]
    new = nxt[old]
    done = (new == STATE_INDEX["completed"]) & (old != new)
    cols.completed[rows] = np.where(done, NOW - 3600.0, cols.completed[rows])
    cols.closed[rows] = np.where(new == STATE_INDEX["closed"], NOW - 600.0, cols.closed[rows])
    cols.rating[rows] = np.where(new == STATE_INDEX["evaluated"], 4, cols.rating[rows])
    cols.state[rows] = new
    cols.version[rows] += 1


def run(quick: bool = False) -> list[Row]:
    n = 200_000 if quick else 1_000_000
    repeat = 2 if quick else 3
    frame, mapping = synthetic_frame(n)
    label = f"{n // 1000:,}k" if n < 1_000_000 else "1M"
    cols, interners = columns_of(frame)
    case_metrics = [m for m, d in CATALOGUE.items() if d.kind in ("count", "rate")]
    calendar = DayCalendar(ZONE)

    def catalogue() -> None:
        fig = figures_of(cols, NOW, calendar=calendar)
        for name in case_metrics:
            fig.value(name, LAST_30_DAYS)

    def batch_levels() -> None:
        LeagueTable.compute_all(
            frame, LAST_30_DAYS, NOW, zone=ZONE, category_departments=mapping, levels=LEVELS
        )

    engine = RankingEngine(zone=ZONE, category_departments=mapping, interners=interners)

    def engine_tables() -> None:
        for level in LEVELS:
            engine.table(level, LAST_30_DAYS, NOW)

    policy = SlaPolicy()
    tally = Tally(policy, calendar)

    def live_catalogue() -> None:
        fig = LiveFigures(tally, cols, policy, NOW, calendar)
        for name in case_metrics:
            fig.value(name, LAST_30_DAYS)

    base = min(_time(lambda: naive_groupby(frame), repeat))
    ms = min(_time(catalogue, repeat))
    t0 = time.perf_counter()
    tally.load(cols, by_row=True)
    tally_load = (time.perf_counter() - t0) * 1000
    batch = min(_time(batch_levels, 1 if quick else 2))
    t0 = time.perf_counter()
    engine.load_columns(cols)
    load = (time.perf_counter() - t0) * 1000
    tables = min(_time(engine_tables, repeat))

    rng = np.random.default_rng(7)
    update, cat, tab, total, recomputed = [], [], [], [], []
    for _ in range(repeat * 3):
        rows = np.sort(rng.choice(n, 1000, replace=False))
        step(cols, rows)
        t0 = time.perf_counter()
        changed = cols.take(rows)
        assert tally.update(changed, rows) == 1000
        live_catalogue()
        t1 = time.perf_counter()
        got = engine.update_columns(changed)
        t2 = time.perf_counter()
        engine_tables()
        t3 = time.perf_counter()
        catalogue()
        t4 = time.perf_counter()
        assert got.applied == 1000
        cat.append((t1 - t0) * 1000)
        update.append((t2 - t1) * 1000)
        tab.append((t3 - t2) * 1000)
        total.append((t3 - t0) * 1000)
        recomputed.append((t4 - t3) * 1000)

    def med(xs: list[float]) -> str:
        return f"median {statistics.median(xs):.1f}"

    k = len(case_metrics)
    return [
        Row(f"metrics: naive groupby, 4 columns, 1 level ({label}, baseline)", base, "ms"),
        Row(f"catalogue, {k} case metrics, 30 d ({label}, from scratch)", ms, "ms", "<= 300", base),
        Row(
            f"catalogue + 4 levels, batch engine from a frame ({label}, from scratch)",
            ms + batch,
            "ms",
            "<= 300",
            base,
        ),
        Row(
            f"catalogue + 4 levels, engine loaded from the columns ({label}, from scratch)",
            ms + load + tables,
            "ms",
            "<= 300",
            base,
            f"load {load:.0f} + tables {tables:.0f}",
        ),
        Row(
            f"1,000 changed cases: all of it ({label}, incremental)",
            min(total),
            "ms",
            "<= 10",
            base,
            med(total),
        ),
        Row(
            f"  of which: catalogue, {k} metrics (running counts)",
            min(cat),
            "ms",
            "<= 10",
            base,
            med(cat),
        ),
        Row("  of which: ranking engine takes the rows", min(update), "ms", "", None, med(update)),
        Row("  of which: 4 league tables", min(tab), "ms", "", None, med(tab)),
        Row(
            f"catalogue recomputed from the columns instead ({label})",
            min(recomputed),
            "ms",
            "",
            base,
            med(recomputed),
        ),
        Row(f"catalogue running counts: load {label} cases", tally_load, "ms"),
    ]
