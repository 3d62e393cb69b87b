"""Dates of an export read by Arrow's strptime (the quick path of an import) are read
exactly as pandas reads them: the same instant, the same refusals. Arrow alone is more
lenient (2024-02-30 is 1 March there, unpadded and space-led values pass), so the import
takes Arrow's reading only of values written as the format writes them; these tests
hold it to pandas over values near every edge: unpadded, out of range, leap days,
trailing text, a wall time that China's daylight saving (1986-1991) skipped or repeated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.sources.profile import parse_profile
from feeds.sources.tabular import _read_format

PROFILE = parse_profile(
    '[profile]\nname = "dates"\nversion = 1\n[time]\nzone = "Asia/Shanghai"\n'
    'formats = ["%Y-%m-%d %H:%M:%S"]\n[fields]\nid = "id"\ncreated = "t"\ncategory = "c"\n'
)
FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%d.%m.%Y", "%Y年%m月%d日 %H时%M分", "%Y%m%d%H%M%S"]


def _pandas(values: list[str], fmt: str) -> np.ndarray:
    """The oracle: pandas' strptime, then the hall's zone (NaN: not read; -inf: a wall
    time the zone skips or repeats)."""
    wall = pd.to_datetime(pd.Series(values, dtype=object), format=fmt, errors="coerce")
    local = wall.dt.tz_localize("Asia/Shanghai", ambiguous="NaT", nonexistent="NaT")
    out = np.full(len(values), np.nan)
    ok = local.notna().to_numpy()
    utc = local[ok].dt.tz_convert("UTC")
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[utc.dt.unit]
    out[ok] = utc.astype("int64").to_numpy() / per_second
    out[wall.notna().to_numpy() & ~ok] = -np.inf
    return out


def _ours(values: list[str], fmt: str, arrow: bool) -> np.ndarray:
    series = (
        pd.Series(pd.arrays.ArrowExtensionArray(pa.array(values, type=pa.string())))
        if arrow
        else pd.Series(values, dtype=object)
    )
    empty = np.array([v == "" for v in values], dtype=bool)
    return _read_format(series, fmt, PROFILE, empty)


def _field(lo: int, hi: int, width: int) -> st.SearchStrategy[str]:
    number = st.integers(lo, hi)
    return st.one_of(
        number.map(lambda v: str(v).zfill(width)),  # as written by the format
        number.map(str),  # unpadded
        number.map(lambda v: " " + str(v)),  # space-led
    )


@st.composite
def _written(draw: st.DrawFn, fmt: str) -> str:
    parts = {
        "%Y": _field(1, 12_000, 4),
        "%m": _field(0, 13, 2),
        "%d": _field(0, 32, 2),
        "%H": _field(0, 25, 2),
        "%M": _field(0, 61, 2),
        "%S": _field(0, 61, 2),
    }
    out = fmt
    for directive, strategy in parts.items():
        if directive in out:
            out = out.replace(directive, draw(strategy), 1)
    return out + draw(st.sampled_from(["", "", "", "x", " ", "0", ":00"]))


@st.composite
def _batch(draw: st.DrawFn) -> tuple[str, list[str]]:
    fmt = draw(st.sampled_from(FORMATS))
    values = draw(st.lists(st.one_of(_written(fmt), st.sampled_from(["", "unknown", "２０２４"])), min_size=1, max_size=30))
    return fmt, values


@settings(max_examples=300, deadline=None)
@given(_batch())
def test_every_value_reads_as_pandas_reads_it(batch: tuple[str, list[str]]) -> None:
    fmt, values = batch
    want = _pandas(values, fmt)
    for arrow in (True, False):
        got = _ours(values, fmt, arrow)
        np.testing.assert_array_equal(got, want, err_msg=f"{fmt} {values} arrow={arrow}")


def test_the_edges_by_hand() -> None:
    fmt = "%Y-%m-%d %H:%M:%S"
    values = [
        "2024-01-05 10:20:30",  # written as the format writes it
        "2024-1-5 10:20:30",  # unpadded: pandas reads it, so do we
        "2024-02-30 10:00:00",  # no such day: Arrow would say 1 March
        "2024-02-29 23:59:59",  # a leap day
        "2023-02-29 00:00:00",  # not a leap year
        "2024-01-05 24:00:00",
        "2024-01-05 10:20:30x",
        "1986-05-04 02:30:00",  # China sprang forward at 02:00 that day: never happened
        "1986-09-14 01:30:00",  # and fell back at 02:00: happened twice
        "",
    ]
    want = _pandas(values, fmt)
    assert np.isfinite(want[[0, 1, 3]]).all() and np.isnan(want[[2, 4, 5, 6, 9]]).all()
    assert np.isneginf(want[[7, 8]]).all()
    np.testing.assert_array_equal(_ours(values, fmt, arrow=True), want)
    assert want[0] == pd.Timestamp("2024-01-05 02:20:30", tz="UTC").timestamp()
