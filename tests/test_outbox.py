"""The outbox on its own: durable before it returns, the life of an item, local refusals
with the life cycle's reason, per-case order, recovery after a crash, the retry schedule,
and how the sender maps each kind of answer (an in-process transport; the real server
is in test_actions_e2e.py)."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commandcenter import lifecycle
from commandcenter.actions import ItemState, Outbox
from commandcenter.audit import AuditLog
from commandcenter.domain import CaseState, Role
from feeds.actions import ActionSender, request_body
from feeds.client import backoff_delay


class FakeClock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def box(tmp_path: Path, clock: FakeClock) -> Outbox:
    ob = Outbox(tmp_path / "outbox.sqlite3", clock=clock)
    yield ob
    ob.close()


def test_enqueue_is_committed_before_it_returns(box: Outbox, tmp_path: Path) -> None:
    item = box.enqueue("PD1", "sign", "值班员王丽", expected_version=3)
    # Another connection (another process would see the same) finds the row at once.
    other = sqlite3.connect(tmp_path / "outbox.sqlite3")
    rows = other.execute("SELECT key, state, expected_version FROM outbox").fetchall()
    other.close()
    assert rows == [(item.key, "pending", 3)]
    assert item.state is ItemState.PENDING and item.attempts == 0
    assert len(item.key) == 36 and item.key.count("-") == 4  # a UUID4
    assert box.pending() == [item]


def test_illegal_action_refused_locally_with_the_lifecycle_reason(
    box: Outbox, tmp_path: Path
) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    box.audit = audit
    with pytest.raises(lifecycle.IllegalTransition) as err:
        box.enqueue("PD1", "assign", "值班员", {"assignee": "城管局"}, state=CaseState.REPORTED)
    assert err.value.reason == lifecycle.check(
        CaseState.REPORTED, "assign", Role.SYSTEM, {"assignee": "城管局"}
    )
    assert "sign for it first" in err.value.reason
    # the role, the parameters and the name are checked as well
    with pytest.raises(lifecycle.IllegalTransition, match="role leader may not assign"):
        box.enqueue(
            "PD1", "assign", "领导", {"assignee": "城管局"}, state="signed", role=Role.LEADER
        )
    with pytest.raises(lifecycle.IllegalTransition, match="needs an assignee"):
        box.enqueue("PD1", "assign", "值班员", {})  # no state: parameters still checked
    with pytest.raises(lifecycle.IllegalTransition, match="rating from 1 to 5"):
        box.enqueue("PD1", "evaluate", "值班员", {"rating": 9})
    with pytest.raises(lifecycle.IllegalTransition, match="unknown action"):
        box.enqueue("PD1", "dance", "值班员")
    with pytest.raises(lifecycle.IllegalTransition, match="plain JSON"):
        box.enqueue("PD1", "escalate", "值班员", {"reason": "x", "when": object()})
    assert sum(box.counts().values()) == 0, "a refused action stores nothing"
    refused = audit.query(result="refused_local")
    assert len(refused) == 6 and refused[-1].reason.startswith("cannot assign")
    audit.close()


def test_item_life_cycle(box: Outbox, clock: FakeClock) -> None:
    seen: list[tuple[str, ItemState]] = []
    unsubscribe = box.subscribe(lambda it: seen.append((it.key, it.state)))
    item = box.enqueue("PD1", "sign", "值班员")
    sending = box.mark_sending(item.key)
    assert sending.state is ItemState.SENDING and sending.attempts == 1
    with pytest.raises(ValueError, match="sending, not pending"):
        box.mark_sending(item.key)  # one request at a time
    assert box.due() == [], "an item on the wire is not due"
    clock.t += 1
    retry = box.mark_retry(item.key, "connect: refused", 4.0)
    assert retry.state is ItemState.PENDING and retry.next_try_at == clock.t + 4.0
    assert retry.last_error == "connect: refused"
    assert box.due() == [] and box.next_due_at() == clock.t + 4.0
    clock.t += 4.0
    assert [i.key for i in box.due()] == [item.key]
    box.mark_sending(item.key)
    done = box.mark_confirmed(item.key, {"id": "PD1", "version": 4, "state": "signed"}, seq=77)
    assert done.state is ItemState.CONFIRMED and done.attempts == 2
    assert done.case == {"id": "PD1", "version": 4, "state": "signed"} and done.seq == 77
    assert box.pending() == [] and box.needs_attention() == []
    with pytest.raises(ValueError):
        box.mark_refused(item.key, "too late")  # decided stays decided
    with pytest.raises(ValueError):
        box.acknowledge(item.key)  # nothing to acknowledge on a confirmed item
    with pytest.raises(KeyError):
        box.mark_sending("no-such-key")
    unsubscribe()
    box.enqueue("PD2", "sign", "值班员")
    assert [s for _, s in seen] == [
        ItemState.PENDING,
        ItemState.SENDING,
        ItemState.PENDING,
        ItemState.SENDING,
        ItemState.CONFIRMED,
    ]


def test_refusals_and_conflicts_wait_for_the_officer(box: Outbox) -> None:
    a = box.enqueue("PD1", "sign", "值班员")
    b = box.enqueue("PD2", "sign", "值班员")
    c = box.enqueue("PD3", "sign", "值班员")
    box.mark_refused(a.key, "cannot sign a case that is signed: dispatch it first (派遣)")
    current = {"id": "PD2", "version": 9, "state": "signed"}
    box.mark_conflict(b.key, "case is at version 9, not 4", current)
    box.mark_invalid(c.key, "Idempotency-Key was used for a different request")
    attention = box.needs_attention()
    assert [i.state for i in attention] == [
        ItemState.REFUSED,
        ItemState.CONFLICT,
        ItemState.INVALID,
    ]
    assert attention[1].case == current and "version 9" in attention[1].reason
    box.acknowledge(b.key)
    assert [i.key for i in box.needs_attention()] == [a.key, c.key]
    assert box.get(b.key).acknowledged  # type: ignore[union-attr]


def test_a_crash_while_sending_is_retried_with_the_same_key(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "outbox.sqlite3"
    first = Outbox(path, clock=clock)
    item = first.enqueue("PD1", "escalate", "值班员", {"reason": "督办"})
    first.mark_sending(item.key)
    # the process dies here: no mark_*, no close
    clock.t += 60
    second = Outbox(path, clock=clock)
    assert second.recovered == 1
    again = second.get(item.key)
    assert again is not None
    assert again.state is ItemState.PENDING and again.key == item.key and again.attempts == 1
    assert "interrupted" in again.last_error
    assert second.due() == [again]
    assert request_body(again) == request_body(item), "the retry must be byte-identical"
    second.close()
    first.close()


def test_one_action_at_a_time_per_case_in_order(box: Outbox, clock: FakeClock) -> None:
    sign = box.enqueue("PD1", "sign", "值班员", state="reported", expected_version=5)
    # the store still says 'reported'; the officer dispatches right away
    assign = box.enqueue(
        "PD1",
        "assign",
        "值班员",
        {"assignee": "城管局", "assignee_kind": "department"},
        expected_version=5,
        state="reported",
    )
    other = box.enqueue("PD2", "sign", "值班员")
    assert assign.expected_version == 6, "our own sign will have moved the case one version on"
    assert box.project_state("PD1", "reported") is CaseState.ASSIGNED
    assert [i.key for i in box.due()] == [sign.key, other.key]
    box.mark_sending(sign.key)
    box.mark_retry(sign.key, "timeout", 10.0)
    assert [i.key for i in box.due()] == [other.key], "assign must not overtake sign"
    clock.t += 10
    box.mark_sending(sign.key)
    box.mark_confirmed(sign.key)
    assert [i.key for i in box.due()] == [assign.key, other.key]


def test_prune_keeps_what_is_unresolved(box: Outbox, clock: FakeClock) -> None:
    old = box.enqueue("PD1", "sign", "值班员")
    box.mark_sending(old.key)
    box.mark_confirmed(old.key)
    stuck = box.enqueue("PD2", "sign", "值班员")
    refused = box.enqueue("PD3", "sign", "值班员")
    box.mark_refused(refused.key, "no")
    clock.t += 8 * 86_400
    fresh = box.enqueue("PD4", "sign", "值班员")
    box.mark_sending(fresh.key)
    box.mark_confirmed(fresh.key)
    assert box.prune() == 2
    assert {i.key for i in box.items()} == {stuck.key, fresh.key}


def test_enqueue_from_many_threads(box: Outbox) -> None:
    keys: list[str] = []

    def work(n: int) -> None:
        for i in range(20):
            keys.append(box.enqueue(f"T{n}-{i}", "sign", "值班员").key)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 80 and len(box.pending()) == 80


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["send", "retry", "ok", "refuse", "conflict", "ack"]), max_size=12))
def test_resolved_items_never_come_back(tmp_path_factory: pytest.TempPathFactory, ops) -> None:
    """Whatever the sender does in whatever order, a decided item stays decided and an
    unresolved one is always pending or sending."""
    box = Outbox(tmp_path_factory.mktemp("ob") / "o.sqlite3")
    key = box.enqueue("PD1", "sign", "值班员").key
    decided: ItemState | None = None
    for op in ops:
        try:
            if op == "send":
                box.mark_sending(key)
            elif op == "retry":
                box.mark_retry(key, "x", 0)
            elif op == "ok":
                box.mark_confirmed(key)
            elif op == "refuse":
                box.mark_refused(key, "no")
            elif op == "conflict":
                box.mark_conflict(key, "moved", {"version": 2})
            else:
                box.acknowledge(key)
        except ValueError:
            pass
        state = box.get(key).state  # type: ignore[union-attr]
        if decided is not None:
            assert state is decided
        elif state not in (ItemState.PENDING, ItemState.SENDING):
            decided = state
    box.close()


# ---- the retry schedule and the sender's mapping (in-process transport) -------------------


def test_backoff_schedule_is_exponential_jittered_and_capped() -> None:
    rng = random.Random(7)
    for attempt in range(12):
        ceiling = min(30.0, 0.5 * 2**attempt)
        for _ in range(20):
            d = backoff_delay(attempt, 0.5, 30.0, rng)
            assert ceiling / 2 <= d <= ceiling


def _sender(box: Outbox, audit: AuditLog | None, handler) -> tuple[ActionSender, httpx.AsyncClient]:
    sender = ActionSender(
        box, audit, "http://127.0.0.1:9", "secret-token-xyz", backoff_initial=1.0, backoff_max=8.0
    )
    http = httpx.AsyncClient(
        base_url="http://127.0.0.1:9",
        transport=httpx.MockTransport(handler),
        headers={"Authorization": "Bearer secret-token-xyz"},
    )
    return sender, http


def test_sender_backs_off_while_the_server_fails_then_delivers(
    box: Outbox, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    answers = [503, 502, 401, 500, 500, 200]
    seen_keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_keys.append(request.headers["idempotency-key"])
        assert request.headers["authorization"] == "Bearer secret-token-xyz"
        code = answers.pop(0)
        if code == 200:
            return httpx.Response(
                200,
                json={"status": "applied", "case": None, "seq": 12},
                headers={"Idempotent-Replayed": "true"},
            )
        return httpx.Response(code, json={"error": "down"})

    item = box.enqueue("PD1", "sign", "值班员")
    sender, http = _sender(box, audit, handler)
    delays: list[float] = []

    async def scenario() -> None:
        async with http:
            for _ in range(6):
                await sender.send_due(http)
                it = box.get(item.key)
                assert it is not None
                if it.state is ItemState.PENDING:
                    delays.append(it.next_try_at - clock.t)
                    clock.t = it.next_try_at
                    assert box.due() != []

    asyncio.run(scenario())
    final = box.get(item.key)
    assert final is not None and final.state is ItemState.CONFIRMED and final.attempts == 6
    assert set(seen_keys) == {item.key}, "every retry carries the same key"
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True)), delays
    assert sender.stats.errors["http_5xx"] == 4 and sender.stats.errors["http_401"] == 1
    assert sender.stats.replayed == 1
    rows = audit.query(case_id="PD1")
    assert [r.result for r in rows] == ["confirmed"] and rows[0].reason == "replayed"
    assert "secret-token-xyz" not in caplog.text and "secret-token-xyz" not in repr(sender)
    audit.close()


@pytest.mark.parametrize(
    ("code", "body", "state"),
    [
        (409, {"status": "illegal", "reason": "cannot sign a case that is signed"}, "refused"),
        (409, {"status": "conflict", "reason": "case is at version 7, not 3"}, "conflict"),
        (403, {"status": "forbidden", "reason": "role viewer may not sign (签收)"}, "refused"),
        (404, {"status": "not_found", "reason": "no case PD1"}, "refused"),
        (422, {"status": "invalid", "reason": "Idempotency-Key was used"}, "invalid"),
        (400, {"status": "invalid", "reason": "Idempotency-Key header required"}, "invalid"),
        (200, None, "confirmed"),  # an unreadable 200 is still the server's "applied"
    ],
)
def test_sender_maps_each_answer(
    box: Outbox, tmp_path: Path, code: int, body: dict | None, state: str
) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")

    def handler(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(code, content=b"<html>proxy</html>")
        return httpx.Response(code, json=body)

    item = box.enqueue("PD1", "sign", "值班员", expected_version=3)
    sender, http = _sender(box, audit, handler)

    async def scenario() -> int:
        async with http:
            return await sender.send_due(http)

    assert asyncio.run(scenario()) == 1
    got = box.get(item.key)
    assert got is not None and got.state.value == state
    if body is not None and state != "confirmed":
        assert got.reason == body["reason"]
    assert audit.query(key=item.key)[0].result == state
    audit.close()


def test_sender_never_raises_on_a_dead_port(box: Outbox) -> None:
    item = box.enqueue("PD1", "sign", "值班员")
    # port 9 (discard) on loopback: nothing listens there in a test sandbox
    sender = ActionSender(box, None, "http://127.0.0.1:9", "tok", connect_timeout=1.0)
    assert asyncio.run(sender.send_due()) == 0
    got = box.get(item.key)
    assert (
        got is not None and got.state is ItemState.PENDING and got.last_error.startswith("connect")
    )
    assert sender.stats.reachable is False


# ---- by hand: labels, retry now, the history view, restart recovery, adoption ---------------


def test_item_labels_and_resolution(box: Outbox) -> None:
    item = box.enqueue("PD1", "sign", "值班员")
    assert (item.label_zh, item.is_resolved) == ("签收（待发送）", False)
    box.mark_sending(item.key)
    done = box.mark_confirmed(item.key)
    assert (done.label_zh, done.is_resolved) == ("签收（已确认）", True)
    bad = box.enqueue("PD2", "assign", "值班员", {"assignee": "城管局"})
    assert box.mark_invalid(bad.key, "400").label_zh == "派遣（请求无效）"


def test_send_now_skips_the_back_off(box: Outbox, clock: FakeClock) -> None:
    seen: list[str] = []
    box.subscribe(lambda it: seen.append(it.key))
    a = box.enqueue("PD1", "sign", "值班员")
    b = box.enqueue("PD2", "sign", "值班员")
    c = box.enqueue("PD3", "sign", "值班员")  # due now already
    for it in (a, b):
        box.mark_sending(it.key)
        box.mark_retry(it.key, "x" * 400, 30.0)
    assert box.get(a.key).last_error == "x" * 300  # the error is kept short
    assert box.get(a.key).next_try_at == clock.t + 30.0
    assert box.retry_now(a.key).next_try_at == clock.t
    seen.clear()
    assert box.retry_all_now() == 1  # only b still waited
    assert seen == [b.key] and box.get(b.key).next_try_at == clock.t
    assert box.retry_all_now() == 0
    assert [i.key for i in box.due()] == [a.key, b.key, c.key]
    box.mark_sending(c.key)
    with pytest.raises(ValueError, match="sending, not pending"):
        box.retry_now(c.key)
    assert box.mark_retry(c.key, "e", -5.0).next_try_at == clock.t  # never in the past


def test_the_history_view_newest_first_and_the_counts(box: Outbox, clock: FakeClock) -> None:
    p1 = box.enqueue("PD1", "sign", "值班员")
    p2 = box.enqueue("PD2", "sign", "值班员")
    p3 = box.enqueue("PD1", "assign", "值班员", {"assignee": "城管局"}, state="signed")
    box.mark_sending(p2.key)
    box.mark_refused(p2.key, "no")
    assert [i.key for i in box.items()] == [p3.key, p2.key, p1.key]
    assert [i.key for i in box.items(case_id="PD1")] == [p3.key, p1.key]
    assert [i.key for i in box.items(states=["refused"])] == [p2.key]
    assert [i.key for i in box.items(case_id="PD1", states=[ItemState.PENDING], limit=1)] == [
        p3.key
    ]
    assert box.counts() == {
        ItemState.PENDING: 2, ItemState.SENDING: 0, ItemState.CONFIRMED: 0,
        ItemState.REFUSED: 1, ItemState.CONFLICT: 0, ItemState.INVALID: 0,
    }  # fmt: skip
    assert [i.key for i in box.unresolved()] == [p1.key, p3.key]
    assert box.project_state("PD1", "reported") is CaseState.ASSIGNED
    assert box.project_state("PD9", "reported") is CaseState.REPORTED
    assert box.next_due_at() == clock.t


def test_a_restart_puts_what_was_being_sent_back_in_the_queue(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path, clock=clock) as first:
        sent = first.enqueue("PD1", "sign", "值班员")
        first.mark_sending(sent.key)
        waiting = first.enqueue("PD2", "sign", "值班员")
    clock.t += 60
    with Outbox(path, clock=clock) as again:
        assert again.recovered == 1
        back = again.get(sent.key)
        assert (back.state, back.next_try_at, back.attempts) == (ItemState.PENDING, clock.t, 1)
        assert back.last_error == "interrupted while sending (restart)"
        assert again.get(waiting.key).last_error == ""
    with pytest.raises(sqlite3.ProgrammingError):
        again.counts()  # closed on leaving the with block


def test_adopted_rows_keep_their_keys_and_what_was_sent_is_due_again(
    box: Outbox, clock: FakeClock
) -> None:
    base = ("PD1", "sign", "值班员", "duty_officer", "{}", 0)
    rows = [
        (7, "k-sending", *base, "sending", 100.0, 100.0, 1, 500.0, "", "", None, 0, 0),
        # a value SQLite cannot hold: that row is skipped, the rest goes on
        (9, "k-bad", "PD3", "sign", "值班员", "duty_officer", ["not", "text"], 0, "pending",
         100.0, 100.0, 0, 0.0, "", "", None, 0, 0),
        (8, "k-refused", "PD2", *base[1:], "refused", 100.0, 100.0, 1, 0.0, "", "no", None, 0, 1),
    ]  # fmt: skip
    assert box.adopt(rows) == 2
    assert box.adopt(rows[:1]) == 0  # a key held already
    got = box.get("k-sending")
    assert (got.state, got.next_try_at, got.attempts, got.case_id) == (
        ItemState.PENDING, clock.t, 1, "PD1",
    )  # fmt: skip
    ref = box.get("k-refused")
    assert (ref.state, ref.reason, ref.acknowledged) == (ItemState.REFUSED, "no", True)


def test_every_enqueue_is_audited_as_queued(tmp_path: Path, clock: FakeClock) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    box = Outbox(tmp_path / "outbox.sqlite3", clock=clock, audit=audit)
    item = box.enqueue("PD1", "sign", "值班员王丽", role="duty_officer")
    recs = audit.query(result="queued")
    assert [(r.actor, r.role, r.case_id, r.action, r.key, r.ts) for r in recs] == [
        ("值班员王丽", "duty_officer", "PD1", "sign", item.key, clock.t)
    ]
    box.close()
    audit.close()


def test_due_is_bounded_and_answers_for_the_instant_asked(box: Outbox, clock: FakeClock) -> None:
    assert box.next_due_at() is None  # nothing pending
    keys = [box.enqueue(f"PD{i:03d}", "sign", "值班员").key for i in range(51)]
    assert [i.key for i in box.due()] == keys[:50]  # fifty at a time by default
    assert box.due(limit=0) == [] and len(box.due(limit=3)) == 3
    box.mark_sending(keys[0])
    box.mark_retry(keys[0], "http_503", 60.0)
    assert keys[0] not in [i.key for i in box.due()]
    assert keys[0] in [i.key for i in box.due(now=clock.t + 60.0)]
    assert [i.case_id for i in box.pending("PD007")] == ["PD007"]


def test_a_refusal_keeps_the_servers_record_and_a_local_one_is_audited_whole(
    tmp_path: Path, clock: FakeClock
) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    box = Outbox(tmp_path / "outbox.sqlite3", clock=clock, audit=audit)
    item = box.enqueue("PD1", "sign", "值班员")
    box.mark_sending(item.key)
    refused = box.mark_refused(item.key, "already signed", {"id": "PD1", "version": 5})
    assert (refused.reason, refused.case) == ("already signed", {"id": "PD1", "version": 5})
    with pytest.raises(lifecycle.IllegalTransition):
        box.enqueue("PD2", "assign", "领导", {"assignee": "城管局"}, state="signed", role="leader")
    (rec,) = audit.query(result="refused_local")
    assert (rec.actor, rec.role, rec.case_id, rec.action, rec.params, rec.ts) == (
        "领导", "leader", "PD2", "assign", {"assignee": "城管局"}, clock.t,
    )  # fmt: skip
    box.close()
    audit.close()


def test_an_item_read_back_has_every_column(box: Outbox, clock: FakeClock) -> None:
    first = box.enqueue("PD1", "sign", "值班员")
    assert (first.id, first.created_at, first.updated_at, first.seq) == (1, clock.t, clock.t, 0)
    assert (first.actor, first.role, first.case_id, first.action) == (
        "值班员", Role.SYSTEM, "PD1", "sign",
    )  # fmt: skip
    clock.t += 5
    box.mark_sending(first.key)
    done = box.mark_confirmed(first.key)
    assert (done.updated_at, done.seq, done.reason, done.case) == (clock.t, 0, "", None)
    with pytest.raises(KeyError, match="no-such-key"):
        box.mark_sending("no-such-key")
    with pytest.raises(KeyError, match="no-such-key"):
        box.acknowledge("no-such-key")
    # the allowed states come from a set: named in either order
    with pytest.raises(ValueError, match=r"is confirmed, not (pending/sending|sending/pending)$"):
        box.mark_refused(first.key, "late")
    box.enqueue("PD2", "sign", "值班员")
    assert [i.case_id for i in box.items(states=["pending", "confirmed"])] == ["PD2", "PD1"]


def test_the_history_view_shows_five_hundred_by_default(box: Outbox) -> None:
    base = ("sign", "值班员", "duty_officer", "{}", 0, "confirmed", 1.0, 1.0, 1, 0.0, "", "",
            None, 0, 0)  # fmt: skip
    assert box.adopt([(None, f"k{i:03d}", f"PD{i:03d}", *base) for i in range(501)]) == 501
    shown = box.items()
    assert len(shown) == 500 and shown[0].key == "k500" and shown[-1].key == "k001"


def test_an_unknown_action_in_the_file_does_not_hide_the_ones_after_it(box: Outbox) -> None:
    row = ("PD1", "dance", "值班员", "duty_officer", "{}", 0, "pending", 1.0, 1.0, 0, 0.0,
           "", "", None, 0, 0)  # fmt: skip
    box.adopt([(None, "k-dance", *row), (None, "k-sign", "PD1", "sign", *row[2:])])
    assert box.project_state("PD1", "reported") is CaseState.SIGNED


def test_a_row_requeued_from_the_audit_log(box: Outbox, clock: FakeClock, tmp_path: Path) -> None:
    from commandcenter.actions import _audit_row

    audit = AuditLog(tmp_path / "audit.sqlite3")
    audit.record(actor="值班员", role="duty_officer", case_id="PD1", action="assign",
                 params={"assignee": "城管局"}, result="queued", key="k-lost", ts=clock.t - 60)  # fmt: skip
    (rec,) = audit.query(result="queued")
    assert box.adopt([_audit_row(rec, clock.t)]) == 1
    got = box.get("k-lost")
    assert (got.case_id, got.action, got.params, got.state, got.created_at, got.next_try_at) == (
        "PD1", "assign", {"assignee": "城管局"}, ItemState.PENDING, clock.t - 60, clock.t,
    )  # fmt: skip
    assert (got.expected_version, got.attempts, got.reason, got.seq, got.acknowledged) == (
        0, 0, "", 0, False,
    )  # fmt: skip
    assert got.last_error == "re-queued from the audit log: its outbox page was destroyed"
    audit.close()


def test_salvaging_a_readable_file_without_an_audit_log_says_nothing_extra(
    box: Outbox, tmp_path: Path, clock: FakeClock
) -> None:
    from commandcenter.actions import salvage_outbox

    old = Outbox(tmp_path / "old.sqlite3", clock=clock)
    old.enqueue("PD9", "sign", "值班员")
    old.close()
    assert salvage_outbox(tmp_path / "old.sqlite3", box) == (1, "")
    assert [i.case_id for i in box.pending()] == ["PD9"]


# ---- details the mutation run found unpinned ---------------------------------------------


def test_an_outbox_makes_the_folders_it_lives_in(tmp_path: Path, clock: FakeClock) -> None:
    where = tmp_path / "state" / "console" / "outbox.sqlite3"  # two folders not there yet
    ob = Outbox(where, clock=clock)
    ob.enqueue("PD1", "sign", "值班员")
    ob.close()
    assert where.is_file()


def test_versions_without_a_check_stay_zero_and_other_cases_do_not_raise_them(
    box: Outbox,
) -> None:
    first = box.enqueue("PD1", "sign", "值班员")  # no version seen: 0, no check
    assert first.expected_version == 0
    # one unresolved action on PD1 ahead; PD2 saw version 5 and nothing of ours is ahead
    other = box.enqueue("PD2", "sign", "值班员", expected_version=5)
    assert other.expected_version == 5
    # on PD1 our sign will raise the version by one before this arrives: 3 + 1
    second = box.enqueue("PD1", "assign", "值班员", {"assignee": "城管局"}, expected_version=3)
    assert second.expected_version == 4


def test_parameters_that_are_not_plain_json_are_refused(tmp_path: Path, clock: FakeClock) -> None:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    box = Outbox(tmp_path / "outbox.sqlite3", clock=clock, audit=audit)
    for bad in (float("nan"), float("inf")):  # JSON has neither
        with pytest.raises(lifecycle.IllegalTransition, match="not plain JSON"):
            box.enqueue("PD1", "sign", "值班员", {"note": bad})
    assert box.items() == []
    # an unknown action is audited with the parameters it came with
    with pytest.raises(lifecycle.IllegalTransition, match="unknown action 'dance'"):
        box.enqueue("PD2", "dance", "值班员", {"note": "探戈"})
    recs = audit.query(result="refused_local", newest_first=False)
    assert [(r.case_id, r.action, r.params) for r in recs] == [
        ("PD1", "sign", {}), ("PD1", "sign", {}), ("PD2", "dance", {"note": "探戈"}),
    ]  # fmt: skip
    box.close()
    audit.close()


def test_prune_counts_keep_days_in_days_from_the_instant_asked(
    box: Outbox, clock: FakeClock
) -> None:
    t0 = clock.t
    done = box.enqueue("PD1", "sign", "值班员")
    box.mark_sending(done.key)
    box.mark_confirmed(done.key)  # resolved at t0; kept for 7 days
    clock.t = t0 + 3600
    assert box.prune() == 0  # an hour later: kept
    assert box.prune(now=t0 + 6 * 86_400) == 0
    assert box.get(done.key) is not None
    assert box.prune(now=t0 + 7 * 86_400 + 1) == 1  # the instant asked, not the clock's
    assert box.get(done.key) is None


def test_unresolved_items_come_in_the_order_they_were_written(
    box: Outbox, clock: FakeClock
) -> None:
    a1 = box.enqueue("PD1", "sign", "值班员")
    b1 = box.enqueue("PD2", "sign", "值班员")
    a2 = box.enqueue("PD1", "assign", "值班员", {"assignee": "城管局"})
    box.mark_sending(a1.key)  # the oldest is on the wire
    box.mark_sending(b1.key)
    box.mark_retry(b1.key, "http_503", 120.0)  # pending again, due later than a2
    assert [i.key for i in box.unresolved()] == [a1.key, b1.key, a2.key]
    assert [i.key for i in box.unresolved("PD1")] == [a1.key, a2.key]
