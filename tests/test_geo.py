"""Projection, GCJ-02 round trips and geometry helpers against known reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from commandcenter import geo

# Published eviltransform vectors: (wgs lat, wgs lon) -> (gcj lat, gcj lon)
VECTORS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]


@pytest.mark.parametrize(("wgs", "gcj"), VECTORS)
def test_gcj02_forward_matches_published_vectors(wgs, gcj) -> None:
    lon, lat = geo.wgs84_to_gcj02(wgs[1], wgs[0])
    assert abs(float(lat) - gcj[0]) < 1e-9
    assert abs(float(lon) - gcj[1]) < 1e-9


@pytest.mark.parametrize(("wgs", "gcj"), VECTORS)
def test_gcj02_inverse_recovers_wgs84(wgs, gcj) -> None:
    lon, lat = geo.gcj02_to_wgs84(gcj[1], gcj[0])
    assert abs(float(lat) - wgs[0]) < 1e-6
    assert abs(float(lon) - wgs[1]) < 1e-6


def test_gcj02_round_trip_vectorised_over_pingding() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(113.4, 114.1, 10_000)
    lat = rng.uniform(37.6, 38.2, 10_000)
    glon, glat = geo.wgs84_to_gcj02(lon, lat)
    # the offset here is a few hundred metres, never zero
    d = geo.haversine_m(lon, lat, glon, glat)
    assert d.min() > 100 and d.max() < 1000
    wlon, wlat = geo.gcj02_to_wgs84(glon, glat)
    assert np.abs(wlon - lon).max() < 1e-6 and np.abs(wlat - lat).max() < 1e-6


def test_no_offset_outside_china() -> None:
    for lon, lat in ((-74.006, 40.7128), (2.35, 48.85), (151.2, -33.9)):
        glon, glat = geo.wgs84_to_gcj02(lon, lat)
        assert (float(glon), float(glat)) == (lon, lat)
        wlon, wlat = geo.gcj02_to_wgs84(lon, lat)
        assert (float(wlon), float(wlat)) == (lon, lat)


def test_convert_names_and_refuses_unknown() -> None:
    lon, lat = geo.convert(121.5272106, 31.1774276, "WGS-84", "GCJ-02")
    assert abs(float(lon) - 121.531541859215) < 1e-9
    back = geo.convert(lon, lat, "gcj02", "wgs84")
    assert abs(float(back[0]) - 121.5272106) < 1e-6
    with pytest.raises(ValueError):
        geo.convert(0, 0, "osgb36", "wgs84")
    # BD-09 (Baidu): the published reference point, and back through GCJ-02 to WGS-84
    blon, blat = geo.convert(116.404, 39.915, "gcj02", "bd09")
    assert abs(float(blon) - 116.41036949371029) < 1e-6
    assert abs(float(blat) - 39.92133699351022) < 1e-6  # coordtransform's example
    wlon, wlat = geo.convert(blon, blat, "BD-09", "wgs84")
    assert geo.haversine_m(wlon, wlat, *geo.convert(116.404, 39.915, "gcj02", "wgs84")) < 0.5


def test_web_mercator_reference_points() -> None:
    x, y = geo.lonlat_to_mercator(0.0, 0.0)
    assert abs(float(x)) < 1e-9 and abs(float(y)) < 1e-9
    x, y = geo.lonlat_to_mercator(180.0, geo.MERCATOR_MAX_LAT)
    assert math.isclose(float(x), 20037508.342789244, rel_tol=1e-12)
    assert math.isclose(float(y), 20037508.342789244, rel_tol=1e-9)
    # EPSG:3857 of Pingding's seat (computed independently with pyproj's formula)
    x, y = geo.lonlat_to_mercator(113.631049, 37.800289)
    lon, lat = geo.mercator_to_lonlat(x, y)
    assert abs(float(lon) - 113.631049) < 1e-10 and abs(float(lat) - 37.800289) < 1e-10
    assert math.isclose(float(x), 113.631049 * math.pi / 180 * 6378137.0)


def test_tiles_and_tms() -> None:
    # Beijing at z10 is tile (843, 388) on every XYZ map
    tx, ty = geo.lonlat_to_tile(116.3975, 39.9087, 10)
    assert (int(tx), int(ty)) == (843, 388)
    lon, lat = geo.tile_to_lonlat(0, 0, 0)
    assert abs(float(lon) + 180.0) < 1e-9 and abs(float(lat) - geo.MERCATOR_MAX_LAT) < 1e-9
    assert geo.tms_y(0, 3) == 7 and geo.tms_y(geo.tms_y(5, 4), 4) == 5
    xmin, ymin, xmax, ymax = geo.tile_bounds_mercator(0, 0, 1)
    assert xmin == -geo.MERCATOR_HALF and ymax == geo.MERCATOR_HALF and xmax == 0 and ymin == 0
    assert geo.tiles_covering(-1, -1, 1, 1, 1) == (0, 1, 0, 1)


def test_haversine_and_path_length() -> None:
    # one degree of latitude on the mean sphere
    assert math.isclose(float(geo.haversine_m(0, 0, 0, 1)), 111_195.08, rel_tol=1e-5)
    # Shanghai -> Beijing (GCJ points), ~1,078 km as in eviltransform's tests
    d = float(
        geo.haversine_m(121.531541859215, 31.17530398364597, 116.38404722455657, 39.91334545536069)
    )
    assert abs(d - 1_078_164) < 0.002 * 1_078_164
    assert geo.path_length_m([0, 0, 0], [0, 1, 2]) == pytest.approx(2 * 111_195.08, rel=1e-5)
    assert geo.path_length_m([1.0], [2.0]) == 0.0


def test_point_in_polygon_with_hole_and_bbox() -> None:
    outer = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    hole = np.array([[4, 4], [6, 4], [6, 6], [4, 6]], dtype=float)
    x = np.array([1, 5, 11, 9.9])
    y = np.array([1, 5, 5, 9.9])
    assert geo.points_in_polygon(x, y, [outer, hole]).tolist() == [True, False, False, True]
    assert geo.bbox(outer) == (0, 0, 10, 10)
    assert geo.bbox_union([(0, 0, 1, 1), (-1, 2, 0, 3)]) == (-1, 0, 1, 3)
    with pytest.raises(ValueError):
        geo.bbox([])


def test_sample_in_rings_counts_and_containment() -> None:
    rings = [
        np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float),
        np.array([[5, 5], [6, 5], [5.5, 6]], float),
    ]
    x, y, owner = geo.sample_in_rings(rings, [100, 50])
    assert x.size == 150 and (owner == 0).sum() == 100
    assert geo.points_in_ring(x[owner == 1], y[owner == 1], rings[1]).all()
