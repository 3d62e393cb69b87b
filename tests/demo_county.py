"""A Store filled with the demo county (feeds.serve.simulator) for report, wall and briefing
tests: eight simulated hours, so there are open, overdue and closed cases with reporters."""

from __future__ import annotations

import copy
import functools
from types import SimpleNamespace

from commandcenter.store import Store
from feeds.serve.simulator.county import County
from feeds.serve.simulator.world import World

START = 1_795_399_200.0  # 2026-11-23 10:00 in Pingding (UTC+8)


@functools.cache
def _simulated(hours: float, seed: int) -> tuple[SimpleNamespace, dict]:
    """The simulation runs once per (hours, seed) in a test run; each Store gets a copy."""
    county = County.build(1)
    world = World(county, seed=seed, start_ts=START - hours * 3600)
    world.warm_up(hours=hours)
    return world_snapshot(world), county.geography()


def world_snapshot(world: World, epoch: str = "demo") -> SimpleNamespace:
    """What the server's snapshot would hold of ``world`` now, in the shape Store.reset reads."""
    return SimpleNamespace(
        epoch=epoch,
        seq=1,
        now=world.now,
        rate=1.0,
        cases=world.live_cases(),
        units=world.unit_statuses(),
        positions=world.unit_positions(),
        cameras=world.camera_list(),
        grids=world.grid_stats(),
        kpis=world.kpi_list(),
        alerts=world.alert_list(),
    )


def demo_store(hours: float = 8.0, seed: int = 3) -> Store:
    """A fresh Store of the demo county: a test may change it without touching another's."""
    snapshot, geography = _simulated(hours, seed)
    store = Store()
    store.reset(copy.deepcopy(snapshot))
    store.set_geography(copy.deepcopy(geography))
    return store
