"""The reference feed server over real HTTP on 127.0.0.1: auth, snapshot, stream, resume,
resync, heartbeats, actions with idempotency, and persistence across a restart.

The SSE stream is read with a small line parser here (not httpx-sse) so the tests see the
exact framing: which messages carry an ``id:``, which do not.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest

from commandcenter.domain import Role
from feeds import protocol as P
from feeds.serve.server import (
    EmbeddedServer,
    ServerConfig,
    config_from_args,
    load_tokens,
    parse_args,
    parse_tokens,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

DUTY, VIEWER, LEADER, FIELD = "duty-token", "viewer-token", "leader-token", "field-token"
TOKENS = {DUTY: Role.DUTY_OFFICER, VIEWER: Role.VIEWER, LEADER: Role.LEADER, FIELD: Role.FIELD}
START = 1_795_399_200.0  # 10:00 local: a busy morning


def _auth(token: str = DUTY) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Msg:
    event: str
    data: str
    id: str | None


def read_sse(
    client: httpx.Client,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    *,
    until=lambda msgs: False,
    seconds: float = 5.0,
) -> list[Msg]:
    """Read messages until ``until(msgs)`` holds, the server closes, or ``seconds`` pass."""
    msgs: list[Msg] = []
    deadline = time.monotonic() + seconds
    with client.stream("GET", "/v1/stream", headers=headers, params=params) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream")
        event, data, eid = "message", [], None
        for line in resp.iter_lines():
            if line == "":
                if data:
                    msgs.append(Msg(event, "\n".join(data), eid))
                    if until(msgs):
                        break
                event, data, eid = "message", [], None
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif line.startswith("id:"):
                eid = line[3:].strip()
            if time.monotonic() > deadline:
                break
    return msgs


def data_events(msgs: list[Msg]) -> list[P.Event]:
    out: list[P.Event] = []
    for m in msgs:
        if m.event in (P.SSE_HEARTBEAT, P.SSE_RESYNC) or m.event == "message":
            continue
        parsed = P.parse_message(m.data, m.event)
        assert not parsed.bad, parsed.bad
        assert m.id is not None and P.parse_event_id(m.id)[1] == parsed.events[-1].seq
        out += parsed.events
    return out


def contiguous(events: list[P.Event], first: int) -> bool:
    return [e.seq for e in events] == list(range(first, first + len(events)))


@pytest.fixture(scope="module")
def live() -> Iterator[EmbeddedServer]:
    """A county running at 120x so events flow; heartbeats every 0.2 s."""
    cfg = ServerConfig(
        rate=120.0, heartbeat_s=0.2, tokens=TOKENS, start_ts=START, history_hours=2, tick_s=0.05
    )
    with EmbeddedServer(cfg) as srv:
        yield srv


@pytest.fixture(scope="module")
def calm() -> Iterator[EmbeddedServer]:
    """A county whose clock stands still (rate 0): only our actions change it."""
    cfg = ServerConfig(rate=0.0, heartbeat_s=0.2, tokens=TOKENS, start_ts=START, history_hours=3)
    with EmbeddedServer(cfg) as srv:
        yield srv


@pytest.fixture
def lc(live: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=5.0) as c:
        yield c


@pytest.fixture
def cc(calm: EmbeddedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=calm.url, timeout=5.0) as c:
        yield c


def snapshot(c: httpx.Client) -> P.Snapshot:
    r = c.get("/v1/snapshot", headers=_auth())
    assert r.status_code == 200
    return P.decode_snapshot(r.content)


# ------------------------------------------------------------------ auth and reads


def test_health_needs_no_token(lc: httpx.Client, live: EmbeddedServer) -> None:
    body = lc.get("/v1/health").json()
    snap = snapshot(lc)
    assert body["ok"] is True and body["epoch"] == snap.epoch
    assert re.fullmatch(r"[0-9a-f]{16}", body["epoch"])  # a fresh random token per log
    assert 0 < body["seq"] <= snapshot(lc).seq  # health never runs ahead of the feed


@pytest.mark.parametrize("path", ["/v1/snapshot", "/v1/geography", "/v1/stream"])
def test_reads_need_a_known_token(lc: httpx.Client, path: str) -> None:
    assert lc.get(path).status_code == 401
    r = lc.get(path, headers=_auth("not-a-token"))
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert lc.get(path, headers={"Authorization": DUTY}).status_code == 401


def test_snapshot_decodes_and_is_complete(lc: httpx.Client) -> None:
    snap = snapshot(lc)
    assert snap.v == 1 and snap.seq > 0 and snap.rate == 120.0
    assert len(snap.grids) >= 440 and len(snap.units) >= 140 and len(snap.cameras) >= 300
    assert len(snap.positions) >= 140 and snap.cases and len(snap.kpis) >= 8
    assert any(c.state in ("reported", "assigned", "handling") for c in snap.cases)


def test_geography(lc: httpx.Client) -> None:
    geo = lc.get("/v1/geography", headers=_auth(VIEWER)).json()
    assert len(geo["townships"]) == 10 and len(geo["grids"]) >= 440
    g = geo["grids"][0]
    assert {"code", "name", "township", "centroid", "polygon", "population"} <= set(g)
    assert sum(x["population"] for x in geo["grids"]) == geo["county"]["population"]


# ------------------------------------------------------------------ stream


def test_stream_continues_exactly_after_the_snapshot(lc: httpx.Client) -> None:
    snap = snapshot(lc)
    msgs = read_sse(
        lc,
        {**_auth(VIEWER), "Last-Event-ID": P.format_event_id(snap.epoch, snap.seq)},
        until=lambda m: len(data_events(m)) >= 40,
    )
    events = data_events(msgs)
    assert len(events) >= 40
    assert contiguous(events, snap.seq + 1)


def test_from_query_parameter(lc: httpx.Client) -> None:
    snap = snapshot(lc)
    msgs = read_sse(
        lc, _auth(), {"from": str(snap.seq - 5)}, until=lambda m: len(data_events(m)) >= 10
    )
    assert contiguous(data_events(msgs), snap.seq - 4)


def _envelopes(msgs: list[Msg]) -> list[bytes]:
    """Each data event's envelope exactly as it was on the wire (batches split)."""
    out: list[bytes] = []
    for m in msgs:
        if m.event in (P.SSE_HEARTBEAT, P.SSE_RESYNC, "message"):
            continue
        if m.event == P.SSE_BATCH:
            out += [bytes(r) for r in msgspec.json.decode(m.data, type=list[msgspec.Raw])]
        else:
            out.append(m.data.encode())
    return out


def test_resume_gives_exactly_the_missing_events(lc: httpx.Client, live: EmbeddedServer) -> None:
    snap = snapshot(lc)
    first = data_events(
        read_sse(
            lc,
            {**_auth(), "Last-Event-ID": f"{snap.epoch}:{snap.seq}"},
            until=lambda m: len(data_events(m)) >= 5,
        )
    )
    last = first[-1].seq
    time.sleep(0.5)  # the county moves on while we are away
    second = data_events(
        read_sse(
            lc,
            {**_auth(), "Last-Event-ID": f"{snap.epoch}:{last}"},
            until=lambda m: len(data_events(m)) >= 30,
        )
    )
    assert contiguous(second, last + 1)
    # events are byte-stable: the same seq resumed twice carries the same bytes, those the
    # hub encoded once when it published them (no stream encodes its own copy)
    resume = {**_auth(), "Last-Event-ID": f"{snap.epoch}:{last}"}
    once = _envelopes(read_sse(lc, resume, until=lambda m: len(_envelopes(m)) >= 5))[:5]
    twice = _envelopes(read_sse(lc, resume, until=lambda m: len(_envelopes(m)) >= 5))[:5]
    stored = [i.payload for i in live.service.hub.events_after(last, max_events=5)]
    assert once == twice == stored
    assert [msgspec.json.decode(b)["seq"] for b in once] == list(range(last + 1, last + 6))


def test_several_pending_events_arrive_as_one_batch(lc: httpx.Client) -> None:
    snap = snapshot(lc)
    msgs = read_sse(lc, _auth(), {"from": str(snap.seq - 50)}, until=lambda m: len(m) >= 2)
    batch = next(m for m in msgs if m.event == P.SSE_BATCH)
    parsed = P.parse_message(batch.data, P.SSE_BATCH)
    assert len(parsed.events) >= 50 and batch.id == f"{snap.epoch}:{parsed.events[-1].seq}"


def test_heartbeats_have_no_id_and_carry_the_clock(lc: httpx.Client, live: EmbeddedServer) -> None:
    t0 = time.monotonic()
    msgs = read_sse(
        lc, _auth(), until=lambda m: sum(x.event == P.SSE_HEARTBEAT for x in m) >= 3, seconds=3
    )
    beats = [m for m in msgs if m.event == P.SSE_HEARTBEAT]
    assert len(beats) >= 3 and time.monotonic() - t0 < 2.0
    assert all(b.id is None for b in beats)
    hb = P.decode_heartbeat(beats[-1].data)
    assert hb.epoch == live.service.hub.epoch and hb.rate == 120.0 and hb.seq > 0
    assert P.decode_heartbeat(beats[0].data).now < hb.now


@pytest.mark.parametrize(
    ("last_id", "reason"),
    [
        ("0123456789abcdef:5", "epoch_changed"),
        ("garbage", "bad_event_id"),
        (None, "ahead_of_server"),
    ],
)
def test_resync_when_the_server_cannot_resume(
    lc: httpx.Client, live: EmbeddedServer, last_id: str | None, reason: str
) -> None:
    if last_id is None:
        last_id = f"{live.service.hub.epoch}:{live.service.hub.seq + 10_000}"
    msgs = read_sse(lc, {**_auth(), "Last-Event-ID": last_id}, seconds=3)
    assert [m.event for m in msgs] == [P.SSE_RESYNC]  # one message, then the server closes
    rs = P.decode_resync(msgs[0].data)
    assert rs.reason == reason and rs.epoch == live.service.hub.epoch


def test_resync_when_older_than_the_resume_window() -> None:
    cfg = ServerConfig(rate=60.0, resume_window=50, heartbeat_s=0.2, tokens=TOKENS, history_hours=1)
    with EmbeddedServer(cfg) as srv, httpx.Client(base_url=srv.url, timeout=5) as c:
        hub = srv.service.hub
        assert hub.seq > 200  # the baseline alone overflows a 50-event window
        msgs = read_sse(c, {**_auth(), "Last-Event-ID": f"{hub.epoch}:1"}, seconds=3)
        assert P.decode_resync(msgs[0].data).reason == "outside_resume_window"
        inside = hub.seq - 10
        events = data_events(
            read_sse(
                c,
                {**_auth(), "Last-Event-ID": f"{hub.epoch}:{inside}"},
                until=lambda m: len(data_events(m)) >= 10,
            )
        )
        assert contiguous(events, inside + 1)


# ------------------------------------------------------------------ actions


def _post(
    c: httpx.Client, case_id: str, body: dict, token: str = DUTY, key: str | None = "auto"
) -> httpx.Response:
    headers = _auth(token)
    if key is not None:
        headers["Idempotency-Key"] = uuid.uuid4().hex if key == "auto" else key
    return c.post(f"/v1/cases/{case_id}/actions", json=body, headers=headers)


def _case_in(c: httpx.Client, state: str, taken: set[str] = set()) -> P.CaseData:  # noqa: B006
    case = next(x for x in snapshot(c).cases if x.state == state and x.id not in taken)
    taken.add(case.id)
    return case


def test_action_applied_and_streamed(cc: httpx.Client, calm: EmbeddedServer) -> None:
    case = _case_in(cc, "reported")
    hub = calm.service.hub
    before = hub.seq
    r = _post(
        cc, case.id, {"action": "sign", "actor": "值班员测试", "expected_version": case.version}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "applied" and body["seq"] == before + 1
    assert body["case"]["state"] == "signed" and body["case"]["version"] == case.version + 1
    events = data_events(read_sse(cc, _auth(), {"from": str(before)}, until=lambda m: True))
    assert events[0].kind == P.CASE_UPDATED and events[0].data.id == case.id
    assert events[0].data.timeline[-1].actor == "值班员测试"


def test_action_errors(cc: httpx.Client) -> None:
    case = _case_in(cc, "reported")
    r = _post(cc, case.id, {"action": "complete", "actor": "x"}, token=FIELD)
    assert r.status_code == 409 and r.json()["status"] == "illegal"
    assert "cannot complete" in r.json()["reason"]
    r = _post(cc, case.id, {"action": "sign", "actor": "x", "expected_version": case.version + 7})
    assert r.status_code == 409 and r.json()["status"] == "conflict"
    assert r.json()["case"]["version"] == case.version
    r = _post(cc, case.id, {"action": "sign", "actor": "x"}, token=VIEWER)
    assert r.status_code == 403 and r.json()["status"] == "forbidden"
    r = _post(
        cc, case.id, {"action": "assign", "actor": "x", "params": {"assignee": "城管局"}}, LEADER
    )
    assert r.status_code == 403
    assert _post(cc, "PD9999999", {"action": "sign", "actor": "x"}).status_code == 404
    assert _post(cc, case.id, {"action": "sign", "actor": "x"}, key=None).status_code == 400
    assert _post(cc, case.id, {"actor": "x"}).status_code == 422
    assert _post(cc, case.id, {"action": "dance", "actor": "x"}).status_code == 422
    r = cc.post(
        f"/v1/cases/{case.id}/actions",
        content=b"{not json",
        headers={**_auth(), "Idempotency-Key": "bad-json"},
    )
    assert r.status_code == 422
    assert _post(cc, case.id, {"action": "sign", "actor": "x"}, token="nope").status_code == 401
    # nothing above changed the case
    assert next(x for x in snapshot(cc).cases if x.id == case.id).version == case.version


def test_idempotent_replay_is_applied_once(cc: httpx.Client, calm: EmbeddedServer) -> None:
    case = _case_in(cc, "reported")
    key = f"sign-{case.id}"
    body = {"action": "sign", "actor": "值班员", "expected_version": case.version}
    first = _post(cc, case.id, body, key=key)
    seq_after = calm.service.hub.seq
    second = _post(cc, case.id, body, key=key)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert calm.service.hub.seq == seq_after, "the replay published nothing"
    now = next(x for x in snapshot(cc).cases if x.id == case.id)
    assert now.version == case.version + 1
    # the same key for a different request is refused, not replayed
    other = _post(
        cc, case.id, {"action": "escalate", "actor": "x", "params": {"reason": "y"}}, key=key
    )
    assert other.status_code == 422


# ------------------------------------------------------------------ persistence


def test_restart_with_the_same_state_dir(tmp_path: Path) -> None:
    cfg = ServerConfig(
        rate=0.0,
        heartbeat_s=0.2,
        tokens=TOKENS,
        state_dir=tmp_path,
        start_ts=START,
        history_hours=2,
    )
    with EmbeddedServer(cfg) as srv, httpx.Client(base_url=srv.url, timeout=5) as c:
        case = _case_in(c, "reported", set())
        r = _post(c, case.id, {"action": "sign", "actor": "值班员"}, key="persist-1")
        assert r.status_code == 200
        epoch, seq = srv.service.hub.epoch, srv.service.hub.seq
        stored_body = r.content
    assert (tmp_path / "feed.sqlite3").exists()
    cfg2 = ServerConfig(
        rate=60.0, heartbeat_s=0.2, tokens=TOKENS, state_dir=tmp_path, start_ts=START + 99
    )
    with EmbeddedServer(cfg2) as srv, httpx.Client(base_url=srv.url, timeout=5) as c:
        health = c.get("/v1/health").json()
        assert health["epoch"] == epoch and health["seq"] >= seq
        snap = snapshot(c)
        restored = next(x for x in snap.cases if x.id == case.id)
        assert restored.version >= case.version + 1
        assert any(t.action == "sign" and t.actor == "值班员" for t in restored.timeline)
        replay = _post(c, case.id, {"action": "sign", "actor": "值班员"}, key="persist-1")
        assert replay.status_code == 200 and replay.content == stored_body
        assert replay.headers["idempotent-replayed"] == "true"
        # resuming from before the restart is served from the persisted log
        events = data_events(
            read_sse(
                c,
                {**_auth(), "Last-Event-ID": f"{epoch}:{seq - 3}"},
                until=lambda m: len(data_events(m)) >= 8,
            )
        )
        assert contiguous(events, seq - 2)
        # and the world goes on from where it was, numbering after the old log
        later = data_events(
            read_sse(
                c,
                {**_auth(), "Last-Event-ID": f"{epoch}:{snap.seq}"},
                until=lambda m: len(data_events(m)) >= 5,
            )
        )
        assert contiguous(later, snap.seq + 1)
    # a fresh state dir means a new history
    with EmbeddedServer(ServerConfig(tokens=TOKENS, history_hours=0.5)) as other:
        assert other.service.hub.epoch != epoch


def test_load_tokens_from_file_and_environment_or_generated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tokens"
    path.write_text("a=duty_officer\n# b=leader\nc=viewer\n", encoding="utf-8")
    monkeypatch.setenv("CC_FEED_TOKENS", "d=leader, c=field")
    assert load_tokens(path, Role.VIEWER) == {
        "a": Role.DUTY_OFFICER,
        "c": Role.FIELD,
        "d": Role.LEADER,
    }
    assert capsys.readouterr().out == ""  # nothing generated, nothing printed
    monkeypatch.delenv("CC_FEED_TOKENS")
    made = load_tokens(None, Role.VIEWER)
    ((token, role),) = made.items()
    assert role is Role.VIEWER and len(token) >= 24
    assert capsys.readouterr().out == f"TOKEN {token}\n"  # once, on stdout, for the parent


def test_tokens_parse_and_generated_token_works() -> None:
    assert parse_tokens("a=duty_officer, b=viewer\n# c=leader\nd = leader") == {
        "a": Role.DUTY_OFFICER,
        "b": Role.VIEWER,
        "d": Role.LEADER,
    }
    with pytest.raises(ValueError):
        parse_tokens("a=emperor")
    with pytest.raises(ValueError):
        EmbeddedServer(ServerConfig(host="0.0.0.0"))
    # its start time is measured in bench/ (python -m bench startup), not asserted here
    srv = EmbeddedServer(ServerConfig(history_hours=8))
    with srv, httpx.Client(base_url=srv.url, timeout=5) as c:
        assert c.get("/v1/snapshot", headers=_auth(srv.token)).status_code == 200
        assert c.get("/v1/snapshot").status_code == 401  # the generated token is required


def test_the_command_line_defaults_are_the_config_defaults() -> None:
    # One place for the defaults: a flag left out gives ServerConfig's own value.
    tokens = {"t": Role.DUTY_OFFICER}
    assert config_from_args(parse_args([]), tokens) == ServerConfig(tokens=tokens)
    flags = ["--idempotency-max-keys", "7", "--resume-window", "9", "--synthetic-outline"]
    cfg = config_from_args(parse_args(flags), tokens)
    assert (cfg.idempotency_max_keys, cfg.resume_window, cfg.outline_path) == (7, 9, False)
