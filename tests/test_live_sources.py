"""Live sources as plug-ins: the registry, several sources into one store through the mux
(ids namespaced, own seq/epoch, a snapshot replaces only its own source's records), and
real servers on 127.0.0.1: Open311 over HTTP, CoT over TCP and UDP, our v1 feed."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commandcenter.journal import Journal, Recorder
from commandcenter.sources import SourceMux
from commandcenter.status import LinkState, StatusBoard
from commandcenter.store import Store
from feeds import protocol as P
from feeds.journal_codec import journal_codec
from feeds.sources import registry
from feeds.sources.registry import SourceError, SourceSpec, parse_arg
from tests.support import ThreadedServer, free_port, wait_until

NOW = 1_795_399_200.0


def _case(cid: str, version: int = 1, state: str = "reported") -> P.CaseData:
    return P.CaseData(
        id=cid, version=version, category="road", source="hotline", urgency="normal",
        state=state, township="T1", grid="G1", lon=118.0, lat=32.0,
        created_ts=NOW, state_ts=NOW,
    )  # fmt: skip


def _snapshot(epoch: str, seq: int, cases: list[P.CaseData], **kw) -> P.Snapshot:  # type: ignore[no-untyped-def]
    return P.Snapshot(v=1, epoch=epoch, seq=seq, now=NOW, rate=1.0, cases=cases, **kw)


def _ev(seq: int, data: object, kind: str = P.CASE_CREATED) -> P.Event:
    return P.Event(seq=seq, kind=kind, ts=NOW + seq, data=data)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def cot_xml(uid: str, lat: float = 32.05, lon: float = 118.78) -> bytes:
    """A fresh friendly ground unit (stale in five minutes)."""
    now = time.time()
    return (
        f'<event version="2.0" uid="{uid}" type="a-f-G-U-C" time="{_iso(now)}" '
        f'start="{_iso(now)}" stale="{_iso(now + 300)}" how="m-g">'
        f'<point lat="{lat}" lon="{lon}" hae="0" ce="9" le="9"/>'
        f'<detail><contact callsign="{uid}"/><track course="90" speed="3"/></detail></event>'
    ).encode()


# ---- the mux: several sources, one store ----------------------------------------------------


def test_two_sources_sending_the_same_id_give_two_cases(tmp_path: Path) -> None:
    store = Store()
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    mux = SourceMux(store, Recorder(store, journal))
    a, b = mux.sink("v1"), mux.sink("open311")
    a.reset(_snapshot("ea", 10, [_case("C1")]))
    b.reset(_snapshot("eb", 0, []))
    b.apply([_ev(1, _case("C1")), _ev(2, _case("C2"))])
    a.apply([_ev(11, _case("C1", 2, "signed"))])
    assert sorted(store.columns().ids) == ["C1", "open311:C1", "open311:C2"]
    assert store.case("C1").state == "signed" and store.case("open311:C1").state == "reported"
    # each source its own seq and epoch; the store's seq is one monotone history
    assert (a.epoch, a.seq, b.epoch, b.seq) == ("ea", 11, "eb", 2)
    assert store.seq == 13
    # a source's own duplicates are skipped against its own seq, not the store's
    cs = b.apply([_ev(2, _case("C2")), _ev(3, _case("C3"))])
    assert cs.duplicates == 1 and "open311:C3" in cs.cases_created
    assert mux.owner_of("open311:C3") == "open311" and mux.owner_of("C1") == "v1"
    journal.flush()
    assert journal.count() == 4  # every applied event journaled, renamed and renumbered
    replay = Store()
    journal.seek_into(replay, NOW + 100)
    assert sorted(replay.columns().ids) == sorted(store.columns().ids)
    journal.close()


def test_a_snapshot_replaces_only_its_own_sources_records() -> None:
    store = Store()
    mux = SourceMux(store)
    v1, cot = mux.sink("v1"), mux.sink("cot")
    v1.reset(_snapshot("e1", 5, [_case("A"), _case("B")]))
    cot.reset(_snapshot("c1", 0, []))
    unit = P.UnitStatusData(id="ANDROID-1", name="Patrol 1", kind="enforcement", status="available")
    cot.apply([_ev(1, unit, P.UNIT_STATUS), _ev(2, _case("A"))])
    store_ids = lambda: sorted(store.columns().ids)  # noqa: E731
    assert store_ids() == ["A", "B", "cot:A"] and "cot:ANDROID-1" in store.units
    # a new v1 history (a resync): v1's cases replaced, CoT's unit and case kept
    cs = v1.reset(_snapshot("e2", 1, [_case("B", 3), _case("D")]))
    assert cs.reset and store_ids() == ["B", "D", "cot:A"]
    assert store.case("B").version == 3 and "cot:ANDROID-1" in store.units
    # CoT's own snapshot: its records go, v1's stay
    cot.reset(_snapshot("c2", 0, [_case("Z")]))
    assert store_ids() == ["B", "D", "cot:Z"] and "cot:ANDROID-1" not in store.units
    # and references between a source's records follow its prefix
    assigned = _case("Q")
    assigned.assignee, assigned.assignee_kind = "ANDROID-1", "unit"
    cot.apply([_ev(1, assigned)])
    assert store.case("cot:Q").assignee == "cot:ANDROID-1"


def test_prefixes_that_could_collide_are_refused() -> None:
    mux = SourceMux(Store())
    mux.sink("v1")
    with pytest.raises(ValueError, match="prefix"):
        mux.sink("b", prefix="")  # a second unprefixed source
    mux.sink("cot")
    with pytest.raises(ValueError, match="named"):
        mux.sink("cot")
    with pytest.raises(ValueError, match="prefix"):
        mux.sink("cot2", prefix="cot:")


def test_the_hall_status_is_the_worst_source_and_the_sum_of_their_counters() -> None:
    board = StatusBoard()
    a = board.add("v1", "v1", heartbeat=True)
    b = board.add("cot", "cot")
    a.set_state(LinkState.LIVE)
    a.applied, b.applied = 10, 5
    b.quarantine("cot_bad_point", "lat=99")
    b.error("listen", "udp 127.0.0.1:9: address in use")
    b.set_state(LinkState.RECONNECTING)
    hall = board.hall
    assert hall.state is LinkState.RECONNECTING and hall.applied == 15
    assert hall.quarantined == {"cot: cot_bad_point": 1}
    assert hall.last_error == "cot: listen: udp 127.0.0.1:9: address in use"
    b.set_state(LinkState.LIVE)
    assert hall.state is LinkState.LIVE


# ---- the registry ---------------------------------------------------------------------------


def test_source_arguments_and_settings_validated_with_the_fix_named(tmp_path: Path) -> None:
    spec = parse_arg("cot:listen=127.0.0.1:6969,proto=tcp,name=units")
    assert (spec.name, spec.kind, dict(spec.options)) == (
        "units", "cot", {"listen": "127.0.0.1:6969", "proto": "tcp"},
    )  # fmt: skip
    with pytest.raises(SourceError, match="unknown source kind 'carrier-pigeon'"):
        registry.check(parse_arg("carrier-pigeon:url=x"))
    with pytest.raises(SourceError, match="unknown option 'colour'"):
        registry.check(parse_arg("open311:url=http://127.0.0.1:1,colour=red"))
    with pytest.raises(SourceError, match="token_file="):
        registry.check(parse_arg("v1:url=http://127.0.0.1:1,token=s3cret"))
    with pytest.raises(SourceError, match="needs url="):
        registry.check(parse_arg("open311:format=xml"))
    with pytest.raises(SourceError, match="not loopback"):
        registry.build(parse_arg("cot:listen=0.0.0.0:6969"), SourceMux(Store()).sink("x"), None)  # type: ignore[arg-type]
    specs = registry.unique_names(
        registry.from_settings(
            [{"kind": "cot", "listen": "127.0.0.1:1"}, {"kind": "cot", "file": "x"}]
        )
    )
    assert [s.name for s in specs] == ["cot", "cot-2"]
    loose = tmp_path / "token"
    loose.write_text("s3cret")
    loose.chmod(0o644)
    with pytest.raises(SourceError, match="chmod 600"):
        registry.build(
            SourceSpec("v1", "v1", {"url": "http://127.0.0.1:1", "token_file": str(loose)}),
            SourceMux(Store()).sink("v1"),
            StatusBoard().add("v1", "v1"),
        )


# ---- real servers through the registry -------------------------------------------------------


@pytest.fixture
def o311(shared_external: Path) -> Path:
    return shared_external / "open311"


def _open311_app(body: bytes, fmt: str, seen: list[dict[str, str]]) -> Starlette:
    async def requests(request: Request) -> Response:
        seen.append(dict(request.query_params))
        return Response(body, media_type=f"application/{fmt}")

    return Starlette(routes=[Route(f"/open311/v2/requests.{fmt}", requests)])


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_polled_from_a_real_server_through_the_registry(o311: Path, fmt: str) -> None:
    seen: list[dict[str, str]] = []
    body = (o311 / f"example_get_service_requests.{fmt}").read_bytes()
    store = Store()
    mux = SourceMux(store)
    board = StatusBoard()
    with ThreadedServer(_open311_app(body, fmt, seen)) as srv:
        spec = parse_arg(f"open311:url={srv.url}/open311/v2,format={fmt},interval=0.2,name=city")
        mux.sink("primary")  # the city's requests come second: namespaced
        source = registry.build(spec, mux.sink(spec.name), board.add(spec.name, spec.kind))

        async def scenario() -> None:
            source.start()
            assert await wait_until(lambda: len(seen) >= 2, 10)
            await source.stop()

        asyncio.run(scenario())
    assert sorted(store.columns().ids) == ["city:311-638344", "city:311-638349"]
    assert store.case("city:311-638344").state == "closed"
    assert "updated_after" not in seen[0]
    assert seen[1]["updated_after"].startswith("2010-04-19T14:37:38")
    st = board.row("city").status
    assert st.applied == 2 and st.errors.total() == 0


def _send_udp(port: int, payload: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(payload, ("127.0.0.1", port))


@pytest.mark.slow
def test_cot_over_real_tcp_and_udp_through_the_registry_same_uid_two_units() -> None:
    store = Store()
    mux = SourceMux(store)
    board = StatusBoard()
    tcp_port, udp_port = free_port(), free_port()
    sources = []
    for text in (f"cot:listen=127.0.0.1:{udp_port},name=mesh",
                 f"cot:listen=127.0.0.1:{tcp_port},proto=tcp,name=tak"):  # fmt: skip
        spec = parse_arg(text)
        sources.append(registry.build(spec, mux.sink(spec.name), board.add(spec.name, spec.kind)))

    async def scenario() -> None:
        for s in sources:
            s.start()
        assert await wait_until(lambda: all(s.bound for s in sources), 10)
        _r, w = await asyncio.open_connection("127.0.0.1", tcp_port)
        raw = cot_xml("ANDROID-7", 32.1, 118.9)
        w.write(raw[:60])
        await w.drain()
        w.write(raw[60:] + b"<event not-closed")  # split, then a tail that never ends
        await w.drain()
        _send_udp(udp_port, cot_xml("ANDROID-7", 32.0, 118.7))
        _send_udp(udp_port, b"<event uid='x' type='a-f-G' time='soon'><point/></event>")
        assert await wait_until(lambda: len(store.units) == 2, 10)
        w.close()
        for s in sources:
            await s.stop()

    asyncio.run(scenario())
    assert store.units["ANDROID-7"].lat == pytest.approx(32.0)  # the mesh is primary
    assert store.units["tak:ANDROID-7"].lat == pytest.approx(32.1)
    assert board.row("mesh").status.quarantined_total == 1  # the bad datagram, in its row
    assert board.row("tak").status.quarantined_total == 0


def _token_file(tmp_path: Path, token: str) -> Path:
    f = tmp_path / "feed.token"
    f.write_text(token)
    f.chmod(0o600)
    return f


@pytest.mark.slow
def test_a_failing_source_shows_its_cause_in_its_own_row_while_the_other_stays_live(
    tmp_path: Path, qapp
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    from feeds.serve.server import EmbeddedServer
    from widgets.base import PanelContext
    from widgets.live import LiveBridge
    from widgets.panels.feed_status import FeedStatusPanel

    store = Store()
    mux = SourceMux(store)
    board = StatusBoard()
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy = taken.getsockname()[1]
    server = EmbeddedServer(seed=3, history_hours=0.5, heartbeat_s=0.5)
    server.start()
    try:
        specs = [
            parse_arg(f"v1:url={server.url},token_file={_token_file(tmp_path, server.token)}"),
            parse_arg(f"cot:listen=127.0.0.1:{busy},proto=tcp"),
        ]
        sources = []
        for s in specs:
            sink = mux.sink(s.name)
            where = registry.kind(s.kind).where(s)
            status = board.add(s.name, s.kind, where, cases=lambda sink=sink: sink.case_count)
            sources.append(registry.build(s, sink, status))
        bridge = LiveBridge(store, board.hall, sources=board)
        panel = FeedStatusPanel(PanelContext(store, board.hall, bridge))

        async def scenario() -> None:
            for s in sources:
                s.start()
            v1, cot = board.row("v1").status, board.row("cot").status
            assert await wait_until(
                lambda: v1.state is LinkState.LIVE and cot.errors["listen"] >= 1, 20
            )
            board.refresh()
            panel.refresh()
            for s in sources:
                await s.stop()

        asyncio.run(scenario())
        table = panel.sources
        rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
        assert set(rows) == {"v1", "cot"}
        v1_row, cot_row = rows["v1"], rows["cot"]
        assert (
            table.item(v1_row, 2).data(Qt.ItemDataRole.UserRole) == "live"
        )  # Qt.UserRole: the state
        assert int(table.item(v1_row, 3).text().replace(",", "")) == len(store) > 0
        assert table.item(cot_row, 2).data(Qt.ItemDataRole.UserRole) == "reconnecting"
        assert "address already in use" in table.item(cot_row, 6).text().lower()
        assert table.item(v1_row, 6).text() == "—"
        panel.teardown()
        bridge.close()
    finally:
        server.stop()
        taken.close()


# ---- the app with several sources at once ----------------------------------------------------

FEED_LAYOUT = {
    "schema": "commandcenter.layout",
    "version": 1,
    "name": "sources",
    "role": "duty_officer",
    "schedule": None,
    "panels": {
        "feed": {"type": "feed_status", "settings": {"recent": 8}},
        "queue": {"type": "case_queue", "settings": {}},
    },
    "screens": [
        {
            "match": {"index": 0},
            "kiosk": False,
            "scale": 1.0,
            "dock": {
                "split": "horizontal",
                "sizes": [1, 1],
                "children": [{"area": ["feed"]}, {"area": ["queue"]}],
            },
            "floating": [],
        }
    ],
}


def _report(stdout: str) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for line in stdout.splitlines():
        if line.startswith("SOURCE "):
            head, _, error = line.partition(" error=")
            name, kind, state, *counts = head.split()[1:]
            rows[name] = {"kind": kind, "state": state, "error": error}
            rows[name].update(c.split("=", 1) for c in counts)
    return rows


@pytest.mark.slow
def test_the_app_runs_several_sources_at_once_into_one_store(tmp_path: Path, o311: Path) -> None:
    import json
    import os
    import subprocess
    import sys
    import threading

    from tests.support import ROOT

    body = (o311 / "example_get_service_requests.json").read_bytes()
    layout = tmp_path / "sources.json"
    layout.write_text(json.dumps(FEED_LAYOUT), encoding="utf-8")
    cot_port = free_port()
    done = threading.Event()

    def send_cot() -> None:  # a unit reporting every 0.3 s until the app is gone
        while not done.wait(0.3):
            _send_udp(cot_port, cot_xml("ANDROID-1"))
            _send_udp(cot_port, cot_xml("ANDROID-2", 32.06, 118.8))

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CC_CONFIG_DIR=str(tmp_path / "cfg"),
               CC_STATE_DIR=str(tmp_path / "state"))  # fmt: skip
    env.pop("CC_FEED_TOKEN", None)
    with ThreadedServer(_open311_app(body, "json", [])) as srv:
        sender = threading.Thread(target=send_cot, daemon=True)
        sender.start()
        try:
            r = subprocess.run(
                [sys.executable, str(ROOT / "main.py"), "--geometry", "1400x800",
                 "--history-hours", "1", "--layout", str(layout),
                 "--source", "v1",  # the embedded demo county, the primary
                 "--source", f"open311:url={srv.url}/open311/v2,interval=1",
                 "--source", f"open311:url={srv.url}/open311/v2,interval=1,name=city2",
                 "--source", f"cot:listen=127.0.0.1:{cot_port},proto=udp",
                 "--quit-after", "10", "--report-sources",
                 "--screenshot", str(tmp_path / "shot.png")],
                capture_output=True, text=True, env=env, timeout=120, cwd=ROOT,
            )  # fmt: skip
        finally:
            done.set()
    assert r.returncode == 0, r.stderr[-2000:]
    rows = _report(r.stdout)
    assert list(rows) == ["v1", "open311", "city2", "cot"], r.stdout
    assert all(row["state"] == "live" for row in rows.values()), rows
    assert int(rows["v1"]["cases"]) > 0
    # the same two requests from two sources: two cases each, not wiped by the v1 snapshot
    assert rows["open311"]["cases"] == rows["city2"]["cases"] == "2"
    assert int(rows["cot"]["units"]) == 2 and int(rows["cot"]["events"]) >= 2
    assert list(tmp_path.glob("shot*.png"))


# ---- configuration: the old flags become sources ---------------------------------------------


def test_feed_and_mqtt_flags_settings_and_the_demo_become_sources(tmp_path: Path) -> None:
    import json

    from commandcenter.settings import Settings, SettingsError
    from main import build_parser, source_specs

    def specs(*argv: str, settings: Settings | None = None) -> list[tuple[str, str, dict]]:
        args = build_parser().parse_args(list(argv))
        return [
            (s.name, s.kind, dict(s.options)) for s in source_specs(args, settings or Settings())
        ]

    assert specs() == [("v1", "v1", {})]  # nothing configured: the embedded demo county
    assert specs("--feed", "https://f.example", "--token-file", "/t") == [
        ("v1", "v1", {"url": "https://f.example", "token_file": "/t"})
    ]
    mqtt = specs("--mqtt", "127.0.0.1:1883", "--feed", "https://f.example", "--mqtt-county", "x")
    assert mqtt == [("mqtt", "mqtt", {"broker": "127.0.0.1:1883", "county": "x",
                                      "snapshot_url": "https://f.example"})]  # fmt: skip
    both = specs("--feed", "https://f.example", "--source", "cot:listen=127.0.0.1:6969",
                 "--source", "cot:file=/x.xml")  # fmt: skip
    assert [(n, k) for n, k, _ in both] == [("v1", "v1"), ("cot", "cot"), ("cot-2", "cot")]
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"sources": [{"name": "city", "kind": "open311", "url": "u"}]}))
    configured = Settings.load(path)
    assert specs(settings=configured) == [("city", "open311", {"url": "u"})]
    # the command line decides when it names any source
    assert specs("--source", "v1", settings=configured) == [("v1", "v1", {})]
    path.write_text(json.dumps({"sources": [{"kind": "v1", "url": "u", "token": "s3cret"}]}))
    with pytest.raises(SettingsError, match="token_file"):
        Settings.load(path)


@pytest.mark.slow
def test_a_watched_folder_of_exports_through_the_registry(tmp_path: Path, o311: Path) -> None:
    """Exports dropped into a folder are mapped by their profile while the console runs;
    a file read again changes nothing; a rejected row is counted in the source's row."""
    import shutil

    folder = tmp_path / "exports"
    folder.mkdir()
    store = Store()
    mux = SourceMux(store)
    board = StatusBoard()
    mux.sink("primary")
    spec = parse_arg(f"file:path={folder},profile=open311,watch=0.1,name=orders")
    source = registry.build(spec, mux.sink("orders"), board.add("orders", "file"))
    st = board.row("orders").status
    applied: list[int] = []
    later = (o311 / "example_get_service_requests.json").read_text()
    later = later.replace('"service_request_id":638344', '"service_request_id":700001')
    # no id: rejected with its reason, the other record goes in
    later = later.replace('"service_request_id":638349', '"service_request_id":""')

    async def scenario() -> None:
        source.start()
        shutil.copy(o311 / "example_get_service_requests.json", folder / "day1.json")
        assert await wait_until(lambda: len(store) == 2, 20)
        (folder / "day2.json").write_text(later)
        assert await wait_until(lambda: len(store) == 3 and len(source.results) == 2, 20)
        applied.append(st.applied)
        (folder / "day1.json").touch()  # read again: the same versions, nothing new
        assert await wait_until(lambda: len(source.results) == 3, 20)
        await source.stop()

    asyncio.run(scenario())
    assert sorted(store.columns().ids) == [
        "orders:311-638344", "orders:311-638349", "orders:311-700001",
    ]  # fmt: skip
    assert st.applied == applied[0] > 0 and st.quarantined_total == 1, st.quarantined
    assert any("rejected.csv" in b.detail for b in st.recent_bad)
    assert (folder / "day2.json.rejected.csv").exists()


@pytest.mark.slow
def test_mqtt_through_the_registry_beside_cot_into_one_store(tmp_path: Path) -> None:
    """Unit positions from a real broker (the primary) and from CoT over UDP with the same
    unit id: two units, each source's status its own."""
    from feeds.serve.mqtt_bridge import MqttBridge
    from feeds.transports.mosquitto import LocalMosquitto, mosquitto_binary
    from feeds.transports.mqtt import MqttConfig

    if mosquitto_binary() is None:
        pytest.skip("mosquitto not installed (make test installs it)")
    broker = LocalMosquitto(tmp_path / "broker").start()
    store = Store()
    mux = SourceMux(store)
    board = StatusBoard()
    udp = free_port()
    sources = []
    for text in (f"mqtt:broker=127.0.0.1:{broker.port},county=t,client_id=console-reg",
                 f"cot:listen=127.0.0.1:{udp}"):  # fmt: skip
        spec = parse_arg(text)
        sources.append(registry.build(spec, mux.sink(spec.name), board.add(spec.name, spec.kind)))

    async def scenario() -> None:
        bridge = MqttBridge(MqttConfig(host="127.0.0.1", port=broker.port, county="t",
                                       client_id="bridge-reg"), window=20)  # fmt: skip
        bridge.epoch = "e-reg"
        await bridge.maybe_heartbeat(force=True)
        for s in sources:
            s.start()
        assert await wait_until(lambda: mux.parts["mqtt"].epoch == "e-reg", 15)
        pos = P.UnitPosition(id="ANDROID-3", lon=118.7, lat=32.2, ts=time.time())
        await bridge.publish_envelopes(
            [(1, P.UNIT_POSITION, P.encode_envelope(1, P.UNIT_POSITION, time.time(), pos))]
        )
        assert await wait_until(lambda: sources[1].bound is not None, 10)
        _send_udp(udp, cot_xml("ANDROID-3", 32.0, 118.7))
        assert await wait_until(lambda: len(store.units) == 2, 15), list(store.units)
        for s in sources:
            await s.stop()
        await bridge.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        broker.stop()
    assert store.units["ANDROID-3"].lat == pytest.approx(32.2)
    assert store.units["cot:ANDROID-3"].lat == pytest.approx(32.0)
    assert board.row("mqtt").status.applied == 1 and board.row("cot").status.applied == 2


@pytest.mark.slow
def test_a_cot_camera_without_a_url_gets_the_profiles_gateway_url() -> None:
    """profile=cot: cameras.url_template = "rtsp://127.0.0.1:8554/{channel}" fills in the
    stream of a camera event that carries none; one with its own URL keeps it."""
    store = Store()
    mux = SourceMux(store)
    board = StatusBoard()
    port = free_port()
    spec = parse_arg(f"cot:listen=127.0.0.1:{port},profile=cot,name=cams")
    source = registry.build(spec, mux.sink(spec.name), board.add(spec.name, spec.kind))
    now = time.time()

    def camera(uid: str, video: str = "") -> bytes:
        detail = f'<__video url="{video}"/>' if video else '<sensor azimuth="45" fov="60"/>'
        return (
            f'<event version="2.0" uid="{uid}" type="b-m-p-s-p-loc" time="{_iso(now)}" '
            f'start="{_iso(now)}" stale="{_iso(now + 300)}" how="m-g">'
            f'<point lat="32.05" lon="118.78" hae="0" ce="9" le="9"/>'
            f'<detail><contact callsign="{uid}"/>{detail}</detail></event>'
        ).encode()

    async def scenario() -> None:
        source.start()
        assert await wait_until(lambda: source.bound, 10)
        _send_udp(port, camera("gate 7"))
        _send_udp(port, camera("CAM-2", "rtsp://127.0.0.1:9554/own"))
        assert await wait_until(lambda: len(store.cameras) == 2, 10)
        await source.stop()

    asyncio.run(scenario())
    assert store.cameras["gate 7"].stream_url == "rtsp://127.0.0.1:8554/gate%207"
    assert store.cameras["CAM-2"].stream_url == "rtsp://127.0.0.1:9554/own"


def test_a_cot_source_with_a_broken_profile_is_refused_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[profile]\nname = "x"\nversion = 1\nkind = "cot"\n[cameras]\nurl_template = "ftp://x/{channel}"\n')
    spec = parse_arg(f"cot:listen=127.0.0.1:{free_port()},profile={bad}")
    with pytest.raises(SourceError, match="url_template"):
        registry.build(spec, SourceMux(Store()).sink("x"), StatusBoard().add("x", "cot"))


def test_a_resync_keeps_the_imported_months_as_the_import_left_them(tmp_path: Path) -> None:
    """A feed's snapshot carries none of a hall's imported months: a resync keeps them,
    still as the import left them (its journal segment holds their history, so the live
    checkpoints leave them out), and each record reads as it did."""
    from commandcenter.journal import store_state
    from feeds.sources.importer import import_files
    from feeds.sources.profile import parse_profile
    from tests.test_sources_import import CITY_PROFILE, _month_export

    export = tmp_path / "months.csv"
    frame = _month_export(export)
    imported = sorted("C-" + frame["Ticket"])
    store = Store()
    journal = Journal(tmp_path / "j.sqlite3", journal_codec())
    rec = Recorder(store, journal)
    import_files(parse_profile(CITY_PROFILE, "city.toml"), [export], rec)
    alone = Store()
    import_files(parse_profile(CITY_PROFILE, "city.toml"), [export], alone)
    mux = SourceMux(store, rec)
    v1 = mux.sink("v1")
    v1.reset(_snapshot("e1", 5, [_case("A")]))
    v1.apply([_ev(6, _case("C"))])
    v1.reset(_snapshot("e2", 1, [_case("B")]))  # a resync: a new history of v1
    assert sorted(store.columns().ids) == sorted(["B", *imported])
    assert int(store.history_rows().sum()) == len(frame)
    assert [c.id for c in store_state(store)["cases"]] == ["B"]
    for cid in ("C-M0", "C-M2", f"C-M{len(frame) - 1}"):
        assert store.case(cid) == alone.case(cid)
    journal.flush()
    replay = Store()
    journal.seek_into(replay, journal.bounds()[1])
    assert sorted(replay.columns().ids) == sorted(store.columns().ids)
    journal.close()
