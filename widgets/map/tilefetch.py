"""Fetch base-map tiles off the GUI thread.

Why a thread pool and not the qasync loop: MBTiles reads are blocking sqlite calls and
tile servers on a hall's LAN answer in milliseconds; a small pool of worker threads keeps
both off the GUI thread with one code path, and the results come back to the GUI thread as
a queued Qt signal. HTTP goes through one ``httpx.Client`` (keep-alive, timeouts); fetched
tiles are written to the disk cache so a restart does not refetch the county.

Errors are reported by cause, once per source, so that a broken server produces one clear
banner instead of a thousand log lines.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import shiboken6
from PySide6.QtCore import QObject, Signal

from commandcenter.tiles import MBTilesSource, TileCache, TileSourceError, XYZSource

log = logging.getLogger(__name__)

TileKey = tuple[int, int, int]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "commandcenter" / "tiles"


class TileFetcher(QObject):
    """``request(z, x, y)`` -> later ``loaded((z, x, y), bytes | None)`` on the GUI thread;
    ``failed(message)`` once per distinct failure cause; ``cache_trouble(CacheHealth)``
    whenever the disk cache kept something aside, failed to write or turned itself off."""

    loaded = Signal(object, object)
    failed = Signal(str)
    cache_trouble = Signal(object)

    def __init__(
        self,
        source: MBTilesSource | XYZSource,
        cache: TileCache | None = None,
        workers: int = 4,
        timeout_s: float = 5.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.cache = cache
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tiles")
        self._pending: set[TileKey] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._reported: set[str] = set()
        self._client: httpx.Client | None = None
        self.errors = 0
        self._health_seen = cache.health.version if cache is not None else 0
        if isinstance(source, XYZSource):
            self._client = httpx.Client(
                timeout=timeout_s,
                headers={"User-Agent": "commandcenter-map/1"},
                follow_redirects=True,
            )

    def request(self, z: int, x: int, y: int) -> bool:
        """Queue a tile unless it is already on its way; False when closed or queued."""
        key = (z, x, y)
        with self._lock:
            if self._closed or key in self._pending:
                return False
            self._pending.add(key)
        fut: Future = self._pool.submit(self._fetch, key)
        fut.add_done_callback(lambda f: None)
        return True

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _fetch(self, key: TileKey) -> None:
        data: bytes | None = None
        error = ""
        try:
            if self._closed:
                return
            data = self._load(*key)
        except TileSourceError as err:
            error = str(err)
        except httpx.HTTPError as err:
            error = f"tile server: {type(err).__name__}: {err}"
        except Exception as err:  # a worker must never die silently
            error = f"tile {key}: {err!r}"
        finally:
            with self._lock:
                self._pending.discard(key)
        if self._closed or not shiboken6.isValid(self):
            return
        try:
            if error:
                self.errors += 1
                cause = error.split(":")[0] + ":" + error.split(":")[1] if ":" in error else error
                if cause not in self._reported:
                    self._reported.add(cause)
                    self.failed.emit(error)
            if self.cache is not None and self.cache.health.version != self._health_seen:
                health = self.cache.report()
                self._health_seen = health.version
                self.cache_trouble.emit(health)
            self.loaded.emit(key, data)
        except RuntimeError:
            pass  # the receiver went away between the check and the emit

    def _load(self, z: int, x: int, y: int) -> bytes | None:
        src = self.source
        if isinstance(src, MBTilesSource):
            return src.get(z, x, y)
        if self.cache is not None:
            hit = self.cache.get(src.key, z, x, y)
            if hit is not None:
                return hit
        assert self._client is not None
        url = src.url(z, x, y)
        if url.startswith("file://"):
            try:
                data = Path(url[7:]).read_bytes()
            except OSError:
                return None
        else:
            r = self._client.get(url)
            if r.status_code == 404:
                return None
            if r.status_code >= 400:
                raise TileSourceError(f"tile server answered HTTP {r.status_code} for {url}")
            data = r.content
        if data and self.cache is not None:
            self.cache.put(src.key, z, x, y, data)
        return data or None

    def close(self) -> None:
        """Stop accepting work, drop queued tiles, close the client; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            client = self._client
            self._client = None
            threading.Thread(target=client.close, daemon=True).start()
        if isinstance(self.source, MBTilesSource):
            self.source.close()
