"""Source profiles and the bulk history import, on files whose headers, formats and zones
differ from the demo's (and from each other's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import pandas as pd
import pytest

from commandcenter import geo
from commandcenter.journal import Journal, store_state
from commandcenter.store import Store
from feeds import protocol as P
from feeds.journal_codec import journal_codec
from feeds.sources.importer import import_files, rejects_path
from feeds.sources.profile import ProfileError, load_profile, parse_profile
from tests.test_layout_engine import test_panels  # noqa: F401 (a fixture: the layouts test panels)

BERLIN = ZoneInfo("Europe/Berlin")

# A city whose 311 export is nothing like NYC's: its own column names, day-first dates in
# local time without a zone, a deadline per record.
CITY_PROFILE = """\
[profile]
name = "city-311"
version = 1

[read]
formats = ["csv"]

[time]
zone = "Europe/Berlin"
formats = ["%d.%m.%Y %H:%M"]

[ids]
prefix = "C-"

[fields]
id = "Ticket"
created = "Geöffnet"
closed = "Erledigt"
due = "Frist"
category = "Art"
department = { column = "Amt", required = true }
township = "Bezirk"
lat = "Breite"
lon = "Länge"
status = { column = "Zustand", lookup = "status" }

[vocabularies.status]
map = { offen = "assigned", "in Arbeit" = "handling", erledigt = "closed" }
unknown = "reject"
"""


def _city_export(shared_external: Path, out: Path) -> pd.DataFrame:
    """The NYC sample rewritten into the city's schema; every third request left open."""
    nyc = pd.read_csv(shared_external / "nyc311_sample_mzuber88.csv", dtype=str,
                      keep_default_na=False)  # fmt: skip
    fmt_in = "%m/%d/%Y %I:%M:%S %p"
    created = pd.to_datetime(nyc["Created Date"], format=fmt_in)
    closed = pd.to_datetime(nyc["Closed Date"], format=fmt_in, errors="coerce")
    due = pd.to_datetime(nyc["Due Date"], format=fmt_in, errors="coerce")
    open_ = np.arange(len(nyc)) % 3 == 0
    closed[open_] = pd.NaT

    def fmt(s: pd.Series) -> pd.Series:
        return s.dt.strftime("%d.%m.%Y %H:%M").fillna("")

    city = pd.DataFrame({
        "Ticket": nyc["Unique Key"],
        "Geöffnet": fmt(created),
        "Erledigt": fmt(closed),
        "Frist": fmt(due),
        "Art": nyc["Complaint Type"],
        "Amt": nyc["Agency"],
        "Bezirk": nyc["Borough"],
        "Breite": nyc["Latitude"],
        "Länge": nyc["Longitude"],
        "Zustand": np.where(open_, "offen", "erledigt"),
    })  # fmt: skip
    city.to_csv(out, index=False, sep=",", encoding="utf-8")
    return city


def test_overdue_by_department_from_per_record_due_dates_equals_pandas(
    shared_external: Path, tmp_path: Path
) -> None:
    export = tmp_path / "city.csv"
    city = _city_export(shared_external, export)
    profile = parse_profile(CITY_PROFILE, "city.toml")
    store = Store()
    result = import_files(profile, [export], store)
    assert result.read == len(city)
    assert result.imported + result.rejected_total == len(city)
    assert result.rejected_total > 0  # the sample's closed-before-created requests
    # two due dates fall in the hour Berlin repeats when the clocks go back: never guessed
    assert set(result.rejected) == {"closed_before_created", "ambiguous_local_time:due"}

    # Independent computation: open requests whose own deadline (else filing + 7 days,
    # the default policy for a normal case being handled) is past at ``now``.
    df = city.copy()
    created = pd.to_datetime(df["Geöffnet"], format="%d.%m.%Y %H:%M").dt.tz_localize(
        BERLIN, ambiguous="NaT", nonexistent="NaT")  # fmt: skip
    closed = pd.to_datetime(df["Erledigt"], format="%d.%m.%Y %H:%M", errors="coerce").dt.tz_localize(
        BERLIN, ambiguous="NaT", nonexistent="NaT")  # fmt: skip
    due = pd.to_datetime(df["Frist"], format="%d.%m.%Y %H:%M", errors="coerce").dt.tz_localize(
        BERLIN, ambiguous="NaT", nonexistent="NaT")  # fmt: skip
    ok = ~(closed < created) & ~(due.isna() & (df["Frist"] != ""))
    df, created, closed, due = df[ok], created[ok], closed[ok], due[ok]
    deadline = due.where(due.notna(), created + pd.Timedelta(days=7))
    now = created.max() + pd.Timedelta(days=3)
    is_open = df["Zustand"] == "offen"
    expected = df[is_open & (deadline < now)].groupby("Amt").size()
    expected = expected[expected > 0].sort_index()

    milestone, remaining, _ = store.sla_arrays(now.timestamp())
    frame = store.to_frame()
    over = (milestone > 0) & (remaining < 0)
    got = frame[over].groupby("assignee", observed=True).size()
    got = got[got > 0].sort_index()
    got.index = got.index.astype(str)
    assert got.to_dict() == expected.to_dict()
    assert got.sum() > 0
    # 按期办结率 from the catalogue reads the same deadlines: completed by the record's own
    # due date (else filing + 7 days), over the completed plus the open overdue
    from commandcenter.metrics.engine import MetricEngine

    done = closed.notna() & ~is_open
    in_time = done & (closed <= deadline)
    week = created >= now - pd.Timedelta(days=7)
    rate = MetricEngine(store).figures(now.timestamp()).value("on_time_rate")
    n_due = int((week & done).sum() + (week & is_open & (deadline < now)).sum())
    assert rate.n == n_due and rate.numerator == int((week & in_time).sum())
    # the record's own deadline, not the policy's, is what the store holds
    rid = city["Ticket"].iloc[1]
    want = pd.Timestamp(pd.to_datetime(city["Frist"].iloc[1], format="%d.%m.%Y %H:%M"), tz=BERLIN)
    assert store.case(f"C-{rid}").due_ts == want.timestamp()


def test_each_bad_row_is_rejected_with_its_reason_while_the_rest_imports(tmp_path: Path) -> None:
    profile = parse_profile(CITY_PROFILE, "city.toml")
    rows = [
        "Ticket,Geöffnet,Erledigt,Frist,Art,Amt,Bezirk,Breite,Länge,Zustand",
        "1,01.03.2024 08:00,,05.03.2024 08:00,Lärm,Ordnungsamt,Mitte,52.52,13.40,offen",
        "2,gestern,,,Lärm,Ordnungsamt,Mitte,52.52,13.40,offen",  # malformed date
        "3,01.03.2024 09:00,,,Müll,Stadtreinigung,Mitte,nördlich,13.40,offen",  # wrong type
        "4,01.03.2024 10:00,,,Müll,Stadtreinigung,Mitte,52.5,13.4,eingefroren",  # vocabulary
        "5,01.03.2024 11:00,02.03.2024 11:00,,Licht,Tiefbauamt,Pankow,52.55,13.41,erledigt",
        "5,01.03.2024 11:00,02.03.2024 11:00,,Licht,Tiefbauamt,Pankow,52.55,13.41,erledigt",
        "6,31.03.2024 02:30,,,Licht,Tiefbauamt,Pankow,,,offen",  # skipped by DST in Berlin
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    store = Store()
    result = import_files(profile, [path], store)
    assert result.read == 7
    assert result.imported == 2
    assert dict(result.rejected) == {
        "bad_date:created": 1,
        "wrong_type:lat": 1,
        "unknown_value:status": 1,
        "duplicate_id": 1,
        "ambiguous_local_time:created": 1,
    }
    rejects = pd.read_csv(rejects_path(path), dtype=str, encoding="utf-8-sig")
    assert rejects["row"].tolist() == ["3", "4", "5", "7", "8"]
    assert "gestern" in rejects.loc[0, "detail"]
    assert rejects.loc[2, "Zustand"] == "eingefroren"
    assert store.case("C-5").state == "closed"

    # A file without the department column: every row says so, nothing crashes.
    no_dept = tmp_path / "nodept.csv"
    pd.read_csv(path, dtype=str).drop(columns=["Amt"]).to_csv(no_dept, index=False)
    again = import_files(profile, [no_dept], Store())
    assert again.imported == 0
    assert again.rejected["missing_column:Amt"] == 7


def test_two_formats_reading_one_value_differently_is_rejected_never_guessed(
    tmp_path: Path,
) -> None:
    text = CITY_PROFILE.replace(
        'formats = ["%d.%m.%Y %H:%M"]', 'formats = ["%d/%m/%Y", "%m/%d/%Y"]'
    )
    profile = parse_profile(text.replace('formats = ["csv"]', 'formats = ["csv"]'), "p.toml")
    path = tmp_path / "d.csv"
    path.write_text("Ticket,Geöffnet,Art,Amt\n1,03/04/2024,A,X\n2,25/04/2024,A,X\n3,04/04/2024,A,X\n",
                    encoding="utf-8")  # fmt: skip
    store = Store()
    result = import_files(profile, [path], store)
    assert dict(result.rejected) == {"ambiguous_date:created": 1}
    assert store.case("C-2") is not None and store.case("C-3") is not None
    detail = pd.read_csv(rejects_path(path), dtype=str)["detail"][0]
    assert "two accepted formats" in detail and "03/04/2024" in detail


def _wrapped_open311(shared_external: Path, out: Path) -> None:
    """The spec's example in a {"requests": [...]} wrapper, with a duplicated
    updated_datetime whose second copy is "null", "null" strings, zone-less times and an
    agency responsible."""
    raw = (shared_external / "open311" / "example_get_service_requests.json").read_text()
    raw = raw.replace('"agency_responsible":null', '"agency_responsible":"Public Works"')
    raw = raw.replace('"updated_datetime":"2010-04-14T06:37:38-08:00"',
                      '"updated_datetime":"2010-04-14T09:00:00","updated_datetime":"null"')  # fmt: skip
    raw = raw.replace('"requested_datetime":"2010-04-14T06:37:38-08:00"',
                      '"requested_datetime":"2010-04-14T06:37:38"')  # fmt: skip
    raw = raw.replace('"description":null', '"description":"null"', 1)
    out.write_text('{"requests": ' + raw + "}", encoding="utf-8")


def test_open311_bare_and_wrapped_with_duplicate_keys_and_null_strings(
    shared_external: Path, tmp_path: Path
) -> None:
    bare = shared_external / "open311" / "example_get_service_requests.json"
    store = Store()
    result = import_files("open311", [bare], store)
    assert (result.read, result.imported, result.rejected_total) == (2, 2, 0)
    closed = store.case("311-638344")
    assert closed.state == "closed"
    assert closed.category == "Sidewalk and Curb Issues"
    assert closed.due_ts == pd.Timestamp("2010-04-15T06:37:38-08:00").timestamp()

    text = (Path(load_profile("open311").path)).read_text(encoding="utf-8")
    profile = parse_profile(text.replace('zone = "UTC"', 'zone = "America/Los_Angeles"'), "sf.toml")
    wrapped = tmp_path / "wrapped.json"
    _wrapped_open311(shared_external, wrapped)
    store = Store()
    result = import_files(profile, [wrapped], store)
    assert (result.read, result.imported, result.rejected_total) == (2, 2, 0)
    case = store.case("311-638344")
    la = ZoneInfo("America/Los_Angeles")
    assert (
        case.closed_ts == pd.Timestamp("2010-04-14 09:00:00", tz=la).timestamp()
    )  # first non-null
    assert (
        case.created_ts == pd.Timestamp("2010-04-14 06:37:38", tz=la).timestamp()
    )  # zone-less: LA
    assert case.assignee == "Public Works" and case.assignee_kind == "department"
    assert "null" not in case.description
    assert store.case("311-638349").state == "assigned"  # open, routed to its agency


def _cn12345_xlsx(path: Path) -> pd.DataFrame:
    """A 12345 export as a platform writes it: a merged title row, Chinese headers, blank
    rows, dates as Excel serial numbers and as text, GCJ-02 coordinates."""
    import xlsxwriter

    header = ["工单编号", "受理时间", "诉求类型", "诉求内容", "所属乡镇/街道", "承办单位",
              "办理时限", "办结时间", "工单状态", "满意度", "联系人", "联系电话", "经度", "纬度"]  # fmt: skip
    rows = []
    base = pd.Timestamp("2024-05-06 08:30:00")
    for i in range(40):
        created = base + pd.Timedelta(hours=7 * i)
        done = i % 4 != 0
        rows.append([
            f"GD2024{i:05d}", created, ["噪音扰民", "道路破损", "垃圾清运"][i % 3], f"诉求{i}",
            ["冠山镇", "娘子关镇", "巨城镇"][i % 3], ["城管局", "交通局", "环卫中心"][i % 3],
            created + pd.Timedelta(days=3), created + pd.Timedelta(days=2) if done else None,
            "已办结" if done else "办理中", "满意" if done else "", "张*", "138****1234",
            113.58 + i * 0.001, 37.80 + i * 0.001,
        ])  # fmt: skip
    wb = xlsxwriter.Workbook(str(path))
    date_format = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    ws = wb.add_worksheet("工单")
    ws.merge_range(0, 0, 0, len(header) - 1, "平定县12345热线工单导出（2024年5月）")
    ws.write_row(1, 0, header)
    r = 2
    for i, row in enumerate(rows):
        if i in (10, 25):
            r += 1  # a blank row
        for c, v in enumerate(row):
            if isinstance(v, pd.Timestamp):
                if c == 1 and i % 2:  # text dates in some rows
                    ws.write_string(r, c, v.strftime("%Y/%m/%d %H:%M"))
                elif c == 6 and i % 3 == 0:  # a real Excel date cell
                    ws.write_datetime(r, c, v.to_pydatetime(), date_format)
                else:  # an Excel serial number, no date format applied
                    serial = (v - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)
                    ws.write_number(r, c, round(serial, 8))
            elif v is not None:
                ws.write(r, c, v)
        r += 1
    wb.close()
    return pd.DataFrame(rows, columns=header)


def test_cn12345_xlsx_with_title_row_blank_rows_and_serial_dates(tmp_path: Path) -> None:
    path = tmp_path / "12345工单.xlsx"
    expected = _cn12345_xlsx(path)
    store = Store()
    result = import_files("cn12345-xlsx", [path], store)
    assert (result.read, result.imported, result.rejected_total) == (40, 40, 0)
    assert any("blank rows" in p for p in result.problems)
    sh = ZoneInfo("Asia/Shanghai")
    for i in (0, 1, 7):
        case = store.case(f"12345-GD2024{i:05d}")
        row = expected.iloc[i]
        assert case.created_ts == pytest.approx(row["受理时间"].tz_localize(sh).timestamp(), abs=1)
        assert case.due_ts == pytest.approx(row["办理时限"].tz_localize(sh).timestamp(), abs=1)
        assert case.assignee == row["承办单位"] and case.township == row["所属乡镇/街道"]
        wlon, wlat = geo.convert(row["经度"], row["纬度"], "gcj02", "wgs84")
        assert (case.lon, case.lat) == pytest.approx((float(wlon), float(wlat)), abs=1e-9)
    assert store.case("12345-GD202400000").state == "handling"
    done = store.case("12345-GD202400001")
    assert done.state == "completed" and done.rating == 4 and done.completed_ts > done.created_ts


def test_profile_errors_name_the_line_and_the_key() -> None:
    bad_zone = CITY_PROFILE.replace('zone = "Europe/Berlin"', 'zone = "Mars/Olympus"')
    with pytest.raises(ProfileError) as err:
        parse_profile(bad_zone, "city.toml")
    assert err.value.line == 9 and err.value.key == "time.zone"
    assert str(err.value).startswith("city.toml:9: time.zone:")
    bad_vocab = CITY_PROFILE.replace('erledigt = "closed"', 'erledigt = "done"')
    with pytest.raises(ProfileError) as err:
        parse_profile(bad_vocab, "city.toml")
    assert err.value.key == "vocabularies.status.map" and err.value.line == 28
    assert "'done'" in str(err.value)
    with pytest.raises(ProfileError) as err:
        parse_profile(CITY_PROFILE.replace('category = "Art"\n', ""), "city.toml")
    assert err.value.key == "fields.category"
    with pytest.raises(ProfileError) as err:
        parse_profile(CITY_PROFILE.replace("version = 1", "version = 9"), "city.toml")
    assert err.value.line == 3
    with pytest.raises(ProfileError) as err:
        parse_profile(CITY_PROFILE + '\n[cameras]\nurl_template = "rtsp://admin:pw@gw/{channel}"\n')
    assert err.value.key == "cameras.url_template" and "credentials" in str(err.value)
    with pytest.raises(ProfileError) as err:
        parse_profile("[profile\nname=1")
    assert err.value.line == 1


def _run_import(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {"XDG_STATE_HOME": str(state), "PATH": "/usr/bin:/bin", "HOME": str(state)}
    return subprocess.run([sys.executable, "main.py", "import", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=Path(__file__).parent.parent)  # fmt: skip


@pytest.mark.slow
def test_command_line_import_dry_run_json_and_idempotent_reimport(
    shared_external: Path, tmp_path: Path
) -> None:
    export = tmp_path / "nyc.csv"
    export.write_bytes((shared_external / "nyc311_sample_mzuber88.csv").read_bytes())
    journal_path = tmp_path / "journal.sqlite3"
    dry = _run_import("--profile", "nyc311", "--dry-run", str(export), state=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip().splitlines()[-1] == "read 1000, imported 990, rejected 10"
    assert not journal_path.exists()
    first = _run_import("--profile", "nyc311", "--json", "--journal", str(journal_path),
                        str(export), state=tmp_path)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.strip().splitlines()[-1]) == {
        "read": 1000, "imported": 990, "rejected": {"closed_before_created": 10}}  # fmt: skip
    assert "importing" in first.stderr  # the progress bar
    assert rejects_path(export).exists()
    journal = Journal(journal_path, journal_codec())
    ((_, first_t, last_t, cases, events, _label),) = journal.history()
    assert cases == 990 and events > 990  # created + closed versions
    assert first_t < last_t
    journal.close()
    again = _run_import("--profile", "nyc311", "--journal", str(journal_path), str(export),
                        state=tmp_path)  # fmt: skip
    assert again.stdout.strip().splitlines()[-1] == "read 0, imported 0, rejected 0"
    assert "already imported" in again.stderr
    journal = Journal(journal_path, journal_codec())
    assert [h[3] for h in journal.history()] == [990]
    # the history replays into a store: time travel and rankings can use it
    store = Store()
    journal.seek_into(store, journal.bounds()[1])
    assert len(store) == 990
    # and a console starting on this journal puts it into its live store
    live = Store()
    assert journal.load_history(live) == 990 and store_state(live)["cases"] == []
    assert live.case("NYC39573567").state == "closed"
    journal.close()
    bad = _run_import("--profile", str(tmp_path / "nope.toml"), str(export), state=tmp_path)
    assert bad.returncode == 2 and "profile error" in bad.stderr


def _month_export(path: Path, n: int = 60) -> pd.DataFrame:
    """``n`` tickets over January and February 2024 in the city's schema: the even ones
    closed a day after filing, each with its own deadline three days out."""
    created = pd.Timestamp("2024-01-02 08:00") + pd.to_timedelta(np.arange(n), unit="D")
    done = np.arange(n) % 2 == 0

    def fmt(ts: pd.DatetimeIndex) -> np.ndarray:
        return np.asarray(ts.strftime("%d.%m.%Y %H:%M"), dtype=object)

    frame = pd.DataFrame({
        "Ticket": [f"M{i}" for i in range(n)],
        "Geöffnet": fmt(created),
        "Erledigt": np.where(done, fmt(created + pd.Timedelta(days=1)), ""),
        "Frist": fmt(created + pd.Timedelta(days=3)),
        "Art": "Lärm",
        "Amt": np.where(np.arange(n) % 3 == 0, "Ordnungsamt", "Tiefbauamt"),
        "Bezirk": "Mitte",
        "Breite": "52.52",
        "Länge": "13.40",
        "Zustand": np.where(done, "erledigt", "offen"),
    })  # fmt: skip
    frame.to_csv(path, index=False)
    return frame.assign(created=created.tz_localize(BERLIN))


def test_imported_months_outlive_the_live_window_and_time_travel_reaches_them(
    tmp_path: Path,
) -> None:
    import msgspec

    from commandcenter.journal import DAY, Recorder
    from feeds import protocol as P

    export = tmp_path / "months.csv"
    frame = _month_export(export)
    journal = Journal(tmp_path / "journal.sqlite3", journal_codec(), max_age_s=2 * DAY,
                      checkpoint_every=10)  # fmt: skip
    live = Recorder(Store(), journal)
    result = import_files(parse_profile(CITY_PROFILE, "city.toml"), [export], live)
    assert result.imported == len(frame) == len(live.store)
    # Checkpoints leave out imported cases as loaded (the history segment has them) and
    # carry one again once the live feed changes it.
    assert store_state(live.store)["cases"] == []
    changed = msgspec.structs.replace(live.store.case("C-M1"), version=3, state="handling")
    live.apply([P.Event(seq=1, kind=P.CASE_UPDATED, ts=changed.created_ts + 60, data=changed)])
    assert [c.id for c in store_state(live.store)["cases"]] == ["C-M1"]
    # Ten months later the console runs live for four days; the journal keeps two of them.
    t0 = pd.Timestamp("2024-11-01 08:00", tz=BERLIN).timestamp()
    live.reset(P.Snapshot(v=1, epoch="live", seq=0, now=t0, rate=1.0))
    for k in range(1, 97):
        ts = t0 + k * 3600
        case = P.CaseData(id=f"L{k}", version=1, category="Licht", source="hotline",
                          urgency="normal", state="reported", township="Mitte", grid="",
                          lon=13.4, lat=52.5, created_ts=ts, state_ts=ts)  # fmt: skip
        live.apply([P.Event(seq=k, kind=P.CASE_CREATED, ts=ts, data=case)])
    journal.flush()
    assert journal.prune() > 0  # the live window did cut its oldest events
    assert [h[3] for h in journal.history()] == [len(frame)]  # the months did not go
    oldest, newest = journal.bounds()
    assert oldest == frame["created"].min().timestamp() and newest >= t0 + 96 * 3600

    # Time travel into the imported months shows the cases as they stood then.
    mid = pd.Timestamp("2024-01-20 20:00", tz=BERLIN)
    past = Store()
    seek = journal.seek_into(past, mid.timestamp())
    assert not seek.clamped
    filed = frame[frame["created"] <= mid]
    assert sorted(past.to_frame()["id"]) == sorted("C-" + filed["Ticket"])
    last = filed.iloc[-1]  # filed that morning, closed the day after: still open then
    assert last["Zustand"] == "erledigt" and past.case(f"C-{last['Ticket']}").state == "assigned"
    assert past.case(f"C-{filed.iloc[-2]['Ticket']}").version == 1  # open one: as filed
    assert past.case(f"C-{filed.iloc[-3]['Ticket']}").state == "closed"  # closed by then
    # The newest moment: the imported history beside what the live window still holds.
    now = Store()
    journal.seek_into(now, newest)
    ids = set(now.to_frame()["id"])
    assert {f"C-{t}" for t in frame["Ticket"]} <= ids and "L96" in ids
    journal.close()


def test_the_time_slider_reaches_back_into_imported_months(tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    """The slider's 24 h are the live record's; an import of months widens it to the
    months' start, and a seek there shows the imported cases as they stood, dated."""
    from commandcenter.journal import DAY, Recorder
    from commandcenter.timetravel import TimeTravel
    from feeds import protocol as P
    from widgets import i18n
    from widgets.chrome.timeslider import STEP_S, TimeSlider

    i18n.set_language(qapp, i18n.CHINESE)
    export = tmp_path / "months.csv"
    frame = _month_export(export)
    journal = Journal(tmp_path / "journal.sqlite3", journal_codec(), max_age_s=2 * DAY)
    live = Recorder(Store(), journal)
    t0 = pd.Timestamp("2024-11-01 08:00", tz=BERLIN).timestamp()
    live.reset(P.Snapshot(v=1, epoch="live", seq=0, now=t0, rate=0.0))
    tt = TimeTravel(live.store, journal)
    slider = TimeSlider(tt)
    assert -slider.slider.minimum() <= 24 * 60  # nothing imported: the live window only
    import_files(parse_profile(CITY_PROFILE, "city.toml"), [export], live)
    slider.refresh_range()
    first = frame["created"].min().timestamp()
    assert tt.bounds()[0] == first
    assert -slider.slider.minimum() == int((t0 - first) // STEP_S)  # months of minutes
    mid = pd.Timestamp("2024-01-20 20:00", tz=BERLIN)
    slider.seek_minutes_back(int((t0 - mid.timestamp()) // STEP_S))
    filed = frame[frame["created"] <= mid]
    assert sorted(tt.view.to_frame()["id"]) == sorted("C-" + filed["Ticket"])
    from commandcenter import hall_time

    shown = hall_time.local(mid.timestamp()).strftime("%Y-%m-%d %H:%M")
    assert shown in slider.marker.text()  # not today: the date is shown
    assert "天" in slider.ago.text()
    slider.teardown()
    slider.deleteLater()
    journal.close()


def test_sources_dialog_previews_rejects_and_imports_into_the_store_and_journal(
    qapp, qtbot, tmp_path: Path
) -> None:
    from commandcenter.journal import Journal
    from feeds.sources.service import SourceImporter
    from widgets import i18n
    from widgets.chrome.sources_dialog import SourcesDialog

    export = tmp_path / "months.csv"
    frame = _month_export(export)
    with export.open("a", encoding="utf-8") as f:
        f.write("X1,morgen,,,Lärm,Ordnungsamt,Mitte,52.5,13.4,offen\n")  # not a date
        f.write(
            "X2,01.03.2024 09:00,,,Lärm,Ordnungsamt,Mitte,52.5,13.4,verschollen\n"
        )  # vocabulary
    markup = '<b style="font-size:90px">Lärm</b>'
    text = export.read_text(encoding="utf-8")
    export.write_text(text.replace(",Lärm,", f",{markup},", 2), encoding="utf-8")
    profile = tmp_path / "city.toml"
    profile.write_text(CITY_PROFILE, encoding="utf-8")
    store = Store()
    journal = Journal(tmp_path / "journal.sqlite3", journal_codec())
    i18n.set_language(qapp, i18n.ENGLISH)
    dialog = SourcesDialog(SourceImporter(store, journal))
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Sources" and dialog.import_button.text() == "Import"
    assert dialog.profile_box.count() == len(SourceImporter.profiles()) >= 4
    assert not dialog.add_profile_file(tmp_path / "nope.toml")  # a bad profile says why
    assert "Profile error" in dialog.status.text()
    assert dialog.add_profile_file(profile)
    dialog.set_files([export])
    qtbot.waitUntil(lambda: dialog.preview is not None and not dialog.busy, timeout=20_000)

    # the first 50 rows as read beside the same rows as mapped
    raw, mapped = dialog.raw_table, dialog.mapped_table
    assert raw.rowCount() == mapped.rowCount() == 50
    raw_cols = [raw.horizontalHeaderItem(c).text() for c in range(raw.columnCount())]
    map_cols = [
        mapped.horizontalHeaderItem(c).text() for c in range(mapped.columnCount())
    ]  # en: the field
    assert raw.item(0, raw_cols.index("Ticket")).text() == "M0"
    assert mapped.item(0, map_cols.index("id")).text() == "C-M0"
    assert mapped.item(0, map_cols.index("status")).text() == "closed"
    assert mapped.item(0, map_cols.index("created")).text() == "2024-01-02 08:00"
    assert raw.item(0, raw_cols.index("Art")).text() == markup  # shown literally, not as markup
    # every rejection of the whole file, with its reason
    assert dialog.rejects_table.rowCount() == 2
    reasons = {dialog.rejects_table.item(r, 1).text() for r in range(2)}
    assert reasons == {"bad_date:created", "unknown_value:status"}
    assert "bad_date:created: 1" in dialog.reasons.text()
    assert dialog.status.text().startswith(
        f"read {len(frame) + 2}, can import {len(frame)}, rejected 2"
    )
    assert len(store) == 0  # a preview loads nothing

    dialog.start_import()
    qtbot.waitUntil(lambda: dialog.result is not None and not dialog.busy, timeout=20_000)
    assert dialog.progress.value() == 100
    assert dialog.status.text() == f"read {len(frame) + 2}, imported {len(frame)}, rejected 2"
    assert len(store) == len(frame) and store.case("C-M0").state == "closed"
    assert [h[3] for h in journal.history()] == [len(frame)]  # the history is journaled
    assert rejects_path(export).exists()
    # the same file again: nothing changes
    dialog.result = None
    dialog.start_import()
    qtbot.waitUntil(lambda: dialog.result is not None and not dialog.busy, timeout=20_000)
    assert dialog.result.already_imported == [export] and len(store) == len(frame)
    assert "already imported" in dialog.status.text()

    i18n.set_language(qapp, i18n.CHINESE)
    try:
        assert dialog.windowTitle() == "数据源" and dialog.import_button.text() == "导入"
    finally:
        i18n.set_language(qapp, i18n.ENGLISH)
    journal.close()


@pytest.mark.usefixtures("test_panels")
def test_ctrl_shift_i_opens_the_sources_dialog_over_the_live_store_and_journal(
    qapp, qtbot, tmp_path: Path
) -> None:
    from PySide6.QtCore import Qt

    from commandcenter.status import FeedStatus
    from commandcenter.timetravel import TimeTravel
    from layouts.library import LayoutLibrary
    from layouts.shell import Shell
    from tests.test_layout_engine import deep_doc
    from widgets import i18n
    from widgets.base import hall_context
    from widgets.chrome.sources_dialog import SourcesDialog
    from widgets.live import LiveBridge

    store, status = Store(), FeedStatus()
    bridge = LiveBridge(store, status)
    journal = Journal(tmp_path / "journal.sqlite3", journal_codec())
    shell = Shell(hall_context(store, status, bridge), LayoutLibrary(tmp_path / "u", tmp_path / "p"),
                  interactive=False, timetravel=TimeTravel(store, journal))  # fmt: skip
    i18n.set_language(qapp, i18n.ENGLISH)
    try:
        shell.apply_layout(deep_doc())
        win = shell.windows[0]
        win.show()
        qtbot.waitExposed(win)
        action = win.findChild(type(win.commands.palette), "action-sources")
        assert action.shortcut().toString() == "Ctrl+Shift+I" and action.text() == "Sources…"
        assert any(act is action for _, act in win.commands.entries())  # the palette lists it
        qtbot.keyClick(
            win,
            Qt.Key.Key_I,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
        dialog = win.findChild(SourcesDialog)
        assert dialog is not None and dialog.isVisible()
        assert dialog.importer.sink.store is store and dialog.importer.journal is journal
        dialog.close()
    finally:
        shell.close_all()
        bridge.close()
        journal.close()


def test_a_masking_journal_keeps_no_personal_data_of_an_import(tmp_path: Path) -> None:
    from commandcenter.privacy import Mask

    text = CITY_PROFILE.replace('lat = "Breite"', 'lat = "Breite"\nreporter_name = "Name"\n'
                                'reporter_phone = "Telefon"\ndescription = "Notiz"')  # fmt: skip
    profile = parse_profile(text, "city.toml")
    export = tmp_path / "people.csv"
    export.write_text(
        "Ticket,Geöffnet,Erledigt,Frist,Art,Amt,Bezirk,Breite,Länge,Zustand,Name,Telefon,Notiz\n"
        "1,01.03.2024 08:00,,,Lärm,Ordnungsamt,Mitte,52.5,13.4,offen,张三丰,13812345678,"
        "张三丰说：请回电13812345678\n",
        encoding="utf-8",
    )
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path, journal_codec(Mask()))
    store = Store()
    assert import_files(profile, [export], store, journal).imported == 1
    assert store.case("C-1").reporter_phone == "13812345678"  # the live store keeps them
    journal.close()
    raw = path.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("journal.sqlite3-*"))
    assert b"13812345678" not in raw and "张三丰".encode() not in raw
    journal = Journal(path, journal_codec(Mask()))
    past = Store()
    journal.seek_into(past, journal.bounds()[1])
    case = past.case("C-1")
    assert case.reporter_phone != "13812345678" and "张三丰" not in case.description
    assert case.reporter_phone.startswith("138") and case.reporter_phone.endswith("5678")
    journal.close()


@pytest.mark.slow
def test_the_console_starts_with_the_imported_history_in_its_live_store(
    shared_external: Path, tmp_path: Path
) -> None:
    """Imported months are in the running app's store (rankings and trends), beside the
    demo feed, whose snapshot does not remove them."""
    from tests.test_app_e2e import _app

    export = tmp_path / "nyc.csv"
    export.write_bytes((shared_external / "nyc311_sample_mzuber88.csv").read_bytes())
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    done = _run_import("--profile", "nyc311", "--journal", str(state / "journal.sqlite3"),
                       str(export), state=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr

    def store_count(run: subprocess.CompletedProcess[str]) -> int:
        assert run.returncode == 0, run.stderr[-2000:]
        line = next(ln for ln in run.stdout.splitlines() if ln.startswith("STORE "))
        return int(line.split("cases=")[1])

    args = ("--history-hours", "1", "--report-sources", "--quit-after", "6")
    with_history = store_count(_app(tmp_path, *args, timeout=120))
    (state / "journal.sqlite3").unlink()
    for side in state.glob("journal.sqlite3-*"):
        side.unlink()
    demo_only = store_count(_app(tmp_path, *args, timeout=120))
    assert with_history - demo_only >= 990 - 20, (with_history, demo_only)  # demo varies a little


def test_subscribe_keeps_a_file_watched_as_a_live_source_of_its_own(
    qapp, qtbot, tmp_path: Path
) -> None:
    """The dialog's Subscribe starts a real ``file`` source (registry.attach, as main.py
    does) into its own sink of the mux: its cases arrive namespaced, it has its own row,
    and rows appended to the file later arrive too."""
    import asyncio

    from commandcenter.sources import SourceMux
    from commandcenter.status import LinkState, StatusBoard
    from feeds.sources import registry
    from feeds.sources.service import SourceImporter
    from tests.support import wait_until
    from widgets import i18n
    from widgets.chrome.sources_dialog import SourcesDialog

    export = tmp_path / "months.csv"
    frame = _month_export(export)
    profile = tmp_path / "city.toml"
    profile.write_text(CITY_PROFILE, encoding="utf-8")
    store = Store()
    mux, board = SourceMux(store), StatusBoard()
    mux.sink("primary")  # the console's own feed is the primary; a subscription comes after
    started: list = []

    def subscribe(text: str) -> str:
        spec = registry.parse_arg(text)
        source = registry.attach(spec, mux, board)
        started.append(source)
        source.start()
        return spec.name

    i18n.set_language(qapp, i18n.ENGLISH)
    dialog = SourcesDialog(SourceImporter(store), subscribe=subscribe)
    qtbot.addWidget(dialog)
    assert dialog.subscribe_button.text().startswith("Subscribe")
    assert dialog.add_profile_file(profile)
    dialog.set_files([export])
    dialog.watch_s = 0.3  # poll quickly for the test (the dialog's default: every 10 s)

    async def scenario() -> list[str]:
        names = dialog.start_subscription()
        assert await wait_until(lambda: len(store) == len(frame), 20)
        with export.open("a", encoding="utf-8") as f:  # the export grows: the watch sees it
            f.write("M999,01.03.2024 09:00,,,Lärm,Ordnungsamt,Mitte,52.5,13.4,offen\n")
        assert await wait_until(lambda: len(store) == len(frame) + 1, 20)
        for s in started:
            await s.stop()
        return names

    names = asyncio.run(scenario())
    assert names == ["file-months"]
    assert store.case("file-months:C-M0").state == "closed"  # namespaced by the source
    assert board.row("file-months").kind == "file"
    assert board.row("file-months").status.state in (LinkState.LIVE, LinkState.STOPPED)


def test_a_torn_csv_keeps_its_row_numbers_raw_text_and_every_good_row(tmp_path: Path) -> None:
    """What Excel and hand edits leave in a CSV: a byte-order mark, an ideographic space
    around values, a quoted address with a comma and a line break, "null" spellings, a
    repeated column name, rows with a field too few or too many. The torn rows are
    rejected as malformed with their own file row, every other row imports, and the
    rejects file shows what the file holds, not the cleaned value."""
    profile = parse_profile(CITY_PROFILE.replace('township = "Bezirk"', 'township = "Bezirk"\naddress = "Ort"'),
                            "city.toml")  # fmt: skip
    lines = [
        "Ticket,Geöffnet,Erledigt,Frist,Art,Amt,Bezirk,Breite,Länge,Zustand,Ort,Art",
        "1,01.03.2024 08:00,NULL,,\u3000Lärm\u3000,Ordnungsamt,Mitte,52.52,13.40,offen,Hof,x",
        '2,01.03.2024 09:00,,,Müll,Stadtreinigung,Mitte,52.5,13.4,offen,"Straße 1, Hinterhaus\nlinks",x',
        "3,01.03.2024 10:00,,,Müll,Stadtreinigung,Mitte,52.5,13.4",  # two fields short
        "4,01.03.2024 11:00,,,Licht,Tiefbauamt,Pankow,52.55,13.41,offen,Eck,x,zu viel",  # one too many
        "5,gestern,  null ,,Licht,Tiefbauamt,Pankow,52.55,13.41,offen,Eck,x",  # bad date
        "6,01.03.2024 12:00,N/A,,Licht,Tiefbauamt,Pankow,52.55,13.41,offen,Eck,x",
    ]
    path = tmp_path / "torn.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode("utf-8"))
    store = Store()
    result = import_files(profile, [path], store)
    assert result.read == 6
    assert dict(result.rejected) == {"malformed_row": 2, "bad_date:created": 1}
    assert len(store) == 3 and all(store.case(f"C-{i}") is not None for i in (1, 2, 6))
    assert store.case("C-1").category == "Lärm"
    assert store.case("C-2").address == "Straße 1, Hinterhaus\nlinks"
    assert store.case("C-1").closed_ts == 0.0 and store.case("C-6").state == "assigned"
    rejects = pd.read_csv(
        rejects_path(path), dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    # file rows: the header is row 1; row 3's quoted line break does not make it two rows
    assert rejects["row"].tolist() == ["4", "5", "6"]
    assert rejects["reason"].tolist() == ["malformed_row", "malformed_row", "bad_date:created"]
    assert "zu viel" in rejects.loc[1, "detail"]
    assert rejects.loc[2, "Erledigt"] == "  null "  # as written, not as cleaned


def test_a_csv_in_the_profiles_own_encoding(tmp_path: Path) -> None:
    """A 12345 platform's CSV is often GBK: read in the profile's encoding; the same
    bytes under a UTF-8 profile are a clear error, never mojibake imported."""
    text = """\
[profile]
name = "gbk-12345"
version = 1
[read]
formats = ["csv"]
encoding = "gbk"
[time]
zone = "Asia/Shanghai"
formats = ["%Y-%m-%d %H:%M"]
[fields]
id = "工单编号"
created = "受理时间"
category = "诉求类型"
department = "承办单位"
"""
    path = tmp_path / "gbk.csv"
    path.write_bytes(
        "工单编号,受理时间,诉求类型,承办单位\nA1,2024-03-01 08:00,噪音扰民,城管局\n".encode("gbk")
    )
    store = Store()
    result = import_files(parse_profile(text, "gbk.toml"), [path], store)
    assert result.rejected_total == 0 and result.imported == 1
    assert store.case("A1").category == "噪音扰民" and store.case("A1").assignee == "城管局"
    wrong = import_files(
        parse_profile(text.replace('encoding = "gbk"\n', ""), "utf8.toml"), [path], Store()
    )
    assert wrong.imported == 0 and wrong.rejected["unreadable_file"] == 1
    assert "not a readable CSV" in wrong.problems[0]


def test_a_vocabulary_keeps_replaces_or_defaults_unknown_and_empty_values(tmp_path: Path) -> None:
    """Each vocabulary outcome, counted by hand: a known word is mapped, an unknown one is
    kept as written (``keep``) or replaced (a stand-in value), an empty cell takes the
    field's default; in the same file, and whatever the order of the rows."""
    profile = parse_profile(
        '[profile]\nname = "voc"\nversion = 1\n[time]\nzone = "Asia/Shanghai"\n'
        'formats = ["%Y-%m-%d %H:%M"]\n[ids]\nprefix = "V-"\n'
        '[fields]\nid = "编号"\ncreated = "时间"\ncategory = { column = "类别", lookup = "category" }\n'
        'department = { column = "单位", lookup = "agency", default = "值班室" }\n'
        '[vocabularies.category]\nmap = { "噪音" = "噪音扰民" }\nunknown = "keep"\n'
        '[vocabularies.agency]\nmap = { "城管" = "城管局" }\nunknown = "其他单位"\n'
    )
    rows = [
        "编号,时间,类别,单位",
        "1,2024-03-01 08:00,噪音,城管",
        "2,2024-03-01 09:00,井盖,城管",  # unknown category: kept as written
        "3,2024-03-01 10:00,噪音,水务",  # unknown agency: the stand-in
        "4,2024-03-01 11:00,井盖,",  # no agency: the field's default
        "5,2024-03-01 12:00,噪音,城管",
    ]
    path = tmp_path / "voc.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    store = Store()
    result = import_files(profile, [path], store)
    assert (result.imported, result.rejected_total) == (5, 0)
    got = {i: (store.case(f"V-{i}").category, store.case(f"V-{i}").assignee) for i in range(1, 6)}
    assert got == {
        1: ("噪音扰民", "城管局"),
        2: ("井盖", "城管局"),
        3: ("噪音扰民", "其他单位"),
        4: ("井盖", "值班室"),
        5: ("噪音扰民", "城管局"),
    }


def test_the_catalogue_reads_a_records_own_due_date_as_the_queue_does(tmp_path: Path) -> None:
    """Imported cases with their own due dates: the catalogue's SLA figures (the tiles,
    the PDF) equal the queue's and the alarms' (the store's), and both equal the counts
    worked out by hand from filing time, due date and the 50% / 80% shares."""
    from commandcenter.metrics.engine import MetricEngine

    zone = ZoneInfo("Asia/Shanghai")
    now = pd.Timestamp("2026-03-02 12:00", tz=zone)
    spans = [  # (filed before now, due after now, how many): hand-worked level
        (pd.Timedelta(days=2), pd.Timedelta(days=1), 3),  # 2 of 3 days used: yellow
        (pd.Timedelta(days=4), pd.Timedelta(days=1), 1),  # exactly 80%: red
        (pd.Timedelta(days=1), -pd.Timedelta(hours=1), 2),  # past its own due date: overdue
        (pd.Timedelta(hours=1), pd.Timedelta(days=10), 4),  # just filed: blue
    ]
    lines, i = ["id,t,due,c,s"], 0
    for before, after, k in spans:
        for _ in range(k):
            t, due = now - before, now + after
            lines.append(f"{i},{t:%Y-%m-%d %H:%M},{due:%Y-%m-%d %H:%M},路灯不亮,办理中")
            i += 1
    path = tmp_path / "due.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    profile = parse_profile(
        '[profile]\nname = "due"\nversion = 1\n[time]\nzone = "Asia/Shanghai"\n'
        'formats = ["%Y-%m-%d %H:%M"]\n[fields]\nid = "id"\ncreated = "t"\ndue = "due"\n'
        'category = "c"\nstatus = { column = "s", lookup = "s" }\n'
        '[vocabularies.s]\nmap = { "办理中" = "handling" }\n'
    )
    store = Store()
    assert import_files(profile, [path], store).imported == 10
    store.set_clock(now.timestamp(), rate=0.0)
    engine = MetricEngine(store)
    figures = {m: engine.value(m).value for m in ("sla_red", "sla_yellow", "sla_blue", "overdue_now")}
    assert figures == {"sla_red": 3, "sla_yellow": 3, "sla_blue": 4, "overdue_now": 2}
    counts = {level.value: n for level, n in store.sla_counts().items()}
    assert counts == {"red": 3, "yellow": 3, "blue": 4} and store.overdue_count() == 2
    # and after a change (the running counts, not a load from scratch)
    store.apply([P.Event(store.seq + 1, P.CASE_UPDATED, now.timestamp(),
                         msgspec.structs.replace(store.case(store.columns().ids[0]), version=9,
                                                 due_ts=now.timestamp() - 60))])  # fmt: skip
    assert engine.value("overdue_now").value == store.overdue_count() == 3
