"""What the console's Sources dialog (数据源) asks of the import, as plain data.

Why an object handed to the dialog: panels and dialogs never import ``feeds``; the shell
builds one of these over the live store and the journal and passes it in. Everything it
returns is text and numbers (tables as lists of rows), so the dialog shows feed text as
plain text and knows nothing of profiles, frames or records.

An import is two halves: ``prepare`` reads, maps and checks the files (seconds for a
million rows: run it off the GUI thread), ``load`` puts the result into the store and the
journal (on the thread that owns the store).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from feeds.sources.importer import (
    ImportResult,
    MappedFile,
    Progress,
    collector_paused,
    load_mapped,
    map_file,
)
from feeds.sources.profile import Profile, ProfileError, load_profile, shipped_profiles
from feeds.sources.tabular import Table, map_table, read_table

PREVIEW_ROWS = 50
REJECTS_SHOWN = 500  # rejected rows listed in a preview (all are counted)
MAPPED_COLUMNS = (
    "id",
    "created",
    "category",
    "status",
    "department",
    "township",
    "due",
    "closed",
    "reason",
)


@dataclass(slots=True)
class Preview:
    """A file's first rows, raw and mapped, and what the whole file would reject."""

    raw_columns: list[str]
    raw_rows: list[list[str]]
    mapped_columns: list[str]
    mapped_rows: list[list[str]]
    read: int = 0
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> rows
    rejected_rows: list[tuple[int, str, str]] = field(default_factory=list)  # row, reason, detail
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Prepared:
    """Files mapped by ``prepare``, waiting for ``load``."""

    profile: Profile
    files: list[MappedFile]
    result: ImportResult


def _text(v: Any) -> str:
    if isinstance(v, (datetime, date)):
        return v.isoformat(sep=" ")
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v)


class SourceImporter:
    """Profiles, previews and imports into one store (and its journal)."""

    def __init__(self, sink: Any, journal: Any = None) -> None:
        """``sink``: the live store; ``journal``: the console's, to keep the history in."""
        if journal is not None and not hasattr(sink, "journal"):
            from commandcenter.journal import Recorder

            sink = Recorder(sink, journal)
        self.sink = sink
        self.journal = journal

    @staticmethod
    def profiles() -> list[str]:
        """The shipped profiles' names."""
        return shipped_profiles()

    @staticmethod
    def prewarm() -> None:
        """Import, on the calling (GUI) thread, what reading and mapping an export load
        lazily. Why: in a Qt application every first import runs PySide's import hook,
        which is not safe on a worker thread (a preview's first Arrow and pandas imports
        there crashed the GUI thread once in a test run). Cheap after the first call."""
        import importlib

        for name in ("pyarrow", "pyarrow.csv", "pyarrow.compute", "pandas.core.apply",
                     "pandas.io.formats.csvs", "pandas.io.formats.format",
                     "pandas.core.tools.datetimes", "pandas.io.excel"):  # fmt: skip
            importlib.import_module(name)

    @staticmethod
    def profile(name_or_path: str | Path) -> Profile:
        """A shipped profile or a file; ValueError (naming file, line and key) if bad."""
        try:
            return load_profile(name_or_path)
        except ProfileError as err:
            raise ValueError(str(err)) from err

    def preview(self, profile: str | Path, path: str | Path, rows: int = PREVIEW_ROWS) -> Preview:
        """The first ``rows`` of ``path`` as read and as mapped, and the rejections of
        the whole file; ValueError when the file cannot be read."""
        prof = self.profile(profile)
        table = read_table(Path(path), prof)
        whole = map_table(table, prof)
        head = Table(table.frame.head(rows).reset_index(drop=True), table.rows[:rows],
                     dated=table.dated, raw=table.raw)  # fmt: skip
        raw = head.raw_rows(np.arange(len(head.frame)))
        shown = map_table(head, prof, with_preview=True)
        mapped = shown.preview if shown.preview is not None else pd.DataFrame()
        columns = [c for c in MAPPED_COLUMNS if c in mapped.columns]
        columns += [c for c in mapped.columns if c not in columns]
        rej = whole.rejected
        return Preview(
            raw_columns=[str(c) for c in raw.columns],
            raw_rows=[[_text(v) for v in r] for r in raw.itertuples(index=False)],
            mapped_columns=columns,
            mapped_rows=[[_text(v) for v in r] for r in mapped[columns].itertuples(index=False)],
            read=whole.read,
            accepted=len(whole.cases),
            rejected={str(k): int(v) for k, v in rej["reason"].value_counts().items()},
            rejected_rows=[(int(r), str(why), str(d)) for r, why, d in
                           rej[["row", "reason", "detail"]].head(REJECTS_SHOWN).itertuples(index=False)],
            problems=list(table.problems),
        )  # fmt: skip

    def prepare(self, profile: str | Path, paths: Sequence[str | Path],
                progress: Progress | None = None) -> Prepared:  # fmt: skip
        """Read, map and check ``paths`` (writes each file's rejects beside it). Touches
        neither store nor journal: safe off the GUI thread."""
        prof = self.profile(profile)
        result = ImportResult()
        files = []
        with collector_paused():
            for p in paths:
                item = map_file(Path(p), prof, result, self.journal, progress)
                if item is not None:
                    files.append(item)
        return Prepared(prof, files, result)

    def load(self, prepared: Prepared, progress: Progress | None = None) -> ImportResult:
        """Put prepared files into the store and the journal (the store's thread)."""
        with collector_paused():
            for item in prepared.files:
                load_mapped(item, self.sink, prepared.result, progress=progress)
        return prepared.result
