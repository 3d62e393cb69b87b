"""A procedural county shaped like Pingding (平定县): outline, townships, grids, people, kit.

Why procedural: the app must be useful and testable on any machine without real data,
yet the numbers must be of the right size (303,600 residents, 452 grids, ~74,000 urban
components) so that panels, rankings and maps are exercised at their real scale. When the
shared reference data is present (``../shared/data/external``) the real outline and the real
township names are used, read in place and never copied into the project.

Geometry is done in a local kilometre plane (equirectangular around the county centre),
which is accurate to well under 1% over 50 km, and converted back to lon/lat at the end.
Coordinates are whatever the outline uses (the reference file is probably GCJ-02); the
simulator never converts datums.
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from commandcenter.domain import Source, UnitKind
from commandcenter.geo import points_in_ring
from feeds.serve.simulator import names

SHARED_EXTERNAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "external"
OUTLINE_FILE = "pingding_140321_tnnevol.json"
TOWNSHIPS_FILE = "yangquan_townships_modood_streets_subset.csv"
COUNTY_CODE = "140321"

POPULATION = 303_600
GRID_COUNT = 452
URBAN_GRIDS = 150  # the seat's built-up area is dense: small grids of a few hundred households
URBAN_RADIUS_KM = 3.0
URBAN_POPULATION_SHARE = 0.45
COMPONENTS = 74_173
URBAN_COMPONENT_SHARE = 0.85  # "74,173 in a 15 km² built-up area"

_KM_PER_DEG_LAT = 110.57

# Urban component kinds (部件): index = the ``kind`` code returned by components().
COMPONENT_KINDS: tuple[str, ...] = (
    "井盖",
    "路灯",
    "垃圾桶",
    "消防栓",
    "监控杆",
    "交通标志",
    "绿化",
    "公交站",
    "电力箱",
    "其他",
)
_COMPONENT_WEIGHTS = (0.30, 0.16, 0.14, 0.05, 0.04, 0.08, 0.12, 0.02, 0.04, 0.05)

# Real approximate township seats (lon, lat), used only with the real outline and names so
# that 娘子关 lies in the east as it does on the ground. Approximate, not surveyed.
_PINGDING_ANCHORS: dict[str, tuple[float, float]] = {
    "冠山镇": (113.631, 37.800),
    "冶西镇": (113.520, 37.830),
    "锁簧镇": (113.560, 37.730),
    "张庄镇": (113.700, 37.700),
    "东回镇": (113.900, 37.830),
    "柏井镇": (113.800, 37.950),
    "娘子关镇": (113.980, 37.980),
    "巨城镇": (113.820, 37.750),
    "石门口乡": (113.640, 37.930),
    "岔口乡": (113.750, 37.870),
}


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str
    full_name: str


DEPARTMENTS: tuple[Department, ...] = (
    Department("CG", "城管局", "县城市管理局"),
    Department("ZJ", "住建局", "县住房和城乡建设局"),
    Department("JT", "交通局", "县交通运输局"),
    Department("HB", "生态环境局", "市生态环境局平定分局"),
    Department("SJ", "市场监管局", "县市场监督管理局"),
    Department("SW", "水务局", "县水务局"),
    Department("GD", "供电公司", "国网平定县供电公司"),
    Department("GA", "公安局", "县公安局"),
    Department("WJ", "卫健局", "县卫生健康局"),
    Department("YJ", "应急管理局", "县应急管理局"),
    Department("MZ", "民政局", "县民政局"),
)


@dataclass(frozen=True, slots=True)
class Category:
    """A kind of case, how it is usually handled, and text to make descriptions from.

    ``dispatch`` says who normally handles it: ``unit`` (field officers drive there),
    ``department`` or ``township`` (三级调度). ``weight`` is its share of all cases.
    """

    name: str
    department: str
    p_urgent: float
    sources: tuple[Source, ...]
    weight: float
    dispatch: str
    templates: tuple[str, ...]


_H, _G, _I, _V, _S, _O = (
    Source.HOTLINE,
    Source.GRID_WORKER,
    Source.INSPECTOR,
    Source.VIDEO,
    Source.SENSOR,
    Source.OPINION,
)

CATEGORIES: tuple[Category, ...] = (
    Category(
        "占道经营",
        "城管局",
        0.03,
        (_H, _G, _I, _V),
        12,
        "unit",
        (
            "{addr}有商贩占道经营，水果摊占用人行道，行人只能走机动车道",
            "{road}早市流动摊点占道经营，{time}尤其严重，交通拥堵",
            "{place}门口烧烤摊占道经营，油烟大、垃圾多，多次劝说无效",
        ),
    ),
    Category(
        "乱堆乱放",
        "城管局",
        0.02,
        (_H, _G, _I, _V),
        12,
        "unit",
        (
            "{addr}建筑垃圾乱堆乱放，堵塞通道，已有{n}天无人清理",
            "{community}楼道内杂物乱堆乱放，存在消防隐患",
            "{road}路边堆放废旧家具和装修垃圾，影响市容",
        ),
    ),
    Category(
        "垃圾满溢",
        "城管局",
        0.04,
        (_H, _G, _I, _V),
        10,
        "department",
        (
            "{addr}垃圾桶满溢，{n}天未清运，气味难闻",
            "{place}附近垃圾箱满溢，垃圾散落一地，蚊蝇滋生",
            "{community}垃圾收集点满溢，居民反映强烈，要求及时清运",
        ),
    ),
    Category(
        "路灯不亮",
        "城管局",
        0.05,
        (_H, _G, _I),
        7,
        "department",
        (
            "{road}有{n}盏路灯不亮，夜间出行不安全",
            "{addr}路灯损坏，晚上一片漆黑，老人孩子出行困难",
            "{place}附近路灯时亮时不亮，请尽快维修",
        ),
    ),
    Category(
        "井盖缺失",
        "住建局",
        0.45,
        (_H, _G, _I, _S),
        5,
        "unit",
        (
            "{addr}井盖缺失，路面有深坑，极易发生人员坠落",
            "{road}窨井盖破损下沉，车辆经过声响很大，存在安全隐患",
            "智能井盖报警：{addr}井盖位移，倾角异常",
        ),
    ),
    Category(
        "违章搭建",
        "城管局",
        0.04,
        (_H, _G, _I),
        5,
        "unit",
        (
            "{community}有住户在楼顶违章搭建彩钢房",
            "{addr}私自圈占公共绿地违章搭建，邻居意见很大",
            "{road}沿街商户违章搭建雨棚，占用人行道",
        ),
    ),
    Category(
        "噪音扰民",
        "生态环境局",
        0.08,
        (_H, _O),
        7,
        "department",
        (
            "{addr}工地夜间施工噪音扰民，{time}还在作业",
            "{place}广场舞音响声音过大，噪音扰民，影响休息",
            "{community}楼下商铺音响噪音扰民，多次反映未解决",
        ),
    ),
    Category(
        "道路破损",
        "交通局",
        0.12,
        (_H, _G, _I, _O),
        6,
        "department",
        (
            "{road}路面坑洼破损，雨天积水，车辆通行困难",
            "{addr}道路塌陷约{n}平方米，存在安全隐患",
            "{village}通村公路破损严重，群众出行不便",
        ),
    ),
    Category(
        "供水故障",
        "水务局",
        0.30,
        (_H, _G, _S, _O),
        5,
        "department",
        (
            "{community}停水{n}小时，未见通知，居民生活受影响",
            "{addr}自来水管道爆裂，路面大量冒水",
            "{village}自来水水压低，高层住户用不上水",
        ),
    ),
    Category(
        "燃气泄漏",
        "住建局",
        0.95,
        (_H, _G, _S),
        1,
        "unit",
        (
            "{addr}闻到明显燃气味，疑似燃气泄漏，请立即处理",
            "燃气报警器报警：{community}楼道燃气浓度超标",
            "{place}附近燃气管道疑似泄漏，群众已疏散",
        ),
    ),
    Category(
        "渣土车违规",
        "交通局",
        0.20,
        (_H, _I, _V, _S),
        4,
        "unit",
        (
            "{road}渣土车未密闭运输，沿途抛洒，路面污染严重",
            "{addr}渣土车夜间违规上路，超速行驶",
            "渣土车监控告警：{road}车辆偏离核准路线",
        ),
    ),
    Category(
        "群众求助",
        "民政局",
        0.20,
        (_H, _G, _O),
        6,
        "township",
        (
            "{village}独居老人{name}身体不适，家中无人照顾，请求帮助",
            "{addr}有群众求助，家中困难，申请临时救助",
            "{community}居民反映邻居家老人{n}天未出门，请求上门查看",
        ),
    ),
    Category(
        "矛盾纠纷",
        "民政局",
        0.12,
        (_H, _G),
        6,
        "township",
        (
            "{village}两户村民因宅基地边界发生矛盾纠纷，请求调解",
            "{community}邻里因漏水问题产生矛盾纠纷，情绪激动",
            "{addr}商户与顾客发生纠纷，双方争执不下",
        ),
    ),
    Category(
        "安全隐患",
        "应急管理局",
        0.60,
        (_H, _G, _I, _V),
        4,
        "unit",
        (
            "{addr}广告牌松动，大风天气有坠落危险",
            "{place}附近电线私拉乱接，存在安全隐患",
            "{village}山体有落石迹象，下方住户存在安全隐患",
        ),
    ),
    Category(
        "消防通道堵塞",
        "应急管理局",
        0.50,
        (_H, _G, _V),
        3,
        "unit",
        (
            "{community}消防通道被私家车堵塞，消防车无法通行",
            "{place}消防通道堆放杂物，消防通道堵塞",
            "{addr}电动车在楼道充电并堵塞消防通道",
        ),
    ),
    Category(
        "油烟污染",
        "生态环境局",
        0.03,
        (_H, _O),
        3,
        "department",
        (
            "{addr}饭店油烟直排，油烟污染严重，住户无法开窗",
            "{road}烧烤店油烟污染扰民，{time}最严重",
        ),
    ),
    Category(
        "供电故障",
        "供电公司",
        0.30,
        (_H, _G, _O),
        3,
        "department",
        (
            "{community}突然停电{n}小时，供电故障无人处理",
            "{village}电压不稳，家用电器无法使用",
            "{addr}变压器冒烟，供电故障，请尽快抢修",
        ),
    ),
    Category(
        "食品安全",
        "市场监管局",
        0.20,
        (_H, _O),
        2,
        "department",
        (
            "{place}附近小吃店卫生条件差，怀疑食品安全问题",
            "{addr}超市销售过期食品，食品安全问题请监管",
        ),
    ),
)
CATEGORY_BY_NAME: dict[str, Category] = {c.name: c for c in CATEGORIES}

# The mix of sources county-wide (12345 hotline ~40%, grid workers ~35%, ...).
SOURCE_MIX: tuple[tuple[Source, float], ...] = (
    (Source.HOTLINE, 0.40),
    (Source.GRID_WORKER, 0.35),
    (Source.INSPECTOR, 0.10),
    (Source.VIDEO, 0.07),
    (Source.SENSOR, 0.04),
    (Source.OPINION, 0.04),
)


@dataclass(slots=True)
class Township:
    code: str
    name: str
    seat: tuple[float, float]
    polygon: list[list[float]]  # [[lon, lat], ...], closed implicitly


@dataclass(slots=True)
class Grid:
    code: str
    name: str
    township: str  # township code
    centroid: tuple[float, float]
    polygon: list[list[float]]
    urban: bool
    population: int
    houses: int
    units: int
    facilities: int
    worker: str
    worker_phone: str
    community: str
    area_km2: float
    _poly_np: np.ndarray | None = field(default=None, repr=False)

    def poly_array(self) -> np.ndarray:
        if self._poly_np is None:
            self._poly_np = np.asarray(self.polygon, dtype=float)
        return self._poly_np


@dataclass(frozen=True, slots=True)
class CameraDef:
    id: str
    name: str
    lon: float
    lat: float
    direction: float
    fov: float
    range_m: float
    township: str
    grid: str


@dataclass(frozen=True, slots=True)
class UnitDef:
    """A field unit on the roster; its live state belongs to the World."""

    id: str
    name: str
    kind: UnitKind
    department: str
    township: str
    grid: str
    shift: str  # "08:00-17:00" or "17:00-08:00"
    base: tuple[float, float]  # station or home grid centre
    speed_mps: float  # driving/walking speed to a case
    patrol_speed_mps: float


# ---------------------------------------------------------------------------------------
# Geometry helpers (numpy, no shapely: the project does not depend on it).


def points_in_polygon(x: np.ndarray, y: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd test of many points against one ring (commandcenter.geo does the work)."""
    return points_in_ring(x, y, poly)


def point_in_polygon(lon: float, lat: float, poly: np.ndarray | list[list[float]]) -> bool:
    arr = np.asarray(poly, dtype=float)
    return bool(points_in_polygon(np.array([lon]), np.array([lat]), arr)[0])


def _clip_convex_small(poly: list[tuple[float, float]], a: tuple, b: tuple) -> list:
    """Keep the part of ``poly`` closer to a than to b (one Voronoi half-plane)."""
    nx, ny = b[0] - a[0], b[1] - a[1]
    c = (nx * (a[0] + b[0]) + ny * (a[1] + b[1])) / 2.0
    out: list[tuple[float, float]] = []
    n = len(poly)
    if n == 0:
        return out
    prev = poly[-1]
    pv = nx * prev[0] + ny * prev[1] - c
    for cur in poly:
        cv = nx * cur[0] + ny * cur[1] - c
        if cv <= 0:
            if pv > 0:
                t = pv / (pv - cv)
                out.append((prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1])))
            out.append(cur)
        elif pv <= 0:
            t = pv / (pv - cv)
            out.append((prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1])))
        prev, pv = cur, cv
    return out


def _clip_by_convex(subject: np.ndarray, clip: list[tuple[float, float]]) -> np.ndarray:
    """Sutherland-Hodgman: a (possibly concave) ring clipped by a convex polygon.

    Vectorised per clip edge, so clipping the 400-vertex outline costs microseconds.
    Concave subjects may keep zero-width bridges along the clip edge; harmless for display.
    """
    cl = np.asarray(clip, dtype=float)
    # orient the clip polygon counter-clockwise
    area = np.sum(cl[:, 0] * np.roll(cl[:, 1], -1) - np.roll(cl[:, 0], -1) * cl[:, 1])
    if area < 0:
        cl = cl[::-1]
    out = subject
    for i in range(len(cl)):
        if len(out) == 0:
            break
        ax, ay = cl[i]
        bx, by = cl[(i + 1) % len(cl)]
        ex, ey = bx - ax, by - ay
        side = ex * (out[:, 1] - ay) - ey * (out[:, 0] - ax)  # >= 0: inside (left)
        prev = np.roll(out, 1, axis=0)
        pside = np.roll(side, 1)
        cin = side >= 0
        pin = pside >= 0
        denom = pside - side
        denom[denom == 0] = 1e-30
        t = (pside / denom)[:, None]
        inter = prev + t * (out - prev)
        pts = np.stack([inter, out], axis=1)  # (n, 2, 2)
        keep = np.stack([cin != pin, cin], axis=1)
        out = pts[keep]
    return out


def _ring_area_centroid(ring: np.ndarray) -> tuple[float, float, float]:
    x, y = ring[:, 0], ring[:, 1]
    x2, y2 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y2 - x2 * y
    a = cross.sum() / 2.0
    if abs(a) < 1e-12:
        return 0.0, float(x.mean()), float(y.mean())
    cx = ((x + x2) * cross).sum() / (6 * a)
    cy = ((y + y2) * cross).sum() / (6 * a)
    return abs(float(a)), float(cx), float(cy)


class _Plane:
    """Local equirectangular projection in kilometres around a reference point."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0 = lon0
        self.lat0 = lat0
        self.kx = 111.32 * math.cos(math.radians(lat0))
        self.ky = _KM_PER_DEG_LAT

    def to_km(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * self.ky

    def to_lonlat(self, x: Any, y: Any) -> tuple[Any, Any]:
        return np.asarray(x) / self.kx + self.lon0, np.asarray(y) / self.ky + self.lat0


def _synthetic_outline(rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float]]:
    """An irregular blob of ~1,400 km² (Pingding's area) around lon 113.76, lat 37.84."""
    lon0, lat0 = 113.76, 37.84
    plane = _Plane(lon0, lat0)
    theta = np.linspace(0, 2 * np.pi, 160, endpoint=False)
    r = 21.0 * (
        1
        + 0.16 * np.sin(2 * theta + 0.7)
        + 0.07 * np.sin(3 * theta + 2.1)
        + 0.04 * np.sin(7 * theta + 0.3)
        + 0.015 * rng.standard_normal(theta.size)
    )
    x = r * np.cos(theta)
    y = r * np.sin(theta) * 0.85
    lon, lat = plane.to_lonlat(x, y)
    return np.column_stack([lon, lat]), (113.66, 37.81)


def _read_outline(path: Path) -> tuple[np.ndarray, tuple[float, float] | None]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    features = raw if isinstance(raw, list) else raw.get("features", [raw])
    feature = features[0]
    geom = feature["geometry"]
    polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
    best: np.ndarray | None = None
    best_area = -1.0
    for poly in polys:
        ring = np.asarray(poly[0], dtype=float)
        a, _, _ = _ring_area_centroid(ring)
        if a > best_area:
            best, best_area = ring, a
    assert best is not None
    if np.allclose(best[0], best[-1]):
        best = best[:-1]
    center = feature.get("properties", {}).get("center")
    seat = (float(center[0]), float(center[1])) if center else None
    return best, seat


def _read_townships(path: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("areaCode") == COUNTY_CODE:
                rows.append((row["code"], row["name"]))
    rows.sort()
    return rows[:10]


def _jittered_lattice(
    rng: np.random.Generator, xmin: float, xmax: float, ymin: float, ymax: float, step: float
) -> tuple[np.ndarray, np.ndarray]:
    xs = np.arange(xmin + step / 2, xmax, step)
    ys = np.arange(ymin + step / 2, ymax, step)
    gx, gy = np.meshgrid(xs, ys)
    gx = gx.ravel() + rng.uniform(-0.35, 0.35, gx.size) * step
    gy = gy.ravel() + rng.uniform(-0.35, 0.35, gy.size) * step
    return gx, gy


def _alloc_exact(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to weights that sum exactly to total (largest remainder)."""
    raw = weights / weights.sum() * total
    base = np.floor(raw).astype(int)
    rest = total - int(base.sum())
    if rest > 0:
        order = np.argsort(-(raw - base), kind="stable")
        base[order[:rest]] += 1
    return base


# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class County:
    """The static county: geography, people on the roster, cameras, departments, categories."""

    seed: int
    name: str
    code: str
    outline: np.ndarray  # (n, 2) lon/lat ring
    outline_source: str  # "external" or "synthetic"
    seat: tuple[float, float]
    townships: list[Township]
    grids: list[Grid]
    cameras: list[CameraDef]
    units: list[UnitDef]
    departments: tuple[Department, ...] = DEPARTMENTS
    categories: tuple[Category, ...] = CATEGORIES
    _geography: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def township_by_code(self) -> dict[str, Township]:
        return {t.code: t for t in self.townships}

    @property
    def grid_by_code(self) -> dict[str, Grid]:
        return {g.code: g for g in self.grids}

    @property
    def population(self) -> int:
        return sum(g.population for g in self.grids)

    def contains(self, lon: Any, lat: Any) -> np.ndarray:
        """Vectorised: which points lie inside the county outline."""
        return points_in_polygon(np.atleast_1d(lon), np.atleast_1d(lat), self.outline)

    @classmethod
    def build(cls, seed: int = 1, outline_path: Path | str | bool | None = None) -> County:
        """Build the county from a seed.

        ``outline_path``: None = the shared Pingding outline when present, else synthetic;
        a path = that outline file; False = always the synthetic outline (for tests that must
        not depend on the shared data).
        """
        return _build(seed, outline_path)

    def components(self, seed: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ~74,000 urban components (lon, lat, kind code into COMPONENT_KINDS).

        Generated on demand rather than held, because only the map's component layer wants
        them and 74k points are 1.8 MB that the rest of the app never needs.
        """
        rng = np.random.default_rng([self.seed if seed is None else seed, 7])
        counts = np.array([g.facilities for g in self.grids])
        lon_parts: list[np.ndarray] = []
        lat_parts: list[np.ndarray] = []
        for g, n in zip(self.grids, counts.tolist(), strict=True):
            if n <= 0:
                continue
            ring = g.poly_array()
            lo = ring.min(axis=0)
            hi = ring.max(axis=0)
            got_lon: list[np.ndarray] = []
            got_lat: list[np.ndarray] = []
            have = 0
            for _ in range(6):
                m = max(16, int((n - have) * 2.2))
                cx = rng.uniform(lo[0], hi[0], m)
                cy = rng.uniform(lo[1], hi[1], m)
                ok = points_in_polygon(cx, cy, ring)
                got_lon.append(cx[ok])
                got_lat.append(cy[ok])
                have += int(ok.sum())
                if have >= n:
                    break
            glon = np.concatenate(got_lon)[:n]
            glat = np.concatenate(got_lat)[:n]
            if glon.size < n:  # a sliver cell: pile the rest on the centroid
                pad = n - glon.size
                glon = np.concatenate([glon, np.full(pad, g.centroid[0])])
                glat = np.concatenate([glat, np.full(pad, g.centroid[1])])
            lon_parts.append(glon)
            lat_parts.append(glat)
        lon = np.concatenate(lon_parts)
        lat = np.concatenate(lat_parts)
        kind = rng.choice(
            len(COMPONENT_KINDS), size=lon.size, p=np.array(_COMPONENT_WEIGHTS) / 1.0
        ).astype(np.int8)
        return lon, lat, kind

    def geography(self) -> dict[str, Any]:
        """JSON-able description served at GET /v1/geography (shape in docs/feed-protocol.md)."""
        if self._geography is None:
            self._geography = {
                "v": 1,
                "county": {
                    "code": self.code,
                    "name": self.name,
                    "seat": list(self.seat),
                    "outline": _round_ring(self.outline),
                    "outline_source": self.outline_source,
                    "population": self.population,
                    "components": int(sum(g.facilities for g in self.grids)),
                    "crs": "GCJ-02" if self.outline_source == "external" else "synthetic",
                },
                "townships": [
                    {
                        "code": t.code,
                        "name": t.name,
                        "seat": [round(t.seat[0], 6), round(t.seat[1], 6)],
                        "polygon": t.polygon,
                    }
                    for t in self.townships
                ],
                "grids": [
                    {
                        "code": g.code,
                        "name": g.name,
                        "township": g.township,
                        "centroid": [round(g.centroid[0], 6), round(g.centroid[1], 6)],
                        "polygon": g.polygon,
                        "urban": g.urban,
                        "population": g.population,
                        "houses": g.houses,
                        "units": g.units,
                        "facilities": g.facilities,
                        "worker": g.worker,
                        "community": g.community,
                        "area_km2": round(g.area_km2, 3),
                    }
                    for g in self.grids
                ],
                "departments": [
                    {"code": d.code, "name": d.name, "full_name": d.full_name}
                    for d in self.departments
                ],
                "categories": [
                    {
                        "name": c.name,
                        "department": c.department,
                        "p_urgent": c.p_urgent,
                        "dispatch": c.dispatch,
                        "sources": [s.value for s in c.sources],
                    }
                    for c in self.categories
                ],
                "component_kinds": list(COMPONENT_KINDS),
            }
        return self._geography


def _round_ring(ring: np.ndarray) -> list[list[float]]:
    return np.round(ring, 6).tolist()


def _township_seeds(
    rng: np.random.Generator,
    plane: _Plane,
    inside_x: np.ndarray,
    inside_y: np.ndarray,
    seat_xy: tuple[float, float],
    town_names: list[tuple[str, str]],
    use_anchors: bool,
) -> np.ndarray:
    if use_anchors and all(name in _PINGDING_ANCHORS for _, name in town_names):
        pts = []
        for _, name in town_names:
            x, y = plane.to_km(*_PINGDING_ANCHORS[name])
            d = (inside_x - x) ** 2 + (inside_y - y) ** 2
            i = int(np.argmin(d))  # snap into the outline
            pts.append((inside_x[i], inside_y[i]))
        seeds = np.array(pts, dtype=float)
        seeds[0] = seat_xy
        return seeds
    # Farthest-point sampling from the seat, then a few Lloyd steps to even the areas out.
    seeds = [seat_xy]
    d = (inside_x - seat_xy[0]) ** 2 + (inside_y - seat_xy[1]) ** 2
    for _ in range(9):
        i = int(np.argmax(d))
        seeds.append((float(inside_x[i]), float(inside_y[i])))
        d = np.minimum(d, (inside_x - inside_x[i]) ** 2 + (inside_y - inside_y[i]) ** 2)
    arr = np.array(seeds)
    for _ in range(4):
        lab = np.argmin(
            (inside_x[:, None] - arr[None, :, 0]) ** 2 + (inside_y[:, None] - arr[None, :, 1]) ** 2,
            axis=1,
        )
        for k in range(1, len(arr)):
            m = lab == k
            if m.any():
                cx, cy = inside_x[m].mean(), inside_y[m].mean()
                j = int(np.argmin((inside_x - cx) ** 2 + (inside_y - cy) ** 2))
                arr[k] = (inside_x[j], inside_y[j])
    return arr


def _voronoi_cell(
    i: int, pts: np.ndarray, candidates: np.ndarray, start: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The Voronoi cell of pts[i] among ``candidates`` (indices), clipped to ``start``."""
    px, py = float(pts[i, 0]), float(pts[i, 1])
    cand = candidates[candidates != i]
    if cand.size == 0:
        return start
    d2 = (pts[cand, 0] - px) ** 2 + (pts[cand, 1] - py) ** 2
    order = cand[np.argsort(d2, kind="stable")]
    d2s = np.sort(d2)
    cell = start
    a = (px, py)
    for j, dj in zip(order.tolist(), d2s.tolist(), strict=True):
        # A neighbour farther than twice the cell's radius cannot cut it any more.
        r2 = max((vx - px) ** 2 + (vy - py) ** 2 for vx, vy in cell) if cell else 0.0
        if dj > 4 * r2:
            break
        cell = _clip_convex_small(cell, a, (float(pts[j, 0]), float(pts[j, 1])))
        if not cell:
            break
    return cell


def _build(seed: int, outline_path: Path | str | bool | None) -> County:
    rng = np.random.default_rng(seed)
    prng = random.Random(seed)
    source = "synthetic"
    seat: tuple[float, float] | None = None
    path: Path | None = None
    if outline_path is None:
        candidate = SHARED_EXTERNAL / OUTLINE_FILE
        path = candidate if candidate.is_file() else None
    elif outline_path is not False and outline_path is not True:
        path = Path(outline_path)
    if path is not None:
        outline, seat = _read_outline(path)
        source = "external"
    else:
        outline, seat = _synthetic_outline(np.random.default_rng([seed, 1]))

    town_names: list[tuple[str, str]] = []
    names_path = SHARED_EXTERNAL / TOWNSHIPS_FILE
    if outline_path is not False and names_path.is_file():
        town_names = _read_townships(names_path)
    if len(town_names) != 10:
        town_names = [(f"999{k + 1:03d}", n) for k, n in enumerate(names.GENERIC_TOWNSHIPS)]
    # The seat township first: 冠山镇 in Pingding, 城关镇 in the synthetic county.
    town_names.sort(key=lambda cn: (cn[1] not in ("冠山镇", "城关镇"), cn[0]))

    a, cx, cy = _ring_area_centroid(outline)
    plane = _Plane(cx, cy)
    ox, oy = plane.to_km(outline[:, 0], outline[:, 1])
    outline_km = np.column_stack([ox, oy])
    if seat is None or not point_in_polygon(seat[0], seat[1], outline):
        seat = (cx, cy)
    sx, sy = (float(v) for v in plane.to_km(seat[0], seat[1]))
    xmin, ymin = outline_km.min(axis=0)
    xmax, ymax = outline_km.max(axis=0)

    # Coarse lattice of inside points: township partition and seed sampling.
    lx, ly = _jittered_lattice(rng, xmin, xmax, ymin, ymax, 1.0)
    ok = points_in_polygon(lx, ly, outline_km)
    inside_x, inside_y = lx[ok], ly[ok]
    tseeds = _township_seeds(
        rng, plane, inside_x, inside_y, (sx, sy), town_names, use_anchors=source == "external"
    )

    # Grid seeds: dense in the urban disk around the seat, sparse elsewhere; exact counts.
    def sample(n: int, step: float, pred) -> np.ndarray:
        for _ in range(12):
            gx, gy = _jittered_lattice(rng, xmin, xmax, ymin, ymax, step)
            keep = pred(gx, gy) & points_in_polygon(gx, gy, outline_km)
            if keep.sum() >= n:
                idx = rng.choice(np.flatnonzero(keep), size=n, replace=False)
                idx.sort()
                return np.column_stack([gx[idx], gy[idx]])
            step *= 0.85
        raise RuntimeError("outline too small for the grid count")

    rural_n = GRID_COUNT - URBAN_GRIDS
    urban_pts = sample(
        URBAN_GRIDS,
        math.sqrt(math.pi * URBAN_RADIUS_KM**2 / URBAN_GRIDS) * 0.92,
        lambda x, y: (x - sx) ** 2 + (y - sy) ** 2 < URBAN_RADIUS_KM**2,
    )
    area_km2 = abs(a) * plane.kx * plane.ky
    rural_step = math.sqrt(max(area_km2 - math.pi * URBAN_RADIUS_KM**2, 1.0) / rural_n) * 0.95
    rural_pts = sample(
        rural_n,
        rural_step,
        lambda x, y: (x - sx) ** 2 + (y - sy) ** 2 > (URBAN_RADIUS_KM + rural_step * 0.45) ** 2,
    )
    pts = np.vstack([urban_pts, rural_pts])
    urban_flag = np.zeros(len(pts), dtype=bool)
    urban_flag[:URBAN_GRIDS] = True
    # Sort grids by township then by distance from its seat so codes run outwards.
    tlab = np.argmin(
        (pts[:, None, 0] - tseeds[None, :, 0]) ** 2 + (pts[:, None, 1] - tseeds[None, :, 1]) ** 2,
        axis=1,
    )
    dseat = (pts[:, 0] - tseeds[tlab, 0]) ** 2 + (pts[:, 1] - tseeds[tlab, 1]) ** 2
    order = np.lexsort((dseat, tlab))
    pts, urban_flag, tlab = pts[order], urban_flag[order], tlab[order]

    pad = 5.0
    box = [(xmin - pad, ymin - pad), (xmax + pad, ymin - pad), (xmax + pad, ymax + pad)]
    box.append((xmin - pad, ymax + pad))
    all_t = np.arange(len(tseeds))

    def outline_cut(cell: list[tuple[float, float]]) -> np.ndarray:
        arr = np.asarray(cell, dtype=float)
        verts_in = points_in_polygon(arr[:, 0], arr[:, 1], outline_km).all()
        if verts_in:
            # Does the outline poke into the convex cell? Test outline vertices against it.
            inside_cell = np.ones(len(outline_km), dtype=bool)
            n = len(arr)
            sgn = np.sign(
                np.sum(arr[:, 0] * np.roll(arr[:, 1], -1) - np.roll(arr[:, 0], -1) * arr[:, 1])
            )
            for k in range(n):
                ax_, ay_ = arr[k]
                bx_, by_ = arr[(k + 1) % n]
                side = (bx_ - ax_) * (outline_km[:, 1] - ay_) - (by_ - ay_) * (
                    outline_km[:, 0] - ax_
                )
                inside_cell &= side * sgn > 0
            if not inside_cell.any():
                return arr
        return _clip_by_convex(outline_km, cell)

    townships: list[Township] = []
    tcells: list[list[tuple[float, float]]] = []
    for k, (code, tname) in enumerate(town_names):
        tcell = _voronoi_cell(k, tseeds, all_t, box)
        tcells.append(tcell)
        ring = outline_cut(tcell)
        lon, lat = plane.to_lonlat(ring[:, 0], ring[:, 1])
        slon, slat = plane.to_lonlat(tseeds[k, 0], tseeds[k, 1])
        townships.append(
            Township(
                code=code,
                name=tname,
                seat=(float(slon), float(slat)),
                polygon=np.round(np.column_stack([lon, lat]), 6).tolist(),
            )
        )

    # Populations, houses, units, components: heavier in the seat.
    n_grids = len(pts)
    w = np.where(urban_flag, rng.lognormal(0.0, 0.30, n_grids), rng.lognormal(0.0, 0.45, n_grids))
    urban_pop = round(POPULATION * URBAN_POPULATION_SHARE)
    pop = np.zeros(n_grids, dtype=int)
    pop[urban_flag] = _alloc_exact(w[urban_flag], urban_pop)
    pop[~urban_flag] = _alloc_exact(w[~urban_flag], POPULATION - urban_pop)
    urban_comp = round(COMPONENTS * URBAN_COMPONENT_SHARE)
    comp = np.zeros(n_grids, dtype=int)
    comp[urban_flag] = _alloc_exact(
        w[urban_flag] * rng.uniform(0.7, 1.3, urban_flag.sum()), urban_comp
    )
    comp[~urban_flag] = _alloc_exact(
        w[~urban_flag] * rng.uniform(0.5, 1.5, (~urban_flag).sum()), COMPONENTS - urban_comp
    )

    grids: list[Grid] = []
    per_town_counter: dict[int, int] = {}
    for i in range(n_grids):
        k = int(tlab[i])
        same = np.flatnonzero(tlab == k)
        cell = _voronoi_cell(i, pts, same, tcells[k])
        if not cell:
            cell = [
                (pts[i, 0] + dx, pts[i, 1] + dy)
                for dx, dy in ((-0.1, -0.1), (0.1, -0.1), (0.1, 0.1), (-0.1, 0.1))
            ]
        ring = outline_cut(cell)
        if len(ring) < 3:
            ring = np.asarray(cell)
        area, ccx, ccy = _ring_area_centroid(ring)
        if (
            not points_in_polygon(np.array([ccx]), np.array([ccy]), ring)[0]
            or not points_in_polygon(np.array([ccx]), np.array([ccy]), outline_km)[0]
        ):
            ccx, ccy = float(pts[i, 0]), float(pts[i, 1])
        lon, lat = plane.to_lonlat(ring[:, 0], ring[:, 1])
        clon, clat = plane.to_lonlat(ccx, ccy)
        per_town_counter[k] = per_town_counter.get(k, 0) + 1
        num = per_town_counter[k]
        tcode, tname = town_names[k]
        urban = bool(urban_flag[i])
        units = int(rng.integers(8, 70)) if urban else int(rng.integers(1, 14))
        community = names.community_name(prng) if urban else names.village_name(prng)
        grids.append(
            Grid(
                code=f"{tcode}{num:03d}",
                name=f"{tname}第{num}网格",
                township=tcode,
                centroid=(float(clon), float(clat)),
                polygon=np.round(np.column_stack([lon, lat]), 6).tolist(),
                urban=urban,
                population=int(pop[i]),
                houses=max(1, round(float(pop[i]) / float(rng.uniform(1.85, 2.2)))),
                units=units,
                facilities=int(comp[i]),
                worker=names.person_name(prng),
                worker_phone=names.phone(prng),
                community=community,
                area_km2=area,
            )
        )

    cameras = _make_cameras(prng, grids, outline)
    units = _make_units(prng, grids, townships)
    return County(
        seed=seed,
        name="平定县" if source == "external" else "示范县",
        code=COUNTY_CODE if source == "external" else "999000",
        outline=outline,
        outline_source=source,
        seat=(float(seat[0]), float(seat[1])),
        townships=townships,
        grids=grids,
        cameras=cameras,
        units=units,
    )


def _jitter_inside(
    prng: random.Random, grid: Grid, scale_deg: float, tries: int = 6
) -> tuple[float, float]:
    ring = grid.poly_array()
    for _ in range(tries):
        lon = grid.centroid[0] + prng.uniform(-scale_deg, scale_deg)
        lat = grid.centroid[1] + prng.uniform(-scale_deg, scale_deg) * 0.8
        if points_in_polygon(np.array([lon]), np.array([lat]), ring)[0]:
            return lon, lat
    return grid.centroid


def _make_cameras(prng: random.Random, grids: list[Grid], outline: np.ndarray) -> list[CameraDef]:
    """~450 cameras: two or three per urban grid (crossings, markets), one per second rural grid."""
    cams: list[CameraDef] = []
    for g in grids:
        n = prng.choice((2, 2, 3)) if g.urban else (1 if prng.random() < 0.5 else 0)
        for _ in range(n):
            lon, lat = _jitter_inside(prng, g, 0.003 if g.urban else 0.01)
            num = len(cams) + 1
            place = prng.choice(names.PLACES) if g.urban else g.community
            dome = prng.random() < 0.25
            cams.append(
                CameraDef(
                    id=f"CAM{num:04d}",
                    name=f"{place}{'球机' if dome else '枪机'}{num:04d}",
                    lon=round(lon, 6),
                    lat=round(lat, 6),
                    direction=0.0 if dome else round(prng.uniform(0, 360), 1),
                    fov=0.0 if dome else round(prng.choice((60.0, 75.0, 90.0)), 1),
                    range_m=round(prng.choice((80.0, 120.0, 150.0, 200.0)), 0),
                    township=g.township,
                    grid=g.code,
                )
            )
    return cams


def _make_units(prng: random.Random, grids: list[Grid], townships: list[Township]) -> list[UnitDef]:
    """The roster (~150): grid workers, enforcement officers, inspectors, vehicles."""
    units: list[UnitDef] = []
    urban = [g for g in grids if g.urban]
    rural = [g for g in grids if not g.urban]
    seat_town = townships[0]
    day, night = "08:00-17:00", "17:00-08:00"
    # 80 tracked grid workers: 50 urban, 30 rural, on the day shift (一日双巡).
    picks = prng.sample(urban, min(50, len(urban))) + prng.sample(rural, min(30, len(rural)))
    for k, g in enumerate(picks, 1):
        units.append(
            UnitDef(
                id=f"WG{k:03d}",
                name=g.worker,
                kind=UnitKind.GRID_WORKER,
                department="网格中心",
                township=g.township,
                grid=g.code,
                shift=day,
                base=g.centroid,
                speed_mps=4.5 if g.urban else 6.0,  # e-bike
                patrol_speed_mps=1.3,
            )
        )
    # 40 enforcement officers: 24 in the seat (two thirds on days), 16 in other townships.
    for k in range(1, 41):
        if k <= 24:
            g = prng.choice(urban)
            shift = day if k <= 16 else night
        else:
            t = townships[1 + (k - 25) % (len(townships) - 1)]
            g = prng.choice([x for x in grids if x.township == t.code] or grids)
            shift = day if k <= 36 else night
        units.append(
            UnitDef(
                id=f"ZF{k:03d}",
                name=names.person_name(prng),
                kind=UnitKind.ENFORCEMENT,
                department="城管局",
                township=g.township,
                grid=g.code,
                shift=shift,
                base=_jitter_inside(prng, g, 0.002),
                speed_mps=9.0,
                patrol_speed_mps=2.5,
            )
        )
    # 20 city-management inspectors (监督员) walking the seat.
    for k in range(1, 21):
        g = prng.choice(urban)
        units.append(
            UnitDef(
                id=f"JD{k:03d}",
                name=names.person_name(prng),
                kind=UnitKind.INSPECTOR,
                department="城管局",
                township=seat_town.code,
                grid=g.code,
                shift=day,
                base=g.centroid,
                speed_mps=4.5,
                patrol_speed_mps=1.3,
            )
        )
    # 10 vehicles: emergency repair and patrol cars based in the seat.
    vehicle_depts = ("城管局", "住建局", "应急管理局", "水务局", "公安局")
    for k in range(1, 11):
        g = prng.choice(urban)
        dept = vehicle_depts[(k - 1) % len(vehicle_depts)]
        plate = f"晋C·{prng.randrange(10000, 99999)}"
        units.append(
            UnitDef(
                id=f"CL{k:03d}",
                name=f"{dept}{plate}",
                kind=UnitKind.VEHICLE,
                department=dept,
                township=seat_town.code,
                grid=g.code,
                shift=day if k <= 6 else night,
                base=_jitter_inside(prng, g, 0.002),
                speed_mps=12.0,
                patrol_speed_mps=6.0,
            )
        )
    return units
