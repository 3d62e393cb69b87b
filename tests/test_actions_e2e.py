"""Actions end to end against the real reference server (a child process on 127.0.0.1):
every action of the life cycle, refusals with the life cycle's reason, a conflict, a
forbidden role, the server away and back, and the outbox surviving SIGKILL both before
the send and after the server applied the action, delivering exactly once.

The county stands still (``--rate 0``): only our actions change it, so every version and
timeline entry can be accounted for.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from commandcenter import lifecycle
from commandcenter.actions import ItemState, Outbox, OutboxItem
from commandcenter.audit import AuditLog
from commandcenter.dispatch import nearest_units, suggest_departments
from commandcenter.domain import AssigneeKind, CaseState, Role
from commandcenter.store import Store
from feeds import protocol as P
from feeds.actions import CRASH_AFTER_SEND_ENV, ActionSender
from tests.support import BUSY_MORNING, ROOT, ServerProcess, wait_until

pytestmark = pytest.mark.slow

DUTY = "test-token-0001"  # ServerProcess's own token: duty_officer
FIELD = "tok-field-0001"
VIEWER = "tok-viewer-0001"
LEADER = "tok-leader-0001"


class Server:
    """The reference server with a state dir, restartable on the same port."""

    def __init__(self, state: Path, token_file: Path) -> None:
        self.args = [
            "--state-dir",
            str(state),
            "--rate",
            "0",
            "--history-hours",
            "3",
            "--seed",
            "11",
            "--heartbeat",
            "0.5",
            "--synthetic-outline",
            "--start-ts",
            str(BUSY_MORNING),
            "--token-file",
            str(token_file),
        ]
        self.proc = ServerProcess(*self.args).start()
        self.taken: set[str] = set()

    @property
    def url(self) -> str:
        return self.proc.url

    def restart(self) -> None:
        self.proc = ServerProcess(*self.args, port=self.proc.port).start()

    def get(self, path: str, token: str = DUTY) -> httpx.Response:
        return httpx.get(
            f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def snapshot(self) -> P.Snapshot:
        r = self.get("/v1/snapshot")
        r.raise_for_status()
        return P.decode_snapshot(r.content)

    def case(self, case_id: str) -> P.CaseData:
        return next(c for c in self.snapshot().cases if c.id == case_id)

    def pick(self, state: str) -> P.CaseData:
        """A case in ``state`` that no other test has touched, whatever order the tests run
        in: the fixture checked that the seeded county holds enough of each."""
        fresh = [c for c in self.snapshot().cases if c.state == state and c.id not in self.taken]
        if not fresh:
            pytest.fail(f"no untouched {state} case left (taken: {len(self.taken)})")
        self.taken.add(fresh[0].id)
        return fresh[0]

    def seq(self) -> int:
        return int(httpx.get(f"{self.url}/v1/health", timeout=5).json()["seq"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    d = tmp_path_factory.mktemp("actions-e2e")
    tokens = d / "tokens"
    tokens.write_text(f"{FIELD}=field\n{VIEWER}=viewer\n{LEADER}=leader\n", encoding="utf-8")
    srv = Server(d / "state", tokens)
    # Every test picks its own untouched cases (7 reported, 4 handling in all): the still
    # county must hold them all at the start, so no test depends on which ran before it.
    states = [c.state for c in srv.snapshot().cases]
    if states.count("reported") < 8 or states.count("handling") < 5:
        srv.proc.stop()
        pytest.fail(f"seeded county too small for the module: {sorted(set(states))}")
    try:
        yield srv
    finally:
        srv.proc.stop()


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(tmp_path / "audit.sqlite3")
    yield log
    log.close()


def deliver(box: Outbox, audit: AuditLog | None, url: str, token: str) -> int:
    """One round of the sender, as the app's task does it."""
    return asyncio.run(ActionSender(box, audit, url, token).send_due())


def act(
    server: Server,
    box: Outbox,
    audit: AuditLog,
    token: str,
    role: Role,
    case_id: str,
    action: str,
    params: dict | None = None,
    expect: str | None = None,
) -> P.CaseData:
    """Enqueue as the console would (checked against the live state, with the version the
    officer saw), deliver, and check the server's record moved exactly one step."""
    before = server.case(case_id)
    actor = f"{role.value}-测试"
    item = box.enqueue(
        case_id,
        action,
        actor,
        params,
        expected_version=before.version,
        state=before.state,
        role=role,
    )
    assert deliver(box, audit, server.url, token) == 1
    done = box.get(item.key)
    assert done is not None and done.state is ItemState.CONFIRMED, (action, done)
    after = server.case(case_id)
    assert after.version == before.version + 1
    assert done.case is not None and done.case["version"] == after.version and done.seq > 0
    assert (after.timeline[-1].action, after.timeline[-1].actor) == (action, actor)
    if expect is not None:
        assert after.state == expect, (action, after.state)
    assert [r.result for r in audit.query(key=item.key, newest_first=False)] == [
        "queued",
        "confirmed",
    ]
    return after


def test_every_action_end_to_end(server: Server, tmp_path: Path, audit: AuditLog) -> None:
    hall = Outbox(tmp_path / "hall.sqlite3", audit=audit)
    field = Outbox(tmp_path / "field.sqlite3", audit=audit)
    geography = server.get("/v1/geography").json()
    case = server.pick("reported")
    start_len = len(case.timeline)
    suggestions = suggest_departments(case.category, case.township, geography, grid=case.grid)
    dept = next(s for s in suggestions if s.assignee_kind is AssigneeKind.DEPARTMENT)
    town = next(s for s in suggestions if s.assignee_kind is AssigneeKind.TOWNSHIP)
    D, F = Role.DUTY_OFFICER, Role.FIELD
    cid = case.id

    act(server, hall, audit, DUTY, D, cid, "sign", expect="signed")
    c = act(server, hall, audit, DUTY, D, cid, "assign", dept.params, expect="assigned")
    assert (c.assignee, c.assignee_kind) == (dept.assignee, "department")
    act(server, field, audit, FIELD, F, cid, "return", {"reason": "非本单位职责范围"}, "returned")
    c = act(server, hall, audit, DUTY, D, cid, "assign", town.params, expect="assigned")
    assert (c.assignee, c.assignee_kind) == (town.assignee, "township")
    act(server, field, audit, FIELD, F, cid, "arrive", {"note": "到场处置"}, "handling")
    c = act(server, field, audit, FIELD, F, cid, "extend", {"seconds": 86400, "reason": "协调"})
    assert c.state == "handling" and c.extension_s == 86400
    c = act(server, hall, audit, DUTY, D, cid, "escalate", {"reason": "群众反映强烈"})
    assert c.state == "handling" and c.supervised == case.supervised + 1
    act(server, field, audit, FIELD, F, cid, "complete", {"note": "已处置"}, "completed")
    act(server, hall, audit, DUTY, D, cid, "reject", {"reason": "未整改到位"}, "handling")
    act(server, field, audit, FIELD, F, cid, "complete", {"note": "已整改"}, "completed")
    act(server, hall, audit, DUTY, D, cid, "verify", {"note": "核查通过"}, "closed")
    act(server, hall, audit, DUTY, D, cid, "call_back", {"note": "已回访"}, "called_back")
    c = act(server, hall, audit, DUTY, D, cid, "evaluate", {"rating": 5}, "evaluated")
    assert c.rating == 5
    steps = [t.action for t in c.timeline[start_len:]]
    assert steps == [
        "sign",
        "assign",
        "return",
        "assign",
        "arrive",
        "extend",
        "escalate",
        "complete",
        "reject",
        "complete",
        "verify",
        "call_back",
        "evaluate",
    ]
    assert c.version == case.version + len(steps)
    # A leader may supervise (督办) too.
    leader = Outbox(tmp_path / "leader.sqlite3", audit=audit)
    other = server.pick("handling")
    c = act(
        server, leader, audit, LEADER, Role.LEADER, other.id, "escalate", {"reason": "领导督办"}
    )
    assert c.supervised == other.supervised + 1
    for box in (hall, field, leader):
        assert box.pending() == [] and box.needs_attention() == []
        box.close()


def test_assign_to_the_nearest_unit_and_to_a_village(
    server: Server, tmp_path: Path, audit: AuditLog
) -> None:
    hall = Outbox(tmp_path / "hall.sqlite3", audit=audit)
    field = Outbox(tmp_path / "field.sqlite3", audit=audit)
    D = Role.DUTY_OFFICER
    case = server.pick("reported")
    act(server, hall, audit, DUTY, D, case.id, "sign", expect="signed")
    store = Store()
    store.reset(server.snapshot())
    units = nearest_units(
        store, case.lon, case.lat, k=3, statuses=("available",), kinds=("enforcement", "vehicle")
    )
    assert units and units[0].status == "available"
    # all available here: ordered by how soon each arrives (a car beats a walker nearer by)
    assert [u.eta_min for u in units] == sorted(u.eta_min for u in units)
    unit = units[0]
    params = {"assignee": unit.unit_id, "assignee_kind": "unit"}
    c = act(server, hall, audit, DUTY, D, case.id, "assign", params, expect="assigned")
    assert (c.assignee, c.assignee_kind) == (unit.unit_id, "unit")
    snap = server.snapshot()
    sent = next(u for u in snap.units if u.id == unit.unit_id)
    assert (sent.status, sent.case_id) == ("en_route", case.id), "the server sends the unit"
    act(server, field, audit, FIELD, Role.FIELD, case.id, "arrive", None, "handling")
    assert next(u for u in server.snapshot().units if u.id == unit.unit_id).status == "busy"

    village_case = server.pick("reported")
    act(server, hall, audit, DUTY, D, village_case.id, "sign", expect="signed")
    geography = server.get("/v1/geography").json()
    village = next(
        s
        for s in suggest_departments(
            village_case.category, village_case.township, geography, grid=village_case.grid
        )
        if s.assignee_kind is AssigneeKind.VILLAGE
    )
    c = act(server, hall, audit, DUTY, D, village_case.id, "assign", village.params, "assigned")
    assert (c.assignee, c.assignee_kind) == (village.assignee, "village")
    hall.close()
    field.close()


def test_illegal_actions_are_refused_with_the_lifecycle_reason(
    server: Server, tmp_path: Path, audit: AuditLog
) -> None:
    field = Outbox(tmp_path / "field.sqlite3", audit=audit)
    case = server.pick("reported")
    want = lifecycle.check(CaseState.REPORTED, "complete", Role.FIELD, {})
    assert want is not None and "sign for it first" in want
    # 1. the console knows the state: refused before anything is stored or sent
    with pytest.raises(lifecycle.IllegalTransition) as err:
        field.enqueue(case.id, "complete", "现场", state=case.state, role=Role.FIELD)
    assert err.value.reason == want
    assert sum(field.counts().values()) == 0
    # 2. it did not (a stale view): the server refuses with the same words
    item = field.enqueue(case.id, "complete", "现场", role=Role.FIELD)
    assert deliver(field, audit, server.url, FIELD) == 1
    got = field.get(item.key)
    assert got is not None and got.state is ItemState.REFUSED and got.reason == want
    assert got.case is not None and got.case["state"] == "reported"
    assert field.needs_attention() == [got]
    assert audit.query(key=item.key)[0].reason == want
    # 3. no such case
    ghost = field.enqueue("PD9999999", "arrive", "现场", role=Role.FIELD)
    deliver(field, audit, server.url, FIELD)
    got = field.get(ghost.key)
    assert got is not None and got.state is ItemState.REFUSED and "no case" in got.reason
    assert server.case(case.id).version == case.version, "nothing changed the case"
    field.close()


def test_a_stale_version_is_a_conflict_shown_with_the_current_case(
    server: Server, tmp_path: Path, audit: AuditLog
) -> None:
    hall = Outbox(tmp_path / "hall.sqlite3", audit=audit)
    leader = Outbox(tmp_path / "leader.sqlite3", audit=audit)
    case = server.pick("reported")  # what our officer sees
    # Someone else acts on the case first: a leader's 督办 moves it one version on.
    moved = act(server, leader, audit, LEADER, Role.LEADER, case.id, "escalate", {"reason": "快"})
    item = hall.enqueue(case.id, "sign", "值班员", expected_version=case.version, state=case.state)
    deliver(hall, audit, server.url, DUTY)
    got = hall.get(item.key)
    assert got is not None and got.state is ItemState.CONFLICT
    assert got.reason == f"case is at version {moved.version}, not {case.version}"
    assert got.case is not None and got.case["version"] == moved.version
    assert got.case["supervised"] == case.supervised + 1, "the officer sees what changed"
    assert hall.needs_attention() == [got], "a conflict is shown to the officer"
    assert audit.query(key=item.key)[0].result == "conflict"
    assert server.case(case.id).version == moved.version
    leader.close()
    hall.acknowledge(item.key)
    assert hall.needs_attention() == []
    hall.close()


def test_a_viewer_is_forbidden(server: Server, tmp_path: Path, audit: AuditLog) -> None:
    wall = Outbox(tmp_path / "wall.sqlite3", audit=audit)
    case = server.pick("reported")
    item = wall.enqueue(case.id, "sign", "大屏")  # the role is the token's, not ours
    deliver(wall, audit, server.url, VIEWER)
    got = wall.get(item.key)
    assert got is not None and got.state is ItemState.REFUSED
    assert got.reason == "role viewer may not sign (签收)"
    assert server.case(case.id).version == case.version
    wall.close()


def test_server_away_stays_pending_then_delivers(
    server: Server, tmp_path: Path, audit: AuditLog
) -> None:
    hall = Outbox(tmp_path / "hall.sqlite3", audit=audit)
    case = server.pick("handling")
    server.proc.kill()
    restarted: list[bool] = []

    def restart() -> None:
        server.restart()
        restarted.append(True)

    async def scenario() -> OutboxItem:
        sender = ActionSender(
            hall, audit, server.url, DUTY, backoff_initial=0.05, backoff_max=0.4, idle_poll=0.2
        )
        sender.start()
        try:
            item = hall.enqueue(case.id, "escalate", "值班员", {"reason": "催办"}, case.version)

            def retried_and_waiting() -> bool:
                it = hall.get(item.key)
                return it is not None and it.attempts >= 3 and it.state is ItemState.PENDING

            assert await wait_until(retried_and_waiting, 10)
            waiting = hall.get(item.key)
            assert waiting is not None and waiting.state is ItemState.PENDING
            assert waiting.last_error.startswith("connect"), waiting.last_error
            assert hall.pending() == [waiting], "shown as pending while the server is away"
            assert sender.stats.reachable is False and sender.stats.errors["connect"] >= 3
            await asyncio.to_thread(restart)
            assert await wait_until(
                lambda: hall.get(item.key).state is ItemState.CONFIRMED,  # type: ignore[union-attr]
                10,
            )
            return hall.get(item.key)  # type: ignore[return-value]
        finally:
            await sender.stop()

    try:
        done = asyncio.run(scenario())
    finally:
        if not restarted:  # leave a server for the tests after this one
            server.restart()
    after = server.case(case.id)
    assert after.version == case.version + 1 and after.supervised == case.supervised + 1
    assert done.case is not None and done.case["version"] == after.version
    hall.close()


# ---- crashes: the console killed with SIGKILL ---------------------------------------------


def _child(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.outbox_child", *args],
        cwd=ROOT,
        env=dict(os.environ, **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _count(case: P.CaseData, action: str, actor: str) -> int:
    return sum(1 for t in case.timeline if t.action == action and t.actor == actor)


def test_killed_between_write_and_send_is_delivered_by_the_next_run(
    server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.sqlite3"
    case = server.pick("handling")
    child = _child("enqueue", str(path), case.id, "escalate", json.dumps({"reason": "崩溃前督办"}))
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("ENQUEUED "), line + (child.stderr.read() if child.stderr else "")
        key = line.split()[1]
    finally:
        child.send_signal(signal.SIGKILL)  # between the write and any send
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    with Outbox(path) as box:
        item = box.get(key)
        assert item is not None and item.state is ItemState.PENDING and item.attempts == 0
    assert server.case(case.id).version == case.version, "nothing was sent before the kill"
    # a second run of a sender on the same file, in another process, delivers it
    again = _child("send", str(path), str(tmp_path / "audit.sqlite3"), server.url, DUTY)
    out, err = again.communicate(timeout=30)
    assert again.returncode == 0 and out.strip() == "SENT 1", out + err
    with Outbox(path) as box:
        assert box.get(key).state is ItemState.CONFIRMED  # type: ignore[union-attr]
    after = server.case(case.id)
    assert after.version == case.version + 1
    assert _count(after, "escalate", "值班员子进程") == 1


def test_killed_after_the_server_applied_it_is_applied_exactly_once(
    server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.sqlite3"
    audit_path = tmp_path / "audit.sqlite3"
    case = server.pick("handling")
    actor = "值班员崩溃测试"
    with Outbox(path) as box:
        # No expected_version: only the idempotency key stands between a retry and a second
        # 督办 (escalate keeps the state, so the life cycle would not refuse it either).
        key = box.enqueue(case.id, "escalate", actor, {"reason": "督办一次"}).key
    # The sender posts, the server applies and answers, and the process dies before it can
    # write "confirmed": the worst moment.
    crash = _child(
        "send", str(path), str(audit_path), server.url, DUTY, env={CRASH_AFTER_SEND_ENV: "1"}
    )
    out, err = crash.communicate(timeout=30)
    assert crash.returncode == 137, out + err
    applied = server.case(case.id)
    assert applied.version == case.version + 1 and _count(applied, "escalate", actor) == 1
    seq_after_apply = server.seq()
    with Outbox(path) as box:
        assert box.recovered == 1
        item = box.get(key)
        assert item is not None and item.state is ItemState.PENDING and item.attempts == 1
    # Restarted: the same key goes again; the server replays its stored answer.
    t0 = time.perf_counter()
    again = _child("send", str(path), str(audit_path), server.url, DUTY)
    out, err = again.communicate(timeout=30)
    assert again.returncode == 0 and out.strip() == "SENT 1", out + err
    print(f"restart-and-redeliver child: {time.perf_counter() - t0:.2f} s")
    with Outbox(path) as box:
        done = box.get(key)
        assert done is not None and done.state is ItemState.CONFIRMED and done.attempts == 2
        assert done.case is not None and done.case["version"] == case.version + 1
    final = server.case(case.id)
    assert final.version == case.version + 1, "version grew by exactly one"
    assert _count(final, "escalate", actor) == 1, "the timeline holds the action once"
    assert final.supervised == case.supervised + 1
    assert server.seq() == seq_after_apply, "the replay published nothing"
    with AuditLog(audit_path) as log:
        rows = log.query(key=key)
        assert [(r.result, r.reason) for r in rows] == [("confirmed", "replayed")]


def test_the_server_commits_an_action_with_its_key_in_one_transaction(tmp_path: Path) -> None:
    """Exactly once also needs the server to keep the event and the key together: a crash
    between two commits would keep the 督办 and forget the key, and the retry would apply
    it again. (Found while writing these tests: they were two commits.)"""
    import sqlite3

    from feeds.serve.hub import Hub

    hub = Hub(tmp_path)
    kpi = P.Kpi(name="closure_rate", value=96.1)
    hub.publish([(P.KPI_UPDATE, kpi, 1.0)], commit=False)
    peek = sqlite3.connect(tmp_path / "feed.sqlite3")
    assert peek.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    hub.idem_put("key-1", "fp", 200, b"{}")
    assert peek.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    assert peek.execute("SELECT count(*) FROM idempotency").fetchone()[0] == 1
    peek.close()
    hub.close()
