"""The metric catalogue over 1,000,000 cases: every metric, one window.

The catalogue is evaluated over columns (``commandcenter.metrics.columns.CaseColumns``,
what ``Store.columns()`` hands out without a copy), built here from the synthetic county
of bench/ranking.py (10 townships, 452 grids, 60 days). One row times every catalogue
metric county-wide over the last 30 days from scratch (SLA evaluation, per-case flags,
window masks: each once, shared by the metrics); one adds the four league-table levels
(township, department, grid, officer) that consume the same per-case rules.

The catalogue has no incremental path of its own: after 1,000 changed cases it is
recomputed (the ``incremental`` row is that recomputation); the league tables' incremental
engine is measured in bench/ranking.py.

Baseline (same process): bench/ranking.py's plain pandas groupby (received, closure
rate, median and p90 handling time for one level).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.ranking import NOW, ZONE, _time, naive_groupby, synthetic_frame
from bench.table import Row
from commandcenter.metrics.catalogue import CATALOGUE
from commandcenter.metrics.columns import CODE_COLUMNS, CaseColumns
from commandcenter.metrics.definitions import STATE_INDEX
from commandcenter.metrics.engine import figures_of
from commandcenter.ranking import LAST_30_DAYS, LEVELS, LeagueTable


def columns_of(frame: pd.DataFrame) -> CaseColumns:
    state_map = np.array([STATE_INDEX[s] for s in frame["state"].cat.categories], dtype=np.int8)
    return CaseColumns(
        ids=list(frame["id"]),
        state=state_map[frame["state"].cat.codes.to_numpy()],
        urgency=frame["urgency"].cat.codes.to_numpy().astype(np.int8),
        rating=frame["rating"].to_numpy(),
        created=frame["created_ts"].to_numpy(),
        completed=frame["completed_ts"].to_numpy(),
        closed=frame["closed_ts"].to_numpy(),
        on_site=frame["on_site_ts"].to_numpy(),
        extension=frame["extension_s"].to_numpy(),
        due=frame["due_ts"].to_numpy() if "due_ts" in frame else np.zeros(len(frame)),
        codes={c: frame[c].cat.codes.to_numpy().astype(np.int32) for c in CODE_COLUMNS},
        values={c: [str(v) for v in frame[c].cat.categories] for c in CODE_COLUMNS},
    )


def run(quick: bool = False) -> list[Row]:
    n = 200_000 if quick else 1_000_000
    repeat = 2 if quick else 3
    frame, mapping = synthetic_frame(n)
    label = f"{n // 1000:,}k" if n < 1_000_000 else "1M"
    cols = columns_of(frame)
    case_metrics = [m for m, d in CATALOGUE.items() if d.kind in ("count", "rate")]

    def catalogue() -> None:
        fig = figures_of(cols, NOW, zone=ZONE)
        for name in case_metrics:
            fig.value(name, LAST_30_DAYS)

    def with_levels() -> None:
        catalogue()
        LeagueTable.compute_all(
            frame, LAST_30_DAYS, NOW, zone=ZONE, category_departments=mapping, levels=LEVELS
        )

    base = min(_time(lambda: naive_groupby(frame), repeat))
    ms = min(_time(catalogue, repeat))
    rng = np.random.default_rng(7)
    changed = rng.choice(n, 1000, replace=False)

    def incremental() -> None:
        cols.state[changed] = STATE_INDEX["closed"]  # 1,000 cases closed, then recomputed
        catalogue()

    inc = min(_time(incremental, repeat))
    full = min(_time(with_levels, 1 if quick else 2))
    return [
        Row(f"metrics: naive groupby, 4 columns, 1 level ({label}, baseline)", base, "ms"),
        Row(
            f"catalogue, {len(case_metrics)} case metrics, 30 d ({label}, from scratch)",
            ms,
            "ms",
            "<= 300",
            base,
        ),
        Row(
            f"catalogue after 1,000 changed cases ({label}, recomputed)",
            inc,
            "ms",
            "<= 10",
            base,
            "no incremental path: recomputes",
        ),
        Row(
            f"catalogue + 4 league-table levels ({label}, 30 d)",
            full,
            "ms",
            "<= 300",
            base,
        ),
    ]
