"""MBTiles (real files including the corrupt and empty ones), XYZ templates, disk cache."""

from __future__ import annotations

import random
import sqlite3
import stat
import zlib
from pathlib import Path

import pytest

from commandcenter.tiles import (
    MBTilesSource,
    TileCache,
    TileSourceError,
    XYZSource,
    image_complete,
    image_format,
)


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


def test_disk_cache_keys_by_source(tmp_path: Path, shared_external: Path) -> None:
    src = MBTilesSource(shared_external / "tiles" / "plain_1.mbtiles")
    png_a, png_b = src.get(1, 0, 0), src.get(1, 1, 0)
    src.close()
    assert png_a and png_b and png_a != png_b
    cache = TileCache(tmp_path)
    cache.put("xyz:a", 1, 2, 3, png_a)
    cache.put("xyz:b", 1, 2, 3, png_b)
    assert cache.get("xyz:a", 1, 2, 3) == png_a
    assert cache.get("xyz:b", 1, 2, 3) == png_b
    assert cache.get("xyz:a", 1, 2, 4) is None
    cache.clear("xyz:a")
    assert cache.get("xyz:a", 1, 2, 3) is None and cache.get("xyz:b", 1, 2, 3) == png_b


def _png(shared_external: Path) -> bytes:
    src = MBTilesSource(shared_external / "tiles" / "plain_1.mbtiles")
    data = src.get(0, 0, 0)
    src.close()
    assert data is not None and image_complete(data)
    return data


def _kept(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{name}.corrupt-*"))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_cached_tile_is_kept_aside_and_fetched_again(
    tmp_path: Path, shared_external: Path, damage: str
) -> None:
    png = _png(shared_external)
    cache = TileCache(tmp_path / "tiles")
    cache.put("xyz:a", 3, 4, 5, png)
    tile = cache.path("xyz:a", 3, 4, 5)
    bad = {"truncated": png[: len(png) // 2], "garbage": b"\x89PNG\r\n\x1a\n" + b"\0" * 90,
           "empty": b""}[damage]  # fmt: skip
    tile.write_bytes(bad)
    assert cache.get("xyz:a", 3, 4, 5) is None  # not drawn: the fetcher asks the server
    kept = _kept(tile.parent, "5")
    assert len(kept) == 1 and kept[0].read_bytes() == bad
    h = cache.report()
    assert (h.corrupt, h.kept, h.disabled) == (1, kept, "") and not h.ok
    cache.put("xyz:a", 3, 4, 5, png)  # the refetched tile takes its place
    assert cache.get("xyz:a", 3, 4, 5) == png and cache.report().corrupt == 1


def test_a_cache_folder_that_is_a_file_is_kept_aside_and_a_fresh_one_made(
    tmp_path: Path, shared_external: Path
) -> None:
    root = tmp_path / "tiles"
    root.write_bytes(b"not a folder")
    cache = TileCache(root)
    assert root.is_dir() and cache.report().corrupt == 1
    assert [p.read_bytes() for p in _kept(tmp_path, "tiles")] == [b"not a folder"]
    # Inside: a zoom folder that is a file, a tile that is a folder, a symlink loop.
    png = _png(shared_external)
    src = root / cache.source_dir("xyz:a")
    src.mkdir()
    (src / "2").write_bytes(b"junk")
    cache.put("xyz:a", 2, 1, 1, png)
    assert cache.get("xyz:a", 2, 1, 1) == png and _kept(src, "2")
    cache.path("xyz:a", 2, 1, 3).mkdir()
    assert cache.get("xyz:a", 2, 1, 3) is None and _kept(src / "2" / "1", "3")
    loop = src / "4"
    loop.symlink_to(loop)
    assert cache.get("xyz:a", 4, 0, 0) is None and _kept(src, "4")
    cache.put("xyz:a", 4, 0, 0, png)
    assert cache.get("xyz:a", 4, 0, 0) == png
    assert cache.report().corrupt == 4 and not cache.report().disabled


def test_a_cache_that_cannot_be_made_turns_itself_off_and_the_map_goes_on(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"x")
    cache = TileCache(blocker / "tiles")  # a folder under a file: nothing to set aside
    h = cache.report()
    assert h.disabled and "a-file" in h.disabled and h.corrupt == 0
    cache.put("xyz:a", 1, 0, 0, b"\x89PNG\r\n\x1a\n" + b"IEND\xaeB`\x82")
    assert cache.get("xyz:a", 1, 0, 0) is None and blocker.read_bytes() == b"x"


def test_only_whole_images_are_cached(tmp_path: Path, shared_external: Path) -> None:
    cache = TileCache(tmp_path)
    cache.put("xyz:a", 1, 0, 0, b"<html>503 Service Unavailable</html>")
    cache.put("xyz:a", 1, 0, 1, _png(shared_external)[:-20])
    assert not cache.path("xyz:a", 1, 0, 0).exists() and not cache.path("xyz:a", 1, 0, 1).exists()
    assert cache.report().ok


def test_cache_folders_and_tiles_are_private(tmp_path: Path, shared_external: Path) -> None:
    cache = TileCache(tmp_path / "cache" / "tiles")
    cache.put("xyz:a", 5, 6, 7, _png(shared_external))
    p = cache.path("xyz:a", 5, 6, 7)
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    d = p.parent
    while d != tmp_path:
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
        d = d.parent


def _mbtiles_with_big_tiles(path: Path, png: bytes) -> None:
    """A real MBTiles file whose tiles overflow SQLite's 4 KiB pages."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    con.execute(
        "CREATE TABLE tiles (zoom_level INT, tile_column INT, tile_row INT, tile_data BLOB)"
    )
    con.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
    # A private ancillary chunk ("prVt": decoders skip it) makes a whole, valid PNG of
    # 20 kB out of a small one.
    body = random.Random(0).randbytes(20_000)
    chunk = len(body).to_bytes(4, "big") + b"prVt" + body
    chunk += zlib.crc32(b"prVt" + body).to_bytes(4, "big")
    big = png[:-12] + chunk + png[-12:]
    for x in range(4):
        for y in range(4):
            con.execute("INSERT INTO tiles VALUES (2, ?, ?, ?)", (x, y, big))
    con.commit()
    con.close()


def test_an_mbtiles_file_damaged_inside_loses_only_the_damaged_tiles(
    tmp_path: Path, shared_external: Path
) -> None:
    path = tmp_path / "county.mbtiles"
    _mbtiles_with_big_tiles(path, _png(shared_external))
    con = sqlite3.connect(path)
    overflow = [r[0] for r in con.execute(
        "SELECT pageno FROM dbstat WHERE name = 'tiles' AND pagetype = 'overflow' ORDER BY pageno")]  # fmt: skip
    con.close()
    with path.open("r+b") as f:  # one page in the middle of the tiles' data
        f.seek((overflow[len(overflow) // 2] - 1) * 4096 + 0)
        f.write(random.Random(1).randbytes(4096))
    src = MBTilesSource(path)  # the index and the table pages are whole: it opens
    readable, broken = 0, []
    for x in range(4):
        for y in range(4):
            try:
                readable += src.get(2, x, y) is not None
            except TileSourceError as err:
                broken.append(str(err))
    src.close()
    assert broken and readable >= 12  # a page destroyed costs the tiles on it, not the map
    assert all("county.mbtiles" in b for b in broken)
