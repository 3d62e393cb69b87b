"""The journal: every applied event recorded; seeking rebuilds exactly the state of then;
bounded by age and size; nothing dropped under a burst far above the frame rate."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from commandcenter.journal import Journal, Recorder
from commandcenter.store import Store
from feeds import protocol as p
from feeds.journal_codec import journal_codec

T0 = 1_800_000_000.0


def make_events(
    n: int, start_seq: int = 1, t0: float = T0, step: float = 1.0, seed: int = 7
) -> list[p.Event]:
    """A mixed stream: positions, cases created and updated, KPIs, cameras, alerts."""
    rng = random.Random(seed)
    versions: dict[str, int] = {}
    out: list[p.Event] = []
    for i in range(n):
        seq = start_seq + i
        ts = t0 + i * step
        r = rng.random()
        if r < 0.6:
            kind, data = (
                p.UNIT_POSITION,
                p.UnitPosition(
                    id=f"U{rng.randrange(30)}", lon=113 + rng.random(), lat=37 + rng.random(), ts=ts
                ),
            )
        elif r < 0.85:
            cid = f"C{rng.randrange(200)}"
            v = versions[cid] = versions.get(cid, 0) + 1
            kind = p.CASE_CREATED if v == 1 else p.CASE_UPDATED
            data = p.CaseData(id=cid, version=v, category="井盖缺失", source="hotline", urgency="normal",
                              state="reported" if v == 1 else "signed", township="T1", grid="G1",
                              lon=113.6, lat=37.8, created_ts=ts, state_ts=ts)  # fmt: skip
        elif r < 0.93:
            kind, data = p.KPI_UPDATE, p.Kpi(name=f"k{rng.randrange(5)}", value=rng.random())
        elif r < 0.97:
            kind, data = (
                p.CAMERA_UPSERT,
                p.CameraData(
                    id=f"CAM{rng.randrange(10)}",
                    name="cam",
                    lon=113.6,
                    lat=37.8,
                    online=rng.random() < 0.5,
                ),
            )
        else:
            kind, data = (
                p.ALERT_RAISED,
                p.Alert(id=f"A{seq}", level="red", kind="sla.breach", message="m", ts=ts),
            )
        out.append(p.Event(seq=seq, kind=kind, ts=ts, data=data))
    return out


def snapshot0(epoch: str = "e1", seq: int = 0, now: float = T0) -> p.Snapshot:
    return p.Snapshot(v=1, epoch=epoch, seq=seq, now=now, rate=1.0)


def fingerprint(store: Store) -> dict:
    fp = store.state_fingerprint()
    fp["alerts"] = [a.id for a in store.alerts]
    fp["epoch"] = store.epoch
    return fp


def test_seek_rebuilds_exactly_the_state_of_then(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), checkpoint_every=97)
    live = Store()
    rec = Recorder(live, journal)
    rec.reset(snapshot0())
    events = make_events(1000)
    seen: dict[float, dict] = {}
    for k in range(0, 1000, 25):  # batches like a stream delivers them
        rec.apply(events[k : k + 25])
        seen[events[min(k + 24, 999)].ts] = fingerprint(live)
    assert journal.count() == 1000
    view = Store()
    for ts, fp in seen.items():
        result = journal.seek_into(view, ts)
        assert fingerprint(view) == fp, ts
        assert result.replayed < 97 + 25
    # a time between two events shows the earlier one's state
    journal.seek_into(view, events[499].ts + 0.5)
    assert view.seq == 500
    # before the journal begins: clamped to its oldest state
    result = journal.seek_into(view, T0 - 3600)
    assert result.clamped and view.seq == 0
    journal.close()


def test_a_new_epoch_is_a_checkpoint_and_seeks_stay_within_their_history(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), checkpoint_every=10_000)
    live = Store()
    rec = Recorder(live, journal)
    rec.reset(snapshot0("old"))
    rec.apply(make_events(300))
    old_fp = fingerprint(live)
    # the server was reset: a snapshot of another history, seqs start again
    rec.reset(snapshot0("new", seq=5, now=T0 + 400))
    rec.apply(make_events(100, start_seq=6, t0=T0 + 401, seed=9))
    view = Store()
    journal.seek_into(view, T0 + 299)
    assert fingerprint(view) == old_fp
    journal.seek_into(view, T0 + 600)
    assert view.epoch == "new" and view.seq == 105
    journal.close()


def test_out_of_order_timestamps_keep_the_time_axis_monotone(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    live = Store()
    rec = Recorder(live, journal)
    rec.reset(snapshot0())
    evs = make_events(10)
    evs[5] = p.Event(
        seq=6,
        kind=p.ALERT_RAISED,
        ts=T0 - 5000,
        data=p.Alert(id="late", level="red", kind="k", message="m"),
    )
    rec.apply(evs)
    view = Store()
    journal.seek_into(view, T0 + 5.5)
    assert view.seq == 6  # the late alert sits at its place in the stream, not an hour back
    journal.close()


def test_bounded_by_age_and_size_cutting_at_checkpoints(tmp_path: Path) -> None:
    journal = Journal(
        tmp_path / "j.sqlite3",
        journal_codec(),
        checkpoint_every=200,
        max_age_s=1000,
        prune_every=10**9,
    )
    live = Store()
    rec = Recorder(live, journal)
    rec.reset(snapshot0())
    events = make_events(3000)  # 3000 s of history
    for k in range(0, 3000, 50):
        rec.apply(events[k : k + 50])
    journal.flush()
    deleted = journal.prune()
    assert deleted > 0
    lo, hi = journal.bounds()
    assert hi - lo <= 1000 + 200  # cut at a checkpoint at most one segment early
    view = Store()
    result = journal.seek_into(view, lo)  # the oldest kept moment is still replayable
    assert not result.clamped
    journal.seek_into(view, hi)
    assert fingerprint(view) == fingerprint(live)
    # by size: rotate segments out until it fits
    journal.max_bytes = journal.size_bytes() // 2
    journal.max_age_s = 10**9
    journal.prune()
    assert journal.size_bytes() <= journal.max_bytes
    journal.seek_into(view, journal.bounds()[1])
    assert fingerprint(view) == fingerprint(live)
    journal.close()


def test_the_byte_bound_holds_between_two_prune_rounds(tmp_path: Path) -> None:
    """``prune_every`` rows is a long way at a busy hall: the bound is checked at every
    commit and after every checkpoint, so the journal never runs far past it."""
    journal = Journal(
        tmp_path / "j.sqlite3", journal_codec(), checkpoint_every=200, prune_every=10**9,
        commit_rows=50,
    )  # fmt: skip
    live = Store()
    rec = Recorder(live, journal)
    rec.reset(snapshot0())
    events = make_events(6000)
    rec.apply(events[:1000])
    journal.flush()
    journal.max_bytes = journal.size_bytes()  # the bound: what 1,000 events take
    peak = 0
    for k in range(1000, 6000, 50):
        rec.apply(events[k : k + 50])
        journal.flush()
        peak = max(peak, journal.size_bytes())
    per_segment = journal.max_bytes // 4  # 200 events of the 1,000 and their checkpoint
    assert peak <= journal.max_bytes + 2 * per_segment, (peak, journal.max_bytes)
    view = Store()
    journal.seek_into(view, journal.bounds()[1])
    assert fingerprint(view) == fingerprint(live)
    journal.close()


def test_reopened_journal_continues(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j1 = Journal(path, journal_codec())
    live = Store()
    Recorder(live, j1).reset(snapshot0())
    Recorder(live, j1).apply(make_events(50))
    j1.close()
    j2 = Journal(path, journal_codec())
    rec = Recorder(live, j2)
    rec.apply(make_events(50, start_seq=51, t0=T0 + 50))
    view = Store()
    j2.seek_into(view, T0 + 1000)
    assert view.seq == 100 and j2.count() == 100
    j2.close()


@pytest.mark.slow
def test_burst_far_above_the_frame_rate_drops_nothing(tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    """50,000 events in 1,000 batches as fast as they come (~100x a 10 Hz frame rate):
    the bridge emits about one frame per 100 ms, yet the store, the merged change sets
    and the journal hold every event."""
    from commandcenter.status import FeedStatus
    from widgets.live import LiveBridge

    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    live = Store()
    rec = Recorder(live, journal)
    rec.reset(snapshot0())
    bridge = LiveBridge(live, FeedStatus(), frame_hz=10)
    frames: list[tuple[float, int, set[str]]] = []
    bridge.changed.connect(lambda cs: frames.append((time.monotonic(), cs.applied, set(cs.units))))
    events = make_events(50_000)
    t0 = time.monotonic()
    for k in range(0, 50_000, 50):
        rec.apply(events[k : k + 50])
        qapp.processEvents()
    elapsed = time.monotonic() - t0
    deadline = time.monotonic() + 2
    while sum(f[1] for f in frames) < 50_000 and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    bridge.close()
    assert live.seq == 50_000
    assert sum(f[1] for f in frames) == 50_000  # every applied event reached a frame
    assert len(frames) <= elapsed * 10 + 3  # ... in frame-paced emissions, not 1,000
    units_seen = set().union(*(f[2] for f in frames))
    assert units_seen == set(live.units)
    assert journal.count() == 50_000
    view = Store()
    journal.seek_into(view, events[-1].ts)
    assert fingerprint(view) == fingerprint(live)
    journal.close()


# ---- by hand: the documented bounds, raw rows, seek results, checkpoints, failure -----------


def test_the_bounds_the_operations_guide_documents(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    # docs/operations.md: 48 h, 4 GiB, a checkpoint every 25,000 events or 30 minutes
    assert (journal.max_age_s, journal.max_bytes, journal.checkpoint_every) == (
        48 * 3600,
        4 * 1024**3,
        25_000,
    )
    assert journal.checkpoint_interval_s == 30 * 60
    journal.close()


def test_meta_raw_rows_and_the_geography_kept_for_replay(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    assert journal.meta("geography") == "" and journal.meta("geography", "none") == "none"
    journal.set_meta("k", "v1")
    journal.set_meta("k", "v2")
    assert journal.meta("k") == "v2"
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0())
    rec.apply(make_events(10))  # seq 1..10 at T0 .. T0 + 9
    rows = journal.rows(after_n=3, limit=4)
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (4, 4, T0 + 3), (5, 5, T0 + 4), (6, 6, T0 + 5), (7, 7, T0 + 6),
    ]  # fmt: skip
    assert journal.rows(after_n=10) == [] and len(journal.rows()) == 10
    geo = {"townships": [{"code": "T1", "name": "冠山镇"}]}
    rec.set_geography(geo)
    assert json.loads(journal.meta("geography")) == geo
    assert rec.store.display_name("T1") == "冠山镇"
    rec.epoch = "e2"
    assert (rec.store.epoch, rec.epoch, rec.seq) == ("e2", "e2", 10)
    journal.close()


def test_what_a_seek_reports(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0())  # the checkpoint at T0
    rec.apply(make_events(10))
    view = Store()
    got = journal.seek_into(view, T0 + 5.5)
    assert (got.requested, got.reached, got.seq, got.epoch, got.replayed, got.clamped) == (
        T0 + 5.5, T0 + 5, 6, "e1", 6, False,
    )  # fmt: skip
    assert 0 <= got.seconds < 60
    early = journal.seek_into(view, T0 - 10)
    assert (early.reached, early.seq, early.replayed, early.clamped) == (T0, 0, 0, True)
    assert journal.bounds() == (T0, T0 + 9)
    journal.close()


def test_checkpoints_fall_due_by_count_and_by_feed_time(tmp_path: Path) -> None:
    events = make_events(10)
    by_count = Journal(tmp_path / "a.sqlite3", journal_codec(), checkpoint_every=5)
    by_count.checkpoint(Store(), at=T0)
    by_count.append(events[:4])
    assert not by_count.checkpoint_due()
    by_count.append(events[4:5])
    assert by_count.checkpoint_due()
    by_count.close()
    by_time = Journal(tmp_path / "b.sqlite3", journal_codec(), checkpoint_interval_s=3.0)
    by_time.checkpoint(Store(), at=T0)
    assert not by_time.checkpoint_due()  # nothing after the checkpoint
    by_time.append(events[1:3])  # T0 + 1, T0 + 2
    assert not by_time.checkpoint_due()
    by_time.append(events[3:4])  # T0 + 3: three seconds of feed time
    assert by_time.checkpoint_due()
    by_time.close()


def test_a_failing_journal_stops_recording_says_so_once_and_the_store_goes_on(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), commit_rows=1)
    live = Store()
    told: list[str] = []
    rec = Recorder(live, journal, on_failure=told.append)
    rec.reset(snapshot0())
    rec.apply(make_events(3))
    journal._db.close()  # the file is gone from under us
    events = make_events(6)
    rec.apply(events[3:4])
    rec.apply(events[4:6])
    rec.reset(snapshot0("e2", seq=6, now=T0 + 10))
    assert told == ["ProgrammingError: Cannot operate on a closed database."]
    assert rec.failed == told[0]
    assert live.seq == 6 and live.epoch == "e2"


def test_imported_history_is_kept_listed_loaded_and_removed_by_its_key(tmp_path: Path) -> None:
    from feeds.sources.importer import ImportResult, map_file
    from feeds.sources.profile import parse_profile
    from tests.test_sources_import import CITY_PROFILE, _month_export

    export = tmp_path / "months.csv"
    frame = _month_export(export, n=6)  # six tickets, one a day from 2 January 2024
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    mapped = map_file(export, parse_profile(CITY_PROFILE, "city.toml"), ImportResult(), journal)
    assert mapped is not None and not journal.has_history(mapped.key)
    seg = mapped.mapped.cases
    assert journal.append_history(mapped.key, seg, "months.csv") is True
    assert journal.append_history(mapped.key, seg, "again") is False  # the same file
    first = frame["created"].min().timestamp()
    ((key, t_first, _t_last, cases, _events, label),) = journal.history()
    assert (key, t_first, cases, label) == (mapped.key, first, 6, "months.csv")
    assert journal.has_history(mapped.key) and not journal.has_history("import:other")
    live = Store()
    assert journal.load_history(live) == 6 and len(live) == 6
    assert journal.remove_history(mapped.key) is True
    assert journal.remove_history(mapped.key) is False
    assert journal.history() == [] and not journal.has_history(mapped.key)
    assert journal.load_history(Store()) == 0
    # Through a recorder: no history given, none kept; the store holds the cases anyway.
    rec = Recorder(Store(), journal)
    rec.bulk_load(seg.at(None))
    assert journal.history() == [] and len(rec.store) == 6 and not rec.store.history_rows().any()
    rec.bulk_load(seg.at(None), history=seg, key=mapped.key)
    assert [(h[0], h[5]) for h in journal.history()] == [(mapped.key, "")]
    rec.set_clock(T0)
    assert rec.store.clock.rate == 1.0
    journal.close()


def test_prune_counts_the_rows_it_cuts_by_age_then_by_size(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), checkpoint_every=10,
                      max_age_s=15, prune_every=10**9)  # fmt: skip
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0())  # checkpoint 0 at T0
    events = make_events(30)  # T0 .. T0 + 29
    for k in (0, 10, 20):  # a checkpoint after each ten: at T0 + 9, T0 + 19, T0 + 29
        rec.apply(events[k : k + 10])
    journal.flush()
    assert journal.prune(now_t=T0 + 5) == 0  # nothing older than 15 s before T0 + 5
    # By age at the newest time (T0 + 29): cut at the last checkpoint by T0 + 14 (T0 + 9).
    assert journal.prune() == 10 and journal.count() == 20
    # By size: rotate out a segment at a time until one checkpoint is left.
    journal.max_bytes = 0
    assert journal.prune() == 20 and journal.count() == 0
    assert journal.bounds() == (T0 + 29, T0 + 29)
    journal.close()


def test_store_state_is_snapshot_shaped(tmp_path: Path) -> None:
    from commandcenter.journal import store_state

    store = Store()
    assert store_state(store)["now"] == 0.0  # no feed clock yet
    store.reset(p.Snapshot(
        v=1, epoch="e9", seq=4, now=T0, rate=0.0,
        units=[p.UnitStatusData(id="U1", name="执法1", kind="enforcement", status="available")],
        positions=[p.UnitPosition(id="U1", lon=113.6, lat=37.8, heading=90.0, speed=5.0, ts=T0 - 2)],
    ))  # fmt: skip
    state = store_state(store)
    assert (state["v"], state["epoch"], state["seq"], state["now"], state["rate"]) == (
        1, "e9", 4, T0, 0.0,
    )  # fmt: skip
    assert state["positions"] == [
        {"id": "U1", "lon": 113.6, "lat": 37.8, "heading": 90.0, "speed": 5.0, "ts": T0 - 2}
    ]
    assert [u.id for u in state["units"]] == ["U1"]
    assert state["grids"] == [] and state["cases"] == [] and state["alerts"] == []


def test_append_commits_by_rows_and_counts_what_it_took(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "j.sqlite3"
    journal = Journal(path, journal_codec(), commit_rows=3, commit_interval_s=3600)
    on_disk = sqlite3.connect(path)

    def written() -> int:
        return on_disk.execute("SELECT count(*) FROM events").fetchone()[0]

    events = make_events(5)
    assert journal.append(events[:2]) == 2 and written() == 0  # under commit_rows: buffered
    assert journal.append(events[2:3]) == 1 and written() == 3  # three rows: one commit
    assert journal.append(events[3:5]) == 2 and journal.appended == 5
    on_disk.close()
    journal.close()


def test_the_size_bound_is_exceeded_only_above_it(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), checkpoint_every=10,
                      prune_every=10**9)  # fmt: skip
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0())
    rec.apply(make_events(20)[:10])
    rec.apply(make_events(20)[10:])
    journal.flush()
    journal.max_bytes = journal.size_bytes()  # exactly at the bound: nothing to rotate
    assert journal.prune() == 0 and journal.count() == 20
    journal.close()


def test_the_recorder_journals_only_what_the_store_took(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0(now=0.0))
    assert journal.bounds() == (0.0, 0.0)  # a snapshot without a time: the checkpoint at 0
    events = make_events(3)
    rec.apply(events)
    rec.apply(events[2:])  # the last one again: a duplicate
    bad = p.CaseData(id="X1", version=1, category="井盖缺失", source="hotline",
                     urgency="normal", state="no-such-state", township="T1", grid="G1",
                     lon=113.6, lat=37.8, created_ts=T0, state_ts=T0)  # fmt: skip
    cs = rec.apply([p.Event(seq=4, kind=p.CASE_CREATED, ts=T0 + 4, data=bad)])
    assert [s for s, _ in cs.rejected] == [4]
    assert journal.count() == 3 and [r[1] for r in journal.rows()] == [1, 2, 3]
    journal.close()
    told: list[str] = []
    closed = Journal(tmp_path / "k.sqlite3", journal_codec())
    closed._db.close()
    Recorder(Store(), closed, on_failure=told.append).reset(snapshot0())
    assert told == ["ProgrammingError: Cannot operate on a closed database."]


def test_an_unreadable_history_segment_is_left_out_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3

    from feeds.sources.importer import ImportResult, map_file
    from feeds.sources.profile import parse_profile
    from tests.test_sources_import import CITY_PROFILE, _month_export

    export = tmp_path / "months.csv"
    _month_export(export, n=4)
    path = tmp_path / "j.sqlite3"
    journal = Journal(path, journal_codec())
    mapped = map_file(export, parse_profile(CITY_PROFILE, "city.toml"), ImportResult(), journal)
    assert mapped is not None
    journal.append_history(mapped.key, mapped.mapped.cases, "months.csv")
    db = sqlite3.connect(path)
    db.execute("UPDATE history SET segment = x'00'")
    db.commit()
    db.close()
    with caplog.at_level("WARNING", logger="commandcenter.journal"):
        assert journal.load_history(Store()) == 0
    (msg,) = [r.getMessage() for r in caplog.records]
    assert msg.startswith("history segment 1 unreadable, left out: ")
    assert not msg.endswith(": None"), "the reason is said"
    journal.close()


# ---- by hand: the feed's past written in front of the live rows -----------------------------


def test_the_past_is_asked_for_only_where_the_journal_does_not_reach(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(Store(), journal)  # three hours by default
    assert rec.history_s == 3 * 3600
    assert Recorder(Store(), journal, history_s=5 * 86_400).history_s == 86_400  # a day at most
    assert Recorder(Store(), journal, history_s=-5).history_s == 0.0
    assert Recorder(Store(), journal, history_s=0).history_since(T0) is None  # history off
    assert rec.history_since(T0) == T0 - 3 * 3600  # an empty journal: the whole window
    rec.reset(snapshot0(now=T0))  # the journal now reaches T0
    assert rec.history_since(T0 + 60) == T0  # a gap of a minute: fetched, from T0 on
    assert rec.history_since(T0 + 59.5) is None  # under a minute: not worth a fetch
    assert rec.history_since(T0 + 4 * 3600) == T0 + 3600  # never more than the window
    writer = rec.history_writer()
    assert rec.history_pending and writer.ok and rec.history_since(T0 + 7200) is None
    writer.finish()
    assert not rec.history_pending and not writer.ok
    assert rec.history_since(T0 + 7200) == T0
    journal._db.close()
    rec.reset(snapshot0("e2", now=T0 + 1))  # its checkpoint fails
    assert rec.failed and rec.history_since(T0 + 7200) is None


def test_the_past_is_written_before_the_live_rows_held_meanwhile(tmp_path: Path) -> None:
    import sqlite3

    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), checkpoint_every=5)
    live = Store()
    rec = Recorder(live, journal)
    writer = rec.history_writer()
    assert (writer.written, writer.rejected, len(writer.scratch)) == (0, [], 0)
    past = make_events(10, t0=T0 - 3600)  # seq 1..10 at T0 - 3600 .. T0 - 3591
    bad = p.CaseData(id="X1", version=1, category="井盖缺失", source="hotline",
                     urgency="normal", state="no-such-state", township="T1", grid="G1",
                     lon=113.6, lat=37.8, created_ts=T0, state_ts=T0)  # fmt: skip
    base = p.Snapshot(v=1, epoch="e1", seq=0, now=T0 - 3600, rate=1.0, cases=[bad])
    assert writer.begin(base) is True
    assert [s for s, _ in writer.rejected] == [0]  # the base's bad case, refused as live
    assert writer.add(past[:6]) is True and writer.written == 6
    assert writer.add(past[:6]) is True and writer.written == 6  # nothing new: nothing written
    refused = p.Event(seq=7, kind=p.CASE_CREATED, ts=T0 - 3594, data=bad)
    assert writer.add([refused, *past[7:10]]) is True and writer.written == 9
    assert [s for s, _ in writer.rejected] == [0, 7]
    # Live meanwhile: a snapshot at seq 20 of another epoch, then seven events; all held.
    rec.reset(snapshot0("live", seq=20, now=T0))
    at_snapshot = fingerprint(live)
    rec.apply(make_events(5, start_seq=21, t0=T0 + 1, seed=3))  # five: a held checkpoint
    at_five = fingerprint(live)
    rec.apply(make_events(2, start_seq=26, t0=T0 + 6, seed=4))  # two more: none
    assert journal.count() == 9  # the past only: the live rows wait
    writer.finish()
    assert not rec.history_pending and len(writer.scratch) == 0
    assert [r[1] for r in journal.rows()] == [1, 2, 3, 4, 5, 6, 8, 9, 10, *range(21, 28)]
    with sqlite3.connect(tmp_path / "j.sqlite3") as db:
        assert db.execute("SELECT epoch, seq FROM checkpoints ORDER BY id").fetchall() == [
            ("e1", 0), ("e1", 6), ("live", 20), ("live", 25),
        ]  # fmt: skip
    view = Store()
    assert journal.bounds() == (T0 - 3600, T0 + 7)
    got = journal.seek_into(view, T0 - 3600 + 2.5)  # from the base: three events replayed
    assert (got.seq, got.epoch, got.replayed, got.clamped) == (3, "e1", 3, False)
    assert view.case("X1") is None
    got = journal.seek_into(view, T0 - 3595)  # the checkpoint after six past events
    assert (got.seq, got.replayed) == (6, 0)
    got = journal.seek_into(view, T0 - 3591)  # three rows after it: under five, none due
    assert (got.seq, got.replayed) == (10, 3)
    got = journal.seek_into(view, T0 + 0.5)  # the live snapshot, held and written after
    assert (got.seq, got.epoch, got.replayed) == (20, "live", 0)
    assert fingerprint(view) == at_snapshot
    got = journal.seek_into(view, T0 + 5)  # the held checkpoint after five live events
    assert (got.seq, got.replayed) == (25, 0) and fingerprint(view) == at_five
    got = journal.seek_into(view, T0 + 7)  # two events after it
    assert (got.seq, got.replayed) == (27, 2)
    assert fingerprint(view) == fingerprint(live)
    journal.close()


def test_a_live_feed_that_outruns_the_hold_abandons_the_past_not_the_live_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), checkpoint_every=10_000)
    rec = Recorder(Store(), journal)
    rec.HOLD_MAX = 4  # type: ignore[misc]
    writer = rec.history_writer()
    assert writer.ok and writer.reason == "abandoned"  # the word, should it stop
    rec.reset(snapshot0(seq=0, now=T0))
    events = make_events(6)
    rec.apply(events[:4])  # four held: at the bound, still held
    assert rec.history_pending and journal.count() == 0
    with caplog.at_level("WARNING", logger="commandcenter.journal"):
        rec.apply(events[4:5])  # the fifth: the live rows go now
    assert [r.getMessage() for r in caplog.records] == [
        "history abandoned: 5 live events arrived meanwhile"
    ]
    assert not rec.history_pending and not writer.ok
    assert journal.count() == 5
    assert writer.begin(snapshot0()) is False and writer.add(make_events(3)) is False
    writer.finish()
    rec.apply(events[5:])
    assert [r[1] for r in journal.rows()] == [1, 2, 3, 4, 5, 6]
    view = Store()
    assert journal.seek_into(view, T0 + 10).seq == 6
    journal.close()


def test_a_journal_that_fails_while_the_past_is_written_stops_the_writer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    told: list[str] = []
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(Store(), journal, on_failure=told.append)
    writer = rec.history_writer()
    journal._db.close()
    with caplog.at_level("ERROR", logger="commandcenter.journal"):
        assert writer.begin(snapshot0(now=T0 - 60)) is False
    assert [r.getMessage() for r in caplog.records] == [
        "journal stopped recording: ProgrammingError: Cannot operate on a closed database."
    ]
    assert writer.reason == "journal" and not writer.ok
    assert told == ["ProgrammingError: Cannot operate on a closed database."]
    assert writer.add(make_events(2)) is False and writer.written == 0
    writer.finish()  # lets the held rows go (none are written: the journal failed)
    assert not rec.history_pending and told == [told[0]]


def test_raw_rows_come_ten_thousand_at_a_time_unless_asked_otherwise(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    events = make_events(10_001, step=0.01)
    journal.append(events)
    rows = journal.rows()
    assert (len(rows), rows[0][0], rows[-1][0]) == (10_000, 1, 10_000)
    assert [r[0] for r in journal.rows(after_n=10_000)] == [10_001]
    assert len(journal.rows(limit=10_001)) == 10_001
    journal.close()


def test_a_history_write_that_fails_stops_recording_but_not_the_load(tmp_path: Path) -> None:
    import sqlite3

    from feeds.sources.importer import ImportResult, map_file
    from feeds.sources.profile import parse_profile
    from tests.test_sources_import import CITY_PROFILE, _month_export

    export = tmp_path / "months.csv"
    _month_export(export, n=3)
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    mapped = map_file(export, parse_profile(CITY_PROFILE, "city.toml"), ImportResult(), journal)
    assert mapped is not None
    seg = mapped.mapped.cases

    def disk_full(row: tuple) -> bool:
        raise sqlite3.OperationalError("database or disk is full")

    journal._insert_history = disk_full  # type: ignore[method-assign]
    told: list[str] = []
    rec = Recorder(Store(), journal, on_failure=told.append)
    cs = rec.bulk_load(seg.at(None), history=seg, key=mapped.key, label="months.csv")
    assert told == ["OperationalError: database or disk is full"] and rec.failed == told[0]
    assert cs.applied == 3 and len(rec.store) == 3
    # The rows were loaded as the segment's: the journal, stopped for good, never
    # checkpoints without them.
    assert rec.store.history_rows().tolist() == [True, True, True]
    rec.reset(snapshot0())
    assert journal.bounds() is None and told == [told[0]]
    # A recorder that has failed keeps no history, and its loads are the live store's own.
    rec.bulk_load(seg.at(None), history=seg, key="import:again")
    assert journal.history() == [] and rec.store.history_rows().tolist() == [False, False, False]
    journal.close()


def test_a_forked_process_writes_imported_history_too(tmp_path: Path) -> None:
    """A process forked after an import (a worker, a test runner's child) inherits the
    pools that hash files and write history without their threads; its own import must
    still go through."""
    import os
    import signal
    import warnings

    from feeds.sources.importer import ImportResult, map_file
    from feeds.sources.profile import parse_profile
    from tests.test_sources_import import CITY_PROFILE, _month_export

    export = tmp_path / "months.csv"
    _month_export(export, n=2)
    here = Journal(tmp_path / "a.sqlite3", journal_codec())
    mapped = map_file(export, parse_profile(CITY_PROFILE, "city.toml"), ImportResult(), here)
    assert mapped is not None
    assert here.append_history(mapped.key, mapped.mapped.cases) is True  # the pool's thread runs
    with warnings.catch_warnings():  # "multi-threaded, fork() may deadlock": the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: exit code 0 when its write went through
        code = 1
        try:
            there = Journal(tmp_path / "b.sqlite3", journal_codec())
            again = map_file(
                export, parse_profile(CITY_PROFILE, "city.toml"), ImportResult(), there
            )
            code = 0 if again and there.append_history(again.key, again.mapped.cases) else 3
        finally:
            os._exit(code)
    status = None
    for _ in range(300):  # a hung child is stopped after about 30 s, and fails the test
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert Journal(tmp_path / "b.sqlite3", journal_codec()).has_history(mapped.key)
    here.close()


def test_a_journal_failing_at_any_step_of_the_past_says_why(tmp_path: Path) -> None:
    why = "ProgrammingError: Cannot operate on a closed database."

    def writer_of(name: str, commit_rows: int = 5000, now: float = T0 - 10):
        told: list[str] = []
        journal = Journal(tmp_path / name, journal_codec(), commit_rows=commit_rows)
        rec = Recorder(Store(), journal, on_failure=told.append)
        writer = rec.history_writer()
        assert writer.begin(snapshot0(now=now)) is True
        return journal, rec, writer, told

    journal, rec, writer, told = writer_of("add.sqlite3", commit_rows=1, now=0.0)
    assert journal.bounds() == (0.0, 0.0)  # a base without a time: its checkpoint at 0
    journal._db.close()
    assert writer.add(make_events(2)) is False and told == [why]  # the write of the rows
    journal, rec, writer, told = writer_of("finish.sqlite3")
    assert writer.add(make_events(2)) is True  # queued, not written yet
    journal._db.close()
    writer.finish()
    assert told == [why] and not rec.history_pending  # the last rows of the past
    journal, rec, writer, told = writer_of("release.sqlite3")
    rec.reset(snapshot0("live", seq=5, now=T0))  # a live checkpoint, held
    journal._db.close()
    writer.finish()
    assert told == [why] and not rec.history_pending  # the held live rows


# ---- by hand: the edges of the journal's rules ------------------------------------------------


def _imported(tmp_path: Path, n: int = 6, name: str = "months.csv", prefix: str = "M"):  # type: ignore[no-untyped-def]
    """(segment, its first filing time) of ``n`` tickets ``prefix``0, ``prefix``1, ...,
    one a day from 2 January 2024."""
    from feeds.sources.importer import ImportResult, map_file
    from feeds.sources.profile import parse_profile
    from tests.test_sources_import import CITY_PROFILE, _month_export

    export = tmp_path / name
    frame = _month_export(export, n=n)
    export.write_text(export.read_text(encoding="utf-8").replace("\nM", f"\n{prefix}"), encoding="utf-8")
    mapped = map_file(export, parse_profile(CITY_PROFILE, "city.toml"), ImportResult())
    assert mapped is not None
    return mapped.mapped.cases, frame["created"].min().timestamp()


class _Codec:
    """The journal's codec, with a hook on each call (counts, refusals)."""

    def __init__(self, **hooks) -> None:  # type: ignore[no-untyped-def]
        self.inner = journal_codec()
        self.hooks = hooks
        self.decoded_history = 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return self.hooks.get(name) or getattr(self.inner, name)

    def decode_history(self, raw: bytes):  # type: ignore[no-untyped-def]
        self.decoded_history += 1
        return self.inner.decode_history(raw)


def test_a_journal_makes_the_folders_its_file_is_to_be_in(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal" / "j.sqlite3"
    journal = Journal(path, journal_codec())
    journal.append(make_events(1))
    assert journal.count() == 1 and path.is_file()
    journal.close()


def test_a_reopened_journal_numbers_on_from_its_rows_and_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path, journal_codec(), checkpoint_every=5)
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0())  # checkpoint at n 0, T0
    rec.apply(make_events(7))  # n 1..7 at T0 .. T0 + 6; due after them: a checkpoint at n 7
    journal.close()
    again = Journal(path, journal_codec(), checkpoint_every=5)
    assert not again.checkpoint_due()  # the checkpoint at n 7 is the newest row
    events = make_events(12)
    again.append(events[7:8])  # n 8 at T0 + 7: one row, one second after the checkpoint
    assert not again.checkpoint_due()
    assert [(r[0], r[1]) for r in again.rows(after_n=7)] == [(8, 8)]
    again.append(events[8:12])  # n 9..12: five rows after the checkpoint
    assert again.checkpoint_due()
    again.close()


def test_a_journal_without_a_checkpoint_falls_due_from_nothing(tmp_path: Path) -> None:
    by_count = Journal(tmp_path / "a.sqlite3", journal_codec(), checkpoint_every=5,
                       checkpoint_interval_s=1e12)  # fmt: skip
    events = make_events(5)
    by_count.append(events[:4])
    assert not by_count.checkpoint_due()
    by_count.append(events[4:])
    assert by_count.checkpoint_due()
    by_count.close()
    by_time = Journal(tmp_path / "b.sqlite3", journal_codec(), checkpoint_interval_s=1800.0)
    by_time.append(make_events(1, t0=1000.0))
    assert not by_time.checkpoint_due()
    by_time.append(make_events(1, start_seq=2, t0=1800.0))  # 1800 s of feed time since 0
    assert by_time.checkpoint_due()
    by_time.close()


def test_prune_runs_every_prune_every_rows_appended(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), commit_rows=1, prune_every=4,
                      max_age_s=5, checkpoint_every=10**9, checkpoint_interval_s=1e9)  # fmt: skip
    ev = make_events(8)

    def at(i: int, t: float) -> list[p.Event]:
        return [p.Event(seq=ev[i].seq, kind=ev[i].kind, ts=t, data=ev[i].data)]

    journal.append(at(0, T0))
    journal.append(at(1, T0 + 1))
    journal.checkpoint(Store(), at=T0 + 1)  # after n 2
    journal.append(at(2, T0 + 10))  # three rows appended: no prune yet
    assert journal.count() == 3
    journal.append(at(3, T0 + 11))  # the fourth: prune, by age before the checkpoint
    assert journal.count() == 2
    journal.append(at(4, T0 + 12))  # one since the prune
    journal.checkpoint(Store(), at=T0 + 12)  # after n 5
    journal.append(at(5, T0 + 30))
    journal.append(at(6, T0 + 31))  # three since the prune
    assert journal.count() == 5
    journal.append(at(7, T0 + 32))  # four: prune, cut at the checkpoint after n 5
    assert journal.count() == 3
    journal.close()


def test_a_batch_that_fails_to_commit_is_rolled_back_with_its_error(tmp_path: Path) -> None:
    import sqlite3

    inner = journal_codec()
    codec = _Codec(encode_event=lambda ev: {} if ev.seq == 2 else inner.encode_event(ev))
    path = tmp_path / "j.sqlite3"
    journal = Journal(path, codec, commit_rows=2)  # type: ignore[arg-type]
    with pytest.raises(sqlite3.ProgrammingError, match="not supported"):
        journal.append(make_events(2))  # the second row cannot be bound
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0  # not even the first


def test_a_journal_opened_on_one_thread_is_used_from_another(tmp_path: Path) -> None:
    import threading

    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    got: list[object] = []

    def elsewhere() -> None:
        try:
            journal.append(make_events(3))
            got.append(journal.count())
        except Exception as err:  # the failure is the result
            got.append(err)

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    assert got == [3]
    journal.close()


def test_seeks_at_the_edges_of_the_live_journal(tmp_path: Path) -> None:
    empty = Journal(tmp_path / "e.sqlite3", journal_codec())
    with pytest.raises(LookupError, match=r"^the journal holds no checkpoint yet$"):
        empty.seek_into(Store(), T0)
    empty.close()
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(Store(), journal)
    assert rec.failed == ""
    rec.reset(snapshot0())  # the checkpoint at n 0, T0
    rec.apply(make_events(3, t0=T0 + 10))  # seq 1..3 at T0 + 10 .. T0 + 12
    view = Store()
    got = journal.seek_into(view, T0 + 5)  # before the first event: the checkpoint alone
    assert (got.seq, got.replayed, got.reached, got.clamped) == (0, 0, T0, False)
    assert len(view) == 0 and view.seq == 0
    seen: list = []
    view.subscribe(seen.append)
    journal.seek_into(view, T0 + 11)  # one reset change set for the whole rebuild
    assert [(cs.reset, cs.first_seq, cs.last_seq) for cs in seen] == [(True, 2, 2)]
    journal.close()


def test_a_seek_counts_every_event_it_replays_past_one_read(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), checkpoint_every=10**9,
                      checkpoint_interval_s=1e9)  # fmt: skip
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0())
    rec.apply(make_events(20_003))  # events are read 20,000 at a time
    got = journal.seek_into(Store(), T0 + 20_002)
    assert (got.seq, got.replayed) == (20_003, 20_003)
    journal.close()


def test_a_seek_lays_imported_cases_as_of_the_moment_over_the_live_state(tmp_path: Path) -> None:
    seg, first = _imported(tmp_path)  # filed at first, first + 1 day, ... first + 5 days
    DAY = 86_400.0
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0(now=first + 2.5 * DAY))  # the live journal begins mid-import
    live = make_events(3, t0=first + 2.5 * DAY + 1, seed=11)
    rec.apply(live)
    journal.append_history("import:months", seg)
    assert journal.history()[0][5] == ""  # no label given
    view = Store()
    got = journal.seek_into(view, first + 4.5 * DAY)  # five filed by then
    assert got.replayed == 3 + 5 and not got.clamped
    assert sum(view.case(f"M{i}") is not None for i in range(6)) == 0  # namespaced ids
    assert len(view) - len(_store_of(live)) == 5
    early = journal.seek_into(view, first - DAY)  # older than the journal: its oldest state
    assert early.clamped and early.reached == first + 2.5 * DAY
    assert len(view) == 3 and early.replayed == 3  # the three filed by the oldest state
    journal.close()


def _store_of(events: list[p.Event]) -> Store:
    store = Store()
    store.reset(snapshot0())
    store.apply(events)
    return store


def test_segments_are_decoded_once_and_an_unreadable_one_skips_only_itself(
    tmp_path: Path,
) -> None:
    import sqlite3

    older, _ = _imported(tmp_path, n=4, name="a.csv")
    newer, _ = _imported(tmp_path, n=3, name="b.csv")
    codec = _Codec()
    path = tmp_path / "j.sqlite3"
    journal = Journal(path, codec)  # type: ignore[arg-type]
    journal.append_history("import:a", older)
    journal.append_history("import:b", newer)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE history SET segment = x'00' WHERE key = 'import:a'")
    assert journal.load_history(Store()) == 3  # the second segment still loads
    assert journal.load_history(Store()) == 3
    assert codec.decoded_history == 3  # a, b; then b kept (a is tried again: unreadable)
    journal.close()


def test_bounds_reach_a_reopened_checkpoint_and_the_end_of_imported_history(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path, journal_codec())
    Recorder(Store(), journal).reset(snapshot0(now=T0))  # a checkpoint, no events
    journal.close()
    again = Journal(path, journal_codec())
    assert again.bounds() == (T0, T0)
    again.close()
    seg, first = _imported(tmp_path)
    other = Journal(tmp_path / "k.sqlite3", journal_codec())
    Recorder(Store(), other).reset(snapshot0(now=first + 86_400.0))
    other.append_history("import:months", seg)
    last = seg.last_time()
    assert last > first + 86_400.0  # the import reaches past the live journal
    assert other.bounds() == (first, last)
    other.close()


def test_rotation_stops_at_a_segment_with_no_rows_and_says_how_many_it_cut(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    journal.checkpoint(Store(), at=T0)
    journal.checkpoint(Store(), at=T0 + 1)  # no event between the two
    journal.max_bytes = 0
    assert journal.prune() == 0
    journal.close()


def test_imported_history_does_not_count_against_the_live_byte_bound(tmp_path: Path) -> None:
    seg, _ = _imported(tmp_path, n=60)
    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), checkpoint_every=10,
                      prune_every=10**9)  # fmt: skip
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0())
    rec.apply(make_events(20))  # two checkpoints after the first
    journal.append_history("import:months", seg)
    journal.flush()
    journal.max_bytes = journal.size_bytes()  # the whole file, the history in it
    assert journal.prune() == 0 and journal.count() == 20
    rec.apply(make_events(22)[20:])  # a commit: still under the bound without the history
    journal.flush()
    assert journal.count() == 22
    journal.close()


def test_the_recorder_journals_the_rest_of_a_batch_it_refused_part_of(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0())
    events = make_events(3)
    bad = p.CaseData(id="X1", version=1, category="井盖缺失", source="hotline",
                     urgency="normal", state="no-such-state", township="T1", grid="G1",
                     lon=113.6, lat=37.8, created_ts=T0, state_ts=T0)  # fmt: skip
    refused = p.Event(seq=2, kind=p.CASE_CREATED, ts=T0 + 1, data=bad)
    cs = rec.apply([events[0], refused, events[2]])
    assert [s for s, _ in cs.rejected] == [2]
    assert [r[1] for r in journal.rows()] == [1, 3]
    journal.close()


def test_a_recorder_that_failed_writes_nothing_more(tmp_path: Path) -> None:
    import sqlite3

    journal = Journal(tmp_path / "j.sqlite3", journal_codec(), commit_rows=1)
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0())
    events = make_events(4)
    rec.apply(events[:1])
    append = journal.append

    def full(evs):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("database or disk is full")

    journal.append = full  # type: ignore[method-assign]
    rec.apply(events[1:2])
    journal.append = append  # type: ignore[method-assign]  # the disk has room again
    assert rec.failed == "OperationalError: database or disk is full"
    rec.apply(events[2:4])
    assert [r[1] for r in journal.rows()] == [1] and rec.store.seq == 4
    journal.close()


def test_live_rows_held_without_a_snapshot_are_checkpointed_by_count(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "j.sqlite3"
    journal = Journal(path, journal_codec(), checkpoint_every=5)
    rec = Recorder(Store(), journal)
    rec.reset(snapshot0())  # a checkpoint at seq 0
    writer = rec.history_writer()  # a gap: the past is fetched while the feed resumes
    rec.apply(make_events(5))  # five live events held: a held checkpoint after them
    writer.finish()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT seq FROM checkpoints ORDER BY id").fetchall() == [(0,), (5,)]
    journal.close()


def test_a_history_the_recorder_keeps_has_the_key_and_label_given(tmp_path: Path) -> None:
    seg, _ = _imported(tmp_path, n=3)
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(Store(), journal)
    rec.bulk_load(seg.at(None), history=seg, key="import:m", label="months.csv")
    rec.bulk_load(seg.at(None), history=seg)  # no key, no label: both empty
    assert [(h[0], h[5]) for h in journal.history()] == [("import:m", "months.csv"), ("", "")]
    journal.close()


def test_a_history_that_cannot_be_encoded_stops_recording_but_not_the_load(
    tmp_path: Path,
) -> None:
    seg, _ = _imported(tmp_path, n=3)

    def no_room(segment):  # type: ignore[no-untyped-def]
        raise OSError("no space left on device")

    journal = Journal(tmp_path / "j.sqlite3", _Codec(encode_history=no_room))  # type: ignore[arg-type]
    rec = Recorder(Store(), journal)
    cs = rec.bulk_load(seg.at(None), history=seg, key="import:m")
    assert rec.failed == "OSError: no space left on device"
    assert cs.applied == 3 and not rec.store.history_rows().any()  # the live store's own
    journal.close()


def _quiet(seq: int, ts: float) -> p.Event:
    return p.Event(seq=seq, kind=p.KPI_UPDATE, ts=ts, data=p.Kpi(name="k", value=1.0))


def test_rows_are_committed_every_5000_or_after_half_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3
    from types import SimpleNamespace

    import commandcenter.journal as journal_module

    clock = [100.0]
    monkeypatch.setattr(journal_module, "time",
                        SimpleNamespace(monotonic=lambda: clock[0], perf_counter=time.perf_counter))  # fmt: skip
    path = tmp_path / "j.sqlite3"
    journal = Journal(path, _Codec(encode_event=lambda ev: b""))  # type: ignore[arg-type]
    on_disk = sqlite3.connect(path)

    def written() -> int:
        return on_disk.execute("SELECT count(*) FROM events").fetchone()[0]

    journal.append([_quiet(i, T0) for i in range(1, 5000)])
    assert written() == 0  # 4,999 rows, no time passed
    journal.append([_quiet(5000, T0)])
    assert written() == 5000
    clock[0] = 100.25
    journal.append([_quiet(5001, T0)])
    assert written() == 5000  # a quarter of a second after the commit: buffered
    clock[0] = 100.5
    journal.append([_quiet(5002, T0)])
    assert written() == 5002  # half a second: committed
    on_disk.close()
    journal.close()


def test_prune_runs_after_every_50000_rows_by_default(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", _Codec(encode_event=lambda ev: b""), max_age_s=5)  # type: ignore[arg-type]
    journal.append([_quiet(1, T0), _quiet(2, T0 + 1)])
    journal.checkpoint(Store(), at=T0 + 1)  # after n 2: older than 5 s once the rows reach T0 + 10
    journal.append([_quiet(i, T0 + 10) for i in range(3, 50_000)])
    journal.flush()
    assert journal.count() == 49_999  # 49,999 rows appended: no prune yet
    journal.append([_quiet(50_000, T0 + 10)])
    journal.flush()
    assert journal.count() == 49_998  # the 50,000th: pruned by age, the two before the checkpoint
    journal.close()


def test_between_prunes_only_the_live_rows_count_against_the_byte_bound(tmp_path: Path) -> None:
    import sqlite3

    seg, _ = _imported(tmp_path, n=60)
    path = tmp_path / "j.sqlite3"
    journal = Journal(path, journal_codec(), max_age_s=5, prune_every=10**9)
    journal.append_history("import:months", seg)
    with sqlite3.connect(path) as db:
        (imported,) = db.execute("SELECT bytes FROM history").fetchone()
    journal.append([_quiet(1, T0), _quiet(2, T0 + 1)])
    journal.checkpoint(Store(), at=T0 + 1)  # a prune now would cut the two rows by age
    journal.append([_quiet(3, T0 + 10)])
    journal.flush()
    journal.max_bytes = journal.size_bytes() - imported  # the live rows exactly at the bound
    journal.append([_quiet(4, T0 + 11)])
    journal.flush()
    assert journal.size_bytes() - imported == journal.max_bytes  # one more row, no more pages
    assert journal.count() == 4  # at the bound, not over it: no prune
    journal.max_bytes = journal.size_bytes()  # the whole file, the history in it
    journal.append([_quiet(5, T0 + 12)])
    journal.flush()
    assert journal.count() == 5
    journal.close()


def test_a_history_written_without_a_label_has_an_empty_one(tmp_path: Path) -> None:
    seg, _ = _imported(tmp_path, n=3)
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    assert journal.write_history("import:m", seg).result() is True
    assert [(h[0], h[5]) for h in journal.history()] == [("import:m", "")]
    journal.close()


def test_loading_the_history_counts_every_segment_and_marks_its_rows(tmp_path: Path) -> None:
    first, _ = _imported(tmp_path, n=4, name="a.csv", prefix="A")
    second, _ = _imported(tmp_path, n=3, name="b.csv", prefix="B")
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    journal.append_history("import:a", first)
    journal.append_history("import:b", second)
    live = Store()
    assert journal.load_history(live) == 4 + 3
    assert live.history_rows().tolist() == [True] * 7  # journaled: left out of checkpoints
    journal.close()


def test_the_recorder_sets_the_stores_clock(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(Store(), journal)
    rec.set_clock(T0, 4.0)
    assert (rec.store.clock.server_now, rec.store.clock.rate) == (T0, 4.0)
    journal.close()
