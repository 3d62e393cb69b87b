"""Real data check: 2,000 NYC 311 requests replayed through the feed protocol.

parse (feeds.adapters.nyc311, by the shipped ``nyc311`` profile) -> envelopes -> encode -> parse_message -> Store.apply ->
ranking. The department league table it produces must equal a computation written here
straight from the raw CSV and JSON with pandas, without the adapter.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commandcenter.ranking import (
    ALL_TIME,
    DEPARTMENT,
    TOWNSHIP,
    LeagueTable,
    RankingEngine,
    Window,
)
from commandcenter.store import Store
from feeds import protocol as p
from feeds.adapters import nyc311

CSV = "nyc311_sample_mzuber88.csv"
JSON = "nyc311_socrata_fhrw-4uyv_mzuber88.json"
ZONE = "America/New_York"
WEEK_S = 7 * 86400.0  # normal cases: 7 days to handle (SlaPolicy default)


@pytest.fixture(scope="module")
def files(request) -> tuple[Path, Path]:
    ext = request.getfixturevalue("shared_external")
    if not (ext / CSV).exists() or not (ext / JSON).exists():
        pytest.skip("NYC 311 samples not present")
    return ext / CSV, ext / JSON


@pytest.fixture(scope="module")
def replayed(files):
    """The store and an engine that followed it, after replaying both files."""
    imported = nyc311.read(*files)
    envelopes = list(nyc311.replay(imported))
    store = Store()
    engine = RankingEngine(zone=ZONE, min_cases=20)
    store.subscribe(lambda cs: engine.apply_changes(store, cs))
    quarantined = []
    for i in range(0, len(envelopes), 200):  # as the server batches them on the wire
        raw = b"[" + b",".join(p.encode(e) for e in envelopes[i : i + 200]) + b"]"
        parsed = p.parse_message(raw, p.SSE_BATCH)
        quarantined += parsed.bad
        store.apply(parsed.events)
    return imported, envelopes, store, engine, quarantined


# ---- the independent computation ---------------------------------------------------------


def raw_requests(csv_path: Path, json_path: Path) -> pd.DataFrame:
    """Both files as one frame, straight from the raw columns (no adapter code)."""
    c = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    fmt = "%m/%d/%Y %I:%M:%S %p"
    a = pd.DataFrame(
        {
            "key": c["Unique Key"],
            "created": pd.to_datetime(c["Created Date"], format=fmt),
            "closed": pd.to_datetime(c["Closed Date"].replace("", None), format=fmt),
            "due": pd.to_datetime(c["Due Date"].replace("", None), format=fmt),
            "agency": c["Agency"],
            "complaint": c["Complaint Type"],
            "borough": c["Borough"],
            "zip": c["Incident Zip"],
            "board": c["Community Board"],
            "address": c["Incident Address"],
        }
    )
    j = pd.DataFrame(json.loads(json_path.read_text()))
    b = pd.DataFrame(
        {
            "key": j["unique_key"],
            "created": pd.to_datetime(j["created_date"], format="ISO8601"),
            "closed": pd.to_datetime(j["closed_date"], format="ISO8601"),
            "due": pd.to_datetime(j["due_date"], format="ISO8601") if "due_date" in j else pd.NaT,
            "agency": j["agency"],
            "complaint": j["complaint_type"],
            "borough": j["borough"],
            "zip": j["incident_zip"].fillna(""),
            "board": j["community_board"].fillna(""),
            "address": j["incident_address"].fillna(""),
        }
    )
    df = pd.concat([a, b], ignore_index=True)
    df["created"] = df["created"].dt.tz_localize(ZONE)
    df["closed"] = df["closed"].dt.tz_localize(ZONE)
    df["due"] = pd.to_datetime(df["due"]).dt.tz_localize(ZONE)
    return df


def usable(df: pd.DataFrame) -> pd.DataFrame:
    """The only defect in these two files: a closed date before the created date (17, of
    which 10 are DOT 'Pending' requests and 6 carry the 1900-01-01 placeholder)."""
    return df[~(df["closed"] < df["created"])].copy()


def expected_by_agency(df: pd.DataFrame, now: float) -> pd.DataFrame:
    hours = (df["closed"] - df["created"]).dt.total_seconds() / 3600
    # a request's own due date is its deadline; the policy's 7 days only where it has none
    deadline = df["due"].where(df["due"].notna(), df["created"] + pd.Timedelta(seconds=WEEK_S))
    deadline_s = deadline.map(pd.Timestamp.timestamp)
    df = df.assign(
        is_closed=df["closed"].notna(),
        hours=hours,
        on_time=df["closed"].notna() & (df["closed"] <= deadline),
        overdue=df["closed"].isna() & (now > deadline_s),
    )
    g = df.groupby("agency")
    out = pd.DataFrame(
        {
            "received": g.size(),
            "closure_rate": g["is_closed"].mean(),
            "median_h": g["hours"].median(),
            "p90_h": g["hours"].quantile(0.9),
            # on time over the cases due: completed + open and overdue
            "on_time_rate": g["on_time"].sum() / (g["is_closed"].sum() + g["overdue"].sum()),
            "overdue_now": g["overdue"].sum(),
        }
    )
    return out


def expected_repeats(df: pd.DataFrame) -> pd.Series:
    """Repeats by brute force: pair every request with every other one at the same place
    (address, else zip, else community board) and complaint type, keep pairs where the
    other came 0..7 days before, count the requests having such a partner, per agency."""
    zip5 = df["zip"].str[:5]
    zip_ok = zip5.str.fullmatch(r"\d{5}") & (zip5 != "00000")
    board_ok = ~df["board"].str.lower().isin(["", "unspecified"]) & ~df["board"].str.startswith(
        "0 "
    )
    grid = np.where(zip_ok, zip5, np.where(board_ok, df["board"], ""))
    place = np.where(
        df["address"] != "", "a:" + df["address"], np.where(grid != "", "g:" + grid, "")
    )
    x = df.assign(place=place)[["key", "place", "complaint", "created", "agency"]]
    x = x[x["place"] != ""]
    pairs = x.merge(x, on=["place", "complaint"], suffixes=("", "_other"))
    gap = (pairs["created"] - pairs["created_other"]).dt.total_seconds()
    hit = pairs[(pairs["key"] != pairs["key_other"]) & (gap >= 0) & (gap <= WEEK_S)]
    repeated = x[x["key"].isin(hit["key"])]
    return repeated.groupby("agency").size()


# ---- tests ------------------------------------------------------------------------------


def test_import_reports_every_skipped_record(files, replayed) -> None:
    imported = replayed[0]
    assert imported.read == 2000
    assert len(imported.cases) == 1983
    assert dict(imported.reasons()) == {"closed_before_created": 17}
    by_file = pd.Series([s.where.split(":")[0] for s in imported.skipped]).value_counts()
    assert by_file.to_dict() == {CSV: 10, JSON: 7}
    assert all(s.key and s.detail for s in imported.skipped)


def test_replay_is_in_time_order_and_goes_through_the_protocol(replayed) -> None:
    imported, envelopes, store, _, quarantined = replayed
    closed = sum(len(v) == 2 for v in imported.cases)
    assert len(envelopes) == len(imported.cases) + closed
    assert [e.seq for e in envelopes] == list(range(1, len(envelopes) + 1))
    ts = [e.ts for e in envelopes]
    assert ts == sorted(ts)
    first_kind: dict[str, str] = {}
    for e in envelopes:
        first_kind.setdefault(e.data["id"], e.kind)
    assert set(first_kind.values()) == {p.CASE_CREATED}
    assert quarantined == []
    assert len(store) == 1983 and store.seq == len(envelopes)
    # the timeline each record implies is legal and complete
    c = store.case("NYC39573567")  # NYPD, 06/26/2018 10:58:54 AM -> 12:50:01 PM
    assert c.state == "closed" and c.assignee == "NYPD" and c.assignee_kind == "department"
    assert [t.action for t in c.timeline] == [
        "discover",
        "report",
        "sign",
        "assign",
        "arrive",
        "complete",
        "verify",
    ]
    assert c.completed_ts - c.created_ts == 1 * 3600 + 51 * 60 + 7
    assert c.township == "QUEENS" and c.grid == "11421" and c.category.startswith("Non-Emergency")
    assert c.due_ts - c.created_ts == 8 * 3600  # due 06:58:54 PM: the record's own deadline
    open_case = store.case("NYC24449493")
    assert open_case.state == "assigned" and open_case.completed_ts == 0.0
    assert store.case("NYC37695674") is None  # closed the day before it was created


def test_department_table_equals_independent_pandas(files, replayed) -> None:
    _, _, store, engine, _ = replayed
    raw = usable(raw_requests(*files))
    assert len(raw) == 1983
    now = float(raw["created"].max().timestamp()) + 3 * 86400
    want = expected_by_agency(raw, now)
    want["repeats"] = expected_repeats(raw).reindex(want.index, fill_value=0)
    frame = store.to_frame()
    full = LeagueTable.compute(frame, DEPARTMENT, ALL_TIME, now, min_cases=20, zone=ZONE)
    incremental = engine.table(DEPARTMENT, ALL_TIME, now)
    pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-12)
    got = full.set_index("entity")
    assert sorted(got.index) == sorted(want.index)
    got = got.loc[want.index]
    assert (got["received"] == want["received"]).all()
    np.testing.assert_allclose(got["closure_rate"], want["closure_rate"], rtol=1e-12)
    np.testing.assert_allclose(got["median_handling_s"] / 3600, want["median_h"], rtol=1e-9)
    np.testing.assert_allclose(got["p90_handling_s"] / 3600, want["p90_h"], rtol=1e-9)
    np.testing.assert_allclose(got["on_time_rate"], want["on_time_rate"], rtol=1e-12)
    assert (got["overdue_now"] == want["overdue_now"]).all()
    # the requests' own due dates decide: the policy's 7 days alone would give other rates
    policy_only = expected_by_agency(raw.assign(due=pd.NaT), now)
    assert not np.allclose(got["on_time_rate"], policy_only["on_time_rate"].loc[want.index])
    assert (got["repeats"] == want["repeats"]).all()
    assert (got["ranked"] == (want["received"] >= 20)).all()
    assert full.attrs["unattributed"] == 0
    # a few numbers for the record (they are in docs/ranking.md too)
    hpd, nypd = got.loc["HPD"], got.loc["NYPD"]
    assert (hpd["received"], nypd["received"]) == (616, 489)
    assert round(nypd["median_handling_s"] / 3600, 2) == round(want.loc["NYPD", "median_h"], 2)


def test_borough_table_and_a_custom_window(files, replayed) -> None:
    _, _, store, engine, _ = replayed
    raw = usable(raw_requests(*files))
    now = float(raw["created"].max().timestamp()) + 86400
    frame = store.to_frame()
    t = LeagueTable.compute(frame, TOWNSHIP, ALL_TIME, now, min_cases=20, zone=ZONE)
    boroughs = raw["borough"].fillna("Unspecified")
    want = boroughs[boroughs != "Unspecified"].value_counts()
    assert t.set_index("entity")["received"].sort_index().to_dict() == want.sort_index().to_dict()
    assert t.attrs["unattributed"] == int((boroughs == "Unspecified").sum())
    # calendar year 2018 in New York: midnight to midnight, read from the engine's sums
    start = pd.Timestamp("2018-01-01", tz=ZONE).timestamp()
    end = pd.Timestamp("2019-01-01", tz=ZONE).timestamp()
    year = raw[
        (raw["created"] >= pd.Timestamp("2018-01-01", tz=ZONE))
        & (raw["created"] < pd.Timestamp("2019-01-01", tz=ZONE))
    ]
    w = Window.custom(start, end)
    got = engine.table(DEPARTMENT, w, now).set_index("entity")
    pd.testing.assert_frame_equal(
        engine.table(DEPARTMENT, w, now),
        LeagueTable.compute(frame, DEPARTMENT, w, now, min_cases=20, zone=ZONE),
        check_exact=False,
        rtol=1e-12,
    )
    assert (
        got["received"].sort_index().to_dict()
        == year["agency"].value_counts().sort_index().to_dict()
    )
    closure = year.groupby("agency")["closed"].apply(lambda s: s.notna().mean())
    np.testing.assert_allclose(got.loc[closure.index, "closure_rate"], closure, rtol=1e-12)


def test_bad_records_are_reported_not_raised(tmp_path: Path) -> None:
    header = "Unique Key,Created Date,Closed Date,Agency,Complaint Type,Borough,Incident Zip,Community Board,Latitude,Longitude"
    rows = [
        "1,06/26/2018 10:58:54 AM,06/26/2018 12:50:01 PM,NYPD,Noise,QUEENS,11421,09 QUEENS,40.69,-73.84",
        ",06/26/2018 10:58:54 AM,,NYPD,Noise,QUEENS,11421,,,",  # no id
        "2,yesterday,,NYPD,Noise,QUEENS,11421,,,",  # unreadable created date
        "3,06/26/2018 10:58:54 AM,soon,NYPD,Noise,QUEENS,11421,,,",  # unreadable closed date
        "4,06/26/2018 10:58:54 AM,,,Noise,QUEENS,11421,,,",  # no agency
        "5,06/26/2018 10:58:54 AM,,DOT,,QUEENS,11421,,,",  # no complaint type
        "1,06/27/2018 10:58:54 AM,,DOT,Noise,QUEENS,11421,,,",  # id seen before
        "6,06/26/2018 10:58:54 AM,,DOT,Potholes,Unspecified,00000,0 Unspecified,0,0",  # fine
        "7,06/26/2018 10:58:54 AM,,DOT,Potholes,BRONX,N/A,12 BRONX,junk,",  # not a latitude
        "8,06/26/2018 10:58:54 AM,,DOT,Potholes,BRONX,N/A,12 BRONX,,",  # fine, board grid
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    got = nyc311.read_file(path)
    assert got.read == 10 and len(got.cases) == 3
    assert [s.reason for s in got.skipped] == [
        "missing_id",
        "bad_date:created",
        "bad_date:closed",
        "missing_department",
        "missing_category",
        "duplicate_id",
        "wrong_type:lat",
    ]
    assert got.skipped[0].where == "bad.csv:2" and got.skipped[1].key == "2"
    assert "yesterday" in got.skipped[1].detail and "junk" in got.skipped[6].detail
    six, eight = got.cases[1][0].case, got.cases[2][0].case
    assert (six.township, six.grid, six.lat, six.lon) == ("", "", 0.0, 0.0)
    assert (eight.grid, eight.township, eight.lat) == ("12 BRONX", "BRONX", 0.0)
    assert got.cases[0][0].case.title == "Noise" and got.cases[0][0].case.grid == "11421"
    (tmp_path / "broken.json").write_text('[{"unique_key": "9"')
    assert nyc311.read_file(tmp_path / "broken.json").reasons() == {"unreadable_file": 1}
    (tmp_path / "items.json").write_text(
        '[3, {"unique_key": "9", "created_date": "2012-11-20T07:50:59.000", "agency": "DOT",'
        ' "complaint_type": "Noise", "descriptor": "Loud Music"}]'
    )
    items = nyc311.read_file(tmp_path / "items.json")
    assert items.reasons() == {"file_problem": 1} and len(items.cases) == 1
    assert "not objects" in items.skipped[0].detail
    assert items.cases[0][0].case.title == "Noise: Loud Music"
