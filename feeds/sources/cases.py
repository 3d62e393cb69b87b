"""The accepted rows of an import as columns: what each case was when filed and, for a
finished one, at its end, with the legal life-cycle path that leads there.

Why columns and not a record per row: a county's export is a million rows. Building and
applying a full record (with its timeline) per row costs more than everything else of
the import together, and most of those records are never looked at. So the import hands
the store columns (``Store.bulk_load``), the journal keeps the columns as one history
segment (``Journal.append_history``), and a case's full record is built only when a
panel asks for it (``record``). ``at(ts)`` is the state of every case as of a moment,
for time travel through months of imported history.

A record is filed (version 1) at its created time, in the state its status names, or
``assigned`` when a department is named (the record was routed to it); a finished one is
updated (version 2) at its closing time (``closed``, else ``updated``) into its final
state. A record with a closing time is closed whatever its status says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any

import msgspec
import numpy as np
import pandas as pd

from commandcenter.domain import SOURCE_LABELS_ZH, Source
from commandcenter.store import BulkCases
from feeds import protocol as P

# The life-cycle path an imported record implies, in order; a case reaches its state by it.
PATH = (
    ("report", "reported"),
    ("sign", "signed"),
    ("assign", "assigned"),
    ("arrive", "handling"),
    ("complete", "completed"),
    ("verify", "closed"),
)
STEP = {state: i for i, (_, state) in enumerate(PATH)}
STEP["discovered"] = -1
IMPORTABLE_STATES = frozenset(STEP)
_FIRST_STATE = np.array(["discovered", *(s for _, s in PATH)], dtype=object)  # by open_step + 1
_LABELS = {s.value: lbl for s, lbl in SOURCE_LABELS_ZH.items()}
HISTORY_FORMAT = 1
_BLANK = np.array("", dtype=object)  # np.where over these keeps object arrays (not '<U10')
_DEPARTMENT = np.array("department", dtype=object)


@dataclass(slots=True)
class ImportedCases:
    """One import's cases, column by column (row i of every array is one case)."""

    actor: str  # the profile's name: who "did" the imported steps
    ids: np.ndarray
    category: np.ndarray
    township: np.ndarray
    grid: np.ndarray
    address: np.ndarray
    title: np.ndarray
    description: np.ndarray
    assignee: np.ndarray  # the responsible department, or the actor when routed without one
    reporter_name: np.ndarray
    reporter_phone: np.ndarray
    source: np.ndarray
    urgency: np.ndarray
    state: np.ndarray  # the final state
    step: np.ndarray  # index of the final state in PATH (-1: discovered)
    open_step: np.ndarray  # index of the state at filing
    created: np.ndarray
    moved: np.ndarray  # the last update while open (on site), else created
    end: np.ndarray  # when the final state was reached
    due: np.ndarray  # the record's own deadline; 0 = the policy decides
    lon: np.ndarray
    lat: np.ndarray
    rating: np.ndarray
    # (codes, distinct values) of text columns while a load runs (``factorizing``)
    _factored: dict[str, tuple[np.ndarray, np.ndarray]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __len__(self) -> int:
        return len(self.ids)

    @contextmanager
    def factorizing(self) -> Iterator[None]:
        """Each text column hashed once while the block runs: a load's journal segment
        and the store's columns both need the columns factorized (twelve of a million
        values each). The codes are dropped after: kept, they would hold a hundred
        megabytes for as long as the store holds these cases."""
        self._factored = {}
        try:
            yield
        finally:
            self._factored = None

    def factorized(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(codes, distinct values) of text column ``name`` (made once within ``factorizing``)."""
        cache = self._factored
        got = None if cache is None else cache.get(name)
        if got is None:
            got = pd.factorize(getattr(self, name))
            if cache is not None:
                cache[name] = got
        return got

    @property
    def finished(self) -> np.ndarray:
        """Cases with a second version (their end after filing)."""
        return self.step > self.open_step

    @property
    def event_count(self) -> int:
        return len(self) + int(np.count_nonzero(self.finished))

    def first_time(self) -> float:
        return float(self.created.min()) if len(self) else 0.0

    def last_time(self) -> float:
        if not len(self):
            return 0.0
        return float(max(self.created.max(), np.where(self.finished, self.end, 0.0).max()))

    # ---- state as of a moment --------------------------------------------------------

    def at(self, ts: float | None = None) -> BulkCases:
        """Every case filed by ``ts`` (all when None), in its version as of then."""
        # all: a slice, so the columns are views, not copies of a million rows
        idx: Any = slice(None) if ts is None else np.flatnonzero(self.created <= ts)
        fin = self.finished[idx]
        if ts is not None:
            fin &= self.end[idx] <= ts
        step = np.where(fin, self.step[idx], self.open_step[idx])
        created, moved, end = self.created[idx], self.moved[idx], self.end[idx]
        routed = step >= 2
        state = np.where(fin, self.state[idx], _FIRST_STATE[self.open_step[idx] + 1])
        zero = np.zeros(len(created))
        floats = {
            "created_ts": created,
            "state_ts": np.where(fin, end, np.where(step >= 3, moved, created)),
            "assigned_ts": np.where(routed, created, 0.0),
            "on_site_ts": np.where(step >= 3, np.where(fin, end, moved), 0.0),
            "completed_ts": np.where(fin & (step >= 4), end, 0.0),
            "closed_ts": np.where(fin & (step >= 5), end, 0.0),
            "extension_s": zero,
            "lon": self.lon[idx],
            "lat": self.lat[idx],
            "due_ts": self.due[idx],
        }
        codes = {
            "category": self.category[idx],
            "township": self.township[idx],
            "grid": self.grid[idx],
            "assignee": np.where(routed, self.assignee[idx], _BLANK),
            "assignee_kind": np.where(routed, _DEPARTMENT, _BLANK),
            "address": self.address[idx],
        }

        rows = np.arange(len(self)) if ts is None else idx
        # every row, as they are, within ``factorizing``: the load takes the codes made
        factored = {} if ts is not None or self._factored is None else {
            name: self.factorized(name) for name in ("category", "township", "grid", "address", "urgency", "source")
        }  # fmt: skip

        def record(i: int) -> P.CaseData:
            return self.record(int(rows[i]), bool(fin[i]))

        return BulkCases(
            ids=self.ids[idx],
            version=np.where(fin, 2, 1).astype(np.int64),
            state=state,
            urgency=self.urgency[idx],
            source=self.source[idx],
            rating=self.rating[idx],
            floats=floats,
            codes=codes,
            record=record,
            factored=factored,
        )

    # ---- records and events ----------------------------------------------------------

    def _timeline(self, i: int, upto: int) -> list[P.TimelineItem]:
        t0, moved, end = float(self.created[i]), float(self.moved[i]), float(self.end[i])
        open_step = int(self.open_step[i])
        actor = self.actor
        items = [P.TimelineItem(t0, "discover", actor, "discovered", _LABELS.get(self.source[i], ""))]
        for k in range(upto + 1):
            a, s = PATH[k]
            ts = t0 if k < 3 else moved
            if k > open_step:
                ts = end
            items.append(P.TimelineItem(ts, a, actor, s))
        return items

    def record(self, i: int, final: bool) -> P.CaseData:
        """The full record of case ``i``: as filed, or (``final``) as finished."""
        fin = final and bool(self.finished[i])
        step = int(self.step[i]) if fin else int(self.open_step[i])
        t0, moved, end = float(self.created[i]), float(self.moved[i]), float(self.end[i])
        routed = step >= 2
        timeline = self._timeline(i, step)
        return P.CaseData(
            id=self.ids[i],
            version=2 if fin else 1,
            category=self.category[i],
            source=self.source[i],
            urgency=self.urgency[i],
            state=self.state[i] if fin else str(_FIRST_STATE[step + 1]),
            township=self.township[i],
            grid=self.grid[i],
            lon=float(self.lon[i]),
            lat=float(self.lat[i]),
            created_ts=t0,
            state_ts=timeline[-1].ts if not fin else end,
            title=self.title[i],
            description=self.description[i],
            address=self.address[i],
            assignee=self.assignee[i] if routed else "",
            assignee_kind="department" if routed else "",
            assigned_ts=t0 if routed else 0.0,
            on_site_ts=(end if fin else moved) if step >= 3 else 0.0,
            completed_ts=end if fin and step >= 4 else 0.0,
            closed_ts=end if fin and step >= 5 else 0.0,
            rating=int(self.rating[i]),
            reporter_name=self.reporter_name[i],
            reporter_phone=self.reporter_phone[i],
            timeline=timeline,
            due_ts=float(self.due[i]),
        )

    def versions(self) -> list[tuple[str, float, P.CaseData]]:
        """Every record version as an event (kind, ts, record), in row order: for a
        replay server, which serves the history as a feed."""
        out: list[tuple[str, float, P.CaseData]] = []
        fin = self.finished
        for i in range(len(self)):
            out.append((P.CASE_CREATED, float(self.created[i]), self.record(i, False)))
            if fin[i]:
                out.append((P.CASE_UPDATED, float(self.end[i]), self.record(i, True)))
        return out

    def masked(self, mask: Any) -> ImportedCases:
        """A copy with personal data masked as ``commandcenter.privacy.Mask.case`` masks a
        record (names, phone numbers, house numbers, names inside the text), for a journal
        that keeps none of them. Each distinct value is masked once."""
        if not getattr(mask, "enabled", False):
            return self

        def each(values: np.ndarray, fn: Any) -> np.ndarray:
            codes, uniques = pd.factorize(values)
            done = np.array([fn(str(u)) for u in uniques] + [""], dtype=object)
            return done[codes]

        def texts(values: np.ndarray) -> np.ndarray:
            seen: dict[tuple[str, str], str] = {}
            out = np.empty(len(values), dtype=object)
            for i, (text, who) in enumerate(zip(values.tolist(), self.reporter_name.tolist(), strict=True)):
                key = (text, who)
                if key not in seen:
                    seen[key] = mask.text(text, (who,) if who else ())
                out[i] = seen[key]
            return out

        return dataclasses.replace(
            self,
            reporter_name=each(self.reporter_name, mask.name),
            reporter_phone=each(self.reporter_phone, mask.phone),
            address=each(self.address, mask.address),
            title=texts(self.title),
            description=texts(self.description),
        )

    # ---- bytes -----------------------------------------------------------------------

    def encode(self) -> bytes:
        """The columns as one msgpack document (a journal history segment): numbers as
        their raw bytes, text as its distinct values and a code per case where that is
        smaller (category, township, department... repeat; ids do not)."""
        doc: dict[str, Any] = {"format": HISTORY_FORMAT, "n": len(self)}
        done: dict[int, Any] = {}  # absent fields share one array of their default: coded once
        for f in _COLUMNS:
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray) and id(v) in done:
                doc[f.name] = done[id(v)]
                continue
            if not isinstance(v, np.ndarray):
                doc[f.name] = v
            elif v.dtype != object:
                doc[f.name] = {"dtype": v.dtype.str, "data": np.ascontiguousarray(v).tobytes()}
            elif len(pd.unique(v[:1000])) * 2 > min(len(v), 1000):  # ids: (nearly) all distinct
                doc[f.name] = v.tolist()
            else:
                codes, uniques = self.factorized(f.name)
                if len(uniques) * 2 < len(v):
                    small = np.uint8 if len(uniques) < 255 else np.uint16 if len(uniques) < 65535 else np.int32
                    doc[f.name] = {"values": uniques.tolist(), "codes": codes.astype(small).tobytes(),
                                   "dtype": None, "code_dtype": np.dtype(small).str}  # fmt: skip
                else:
                    doc[f.name] = v.tolist()
            if isinstance(v, np.ndarray):
                done[id(v)] = doc[f.name]
        return msgspec.msgpack.encode(doc)

    @classmethod
    def decode(cls, raw: bytes) -> ImportedCases:
        doc = msgspec.msgpack.decode(raw)
        if not isinstance(doc, dict) or doc.get("format") != HISTORY_FORMAT:
            raise ValueError("not a history segment of a known format")
        n = doc["n"]
        values: dict[str, Any] = {}
        for f in _COLUMNS:
            v = doc[f.name]
            if f.name == "actor":
                values[f.name] = str(v)
            elif isinstance(v, dict) and v.get("dtype"):
                values[f.name] = np.frombuffer(v["data"], dtype=np.dtype(v["dtype"])).copy()
            elif isinstance(v, dict):
                table = np.array(v["values"], dtype=object)
                values[f.name] = table[np.frombuffer(v["codes"], dtype=np.dtype(v["code_dtype"]))]
            else:
                values[f.name] = np.array(v, dtype=object)
            if len(values[f.name]) != n and f.name != "actor":
                raise ValueError(f"history column {f.name} has {len(values[f.name])} values, not {n}")
        return cls(**values)


_COLUMNS = tuple(f for f in fields(ImportedCases) if f.init)  # what a segment holds


def filled(n: int, value: str) -> np.ndarray:
    """An object array of ``n`` times ``value``: ``fill`` is five times quicker than
    ``np.full`` for objects (a million rows, several columns per import)."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def plan(
    actor: str,
    closed_states: frozenset[str],
    cols: dict[str, np.ndarray],
    created: np.ndarray,
    closed: np.ndarray,
    updated: np.ndarray,
    due: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    rating: np.ndarray,
) -> ImportedCases:
    """The life cycle of each accepted row, as columns (``cols``: the text fields, already
    restricted to the accepted rows; ``status`` holds life-cycle states or '')."""
    n = len(created)
    defaults: dict[str, np.ndarray] = {}  # one shared array per default for absent fields

    def text(name: str, default: str = "") -> np.ndarray:
        v = cols.get(name)
        if v is None:
            if default not in defaults:
                defaults[default] = filled(n, default)
            return defaults[default]
        v = np.asarray(v, dtype=object)
        return np.where(v == "", default, v) if default else v

    dept = text("department")
    st = text("status").copy()
    has_closed = ~np.isnan(closed)
    has_updated = ~np.isnan(updated)
    tc = closed.copy()
    empty = st == ""
    st[empty & has_closed] = "closed"
    st[empty & ~has_closed] = np.where(dept[empty & ~has_closed] != "", "assigned", "reported")
    codes, uniques = pd.factorize(st)  # a few distinct states: decided once each
    is_closed_state = np.array([u in closed_states for u in uniques] + [False])[codes] & ~empty
    unclosed = is_closed_state & ~has_closed  # a closed status without a closing time: its last update
    tc[unclosed] = np.where(has_updated[unclosed], updated[unclosed], created[unclosed])
    has_closed = has_closed | unclosed
    st[~empty & has_closed & ~is_closed_state] = "closed"
    codes, uniques = pd.factorize(st)
    step = np.array([STEP.get(s, 0) for s in uniques], dtype=np.int8)[codes]
    routed = dept != ""
    step = np.where(routed & (step < 2), 2, step).astype(np.int8)
    assignee = np.where((step >= 2) & ~routed, actor, dept)
    open_step = np.where(step <= 3, np.minimum(step, 3), 2).astype(np.int8)
    moved = np.where(has_updated & (updated >= created), updated, created)
    end = np.where(has_closed, tc, moved)
    title = text("title")
    category = text("category")
    return ImportedCases(
        actor=actor,
        ids=np.asarray(cols["id"], dtype=object),
        category=category,
        township=text("township"),
        grid=text("grid"),
        address=text("address"),
        title=np.where(title == "", category, title),
        description=text("description"),
        assignee=assignee,
        reporter_name=text("reporter_name"),
        reporter_phone=text("reporter_phone"),
        source=text("channel", Source.HOTLINE.value),
        urgency=text("urgency", "normal"),
        state=st,
        step=step,
        open_step=open_step,
        created=created,
        moved=moved,
        end=end,
        due=np.where(np.isnan(due), 0.0, due),
        lon=lon,
        lat=lat,
        rating=rating.astype(np.int8),  # 0..5
    )

