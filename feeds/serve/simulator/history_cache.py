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
from dataclasses import dataclass
from pathlib import Path

from commandcenter.state_files import private_dir, set_aside
from feeds.serve.simulator.county import County
from feeds.serve.simulator.world import SimEvent, World

log = logging.getLogger(__name__)

MAX_GAP_S = 1800.0  # catch up at most half an hour of simulated time
_SOURCES = ("county.py", "world.py", "names.py", "history_cache.py")


@dataclass(slots=True)
class Warm:
    """The warm-up's end as events: the state before its tail, then the tail's events."""

    baseline: list[SimEvent]
    tail: list[SimEvent]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "commandcenter" / "demo"


def _key(
    seed: int, cases_per_day: float, position_interval_s: float, hours: float, outline: object,
    tail_s: float = 0.0,
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
    h.update(repr((seed, cases_per_day, position_interval_s, hours, outline, tail_s)).encode())
    return h.hexdigest()[:16]


def warmed_world(
    seed: int,
    start_ts: float,
    hours: float,
    cases_per_day: float,
    position_interval_s: float,
    outline_path: Path | str | bool | None = None,
    directory: Path | None = None,
    tail_s: float = 0.0,
) -> tuple[World, str, Warm]:
    """A world at ``start_ts`` with ``hours`` of history, how it was made ("cache" or
    "built"), and the warm-up's last ``tail_s`` seconds as events (``World.warm_up``)
    with the baseline before them, the minutes caught up since the cache was made
    added to the tail."""
    d = directory or cache_dir()
    key = _key(seed, cases_per_day, position_interval_s, hours, outline_path, tail_s)
    path = d / f"world-{key}.pickle"
    got = _load(path, start_ts)
    if got is not None:
        return got[0], "cache", got[1]
    county = County.build(seed, outline_path=outline_path)
    world = World(
        county,
        seed=seed,
        start_ts=start_ts,
        cases_per_day=cases_per_day,
        position_interval_s=position_interval_s,
    )
    warm = Warm([], [])
    if hours > 0:
        warm = Warm(*world.warm_up(hours, tail_s))
    _save(path, world, warm)
    return world, "built", warm


def _load(path: Path, start_ts: float) -> tuple[World, Warm] | None:
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            held = pickle.load(fh)
        if not (isinstance(held, tuple) and len(held) == 2 and isinstance(held[0], World)
                and isinstance(held[1], Warm)):  # fmt: skip
            raise TypeError(f"holds a {type(held).__name__}, not a world and its warm-up")
        world, warm = held
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
    caught_up = world.advance(start_ts)
    world._out = []
    if warm.baseline:  # the catch-up is history too: the tail's, or folded into the baseline
        warm = Warm(warm.baseline, [*warm.tail, *caught_up])
    log.info("demo history from %s, caught up %.0f s in %.2f s", path, gap, time.perf_counter() - t)
    return world, warm


def _save(path: Path, world: World, warm: Warm) -> None:
    try:
        private_dir(path.parent)  # 0700, as every state folder (and its parents made here)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((world, warm), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError as err:
        log.warning("demo history not cached at %s: %s", path, err)
