"""GeoJSON boundaries for the map, without Qt and without shapely.

Why a loader of our own: the real files of the region come in several shapes (a DataV
outline is a *bare JSON array* of one Feature, not a FeatureCollection; another vintage is a
FeatureCollection; a hand-made file may be a single Feature or a bare geometry), and an
operator who points the map at a bad file must get a sentence saying what is wrong, not a
traceback. Only areal geometries (Polygon, MultiPolygon) matter for boundaries; other
geometries are skipped and counted.

``from_geography`` turns the feed's ``GET /v1/geography`` (docs/feed-protocol.md §7) into
the same ``Area`` objects, so the map draws a file and the feed the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from commandcenter.geo import bbox, ring_area_centroid


class GeoJSONError(ValueError):
    """Input that is not usable GeoJSON; the message says what and where."""


@dataclass(slots=True)
class Area:
    """One areal feature: polygons (each a list of rings, outer first) and properties."""

    polygons: list[list[np.ndarray]]
    properties: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    kind: str = ""  # "county", "township", "grid" or "" (from a file)

    @property
    def name(self) -> str:
        return str(self.properties.get("name", self.id))

    @property
    def code(self) -> str:
        p = self.properties
        return str(p.get("code", p.get("adcode", self.id)))

    def bbox(self) -> tuple[float, float, float, float]:
        return bbox(np.concatenate([p[0] for p in self.polygons]))

    def largest_ring(self) -> np.ndarray:
        """The outer ring of the largest part (labels go there)."""
        return max((p[0] for p in self.polygons), key=lambda r: ring_area_centroid(r)[0])

    def label_point(self) -> tuple[float, float]:
        """Where to write the name: the ``centroid``/``center`` property when the file has
        one (DataV does, and it is inside), else the centroid of the largest part."""
        for key in ("centroid", "center", "seat"):
            v = self.properties.get(key)
            if isinstance(v, list | tuple) and len(v) == 2:
                try:
                    return float(v[0]), float(v[1])
                except (TypeError, ValueError):
                    pass
        _, cx, cy = ring_area_centroid(self.largest_ring())
        return cx, cy


@dataclass(slots=True)
class LoadResult:
    areas: list[Area]
    skipped: int = 0  # features without an areal geometry (points, lines, null)


def _ring(coords: Any, where: str) -> np.ndarray:
    try:
        a = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise GeoJSONError(f"{where}: ring is not a list of [lon, lat] numbers") from err
    if a.ndim != 2 or a.shape[1] < 2:
        raise GeoJSONError(f"{where}: ring is not a list of [lon, lat] positions")
    a = a[:, :2]
    if len(a) >= 2 and np.array_equal(a[0], a[-1]):
        a = a[:-1]  # GeoJSON closes rings; we keep them open like the feed does
    if len(a) < 3:
        raise GeoJSONError(f"{where}: ring has fewer than 3 distinct positions")
    if not np.isfinite(a).all():
        raise GeoJSONError(f"{where}: ring has a non-finite coordinate")
    return a


def _polygon(coords: Any, where: str) -> list[np.ndarray]:
    if not isinstance(coords, list) or not coords:
        raise GeoJSONError(f"{where}: Polygon needs a list of rings")
    return [_ring(r, f"{where} ring {i}") for i, r in enumerate(coords)]


def parse_geometry(geom: Any, where: str = "geometry") -> list[list[np.ndarray]] | None:
    """Polygons of an areal geometry; None for other (or null) geometries."""
    if geom is None:
        return None
    if not isinstance(geom, dict) or "type" not in geom:
        raise GeoJSONError(f"{where}: not a geometry object (no 'type')")
    t = geom["type"]
    if t == "Polygon":
        return [_polygon(geom.get("coordinates"), where)]
    if t == "MultiPolygon":
        coords = geom.get("coordinates")
        if not isinstance(coords, list) or not coords:
            raise GeoJSONError(f"{where}: MultiPolygon needs a list of polygons")
        return [_polygon(p, f"{where} part {i}") for i, p in enumerate(coords)]
    if t == "GeometryCollection":
        out: list[list[np.ndarray]] = []
        for i, g in enumerate(geom.get("geometries") or []):
            got = parse_geometry(g, f"{where} member {i}")
            if got:
                out.extend(got)
        return out or None
    if t in ("Point", "MultiPoint", "LineString", "MultiLineString"):
        return None
    raise GeoJSONError(f"{where}: unknown geometry type {t!r}")


def _feature(obj: Any, where: str) -> Area | None:
    if not isinstance(obj, dict):
        raise GeoJSONError(f"{where}: not a JSON object")
    if obj.get("type") != "Feature":
        if obj.get("type") in ("Polygon", "MultiPolygon"):
            polys = parse_geometry(obj, where)
            return Area(polys or [])
        raise GeoJSONError(f"{where}: expected a Feature, got type {obj.get('type')!r}")
    polys = parse_geometry(obj.get("geometry"), f"{where} geometry")
    if not polys:
        return None
    props = obj.get("properties") or {}
    if not isinstance(props, dict):
        raise GeoJSONError(f"{where}: properties must be an object")
    fid = obj.get("id", props.get("adcode", props.get("code", "")))
    return Area(polys, dict(props), str(fid))


def parse(obj: Any) -> LoadResult:
    """Areas of a FeatureCollection, a bare array of Features, a single Feature or a bare
    Polygon/MultiPolygon geometry."""
    if isinstance(obj, list):
        features, what = obj, "feature"
    elif isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            raise GeoJSONError("FeatureCollection has no 'features' list")
        what = "feature"
    elif isinstance(obj, dict) and obj.get("type") in ("Feature", "Polygon", "MultiPolygon"):
        features, what = [obj], "object"
    elif isinstance(obj, dict):
        raise GeoJSONError(
            f"not GeoJSON: top-level type {obj.get('type')!r} "
            "(expected FeatureCollection, Feature, Polygon, MultiPolygon or an array)"
        )
    else:
        raise GeoJSONError(f"not GeoJSON: top level is a {type(obj).__name__}")
    out = LoadResult([])
    for i, f in enumerate(features):
        area = _feature(f, f"{what} {i}")
        if area is None:
            out.skipped += 1
        else:
            out.areas.append(area)
    if not out.areas:
        raise GeoJSONError("no Polygon or MultiPolygon features")
    return out


def load(path: str | Path) -> LoadResult:
    """Read and parse a GeoJSON file; every failure is a GeoJSONError naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as err:
        raise GeoJSONError(f"{p}: no such file") from err
    except (OSError, UnicodeDecodeError) as err:
        raise GeoJSONError(f"{p}: cannot read ({err})") from err
    if not text.strip():
        raise GeoJSONError(f"{p}: file is empty")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise GeoJSONError(f"{p}: not JSON ({err.msg} at line {err.lineno})") from err
    try:
        return parse(obj)
    except GeoJSONError as err:
        raise GeoJSONError(f"{p}: {err}") from err


def from_geography(geo: dict[str, Any]) -> dict[str, list[Area]]:
    """The feed's geography as areas: {"county": [...], "townships": [...], "grids": [...]}.

    Malformed entries are skipped (the feed is validated elsewhere; a bad polygon must cost
    one outline, not the map)."""
    out: dict[str, list[Area]] = {"county": [], "townships": [], "grids": []}
    county = geo.get("county") or {}
    try:
        if county.get("outline"):
            props = {k: v for k, v in county.items() if k != "outline"}
            out["county"].append(
                Area(
                    [[_ring(county["outline"], "county")]],
                    props,
                    str(county.get("code", "")),
                    "county",
                )
            )
    except GeoJSONError:
        pass
    for key, kind in (("townships", "township"), ("grids", "grid")):
        for item in geo.get(key) or []:
            if not isinstance(item, dict):
                continue
            try:
                ring = _ring(item.get("polygon"), f"{kind} {item.get('code')}")
            except GeoJSONError:
                continue
            props = {k: v for k, v in item.items() if k != "polygon"}
            out[key].append(Area([[ring]], props, str(item.get("code", "")), kind))
    return out
