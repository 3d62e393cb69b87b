"""The insight panels on the demo county: their numbers equal the engines' numbers,
clicks select the cases behind them, exports read back, texts are masked, and the
leader_insights preset is a valid layout for the leader role."""

from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from commandcenter import topics as TP
from commandcenter import trends as T
from commandcenter.domain import Role
from commandcenter.privacy import Mask
from commandcenter.ranking import LAST_7_DAYS, LeagueTable, departments_from_geography
from commandcenter.selection import Selection
from commandcenter.status import FeedStatus, LinkState
from commandcenter.store import Store
from feeds import protocol as P
from layouts import roles
from layouts.schema import panels_in, parse
from tests.demo_county import demo_store
from widgets import i18n, registry, theme
from widgets.base import PanelContext, hall_context
from widgets.insights.common import wait_idle
from widgets.insights.grids import PATROL_NORM, GridStatsPanel
from widgets.insights.ranking import COLUMNS, RankingPanel
from widgets.insights.topics import HotTopicsPanel
from widgets.insights.trends import TrendsPanel
from widgets.live import LiveBridge
from widgets.panels.kpis import KpisPanel

PRESET = Path(__file__).resolve().parent.parent / "layouts" / "presets" / "leader_insights.json"


@pytest.fixture
def county() -> Store:
    return demo_store()


@pytest.fixture
def ctx(qapp: QApplication, county: Store) -> Iterator[PanelContext]:
    theme.apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)
    st = FeedStatus()
    st.last_data_at = time.time()
    st.set_state(LinkState.LIVE)
    bridge = LiveBridge(county, st)
    yield hall_context(county, st, bridge, Selection(), Role.LEADER)
    bridge.close()
    bridge.deleteLater()


def settle(qtbot: Any, panel: Any) -> None:
    """Let the insights worker finish and its results reach the GUI thread."""
    for _ in range(3):
        wait_idle()
        qtbot.wait(20)
    qtbot.waitUntil(lambda: not getattr(getattr(panel, "job", None), "busy", False), timeout=5000)


def show(panel: Any, qtbot: Any, size: tuple[int, int] = (1400, 800)) -> Any:
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    settle(qtbot, panel)
    return panel


def test_ranking_table_drill_and_exports(
    ctx: PanelContext, county: Store, qtbot: Any, tmp_path: Path
) -> None:
    p = show(registry.create("ranking", ctx, {"level": "township", "window": "7d"}), qtbot)
    assert isinstance(p, RankingPanel)
    depts = departments_from_geography(county.geography)
    ref = LeagueTable.compute(
        county.to_frame(),
        "township",
        LAST_7_DAYS,
        p.now,
        county.policy,
        category_departments=depts,
    )
    pd.testing.assert_frame_equal(
        p.table.drop(columns=[]).reset_index(drop=True), ref, check_dtype=False, atol=1e-9
    )
    m = p.model
    assert m.rowCount() == len(ref)
    first = ref.iloc[0]
    assert m.index(0, 0).data() == str(int(first["rank"]))
    assert m.index(0, 2).data() == county.display_name(str(first["entity"]))
    assert m.index(0, 3).data() == f"{int(first['received']):,}"
    assert m.index(0, 9).data() == f"{first['score']:.1f}"
    unranked = [r for r in range(m.rowCount()) if not bool(ref.iloc[r]["ranked"])]
    assert unranked and m.index(unranked[0], 0).data() == "—"
    assert "10" in m.index(unranked[0], 0).data(Qt.ItemDataRole.ToolTipRole)
    # click the name: every received case; click "超期": only the overdue ones
    rect = p.view.visualRect(m.index(0, 2))
    qtbot.mouseClick(p.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    settle(qtbot, p)
    qtbot.waitUntil(lambda: p.drill_job.runs >= 1, timeout=5000)
    ids = LeagueTable.drill(
        county.to_frame(),
        "township",
        str(first["entity"]),
        LAST_7_DAYS,
        p.now,
        "received",
        county.policy,
        category_departments=depts,
    )
    assert ctx.selection.case_ids == tuple(ids) and len(ids) == int(first["received"])
    assert ctx.selection.origin == p.selection_origin
    overdue_col = [c[0] for c in COLUMNS].index("overdue_now")
    row = int(ref["overdue_now"].to_numpy().argmax())
    p.drill_row(row, COLUMNS[overdue_col][3])
    qtbot.waitUntil(lambda: p.drill_job.runs >= 2, timeout=5000)
    want = LeagueTable.drill(
        county.to_frame(),
        "township",
        str(ref.iloc[row]["entity"]),
        LAST_7_DAYS,
        p.now,
        "overdue_now",
        county.policy,
        category_departments=depts,
    )
    assert list(ctx.selection.case_ids) == want and len(want) == int(ref.iloc[row]["overdue_now"])
    # exports
    csv = tmp_path / "r.csv"
    p.export_csv(csv)
    back = pd.read_csv(csv, encoding="utf-8-sig")
    assert back["name"].tolist() == [county.display_name(str(e)) for e in ref["entity"]]
    assert back["received"].tolist() == ref["received"].tolist()
    assert back["score"].round(6).tolist() == ref["score"].round(6).tolist()
    xlsx = tmp_path / "r.xlsx"
    p.export_xlsx(xlsx)
    x = pd.read_excel(xlsx, engine="calamine")  # read back as a hall's Excel would
    assert x["received"].tolist() == ref["received"].tolist()
    assert x["name"].tolist() == back["name"].tolist()
    with zipfile.ZipFile(xlsx) as z:
        assert z.testzip() is None and "[Content_Types].xml" in z.namelist()
    # another level from the settings
    p.update_settings({"level": "department", "window": "30d"})
    settle(qtbot, p)
    assert p.table.attrs["level"] == "department"
    assert p.level_box.currentData() == "department"


def test_ranking_follows_new_cases(ctx: PanelContext, qtbot: Any) -> None:
    store = demo_store(hours=2)
    ctx2 = hall_context(store, ctx.status, LiveBridge(store, ctx.status), Selection(), Role.LEADER)
    p = show(registry.create("ranking", ctx2, {"level": "township", "window": "today"}), qtbot)
    before = int(p.table["received"].sum())
    case = store.newest_cases(1)[0]
    now = store.clock.now()
    new = P.CaseData(
        id="PDX000001",
        version=1,
        category=case.category,
        source="hotline",
        urgency="normal",
        state="reported",
        township=case.township,
        grid=case.grid,
        lon=case.lon,
        lat=case.lat,
        created_ts=now - 1,
        state_ts=now - 1,
    )
    store.apply([P.Event(store.seq + 1, P.CASE_CREATED, now, new)])
    ctx2.bridge.flush()
    settle(qtbot, p)
    assert int(p.table["received"].sum()) == before + 1
    p.teardown()
    ctx2.bridge.close()


def test_kpi_tiles_have_sparklines_and_definitions(
    ctx: PanelContext, county: Store, qtbot: Any
) -> None:
    p = show(registry.create("kpis", ctx, {"names": "closure_rate,overdue_now"}), qtbot)
    assert isinstance(p, KpisPanel)
    for v in (95.0, 95.5, 96.0):
        county.apply(
            [
                P.Event(
                    county.seq + 1, P.KPI_UPDATE, 0, P.Kpi("closure_rate", v, 95.0, "%", "结案率")
                )
            ]
        )
        ctx.bridge.flush()
    tile = p.tiles["closure_rate"]
    # the big number and its sparkline are the catalogue's, the platform's beneath it
    ours = tile.mv.value
    assert ours is not None and tile.value.text() == f"{ours:.1f}%"
    _, values = p.history.samples("closure_rate")
    assert values[-1] == ours and tile.spark.values[-1] == ours
    assert "96.0%" in tile.platform.text()
    one_case = 100.0 / tile.mv.n  # a difference within one case is a report's lag
    assert tile.platform.property("differs") is (abs(ours - 96.0) > max(0.05, one_case))
    tip = tile.toolTip()
    assert "窗口内立案" in tip and f"n = {tile.mv.n}" in tip and "96.0%" in tip
    assert "超期" in p.tiles["overdue_now"].toolTip()


def test_grid_stats_add_up_the_grids(ctx: PanelContext, county: Store, qtbot: Any) -> None:
    grids = list(county.grids.values())
    g0 = grids[0]
    county.apply(
        [
            P.Event(
                county.seq + 1,
                P.GRID_STATS,
                0,
                P.GridStats(
                    id=g0.id,
                    township=g0.township,
                    name=g0.name,
                    population=g0.population,
                    houses=g0.houses,
                    units=g0.units,
                    facilities=g0.facilities,
                    worker=g0.worker,
                    patrols_today=2,
                    events_today=3,
                ),
            )
        ]
    )
    p = show(registry.create("grid_stats", ctx), qtbot)
    assert isinstance(p, GridStatsPanel)
    grids = list(county.grids.values())
    rows = {r.key: r for r in p.model.rows}
    town = g0.township
    mine = [g for g in grids if g.township == town]
    assert rows[town].population == sum(g.population for g in mine)
    assert rows[town].facilities == sum(g.facilities for g in mine)
    assert rows[town].patrol_met == sum(1 for g in mine if g.patrols_today >= PATROL_NORM) >= 1
    assert rows[town].events == sum(g.events_today for g in mine)
    assert f"{len(grids):,}" in p.summary.text()
    r = [x.key for x in p.model.rows].index(town)
    qtbot.mouseClick(
        p.view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=p.view.visualRect(p.model.index(r, 0)).center(),
    )
    f = county.to_frame()
    assert set(ctx.selection.case_ids) <= set(f.loc[f["township"] == town, "id"])
    p.update_settings({"by": "grid"})
    assert p.model.rowCount() == len(grids)
    row = [x.key for x in p.model.rows].index(g0.id)
    assert p.model.index(row, 6).data() == f"2/{PATROL_NORM} ✓"  # both rounds done


def test_trends_headline_equals_the_series(ctx: PanelContext, county: Store, qtbot: Any) -> None:
    p = show(registry.create("trends", ctx, {"step": "day", "buckets": 7, "by": "source"}), qtbot)
    assert isinstance(p, TrendsPanel)
    now = p.result["now"]
    f = county.to_frame()
    t = T.arrivals(f, now, "day", 7, by="source", top=4)
    assert p.result["filed"].total.tolist() == t.total.tolist()
    assert f"{int(t.total.sum()):,}" in p.heads["filed"].text()
    o = T.overdue_trend(f, now, "day", 7, county.policy)
    assert p.result["overdue"].counts.tolist() == o.counts.tolist()
    assert f"{int(o.counts[-1])}" in p.heads["overdue"].text()


def test_hot_topics_equal_the_engine_select_and_mask(
    ctx: PanelContext, county: Store, qtbot: Any
) -> None:
    p = show(registry.create("hot_topics", ctx, {"window": "24h", "top": 10}), qtbot)
    assert isinstance(p, HotTopicsPanel)
    assert p.topics, "the demo county has complaints"
    now = county.clock.now()
    docs = [TP.Doc.from_case(county.case(str(i))) for i in county.to_frame()["id"]]
    ref = TP.hot_topics(docs, now, TP.TopicParams(recent_s=TP.DAY), top=10)
    assert [t.keyword for t in p.topics][:5] == [t.keyword for t in ref][:5]
    assert p.topic_model.index(0, 0).data() == p.topics[0].keyword
    rect = p.topic_view.visualRect(p.topic_model.index(1, 0))
    qtbot.mouseClick(p.topic_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert ctx.selection.case_ids == p.topics[1].case_ids
    # a leader's screen is masked: the example line passes through Mask
    case = county.case(p.topics[1].case_ids[0])
    assert Mask.for_role(Role.LEADER).text(case.description) in p.example.text()


def test_leader_insights_preset_is_valid() -> None:
    doc, steps = parse(PRESET.read_text(encoding="utf-8"))
    assert steps == []
    assert doc["role"] == "leader" and len(doc["screens"]) == 1
    assert roles.check_layout(doc) == []
    types = {p["type"] for p in doc["panels"].values()}
    assert {"ranking", "kpis", "trends", "hot_topics", "grid_stats"} <= types
    assert types <= set(registry.names())
    placed = [pid for s in doc["screens"] for pid in panels_in(s["dock"])]
    assert sorted(placed) == sorted(doc["panels"])
    # read from 3 m: 12 pt x 1.3 is ~21 px, ~13 mm on a 55-inch 1080p screen (the 1:250 rule
    # asks 12 mm); 1.4 no longer fits five panels on one 1080p screen without clipping
    assert doc["screens"][0]["scale"] >= 1.3


def test_patrols_judged_against_what_is_due_on_the_halls_clock(qapp: QApplication) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from widgets.insights.grids import GridModel, GridRow, patrols_due

    theme.apply_theme(qapp)
    i18n.set_language(qapp, i18n.CHINESE)
    tz = ZoneInfo("Asia/Shanghai")  # the hall's default zone

    def at(h: int, m: int = 0) -> float:
        return datetime(2026, 11, 23, h, m, tzinfo=tz).timestamp()

    assert [patrols_due(at(h, m)) for h, m in ((7, 0), (11, 19), (12, 0), (17, 59), (18, 0))] == [
        0,
        0,
        1,
        1,
        2,
    ]
    assert patrols_due(at(11, 19), morning_by=11) == 1  # the windows are settings
    # 452 grids, 417 patrolled once, none twice yet
    row = GridRow("t", "冠山镇", "", 452, 0, 0, 0, 0, "", 417, 0, 0, patrol_once=417)
    model = GridModel()
    model.set_rows([row], "township", patrols_due(at(11, 19)))
    assert model.text(row, "patrols") == "上午应巡 417/452"
    assert model.behind(row) == 0 and model.colour(row) is None  # nothing due yet: no colour
    model.set_rows([row], "township", patrols_due(at(13, 0)))
    assert model.behind(row) == 35 and model.colour(row) == theme.color("amber")
    done = GridRow("u", "冶西镇", "", 13, 0, 0, 0, 0, "", 13, 0, 0, patrol_once=13)
    model.set_rows([done], "township", patrols_due(at(13, 0)))
    assert model.text(done, "patrols") == "下午应巡 0/13"  # the afternoon round under way
    assert model.behind(done) == 0 and model.colour(done) is None
    model.set_rows([done], "township", patrols_due(at(11, 0)))
    assert model.text(done, "patrols") == "上午应巡 13/13 ✓"
    assert model.colour(done) == theme.color("green")
    model.set_rows([done], "township", patrols_due(at(19, 0)))
    assert model.text(done, "patrols") == "一日双巡 0/13" and model.behind(done) == 13
    assert model.colour(done) == theme.color("red")
