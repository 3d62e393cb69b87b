"""Demo-county data for the map's tests, bench and screenshots (tests may import feeds)."""

from __future__ import annotations

import numpy as np

from commandcenter.store import Store
from feeds import protocol as P
from feeds.serve.simulator.county import County
from feeds.serve.simulator.world import World

_CACHE: dict[tuple[int, float], tuple[County, World]] = {}


def world(seed: int = 1, hours: float = 8.0) -> tuple[County, World]:
    key = (seed, hours)
    if key not in _CACHE:
        county = County.build(seed)
        w = World(county, seed=seed)
        w.warm_up(hours)
        _CACHE[key] = (county, w)
    return _CACHE[key]


def snapshot(w: World, extra_cases: int = 0, seed: int = 3) -> P.Snapshot:
    """The world's state as a snapshot, optionally with ``extra_cases`` synthetic cases
    spread over the grids like real ones (for 10k/100k marker scale)."""
    cases = list(w.live_cases())
    if extra_cases:
        rng = np.random.default_rng(seed)
        grids = w.county.grids
        pop = np.array([g.population * (3.0 if g.urban else 1.0) for g in grids], dtype=float)
        pick = rng.choice(len(grids), size=extra_cases, p=pop / pop.sum())
        states = ["reported", "signed", "assigned", "handling", "completed", "closed"]
        cats = ["占道经营", "井盖缺失", "路灯不亮", "垃圾满溢", "道路破损", "噪音扰民"]
        now = w.now
        ages = rng.exponential(6 * 3600.0, extra_cases)
        for i in range(extra_cases):
            g = grids[int(pick[i])]
            ring = g.poly_array()
            lo, hi = ring.min(axis=0), ring.max(axis=0)
            lon = g.centroid[0] + (rng.random() - 0.5) * (hi[0] - lo[0]) * 0.6
            lat = g.centroid[1] + (rng.random() - 0.5) * (hi[1] - lo[1]) * 0.6
            cases.append(
                P.CaseData(
                    id=f"BX{i:07d}",
                    version=1,
                    category=cats[i % len(cats)],
                    source="hotline",
                    urgency="urgent" if i % 9 == 0 else "normal",
                    state=states[int(rng.integers(0, len(states)))],
                    township=g.township,
                    grid=g.code,
                    lon=float(lon),
                    lat=float(lat),
                    created_ts=now - float(ages[i]),
                    state_ts=now - float(ages[i]) / 2,
                    address=f"{g.community}{i % 97 + 1}号",
                )
            )
    return P.Snapshot(
        v=1,
        epoch="map-test",
        seq=1,
        now=w.now,
        rate=1.0,
        cases=cases,
        units=w.unit_statuses(),
        positions=w.unit_positions(),
        cameras=w.camera_list(),
        grids=w.grid_stats(),
        kpis=w.kpi_list(),
        alerts=w.alert_list(),
    )


def filled_store(
    seed: int = 1, extra_cases: int = 0, hours: float = 8.0
) -> tuple[Store, County, World]:
    county, w = world(seed, hours)
    store = Store()
    store.set_geography(county.geography())
    store.reset(snapshot(w, extra_cases))
    return store, county, w
