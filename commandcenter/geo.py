"""Geodesy for the county map, vectorised with numpy and free of Qt.

Why here and not in the map widget: the server, the dispatcher ("nearest units") and the
tests need the same maths, and a core that imports without PySide6 can be tested fast.

Coordinate systems, and why they are explicit:

- WGS-84 (``"wgs84"``): GPS, international tile servers (OSM), TAK/CoT positions.
- GCJ-02 (``"gcj02"``): the obfuscated datum that every Chinese web map (Amap/Gaode,
  Tencent, Tianditu's Chinese edition of some layers) and DataV outlines use. It differs
  from WGS-84 by a few hundred metres inside China, and by nothing outside (the published
  transform is the identity outside a rough China box). Mixing the two puts a marker on
  the wrong street, so every conversion in the app goes through ``convert`` with the two
  CRS named, and the map converts data into its tiles' CRS, never silently.
- Web Mercator (EPSG:3857) metres: the plane the map draws in. Its "metres" are true only
  on the equator; ground distances use ``haversine_m``, never Mercator differences.

The forward GCJ-02 transform is the widely published one (eviltransform and the like;
``tests/test_geo.py`` checks its reference vectors to 1e-9°). The inverse has no closed
form: ``gcj02_to_wgs84`` iterates the forward transform (fixed point) to below 1e-7°.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

CRS_WGS84 = "wgs84"
CRS_GCJ02 = "gcj02"
CRS_NAMES: tuple[str, ...] = (CRS_WGS84, CRS_GCJ02)
CRS_BD09 = "bd09"  # Baidu's: read from imports (``convert``), never drawn in

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG), for great-circle distances
MERCATOR_R = 6_378_137.0  # WGS-84 semi-major axis: EPSG:3857 sphere
MERCATOR_MAX_LAT = 85.05112877980659  # where the square Web Mercator world ends
MERCATOR_HALF = math.pi * MERCATOR_R  # world spans [-HALF, HALF] in x and y

_GCJ_A = 6_378_245.0  # Krasovsky 1940 semi-major axis, as the published transform uses
_GCJ_EE = 0.00669342162296594323

Array = np.ndarray


def _arr(v: Any) -> Array:
    return np.asarray(v, dtype=np.float64)


def normalize_crs(name: str) -> str:
    """``"WGS-84"``, ``"wgs84"``, ``"EPSG:4326"`` -> ``"wgs84"``; ``"GCJ-02"`` -> ``"gcj02"``.

    Raises ValueError for anything else: a wrong datum must be a loud error, not a
    silent 500 m shift.
    """
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key in ("wgs84", "epsg4326", "epsg:4326", "4326", "wgs"):
        return CRS_WGS84
    if key in ("gcj02", "gcj", "mars", "amap", "gaode"):
        return CRS_GCJ02
    if key in ("bd09", "bd09ll", "baidu"):
        return CRS_BD09
    raise ValueError(f"unknown coordinate system {name!r}: expected one of {CRS_NAMES}")


# ---- Web Mercator -------------------------------------------------------------------------


def lonlat_to_mercator(lon: Any, lat: Any) -> tuple[Array, Array]:
    """Degrees -> EPSG:3857 metres. Latitudes are clamped to the Mercator square."""
    lon = _arr(lon)
    lat = np.clip(_arr(lat), -MERCATOR_MAX_LAT, MERCATOR_MAX_LAT)
    x = np.radians(lon) * MERCATOR_R
    y = np.log(np.tan(np.pi / 4.0 + np.radians(lat) / 2.0)) * MERCATOR_R
    return x, y


def mercator_to_lonlat(x: Any, y: Any) -> tuple[Array, Array]:
    """EPSG:3857 metres -> degrees."""
    x = _arr(x)
    y = _arr(y)
    lon = np.degrees(x / MERCATOR_R)
    lat = np.degrees(2.0 * np.arctan(np.exp(y / MERCATOR_R)) - np.pi / 2.0)
    return lon, lat


def mercator_scale(lat: Any) -> Array:
    """Mercator metres per ground metre at a latitude (1 / cos(lat)): a 100 m camera range
    at 37.8° N spans 126.5 Mercator metres on the map."""
    return 1.0 / np.cos(np.radians(_arr(lat)))


def metres_per_pixel(zoom: float, lat: float = 0.0, tile_size: int = 256) -> float:
    """Ground metres per pixel at a (fractional) zoom level and latitude."""
    return 2 * MERCATOR_HALF * math.cos(math.radians(lat)) / (tile_size * 2.0**zoom)


def zoom_for_resolution(mercator_m_per_px: float, tile_size: int = 256) -> float:
    """Fractional zoom at which one screen pixel covers ``mercator_m_per_px`` (tiles' zoom)."""
    if mercator_m_per_px <= 0:
        return 30.0
    return math.log2(2 * MERCATOR_HALF / (tile_size * mercator_m_per_px))


# ---- tiles (XYZ, y down from the north; MBTiles stores TMS, y up) --------------------------


def lonlat_to_tile(lon: Any, lat: Any, z: int) -> tuple[Array, Array]:
    """Fractional XYZ tile coordinates of points at zoom ``z`` (floor for the tile index)."""
    x, y = lonlat_to_mercator(lon, lat)
    n = 2.0**z
    tx = (x + MERCATOR_HALF) / (2 * MERCATOR_HALF) * n
    ty = (MERCATOR_HALF - y) / (2 * MERCATOR_HALF) * n
    return tx, ty


def tile_to_lonlat(x: Any, y: Any, z: int) -> tuple[Array, Array]:
    """Lon/lat of the north-west corner of XYZ tile (x, y, z); fractional x/y allowed."""
    mx, my = tile_to_mercator(x, y, z)
    return mercator_to_lonlat(mx, my)


def tile_to_mercator(x: Any, y: Any, z: int) -> tuple[Array, Array]:
    """Mercator metres of the north-west corner of XYZ tile (x, y, z)."""
    n = 2.0**z
    size = 2 * MERCATOR_HALF / n
    return _arr(x) * size - MERCATOR_HALF, MERCATOR_HALF - _arr(y) * size


def tile_bounds_mercator(x: int, y: int, z: int) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of an XYZ tile in Mercator metres."""
    size = 2 * MERCATOR_HALF / 2.0**z
    xmin = x * size - MERCATOR_HALF
    ymax = MERCATOR_HALF - y * size
    return xmin, ymax - size, xmin + size, ymax


def tms_y(y: int, z: int) -> int:
    """XYZ row <-> TMS row (MBTiles counts rows from the south); its own inverse."""
    return (1 << z) - 1 - y


def tiles_covering(
    xmin: float, ymin: float, xmax: float, ymax: float, z: int
) -> tuple[int, int, int, int]:
    """Inclusive XYZ tile ranges (x0, x1, y0, y1) covering a Mercator rectangle at ``z``."""
    n = 1 << z
    size = 2 * MERCATOR_HALF / n
    x0 = math.floor((xmin + MERCATOR_HALF) / size)
    x1 = math.floor((xmax + MERCATOR_HALF) / size)
    y0 = math.floor((MERCATOR_HALF - ymax) / size)
    y1 = math.floor((MERCATOR_HALF - ymin) / size)
    clamp = lambda v: min(max(v, 0), n - 1)  # noqa: E731
    return clamp(x0), clamp(x1), clamp(y0), clamp(y1)


# ---- GCJ-02 ---------------------------------------------------------------------------------


def out_of_china(lon: Any, lat: Any) -> Array:
    """True where the published transform applies no offset (the same rough box as
    eviltransform and every port of it, so our points agree with Chinese tiles)."""
    lon = _arr(lon)
    lat = _arr(lat)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_delta(lon: Array, lat: Array) -> tuple[Array, Array]:
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(rad) ** 2
    smagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * smagic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / smagic * np.cos(rad) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[Array, Array]:
    """WGS-84 -> GCJ-02 (identity outside China)."""
    lon = _arr(lon)
    lat = _arr(lat)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(
    lon: Any, lat: Any, tol_deg: float = 1e-9, max_iter: int = 30
) -> tuple[Array, Array]:
    """GCJ-02 -> WGS-84 by fixed-point iteration of the forward transform.

    The offset changes slowly with position (its gradient is ~1e-5 per degree), so
    ``w <- w - (f(w) - g)`` converges by about five orders of magnitude per step: a round
    trip is exact to ~1e-9° (0.1 mm) after three or four steps.
    """
    glon = _arr(lon)
    glat = _arr(lat)
    wlon = glon.copy()
    wlat = glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon = flon - glon
        elat = flat - glat
        wlon = wlon - elon
        wlat = wlat - elat
        if np.all(np.abs(elon) < tol_deg) and np.all(np.abs(elat) < tol_deg):
            break
    return wlon, wlat


_BD_X_PI = math.pi * 3000.0 / 180.0


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[Array, Array]:
    """GCJ-02 -> BD-09 (Baidu's further offset of the Chinese datum)."""
    x, y = _arr(lon), _arr(lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: Any, lat: Any) -> tuple[Array, Array]:
    x, y = _arr(lon) - 0.0065, _arr(lat) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def convert(lon: Any, lat: Any, src: str, dst: str) -> tuple[Array, Array]:
    """Points from datum ``src`` to datum ``dst`` (names as ``normalize_crs`` accepts)."""
    s = normalize_crs(src)
    d = normalize_crs(dst)
    if s == d:
        return _arr(lon), _arr(lat)
    if s == CRS_BD09:
        lon, lat = bd09_to_gcj02(lon, lat)
        s = CRS_GCJ02
        if d == CRS_GCJ02:
            return lon, lat
    if d == CRS_BD09:
        if s == CRS_WGS84:
            lon, lat = wgs84_to_gcj02(lon, lat)
        return gcj02_to_bd09(lon, lat)
    if s == CRS_WGS84:
        return wgs84_to_gcj02(lon, lat)
    return gcj02_to_wgs84(lon, lat)


# ---- distances, polygons, boxes ------------------------------------------------------------


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Array:
    """Great-circle distance in metres (mean Earth radius; within 0.5% of the ellipsoid)."""
    p1 = np.radians(_arr(lat1))
    p2 = np.radians(_arr(lat2))
    dp = p2 - p1
    dl = np.radians(_arr(lon2) - _arr(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def path_length_m(lon: Any, lat: Any) -> float:
    """Length of an open polyline (no closing segment, unlike QGeoPath's default)."""
    lon = _arr(lon)
    lat = _arr(lat)
    if lon.size < 2:
        return 0.0
    return float(haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:]).sum())


def points_in_ring(x: Any, y: Any, ring: Any) -> Array:
    """Even-odd test of many points against one ring ((n, 2), closed or not).

    Loops over the ring's edges (hundreds) rather than the points (a hundred thousand): a
    lasso of 200 vertices over 100k cases takes a few milliseconds.
    """
    x = _arr(x)
    y = _arr(y)
    r = _arr(ring)
    inside = np.zeros(x.shape, dtype=bool)
    if r.ndim != 2 or len(r) < 3:
        return inside
    px, py = r[:, 0], r[:, 1]
    qx, qy = np.roll(px, 1), np.roll(py, 1)
    if x.size * px.size <= 2_000_000:
        # Few points: one broadcast over (points x edges) beats a Python loop over edges
        # (building the demo county tests thousands of small batches).
        xs = x.reshape(-1, 1)
        ys = y.reshape(-1, 1)
        cond = (py > ys) != (qy > ys)
        dy = np.where(qy - py == 0, 1e-300, qy - py)
        with np.errstate(over="ignore", invalid="ignore"):  # horizontal edges: masked by cond
            xint = px + (ys - py) * (qx - px) / dy
        return (np.count_nonzero(cond & (xs < xint), axis=1) % 2 == 1).reshape(x.shape)
    for x1, y1, x2, y2 in zip(px.tolist(), py.tolist(), qx.tolist(), qy.tolist(), strict=True):
        if y1 == y2:
            continue
        cond = (y1 > y) != (y2 > y)
        if not cond.any():
            continue
        xint = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= cond & (x < xint)
    return inside


def points_in_polygon(x: Any, y: Any, rings: Sequence[Any]) -> Array:
    """Points in a polygon given as rings (outer first, then holes): even-odd over all
    rings, so a hole is outside. A bbox pre-filter skips most points cheaply."""
    x = _arr(x)
    y = _arr(y)
    out = np.zeros(x.shape, dtype=bool)
    if not rings:
        return out
    outer = _arr(rings[0])
    if outer.ndim != 2 or len(outer) < 3:
        return out
    box = (x >= outer[:, 0].min()) & (x <= outer[:, 0].max())
    box &= (y >= outer[:, 1].min()) & (y <= outer[:, 1].max())
    idx = np.flatnonzero(box)
    if idx.size == 0:
        return out
    sub = np.zeros(idx.size, dtype=bool)
    for ring in rings:
        sub ^= points_in_ring(x.ravel()[idx], y.ravel()[idx], ring)
    out.ravel()[idx] = sub
    return out


def bbox(coords: Any) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of an (n, 2) array or nested list of coordinates."""
    a = _arr(coords).reshape(-1, 2)
    if a.size == 0:
        raise ValueError("bbox of no coordinates")
    lo = np.nanmin(a, axis=0)
    hi = np.nanmax(a, axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def bbox_union(
    boxes: Sequence[tuple[float, float, float, float]],
) -> tuple[float, float, float, float]:
    if not boxes:
        raise ValueError("union of no boxes")
    b = np.asarray(boxes, dtype=float)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def ring_area_centroid(ring: Any) -> tuple[float, float, float]:
    """(|area|, cx, cy) of a ring in its own units (shoelace); a label anchor."""
    r = _arr(ring)
    x, y = r[:, 0], r[:, 1]
    x2, y2 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y2 - x2 * y
    a = cross.sum() / 2.0
    if abs(a) < 1e-18:
        return 0.0, float(x.mean()), float(y.mean())
    return (
        abs(float(a)),
        float(((x + x2) * cross).sum() / (6 * a)),
        float(((y + y2) * cross).sum() / (6 * a)),
    )


def sample_in_rings(
    rings: Sequence[Any], counts: Sequence[int], seed: int = 7
) -> tuple[Array, Array, Array]:
    """``counts[i]`` random points inside ``rings[i]`` (rejection sampling); returns
    (x, y, ring index). The map uses it to place urban components when the feed carries
    only their number per grid: where exactly a lamp stands matters less than how many."""
    rng = np.random.default_rng(seed)
    xs: list[Array] = []
    ys: list[Array] = []
    owners: list[Array] = []
    for i, (ring, n) in enumerate(zip(rings, counts, strict=True)):
        n = int(n)
        r = _arr(ring)
        if n <= 0 or r.ndim != 2 or len(r) < 3:
            continue
        lo, hi = r.min(axis=0), r.max(axis=0)
        gx: list[Array] = []
        gy: list[Array] = []
        have = 0
        for _ in range(6):
            m = max(16, int((n - have) * 2.5))
            cx = rng.uniform(lo[0], hi[0], m)
            cy = rng.uniform(lo[1], hi[1], m)
            ok = points_in_ring(cx, cy, r)
            gx.append(cx[ok])
            gy.append(cy[ok])
            have += int(ok.sum())
            if have >= n:
                break
        px = np.concatenate(gx)[:n]
        py = np.concatenate(gy)[:n]
        if px.size < n:
            _, cx0, cy0 = ring_area_centroid(r)
            px = np.concatenate([px, np.full(n - px.size, cx0)])
            py = np.concatenate([py, np.full(n - py.size, cy0)])
        xs.append(px)
        ys.append(py)
        owners.append(np.full(n, i, dtype=np.int32))
    if not xs:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int32)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(owners)
