"""Which cameras are nearest a point: the "call up the cameras near the incident" question.

Distances come from ``commandcenter.geo.haversine_m`` (vectorised). Qt-free, so the rule is
tested without a screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from commandcenter.geo import haversine_m


def nearest_cameras(
    cameras: Mapping[str, Any],
    lon: float,
    lat: float,
    k: int,
    *,
    online_only: bool = True,
    max_m: float | None = None,
) -> list[tuple[str, float]]:
    """The ``k`` nearest cameras with a stream as (id, metres), nearest first.

    Offline cameras are left out by default: a wall filled with "offline" tiles answers
    nothing. Ties keep the cameras' id order so the wall does not shuffle between calls.
    """
    ids = sorted(
        cid
        for cid, cam in cameras.items()
        if getattr(cam, "stream_url", "") and (getattr(cam, "online", True) or not online_only)
    )
    if not ids or k <= 0:
        return []
    lons = np.fromiter((cameras[c].lon for c in ids), dtype=np.float64, count=len(ids))
    lats = np.fromiter((cameras[c].lat for c in ids), dtype=np.float64, count=len(ids))
    d = np.asarray(haversine_m(lon, lat, lons, lats), dtype=np.float64)
    order = np.argsort(d, kind="stable")
    out = [(ids[i], float(d[i])) for i in order[:k]]
    if max_m is not None:
        out = [(c, m) for c, m in out if m <= max_m]
    return out


def camera_label(cam: Any, cid: str) -> str:
    """"name · id", or the id alone when the camera has no other name."""
    name = getattr(cam, "name", "") or ""
    return f"{name} · {cid}" if name and name != cid else cid
