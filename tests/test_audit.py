"""The audit log: append-only, masked, queryable, exportable to a CSV that Excel opens
in Chinese."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from commandcenter import hall_time
from commandcenter.actions import Outbox
from commandcenter.audit import CSV_HEADER, AuditLog, mask_params

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC, 16:00 in the hall


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    a = AuditLog(tmp_path / "audit.sqlite3")
    yield a
    a.close()


def _fill(log: AuditLog) -> None:
    rows = [
        ("值班员王丽", "duty_officer", "PD1", "sign", {}, "confirmed", ""),
        ("值班员王丽", "duty_officer", "PD1", "assign", {"assignee": "城管局"}, "confirmed", ""),
        ("值班员赵建国", "duty_officer", "PD2", "sign", {}, "conflict", "case is at version 9"),
        ("领导", "leader", "PD2", "escalate", {"reason": "群众反映强烈"}, "confirmed", ""),
        ("值班员王丽", "duty_officer", "PD3", "verify", {}, "refused", "cannot verify"),
    ]
    for i, (actor, role, case, action, params, result, reason) in enumerate(rows):
        log.record(
            actor=actor,
            role=role,
            case_id=case,
            action=action,
            params=params,
            result=result,
            reason=reason,
            key=f"k{i}",
            ts=T0 + 60 * i,
        )


def test_who_when_what_result_and_filters(log: AuditLog) -> None:
    _fill(log)
    assert len(log) == 5
    newest = log.query()
    assert [r.key for r in newest] == ["k4", "k3", "k2", "k1", "k0"]
    r = newest[-1]
    assert (r.actor, r.role, r.case_id, r.action, r.result, r.ts) == (
        "值班员王丽",
        "duty_officer",
        "PD1",
        "sign",
        "confirmed",
        T0,
    )
    assert r.action_zh == "签收"
    assert [x.key for x in log.query(actor="值班员王丽", newest_first=False)] == ["k0", "k1", "k4"]
    assert [x.key for x in log.query(case_id="PD2")] == ["k3", "k2"]
    assert [x.key for x in log.query(result=["conflict", "refused"])] == ["k4", "k2"]
    assert [x.key for x in log.query(since=T0 + 60, until=T0 + 180)] == ["k2", "k1"]
    assert [x.key for x in log.query(text="强烈")] == ["k3"]
    assert [x.key for x in log.query(action="sign", role="duty_officer", limit=1)] == ["k2"]


def test_personal_data_is_masked_before_it_is_written(log: AuditLog, tmp_path: Path) -> None:
    rec = log.record(
        actor="值班员王丽",
        role="duty_officer",
        case_id="PD7",
        action="call_back",
        params={
            "note": "已回访邱桂兰，电话18670919838，满意",
            "reporter_phone": "18670919838",
            "reporter_name": "邱桂兰",
            "extra": [{"phone": "0353-6012345"}],
            "rating": 5,
        },
        result="confirmed",
        reason="回访 邱桂兰 成功",
        sensitive=("邱桂兰",),
    )
    raw = (tmp_path / "audit.sqlite3").read_bytes()
    wal = tmp_path / "audit.sqlite3-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    for secret in ("18670919838", "邱桂兰", "6012345"):
        assert secret.encode() not in raw, secret
        assert secret not in str(rec.params) and secret not in rec.reason
    assert rec.params["reporter_phone"] == "186****9838"
    assert rec.params["reporter_name"].startswith("邱")
    assert "186****9838" in rec.params["note"]
    assert rec.params["rating"] == 5
    assert list(rec.params) == ["note", "reporter_phone", "reporter_name", "extra", "rating"]
    assert log.query(case_id="PD7")[0].params == rec.params
    assert mask_params({"assignee": "ZF003", "assignee_kind": "unit"}) == {
        "assignee": "ZF003",
        "assignee_kind": "unit",
    }, "unit ids and departments are not personal data"


def test_append_only(log: AuditLog, tmp_path: Path) -> None:
    _fill(log)
    db = sqlite3.connect(tmp_path / "audit.sqlite3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET result = 'confirmed' WHERE key = 'k2'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit")
    db.close()
    assert len(log) == 5 and log.query(key="k2")[0].result == "conflict"


def test_survives_reopening(tmp_path: Path) -> None:
    a = AuditLog(tmp_path / "a.sqlite3")
    _fill(a)
    a.close()
    b = AuditLog(tmp_path / "a.sqlite3")
    assert len(b) == 5
    b.record(actor="x", role="viewer", case_id="PD9", action="sign", result="refused")
    assert [r.id for r in b.query(limit=2)] == [6, 5]
    b.close()


def test_export_csv_opens_in_excel_with_chinese(log: AuditLog, tmp_path: Path) -> None:
    _fill(log)
    log.record(
        actor='=HYPERLINK("http://x")',
        role="duty_officer",
        case_id="PD8",
        action="return",
        params={"reason": "非本单位职责范围"},
        result="refused",
        reason="-1+1",
        ts=T0 + 600,
    )
    out = tmp_path / "审计.csv"
    assert log.export_csv(out) == 6
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM: Excel reads the file as UTF-8"
    rows = list(csv.reader(out.open(encoding="utf-8-sig", newline="")))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == 7
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["actor"] == "值班员王丽" and first["action_zh"] == "签收"
    assert first["time"] == hall_time.local(T0).isoformat(timespec="seconds")
    assert first["time"].endswith("+08:00")
    assert float(first["ts"]) == T0
    last = dict(zip(rows[0], rows[-1], strict=True))
    assert last["actor"].startswith("'=") and last["reason"] == "'-1+1", "no formulas for Excel"
    assert "非本单位职责范围" in last["params"]
    # filters apply to the export as well
    assert log.export_csv(out, case_id="PD2") == 2
    assert len(list(csv.reader(out.open(encoding="utf-8-sig")))) == 3
    assert not (tmp_path / "审计.csv.part").exists()


def test_the_outbox_writes_queued_and_local_refusals(tmp_path: Path, log: AuditLog) -> None:
    box = Outbox(tmp_path / "o.sqlite3", audit=log)
    item = box.enqueue("PD1", "sign", "值班员王丽", role="duty_officer", state="reported")
    with pytest.raises(ValueError):
        box.enqueue("PD1", "verify", "值班员王丽", role="duty_officer", state="reported")
    rows = log.query(newest_first=False)
    assert [(r.action, r.result, r.key) for r in rows] == [
        ("sign", "queued", item.key),
        ("verify", "refused_local", ""),
    ]
    # checked against the state after our own pending 签收
    assert "cannot verify a case that is signed" in rows[1].reason
    box.close()
