"""The demo's warmed-up world cached on disk: reused, caught up, and a bad file set aside."""

from __future__ import annotations

from feeds.serve.simulator.history_cache import warmed_world

T0 = 1_790_000_000.0 + 9 * 3600.0  # a morning: the county files cases


def test_second_start_loads_the_cached_history_and_catches_up(tmp_path) -> None:
    w1, how1 = warmed_world(3, T0, 0.5, 550.0, 8.0, directory=tmp_path)
    assert how1 == "built" and list(tmp_path.glob("world-*.pickle"))
    w2, how2 = warmed_world(3, T0 + 120.0, 0.5, 550.0, 8.0, directory=tmp_path)
    assert how2 == "cache" and w2.now == T0 + 120.0
    assert set(w1.cases) <= set(w2.cases)  # the same history, two minutes on
    assert not w2._out  # the catch-up is history, not events to publish
    # too long since it was saved: built afresh rather than hours of catch-up
    _w3, how3 = warmed_world(3, T0 + 6 * 3600.0, 0.5, 550.0, 8.0, directory=tmp_path)
    assert how3 == "built"
    # another seed never reuses it
    _w4, how4 = warmed_world(4, T0, 0.5, 550.0, 8.0, directory=tmp_path)
    assert how4 == "built"


def test_a_corrupt_cache_is_kept_aside_and_the_world_built(tmp_path, caplog) -> None:
    warmed_world(3, T0, 0.25, 550.0, 8.0, directory=tmp_path)
    (path,) = tmp_path.glob("world-*.pickle")
    path.write_bytes(b"not a pickle")
    w, how = warmed_world(3, T0, 0.25, 550.0, 8.0, directory=tmp_path)
    assert how == "built" and w.cases
    kept = list(path.parent.glob(path.name + ".corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == b"not a pickle"
    assert "unreadable" in caplog.text


def test_the_cache_folder_and_file_are_private(tmp_path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        where = tmp_path / "cache" / "commandcenter" / "demo"
        warmed_world(3, T0, 0.5, 550.0, 8.0, directory=where)
    finally:
        os.umask(old)
    for d in (where, where.parent):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    for f in where.glob("world-*.pickle"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
