"""The demo's warmed-up world cached on disk: reused, caught up, and a bad file set aside."""

from __future__ import annotations

from feeds.serve.simulator.history_cache import warmed_world

T0 = 1_790_000_000.0 + 9 * 3600.0  # a morning: the county files cases


def test_second_start_loads_the_cached_history_and_catches_up(tmp_path) -> None:
    w1, how1, _ = warmed_world(3, T0, 0.5, 550.0, 8.0, directory=tmp_path)
    assert how1 == "built" and list(tmp_path.glob("world-*.pickle"))
    w2, how2, _ = warmed_world(3, T0 + 120.0, 0.5, 550.0, 8.0, directory=tmp_path)
    assert how2 == "cache" and w2.now == T0 + 120.0
    assert set(w1.cases) <= set(w2.cases)  # the same history, two minutes on
    assert not w2._out  # the catch-up is history, not events to publish
    # too long since it was saved: built afresh rather than hours of catch-up
    _w3, how3, _ = warmed_world(3, T0 + 6 * 3600.0, 0.5, 550.0, 8.0, directory=tmp_path)
    assert how3 == "built"
    # another seed never reuses it
    _w4, how4, _ = warmed_world(4, T0, 0.5, 550.0, 8.0, directory=tmp_path)
    assert how4 == "built"


def test_a_corrupt_cache_is_kept_aside_and_the_world_built(tmp_path, caplog) -> None:
    warmed_world(3, T0, 0.25, 550.0, 8.0, directory=tmp_path)
    (path,) = tmp_path.glob("world-*.pickle")
    path.write_bytes(b"not a pickle")
    w, how, _ = warmed_world(3, T0, 0.25, 550.0, 8.0, directory=tmp_path)
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


def test_the_warm_ups_tail_is_kept_as_events_and_grows_by_the_catch_up(tmp_path) -> None:
    """With a tail, the warm-up's last half hour stays events (after the state before
    them), in time order; a later start from the cache adds the minutes it caught up."""
    w1, _, warm1 = warmed_world(3, T0, 1.0, 550.0, 8.0, directory=tmp_path, tail_s=1800.0)
    assert warm1.baseline and warm1.tail
    times = [e.ts for e in warm1.tail]
    assert times == sorted(times) and times[0] >= T0 - 1800.0 and times[-1] <= T0
    assert any(e.kind == "case.created" for e in warm1.tail)
    baseline_cases = {e.data.id for e in warm1.baseline if e.kind == "case.created"}
    filed_in_tail = {e.data.id for e in warm1.tail if e.kind == "case.created"}
    assert filed_in_tail and not filed_in_tail & baseline_cases  # filed after the baseline
    assert baseline_cases | filed_in_tail == set(w1.cases)
    _w2, how2, warm2 = warmed_world(3, T0 + 300.0, 1.0, 550.0, 8.0, directory=tmp_path, tail_s=1800.0)
    assert how2 == "cache" and warm2.tail[: len(warm1.tail)] == warm1.tail
    assert len(warm2.tail) > len(warm1.tail) and warm2.tail[-1].ts <= T0 + 300.0
