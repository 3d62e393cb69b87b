"""GeoJSON loaders on the real Yangquan and Pingding files, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commandcenter import geo
from commandcenter.geojson import GeoJSONError, from_geography, load, parse


@pytest.mark.parametrize(
    "name", ["yangquan_140300_tnnevol.json", "yangquan_140300_full_anzhou99.json"]
)
def test_both_yangquan_files_load_five_districts(shared_external: Path, name: str) -> None:
    res = load(shared_external / name)
    names = {a.name for a in res.areas}
    assert names == {"城区", "矿区", "郊区", "平定县", "盂县"}
    pd = next(a for a in res.areas if a.name == "平定县")
    assert pd.code == "140321"
    assert pd.properties.get("adcode") == 140321  # properties kept as they were
    x0, y0, x1, y1 = pd.bbox()
    assert 113.3 < x0 < x1 < 114.2 and 37.5 < y0 < y1 < 38.3
    # the label point lies inside the district
    lx, ly = pd.label_point()
    assert any(geo.points_in_polygon([lx], [ly], p)[0] for p in pd.polygons)
    # 郊区 is a MultiPolygon in both vintages
    assert len(next(a for a in res.areas if a.name == "郊区").polygons) == 2


def test_pingding_outline_is_a_bare_array(shared_external: Path) -> None:
    raw = json.loads((shared_external / "pingding_140321_tnnevol.json").read_text(encoding="utf-8"))
    assert isinstance(raw, list)
    res = load(shared_external / "pingding_140321_tnnevol.json")
    assert len(res.areas) == 1 and res.areas[0].name == "平定县"
    ring = res.areas[0].polygons[0][0]
    assert len(ring) > 100 and not (ring[0] == ring[-1]).all()  # closing point dropped


def test_single_feature_and_bare_geometry() -> None:
    poly = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    assert len(parse({"type": "Feature", "properties": {"name": "a"}, "geometry": poly}).areas) == 1
    assert len(parse(poly).areas) == 1
    mixed = [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [0, 0]}},
        {"type": "Feature", "properties": {}, "geometry": poly},
    ]
    res = parse(mixed)
    assert len(res.areas) == 1 and res.skipped == 1


@pytest.mark.parametrize(
    ("obj", "needle"),
    [
        ({"type": "Topology"}, "not GeoJSON"),
        (42, "top level"),
        ({"type": "FeatureCollection"}, "features"),
        (
            [
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
                }
            ],
            "fewer than 3",
        ),
        (
            [
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [["a", "b", "c"]]},
                }
            ],
            "ring",
        ),
        ([{"type": "Feature", "geometry": {"type": "Circle"}}], "unknown geometry"),
        ([], "no Polygon"),
    ],
)
def test_bad_input_says_what_is_wrong(obj, needle: str) -> None:
    with pytest.raises(GeoJSONError, match=needle):
        parse(obj)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(GeoJSONError, match="no such file"):
        load(tmp_path / "missing.json")
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(GeoJSONError, match="empty"):
        load(empty)
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(GeoJSONError, match="not JSON"):
        load(bad)


def test_from_geography_of_the_demo_county() -> None:
    from feeds.serve.simulator.county import County

    g = County.build(1, outline_path=False).geography()
    areas = from_geography(g)
    assert (
        len(areas["county"]) == 1 and len(areas["townships"]) == 10 and len(areas["grids"]) == 452
    )
    grid = areas["grids"][0]
    assert grid.kind == "grid" and grid.properties["population"] > 0
