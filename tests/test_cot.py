"""Cursor-on-Target: the shared TAK samples, stale times, and the TCP/UDP listeners on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from commandcenter.status import FeedStatus
from commandcenter.store import Store
from feeds import protocol as p
from feeds.adapters.cot import CotFeed, CotTracker, read_file, serve_tcp, serve_udp
from feeds.transports import Sequencer
from tests.support import wait_until

BEFORE_STALE = 1_700_000_000.0  # 2023-11-14: the camera markers are fresh then
LONG_AFTER = 1_900_000_000.0  # 2030: everything in the samples is stale


@pytest.fixture
def cot_dir(shared_external: Path) -> Path:
    return shared_external / "cot"


def test_camera_marker_with_sensor_and_video(cot_dir: Path) -> None:
    store = Store()
    feed = CotFeed(Sequencer(store), clock=lambda: BEFORE_STALE)
    assert feed.load_file(cot_dir / "camera_lake_city_video_marker.cot.xml") == 1
    cam = store.cameras["3ecf1e30-f374-4ae6-a051-2da7084ff57d"]
    assert cam.name == "Lake City" and cam.online
    assert (cam.direction, cam.fov, cam.range_m) == (270.0, 45.0, 100.0)
    assert cam.stream_url.startswith("http://") and "127.0.0.1:37779" in cam.stream_url
    assert abs(cam.lat - 38.0351828) < 1e-9 and abs(cam.lon + 107.312862) < 1e-9


def test_all_samples_units_cameras_alerts_and_the_rest_counted(cot_dir: Path) -> None:
    store, status = Store(), FeedStatus()
    feed = CotFeed(Sequencer(store, status), clock=lambda: 1_750_000_000.0)
    files = sorted(cot_dir.glob("node-cot-test-events/*.xml"))
    feed.handle_many([raw for f in files for raw in read_file(f)])
    assert "a471cec4-4d18-41b4-a1c5-d79e52b5a678" in store.units
    assert status.unknown_kinds["cot:b-t-f-d"] == 1  # chat: not ours, counted
    assert status.quarantined_total >= 1  # the stale ones
    assert store.seq > 0  # applied without error


def test_stale_positions_dropped_stale_cameras_offline_and_expiry(cot_dir: Path) -> None:
    now = [BEFORE_STALE]
    store, status = Store(), FeedStatus()
    feed = CotFeed(Sequencer(store, status), clock=lambda: now[0])
    fresh = '<event version="2.0" uid="U1" type="a-f-G-E-V-C" time="2023-11-14T22:13:20Z" start="2023-11-14T22:13:20Z" stale="2023-11-14T22:18:20Z" how="m-g"><point lat="37.8" lon="113.6" hae="0" ce="9" le="9"/><detail><contact callsign="巡逻车1"/><track course="90" speed="12"/></detail></event>'.encode()
    assert feed.handle(fresh) == 2  # status (first sighting) + position
    assert store.units["U1"].status.kind == "vehicle" and store.units["U1"].heading == 90.0
    now[0] = BEFORE_STALE + 600  # past its stale time
    assert feed.expire() == 1
    assert store.units["U1"].status.status == "offline"
    assert feed.handle(fresh) == 0 and status.quarantined["stale"] == 1  # an old report is not news
    feed.load_file(cot_dir / "camera_lake_city_video_marker.cot.xml")
    now[0] = LONG_AFTER
    feed.load_file(cot_dir / "camera_lake_city_video_marker.cot.xml")
    assert not store.cameras["3ecf1e30-f374-4ae6-a051-2da7084ff57d"].online


def test_malformed_and_hostile_xml_quarantined() -> None:
    status = FeedStatus()
    t = CotTracker(status, clock=lambda: BEFORE_STALE)
    assert t.convert(b"<event uid='x' type='a-f-G'><point lat='1' lon='1'") == []
    bomb = b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaa">]><event uid="&a;" type="a-f-G" time="2023-01-01T00:00:00Z" stale="2030-01-01T00:00:00Z"><point lat="1" lon="1"/></event>'
    assert t.convert(bomb) == []
    assert (
        t.convert(
            b'<event uid="x" type="a-f-G" time="2023-01-01T00:00:00Z" stale="2030-01-01T00:00:00Z"><point lat="NaN" lon="1"/></event>'
        )
        == []
    )
    assert set(status.quarantined) == {"cot_malformed_xml", "cot_unsafe_xml", "cot_bad_point"}


def test_tcp_and_udp_listeners_on_loopback(cot_dir: Path) -> None:
    store = Store()
    feed = CotFeed(Sequencer(store), clock=lambda: BEFORE_STALE)
    raw = (cot_dir / "node-cot-test-events" / "cot-video_306b2f5f.xml").read_bytes()
    raw2 = (cot_dir / "camera_lake_city_video_marker.cot.xml").read_bytes()

    async def scenario() -> None:
        server = await serve_tcp(feed)
        port = server.sockets[0].getsockname()[1]
        _r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(raw[:100])
        await w.drain()
        w.write(raw[100:])  # split across writes, as TCP may
        await w.drain()
        assert await wait_until(lambda: len(store.cameras) == 1, 5)
        w.close()
        server.close()
        await server.wait_closed()
        udp = await serve_udp(feed)
        uport = udp.get_extra_info("sockname")[1]
        loop = asyncio.get_running_loop()
        tx, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=("127.0.0.1", uport)
        )
        tx.sendto(raw2)
        assert await wait_until(lambda: len(store.cameras) == 2, 5)
        tx.close()
        udp.close()
        with pytest.raises(ValueError):
            await serve_tcp(feed, host="0.0.0.0")

    asyncio.run(scenario())
    assert store.cameras["0ed16b9e-a0c8-480f-8860-284b9afb2b1d"].stream_url.endswith(
        "playlist.m3u8"
    )
    assert all(isinstance(c, p.CameraData) for c in store.cameras.values())
