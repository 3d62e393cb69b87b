"""The incremental engine: league tables kept up to date as case records arrive.

``RankingEngine`` holds, per case, the derived values of the definitions (a row per case
id, like the store) and, per level, the running state of ``accumulators``. Names are
coded by the store's interners (``Store.interners``) when the engine follows a store, so
a change set hands over a few integers per case, never strings to intern again; an
engine fed frames or records has interners of the same kind of its own.

One engine serves every ranking panel of a console: ``RankingEngine.following(store)``
notes which cases each change set touched; ``collect()``, called on the store's thread
(the GUI's) right before a read is handed to the insights worker, copies those rows, and
the read (``table``, ``drill``) applies them on the worker, so the engine's state is
touched by one thread only and the store's columns by the store's thread only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

import numpy as np

from commandcenter.metrics.columns import CODE_COLUMNS, URGENCY_INDEX, CaseColumns
from commandcenter.metrics.definitions import STATE_INDEX, case_flags
from commandcenter.metrics.windows import ALL_TIME, DayCalendar, Span, Window
from commandcenter.ranking.accumulators import ACC_METRICS, Acc, Groups, SortedTimes
from commandcenter.ranking.batch import frame_codes, frame_floats, frame_ints, state_codes
from commandcenter.ranking.definitions import (
    DEFAULT_MIN_CASES,
    DEFAULT_REPEAT_DAYS,
    DEPARTMENT,
    GRID,
    LEVELS,
    OFFICER,
    TOWNSHIP,
    Weights,
    check_level,
    departments_from_geography,
    group_time_order,
    make_config,
    repeat_flags,
)
from commandcenter.ranking.table import Cases, Tally, build_table, stable_entity_order
from commandcenter.sla import SlaPolicy
from commandcenter.store import Interner

_M = len(ACC_METRICS)
_REPEATS = ACC_METRICS.index("repeats")
_RECORDS_AT_ONCE = 10_000  # more changed cases than this: a reload from the columns
_GROUP_CATEGORIES = 1 << 24  # group code = place code * this + category code
_RECORD_FIELDS: tuple[tuple[str, Any], ...] = (
    ("created_ts", 0.0),
    ("completed_ts", 0.0),
    ("closed_ts", 0.0),
    ("on_site_ts", 0.0),
    ("extension_s", 0.0),
    ("due_ts", 0.0),
)
_BOOL_COLS = ("closed", "timed", "on_time", "rated", "satisfied", "open", "repeat")
_F8_COLS = ("created", "ht", "on_site", "extension", "due")
_I8_COLS = ("version", "day", "rating", "category", "group")
_CODE_COLS = ("state", "urgency")  # int8 codes, as SlaPolicy.evaluate_arrays takes them

if TYPE_CHECKING:  # pandas costs ~0.4 s to import: not before the first frame (start-up)
    import pandas as pd


class UpdateResult:
    """How many records a call took (new cases or newer versions) and ignored (stale)."""

    __slots__ = ("applied", "stale")

    def __init__(self, applied: int = 0, stale: int = 0) -> None:
        self.applied = applied
        self.stale = stale

    def __repr__(self) -> str:
        return f"UpdateResult(applied={self.applied}, stale={self.stale})"


class _NonEmpty:
    """Which codes of an append-only value list are not "" (grown as the list grows)."""

    __slots__ = ("flags", "values")

    def __init__(self, values: list[str]) -> None:
        self.values = values
        self.flags = np.zeros(0, dtype=bool)

    def __call__(self) -> np.ndarray:
        n = len(self.values)
        if len(self.flags) < n:
            more = [v != "" for v in self.values[len(self.flags) : n]]
            self.flags = np.concatenate([self.flags, np.array(more, dtype=bool)])
        return self.flags


class RankingEngine:
    """League tables kept up to date as case records arrive (incremental).

    A record replaces the held one only when its version is newer, so duplicates and
    replays never double anything; a changed case first takes back what it contributed,
    then adds what it contributes now. Repeat flags of the other cases at the same place
    and category are re-derived, because a new case can make a later one a repeat.

    Tables over whole local days (today, the last N days, all time, custom spans from
    midnight to midnight) are read from the sums and the index; other custom spans are
    recomputed from the held columns, with the same code as ``LeagueTable``.
    """

    def __init__(
        self,
        policy: SlaPolicy | None = None,
        weights: Weights | None = None,
        *,
        min_cases: int = DEFAULT_MIN_CASES,
        repeat_days: float = DEFAULT_REPEAT_DAYS,
        zone: str | tzinfo | None = None,
        category_departments: Mapping[str, str] | None = None,
        interners: Mapping[str, Interner] | None = None,
    ) -> None:
        self.config = make_config(policy, weights, min_cases, repeat_days, category_departments)
        self.calendar = DayCalendar(zone)
        self.store: Any = None  # the store it follows (``following``), if any
        self._lock = threading.Lock()
        self._pending: list[tuple[str, CaseColumns]] = []
        self._geography: Any = None
        self._changed_ids: set[str] = set()
        self._reload = False
        self._unsubscribe: Callable[[], None] | None = None
        self._adopt(dict(interners) if interners is not None else None)
        self._reset()

    @classmethod
    def following(
        cls,
        store: Any,
        weights: Weights | None = None,
        *,
        min_cases: int = DEFAULT_MIN_CASES,
        repeat_days: float = DEFAULT_REPEAT_DAYS,
        zone: str | tzinfo | None = None,
    ) -> RankingEngine:
        """The engine of one store, shared by its panels: the store's SLA policy (so both
        judge time limits alike), its codes, and the departments of its geography."""
        engine = cls(
            store.policy,
            weights,
            min_cases=min_cases,
            repeat_days=repeat_days,
            zone=zone,
            interners=store.interners,
        )
        engine.store = store
        engine._reload = True  # what the store holds already, at the first collect
        engine._unsubscribe = store.subscribe(engine._on_store_change)
        return engine

    def close(self) -> None:
        """Stop following the store."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # ---- state ----------------------------------------------------------------------------

    def _adopt(self, interners: dict[str, Interner] | None) -> None:
        """The code space of the held rows: given interners (a store's) or fresh ones."""
        if interners is None:
            interners = {c: Interner() for c in CODE_COLUMNS}
        self._interners = interners
        self._values = {c: interners[c].values for c in CODE_COLUMNS}
        self._nonempty = {c: _NonEmpty(v) for c, v in self._values.items()}
        self._kind_lut = np.zeros(0, dtype=np.int8)  # assignee_kind code -> 0 / 1 dept / 2 unit

    def _reset(self, capacity: int = 1024) -> None:
        self._n = 0
        self._cap = capacity
        self._ids: list[str] = []
        self._row: dict[str, int] = {}  # id -> row, for the first ``_indexed`` rows
        self._indexed = 0
        self._cols: dict[str, np.ndarray] = {}
        for name in _BOOL_COLS:
            self._cols[name] = np.zeros(capacity, dtype=bool)
        for name in _F8_COLS:
            self._cols[name] = np.zeros(capacity, dtype=np.float64)
        for name in _I8_COLS:
            self._cols[name] = np.zeros(capacity, dtype=np.int64)
        for name in _CODE_COLS:
            self._cols[name] = np.zeros(capacity, dtype=np.int8)
        self._ent = {level: np.full(capacity, -1, dtype=np.int64) for level in LEVELS}
        self._departments = Interner()  # derived names: not a column of the store
        self._n_ent = dict.fromkeys(LEVELS, 0)
        self._slot_of: dict[int, int] = {}
        self._slot_day = np.zeros(0, dtype=np.int64)
        self._acc = {level: Acc() for level in LEVELS}
        self._times = {level: SortedTimes() for level in LEVELS}
        self._groups = Groups()
        self._mutations = getattr(self, "_mutations", 0) + 1
        self._overdue: tuple[float, int, np.ndarray] | None = None

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(self._cap * 2, 1 << (need - 1).bit_length())

        def grown(a: np.ndarray, fill: Any = 0) -> np.ndarray:
            b = np.full(cap, fill, dtype=a.dtype)
            b[: self._cap] = a
            return b

        self._cols = {k: grown(v) for k, v in self._cols.items()}
        self._ent = {k: grown(v, -1) for k, v in self._ent.items()}
        self._cap = cap

    def __len__(self) -> int:
        self._catch_up()
        return self._n

    def version_of(self, case_id: str) -> int:
        self._catch_up()
        row = self._rows().get(case_id)
        return 0 if row is None else int(self._cols["version"][row])

    def _rows(self) -> dict[str, int]:
        """Row of each held case id. Indexed when first asked: a load from a store's
        columns (a million ids) is read in tables long before a change needs a row."""
        if self._indexed < self._n:
            new = self._ids[self._indexed : self._n]
            self._row.update(zip(new, range(self._indexed, self._n), strict=True))
            self._indexed = self._n
        return self._row

    def _names(self, level: str) -> list[str]:
        if level == TOWNSHIP:
            return self._values["township"]
        if level == GRID:
            return self._values["grid"]
        if level == OFFICER:
            return self._values["assignee"]
        return self._departments.values

    def _slots(self, days: np.ndarray) -> np.ndarray:
        uniq = np.unique(days)
        for d in uniq.tolist():
            if d not in self._slot_of:
                self._slot_of[d] = len(self._slot_of)
        if len(self._slot_of) != len(self._slot_day):
            self._slot_day = np.array(list(self._slot_of), dtype=np.int64)
        table = np.array([self._slot_of[d] for d in uniq.tolist()], dtype=np.int64)
        return table[np.searchsorted(uniq, days)]

    # ---- following a store (changes copied on its thread, applied on the reader's) --------

    def _on_store_change(self, changes: Any) -> None:
        """On the store's thread, at every change set: only note which cases changed (a
        console with no ranking on screen pays nothing more)."""
        if changes is None or changes.reset:
            self._changed_ids.clear()
            self._reload = True
        elif not self._reload:
            self._changed_ids.update(changes.cases_created)
            self._changed_ids.update(changes.cases_updated)
            if len(self._changed_ids) > _RECORDS_AT_ONCE:
                self._changed_ids.clear()
                self._reload = True  # a bulk load: the columns at once, not row by row

    def collect(self) -> None:
        """On the store's thread, before handing a read to another thread: copy the rows
        of the cases changed since the last collect (all of them after a snapshot or a
        new geography); the next ``table`` or ``drill`` applies them, on its thread."""
        store = self.store
        if store is None:
            return
        if store.geography is not self._geography:
            self._geography = store.geography
            mapping = departments_from_geography(store.geography or {})
            if mapping != dict(self.config.category_departments):
                self.config = make_config(
                    self.config.policy,
                    self.config.weights,
                    self.config.min_cases,
                    self.config.repeat_days,
                    mapping,
                )
                self._reload = True  # attribution changed: every case again
        cols = store.columns()
        if self._reload:
            self._reload = False
            self._changed_ids.clear()
            item = ("load", cols.copy())
            with self._lock:
                self._pending = [item]
            return
        if not self._changed_ids:
            return
        ids, self._changed_ids = self._changed_ids, set()
        rows = np.fromiter((store.row_of(i) for i in ids), dtype=np.int64, count=len(ids))
        with self._lock:
            self._pending.append(("update", cols.take(rows)))

    def _catch_up(self) -> None:
        """Apply what the followed store changed since the last read (the reader's thread)."""
        if not self._pending:
            return
        with self._lock:
            pending, self._pending = self._pending, []
        for what, cols in pending:
            if what == "load":
                self.load_columns(cols)
            else:
                self.update_columns(cols)

    # ---- input ----------------------------------------------------------------------------

    def load_columns(self, cols: CaseColumns) -> UpdateResult:
        """Start over from a store's columns (after a snapshot): its codes become the
        engine's, so what follows from the same store needs no decoding."""
        if not self._same_codes(cols.values, self._interners):
            interners = self.store.interners if self.store is not None else None
            if interners is not None and self._same_codes(cols.values, interners):
                self._adopt(dict(interners))  # the store's, renewed by its snapshot
            else:
                self._adopt(None)  # another store's: decoded into fresh interners
        self._reset(max(1024, len(cols)))
        return self.update_columns(cols, unique=True)  # a store holds each case once

    @staticmethod
    def _same_codes(values: Mapping[str, list[str]], interners: Mapping[str, Interner]) -> bool:
        return all(values[c] is interners[c].values for c in CODE_COLUMNS)

    def load_frame(self, frame: pd.DataFrame) -> UpdateResult:
        """Start over from a whole frame (``Store.to_frame()``)."""
        self._adopt(None)
        self._reset(max(1024, len(frame)))
        return self.update_frame(frame)

    def update(self, cases: Iterable[Any]) -> UpdateResult:
        """Take case records (domain.Case, feeds' CaseData, or alike): new or newer only."""
        rows = list(cases)
        if not rows:
            return UpdateResult()
        self._catch_up()
        it = self._interners

        def floats(attr: str) -> np.ndarray:
            return np.array([float(getattr(c, attr, 0.0) or 0.0) for c in rows])

        try:
            state = np.array([STATE_INDEX[str(c.state)] for c in rows], dtype=np.int8)
            urgency = np.array([URGENCY_INDEX[str(c.urgency)] for c in rows], dtype=np.int8)
        except KeyError as err:
            raise ValueError(f"unknown state or urgency {err.args[0]!r}") from None
        f = {name: floats(name) for name, _ in _RECORD_FIELDS}
        cols = CaseColumns(
            ids=[str(c.id) for c in rows],
            state=state,
            urgency=urgency,
            rating=np.array([int(getattr(c, "rating", 0) or 0) for c in rows], dtype=np.int64),
            created=f["created_ts"],
            completed=f["completed_ts"],
            closed=f["closed_ts"],
            on_site=f["on_site_ts"],
            extension=f["extension_s"],
            due=f["due_ts"],
            codes={
                col: it[col].codes(str(getattr(c, col, "") or "") for c in rows)
                for col in CODE_COLUMNS
            },
            values=self._values,
            version=np.array([int(getattr(c, "version", 0)) for c in rows], dtype=np.int64),
        )
        return self.update_columns(cols)

    def apply_changes(self, store: Any, changes: Any) -> UpdateResult:
        """Follow a ``Store`` on its own thread: pass each ``ChangeSet`` it publishes (a reset
        reloads). Give the engine the store's ``SlaPolicy`` so that both judge time limits
        alike."""
        cols = store.columns()
        if changes.reset:
            self._adopt(dict(store.interners))
            self._reset(max(1024, len(cols)))
            return self.update_columns(cols)
        ids = dict.fromkeys([*changes.cases_created, *changes.cases_updated])
        if not ids:
            return UpdateResult()
        if not self._n and not self._same_codes(self._values, store.interners):
            self._adopt(dict(store.interners))  # nothing held yet: take the store's codes
        rows = np.fromiter((store.row_of(i) for i in ids), dtype=np.int64, count=len(ids))
        return self.update_columns(cols.take(rows))

    def update_frame(self, frame: pd.DataFrame) -> UpdateResult:
        """Take a frame of case records (``Store.to_frame()`` columns): new or newer only."""
        if not len(frame):
            return UpdateResult()
        self._catch_up()
        it = self._interners
        codes = {}
        for col in CODE_COLUMNS:
            local, values = frame_codes(frame, col)
            codes[col] = it[col].codes(values)[local] if len(local) else local
        cols = CaseColumns(
            ids=frame["id"].astype(str).tolist(),
            state=state_codes(frame, "state", STATE_INDEX),
            urgency=state_codes(frame, "urgency", URGENCY_INDEX),
            rating=frame_ints(frame, "rating"),
            created=frame_floats(frame, "created_ts"),
            completed=frame_floats(frame, "completed_ts"),
            closed=frame_floats(frame, "closed_ts"),
            on_site=frame_floats(frame, "on_site_ts"),
            extension=frame_floats(frame, "extension_s"),
            due=frame_floats(frame, "due_ts"),
            codes=codes,
            values=self._values,
            version=frame["version"].to_numpy(dtype=np.int64),
        )
        return self.update_columns(cols)

    def update_columns(self, cols: CaseColumns, *, unique: bool = False) -> UpdateResult:
        """Take case columns coded by this engine's interners: new cases or newer versions.
        ``unique``: each case is in them once (a store's columns), so none is looked for
        twice."""
        if not len(cols):
            return UpdateResult()
        cols = self._recode(cols)
        if cols.version is None:
            raise ValueError("columns without versions: staleness cannot be judged")
        ids = cols.ids if unique else list(cols.ids)
        versions = cols.version.astype(np.int64)
        keep = np.arange(len(ids))
        stale = 0
        if not unique and len(set(ids)) != len(ids):  # twice in one batch: keep the newest
            newest: dict[str, int] = {}
            for pos in np.argsort(versions, kind="stable").tolist():
                newest[ids[pos]] = pos
            keep = np.array(sorted(newest.values()), dtype=np.int64)
            stale = len(ids) - len(keep)
        if self._n:
            get = self._rows().get
            rows = np.fromiter((get(ids[i], -1) for i in keep.tolist()), np.int64, len(keep))
        else:
            rows = np.full(len(keep), -1, dtype=np.int64)
        held = np.where(rows >= 0, self._cols["version"][np.maximum(rows, 0)], -1)
        accept = (rows < 0) | (versions[keep] > held)
        stale += int(np.count_nonzero(~accept))
        keep, rows = keep[accept], rows[accept]
        if not len(keep):
            return UpdateResult(0, stale)
        batch = cols if len(keep) == len(ids) else cols.take(keep)
        self._take(batch, rows)
        return UpdateResult(len(keep), stale)

    def _recode(self, cols: CaseColumns) -> CaseColumns:
        """Columns in this engine's codes: as they are when coded by its interners (the
        store's it follows), else translated value by value (a foreign store's)."""
        foreign = [c for c in CODE_COLUMNS if cols.values[c] is not self._values[c]]
        if not foreign:
            return cols
        codes = dict(cols.codes)
        for c in foreign:
            values = cols.values[c]
            codes[c] = self._interners[c].codes(values)[codes[c]] if len(values) else codes[c]
        return CaseColumns(
            ids=cols.ids,
            state=cols.state,
            urgency=cols.urgency,
            rating=cols.rating,
            created=cols.created,
            completed=cols.completed,
            closed=cols.closed,
            on_site=cols.on_site,
            extension=cols.extension,
            due=cols.due,
            codes=codes,
            values=self._values,
            version=cols.version,
        )

    # ---- the bookkeeping ------------------------------------------------------------------

    def _kinds(self, kind_codes: np.ndarray) -> np.ndarray:
        """0 (none), 1 (department), 2 (unit or person) per assignee_kind code."""
        values = self._values["assignee_kind"]
        if len(self._kind_lut) < len(values):
            self._kind_lut = np.array(
                [1 if v == "department" else 2 if v in ("unit", "person") else 0 for v in values],
                dtype=np.int8,
            )
        return self._kind_lut[kind_codes]

    def _department_codes(
        self, assignee: np.ndarray, category: np.ndarray, is_dept: np.ndarray
    ) -> np.ndarray:
        """The assignee where it is a department, else the category's department."""
        out = np.full(len(assignee), -1, dtype=np.int64)
        dept = self._departments
        mapping = self.config.category_departments
        for mask, codes, name_of in (
            (is_dept, assignee, self._values["assignee"].__getitem__),
            (~is_dept, category, lambda c: mapping.get(self._values["category"][c], "")),
        ):
            if not mask.any():
                continue
            used, inverse = np.unique(codes[mask], return_inverse=True)
            names = [name_of(int(c)) for c in used]
            lut = np.array([dept.code(n) if n else -1 for n in names], dtype=np.int64)
            out[mask] = lut[inverse]
        return out

    def _derive(self, b: CaseColumns) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The per-case values of a batch, in this engine's (stable) codes."""
        cfg = self.config
        category = b.codes["category"].astype(np.int64)
        rating = b.rating.astype(np.int64)
        f = case_flags(
            cfg.policy,
            b.state,
            b.urgency,
            category,
            self._values["category"],
            b.created,
            b.completed,
            b.extension,
            rating,
            b.due,
        )
        township = b.codes["township"].astype(np.int64)
        grid = b.codes["grid"].astype(np.int64)
        assignee = b.codes["assignee"].astype(np.int64)
        address = b.codes["address"].astype(np.int64)
        kind = self._kinds(b.codes["assignee_kind"])
        has = {c: self._nonempty[c]() for c in ("township", "grid", "assignee", "address")}
        grid_ok = has["grid"][grid]
        ent = {
            TOWNSHIP: np.where(has["township"][township], township, -1),
            GRID: np.where(grid_ok, grid, -1),
            OFFICER: np.where((kind == 2) & has["assignee"][assignee], assignee, -1),
            DEPARTMENT: self._department_codes(assignee, category, kind == 1),
        }
        # place: the address, else the grid; one int64 key with the category
        place = np.where(has["address"][address], 2 * address, np.where(grid_ok, 2 * grid + 1, -1))
        group = np.where(place >= 0, place * _GROUP_CATEGORIES + category, -1)
        cols = {
            "created": b.created,
            "day": self.calendar.days(b.created),
            "closed": f.closed,
            "timed": f.timed,
            "ht": f.ht,
            "on_time": f.on_time,
            "rated": f.rated,
            "satisfied": f.satisfied,
            "open": f.open,
            "rating": rating,
            "state": b.state,
            "urgency": b.urgency,
            "category": category,
            "on_site": b.on_site,
            "extension": b.extension,
            "due": b.due,
            "group": group,
            "version": np.asarray(b.version, dtype=np.int64),
        }
        return cols, ent

    def _values_of(self, rows: np.ndarray) -> np.ndarray:
        """(_M, k) contributions of rows; the repeat row is left 0 (handled on its own)."""
        c = self._cols
        v = np.zeros((_M, len(rows)), dtype=np.int64)
        v[0] = 1
        v[1] = c["closed"][rows]
        v[2] = c["timed"][rows]
        v[3] = c["on_time"][rows]
        v[4] = c["rated"][rows]
        v[5] = np.where(c["rated"][rows], c["rating"][rows], 0)
        v[6] = c["satisfied"][rows]
        return v

    def _repeat_values(self, flags: np.ndarray) -> np.ndarray:
        v = np.zeros((_M, len(flags)), dtype=np.int64)
        v[_REPEATS] = flags
        return v

    def _take(self, b: CaseColumns, rows: np.ndarray) -> None:
        self._mutations += 1
        ids = b.ids
        cols, ent = self._derive(b)
        c = self._cols
        bulk = self._n == 0
        was_old = rows >= 0
        old = rows[was_old]
        old_ent = {level: self._ent[level][old] for level in LEVELS}
        old_day = c["day"][old]
        old_slot = self._slots(old_day) if len(old) else old
        old_timed = c["timed"][old]
        old_ht = c["ht"][old]
        old_group = c["group"][old]
        old_repeat = c["repeat"][old]
        taken_back = -self._values_of(old)
        taken_back[_REPEATS] = -old_repeat.astype(np.int64)
        for level in LEVELS:  # take back what the old versions contributed
            self._acc[level].add(old_ent[level], old_slot, taken_back)

        # new rows for new cases
        fresh = np.flatnonzero(rows < 0)
        if len(fresh):
            start = self._n
            self._grow(start + len(fresh))
            rows = rows.copy()
            rows[fresh] = np.arange(start, start + len(fresh))
            if len(fresh) == len(ids):
                self._ids.extend(ids)
            else:
                self._ids.extend([ids[pos] for pos in fresh.tolist()])
            self._n += len(fresh)
            c = self._cols  # grown: new arrays
        for name, values in cols.items():
            c[name][rows] = values
        for level in LEVELS:
            self._ent[level][rows] = ent[level]
        slot = self._slots(cols["day"])
        n_slots = len(self._slot_of)
        contributed = self._values_of(rows)
        for level in LEVELS:
            acc = self._acc[level]
            self._n_ent[level] = len(self._names(level))
            acc.ensure(self._n_ent[level], n_slots)
            acc.add(ent[level], slot, contributed)
            if not bulk:
                self._update_times(level, was_old, old_ent[level], old_ht, old_timed, old_day, rows)
        if bulk:
            self._build_times(rows)
        self._update_repeats(bulk, rows, was_old, old_group, cols["group"])

    def _build_times(self, rows: np.ndarray) -> None:
        """Every level's sorted handling times of a first load: the times are sorted once
        and only grouped per level (a stable sort by entity code keeps them in order)."""
        c = self._cols
        timed = rows[c["timed"][rows]]
        timed = timed[np.argsort(c["ht"][timed])]
        for level in LEVELS:
            ent = self._ent[level][timed]
            r = timed[ent >= 0]
            ent = self._ent[level][r]
            order = stable_entity_order(ent, self._n_ent[level])
            r = r[order]
            self._times[level].set_sorted(ent[order], c["ht"][r], c["day"][r])

    def _update_times(
        self,
        level: str,
        was_old: np.ndarray,
        old_ent: np.ndarray,
        old_ht: np.ndarray,
        old_timed: np.ndarray,
        old_day: np.ndarray,
        rows: np.ndarray,
    ) -> None:
        c = self._cols
        new_ent = self._ent[level][rows]
        new_ok = c["timed"][rows] & (new_ent >= 0)
        old_ok = old_timed & (old_ent >= 0)
        # an entry that did not change (e.g. a closed case called back) stays where it is;
        # rows[at] are the old rows in the order of old_* (both follow the batch)
        at = was_old
        same = np.zeros(len(old_ent), dtype=bool)
        if len(old_ent):
            same = (
                old_ok
                & new_ok[at]
                & (old_ent == new_ent[at])
                & (old_ht == c["ht"][rows[at]])
                & (old_day == c["day"][rows[at]])
            )
        rm = old_ok & ~same
        add = new_ok.copy()
        add[np.flatnonzero(at)[same]] = False
        if not rm.any() and not add.any():
            return
        r = rows[add]
        self._times[level].replace(
            (old_ent[rm], old_ht[rm], old_day[rm]),
            (new_ent[add], c["ht"][r], c["day"][r]),
        )

    def _update_repeats(
        self,
        bulk: bool,
        rows: np.ndarray,
        was_old: np.ndarray,
        old_group: np.ndarray,
        new_group: np.ndarray,
    ) -> None:
        c = self._cols
        n = self._n
        if bulk:
            order = group_time_order(c["group"][:n], c["created"][:n])
            self._groups.set_sorted(*order)
            flags = repeat_flags(c["group"][:n], c["created"][:n], self.config.repeat_s, order)
            c["repeat"][:n] = flags
            slot = self._slots(c["day"][:n])
            for level in LEVELS:
                self._acc[level].add_metric(_REPEATS, self._ent[level][:n], slot, flags)
            return
        # membership: rows whose group changed move, new rows join
        prev_group = np.full(len(rows), -1, dtype=np.int64)
        prev_group[was_old] = old_group
        for row, g0, g1 in zip(rows.tolist(), prev_group.tolist(), new_group.tolist(), strict=True):
            if g0 != g1:
                self._groups.move(row, g0, g1)
        affected = np.unique(np.concatenate([old_group, new_group]))
        affected = affected[affected >= 0]
        m_rows, labels = self._groups.members_of(affected)
        taken = np.zeros(n, dtype=bool)
        taken[rows] = True
        c["repeat"][rows] = False  # rows without a group are never repeats
        if len(m_rows):
            flags = repeat_flags(labels, c["created"][m_rows], self.config.repeat_s)
            before = c["repeat"][m_rows].copy()
            c["repeat"][m_rows] = flags
            is_taken = taken[m_rows]
            # taken rows: their old flag was taken back above; add the new one
            # other rows: add the difference
            delta = np.where(is_taken, flags.astype(np.int64), flags.astype(np.int64) - before)
            changed = delta != 0
            if changed.any():
                r = m_rows[changed]
                slot = self._slots(c["day"][r])
                for level in LEVELS:
                    self._acc[level].add(
                        self._ent[level][r], slot, self._repeat_values(delta[changed])
                    )

    # ---- output ---------------------------------------------------------------------------

    def _cases(self) -> Cases:
        """The held columns as the recomputation path's input (views, no copies)."""
        n = self._n
        c = {k: v[:n] for k, v in self._cols.items()}
        return Cases(
            ids=self._ids,
            created=c["created"],
            ent={level: e[:n] for level, e in self._ent.items()},
            names={level: self._names(level) for level in LEVELS},
            closed=c["closed"],
            timed=c["timed"],
            ht=c["ht"],
            on_time=c["on_time"],
            rated=c["rated"],
            satisfied=c["satisfied"],
            rating=c["rating"],
            open=c["open"],
            repeat=c["repeat"],
            state=c["state"],
            urgency=c["urgency"],
            category=c["category"],
            categories=self._values["category"],
            on_site=c["on_site"],
            extension=c["extension"],
            due=c["due"],
        )

    def _tally(
        self, level: str, span: Span, now: float, overdue_rows: np.ndarray
    ) -> tuple[Tally, int]:
        """Sums of a window and its unattributed count; ``overdue_rows``: every case
        overdue at ``now`` (found once for both windows of a table)."""
        days = self.calendar.whole_days(span)
        if days is False:
            cases = self._cases()
            return cases.tally(level, span, self.config.policy, now), cases.unattributed(
                level, span
            )
        n_ent = self._n_ent[level]
        slots = None
        if days is not None:
            slots = np.flatnonzero((self._slot_day >= days[0]) & (self._slot_day < days[1]))
        sums, unattributed = self._acc[level].sums(n_ent, slots)
        timed = sums[ACC_METRICS.index("timed")]
        median, p90 = self._times[level].quantiles(timed, days, (0.5, 0.9))
        ent = self._ent[level]
        od = overdue_rows[ent[overdue_rows] >= 0]
        if days is not None:
            day = self._cols["day"][od]
            od = od[(day >= days[0]) & (day < days[1])]
        m = dict(zip(ACC_METRICS, sums, strict=True))
        return Tally(
            received=m["received"],
            closed=m["closed"],
            timed=timed,
            on_time=m["on_time"],
            rated=m["rated"],
            rating_sum=m["rating_sum"],
            satisfied=m["satisfied"],
            repeats=m["repeats"],
            overdue=np.bincount(ent[od], minlength=n_ent).astype(np.int64),
            median=median,
            p90=p90,
        ), unattributed

    def _overdue_at(self, now: float) -> np.ndarray:
        """Every held case overdue at ``now``: once per instant and state, so the four
        tables of one refresh evaluate the open cases' limits once."""
        got = self._overdue
        if got is not None and got[0] == now and got[1] == self._mutations:
            return got[2]
        open_rows = np.flatnonzero(self._cols["open"][: self._n])
        rows = open_rows[self._cases().overdue(self.config.policy, open_rows, now)]
        self._overdue = (now, self._mutations, rows)
        return rows

    def table(
        self,
        level: str,
        window: Window,
        now: float,
        *,
        weights: Weights | None = None,
        min_cases: int | None = None,
    ) -> pd.DataFrame:
        """The league table of ``level`` (TABLE_COLUMNS), equal to ``LeagueTable.compute``
        over the same cases. Weights and the minimum count may differ per call: they only
        act on the sums."""
        check_level(level)
        self._catch_up()
        span, prev = window.resolve(now, self.calendar)
        overdue_rows = self._overdue_at(now)
        t_now, unattributed = self._tally(level, span, now, overdue_rows)
        t_prev = self._tally(level, prev, now, overdue_rows)[0] if prev else None
        return build_table(
            level,
            self._names(level),
            t_now,
            t_prev,
            self.config,
            weights or self.config.weights,
            self.config.min_cases if min_cases is None else min_cases,
            span,
            prev,
            now,
            unattributed,
        )

    def drill(
        self,
        level: str,
        entity: str,
        window: Window = ALL_TIME,
        now: float | None = None,
        metric: str = "received",
    ) -> list[str]:
        """Ids of the cases behind one number of ``table`` (oldest first).

        ``metric`` is one of DRILL_METRICS: ``received`` lists the entity's cases in the
        window; the others the subset each count is made of (``late`` = completed, not on
        time; ``satisfied`` = rated 4 or 5).
        """
        check_level(level)
        self._catch_up()
        now = _time_now() if now is None else now
        span, _ = window.resolve(now, self.calendar)
        return self._cases().drill(level, entity, span, metric, self.config.policy, now)


def _time_now() -> float:
    import time

    return time.time()
