"""The case queue's core: vectorised filter and sort over the store's columns, the
free-text search, saved filters as plain dicts, and the 50 ms budget at 100k cases."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec
import numpy as np
import pytest

from commandcenter.domain import CaseState, Urgency
from commandcenter.queue import (
    BUILTIN_FILTERS,
    DUTY_QUEUES,
    STAGED_QUEUES,
    STAGES,
    QueueFilter,
    QueueIndex,
    SavedFilters,
    SortKey,
    columns,
)
from commandcenter.sla import HOUR, MINUTE
from commandcenter.store import Store
from feeds import protocol as P

CATS = ["占道经营", "井盖缺失", "路灯不亮", "垃圾满溢"]
STATES = ["reported", "signed", "assigned", "handling", "closed"]
SOURCES = ["hotline", "grid_worker", "inspector", "video", "sensor"]


def make_store(n: int, now: float, seed: int = 3) -> Store:
    rng = np.random.default_rng(seed)
    store = Store()
    store.set_clock(now)
    ages = rng.exponential(6 * HOUR, n)
    events = []
    for i in range(n):
        events.append(
            P.Event(
                i + 1,
                P.CASE_CREATED,
                now,
                P.CaseData(
                    id=f"PD{i:07d}",
                    version=1,
                    category=CATS[i % 4],
                    source=SOURCES[i % 5],
                    urgency="urgent" if i % 6 == 0 else "normal",
                    state=STATES[int(rng.integers(5))],
                    township=f"T{i % 7}",
                    grid=f"G{i % 50:02d}",
                    lon=113.6,
                    lat=37.8,
                    created_ts=now - float(ages[i]),
                    state_ts=now,
                    title=f"{CATS[i % 4]}{i}号",
                    assignee=["", "县城市管理局", "冠山镇"][i % 3],
                ),
            )
        )
    store.apply(events)
    return store


@pytest.fixture(scope="module")
def now() -> float:
    return time.time()


@pytest.fixture(scope="module")
def store(now: float) -> Store:
    return make_store(3000, now)


def records(store: Store, rows: np.ndarray) -> list:
    return [store.record_at(int(r)) for r in rows]


def test_filters_match_a_plain_python_scan(store: Store, now: float) -> None:
    q = QueueIndex(store)
    flt = QueueFilter(
        states=("reported", "signed"), categories=("井盖缺失",), townships=("T1", "T2")
    )
    got = {c.id for c in records(store, q.query(flt, now=now))}
    want = {
        c.id
        for c in (store.record_at(i) for i in range(len(store)))
        if c.state in flt.states and c.category in flt.categories and c.township in flt.townships
    }
    assert got == want and got


def test_levels_overdue_urgent_and_open(store: Store, now: float) -> None:
    q = QueueIndex(store)
    _, remaining, level = store.sla_arrays(now)
    rows = q.query(QueueFilter(levels=("red",)), now=now)
    assert rows.size and (level[rows] == 2).all()
    rows = q.query(QueueFilter(overdue_only=True), now=now)
    assert rows.size and (remaining[rows] < 0).all()
    rows = q.query(QueueFilter(urgent_only=True, open_only=True), now=now)
    assert {c.urgency for c in records(store, rows)} == {"urgent"}
    assert "closed" not in {c.state for c in records(store, rows)}
    rows = q.query(QueueFilter(levels=("none",)), now=now)
    assert {c.state for c in records(store, rows)} == {"closed"}


def test_text_search_finds_ids_titles_assignees_case_insensitively(store: Store) -> None:
    q = QueueIndex(store)
    rows = q.query(QueueFilter(text="pd000120"))
    assert {c.id for c in records(store, rows)} == {f"PD000120{i}" for i in range(10)}
    rows = q.query(QueueFilter(text="垃圾满溢11"))
    assert {c.title for c in records(store, rows)} >= {"垃圾满溢11号"}
    assert all("垃圾满溢11" in c.title for c in records(store, rows))
    rows = q.query(QueueFilter(text="冠山镇"))
    assert rows.size and all(c.assignee == "冠山镇" for c in records(store, rows))
    assert q.query(QueueFilter(text="no such thing")).size == 0


def test_search_follows_updates(now: float) -> None:
    store = make_store(50, now)
    q = QueueIndex(store)
    assert q.query(QueueFilter(text="新承办")).size == 0
    c = store.case("PD0000003")
    store.apply([P.Event(store.seq + 1, P.CASE_UPDATED, now, _bump(c, assignee="新承办单位"))])
    q.mark_dirty()
    assert [x.id for x in records(store, q.query(QueueFilter(text="新承办")))] == ["PD0000003"]


def _bump(c: P.CaseData, **kw: object) -> P.CaseData:
    import msgspec

    return msgspec.structs.replace(c, version=c.version + 1, **kw)


@pytest.mark.parametrize(
    ("key", "attr"),
    [("id", "id"), ("category", "category"), ("age", "created_ts")],
)
def test_sorts_agree_with_python(store: Store, now: float, key: str, attr: str) -> None:
    q = QueueIndex(store)
    rows = q.query(QueueFilter(), [SortKey(key)], now=now)
    vals = [getattr(c, attr) for c in records(store, rows)]
    if key == "age":
        assert vals == sorted(vals, reverse=True), "youngest first"
    else:
        assert vals == sorted(vals)
    down = q.query(QueueFilter(), [SortKey(key, descending=True)], now=now)
    assert next(getattr(c, attr) for c in records(store, down)) == (
        min(vals) if key == "age" else max(vals)
    )


def test_remaining_sort_puts_least_time_first_and_closed_last(store: Store, now: float) -> None:
    q = QueueIndex(store)
    milestone, remaining, _ = store.sla_arrays(now)
    rows = q.query(QueueFilter(), [SortKey("remaining")], now=now)
    running = rows[milestone[rows] > 0]
    assert (np.diff(remaining[running]) >= 0).all()
    assert (milestone[rows[running.size :]] == 0).all(), "no running limit: at the end"


def test_two_keys_and_ties_newest_first(store: Store, now: float) -> None:
    q = QueueIndex(store)
    rows = q.query(QueueFilter(), [SortKey("state"), SortKey("category")], now=now)
    recs = records(store, rows)
    keys = [(store._state[r], c.category) for r, c in zip(rows, recs, strict=True)]
    assert keys == sorted(keys)
    # within equal keys: the latest arrival first (arrival order is filing order live)
    tied = [
        int(r) for r, c in zip(rows, recs, strict=True) if keys[0] == (store._state[r], c.category)
    ]
    assert tied == sorted(tied, reverse=True)


def test_filter_round_trips_as_plain_dicts_and_tolerates_junk() -> None:
    f = QueueFilter(text="井盖", states=("reported",), levels=("red", "yellow"), urgent_only=True)
    assert QueueFilter.from_dict(f.to_dict()) == f
    assert QueueFilter.from_dict({"states": "signed", "bogus": 1, "open_only": 1}) == QueueFilter(
        states=("signed",), open_only=True
    )


def test_saved_filters_persist_builtins_are_read_only(tmp_path: Path) -> None:
    path = tmp_path / "filters.json"
    saved = SavedFilters(path)
    assert saved.names()[: len(BUILTIN_FILTERS)] == list(BUILTIN_FILTERS)
    saved.save("我的井盖", QueueFilter(categories=("井盖缺失",)))
    again = SavedFilters(path)
    assert again.get("我的井盖") == QueueFilter(categories=("井盖缺失",))
    with pytest.raises(ValueError):
        again.save("待签收", QueueFilter())
    assert again.delete("我的井盖") and again.get("我的井盖") is None
    path.write_text("{not json", encoding="utf-8")
    broken = SavedFilters(path)
    assert broken.problem and broken.names() == list(BUILTIN_FILTERS)


def test_100k_rows_sort_and_filter_within_50_ms() -> None:
    """The issue's budget (bench/queue.py reports the numbers); here with 2x slack for a
    shared machine, measured with the SLA evaluation the view needs anyway."""
    now = time.time()
    store = make_store(100_000, now)
    q = QueueIndex(store)
    q.query(QueueFilter(text="x"))  # builds the search text once
    cases = [
        (QueueFilter(), [SortKey("remaining")]),
        (QueueFilter(open_only=True, levels=("red", "yellow")), [SortKey("level"), SortKey("age")]),
        (QueueFilter(categories=("井盖缺失",), townships=("T3",)), [SortKey("area")]),
        (QueueFilter(text="井盖"), [SortKey("id", True)]),
    ]
    for flt, sort in cases:
        best = min(_timed(lambda f=flt, s=sort: q.query(f, s, now=now)) for _ in range(3))
        assert best <= 0.100, f"{flt} {sort}: {best * 1000:.1f} ms"


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_columns_are_views_of_the_store(store: Store) -> None:
    cols = columns(store)
    assert cols.n == len(store) and cols.level.shape == (cols.n,)
    assert MINUTE  # the module's constants stay importable


# ---- the in-place path: a change the cheap check calls "unmoved" must not move a row -----

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from commandcenter.queue import SORT_KEYS  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    sort_key=st.sampled_from(SORT_KEYS),
    descending=st.booleans(),
    open_only=st.booleans(),
    levels=st.sampled_from([(), ("red",), ("red", "yellow")]),
    edits=st.lists(
        st.tuples(
            st.integers(0, 299),
            st.sampled_from(STATES),
            st.sampled_from(["", "县城市管理局", "冠山镇"]),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_unmoved_agrees_with_a_full_requery(sort_key, descending, open_only, levels, edits) -> None:
    """Whenever ``unmoved`` allows patching rows in place, a full query at the same instant
    must give exactly the same rows in the same order: otherwise the table would lie."""
    now = 1_700_000_000.0
    store = make_store(300, now)
    index = QueueIndex(store)
    flt = QueueFilter(open_only=open_only, levels=levels)
    sort = (SortKey(sort_key, descending),)
    before = index.query_full(flt, sort, now)
    events = []
    changed = []
    for seq, (i, state, assignee) in enumerate(edits, start=store.seq + 1):
        old = store.case(f"PD{i:07d}")
        new = P.CaseData(**{f: getattr(old, f) for f in old.__struct_fields__})
        new.version = old.version + 1
        new.state = state
        new.assignee = assignee
        events.append(P.Event(seq, P.CASE_UPDATED, now, new))
        changed.append(i)
    store.apply(events)
    patched = before.unmoved(np.array(sorted(set(changed))))
    if patched is not None:
        after = QueueIndex(store).query(flt, sort, now)
        assert list(after) == list(before.rows)


def test_a_change_outside_every_key_is_patched_in_place_and_stays_exact() -> None:
    now = 1_700_000_000.0
    store = make_store(300, now)
    index = QueueIndex(store)
    sort = (SortKey("id"),)
    before = index.query_full(QueueFilter(open_only=True), sort, now)
    old = store.case("PD0000007")
    new = P.CaseData(**{f: getattr(old, f) for f in old.__struct_fields__})
    new.version = old.version + 1
    new.title = "改过的标题"  # shown, but neither filtered nor sorted on
    store.apply([P.Event(store.seq + 1, P.CASE_UPDATED, now, new)])
    patched = before.unmoved(np.array([7]))
    assert patched is not None  # the cheap path is taken ...
    assert list(QueueIndex(store).query(QueueFilter(open_only=True), sort, now)) == list(
        before.rows
    )
    # ... and a change of state that leaves the filter is not patched in place
    newer = P.CaseData(**{f: getattr(new, f) for f in new.__struct_fields__})
    newer.version = new.version + 1
    newer.state = "closed"
    store.apply([P.Event(store.seq + 1, P.CASE_UPDATED, now, newer)])
    if store.case("PD0000007") is not None and old.state != "closed":
        assert before.unmoved(np.array([7])) is None


# ---- duty queues ---------------------------------------------------------------------------

OPEN = {"discovered", "reported", "signed", "assigned", "returned", "handling"}  # by hand


def in_duty(c, sla, duty: str, stage: str) -> bool:
    """The duty queues as COMMAND_HALL.md states them, one case at a time."""
    running = int(sla.milestone) > 0
    duty_ok = {
        "": True,
        "to_sign": c.state == "reported",
        "to_dispatch": c.state in ("signed", "returned"),
        "due_soon": running and sla.level == "red" and sla.remaining >= 0,
        "overdue": running and sla.remaining < 0,
        "supervised": c.state in OPEN and c.supervised > 0,
    }[duty]
    stage_ok = {
        "": True,
        "sign": running and c.state in ("discovered", "reported"),
        "dispatch": running and c.state in ("signed", "returned"),
        "on_site": int(sla.milestone) == 2,
        "done": int(sla.milestone) == 3,
    }[stage]
    return duty_ok and stage_ok


def test_duty_queues_and_their_counts_match_a_plain_python_scan(now: float) -> None:
    store = make_store(2000, now, seed=5)
    supervised = [store.record_at(r) for r in range(0, 2000, 37)]
    store.apply(
        [
            P.Event(store.seq + 1 + i, P.CASE_UPDATED, now, msgspec.structs.replace(
                c, version=c.version + 1, supervised=2
            ))
            for i, c in enumerate(supervised)
        ]
    )  # fmt: skip
    q = QueueIndex(store)
    cols = columns(store, now)
    base = QueueFilter(open_only=True, townships=("T1", "T2", "T3"))
    counts = q.duty_counts(base, cols)
    pairs = (
        [("", "")]
        + [(d, "") for d in DUTY_QUEUES]
        + [(d, s) for d in STAGED_QUEUES for s in STAGES]
    )
    assert set(counts) == set(pairs)
    for duty, stage in pairs:
        flt = QueueFilter.from_dict({**base.to_dict(), "duty": duty, "stage": stage})
        rows = q.query(flt, now=now)
        want = sorted(
            c.id
            for c in (store.record_at(r) for r in range(len(store)))
            if c.state in OPEN
            and c.township in ("T1", "T2", "T3")
            and in_duty(c, store.policy.evaluate(c, now), duty, stage)
        )
        assert sorted(c.id for c in records(store, rows)) == want, (duty, stage)
        assert counts[(duty, stage)] == len(want), (duty, stage)
    assert counts[("supervised", "")] > 0 and counts[("overdue", "")] > 0
    assert counts[("overdue", "")] == sum(counts[("overdue", s)] for s in STAGES)


def test_an_unknown_duty_or_stage_shows_nothing_and_round_trips(store: Store, now: float) -> None:
    q = QueueIndex(store)
    assert q.query(QueueFilter(duty="from_a_newer_version"), now=now).size == 0
    assert q.query(QueueFilter(stage="nowhere"), now=now).size == 0
    flt = QueueFilter(duty="overdue", stage="on_site", open_only=True)
    assert QueueFilter.from_dict(flt.to_dict()) == flt


# ---- the search text, the caches and the saved-filter file, case by case ------------------


def _small_store(now: float) -> Store:
    """Three cases written out by hand; township T1 is called 冠山镇 on screen."""
    store = Store()
    store.set_clock(now)
    store.set_geography({"townships": [{"code": "T1", "name": "冠山镇"}]})
    rows = [
        ("PD0000001", "井盖\n缺失", "锦绣路13号", "T1", "G1", ""),
        ("PD0000002", "路灯不亮", "", "T2", "G2", "县城市管理局"),
        ("PD0000003", "垃圾满溢", "娘子关镇河北村", "T2", "G3", ""),
    ]
    store.apply([
        P.Event(i + 1, P.CASE_CREATED, now, P.CaseData(
            id=cid, version=1, category="井盖缺失", source="hotline", urgency="normal",
            state="reported", township=town, grid=grid, lon=113.6, lat=37.8,
            created_ts=now - 60, state_ts=now, title=title, address=addr, assignee=who))
        for i, (cid, title, addr, town, grid, who) in enumerate(rows)
    ])  # fmt: skip
    return store


def _ids(store: Store, mask: np.ndarray) -> list[str]:
    return [store.record_at(int(r)).id for r in np.flatnonzero(mask)]


def test_search_text_covers_every_field_and_nothing_between_them(now: float) -> None:
    store = _small_store(now)
    q = QueueIndex(store)
    assert _ids(store, q.text_mask("pd0000001")) == ["PD0000001"]  # the very first character
    assert _ids(store, q.text_mask("井盖 缺失")) == ["PD0000001"]  # a line break is a space
    assert _ids(store, q.text_mask("锦绣路")) == ["PD0000001"]  # the address
    assert _ids(store, q.text_mask("冠山镇")) == ["PD0000001"]  # the township by its name
    assert _ids(store, q.text_mask("河北村")) == ["PD0000003"]
    assert _ids(store, q.text_mask("g3")) == ["PD0000003"]
    assert _ids(store, q.text_mask("xx")) == []
    # Across the end of one case and the start of the next: no case holds that text.
    assert _ids(store, q.text_mask("g1\npd0000002")) == []
    assert _ids(store, q.text_mask("")) == _ids(store, q.text_mask("   ")) == [
        "PD0000001", "PD0000002", "PD0000003",
    ]  # fmt: skip


def test_the_search_text_is_rebuilt_for_new_rows_and_marked_changes(now: float) -> None:
    store = _small_store(now)
    q = QueueIndex(store)
    assert _ids(store, q.text_mask("新承办")) == []
    store.apply([P.Event(4, P.CASE_CREATED, now, P.CaseData(
        id="PD0000004", version=1, category="井盖缺失", source="hotline", urgency="normal",
        state="reported", township="T1", grid="G1", lon=113.6, lat=37.8, created_ts=now,
        state_ts=now, title="新承办的井盖"))])  # fmt: skip
    assert _ids(store, q.text_mask("新承办")) == ["PD0000004"], "a new row without mark_dirty"
    seq = 4
    for flags, title in (({"created": False}, "甲"), ({"updated": False}, "乙")):
        seq += 1
        c = _bump(store.case("PD0000002"), title=f"{title}路灯")
        store.apply([P.Event(seq, P.CASE_UPDATED, now, c)])
        q.mark_dirty(**flags)
        assert _ids(store, q.text_mask(f"{title}路灯")) == ["PD0000002"], flags


def test_state_tables_hold_exactly_their_states() -> None:
    from commandcenter.domain import CaseState
    from commandcenter.queue import _state_table
    from commandcenter.sla import STATE_ORDER

    table = _state_table((CaseState.SIGNED, CaseState.RETURNED))
    assert table.dtype == np.bool_ and len(table) == len(STATE_ORDER)
    assert [s for s, on in zip(STATE_ORDER, table, strict=True) if on] == ["signed", "returned"]


def test_a_fresh_sla_share_counts_its_hits_and_misses(now: float) -> None:
    from commandcenter.queue import _SlaShare

    store = _small_store(now)
    share = _SlaShare()
    assert (share.hits, share.misses) == (0, 0)
    share.arrays(store, now)
    share.arrays(store, now)
    assert (share.hits, share.misses) == (1, 1)


def test_the_saved_filter_file_is_readable_json_and_names_its_problems(tmp_path: Path) -> None:
    path = tmp_path / "filters.json"
    saved = SavedFilters(path)
    assert saved.problem == ""
    assert saved.get("待签收") == QueueFilter(states=("reported",))
    assert saved.is_builtin("红色预警") and not saved.is_builtin("我的")
    saved.save(" 我的 ", QueueFilter(text="井盖"))
    saved.save("another", QueueFilter(open_only=True))
    assert saved.names() == [*BUILTIN_FILTERS, "another", "我的"]
    assert SavedFilters(path).problem == ""
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n "我的": {\n  "text": "井盖",\n  "states": [],\n')
    assert saved.delete("nope") is False
    with pytest.raises(ValueError, match="cannot save a filter named '待签收'"):
        saved.save("待签收", QueueFilter())
    with pytest.raises(ValueError, match="cannot save a filter named ''"):
        saved.save("  ", QueueFilter())
    path.write_text("[1, 2]", encoding="utf-8")
    assert SavedFilters(path).problem == f"{path}: not a JSON object"


def _table_store(extra: list | None = None) -> Store:
    """The SLA oracle table (tests/test_sla_oracle.py) in a store, plus ``extra`` cases."""
    from commandcenter.sla import SlaPolicy
    from commandcenter.store import ChangeSet
    from tests.test_sla_oracle import CASES

    store = Store(SlaPolicy())
    for c in [*CASES, *(extra or [])]:
        store._put_case(c, None, ChangeSet())
    return store


def test_columns_of_some_rows_carry_the_sla_the_table_gives() -> None:
    import dataclasses

    from commandcenter.queue import columns_of_rows
    from commandcenter.sla import Milestone
    from tests.test_sla_oracle import CASES, NOW, TABLE

    codes = {"blue": 0, "yellow": 1, "red": 2, None: -1}
    # A record with its own deadline: 1,000 s into 1,500 s is yellow, 500 s left (without
    # it, a normal case in handling would be blue with 603,800 s left).
    own = dataclasses.replace(
        CASES[0], id="D1", state=CaseState.HANDLING, urgency=Urgency.NORMAL,
        created_ts=NOW - 1000, due_ts=NOW + 500,
    )  # fmt: skip
    store = _table_store([own])
    want = [(int(m), codes[lvl], left) for _, (m, lvl, left) in TABLE]
    want.append((int(Milestone.HANDLE), 1, 500))
    rows = np.arange(len(want))[::-3]  # a subset, in another order
    cols = columns_of_rows(store, rows, NOW)
    got = list(
        zip(cols.milestone.tolist(), cols.level.tolist(), cols.remaining.tolist(), strict=True)
    )
    assert got == [want[r] for r in rows]
    assert cols.category.tolist() == [store._codes["category"][r] for r in rows]


def test_duty_queue_counts_over_the_sla_table() -> None:
    import dataclasses

    from commandcenter.queue import columns
    from commandcenter.store import ChangeSet
    from tests.test_sla_oracle import CASES, NOW

    closed = next(i for i, c in enumerate(CASES) if c.state is CaseState.CLOSED)
    marks = {0: 1, 1: 2, closed: 1}  # supervised once, twice, and a closed case once
    store = Store()
    for i, c in enumerate(CASES):
        store._put_case(dataclasses.replace(c, supervised=marks.get(i, 0)), None, ChangeSet())
    cols = columns(store, NOW)
    # Counted by hand from the TABLE of tests/test_sla_oracle.py.
    want = {
        ("", ""): len(CASES),
        ("to_sign", ""): 7,
        ("to_dispatch", ""): 8,
        ("due_soon", ""): 14,  # red with time left, 0 s included
        ("due_soon", "sign"): 3, ("due_soon", "dispatch"): 4,
        ("due_soon", "on_site"): 1, ("due_soon", "done"): 6,
        ("overdue", ""): 6,
        ("overdue", "sign"): 1, ("overdue", "dispatch"): 2,
        ("overdue", "on_site"): 1, ("overdue", "done"): 2,
        ("supervised", ""): 2,
    }  # fmt: skip
    q = QueueIndex(store)
    # The tab counts ignore the filter's own duty and stage.
    assert q.duty_counts(QueueFilter(duty="overdue", stage="done"), cols) == want


def test_a_filter_as_a_plain_dict_has_lists_and_an_empty_string_means_any() -> None:
    f = QueueFilter(states=("reported",), levels=("red", "yellow"))
    assert f.to_dict()["states"] == ["reported"] and f.to_dict()["levels"] == ["red", "yellow"]
    assert QueueFilter.from_dict({"states": "", "levels": 7}) == QueueFilter()


def test_sorts_by_case_id_and_by_the_area_names_people_read(now: float) -> None:
    store = _small_store(now)  # T1 reads 冠山镇, T2 has no name: shown as "T2"
    q = QueueIndex(store)
    by_area = q.query(sort=[SortKey("area")], now=now)
    # "T2" sorts before "冠山镇" (their codes would put T1 first); grids break the tie.
    assert [store.record_at(int(r)).id for r in by_area] == ["PD0000002", "PD0000003", "PD0000001"]
    shuffled = Store()
    shuffled.set_clock(now)
    shuffled.apply([
        P.Event(i + 1, P.CASE_CREATED, now, P.CaseData(
            id=cid, version=1, category="井盖缺失", source="hotline", urgency="normal",
            state="reported", township="T1", grid="G1", lon=113.6, lat=37.8,
            created_ts=now - 60, state_ts=now))
        for i, cid in enumerate(["PD3", "PD1", "PD2"])
    ])  # fmt: skip
    rows = QueueIndex(shuffled).query(sort=[SortKey("id")], now=now)
    assert [shuffled.record_at(int(r)).id for r in rows] == ["PD1", "PD2", "PD3"]


def test_unmoved_with_nothing_changed_with_unknown_rows_and_after_growth(now: float) -> None:
    store = _small_store(now)
    q = QueueIndex(store)
    result = q.query_full(QueueFilter(), [SortKey("remaining")], now=now)
    none = result.unmoved(np.zeros(0, dtype=np.int64))
    assert none is not None and none.n == 0 and none.now == now
    assert result.unmoved(np.array([3])) is None  # a row the query never saw
    store.apply([P.Event(4, P.CASE_CREATED, now, P.CaseData(
        id="PD0000004", version=1, category="井盖缺失", source="hotline", urgency="normal",
        state="reported", township="T1", grid="G1", lon=113.6, lat=37.8, created_ts=now,
        state_ts=now))])  # fmt: skip
    assert result.unmoved(np.array([0])) is None  # the store grew: query again


def _hand_store(rows: list[tuple], now: float, geography: dict | None = None) -> Store:
    """Cases written out by hand: (id, state, urgency, source, township, grid, category,
    age in seconds, assignee). The clock stands still at ``now``."""
    store = Store()
    store.set_clock(now, rate=0.0)
    store.set_geography(geography or {})
    store.apply([
        P.Event(i + 1, P.CASE_CREATED, now, P.CaseData(
            id=cid, version=1, category=cat, source=src, urgency=urg, state=state,
            township=town, grid=grid, lon=113.6, lat=37.8, created_ts=now - age,
            state_ts=now, assignee=who))
        for i, (cid, state, urg, src, town, grid, cat, age, who) in enumerate(rows)
    ])  # fmt: skip
    return store


# The SLA of each, by the published limits (urgent: 300 s to assign, 24 h to handle;
# normal: 24 h to assign; yellow from 50% used, red from 80%):
FILTER_CASES = [
    ("PD01", "reported", "urgent", "hotline", "T1", "G1", "井盖缺失", 100, ""),  # blue, 200 s
    ("PD02", "reported", "normal", "grid_worker", "T1", "G2", "井盖缺失", 90_000, ""),  # overdue
    ("PD03", "handling", "urgent", "video", "T2", "G1", "路灯不亮", 70_000, ""),  # red, 16,400 s
    ("PD04", "closed", "normal", "hotline", "T2", "G3", "井盖缺失", 5000, ""),  # no limit runs
    ("PD05", "signed", "normal", "sensor", "T1", "G1", "垃圾满溢", 50_000, ""),  # yellow
    ("PD06", "discovered", "urgent", "inspector", "T2", "G2", "井盖缺失", 300, ""),  # red, 0 s
]


@pytest.mark.parametrize(
    ("flt", "want"),
    [
        (QueueFilter(sources=("hotline",)), {"PD01", "PD04"}),
        (QueueFilter(sources=("hotline", "bogus")), {"PD01", "PD04"}),
        (QueueFilter(sources=("hotline",), open_only=True), {"PD01"}),
        (QueueFilter(urgent_only=True, sources=("video",)), {"PD03"}),
        (QueueFilter(grids=("G1",)), {"PD01", "PD03", "PD05"}),
        (QueueFilter(grids=("G1",), townships=("T1",)), {"PD01", "PD05"}),
        (QueueFilter(overdue_only=True), {"PD02"}),  # 0 s left is not overdue yet
        (QueueFilter(overdue_only=True, urgent_only=True), set()),
        (QueueFilter(urgent_only=True, states=("reported",)), {"PD01"}),
        (QueueFilter(urgent_only=True, levels=("red",)), {"PD03", "PD06"}),
        (QueueFilter(open_only=True, text="井盖"), {"PD01", "PD02", "PD06"}),
    ],
)
def test_filters_combine_over_cases_written_by_hand(flt: QueueFilter, want: set) -> None:
    now = 1_800_000_000.0
    store = _hand_store(FILTER_CASES, now)
    rows = QueueIndex(store).query(flt, now=now)
    assert {store.record_at(int(r)).id for r in rows} == want


def test_area_and_assignee_sort_by_the_names_people_read() -> None:
    now = 1_800_000_000.0
    geo = {
        "townships": [{"code": "T1", "name": "冠山镇"}],
        "departments": [{"code": "D1", "name": "城管局"}, {"code": "D2", "name": "住建局"}],
    }
    store = _hand_store(
        [
            ("PD1", "reported", "normal", "hotline", "T2", "G3", "井盖缺失", 60, "D1"),
            ("PD2", "reported", "normal", "hotline", "T1", "G1", "井盖缺失", 60, "D2"),
            ("PD3", "reported", "normal", "hotline", "T2", "G2", "井盖缺失", 60, ""),
        ],
        now,
        geo,
    )
    q = QueueIndex(store)

    def order(key: str) -> list[str]:
        return [store.record_at(int(r)).id for r in q.query(sort=[SortKey(key)], now=now)]

    # Areas: "T2" (no name) before 冠山镇, then by grid; assignees: none, 住建局, 城管局.
    assert order("area") == ["PD3", "PD1", "PD2"]
    assert order("assignee") == ["PD3", "PD2", "PD1"]


def test_one_case_sorted_by_id() -> None:
    now = 1_800_000_000.0
    store = _hand_store([FILTER_CASES[0]], now)
    assert QueueIndex(store).query(sort=[SortKey("id")], now=now).tolist() == [0]


def test_the_sla_share_hits_only_for_the_same_store_contents_and_instant() -> None:
    from commandcenter.queue import _SlaShare

    t = 1_800_000_000.0
    store = _hand_store(FILTER_CASES, t)  # its clock stands still at t
    share = _SlaShare()
    share.max_age = 0.25
    steps = []

    def ask(s: Store, now: float | None = None) -> None:
        share.arrays(s, now)
        steps.append((share.hits, share.misses))

    ask(store)  # first: a miss
    ask(store)  # the same instant by the clock: a hit
    ask(store, t)  # the same instant asked for: a hit
    ask(store, t + 1)  # another instant asked for: a miss
    ask(store)  # the clock is a second behind that: a miss, computed at t
    ask(store, t)  # t again: a hit
    store.set_clock(t + 0.25, rate=0.0)
    ask(store)  # a quarter second of feed time later: still the share's
    store.set_clock(t + 0.5, rate=0.0)
    ask(store)  # later than max_age: a miss
    c = store.case("PD01")
    store.apply([P.Event(7, P.CASE_UPDATED, t, _bump(c, title="新标题"))])
    ask(store, t + 0.5)  # the same instant, changed contents: a miss
    twin = _hand_store(FILTER_CASES, t)
    twin.apply([P.Event(7, P.CASE_UPDATED, t, _bump(twin.case("PD01"), title="新标题"))])
    ask(twin, t + 0.5)  # the same seq and size, another store: a miss
    assert steps == [
        (0, 1), (1, 1), (2, 1), (2, 2), (2, 3), (3, 3), (4, 3), (4, 4), (4, 5), (4, 6),
    ]  # fmt: skip


def test_a_query_at_another_instant_or_over_given_columns(now: float) -> None:
    t = 1_800_000_000.0
    store = _hand_store(FILTER_CASES, t)
    q = QueueIndex(store)
    later = t + 10 * 86_400  # ten days on, every open case is overdue
    ids = lambda rows: {store.record_at(int(r)).id for r in rows}  # noqa: E731
    every_open = {"PD01", "PD02", "PD03", "PD05", "PD06"}
    assert ids(q.query(QueueFilter(overdue_only=True), now=later)) == every_open
    assert ids(q.query_full(QueueFilter(overdue_only=True), now=later).rows) == every_open
    cols = columns(store, later)
    assert ids(q.query(QueueFilter(overdue_only=True), cols=cols)) == every_open
    assert ids(q.query(QueueFilter(overdue_only=True))) == {"PD02"}  # the store's own clock
    # No sort keys: newest first.
    assert q.query(sort=[], now=t).tolist() == [5, 4, 3, 2, 1, 0]


def test_one_key_keeps_ties_newest_first(store: Store, now: float) -> None:
    q = QueueIndex(store)
    rows = q.query(sort=[SortKey("category")], now=now)
    cats = [store.record_at(int(r)).category for r in rows]
    assert cats == sorted(cats)
    for cat in set(cats):
        same = [int(r) for r, c in zip(rows, cats, strict=True) if c == cat]
        assert same == sorted(same, reverse=True), cat


def test_level_sort_red_first_none_last_and_an_unknown_key_is_named() -> None:
    t = 1_800_000_000.0
    store = _hand_store(FILTER_CASES, t)
    q = QueueIndex(store)
    rows = q.query(sort=[SortKey("level")], now=t)
    # red (newest first), yellow, blue, then the closed case with no level
    assert [store.record_at(int(r)).id for r in rows] == [
        "PD06", "PD03", "PD02", "PD05", "PD01", "PD04",
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"unknown sort key 'bogus'; known: id, category, "):
        q.query(sort=[SortKey("bogus")], now=t)


def test_row_columns_follow_a_category_limit_and_carry_what_filters_read() -> None:
    from commandcenter.queue import columns_of_rows
    from commandcenter.sla import SlaPolicy

    t = 1_800_000_000.0
    # 路灯不亮 is given 1,000 s to assign (normal): 900 s into it is red with 100 s left.
    policy = SlaPolicy.from_dict({"categories": {"路灯不亮": {"normal": {"assign": 1000}}}})
    store = Store(policy)
    store.set_clock(t, rate=0.0)
    store.apply([P.Event(1, P.CASE_CREATED, t, P.CaseData(
        id="PD1", version=1, category="路灯不亮", source="hotline", urgency="normal",
        state="reported", township="T1", grid="G1", lon=113.6, lat=37.8, created_ts=t - 900,
        state_ts=t, assignee="D1"))])  # fmt: skip
    cols = columns_of_rows(store, np.array([0]), t)
    assert (cols.level.tolist(), cols.remaining.tolist()) == ([2], [100.0])
    q = QueueIndex(store)
    result = q.query_full(QueueFilter(duty="supervised"), [SortKey("assignee")], now=t)
    patched = result.unmoved(np.array([0]))  # nothing changed: patched in place
    assert patched is not None and patched.supervised.tolist() == [0]
    assert patched.assignee.tolist() == cols.assignee.tolist() == [store._codes["assignee"][0]]
