"""The case queue's rows: which cases to show and in what order, over 100k+ cases in < 50 ms.

Why here and Qt-free: the duty officer's queue is a view over the store's numpy columns,
and filtering and sorting are vector operations on those columns (boolean masks, then one
``np.lexsort``). The Qt model (widgets/cases/queue.py) only holds the resulting row
indices and reads the cells it paints; nothing here walks the cases one by one except the
free-text search, which searches one joined string (``str.find`` in C) instead.

A filter is plain data (``QueueFilter``, round-trips through ``to_dict``/``from_dict``)
so that saved filters are JSON dicts in a file the officer can copy to another console
(``SavedFilters``).

The store's columns are private to it; ``columns()`` is the one place that reads them, so a
change there breaks one function (a public accessor on the store would be better; asked).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from commandcenter.domain import OPEN_STATES, CaseState, Source, Urgency
from commandcenter.sla import STATE_ORDER, URGENCY_ORDER, Milestone
from commandcenter.state_files import write_private

# Sort keys the queue offers (column names of the view map onto these).
SORT_KEYS: tuple[str, ...] = (
    "id",
    "category",
    "source",
    "area",
    "state",
    "level",
    "remaining",
    "assignee",
    "age",
    "urgency",
)
LEVEL_NAMES: tuple[str, ...] = ("blue", "yellow", "red")  # index = level code
NO_LEVEL_NAME = "none"  # closed cases: no time limit runs
_OPEN_CODES = np.array(sorted(STATE_ORDER.index(s) for s in OPEN_STATES), dtype=np.int8)
_URGENT_CODE = URGENCY_ORDER.index(Urgency.URGENT)
_SOURCE_ORDER: tuple[Source, ...] = tuple(Source)


@dataclass(slots=True)
class QueueFilter:
    """What the officer wants to see. Empty tuples mean "any"; every field is plain data.

    ``text`` matches case ids, titles, addresses, categories, area names and assignees
    (case-insensitive substring). ``levels`` holds red/yellow/blue/none.
    """

    text: str = ""
    states: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    townships: tuple[str, ...] = ()  # township codes
    grids: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    open_only: bool = False
    urgent_only: bool = False
    overdue_only: bool = False
    duty: str = ""  # one of DUTY_QUEUES ("" any): the duty officer's work lists
    stage: str = ""  # one of STAGES ("" any): the milestone a case races now

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> QueueFilter:
        """Tolerant: unknown keys are ignored, wrong types fall back to "any" (a saved file
        from another version must not break the queue)."""
        out = cls()
        for k in cls.__dataclass_fields__:
            if k not in raw:
                continue
            v = raw[k]
            default = getattr(out, k)
            if isinstance(default, tuple):
                if isinstance(v, str):
                    v = (v,) if v else ()
                if isinstance(v, list | tuple):
                    setattr(out, k, tuple(str(x) for x in v))
            elif isinstance(default, bool):
                setattr(out, k, bool(v))
            else:
                setattr(out, k, str(v))
        return out

    @property
    def is_empty(self) -> bool:
        return self == QueueFilter()


@dataclass(frozen=True, slots=True)
class SortKey:
    key: str = "remaining"
    descending: bool = False


DEFAULT_SORT: tuple[SortKey, ...] = (SortKey("remaining"),)


@dataclass(slots=True)
class Columns:
    """The store's columns for ``n`` rows plus the SLA arrays at ``now`` (all length n)."""

    n: int
    now: float
    state: np.ndarray
    urgency: np.ndarray
    source: np.ndarray
    category: np.ndarray
    township: np.ndarray
    grid: np.ndarray
    assignee: np.ndarray
    created: np.ndarray
    milestone: np.ndarray
    remaining: np.ndarray
    level: np.ndarray
    values: dict[str, list[str]] = field(default_factory=dict)  # code -> string per column
    supervised: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))


class _SlaShare:
    """One ``store.sla_arrays`` per (store contents, instant), shared by its readers.

    Why: the queue and the alarm engine both need the SLA arrays of all 100k rows (~6 ms
    each on the 2-core machine). When they read at the same instant with the store
    unchanged (same ``seq``, same row count, same case list object), the second reader gets
    the first one's arrays instead of recomputing them. Without an explicit ``now`` a
    reader accepts arrays up to ``max_age`` seconds of feed time old (less than the
    one-second resolution a countdown shows). Callers must not write into the arrays.
    """

    max_age = 0.15

    def __init__(self) -> None:
        self._key: tuple[int, int, int] | None = None
        self._store_ref: Any = None
        self._now = 0.0
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.hits = 0
        self.misses = 0

    def arrays(
        self, store: Any, now: float | None = None
    ) -> tuple[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(the instant used, (milestone, remaining, level))."""
        key = (id(store._ids), int(getattr(store, "seq", 0)), len(store))
        same = self._arrays is not None and self._key == key and self._store_ref is store
        if now is None:
            now = store.clock.now()
            if same and 0.0 <= now - self._now <= self.max_age:
                self.hits += 1
                return self._now, self._arrays  # type: ignore[return-value]
        elif same and now == self._now:
            self.hits += 1
            return now, self._arrays  # type: ignore[return-value]
        self.misses += 1
        arrays = store.sla_arrays(now)
        self._key, self._store_ref, self._now, self._arrays = key, store, now, arrays
        return now, arrays


SLA_SHARE = _SlaShare()


def shared_sla_arrays(
    store: Any, now: float | None = None
) -> tuple[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``store.sla_arrays`` through the process-wide share (see ``_SlaShare``)."""
    return SLA_SHARE.arrays(store, now)


def columns(store: Any, now: float | None = None) -> Columns:
    """Views (no copies) of the store's columns, and its SLA arrays at ``now``."""
    n = len(store)
    now, (milestone, remaining, level) = shared_sla_arrays(store, now)
    codes = store._codes
    return Columns(
        n=n,
        now=now,
        state=store._state[:n],
        urgency=store._urgency[:n],
        source=store._source[:n],
        category=codes["category"][:n],
        township=codes["township"][:n],
        grid=codes["grid"][:n],
        assignee=codes["assignee"][:n],
        created=store._f["created_ts"][:n],
        milestone=milestone,
        remaining=remaining,
        level=level,
        values={
            k: store._interners[k].values for k in ("category", "township", "grid", "assignee")
        },
        supervised=store._supervised[:n],
    )


def columns_of_rows(store: Any, rows: np.ndarray, now: float) -> Columns:
    """Copies of the store's columns for ``rows`` only, SLA evaluated for them at ``now``.

    Why: deciding whether a few changed cases can move in the current sort must not cost
    an evaluation of all 100k rows; ``QueueIndex.mask``/``sort_key_array`` work on this
    as on the full columns (pass ``rows`` to ``sort_key_array`` for the id key)."""
    codes = store._codes
    f = store._f
    state = store._state[rows]
    urgency = store._urgency[rows]
    category = codes["category"][rows]
    created = f["created_ts"][rows]
    milestone, remaining, level = store.policy.evaluate_arrays(
        now,
        state,
        urgency,
        category,
        store._interners["category"].values,
        created,
        f["on_site_ts"][rows],
        f["extension_s"][rows],
        f["due_ts"][rows] if "due_ts" in f else None,
    )
    return Columns(
        n=int(rows.size),
        now=now,
        state=state,
        urgency=urgency,
        source=store._source[rows],
        category=category,
        township=codes["township"][rows],
        grid=codes["grid"][rows],
        assignee=codes["assignee"][rows],
        created=created,
        milestone=milestone,
        remaining=remaining,
        level=level,
        values={
            k: store._interners[k].values for k in ("category", "township", "grid", "assignee")
        },
        supervised=store._supervised[rows],
    )


def _codes_of(values: list[str], wanted: Iterable[str]) -> np.ndarray:
    want = set(wanted)
    return np.array([i for i, v in enumerate(values) if v in want], dtype=np.int64)


def _string_rank(values: list[str], names: list[str] | None = None) -> np.ndarray:
    """Rank of each code by its display string (what the officer reads, sorted)."""
    shown = names if names is not None else values
    order = sorted(range(len(values)), key=lambda i: shown[i])
    rank = np.empty(max(1, len(values)), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


class QueueIndex:
    """Filters and sorts the store's rows; caches what is costly to rebuild (the search text
    and the id order) and rebuilds it only when cases were added or changed.

    ``mark_dirty`` is called with each change set (the panel does, per frame); the caches
    are rebuilt lazily, on the next query that needs them.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self._haystack = ""
        self._offsets = np.zeros(1, dtype=np.int64)
        self._haystack_n = -1
        self._haystack_dirty = True
        self._id_rank = np.zeros(0, dtype=np.int64)
        self._id_rank_n = -1

    def mark_dirty(self, created: bool = True, updated: bool = True) -> None:
        if created or updated:
            self._haystack_dirty = True  # titles and assignees change with updates

    # ---- caches --------------------------------------------------------------------------

    def _search_text(self, row: int) -> str:
        store = self.store
        c = store.record_at(row)
        parts = (
            c.id,
            getattr(c, "title", ""),
            getattr(c, "address", ""),
            c.category,
            store.display_name(c.township),
            c.grid,
            store.display_name(c.assignee),
        )
        return " ".join(p for p in parts if p).lower().replace("\n", " ")

    def _ensure_haystack(self) -> None:
        n = len(self.store)
        if not self._haystack_dirty and self._haystack_n == n:
            return
        texts = [self._search_text(r) for r in range(n)]
        lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=n)
        self._offsets = np.concatenate(([0], np.cumsum(lengths)))
        self._haystack = "\n".join(texts) + "\n"
        self._haystack_n = n
        self._haystack_dirty = False

    def id_rank(self) -> np.ndarray:
        """Rank of each row by case id (ids never change, so only new rows invalidate)."""
        n = len(self.store)
        if self._id_rank_n != n:
            ids = np.array(self.store._ids[:n], dtype=object)
            order = np.argsort(ids, kind="stable")
            rank = np.empty(n, dtype=np.int64)
            rank[order] = np.arange(n)
            self._id_rank = rank
            self._id_rank_n = n
        return self._id_rank

    def text_mask(self, text: str) -> np.ndarray:
        """Rows whose search text contains ``text`` (case-insensitive)."""
        self._ensure_haystack()
        n = self._haystack_n
        mask = np.zeros(n, dtype=bool)
        needle = text.lower().strip()
        if not needle or "\n" in needle:
            return ~mask if not needle else mask
        hay = self._haystack
        hits: list[int] = []
        find = hay.find
        pos = find(needle)
        while pos >= 0:
            hits.append(pos)
            pos = find(needle, pos + 1)
        if hits:
            rows = np.searchsorted(self._offsets, np.asarray(hits), side="right") - 1
            mask[rows[(rows >= 0) & (rows < n)]] = True
        return mask

    # ---- the query -----------------------------------------------------------------------

    def mask(self, flt: QueueFilter, cols: Columns) -> np.ndarray:
        m = np.ones(cols.n, dtype=bool)
        if flt.open_only:
            m &= np.isin(cols.state, _OPEN_CODES)
        if flt.urgent_only:
            m &= cols.urgency == _URGENT_CODE
        if flt.overdue_only:
            m &= (cols.milestone > 0) & (cols.remaining < 0)
        if flt.states:
            codes = [STATE_ORDER.index(CaseState(s)) for s in flt.states if s in CaseState]
            m &= np.isin(cols.state, np.array(codes, dtype=np.int8))
        if flt.levels:
            lv = [LEVEL_NAMES.index(x) for x in flt.levels if x in LEVEL_NAMES]
            if NO_LEVEL_NAME in flt.levels:
                lv.append(-1)
            m &= np.isin(cols.level, np.array(lv, dtype=np.int8))
        if flt.sources:
            codes = [_SOURCE_ORDER.index(Source(s)) for s in flt.sources if s in Source]
            m &= np.isin(cols.source, np.array(codes, dtype=np.int8))
        for name, wanted in (
            ("category", flt.categories),
            ("township", flt.townships),
            ("grid", flt.grids),
        ):
            if wanted:
                m &= np.isin(getattr(cols, name), _codes_of(cols.values[name], wanted))
        if flt.duty or flt.stage:
            m &= duty_mask(flt.duty, flt.stage, cols)
        if flt.text.strip() and m.any():
            m &= self.text_mask(flt.text)[: cols.n]
        return m

    def duty_counts(self, flt: QueueFilter, cols: Columns) -> dict[tuple[str, str], int]:
        """How many rows each duty queue and stage would show with the rest of ``flt``
        (its own ``duty``/``stage`` aside; ``("", "")`` is all of them): the numbers on
        the queue's tabs, from the very masks ``mask`` applies, so a tab's count is the
        rows it shows. The masks are built once for all tabs (~2 ms at 100k rows)."""
        base = self.mask(replace(flt, duty="", stage=""), cols)
        duties, stages = _duty_parts(cols)
        out: dict[tuple[str, str], int] = {("", ""): int(np.count_nonzero(base))}
        for duty in DUTY_QUEUES:
            in_duty = base & duties[duty]
            out[(duty, "")] = int(np.count_nonzero(in_duty))
            if duty in STAGED_QUEUES:
                for stage in STAGES:
                    out[(duty, stage)] = int(np.count_nonzero(in_duty & stages[stage]))
        return out

    def sort_key_array(self, key: str, cols: Columns, rows: np.ndarray | None = None) -> np.ndarray:
        """One numeric array per sort key; smaller sorts first (ascending). ``rows``: the
        store rows ``cols`` holds when it is a subset (``columns_of_rows``)."""
        store = self.store
        if key == "id":
            rank = self.id_rank()
            return rank[rows] if rows is not None else rank[: cols.n]
        if key == "category":
            return _string_rank(cols.values["category"])[cols.category]
        if key == "area":
            vals = cols.values["township"]
            names = [store.display_name(v) for v in vals]
            town = _string_rank(vals, names)[cols.township]
            return (
                town * (len(cols.values["grid"]) + 1) + _string_rank(cols.values["grid"])[cols.grid]
            )
        if key == "assignee":
            vals = cols.values["assignee"]
            names = [store.display_name(v) for v in vals]
            return _string_rank(vals, names)[cols.assignee]
        if key == "source":
            return cols.source.astype(np.int64)
        if key == "state":
            return cols.state.astype(np.int64)
        if key == "urgency":
            return cols.urgency.astype(np.int64)
        if key == "level":
            # Most urgent first when ascending: red (2) -> 0, ..., no level last.
            lv = cols.level.astype(np.int64)
            return np.where(lv < 0, 9, 2 - lv)
        if key == "remaining":
            # Least time left first; cases without a running limit at the end.
            return np.where(cols.milestone > 0, cols.remaining, np.inf)
        if key == "age":
            return cols.now - cols.created  # youngest first when ascending
        raise ValueError(f"unknown sort key {key!r}; known: {', '.join(SORT_KEYS)}")

    def query(
        self,
        flt: QueueFilter | None = None,
        sort: Iterable[SortKey] = DEFAULT_SORT,
        now: float | None = None,
        cols: Columns | None = None,
    ) -> np.ndarray:
        """Row indices (into the store) of the cases passing ``flt``, in ``sort`` order
        (first key primary; ties by newest first, so the order is total and stable)."""
        return self.query_full(flt, sort, now, cols).rows

    def query_full(
        self,
        flt: QueueFilter | None = None,
        sort: Iterable[SortKey] = DEFAULT_SORT,
        now: float | None = None,
        cols: Columns | None = None,
    ) -> QueryResult:
        """``query`` plus what it decided on (the mask and each key for every row), so that
        a later change to a few rows can be checked against it (``QueryResult.unmoved``)."""
        cols = cols if cols is not None else columns(self.store, now)
        flt = flt or QueueFilter()
        mask = self.mask(flt, cols)
        # Newest first among equals: rows are in arrival order, so reversed rows plus a
        # stable sort make the order total without a tie-breaker key to sort on.
        rows = np.flatnonzero(mask)[::-1]
        keys = list(sort)
        full = [self.sort_key_array(sk.key, cols) for sk in keys]
        result = QueryResult(self, flt, tuple(keys), cols, mask, full, _vocab(cols))
        if rows.size == 0 or not keys:
            result.rows = np.ascontiguousarray(rows)
            return result
        arrays = []
        for sk, a_full in zip(reversed(keys), reversed(full), strict=True):
            a = a_full[rows]
            arrays.append(-a if sk.descending else a)
        # One key: a stable argsort (cheaper than lexsort); several: lexsort, also stable.
        order = np.argsort(arrays[0], kind="stable") if len(arrays) == 1 else np.lexsort(arrays)
        result.rows = rows[order]
        return result


# ---- duty queues ---------------------------------------------------------------------------

# The lists a duty officer works from (COMMAND_HALL.md: sign, dispatch, chase those about to
# breach, supervise), in the order the queue's tabs show them.
DUTY_QUEUES: tuple[str, ...] = (
    "to_sign",  # 待签收: reported, nobody signed yet
    "to_dispatch",  # 待派遣: signed or returned, not dispatched
    "due_soon",  # 本环节将超期: red band of the current milestone, not overdue yet
    "overdue",  # 已超期: past the current milestone's limit
    "supervised",  # 督办: open and supervised (escalated) at least once
)
STAGED_QUEUES: tuple[str, ...] = ("due_soon", "overdue")  # these split by stage
# The stage a case is at, by the limit it races (commandcenter.sla): sign and dispatch
# share the 签收并指派 limit and are told apart by state; on site and done are milestones.
STAGES: tuple[str, ...] = ("sign", "dispatch", "on_site", "done")


def _state_table(states: Iterable[CaseState]) -> np.ndarray:
    """A lookup by state code (``table[cols.state]``: one gather, cheaper than np.isin)."""
    table = np.zeros(len(STATE_ORDER), dtype=bool)
    table[[STATE_ORDER.index(s) for s in states]] = True
    return table


_OPEN_TABLE = _state_table(OPEN_STATES)
_TO_SIGN_TABLE = _state_table((CaseState.REPORTED,))
_SIGN_TABLE = _state_table((CaseState.DISCOVERED, CaseState.REPORTED))
_DISPATCH_TABLE = _state_table((CaseState.SIGNED, CaseState.RETURNED))
_RED = LEVEL_NAMES.index("red")


def _duty_parts(cols: Columns) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every duty queue's and every stage's mask over ``cols`` (see ``duty_mask``)."""
    n = cols.n
    state = cols.state[:n]
    open_ = _OPEN_TABLE[state]
    running = cols.milestone > 0
    duties = {
        "to_sign": _TO_SIGN_TABLE[state],
        "to_dispatch": _DISPATCH_TABLE[state],
        "due_soon": running & (cols.level == _RED) & (cols.remaining >= 0),
        "overdue": running & (cols.remaining < 0),
        "supervised": open_ & (cols.supervised[:n] > 0),
    }
    stages = {
        "sign": running & _SIGN_TABLE[state],
        "dispatch": running & _DISPATCH_TABLE[state],
        "on_site": cols.milestone == int(Milestone.ARRIVE),
        "done": cols.milestone == int(Milestone.HANDLE),
    }
    return duties, stages


def duty_mask(duty: str, stage: str, cols: Columns) -> np.ndarray:
    """Rows in duty queue ``duty`` at ``stage`` ("" for any); an unknown name matches
    nothing (a saved filter from another version shows an empty list, not every case)."""
    duties, stages = _duty_parts(cols)
    m = np.ones(cols.n, dtype=bool)
    for name, parts in ((duty, duties), (stage, stages)):
        if name:
            part = parts.get(name)
            m = m & part if part is not None else np.zeros(cols.n, dtype=bool)
    return m


def _vocab(cols: Columns) -> tuple[int, ...]:
    return tuple(len(v) for v in cols.values.values())


@dataclass(slots=True)
class QueryResult:
    """One query's rows, and per store row its filter verdict and sort keys at ``cols.now``."""

    index: QueueIndex
    flt: QueueFilter
    sort: tuple[SortKey, ...]
    cols: Columns
    mask: np.ndarray
    keys: list[np.ndarray]
    vocab: tuple[int, ...]
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def unmoved(self, changed: np.ndarray) -> Columns | None:
        """Whether the store rows ``changed`` (updated since this query) would pass the
        filter and sort exactly as before; if so, their fresh columns (at the query's
        instant) to patch in place, else None (a re-query is needed).

        Why it is exact: the sort keys are evaluated at the query's ``now`` for the changed
        rows too, so only a change of the case itself (state, urgency, category, area,
        assignee...) can differ; time alone moves no row ("time left" orders by deadline).
        A new string in a column (a new assignee) re-ranks that column: re-query. A text
        filter searches titles and assignees the cheap check does not see: re-query."""
        store = self.index.store
        n = self.cols.n
        if len(store) != n or self.flt.text.strip():
            return None
        if changed.size == 0:
            return columns_of_rows(store, changed, self.cols.now)
        if int(changed.max()) >= n:
            return None
        sub = columns_of_rows(store, changed, self.cols.now)
        if _vocab(sub) != self.vocab:
            return None
        if not np.array_equal(self.index.mask(self.flt, sub), self.mask[changed]):
            return None
        for sk, old in zip(self.sort, self.keys, strict=True):
            new = self.index.sort_key_array(sk.key, sub, rows=changed)
            if not np.array_equal(new, old[changed]):
                return None
        return sub


# ---- saved filters -----------------------------------------------------------------------

BUILTIN_FILTERS: dict[str, dict[str, Any]] = {
    "待签收": {"states": ["reported"]},
    "红色预警": {"levels": ["red"], "open_only": True},
    "已超期": {"overdue_only": True, "open_only": True},
    "紧急在办": {"urgent_only": True, "open_only": True},
    "退回待派": {"states": ["returned", "signed"]},
}


class SavedFilters:
    """Named filters as plain dicts in one JSON file (written atomically).

    The built-in ones are always offered and cannot be overwritten; the officer's own are
    kept in ``path`` so they survive restarts and can be copied between consoles.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._own: dict[str, dict[str, Any]] = {}
        self.problem = ""
        self.load()

    def load(self) -> None:
        self._own = {}
        if not self.path.exists():
            return
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            self._own = {
                str(k): QueueFilter.from_dict(v).to_dict()
                for k, v in raw.items()
                if isinstance(v, dict)
            }
        except (OSError, ValueError) as err:
            self.problem = f"{self.path}: {err}"

    def names(self) -> list[str]:
        return [*BUILTIN_FILTERS, *sorted(n for n in self._own if n not in BUILTIN_FILTERS)]

    def get(self, name: str) -> QueueFilter | None:
        raw = BUILTIN_FILTERS.get(name) or self._own.get(name)
        return None if raw is None else QueueFilter.from_dict(raw)

    def is_builtin(self, name: str) -> bool:
        return name in BUILTIN_FILTERS

    def save(self, name: str, flt: QueueFilter) -> None:
        name = name.strip()
        if not name or name in BUILTIN_FILTERS:
            raise ValueError(f"cannot save a filter named {name!r}")
        self._own[name] = flt.to_dict()
        self._write()

    def delete(self, name: str) -> bool:
        if self._own.pop(name, None) is None:
            return False
        self._write()
        return True

    def _write(self) -> None:
        write_private(self.path, json.dumps(self._own, ensure_ascii=False, indent=1))
