"""``file``: exports (CSV, XLSX, XLS, JSON, NDJSON) mapped by a source profile, once or
from a watched folder (``feeds.sources.importer.import_files``).

Options: ``path`` (a file or a folder), ``profile`` (a shipped profile's name or a .toml
file), ``watch`` (seconds between looks at the folder for new or changed files; default
0 for a file, read once, and 10 for a folder).

Reading and mapping a big export takes seconds, so it runs on a worker thread; what it
applies is handed to the loop's thread (the store is not thread-safe) and waited for, so
the order is the importer's and nothing is applied twice at once. Rows the profile
rejects are counted in the source's quarantine by reason (``file_<reason>``), with the
rejects file beside the input named in its recent bad events; the rest imports.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from commandcenter.status import FeedStatus, LinkState
from feeds.client import FeedSink
from feeds.sources.importer import ImportResult, import_files
from feeds.sources.live.task import TaskSource
from feeds.sources.profile import Profile, ProfileError, load_profile
from feeds.sources.registry import SourceError, SourceKind, SourceSpec

log = logging.getLogger(__name__)


class _Stopped(Exception):
    """The source was stopped while its worker waited for the loop."""


class LoopSink:
    """A sink for a worker thread: every call runs on the loop's thread, in order, and the
    worker waits for it (and gives up when the source stops)."""

    def __init__(
        self, sink: FeedSink, loop: asyncio.AbstractEventLoop, stopped: threading.Event
    ) -> None:
        self.sink = sink
        self.loop = loop
        self.stopped = stopped
        self.applied = 0  # events the store took (not those stale or refused)

    @property
    def epoch(self) -> str:
        return self.sink.epoch

    @property
    def seq(self) -> int:
        return self.sink.seq

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn(*args))
            except BaseException as err:  # handed back to the worker, raised there
                done.set_exception(err)

        self.loop.call_soon_threadsafe(run)
        while True:
            if self.stopped.is_set():
                raise _Stopped
            try:
                return done.result(timeout=0.25)
            except concurrent.futures.TimeoutError:
                continue

    def reset(self, snapshot: Any) -> Any:
        return self._call(self.sink.reset, snapshot)

    def apply(self, events: Iterable[Any]) -> Any:
        changes = self._call(self.sink.apply, list(events))
        self.applied += getattr(changes, "applied", 0)
        return changes

    def set_clock(self, server_now: float, rate: float = 1.0) -> None:
        self._call(self.sink.set_clock, server_now, rate)

    def set_geography(self, geography: dict[str, Any]) -> None:
        self._call(self.sink.set_geography, geography)


SUFFIXES = frozenset({".csv", ".xlsx", ".xls", ".json", ".ndjson", ".jsonl"})


def _signature(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


class FileSource(TaskSource):
    def __init__(
        self, path: Path, profile: Profile, watch_s: float, sink: FeedSink, status: FeedStatus
    ) -> None:
        super().__init__(sink, status)
        self.path = path
        self.profile = profile
        self.watch_s = watch_s
        self.seen: dict[Path, tuple[int, int]] = {}
        self.results: list[ImportResult] = []
        self._stopped = threading.Event()

    def _pending(self) -> list[Path]:
        """Files new or changed since they were last read (rejects files left out)."""
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path} does not exist")
        out = []
        found = [self.path] if self.path.is_file() else sorted(self.path.iterdir())
        for f in found:
            if f.name.endswith(".rejected.csv") or f.suffix.lower() not in SUFFIXES:
                continue
            sig = _signature(f)
            if self.seen.get(f) != sig:
                out.append(f)
        return out

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        sink = LoopSink(self.sink, loop, self._stopped)
        while not self._stop.is_set():
            try:
                files = self._pending()
            except OSError as err:
                self.status.error("file", str(err))
                self.status.set_state(LinkState.RECONNECTING)
                files = None
            for f in files or ():
                sig = _signature(f)
                scratch = FeedStatus()  # written by the worker: never the shown one
                before = sink.applied
                try:
                    result = await asyncio.to_thread(
                        import_files, self.profile, [f], sink, status=scratch
                    )
                except _Stopped:
                    return
                self.seen[f] = sig
                self._count(f, result, scratch, sink.applied - before)
            if files is not None and self.status.state is not LinkState.LIVE:
                self.status.set_state(LinkState.LIVE)  # read what there was; watching
            # Read once: done, unless the path is not there yet (look again in a while).
            delay = self.watch_s or (10.0 if files is None else 0.0)
            if not delay:
                await self._stop.wait()
                return
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
            except TimeoutError:
                continue

    def _count(self, path: Path, result: ImportResult, scratch: FeedStatus, applied: int) -> None:
        st = self.status
        self.results.append(result)
        st.received += result.read
        st.applied += applied
        st.last_data_at = scratch.last_data_at or st.last_data_at
        for reason, n in result.rejected.items():
            st.quarantined[f"file_{reason}"] += n - 1
            rejects = next((str(r) for r in result.rejects_files), "")
            st.quarantine(f"file_{reason}", f"{path.name}: {n} rows; see {rejects or path}")
        for problem in result.problems:
            st.error("file", problem)
            log.warning("file source %s: %s", path, problem)
        log.info("file source %s: %s", path, result.summary())
        st.notify()

    async def stop(self) -> None:
        self._stopped.set()
        await super().stop()


def build(spec: SourceSpec, sink: FeedSink, status: FeedStatus) -> FileSource:
    path = Path(spec.get("path")).expanduser()
    try:
        profile = load_profile(spec.get("profile"))
    except (ProfileError, OSError) as err:
        raise SourceError(f"source {spec.name!r}: profile: {err}") from None
    watch = spec.number("watch", 10.0 if path.is_dir() else 0.0)
    return FileSource(path, profile, watch, sink, status)


KIND = SourceKind(
    name="file",
    summary="exports (CSV, XLSX, XLS, JSON, NDJSON) by a source profile; a watched folder",
    build=build,
    options={
        "path": "a file, or a folder of files",
        "profile": "a shipped profile's name or a .toml profile file",
        "watch": "seconds between looks for new or changed files (0: read once)",
    },
    required=("path", "profile"),
    where=lambda spec: spec.get("path"),
)
