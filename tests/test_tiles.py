"""MBTiles (real files including the corrupt and empty ones), XYZ templates, disk cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from commandcenter.tiles import MBTilesSource, TileCache, TileSourceError, XYZSource, image_format


def test_plain_world_mbtiles(shared_external: Path) -> None:
    src = MBTilesSource(shared_external / "tiles" / "plain_1.mbtiles")
    info = src.info
    assert info is not None
    assert (info.min_zoom, info.max_zoom, info.tile_count) == (0, 4, 285)
    assert info.name == "plain_1"
    assert info.metadata["type"] == "baselayer"
    world = src.get(0, 0, 0)
    assert world is not None and image_format(world) == "png"
    # TMS flip: XYZ row 0 (north) is TMS row 1 at z1; both rows exist and differ
    north, south = src.get(1, 0, 0), src.get(1, 0, 1)
    assert north and south and north != south
    assert src.get(9, 0, 0) is None  # beyond its zooms: missing, not an error
    src.close()


def test_corrupt_file_gives_a_clear_message(shared_external: Path) -> None:
    with pytest.raises(TileSourceError, match="corrupt"):
        MBTilesSource(shared_external / "tiles" / "corrupt.mbtiles")


def test_file_without_tiles_is_empty(shared_external: Path) -> None:
    with pytest.raises(TileSourceError, match="no tiles"):
        MBTilesSource(shared_external / "tiles" / "with_spaces.mbtiles")


def test_sparse_file_warns_and_works(shared_external: Path) -> None:
    src = MBTilesSource(shared_external / "tiles" / "some-empty-tiles.mbtiles")
    assert src.info is not None and src.info.warnings  # "zoom 2: 7 of 16 tiles present"
    assert src.get(1, 0, 0) is not None
    assert src.get(2, 0, 0) is None


def test_not_a_database_and_zero_bytes(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mbtiles"
    junk.write_bytes(b"this is not sqlite at all" * 10)
    with pytest.raises(TileSourceError, match="not an SQLite database"):
        MBTilesSource(junk)
    zero = tmp_path / "zero.mbtiles"
    zero.write_bytes(b"")
    with pytest.raises(TileSourceError, match="empty"):
        MBTilesSource(zero)
    with pytest.raises(TileSourceError, match="not found"):
        MBTilesSource(tmp_path / "nope.mbtiles")


def test_blank_tiles_are_detected(tmp_path: Path) -> None:
    import sqlite3

    p = tmp_path / "blank.mbtiles"
    con = sqlite3.connect(p)
    con.execute(
        "CREATE TABLE tiles (zoom_level INT, tile_column INT, tile_row INT, tile_data BLOB)"
    )
    con.execute("INSERT INTO tiles VALUES (0, 0, 0, x'')")
    con.commit()
    con.close()
    with pytest.raises(TileSourceError, match="blank"):
        MBTilesSource(p)


def test_xyz_template() -> None:
    s = XYZSource("http://127.0.0.1:8080/{z}/{x}/{y}.png")
    assert s.url(3, 4, 5) == "http://127.0.0.1:8080/3/4/5.png"
    t = XYZSource("http://{s}.tiles.local/{z}/{x}/{-y}.png", subdomains="ab")
    assert t.url(1, 0, 0) == "http://a.tiles.local/1/0/1.png"
    for bad in ("", "http://127.0.0.1/{z}/{x}.png", "ftp://x/{z}/{x}/{y}"):
        with pytest.raises(TileSourceError):
            XYZSource(bad)


def test_disk_cache_keys_by_source(tmp_path: Path) -> None:
    cache = TileCache(tmp_path)
    cache.put("xyz:a", 1, 2, 3, b"png-a")
    cache.put("xyz:b", 1, 2, 3, b"png-b")
    assert cache.get("xyz:a", 1, 2, 3) == b"png-a"
    assert cache.get("xyz:b", 1, 2, 3) == b"png-b"
    assert cache.get("xyz:a", 1, 2, 4) is None
    cache.clear("xyz:a")
    assert cache.get("xyz:a", 1, 2, 3) is None and cache.get("xyz:b", 1, 2, 3) == b"png-b"
