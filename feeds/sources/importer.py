"""Bulk history import: export files -> the store and the journal, by a profile, in one go.

``import_files`` is the one entry point (the command line ``main.py import``, tests and
other engines call it). The accepted rows go into the store in columns
(``Store.bulk_load``) and, through a journal ``Recorder``, into the journal as one history
segment (``Journal.append_history``): rankings, trends and time travel cover the history,
and a million rows import in seconds (``python -m bench sources``).

Idempotent twice over: a file already imported into a journal (same bytes, same profile)
is held in the journal's history under its digest and skipped; and without a journal,
loading the same record versions again is stale in the store and changes nothing.

Every rejected row lands in ``<input>.rejected.csv`` beside the input: file row number,
reason, detail, then the row's raw values (UTF-8 with BOM, so Excel opens it).
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commandcenter.one_thread import OneThread
from commandcenter.status import FeedStatus
from feeds.sources.profile import Profile, load_profile
from feeds.sources.tabular import Mapped, map_table, read_table

EVENT_BATCH = 50_000  # events per apply, for sinks without a bulk load
_DIGESTS = OneThread("import-digest")  # hashlib lets go of the GIL
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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while an import builds its millions of objects.

    Each collection walks every tracked object, and an import makes them by the million
    (the store's rows, the columns' strings): a million-row import spent a quarter of its
    time collecting nothing (``python -m bench sources``). An import makes no cycles to
    collect; the collector is back on (if it was) when it ends, however it ends."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _digest(path: Path, profile: Profile) -> str:
    h = hashlib.sha256(profile.name.encode())
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.rejected.csv")


@dataclass(slots=True)
class MappedFile:
    """One file mapped and checked, not loaded yet (``load_mapped`` loads it)."""

    path: Path
    key: str  # the file's digest under the profile: a journal holds it once
    mapped: Mapped


def map_file(
    path: Path,
    prof: Profile,
    result: ImportResult,
    journal: Any = None,
    progress: Progress | None = None,
) -> MappedFile | None:
    """Read and map one file, write its rejects beside it and count into ``result``;
    None when it is unreadable or already in ``journal`` (known once read: the file is
    hashed while it is read). The heavy half of an import, which touches neither store
    nor journal: it may run off the GUI thread."""
    digest: Future[str] | None = None
    if journal is not None:  # hashed beside the read: hashlib lets go of the GIL
        digest = _DIGESTS.submit(_digest, path, prof)
    try:
        table = read_table(path, prof)
        key = f"import:{digest.result()}" if digest is not None else ""
    except (ValueError, OSError) as err:
        result.problems.append(str(err))
        result.rejected["unreadable_file"] += 1
        return None
    if journal is not None and journal.has_history(key):
        result.already_imported.append(path)
        if progress:
            progress(f"{path.name}: already imported", 1, 1)
        return None
    result.problems.extend(f"{path.name}: {p}" for p in table.problems)
    if progress:
        progress(f"{path.name}: mapping", 0, len(table.frame))
    mapped = map_table(table, prof)
    del table  # the file's text: most of the memory, and no longer needed
    result.read += mapped.read
    result.rejected.update(mapped.rejected["reason"].tolist())
    out = rejects_path(path)
    if len(mapped.rejected):
        mapped.rejected.to_csv(out, index=False, encoding="utf-8-sig")
        result.rejects_files.append(out)
    elif out.exists():
        out.unlink()  # a clean re-run leaves no stale rejects beside the input
    return MappedFile(path, key, mapped)


def load_mapped(
    item: MappedFile,
    sink: Any,
    result: ImportResult,
    status: FeedStatus | None = None,
    progress: Progress | None = None,
) -> None:
    """Load a mapped file into ``sink`` (a Store, or a Recorder: then its journal keeps
    the history too). The light half, on the thread that owns the store."""
    cases = item.mapped.cases
    name = item.path.name
    if progress:
        progress(f"{name}: importing", 0, len(cases))
    if not hasattr(sink, "bulk_load"):  # a sink that takes events only (a live source's)
        _publish(cases, sink, result, status, progress, name)
        return
    with cases.factorizing():
        bulk = cases.at()
        if hasattr(sink, "journal"):
            cs = sink.bulk_load(bulk, history=cases, key=item.key, label=name)
        else:
            cs = sink.bulk_load(bulk)
    result.imported += len(cs.cases_created) + len(cs.cases_updated)
    if status is not None:
        status.received += cases.event_count
        status.applied += cs.applied
        status.notify()
    if progress:
        progress(f"{name}: importing", len(cases), len(cases))


def _publish(cases: Any, sink: Any, result: ImportResult, status: FeedStatus | None,
             progress: Progress | None, name: str) -> None:  # fmt: skip
    """Every record version as an event, in time order, as a feed would send them: for
    sinks that number and route events themselves (several live sources into one store)."""
    import numpy as np

    from feeds.transports import Sequencer

    seq = Sequencer(sink, status or FeedStatus())
    versions = cases.versions()
    order = np.argsort(np.fromiter((v[1] for v in versions), float, len(versions)), kind="stable")
    changed: set[str] = set()
    for start in range(0, len(order), EVENT_BATCH):
        seq.publish(
            [
                (versions[i][0], versions[i][2], versions[i][1])
                for i in order[start : start + EVENT_BATCH]
            ]
        )
        cs = seq.last_change
        if cs is not None:
            changed.update(cs.cases_created)
            changed.update(cs.cases_updated)
        if progress:
            progress(f"{name}: importing", min(start + EVENT_BATCH, len(order)), len(order))
    result.imported += len(changed)


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
    loading = not dry_run and sink is not None
    with collector_paused():
        for raw_path in files:
            item = map_file(Path(raw_path), prof, result, getattr(sink, "journal", None) if loading else None,
                            progress)  # fmt: skip
            if item is None:
                continue
            if loading:
                load_mapped(item, sink, result, status, progress)
            else:
                result.imported += len(item.mapped.cases)
    result.seconds = time.perf_counter() - t0
    return result
