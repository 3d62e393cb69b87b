"""The batch engine: league tables recomputed from scratch from a frame of cases.

The reference implementation (``LeagueTable``): every number follows from the
definitions by vector operations over the whole frame (``Store.to_frame()`` columns).
The incremental engine must agree with it, and the tests hold it to that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

import numpy as np

from commandcenter.metrics.columns import URGENCY_INDEX
from commandcenter.metrics.definitions import STATE_INDEX, case_flags
from commandcenter.metrics.windows import DayCalendar, Window
from commandcenter.ranking.definitions import (
    DEFAULT_MIN_CASES,
    DEFAULT_REPEAT_DAYS,
    DEPARTMENT,
    GRID,
    LEVELS,
    OFFICER,
    TOWNSHIP,
    RankingConfig,
    Weights,
    check_level,
    make_config,
    repeat_flags,
)
from commandcenter.ranking.table import Cases, build_table
from commandcenter.sla import SlaPolicy

if TYPE_CHECKING:  # pandas costs ~0.4 s to import: not before the first frame (start-up)
    import pandas as pd


def lookup_codes(values: Sequence[Any], fn: Any) -> np.ndarray:
    return np.array([fn(v) for v in values], dtype=np.int64).reshape(-1)


def frame_codes(frame: pd.DataFrame, col: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes and their string values for a column; -1 never appears (NaN -> "")."""
    import pandas as pd

    n = len(frame)
    if col not in frame.columns:
        return np.zeros(n, dtype=np.int64), [""]
    s = frame[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.int64)
        cats = s.cat.categories
        if len(cats) > 2 * n:  # a few rows of a big frame: decode only what they use
            used, codes = np.unique(codes, return_inverse=True)
            codes = codes.astype(np.int64)
            if len(used) and used[0] < 0:  # NaN rows: keep them at -1
                used, codes = used[1:], codes - 1
            values = [str(v) for v in cats.take(used)]
        else:
            values = [str(v) for v in cats]
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        codes = codes.astype(np.int64)
        values = [str(v) for v in uniques]
    if n and codes.min(initial=0) < 0:
        codes = np.where(codes < 0, len(values), codes)
        values.append("")
    return codes, values


def frame_ints(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.zeros(len(frame), dtype=np.int64)
    return frame[col].to_numpy(dtype=np.int64, na_value=0)


def frame_floats(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.zeros(len(frame))
    return np.nan_to_num(frame[col].to_numpy(dtype=np.float64, na_value=0.0))


def entities_from_frame(
    frame: pd.DataFrame, cfg: RankingConfig
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    ent: dict[str, np.ndarray] = {}
    names: dict[str, list[str]] = {}
    for level in (TOWNSHIP, GRID):
        codes, values = frame_codes(frame, level)
        valid = np.array([v != "" for v in values], dtype=bool)
        ent[level] = np.where(valid[codes], codes, -1) if len(codes) else codes
        names[level] = values
    a_codes, a_values = frame_codes(frame, "assignee")
    k_codes, k_values = frame_codes(frame, "assignee_kind")
    c_codes, c_values = frame_codes(frame, "category")
    kind = np.array(k_values, dtype=object)[k_codes] if len(k_codes) else np.empty(0, object)
    is_dept = kind == "department"
    is_unit = (kind == "unit") | (kind == "person")
    # department names: assignees (where they are departments) then mapped categories
    dept_names: list[str] = []
    dept_index: dict[str, int] = {}

    def code(name: str) -> int:
        if not name:
            return -1
        i = dept_index.get(name)
        if i is None:
            i = dept_index[name] = len(dept_names)
            dept_names.append(name)
        return i

    # Intern only the names that really are departments, so the name list stays short.
    n = len(a_codes)
    a_used = np.bincount(a_codes[is_dept], minlength=len(a_values)) > 0 if n else []
    c_used = np.bincount(c_codes[~is_dept], minlength=len(c_values)) > 0 if n else []
    a_dept = lookup_codes(
        [v if used else "" for v, used in zip(a_values, a_used, strict=False)], code
    )
    c_dept = lookup_codes(
        [
            cfg.category_departments.get(c, "") if used else ""
            for c, used in zip(c_values, c_used, strict=False)
        ],
        code,
    )
    if n:
        ent[DEPARTMENT] = np.where(is_dept, a_dept[a_codes], c_dept[c_codes])
    else:
        ent[DEPARTMENT] = np.empty(0, dtype=np.int64)
    names[DEPARTMENT] = dept_names
    valid_a = np.array([v != "" for v in a_values], dtype=bool)
    ent[OFFICER] = np.where(is_unit & valid_a[a_codes], a_codes, -1) if len(a_codes) else a_codes
    names[OFFICER] = a_values
    return ent, names


def groups_from_frame(frame: pd.DataFrame) -> np.ndarray:
    """Place (address, else grid) + category as one int64 code; -1 when there is no place."""
    a_codes, a_values = frame_codes(frame, "address")
    g_codes, g_values = frame_codes(frame, "grid")
    c_codes, c_values = frame_codes(frame, "category")
    if not len(a_codes):
        return np.empty(0, dtype=np.int64)
    a_ok = np.array([v != "" for v in a_values], dtype=bool)[a_codes]
    g_ok = np.array([v != "" for v in g_values], dtype=bool)[g_codes]
    place = np.where(a_ok, a_codes, len(a_values) + g_codes)
    place = np.where(a_ok | g_ok, place, -1)
    return np.where(place >= 0, place * len(c_values) + c_codes, -1)


def state_codes(frame: pd.DataFrame, col: str, index: dict[str, int]) -> np.ndarray:
    codes, values = frame_codes(frame, col)
    try:
        table = np.array([index[v] for v in values], dtype=np.int8)
    except KeyError as err:
        raise ValueError(f"unknown {col} value {err.args[0]!r}") from None
    return table[codes] if len(codes) else np.empty(0, dtype=np.int8)


def cases_from_frame(frame: pd.DataFrame, cfg: RankingConfig) -> Cases:
    state = state_codes(frame, "state", STATE_INDEX)
    urgency = state_codes(frame, "urgency", URGENCY_INDEX)
    cat_codes, categories = frame_codes(frame, "category")
    created = frame_floats(frame, "created_ts")
    rating = frame_ints(frame, "rating")
    extension = frame_floats(frame, "extension_s")
    due = frame_floats(frame, "due_ts")
    f = case_flags(
        cfg.policy,
        state,
        urgency,
        cat_codes,
        categories,
        created,
        frame_floats(frame, "completed_ts"),
        extension,
        rating,
        due,
    )
    ent, names = entities_from_frame(frame, cfg)
    return Cases(
        ids=frame["id"].to_numpy(dtype=object) if "id" in frame.columns else np.arange(len(frame)),
        created=created,
        ent=ent,
        names=names,
        closed=f.closed,
        timed=f.timed,
        ht=f.ht,
        on_time=f.on_time,
        rated=f.rated,
        satisfied=f.satisfied,
        rating=rating,
        open=f.open,
        repeat=repeat_flags(groups_from_frame(frame), created, cfg.repeat_s),
        state=state,
        urgency=urgency,
        category=cat_codes,
        categories=categories,
        on_site=frame_floats(frame, "on_site_ts"),
        extension=extension,
        due=due,
    )


class LeagueTable:
    """League tables recomputed from scratch from a frame of cases (``Store.to_frame()``).

    The reference implementation: every number follows from the module's definitions
    by vector operations over the whole frame. ``RankingEngine`` must agree with it.
    """

    @staticmethod
    def compute(
        frame: pd.DataFrame,
        level: str,
        window: Window,
        now: float,
        policy: SlaPolicy | None = None,
        weights: Weights | None = None,
        min_cases: int = DEFAULT_MIN_CASES,
        *,
        repeat_days: float = DEFAULT_REPEAT_DAYS,
        zone: str | tzinfo | None = None,
        category_departments: Mapping[str, str] | None = None,
    ) -> pd.DataFrame:
        """One level's table: one row per entity with received > 0 (see TABLE_COLUMNS)."""
        return LeagueTable.compute_all(
            frame,
            window,
            now,
            policy,
            weights,
            min_cases,
            levels=(level,),
            repeat_days=repeat_days,
            zone=zone,
            category_departments=category_departments,
        )[level]

    @staticmethod
    def compute_all(
        frame: pd.DataFrame,
        window: Window,
        now: float,
        policy: SlaPolicy | None = None,
        weights: Weights | None = None,
        min_cases: int = DEFAULT_MIN_CASES,
        *,
        levels: Iterable[str] = LEVELS,
        repeat_days: float = DEFAULT_REPEAT_DAYS,
        zone: str | tzinfo | None = None,
        category_departments: Mapping[str, str] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Several levels at once: the per-case work (flags, repeats) is done once."""
        cfg = make_config(policy, weights, min_cases, repeat_days, category_departments)
        levels = tuple(levels)
        for level in levels:
            check_level(level)
        cases = cases_from_frame(frame, cfg)
        span, prev = window.resolve(now, DayCalendar(zone))
        out = {}
        now_t = cases.tallies(levels, span, cfg.policy, now)
        prev_t = cases.tallies(levels, prev, cfg.policy, now) if prev else None
        for level in levels:
            out[level] = build_table(
                level,
                cases.names[level],
                now_t[level],
                prev_t[level] if prev_t else None,
                cfg,
                cfg.weights,
                cfg.min_cases,
                span,
                prev,
                now,
                cases.unattributed(level, span),
            )
        return out

    @staticmethod
    def drill(
        frame: pd.DataFrame,
        level: str,
        entity: str,
        window: Window,
        now: float,
        metric: str = "received",
        policy: SlaPolicy | None = None,
        *,
        repeat_days: float = DEFAULT_REPEAT_DAYS,
        zone: str | tzinfo | None = None,
        category_departments: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Ids of the cases behind one number (oldest first): ``metric`` in DRILL_METRICS."""
        check_level(level)
        cfg = make_config(policy, None, 1, repeat_days, category_departments)
        cases = cases_from_frame(frame, cfg)
        span, _ = window.resolve(now, DayCalendar(zone))
        return cases.drill(level, entity, span, metric, cfg.policy, now)
