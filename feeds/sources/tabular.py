"""Rows of an export (CSV, XLSX/XLS, JSON, NDJSON) -> case records, by a profile, in columns.

Why columns: a county's export is months of work orders (a million rows); mapping, date
parsing and validation are pandas vector operations over whole columns, and only the
last step (building each case record) walks the rows. Every row that cannot be used is
rejected with a reason (``missing_id``, ``bad_date:created``, ``ambiguous_date:due``,
``unknown_value:status``, ``wrong_type:lat``, ``missing_column:受理时间``, ...) and its raw
values are kept for the rejects file; the others go on.

Duplicate JSON keys: the first non-null value wins. Open311 servers (and the spec's own
examples) repeat keys, and the repeat is a later, emptier copy of the field (a second
``updated_datetime`` of ``"null"``); "last wins", as most parsers do, erased every closure
time. ``null``, ``"null"`` and ``""`` are all null here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from commandcenter import geo
from feeds import protocol as P
from feeds.sources.cases import IMPORTABLE_STATES, ImportedCases, filled, plan
from feeds.sources.profile import NUMBER_FIELDS, TIME_FIELDS, Profile

_NULLS = frozenset({"", "null", "none", "nil", "n/a", "nan", "nat"})
_ZONED = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
_LEADING_ZERO = re.compile(r"(?<=[:\[,])\s*(-?0\d+(?:\.\d+)?)(?=\s*[,}\]])")


@dataclass(slots=True)
class Table:
    """One input file as strings (or Excel's own dates), with the file row of each row."""

    frame: pd.DataFrame
    rows: np.ndarray  # 1-based row number in the file (header and title rows counted)
    problems: list[str] = field(default_factory=list)  # whole-file notes
    dated: bool = False  # some cells are dates already (Excel)
    # the file's own text of some rows, as read (for rejects and the preview); None: ``frame``
    raw: Callable[[np.ndarray], pd.DataFrame] | None = None
    malformed: list[tuple[int, str]] = field(
        default_factory=list
    )  # (row, text): wrong width, not in frame

    def raw_rows(self, idx: np.ndarray) -> pd.DataFrame:
        """Rows ``idx`` (positions in ``frame``) as the file has them."""
        if self.raw is not None:
            return self.raw(idx)
        return self.frame.iloc[idx].reset_index(drop=True)


@dataclass(slots=True)
class Mapped:
    """What a table became: records with their events, and the rows rejected."""

    cases: ImportedCases  # the accepted rows, in row order
    case_rows: np.ndarray  # the file row of each accepted row
    rejected: pd.DataFrame  # row, reason, detail, then the raw columns
    read: int
    preview: pd.DataFrame | None = None  # the mapped fields of every row

    @property
    def versions(self) -> list[tuple[str, float, P.CaseData]]:
        """Every record version as (kind, ts, record), in row order."""
        return self.cases.versions()


# ---- reading ---------------------------------------------------------------------------------


def _first_non_null(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k not in d or _is_null(d[k]):
            d[k] = v
    return d


def _is_null(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip().lower() in _NULLS)


def _loads(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_first_non_null)
    except json.JSONDecodeError:
        # ``"service_code":006`` (invalid JSON the GeoReport spec itself shows): kept as text.
        return json.loads(_quote_leading_zeros(text), object_pairs_hook=_first_non_null)


def _quote_leading_zeros(text: str) -> str:
    out, pos = [], 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"', text, re.S):
        out.append(_LEADING_ZERO.sub(r'"\1"', text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_LEADING_ZERO.sub(r'"\1"', text[pos:]))
    return "".join(out)


def _records_of(doc: Any, profile: Profile) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in profile.records:
            if isinstance(doc.get(key), list):
                return doc[key]
        return [doc]
    raise ValueError(f"not a list or an object of records but {type(doc).__name__}")


def _cell_text(v: Any) -> Any:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, (datetime, date)):
        return v  # Excel's own dates: already unambiguous
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v).strip()


def _from_records(items: list[Any], first_row: int) -> Table:
    problems = []
    good = [x for x in items if isinstance(x, dict)]
    if len(good) != len(items):
        problems.append(f"{len(items) - len(good)} items are not objects")
    frame = pd.json_normalize(good, sep=".") if good else pd.DataFrame()
    frame = frame.map(_cell_text) if len(frame) else frame
    rows = np.array([i for i, x in enumerate(items, start=first_row) if isinstance(x, dict)])
    return Table(frame.reset_index(drop=True), rows, problems)


def _find_header(grid: pd.DataFrame, wanted: list[str]) -> int:
    """Index of the row naming the most of the profile's columns among the first 30 (a
    merged title row, a blank row or an export banner above the header is skipped)."""
    need = set(wanted)
    best, best_hits = 0, 0
    for i in range(min(len(grid), 30)):
        hits = len(need & {str(c).strip() for c in grid.iloc[i].tolist()})
        if hits > best_hits:
            best, best_hits = i, hits
    return best


def read_table(path: str | Path, profile: Profile) -> Table:
    """A file as a Table; raises ValueError (with the reason) when it cannot be read."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt == "jsonl":
        fmt = "ndjson"
    if fmt not in profile.formats:
        raise ValueError(f"{path.name}: {fmt!r} is not a format of profile {profile.name} "
                         f"({', '.join(profile.formats)})")  # fmt: skip
    if fmt == "csv":
        return read_csv(path, profile)
    if fmt in ("xlsx", "xls"):
        try:
            grid = pd.read_excel(path, sheet_name=profile.sheet, header=None, dtype=object,
                                 engine="calamine")  # fmt: skip
        except Exception as err:  # calamine raises its own types for damaged workbooks
            raise ValueError(f"{path.name}: not a readable workbook: {err}") from err
        # cell by cell over a plain object array: pandas 3 would infer its string dtype
        # for a mapped frame, and walking that row by row costs ten times more
        raw = grid.to_numpy(dtype=object)
        cells = np.empty(raw.shape, dtype=object)
        cells[...] = [[_cell_text(v) for v in row] for row in raw.tolist()] if raw.size else cells
        grid = pd.DataFrame(cells, dtype=object)
        h = (profile.header_row - 1) if profile.header_row else _find_header(grid, profile.columns())
        names = [str(c).strip() or f"column{i + 1}" for i, c in enumerate(grid.iloc[h].tolist())]
        body = cells[h + 1 :]
        keep = ~(body == "").all(axis=1) if len(body) else np.zeros(0, dtype=bool)
        rows = np.arange(h + 2, h + 2 + len(body))[keep]
        frame = pd.DataFrame(body[keep], columns=_unique_names(names), dtype=object)
        problems = [f"{int((~keep).sum())} blank rows skipped"] if (~keep).any() else []
        return Table(frame, rows, problems, dated=True)
    text = path.read_text(encoding=profile.encoding, errors="replace")
    if fmt == "ndjson":
        items, bad = [], []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    items.append(_loads(line))
                except json.JSONDecodeError:
                    items.append(None)
                    bad.append(n)
        t = _from_records(items, 1)
        if bad:
            t.problems.append(f"lines {bad[:10]} are not JSON")
        return t
    try:
        doc = _loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path.name}: not JSON: {err}") from err
    return _from_records(_records_of(doc, profile), 1)


def read_csv(path: Path, profile: Profile) -> Table:
    """A CSV export as clean text columns, read by Arrow's CSV reader.

    Why Arrow and not ``pandas.read_csv``: pandas makes a Python string of every cell (ten
    million for a county's year) before anything looks at them, which alone took half the
    time budget of an import (docs/sources.md, "Speed"). Arrow parses on both cores into
    its own buffers; stripping and null spellings are vector operations there, and a
    column of few values (category, township, department, status: most of an export)
    becomes Python strings once per distinct value. Rows with the wrong number of fields
    are skipped and counted, never silently."""
    import pyarrow as pa

    header = (profile.header_row - 1) if profile.header_row else 0
    names = _csv_header(path, profile.encoding, header)
    if names is None:
        raise ValueError(f"{path.name}: not a readable CSV: no header row")
    encoding = (
        "utf8"
        if profile.encoding.lower().replace("_", "-") in ("utf-8", "utf-8-sig", "utf8")
        else profile.encoding
    )
    table, bad = _arrow_csv(path, names, header, encoding, threads=True)
    if any(number is None for number, _ in bad):  # threads do not know the row: read again
        table, bad = _arrow_csv(path, names, header, encoding, threads=False)
    columns = _unique_names([str(c).strip() for c in table.column_names])
    raw = table.rename_columns(columns)
    used = set(profile.columns())  # an export's other columns stay Arrow's, for the rejects only
    kept = _arrow_only_columns(profile)
    frame = pd.DataFrame({c: _clean_objects(raw.column(c)) for c in columns if c in used and c not in kept},
                         dtype=object, copy=False)  # fmt: skip
    for c in columns:  # parsed straight from Arrow: no Python string per cell
        if c in kept and c in used:
            frame[c] = pd.Series(pd.arrays.ArrowExtensionArray(_clean_arrow(raw.column(c))), index=frame.index)
    frame.attrs["clean"] = True  # stripped, nulls '': ``_text_of`` takes the columns as they are
    first = header + 2  # the first row after the header, counted from 1
    malformed = [(int(number or 0), text) for number, text in bad]
    rows = np.arange(first, first + len(frame) + len(bad))
    if bad:
        rows = np.setdiff1d(rows, [m[0] for m in malformed], assume_unique=True)[: len(frame)]

    def raw_rows(idx: np.ndarray) -> pd.DataFrame:
        taken = raw.take(pa.array(np.asarray(idx, dtype=np.int64)))
        return pd.DataFrame(
            {c: np.array(taken.column(c).to_pylist(), dtype=object) for c in columns}
        )

    return Table(frame, rows, raw=raw_rows, malformed=malformed)


def _arrow_csv(path: Path, names: list[str], skip: int, encoding: str, *,
               threads: bool) -> tuple[Any, list[tuple[int | None, str]]]:  # fmt: skip
    """Arrow's read of every column as text; rows of the wrong width (number, text) apart."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    bad: list[tuple[int | None, str]] = []

    def invalid(row: Any) -> str:
        bad.append((row.number, str(row.text)))
        return "skip"

    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(skip_rows=skip, encoding=encoding, use_threads=threads),
            parse_options=pcsv.ParseOptions(invalid_row_handler=invalid, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )  # fmt: skip
    except (pa.ArrowInvalid, UnicodeDecodeError, LookupError) as err:
        raise ValueError(f"{path.name}: not a readable CSV: {err}") from err
    return table, bad


def _csv_header(path: Path, encoding: str, skip: int) -> list[str] | None:
    """The header row's names (after ``skip`` rows), read as the csv module reads them."""
    import csv

    try:
        with path.open(encoding=encoding, newline="") as f:
            reader = csv.reader(f)
            for _ in range(skip):
                next(reader, None)
            for row in reader:
                if any(v.strip() for v in row):
                    return row
    except (UnicodeDecodeError, csv.Error, LookupError) as err:
        raise ValueError(f"{path.name}: not a readable CSV: {err}") from err
    return None


def _unique_names(names: list[str]) -> list[str]:
    """Repeated column names as pandas names them: ``a``, ``a.1``, ``a.2``."""
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        name = name or f"column{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


_DISTINCT_SAMPLE = 10_000


_ARROW_FIELDS = frozenset({*NUMBER_FIELDS, *TIME_FIELDS, "id"})


def _arrow_only_columns(profile: Profile) -> set[str]:
    """Columns read only by fields taken as they are (coordinates, rating, times, the id):
    they stay in Arrow's buffers, parsed (numbers, times) or joined (ids) there, so that
    no Python string is made per cell for a value that is only parsed or made once."""
    kept: set[str] = set()
    other: set[str] = set()
    for name, spec in profile.fields.items():
        plain = (name in _ARROW_FIELDS and spec.template is None and spec.constant is None and spec.regex is None
                 and spec.lookup is None and spec.default is None and spec.otherwise is None)  # fmt: skip
        (kept if plain else other).update(spec.sources())
    return kept - other


def _clean_arrow(col: Any) -> Any:
    """An Arrow string column stripped, its null spellings ''."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(col)
    nulls = pc.is_in(text, value_set=pa.array(_NULL_SPELLINGS))
    if pc.any(nulls).as_py():
        text = pc.if_else(nulls, "", text)
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _clean_objects(col: Any) -> np.ndarray:
    """An Arrow string column -> stripped Python strings (object array), its null
    spellings ''. A column of few distinct values is cleaned once per distinct value,
    and shares one string object per value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if (
        len(col) > _DISTINCT_SAMPLE
        and pc.count_distinct(col.slice(0, _DISTINCT_SAMPLE)).as_py() > _DISTINCT_SAMPLE // 2
    ):
        return _clean_arrow(col).to_numpy(zero_copy_only=False)
    whole = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    codes = pc.dictionary_encode(whole)
    values = np.array(_clean_arrow(codes.dictionary).to_pylist(), dtype=object)
    return values[codes.indices.to_numpy(zero_copy_only=False)]


# ---- mapping ---------------------------------------------------------------------------------


class _Reasons:
    """The first reason each row is rejected for ('' = fine)."""

    def __init__(self, n: int) -> None:
        self.reason = filled(n, "")
        self.detail = filled(n, "")
        self._ok = np.ones(n, dtype=bool)

    def add(self, mask: np.ndarray, reason: str, detail: str = "", values: Any = None) -> None:
        """Reject the rows of ``mask`` not rejected yet; the detail is ``detail`` followed,
        when ``values`` are given, by each row's value (built for those rows only)."""
        m = np.asarray(mask, dtype=bool) & self._ok
        if m.any():
            self._ok[m] = False
            self.reason[m] = reason
            if values is None:
                self.detail[m] = detail
            else:
                self.detail[m] = [detail + str(v) for v in _picked(values, m)]

    def take(self, other: _Reasons, rows: np.ndarray) -> None:
        """``other``'s rejections of ``rows``, for rows not rejected yet."""
        m = rows & ~other._ok & self._ok
        self._ok[m] = False
        self.reason[m] = other.reason[m]
        self.detail[m] = other.detail[m]

    @property
    def ok(self) -> np.ndarray:
        return self._ok.copy()


def _picked(values: Any, mask: np.ndarray) -> np.ndarray:
    """The values of the rows of ``mask``, as objects; only those rows are converted (a
    column in Arrow's buffers would otherwise become a million Python strings)."""
    if isinstance(values, pd.Series):
        return values.iloc[np.flatnonzero(mask)].to_numpy(dtype=object)
    return np.asarray(values, dtype=object)[mask]


def _blank(n: int) -> pd.Series:
    """A column of ``n`` empty values (a field no column feeds)."""
    return pd.Series(filled(n, ""), dtype=object, copy=False)


def _text_of(frame: pd.DataFrame, col: str, n: int) -> pd.Series:
    """A column as stripped text (object dtype), its nulls ('null', 'N/A', NA ...) as '',
    Excel's dates in ISO form.

    Plain Python over the object array, not ``.str``: a comprehension costs ~30 ns a value,
    pandas' string methods several times that (a million rows, a dozen columns)."""
    s = frame[col]
    if frame.attrs.get("clean"):
        return s
    nulls = _NULL_SET
    arr = s.to_numpy() if s.dtype == object else s.to_numpy(dtype=object, na_value="")
    try:  # text only (CSV): the quick way
        out = ["" if (t := v.strip()) in nulls else t for v in arr]
    except AttributeError:  # Excel's dates, numbers, NA
        out = ["" if (t := _as_text(v)) in nulls else t for v in arr]
    return pd.Series(out, dtype=object, index=s.index)


def _as_text(v: Any) -> str:
    if type(v) is str:
        return v.strip()
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, (datetime, date)):
        return v.isoformat(sep=" ")
    return str(v).strip()


def _values(frame: pd.DataFrame, spec: Any, n: int, missing: list[str]) -> pd.Series:
    """The raw text of a field before lookups: first non-empty column, constant or template."""
    if spec.constant is not None:
        return pd.Series([spec.constant] * n, dtype=object)
    if spec.template is not None:
        out = spec.template
        parts = re.split(r"(\{[^{}]+\})", out)
        acc = _blank(n)
        for part in parts:
            if part.startswith("{") and part.endswith("}"):
                col = part[1:-1]
                if col not in frame.columns:
                    missing.append(col)
                    continue
                acc = acc + _text_of(frame, col, n)
            else:
                acc = acc + part
        return acc.str.strip(" :-/|").astype(object)
    present = [c for c in spec.columns if c in frame.columns]
    if not present:
        missing.extend(spec.columns)
        return _blank(n)
    acc = _text_of(frame, present[0], n)
    for col in present[1:]:
        nxt = _text_of(frame, col, n)
        acc = acc.where(acc != "", nxt)
    return acc


_NULL_SPELLINGS = sorted({v for x in _NULLS for v in (x, x.upper(), x.title())})
_NULL_SET = frozenset(_NULL_SPELLINGS)


def _nullify(s: pd.Series) -> pd.Series:
    """'null', 'NULL', 'N/A', 'NaN' ... -> '' (values are stripped already)."""
    return s.where(~s.isin(_NULL_SPELLINGS), "")


def parse_times(
    s: pd.Series, profile: Profile, *, stripped: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(epoch seconds, problem code) per value: NaN where empty; the code indexes
    ``PROBLEMS``: '' or 'bad', 'ambiguous' (two formats read it differently) or
    'ambiguous_local' (a wall time that happens twice or never in the zone, at a
    daylight-saving change)."""
    n = len(s)
    out = np.full(n, np.nan)
    problem = np.zeros(n, dtype=np.int8)  # index into PROBLEMS
    arr = None if stripped else s.to_numpy(dtype=object)  # stripped: maybe still Arrow's
    if arr is None or all(type(v) is str for v in arr):  # text only (CSV, JSON): no cell is a date yet
        is_dt = np.zeros(n, bool)
        text = (
            pd.Series([v.strip() for v in arr], dtype=object)
            if arr is not None
            else s.reset_index(drop=True)
        )
    else:
        is_dt = np.fromiter((isinstance(v, (datetime, date)) for v in arr), bool, n)
        text = pd.Series(["" if d else str(v).strip() for v, d in zip(arr, is_dt, strict=True)],
                         dtype=object)  # fmt: skip
    empty = np.asarray((text == "") if stripped else text.isin(_NULL_SPELLINGS), dtype=bool) & ~is_dt
    readings = _readings(text, profile, empty)
    if readings:
        # -inf: a format read the wall time, but the zone has no single instant for it
        stack = np.vstack(readings)
        finite = np.isfinite(stack)
        count = finite.sum(axis=0)
        local_gap = (np.isneginf(stack).any(axis=0)) & (count == 0)
        highest = np.max(np.where(finite, stack, -np.inf), axis=0)
        lowest = np.min(np.where(finite, stack, np.inf), axis=0)
        out = np.where(count > 0, highest, np.nan)
        problem[(count > 1) & (highest != lowest)] = 2
        problem[local_gap & ~empty] = 3
        problem[(count == 0) & ~local_gap & ~empty] = 1
    else:
        problem[~empty] = 1
    if is_dt.any():
        dts = pd.to_datetime(s[is_dt].astype(object).map(lambda v: pd.Timestamp(v)))
        local = dts.dt.tz_localize(profile.zone, ambiguous="NaT", nonexistent="NaT")
        vals = _epoch(local)  # in the frame's own unit (pandas 3 reads Excel's dates as us)
        nat = local.isna().to_numpy()
        out[is_dt] = vals
        problem[np.flatnonzero(is_dt)[nat]] = 3
        problem[np.flatnonzero(is_dt)[~nat]] = 0
    out[empty] = np.nan
    return out, problem


PROBLEMS = ("", "bad", "ambiguous", "ambiguous_local")  # parse_times' problem codes


_NUMERIC_FORMATS = ("excel_serial", "epoch")
_DIGIT_DIRECTIVES = re.compile(r"%[YmdHMSyjfIpbBaAzZ%]")


def _may_be_a_number(fmt: str) -> bool:
    """Whether a value written in strptime format ``fmt`` could also read as a serial
    date or epoch seconds (only digits and at most one dot: "%Y%m%d%H")."""
    if fmt == "iso8601":
        return False
    literal = _DIGIT_DIRECTIVES.sub("", fmt)
    return "%p" not in fmt and set(literal) <= {"."} and literal.count(".") <= 1


def _readings(text: pd.Series, profile: Profile, empty: np.ndarray) -> list[np.ndarray]:
    """Every accepted format's reading of every value (NaN: not read; ``empty`` values are
    read by none). The numeric formats are tried only on values no written format read,
    unless one of those could itself be all digits: then they are tried on all, so that an
    ambiguity is seen."""
    written = [f for f in profile.date_formats if f not in _NUMERIC_FORMATS]
    out = [_read_format(text, fmt, profile, empty) for fmt in written]
    numeric = [f for f in profile.date_formats if f in _NUMERIC_FORMATS]
    if not numeric:
        return out
    if any(_may_be_a_number(f) for f in written) or not out:
        rest = ~empty
    else:
        rest = ~np.any([np.isfinite(r) | np.isneginf(r) for r in out], axis=0) & ~empty
    for fmt in numeric:
        got = np.full(len(text), np.nan)
        if rest.any():
            got[rest] = _read_format(text[rest].reset_index(drop=True), fmt, profile, None)
        out.append(got)
    return out


_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


def _epoch(ts: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Epoch seconds in the times' own unit: never through nanoseconds, whose range (1677
    to 2262) a year written 0001 in an export overflowed, failing the whole import."""
    arr = pd.Series(ts)
    vals = arr.astype("int64").to_numpy().astype(np.float64) / _PER_SECOND[arr.dt.unit]
    vals[arr.isna().to_numpy()] = np.nan
    return vals


def _localize(naive: pd.Series, profile: Profile) -> np.ndarray:
    """Zone-less wall times in the profile's zone; a time the zone skips or repeats -> NaN
    (rejected as ambiguous_local: never guessed)."""
    local = naive.dt.tz_localize(profile.zone, ambiguous="NaT", nonexistent="NaT")
    out = _epoch(local.dt.tz_convert("UTC"))
    out[(naive.notna() & local.isna()).to_numpy()] = -np.inf
    return out


def _read_format(text: pd.Series, fmt: str, profile: Profile, empty: np.ndarray | None) -> np.ndarray:
    n = len(text)
    if isinstance(text.dtype, pd.ArrowDtype) and _arrow_wall_format(fmt) is None:
        text = pd.Series(text.to_numpy(dtype=object), dtype=object)  # the slower ways read objects
    if fmt == "excel_serial":
        num = _digits(text, r"\d{4,6}(?:\.\d+)?", 1000.0, 1e6)
        wall = pd.to_datetime("1899-12-30") + pd.to_timedelta(num, unit="D")
        return _localize(pd.Series(wall).dt.round("s"), profile)
    if fmt == "epoch":
        return _digits(text, r"\d{9,10}(?:\.\d+)?", 1e8, 1e10).to_numpy(dtype=np.float64)
    if fmt == "iso8601":
        iso = text.where(
            text.str.match(r"^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?"), ""
        )
        zoned = iso.str.contains(_ZONED) & (iso != "")
        out = np.full(n, np.nan)
        if zoned.any():
            z = pd.to_datetime(iso[zoned].str.replace(" ", "T", n=1), format="ISO8601", utc=True,
                               errors="coerce")  # fmt: skip
            out[zoned.to_numpy()] = _epoch(z)
        naive = (~zoned) & (iso != "")
        if naive.any():
            w = pd.to_datetime(iso[naive], format="ISO8601", errors="coerce")
            out[naive.to_numpy()] = _localize(pd.Series(w), profile)
        return out
    fast = _arrow_wall(text, fmt)
    if fast is not None:
        wall, read = fast
        rest = ~read if empty is None else ~read & ~empty
        if rest.any():  # not written as the format writes it: pandas decides
            objects = text.iloc[np.flatnonzero(rest)].to_numpy(dtype=object)
            later = pd.to_datetime(pd.Series(objects, dtype=object), format=fmt, errors="coerce")
            wall[rest] = later.to_numpy().astype("datetime64[s]")
        return _localize(pd.Series(wall), profile)
    wall = pd.to_datetime(text, format=fmt, errors="coerce")
    if getattr(wall.dt, "tz", None) is not None:
        return _epoch(wall.dt.tz_convert("UTC"))
    return _localize(wall, profile)


# where each directive stands in Arrow's own text of a timestamp, "2024-01-05 10:20:30"
_WALL_PARTS = {"%Y": (0, 4), "%m": (5, 7), "%d": (8, 10), "%H": (11, 13), "%M": (14, 16), "%S": (17, 19)}
_ARROW_TEXT = "%Y-%m-%d %H:%M:%S"


def _arrow_wall_format(fmt: str) -> list[str] | None:
    """``fmt`` split into directives and literal text when Arrow may read it (only
    zero-padded numbers: year, month, day, hour, minute, second); else None."""
    parts = [p for p in re.split(r"(%.)", fmt) if p]
    if any(p.startswith("%") and p not in _WALL_PARTS for p in parts) or "%" in "".join(
        p for p in parts if p not in _WALL_PARTS
    ):
        return None
    return parts


def _arrow_wall(text: pd.Series, fmt: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Wall times of the values written exactly as ``fmt`` writes them (zero-padded, the
    date real), read by Arrow's strptime at C speed: (datetime64[s], read mask); None
    when ``fmt`` has a directive this path does not take.

    Why the check that each value is the format's own writing of its reading: Arrow is
    more lenient than pandas (it reads 2024-02-30 as 1 March, and unpadded or
    space-led values); a value that is not the canonical text of what Arrow read is left
    to pandas, so that the result is pandas' own, only faster (a million times a day:
    0.4 s in pandas, a tenth of that here)."""
    parts = _arrow_wall_format(fmt)
    if parts is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(text.dtype, pd.ArrowDtype):
        arr = _arrow_of(text)
    else:
        try:
            arr = pa.array(text.to_numpy(dtype=object), type=pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not text throughout
            return None
    got = pc.strptime(arr, format=fmt, unit="s", error_is_null=True)
    canonical = pc.cast(got, pa.string())  # Arrow's own text: the quick way to write them back
    if fmt != _ARROW_TEXT:
        pieces = [pc.utf8_slice_codeunits(canonical, *_WALL_PARTS[p]) if p in _WALL_PARTS else p for p in parts]
        canonical = pc.binary_join_element_wise(*pieces, "")
    read = pc.fill_null(pc.equal(canonical, arr), False).to_numpy(zero_copy_only=False)
    seconds = pc.cast(got, pa.int64()).to_numpy(zero_copy_only=False)  # nulls: NaN (float)
    wall = np.full(len(arr), np.datetime64("NaT", "s"))
    wall[read] = np.asarray(seconds[read], dtype=np.int64).astype("datetime64[s]")
    return wall, np.asarray(read, dtype=bool)


def _digits(text: pd.Series, pattern: str, lo: float, hi: float) -> pd.Series:
    """Numbers written exactly as ``pattern`` (serial dates, epoch seconds); NaN elsewhere.
    The cheap numeric parse goes first, so that the pattern is checked only on the few
    values that are numbers of the right size (none, in a file of text dates)."""
    arr = text.to_numpy(dtype=object)
    digits = np.fromiter(
        (v[:1].isdigit() and v.replace(".", "", 1).isdigit() for v in arr), bool, len(arr)
    )
    num = pd.Series(np.nan, index=text.index)
    if digits.any():
        num[digits] = pd.to_numeric(text[digits], errors="coerce")
    near = (num >= lo) & (num < hi)
    if near.any():
        exact = text[near].str.fullmatch(pattern).to_numpy(dtype=bool)
        near[near] = exact
    return num.where(near)


def _lookup(
    values: pd.Series, voc: Any, reasons: _Reasons, fname: str, default: str | None
) -> pd.Series:
    """A vocabulary applied: each *distinct* value is looked up once and the results are
    spread back by code (a vocabulary column has few values and a million rows)."""
    table = voc.table()
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    looked: list[Any] = []
    unknown: list[bool] = []
    for u in uniques.tolist():
        text = str(u)
        hit = table.get(voc.key(text))
        missing = hit is None and text != ""
        unknown.append(missing)
        if text == "":
            looked.append(default or "")
        elif not missing:
            looked.append(hit)
        elif voc.unknown == "reject":
            looked.append("")
        else:
            looked.append(text if voc.unknown == "keep" else voc.unknown)
    if any(unknown) and voc.unknown == "reject":
        rows = np.array([*unknown, False], dtype=bool)[codes]
        reasons.add(rows, f"unknown_value:{fname}", "not in vocabulary " + voc.name + ": ", values)
    mapped = np.array([*looked, default or ""], dtype=object)[codes]
    return pd.Series(mapped, dtype=object, index=values.index, copy=False)


def _numbers(values: pd.Series, reasons: _Reasons, fname: str, limit: float) -> np.ndarray:
    arr: Any
    if isinstance(values.dtype, pd.ArrowDtype):  # a CSV column still in Arrow's buffers
        arr = _arrow_of(values)
        blank = (values == "").to_numpy(dtype=bool)
    else:
        arr = values.to_numpy(dtype=object)
        blank = arr == ""
    if blank.all():
        return np.zeros(len(blank))
    try:  # Arrow's parse: a clean column at C speed (numpy's float() per value is 10x slower)
        num = _arrow_floats(arr, blank)
        num[~blank & ~np.isfinite(num)] = np.nan  # "inf", "nan" written in the file
    except ValueError:  # some value is not a number: find which, one by one
        text = values.astype(object)
        num = pd.to_numeric(text.where(~blank, None), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(num) & ~blank
    reasons.add(bad, f"wrong_type:{fname}", "not a number: ", values)
    out = np.nan_to_num(num, nan=0.0)
    far = np.abs(out) > limit
    reasons.add(far, f"wrong_type:{fname}", "out of range: ", values)
    return out


def _arrow_floats(arr: Any, blank: np.ndarray) -> np.ndarray:
    """Text -> float64 (blank: NaN); ValueError when a value is not a number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if isinstance(arr, np.ndarray):
            text = pa.array(arr, type=pa.string(), mask=blank)
        else:  # Arrow's own text: blanks -> null
            text = pc.if_else(pa.array(blank), pa.scalar(None, pa.string()), arr)
        return (
            pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise ValueError(str(err)) from err


def _field(
    frame: pd.DataFrame, spec: Any, profile: Profile, reasons: _Reasons, n: int
) -> pd.Series:
    """One case field's text for every row (lookups applied); a row without a value that
    the field requires is rejected with the reason."""
    fname = spec.name
    missing: list[str] = []
    vals = _values(frame, spec, n, missing)
    if spec.constant is not None or spec.template is not None:
        vals = _nullify(vals)
    if missing and spec.required and spec.otherwise is None:
        reasons.add(np.ones(n, bool), f"missing_column:{missing[0]}",
                    f"the file has no column {missing[0]!r} for {fname}")  # fmt: skip
    if spec.regex is not None:
        pattern = spec.regex if spec.regex.groups else f"({spec.regex.pattern})"
        got = vals.str.extract(pattern, expand=False).fillna("")
        reasons.add(((got == "") & (vals != "")).to_numpy() & (spec.required and spec.otherwise is None),
                    f"no_match:{fname}", "does not match " + spec.regex.pattern + ": ", vals)  # fmt: skip
        vals = got.astype(object)
    if spec.lookup is not None:
        vals = _lookup(vals, profile.vocabularies[spec.lookup], reasons, fname, spec.default)
    elif spec.default is not None:
        vals = vals.where(vals != "", spec.default)
    if spec.otherwise is not None:
        empty = vals == ""
        if empty.any():  # the alternative's rejections count only where it is used
            alt = _Reasons(n)
            vals = vals.where(~empty, _field(frame, spec.otherwise, profile, alt, n))
            reasons.take(alt, empty.to_numpy())
    if spec.required:
        reasons.add((vals == "").to_numpy(), f"missing_{fname}", f"no value for {fname}")
    return vals


def _arrow_of(col: pd.Series) -> Any:
    """The one Arrow array behind a column held in Arrow's buffers."""
    import pyarrow as pa

    arr = pa.array(col.array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _prefixed_ids(col: pd.Series, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """The ids with the profile's prefix (objects), and which rows repeat an earlier
    row's id. A column still in Arrow's buffers is joined and hashed there: each id
    becomes a Python string once, and the repeats are found without Python's hashing."""
    if not isinstance(col.dtype, pd.ArrowDtype):
        ids = np.array([prefix + v for v in col.to_numpy(dtype=object)], dtype=object)
        return ids, pd.Series(ids, dtype=object).duplicated(keep="first").to_numpy()
    import pyarrow.compute as pc

    arr = _arrow_of(col)
    joined = pc.binary_join_element_wise(prefix, arr, "") if prefix else arr
    codes = pc.dictionary_encode(joined).indices.to_numpy(zero_copy_only=False)
    dup = np.zeros(len(codes), dtype=bool)
    if len(codes) > 1:  # codes are numbered as values first appear: a repeat is below the top
        dup[1:] = codes[1:] <= np.maximum.accumulate(codes)[:-1]
    return np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object), dup


def map_table(table: Table, profile: Profile, *, with_preview: bool = False) -> Mapped:
    """Every row of ``table`` -> record versions or a rejection with a reason."""
    frame = table.frame
    n = len(frame)
    reasons = _Reasons(n)
    cols: dict[str, pd.Series] = {}
    for fname, spec in profile.fields.items():
        cols[fname] = _field(frame, spec, profile, reasons, n)
    times: dict[str, np.ndarray] = {}
    for fname in ("created", "closed", "updated", "due"):
        if fname not in cols:
            continue
        raw = cols[fname]
        src = profile.fields[fname]
        if table.dated and src.constant is None and src.template is None:
            # Excel's own dates are read as dates, not as their text
            for c in (c for c in src.columns if c in frame.columns):
                cells = frame[c].to_numpy(dtype=object)
                is_date = np.fromiter((isinstance(v, (datetime, date)) for v in cells), bool, n)
                if is_date.any():
                    raw = raw.where(~is_date, pd.Series(cells, dtype=object, index=raw.index))
                break
        secs, problem = parse_times(raw, profile, stripped=raw is cols[fname])
        for what in ("bad", "ambiguous", "ambiguous_local") if problem.any() else ():
            m = problem == PROBLEMS.index(what)
            if m.any():
                label = {
                    "bad": "bad_date",
                    "ambiguous": "ambiguous_date",
                    "ambiguous_local": "ambiguous_local_time",
                }[what]
                why = {"bad": "no accepted format reads ", "ambiguous": "two accepted formats read differently: ",
                       "ambiguous_local": f"happens twice or never in {profile.zone.key}: "}[what]  # fmt: skip
                reasons.add(m, f"{label}:{fname}", why, raw)
        times[fname] = secs
    created = times["created"]
    closed = times.get("closed", np.full(n, np.nan))
    updated = times.get("updated", np.full(n, np.nan))
    due = times.get("due", np.full(n, np.nan))
    reasons.add(
        (closed < created), "closed_before_created", "closed time is before the filing time"
    )
    # ids: namespaced by the profile's prefix; one record per id per import
    prefix = profile.id_prefix
    ids, dup = _prefixed_ids(cols["id"], prefix)
    dup = dup & reasons.ok
    reasons.add(dup, "duplicate_id", "an earlier row has the same id")
    blank = _blank(n)  # the value of every field the profile does not map (read, never written)
    lat = _numbers(cols.get("lat", blank), reasons, "lat", 90.0)
    lon = _numbers(cols.get("lon", blank), reasons, "lon", 180.0)
    rating = _numbers(cols.get("rating", blank), reasons, "rating", 5.0)
    located = (lat != 0.0) & (lon != 0.0)
    if profile.datum != "wgs84" and located.any():
        wlon, wlat = geo.convert(lon[located], lat[located], profile.datum, "wgs84")
        lon[located], lat[located] = wlon, wlat
    state = cols.get("status", blank)
    bad_state = ~state.isin(IMPORTABLE_STATES | {""}).to_numpy()
    reasons.add(bad_state, "unknown_value:status", "cannot import a case in state ", state)
    ok = reasons.ok
    idx = np.flatnonzero(ok)
    text = {k: v.to_numpy(dtype=object)[idx] for k, v in cols.items()
            if k not in NUMBER_FIELDS and k not in TIME_FIELDS}  # fmt: skip
    text["id"] = ids[idx]
    text["status"] = state.to_numpy(dtype=object)[idx]
    cases = plan(profile.name, profile.closed_states, text, created[idx], closed[idx], updated[idx],
                 due[idx], lon[idx], lat[idx], rating[idx])  # fmt: skip
    rej = np.flatnonzero(~ok)
    rejected = pd.DataFrame({"row": table.rows[rej], "reason": reasons.reason[rej],
                             "detail": reasons.detail[rej]})  # fmt: skip
    raw = table.raw_rows(rej).map(
        lambda v: v.isoformat(sep=" ") if isinstance(v, (datetime, date)) else v
    )
    rejected = pd.concat([rejected, raw], axis=1)
    if table.malformed:  # rows the reader could not split into the header's columns
        torn = pd.DataFrame({"row": [r for r, _ in table.malformed], "reason": "malformed_row",
                             "detail": [f"not {len(frame.columns)} fields: {t[:200]}" for _, t in table.malformed]})  # fmt: skip
        rejected = pd.concat([rejected, torn], ignore_index=True).sort_values("row", kind="stable")
        rejected = rejected.reset_index(drop=True).fillna("")
    preview = None
    if with_preview:
        preview = pd.DataFrame({k: v for k, v in cols.items()})
        preview["id"] = ids
        for k, v in times.items():
            preview[k] = (
                pd.to_datetime(v, unit="s", utc=True)
                .tz_convert(profile.zone)
                .strftime("%Y-%m-%d %H:%M")
            )
        preview["reason"] = reasons.reason
    return Mapped(cases, table.rows[ok], rejected, n + len(table.malformed), preview)


def iter_files(paths: list[str | Path]) -> Iterator[Path]:
    for p in paths:
        yield Path(p)
