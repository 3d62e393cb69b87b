"""Offline base-map tiles: MBTiles files, XYZ URL templates and a disk cache. No Qt, no HTTP.

Why offline first: a county command hall is often on a government network without the
internet, so the base map is either an MBTiles file copied onto the machine or a tile
server on the local network. Either can be broken (a half-copied file, a server that
returns nothing); the map must then say so in a sentence and keep drawing the vector
layers, because the boundaries and the cases are what the hall needs, not the imagery.

- ``MBTilesSource`` opens the file read-only, validates it up front (not a database, no
  tiles table, no tiles, blank tiles) and reads tiles by XYZ coordinates (the file stores
  TMS rows, counted from the south: ``geo.tms_y`` flips them).
- ``XYZSource`` only builds URLs (``{z}/{x}/{y}``, ``{-y}`` for TMS servers, ``{s}``
  sub-domains); the fetching is the widget's (``widgets/map/tilefetch.py``), so the core
  stays free of I/O policy.
- ``TileCache`` keeps fetched tiles on disk under a key derived from the source, so two
  sources never share a tile and a restart does not refetch the county.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from commandcenter.geo import tms_y
from commandcenter.state_files import private_dir, set_aside

_PNG = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"
_JPEG = b"\xff\xd8\xff"
_JPEG_END = b"\xff\xd9"
_WEBP = b"RIFF"

log = logging.getLogger(__name__)


class TileSourceError(Exception):
    """A tile source that cannot be used at all; the message is for the operator."""


def image_format(data: bytes) -> str:
    """ "png", "jpg", "webp" or "" from the first bytes (MBTiles' ``format`` may lie)."""
    if data.startswith(_PNG):
        return "png"
    if data.startswith(_JPEG):
        return "jpg"
    if data.startswith(_WEBP) and data[8:12] == b"WEBP":
        return "webp"
    return ""


@dataclass(slots=True)
class MBTilesInfo:
    """What validation found; ``warnings`` are shown but do not stop the map."""

    path: str
    metadata: dict[str, str]
    tile_count: int
    min_zoom: int
    max_zoom: int
    blank: int = 0  # tiles with no bytes (NULL or empty blobs)
    per_zoom: dict[int, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.metadata.get("name") or Path(self.path).stem


class MBTilesSource:
    """Read tiles from an MBTiles file (https://github.com/mapbox/mbtiles-spec).

    One sqlite connection per thread (sqlite objects must not cross threads), all opened
    read-only with ``mode=ro`` so a map can never modify or create the file.
    """

    def __init__(self, path: str | Path, *, validate: bool = True) -> None:
        self.path = str(Path(path).expanduser())
        self.key = "mbtiles:" + os.path.abspath(self.path)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.info: MBTilesInfo | None = None
        if validate:
            self.info = self.validate()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if not os.path.isfile(self.path):
                raise TileSourceError(f"MBTiles file not found: {self.path}")
            uri = "file:" + Path(os.path.abspath(self.path)).as_posix() + "?mode=ro"
            try:
                conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            except sqlite3.Error as err:
                raise TileSourceError(f"cannot open MBTiles file {self.path}: {err}") from err
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def validate(self) -> MBTilesInfo:
        """Check the file once; raises TileSourceError with an operator-level message."""
        p = Path(self.path)
        if not p.is_file():
            raise TileSourceError(f"MBTiles file not found: {self.path}")
        if p.stat().st_size == 0:
            raise TileSourceError(f"MBTiles file is empty (0 bytes): {p.name}")
        with p.open("rb") as fh:
            head = fh.read(16)
        if head != b"SQLite format 3\x00":
            raise TileSourceError(f"{p.name} is not an MBTiles file (not an SQLite database)")
        conn = self._conn()
        try:
            names = {
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table','view')"
                )
            }
            if "tiles" not in names:
                raise TileSourceError(f"{p.name} has no 'tiles' table: not an MBTiles file")
            metadata: dict[str, str] = {}
            if "metadata" in names:
                for k, v in conn.execute("SELECT name, value FROM metadata"):
                    metadata[str(k)] = "" if v is None else str(v)
            per_zoom: dict[int, int] = {}
            blank = 0
            for z, n, b in conn.execute(
                "SELECT zoom_level, COUNT(*), "
                "SUM(CASE WHEN tile_data IS NULL OR length(tile_data) = 0 THEN 1 ELSE 0 END) "
                "FROM tiles GROUP BY zoom_level"
            ):
                per_zoom[int(z)] = int(n)
                blank += int(b or 0)
        except sqlite3.DatabaseError as err:
            raise TileSourceError(
                f"{p.name} is corrupt (SQLite says: {err}); the base map is off, "
                "the other layers still work"
            ) from err
        total = sum(per_zoom.values())
        if total == 0:
            raise TileSourceError(f"{p.name} contains no tiles (an empty MBTiles file)")
        if blank == total:
            raise TileSourceError(f"{p.name}: all {total} tiles are blank (no image data)")
        info = MBTilesInfo(
            path=self.path,
            metadata=metadata,
            tile_count=total,
            min_zoom=min(per_zoom),
            max_zoom=max(per_zoom),
            blank=blank,
            per_zoom=per_zoom,
        )
        if blank:
            info.warnings.append(f"{blank} of {total} tiles are blank")
        for z, n in sorted(per_zoom.items()):
            if n < 4**z:
                info.warnings.append(f"zoom {z}: {n} of {4**z} tiles present")
                break
        fmt = metadata.get("format", "").lower()
        if fmt and fmt not in ("png", "jpg", "jpeg", "webp"):
            info.warnings.append(f"tile format {fmt!r} cannot be drawn (vector tiles?)")
        return info

    @property
    def min_zoom(self) -> int:
        return self.info.min_zoom if self.info else 0

    @property
    def max_zoom(self) -> int:
        return self.info.max_zoom if self.info else 22

    def get(self, z: int, x: int, y: int) -> bytes | None:
        """Image bytes of XYZ tile (z, x, y); None when missing or blank.

        Raises TileSourceError when the file became unreadable (removed, corrupted
        pages): the caller shows it once and stops asking."""
        try:
            row = (
                self._conn()
                .execute(
                    "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                    (z, x, tms_y(y, z)),
                )
                .fetchone()
            )
        except sqlite3.DatabaseError as err:
            raise TileSourceError(f"reading {Path(self.path).name} failed: {err}") from err
        if row is None or not row[0]:
            return None
        return bytes(row[0])

    def close(self) -> None:
        with self._lock:
            for c in self._conns:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._conns.clear()
        self._local = threading.local()


_TEMPLATE_FIELD = re.compile(r"\{(-?y|x|z|s)\}")


class XYZSource:
    """A tile URL template such as ``http://127.0.0.1:8080/{z}/{x}/{y}.png``.

    ``{-y}`` asks for the TMS row (GeoServer/TMS servers); ``{s}`` rotates through
    ``subdomains`` by tile so that a browser-style server spreads the load.
    """

    def __init__(
        self,
        template: str,
        *,
        min_zoom: int = 0,
        max_zoom: int = 19,
        subdomains: str = "abc",
    ) -> None:
        t = template.strip()
        fields = set(_TEMPLATE_FIELD.findall(t))
        if not t:
            raise TileSourceError("no tile URL template given")
        if not ({"z", "x"} <= fields and ({"y"} & fields or {"-y"} & fields)):
            raise TileSourceError(
                f"tile URL template needs {{z}}, {{x}} and {{y}} (or {{-y}}): {template!r}"
            )
        if not re.match(r"^(https?|file)://", t):
            raise TileSourceError(f"tile URL must start with http://, https:// or file://: {t!r}")
        self.template = t
        self.min_zoom = min_zoom
        self.max_zoom = max_zoom
        self.subdomains = subdomains or "a"
        self.key = "xyz:" + t

    def url(self, z: int, x: int, y: int) -> str:
        s = self.subdomains[(x + y) % len(self.subdomains)]
        return (
            self.template.replace("{z}", str(z))
            .replace("{x}", str(x))
            .replace("{-y}", str(tms_y(y, z)))
            .replace("{y}", str(y))
            .replace("{s}", s)
        )


def image_complete(data: bytes) -> bool:
    """Whether ``data`` is a whole image in a format the map draws, judged by its first
    and last bytes (no decoding): a PNG ends with its IEND chunk, a JPEG with its EOI
    marker, a WebP is as long as its RIFF header says. A cached tile cut short or
    overwritten with garbage is then fetched again instead of drawn as a black square."""
    fmt = image_format(data)
    if fmt == "png":
        return _PNG_END in data[-64:]
    if fmt == "jpg":
        return _JPEG_END in data[-64:]
    if fmt == "webp":
        return len(data) >= 12 and int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return False


@dataclass(slots=True)
class CacheHealth:
    """What went wrong with the disk cache so far, for the map's banner and the log."""

    corrupt: int = 0  # files found damaged and kept aside as NAME.corrupt-<time>
    kept: list[Path] = field(default_factory=list)  # the last few of them
    write_errors: int = 0
    last_error: str = ""
    disabled: str = ""  # why the cache is off ("" while it works)
    version: int = 0  # grows with every change, so a reader knows when to look again

    @property
    def ok(self) -> bool:
        return not (self.corrupt or self.write_errors or self.disabled)


class TileCache:
    """Tiles on disk: ``root/<sha1(source key)[:16]>/z/x/y``; writes are atomic (a crash
    mid-write leaves no half tile that would be drawn as garbage on the next start).

    The cache is a state file like the journal: what is damaged in it (a tile cut short
    or full of garbage, a folder that is a file, a symlink loop, a folder it may not
    read) is kept aside as ``NAME.corrupt-<time>`` (``state_files.set_aside``), counted in
    ``health``, and the tile is fetched again. Should even that fail, the cache turns
    itself off with the reason and the map fetches without it. Folders are 0700, tiles
    0600 (they show where the hall is looking)."""

    KEEP_LISTED = 5

    def __init__(self, root: str | Path, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.health = CacheHealth()
        self._lock = threading.Lock()
        try:
            there = self.root.exists() or self.root.is_symlink()
            if there and not _usable(self.root, True, links_ok=True):
                self._keep_aside(self.root)
            private_dir(self.root)
        except OSError as err:
            self._disable(f"{self.root}: {err}")

    @staticmethod
    def source_dir(source_key: str) -> str:
        return hashlib.sha1(source_key.encode("utf-8")).hexdigest()[:16]

    def path(self, source_key: str, z: int, x: int, y: int) -> Path:
        return self.root / self.source_dir(source_key) / str(z) / str(x) / str(y)

    def get(self, source_key: str, z: int, x: int, y: int) -> bytes | None:
        """The cached tile, or None (not cached, or damaged: then kept aside)."""
        if self.health.disabled:
            return None
        p = self.path(source_key, z, x, y)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            self._repair(p, err)
            return None
        if image_complete(data):
            return data
        self._keep_aside(p)
        return None

    def put(self, source_key: str, z: int, x: int, y: int, data: bytes) -> None:
        """Keep a fetched tile; only whole images are kept (what the server sent that is
        not one would be drawn as nothing after every restart)."""
        if self.health.disabled or not image_complete(data):
            return
        p = self.path(source_key, z, x, y)
        for attempt in (1, 2):
            try:
                private_dir(p.parent)
                fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tile-")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, p)
                return
            except OSError as err:
                # Something in the way (a folder that is a file, a tile that is a folder)
                # is kept aside and the write tried once more; a full or read-only disk
                # costs the cache, never the map, and is counted.
                if attempt == 2 or not self._repair(p, err):
                    with self._lock:
                        self.health.write_errors += 1
                        self.health.last_error = f"{type(err).__name__}: {err}"
                        self.health.version += 1
                    log.warning("tile cache cannot write %s: %s", p, err)
                    return

    def report(self) -> CacheHealth:
        """A copy of ``health`` (the workers go on changing the original)."""
        with self._lock:
            h = self.health
            return CacheHealth(
                h.corrupt, list(h.kept), h.write_errors, h.last_error, h.disabled, h.version
            )

    def _repair(self, tile: Path, err: OSError) -> bool:
        """Find what under ``root`` keeps ``tile`` from being read or written and keep it
        aside; True when something was moved (the caller may try again)."""
        chain = [self.root]
        for part in tile.relative_to(self.root).parts:
            chain.append(chain[-1] / part)
        for i, c in enumerate(chain):
            if not (c.exists() or c.is_symlink()):
                break
            if not _usable(c, i < len(chain) - 1, links_ok=i == 0):
                return self._keep_aside(c)
        with self._lock:
            self.health.last_error = f"{type(err).__name__}: {err}"
            self.health.version += 1
        log.warning("tile cache: %s (%s)", tile, err)
        return False

    def _keep_aside(self, path: Path) -> bool:
        try:
            kept = set_aside(path)
        except FileNotFoundError:
            return True  # another worker (or another map on the same cache) moved it first
        except OSError as err:
            self._disable(f"{path} is damaged and cannot be moved aside: {err}")
            return False
        log.warning("tile cache: %s was damaged; kept as %s", path, kept)
        with self._lock:
            h = self.health
            h.corrupt += 1
            h.kept = [*h.kept[-(self.KEEP_LISTED - 1) :], kept]
            h.version += 1
        return True

    def _disable(self, why: str) -> None:
        log.error("tile cache off: %s; tiles are fetched without it", why)
        with self._lock:
            self.health.disabled = why
            self.health.version += 1

    def clear(self, source_key: str | None = None) -> None:
        import shutil

        target = self.root / self.source_dir(source_key) if source_key else self.root
        shutil.rmtree(target, ignore_errors=True)


def _usable(path: Path, folder: bool, links_ok: bool = False) -> bool:
    """A folder the cache can list and write, or a tile file it can read. Inside the
    cache, no symlinks (it makes none; one found there can point anywhere, or at itself);
    the root itself may be one (a cache moved to a bigger disk)."""
    if path.is_symlink() and not links_ok:
        return False
    if folder:
        return path.is_dir() and os.access(path, os.R_OK | os.W_OK | os.X_OK)
    return path.is_file() and os.access(path, os.R_OK)
