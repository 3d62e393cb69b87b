"""Bulk history import: rows per second and peak memory, CSV and XLSX, by a source profile.

Each import runs in a child process of its own so that its peak RSS is its own; the
baseline is the reader alone on the same file, in the same child, first (``pandas.read_csv``
for CSV, ``pandas.read_excel`` on python-calamine for XLSX): the ratio says what the
mapping, the checks, the store and the journal add to reading the file. The export is generated: a 12345-style table
with Chinese headers, per-record due dates, local times without a zone, a share of open
cases and a few bad rows.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.table import Row

PROFILE = """\
[profile]
name = "bench"
version = 1
[time]
zone = "Asia/Shanghai"
formats = ["%Y-%m-%d %H:%M:%S", "excel_serial"]
[ids]
prefix = "B-"
[fields]
id = "工单编号"
created = "受理时间"
due = "办理时限"
closed = "办结时间"
category = "诉求类型"
township = "所属乡镇"
department = "承办单位"
status = { column = "工单状态", lookup = "status" }
lat = "纬度"
lon = "经度"
[vocabularies.status]
map = { "办理中" = "handling", "已办结" = "closed" }
"""


def make_frame(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-01-01")
    created = t0 + pd.to_timedelta(rng.integers(0, 180 * 86400, n), unit="s")
    done = rng.random(n) < 0.8
    closed = created + pd.to_timedelta(rng.integers(600, 10 * 86400, n), unit="s")
    fmt = "%Y-%m-%d %H:%M:%S"
    frame = pd.DataFrame({
        "工单编号": np.char.add("GD", np.arange(n).astype(str)),
        "受理时间": created.strftime(fmt),
        "办理时限": (created + pd.Timedelta(days=5)).strftime(fmt),
        "办结时间": np.where(done, closed.strftime(fmt), ""),
        "诉求类型": np.array(["噪音扰民", "道路破损", "垃圾清运", "占道经营"])[rng.integers(0, 4, n)],
        "所属乡镇": np.array(["冠山镇", "娘子关镇", "巨城镇"])[rng.integers(0, 3, n)],
        "承办单位": np.array(["城管局", "交通局", "环卫中心", "住建局"])[rng.integers(0, 4, n)],
        "工单状态": np.where(done, "已办结", "办理中"),
        "纬度": np.round(37.8 + rng.random(n) * 0.2, 6).astype(str),
        "经度": np.round(113.5 + rng.random(n) * 0.3, 6).astype(str),
    })  # fmt: skip
    frame.loc[frame.index % 1000 == 7, "受理时间"] = "unknown"  # a few bad rows
    return frame


def _peak_mb() -> float:
    """This process's peak resident set (VmHWM). Not ``ru_maxrss``: Linux carries that
    across exec, so a child started by a big parent would report the parent's size."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, path: str, profile_path: str) -> None:
    """One measurement in a fresh process: the baseline reader alone, then the import
    (into a store, or a store and a journal when ``kind`` ends in ``+journal``)."""
    from commandcenter.journal import Journal
    from commandcenter.store import Store
    from feeds.journal_codec import journal_codec
    from feeds.sources.importer import import_files

    t = time.perf_counter()
    if kind.startswith("csv"):
        base_rows = len(pd.read_csv(path, dtype=str, keep_default_na=False))
    else:
        base_rows = len(pd.read_excel(path, header=None, dtype=object, engine="calamine")) - 1
    base = time.perf_counter() - t
    base_peak = _peak_mb()
    journal = None
    if kind.endswith("+journal"):
        journal = Journal(Path(path).with_suffix(".journal.sqlite3"), journal_codec())
    store = Store()
    t = time.perf_counter()
    result = import_files(profile_path, [path], store, journal)
    if journal is not None:
        journal.close()
    took = time.perf_counter() - t
    peak = _peak_mb()
    resync = _resync_seconds(store) if kind == "csv+journal" else 0.0  # as in the app: journaled
    print(json.dumps({"read": result.read, "imported": result.imported, "seconds": took,
                      "baseline_rows_s": base_rows / base, "baseline_peak_mb": base_peak,
                      "peak_mb": peak, "resync_s": resync}))  # fmt: skip


def _resync_seconds(store: object) -> float:
    """A live source's snapshot (a reconnect) after the import: the imported cases stay
    (as the app holds them: journaled, so the store keeps them as columns)."""
    from commandcenter.sources import SourceMux
    from feeds import protocol as P

    before = len(store)  # type: ignore[arg-type]
    v1 = SourceMux(store).sink("v1")  # type: ignore[arg-type]
    case = P.CaseData(id="LIVE-1", version=1, category="噪音扰民", source="hotline", urgency="normal",
                      state="reported", township="冠山镇", grid="", lon=113.6, lat=37.9,
                      created_ts=1.8e9, state_ts=1.8e9)  # fmt: skip
    v1.reset(P.Snapshot(v=1, epoch="e1", seq=1, now=1.8e9, rate=1.0, cases=[case]))
    t = time.perf_counter()
    v1.reset(P.Snapshot(v=1, epoch="e2", seq=1, now=1.8e9, rate=1.0, cases=[case]))
    took = time.perf_counter() - t
    assert len(store) == before + 1  # type: ignore[arg-type]
    return took


def _run_child(kind: str, path: Path, profile: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.sources", "--child", kind, str(path),
                          str(profile)], capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _import_rows(label: str, kind: str, path: Path, profile: Path, target: str) -> list[Row]:
    got = _run_child(kind, path, profile)
    reader = "pandas.read_csv" if kind.startswith("csv") else "pandas.read_excel (calamine)"
    extra = []
    if got.get("resync_s"):
        extra.append(Row(f"resync of a live source, {got['imported']:,.0f} imported cases kept", got["resync_s"] * 1000,
                         "ms", baseline=got["seconds"] * 1000, note="baseline: the import itself"))  # fmt: skip
    return [
        *extra,
        Row(f"import {label} rows/s", got["read"] / got["seconds"], "rows/s", target,
            baseline=got["baseline_rows_s"],
            note=f"baseline {reader} alone, same process; {got['imported']:,.0f} imported"),
        Row(f"import {label} peak RSS", got["peak_mb"], "MB", "<= 1,500",
            baseline=got["baseline_peak_mb"], note=f"baseline: after {reader} alone"),
    ]  # fmt: skip


def run(quick: bool = False) -> list[Row]:
    n_csv, n_xlsx = (100_000, 20_000) if quick else (1_000_000, 100_000)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        profile = d / "bench.toml"
        profile.write_text(PROFILE, encoding="utf-8")
        csv = d / "export.csv"
        make_frame(n_csv).to_csv(csv, index=False)
        rows += _import_rows(f"CSV {n_csv:,} -> store", "csv", csv, profile, ">= 200,000")
        rows += _import_rows(f"CSV {n_csv:,} -> store + journal", "csv+journal", csv, profile,
                             ">= 200,000")  # fmt: skip
        import xlsxwriter

        xlsx = d / "export.xlsx"
        frame = make_frame(n_xlsx)
        t = time.perf_counter()
        wb = xlsxwriter.Workbook(str(xlsx), {"constant_memory": True})
        ws = wb.add_worksheet()
        ws.write_row(0, 0, list(frame.columns))
        for r, values in enumerate(frame.itertuples(index=False), start=1):
            ws.write_row(r, 0, values)
        wb.close()
        write_s = time.perf_counter() - t
        rows += _import_rows(f"XLSX {n_xlsx:,} -> store + journal", "xlsx+journal", xlsx, profile,
                             ">= 20,000")  # fmt: skip
        rows.append(Row(f"write XLSX {n_xlsx:,} rows (XlsxWriter)", n_xlsx / write_s, "rows/s",
                        note="constant_memory"))  # fmt: skip
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], sys.argv[3], sys.argv[4])
