"""Bulk history import: export files -> the store and the journal, by a profile, in one go.

``import_files`` is the one entry point (the command line ``main.py import``, tests and
other engines call it). Events are applied in time order through a ``Sequencer``, so the
store and a journal ``Recorder`` take them exactly as from a live feed: rankings, trends
and the journal (time travel) cover the history.

Idempotent twice over: a file already imported into a journal (same bytes, same profile)
is recorded in the journal's meta and skipped; and without a journal, re-applying the same
record versions is stale in the store and changes nothing.

Every rejected row lands in ``<input>.rejected.csv`` beside the input: file row number,
reason, detail, then the row's raw values (UTF-8 with BOM, so Excel opens it).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from commandcenter.status import FeedStatus
from feeds.sources.profile import Profile, load_profile
from feeds.sources.tabular import map_table, read_table
from feeds.transports import Sequencer

BATCH = 50_000
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(slots=True)
class ImportResult:
    read: int = 0
    imported: int = 0  # rows whose case is new or newer in the store
    rejected: Counter[str] = field(default_factory=Counter)  # reason -> rows
    rejects_files: list[Path] = field(default_factory=list)
    already_imported: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # whole-file problems
    seconds: float = 0.0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def summary(self) -> str:
        return f"read {self.read}, imported {self.imported}, rejected {self.rejected_total}"

    def as_json(self) -> dict[str, Any]:
        return {"read": self.read, "imported": self.imported, "rejected": dict(self.rejected)}


def _digest(path: Path, profile: Profile) -> str:
    h = hashlib.sha256(profile.name.encode())
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.rejected.csv")


def import_files(
    profile: Profile | str | Path,
    files: Sequence[str | Path],
    sink: Any = None,
    journal: Any = None,
    *,
    dry_run: bool = False,
    status: FeedStatus | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Map ``files`` by ``profile`` into ``sink`` (a Store or a journal Recorder), journaling
    into ``journal`` when given (the sink is wrapped in a Recorder then). ``dry_run``
    validates and writes the rejects files only. Never raises on bad input: an unreadable
    file is a problem in the result and the other files go on."""
    t0 = time.perf_counter()
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    result = ImportResult()
    if journal is not None and sink is not None and not hasattr(sink, "journal"):
        from commandcenter.journal import Recorder

        sink = Recorder(sink, journal)
    seq = None if dry_run or sink is None else Sequencer(sink, status or FeedStatus())
    for raw_path in files:
        path = Path(raw_path)
        key = ""
        if journal is not None and not dry_run:
            key = f"import:{_digest(path, prof)}"
            if journal.meta(key):
                result.already_imported.append(path)
                if progress:
                    progress(f"{path.name}: already imported", 1, 1)
                continue
        try:
            table = read_table(path, prof)
        except (ValueError, OSError) as err:
            result.problems.append(str(err))
            result.rejected["unreadable_file"] += 1
            continue
        result.problems.extend(f"{path.name}: {p}" for p in table.problems)
        if progress:
            progress(f"{path.name}: mapping", 0, len(table.frame))
        mapped = map_table(table, prof)
        result.read += mapped.read
        result.rejected.update(mapped.rejected["reason"].tolist())
        out = rejects_path(path)
        if len(mapped.rejected):
            mapped.rejected.to_csv(out, index=False, encoding="utf-8-sig")
            result.rejects_files.append(out)
        elif out.exists():
            out.unlink()  # a clean re-run leaves no stale rejects beside the input
        if seq is None:
            result.imported += len({v[2].id for v in mapped.versions})
            continue
        versions = mapped.versions
        order = np.argsort(np.fromiter((v[1] for v in versions), float, len(versions)), kind="stable")
        changed: set[str] = set()
        for start in range(0, len(order), BATCH):
            chunk = [(versions[i][0], versions[i][2], versions[i][1]) for i in order[start : start + BATCH]]
            seq.publish(chunk)
            cs = seq.last_change
            if cs is not None:
                changed.update(cs.cases_created)
                changed.update(cs.cases_updated)
            if progress:
                progress(f"{path.name}: importing", min(start + BATCH, len(order)), len(order))
        result.imported += len(changed)
        if journal is not None:
            journal.set_meta(key, f"{path.name} {time.strftime('%Y-%m-%d %H:%M:%S')}")
            journal.flush()
    if journal is not None and sink is not None and not dry_run and result.imported:
        journal.checkpoint(getattr(sink, "store", sink))
    result.seconds = time.perf_counter() - t0
    return result

