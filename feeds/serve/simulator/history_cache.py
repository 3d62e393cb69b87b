"""The demo county's warmed-up world, cached on disk between starts.

Why: building the county (~1.0 s) and living its eight hours of history (~1.7 s) were
most of the console's 3-4 s to the first live frame, and they are the same at every
start with the same seed. So the world is pickled after its warm-up; the next start loads
it (~0.08 s) and lives only the minutes since it was saved, up to ``MAX_GAP_S`` (beyond
that, or at another time of day, a fresh warm-up is cheaper to trust than a long catch-up).

The key holds everything the world depends on: seed, cases per day, fix interval, hours
of history, the outline file (path, size, mtime) and the source of the simulator itself,
so a changed simulator never serves a stale county. A file that does not load is moved
aside as ``NAME.corrupt-<time>`` (``commandcenter.state_files.set_aside``, as every state
file), logged, and the world is built afresh: the demo still starts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
import time
from pathlib import Path

from commandcenter.state_files import private_dir, set_aside
from feeds.serve.simulator.county import County
from feeds.serve.simulator.world import World

log = logging.getLogger(__name__)

MAX_GAP_S = 1800.0  # catch up at most half an hour of simulated time
_SOURCES = ("county.py", "world.py", "names.py", "history_cache.py")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "commandcenter" / "demo"


def _key(
    seed: int, cases_per_day: float, position_interval_s: float, hours: float, outline: object
) -> str:
    h = hashlib.sha1()
    here = Path(__file__).parent
    for name in _SOURCES:
        f = here / name
        if f.exists():
            h.update(f.read_bytes())
    if isinstance(outline, (str, Path)) and Path(outline).exists():
        st = Path(outline).stat()
        outline = (str(outline), st.st_size, st.st_mtime_ns)
    h.update(repr((seed, cases_per_day, position_interval_s, hours, outline)).encode())
    return h.hexdigest()[:16]


def warmed_world(
    seed: int,
    start_ts: float,
    hours: float,
    cases_per_day: float,
    position_interval_s: float,
    outline_path: Path | str | bool | None = None,
    directory: Path | None = None,
) -> tuple[World, str]:
    """A world at ``start_ts`` with ``hours`` of history, and how it was made
    ("cache" or "built")."""
    d = directory or cache_dir()
    path = d / f"world-{_key(seed, cases_per_day, position_interval_s, hours, outline_path)}.pickle"
    world = _load(path, start_ts)
    if world is not None:
        return world, "cache"
    county = County.build(seed, outline_path=outline_path)
    world = World(
        county,
        seed=seed,
        start_ts=start_ts,
        cases_per_day=cases_per_day,
        position_interval_s=position_interval_s,
    )
    if hours > 0:
        world.warm_up(hours)
    _save(path, world)
    return world, "built"


def _load(path: Path, start_ts: float) -> World | None:
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            world = pickle.load(fh)
        if not isinstance(world, World):
            raise TypeError(f"holds a {type(world).__name__}, not a World")
    except Exception as err:  # a torn or foreign file: keep it aside, build afresh
        try:
            aside: Path | str = set_aside(path)
        except OSError as move_err:
            aside = f"nowhere ({move_err})"
        log.warning("demo history cache %s unreadable (%s); moved to %s", path, err, aside)
        return None
    gap = start_ts - world.now
    if not 0 <= gap <= MAX_GAP_S:
        return None
    t = time.perf_counter()
    world.advance(start_ts)
    world._out = []  # the catch-up is history too: the baseline is the state
    log.info("demo history from %s, caught up %.0f s in %.2f s", path, gap, time.perf_counter() - t)
    return world


def _save(path: Path, world: World) -> None:
    try:
        private_dir(path.parent)  # 0700, as every state folder (and its parents made here)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(world, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError as err:
        log.warning("demo history not cached at %s: %s", path, err)
