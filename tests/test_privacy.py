"""Masking of reporters' personal data: fixed examples, and properties over generated
phones, ID numbers and names that must never survive into a masked text or record."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commandcenter.domain import Case, CaseState, Role, Source, TimelineEntry, Urgency
from commandcenter.journal import Journal, Recorder
from commandcenter.privacy import (
    Mask,
    journal_mask,
    mask_address,
    mask_name,
    mask_numbers,
    mask_phone,
)
from commandcenter.store import Store
from feeds import protocol as p
from feeds.journal_codec import journal_codec

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
FILLER = st.text(
    alphabet=st.one_of(HAN, st.sampled_from(list("，。：；、 ()（）-号路镇0123456789"))),
    max_size=12,
)
MOBILE = st.from_regex(r"\A1[3-9][0-9]{9}\Z")
NAME = st.text(alphabet=HAN, min_size=2, max_size=4)


def test_fixed_examples() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("John Smith") == "J*** S****"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_numbers("手机+86 138-1234-1234") == "手机+86 138****1234"
    assert mask_numbers("座机0353-6012345") == "座机0353-****2345"
    assert mask_numbers("身份证14032119900101123X") == "身份证140321********123X"
    assert mask_numbers("热线12345，编号PD0000092") == "热线12345，编号PD0000092"
    assert mask_address("冠山镇锦绣路13号3单元501室") == "冠山镇锦绣路"
    assert mask_address("娘子关镇河北村") == "娘子关镇河北村"
    m = Mask()
    assert m.text("锦绣路13号门前塌陷约2平方米") == "锦绣路*号门前塌陷约2平方米"
    assert m.text("联系人：王小明，电话6012345") == "联系人：王*明，电话***2345"


def test_disabled_mask_keeps_everything() -> None:
    m = Mask.off()
    text = "邱桂兰 18670919838 锦绣路13号"
    assert m.text(text, ["邱桂兰"]) == text
    assert m.address("锦绣路13号") == "锦绣路13号"


@settings(max_examples=300, deadline=None)
@given(FILLER, MOBILE, FILLER, st.sampled_from(["", " ", "-"]))
def test_no_mobile_number_survives(before: str, phone: str, after: str, sep: str) -> None:
    shown = phone if not sep else f"{phone[:3]}{sep}{phone[3:7]}{sep}{phone[7:]}"
    out = Mask().text(before + shown + after)
    assert phone not in re.sub(r"[\s-]", "", out)


@settings(max_examples=200, deadline=None)
@given(FILLER, st.from_regex(r"\A[1-6][0-9]{16}[0-9X]\Z"), FILLER)
def test_no_id_card_number_survives(before: str, idno: str, after: str) -> None:
    assert idno not in Mask().text(before + idno + after)


@settings(max_examples=300, deadline=None)
@given(NAME, FILLER, FILLER, MOBILE)
def test_reporter_never_survives_in_a_masked_case(
    name: str, before: str, after: str, phone: str
) -> None:
    case = Case(
        id="PD0000001", version=1, category="道路破损", source=Source.HOTLINE,
        urgency=Urgency.NORMAL, state=CaseState.REPORTED, township="T", grid="G",
        lon=113.6, lat=37.8, created_ts=0.0, state_ts=0.0,
        title=f"{name}反映{before}", description=f"{before}{name}来电{phone}{after}",
        address=f"冠山镇锦绣路{len(before) + 1}号", reporter_name=name, reporter_phone=phone,
        timeline=[TimelineEntry(0.0, "discover", name, CaseState.DISCOVERED, f"{name}{phone}")],
    )  # fmt: skip
    masked = Mask().case(case)
    for field in ("title", "description", "address", "reporter_name", "reporter_phone"):
        value = getattr(masked, field)
        assert name not in value, (field, value)
        assert phone not in value, (field, value)
    for e in masked.timeline:
        assert name not in e.actor and name not in e.note and phone not in e.note
    assert case.reporter_name == name, "the record itself is untouched"
    assert "号" not in masked.address or "*" in masked.address


@settings(max_examples=150, deadline=None)
@given(st.lists(NAME, min_size=1, max_size=5, unique=True), FILLER)
def test_learned_names_are_masked_anywhere(names: list[str], filler: str) -> None:
    m = Mask().learn(names)
    out = m.text(filler.join(names) + filler)
    for n in names:
        assert n not in out


# ---- at rest: the journal ---------------------------------------------------------------

PHONE, ID_NO, NAME_3 = "13812341234", "140321199001011234", "欧阳娜娜"
T0 = 1_800_000_000.0


def _case(cid: str, version: int, ts: float) -> p.CaseData:
    return p.CaseData(
        id=cid, version=version, category="井盖缺失", source="hotline", urgency="normal",
        state="reported" if version == 1 else "signed", township="冠山镇", grid="G1",
        lon=113.6, lat=37.8, created_ts=T0, state_ts=ts, title=f"{NAME_3}反映井盖缺失",
        description=f"{NAME_3}来电 {PHONE}，身份证 {ID_NO}，住锦绣路13号3单元501室",
        address="冠山镇锦绣路13号3单元501室", reporter_name=NAME_3, reporter_phone=PHONE,
        timeline=[p.TimelineItem(ts=ts, action="report", actor=NAME_3, state="reported",
                                 note=f"联系人：{NAME_3} 电话 {PHONE}")],
    )  # fmt: skip


def _record_a_morning(path: Path, mask: Mask) -> Journal:
    """A snapshot, then cases created and updated and an alert quoting a caller, through
    the console's own Recorder and codec, into a real journal file."""
    journal = Journal(path, journal_codec(mask), checkpoint_every=7)
    rec = Recorder(Store(), journal)
    rec.reset(p.Snapshot(v=1, epoch="e1", seq=0, now=T0, rate=1.0, cases=[_case("S1", 1, T0)]))
    events = []
    for i in range(1, 21):
        cid = f"C{i % 5}"
        kind = p.CASE_CREATED if i <= 5 else p.CASE_UPDATED
        events.append(
            p.Event(seq=i, kind=kind, ts=T0 + i, data=_case(cid, 1 + (i - 1) // 5, T0 + i))
        )
    events.append(p.Event(seq=21, kind=p.ALERT_RAISED, ts=T0 + 21, data=p.Alert(
        id="A1", level="red", kind="sla.breach", message=f"{PHONE} 来电催办", ts=T0 + 21)))  # fmt: skip
    for k in range(0, len(events), 4):
        rec.apply(events[k : k + 4])
    assert rec.failed == "" and journal.count() == 21
    journal.flush()
    return journal


def _raw(path: Path) -> bytes:
    """Every byte of the journal as it lies on disk: the file and its WAL, and every
    payload and checkpoint SQLite holds (read raw, no codec)."""
    files = b"".join(f.read_bytes() for f in path.parent.iterdir() if f.name.startswith(path.name))
    db = sqlite3.connect(path)
    cells = b"".join(bytes(r[0]) for r in db.execute(
        "SELECT payload FROM events UNION ALL SELECT state FROM checkpoints"))  # fmt: skip
    db.close()
    return files + cells


PERSONAL = [PHONE.encode(), ID_NO.encode(), NAME_3.encode(), "锦绣路13号".encode(),
            "501室".encode(), PHONE[-8:].encode()]  # fmt: skip


@pytest.mark.parametrize(
    ("option", "roles", "masked"),
    [("auto", ("viewer",), True), ("auto", ("leader", None), True), ("on", ("duty_officer",), True),
     ("auto", ("duty_officer",), False), ("off", ("viewer",), False)],
)  # fmt: skip
def test_the_journal_file_holds_no_personal_data_when_masked(
    tmp_path: Path, option: str, roles: tuple, masked: bool
) -> None:
    path = tmp_path / "journal.sqlite3"
    mask = journal_mask(option, roles)
    assert mask.enabled is masked
    journal = _record_a_morning(path, mask)
    found = [s for s in PERSONAL if s in _raw(path)]
    if masked:
        assert found == []
    else:  # the same run unmasked holds them all: the search above can fail
        assert found == PERSONAL
    # Time travel over the masked past: the state of then, masked as written.
    view = Store()
    journal.seek_into(view, T0 + 12)
    assert view.seq == 12 and len(view) == 6
    recs = {view.record_at(i).id: view.record_at(i) for i in range(len(view))}
    assert recs["C1"].version == 3 and recs["C1"].state == "signed"
    assert (recs["C1"].reporter_phone == "138****1234") is masked
    assert (recs["S1"].reporter_name == "欧**娜") is masked
    journal.seek_into(view, T0 + 30)
    want = "138****1234 来电催办" if masked else f"{PHONE} 来电催办"
    assert [a.message for a in view.alerts] == [want]
    journal.close()


def test_a_wrong_mask_journal_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="auto, on or off"):
        journal_mask("sometimes", ("viewer",))
    assert journal_mask(True, ()).enabled and not journal_mask(False, ("viewer",)).enabled


# ---- the rules one by one, expected values written out by hand ---------------------------


def test_names_at_their_edges() -> None:
    assert mask_name("") == "" and mask_name("   ") == ""
    assert mask_name("张") == "*"
    assert mask_name(" 李四 ") == "李*"


def test_a_long_number_keeps_only_its_last_four_digits() -> None:
    # Neither an ID card (18 digits), nor a mobile (1[3-9]...), nor a landline (0...).
    assert mask_numbers("订单987654321098765") == "订单***********8765"
    assert mask_numbers("卡号 2024 0101 3344 55 已挂失") == "卡号 **** **** **44 55 已挂失"


def test_a_phone_field_in_any_format_keeps_its_last_four_digits() -> None:
    assert mask_phone("") == ""
    assert mask_phone("6012345") == "***2345"  # a local number, no pattern matches
    assert mask_phone("601-2345") == "***-2345"
    assert mask_phone("12345") == "*2345"
    assert mask_phone("1234") == "****"  # four digits or fewer: all hidden
    assert mask_phone("ext 12") == "******"


def test_address_fields_keep_the_road_only() -> None:
    assert mask_address("冠山镇锦绣路，13号") == "冠山镇锦绣路"
    assert mask_address("锦绣路 - 7号楼") == "锦绣路"
    assert mask_address("13号院") == "***"
    assert mask_address("科技园X 13号") == "科技园X"  # only separators are trimmed
    m = Mask().learn(["王小明"])
    assert m.address("王小明家旁边") == "王*明家旁边"
    assert m.address("锦绣路13号") == "锦绣路"


def test_roles_that_see_masked_screens() -> None:
    masked = {r.value: Mask.for_role(r).enabled for r in Role}
    assert masked == {
        "duty_officer": False, "dispatcher": False, "leader": True,
        "field": False, "viewer": True, "system": False,
    }  # fmt: skip
    assert Mask.for_role("viewer").enabled is True


def test_field_masks_follow_the_switch() -> None:
    on, off = Mask(), Mask.off()
    assert on.name("张三丰") == "张*丰" and off.name("张三丰") == "张三丰"
    assert on.phone("13812341234") == "138****1234" and off.phone("13812341234") == "13812341234"


def test_learned_names_skip_blanks_and_single_characters() -> None:
    m = Mask().learn([None, "", "张", " 李四 ", "欧阳娜娜"])  # type: ignore[list-item]
    assert m.names == {"李四", "欧阳娜娜"}
    cases = [SimpleNamespace(reporter_name="王小明"), SimpleNamespace(id="no reporter")]
    assert Mask().learn_from_cases(cases).names == {"王小明"}


def test_journal_mask_words() -> None:
    for word in ("on", "true", "yes", " ON ", "True", "YES"):
        assert journal_mask(word, ("duty_officer",)).enabled is True, word
    for word in ("off", "false", "no", "Off", "FALSE", " no"):
        assert journal_mask(word, ("viewer",)).enabled is False, word
    for word in (None, "", "auto", "AUTO"):
        assert journal_mask(word, ("viewer",)).enabled is True, word
        assert journal_mask(word, ("duty_officer",)).enabled is False, word
    # An unknown role is skipped, not the end of the list.
    assert journal_mask("auto", ("bogus", "leader")).enabled is True
    assert journal_mask("auto", ()).enabled is False
    assert journal_mask("auto", (None,)).enabled is False  # no role: the duty console


def test_a_row_is_masked_by_its_keys() -> None:
    # Values a text rule alone would keep (a one-character name, a contact nobody named,
    # local numbers without a label) show that each key picks its own rule.
    row = {
        "id": "PD0000092", "count": 3, "reporter_name": "张", "name": "李",
        "contact": "赵六", "reporter_phone": "6012345", "tel": "6012345",
        "mobile": "601-2345", "address": "锦绣路13号3单元", "note": "王小明说欧阳娜娜也在 XXXX",
    }  # fmt: skip
    assert Mask().mapping(row, ["欧阳娜娜"]) == {
        "id": "PD0000092", "count": 3, "reporter_name": "*", "name": "*",
        "contact": "赵*", "reporter_phone": "***2345", "tel": "***2345",
        "mobile": "***-2345", "address": "锦绣路", "note": "王小明说欧**娜也在 XXXX",
    }  # fmt: skip
    named = Mask().mapping({"reporter_name": "王小明", "name": "李四", "note": "王小明和李四"})
    assert named == {"reporter_name": "王*明", "name": "李*", "note": "王*明和李*"}
    assert Mask().mapping({"remark": "欧阳娜娜来过"}, ["欧阳娜娜"]) == {"remark": "欧**娜来过"}
    off = Mask.off().mapping(row)
    assert off == row and off is not row


@dataclass(frozen=True)
class _FrozenCase:
    title: str
    reporter_name: str


@dataclass(frozen=True)
class _OddFrozen:
    title: str
    kind: str = dc_field(init=False, default="kept")


class _Row:
    """A mutable record with a method: its copy stays a _Row."""

    def __init__(self, title: str, reporter_name: str) -> None:
        self.title = title
        self.reporter_name = reporter_name

    def summary(self) -> str:
        return self.title


class _Tuple(NamedTuple):
    id: str
    title: str


def test_masked_copies_keep_the_record_type_where_they_can() -> None:
    m = Mask()
    frozen = m.case(_FrozenCase("张三来电", "张三"))
    assert type(frozen) is _FrozenCase and frozen == _FrozenCase("张*来电", "张*")
    row = _Row("张三来电", "张三")
    copy_ = m.case(row)
    assert type(copy_) is _Row and (copy_.title, copy_.reporter_name) == ("张*来电", "张*")
    assert copy_.summary() == "张*来电" and row.title == "张三来电"
    # A frozen record that cannot be rebuilt from its fields, and a named tuple: a
    # namespace with the record's data attributes (not its methods), masked.
    odd = m.case(_OddFrozen("电话13812341234"))
    assert vars(odd) == {"title": "电话138****1234", "kind": "kept"}
    tup = m.case(_Tuple("PD1", "手机13812341234"))
    assert vars(tup) == {"id": "PD1", "title": "手机138****1234"}


def test_a_case_with_missing_and_empty_fields() -> None:
    m = Mask()
    bare = m.case(SimpleNamespace(title="编号XXXX，王小明", description=None))
    assert vars(bare) == {"title": "编号XXXX，王小明", "description": ""}
    empty = m.case(SimpleNamespace(
        title=None, description="XXXX", address=None, reporter_name=None,
        reporter_phone=None, timeline=None))  # fmt: skip
    assert vars(empty) == {
        "title": "", "description": "XXXX", "address": "", "reporter_name": "",
        "reporter_phone": "", "timeline": [],
    }  # fmt: skip
    near = m.case(SimpleNamespace(address="王小明家门口", reporter_name="王小明"))
    assert near.address == "王*明家门口"


def test_timeline_steps_mask_people_and_keep_units() -> None:
    m = Mask()
    entries = [
        TimelineEntry(0.0, "report", "张", CaseState.REPORTED, ""),  # a one-character name
        TimelineEntry(1.0, "dispatch", "执法001", CaseState.ASSIGNED, "派往住建局"),
        TimelineEntry(2.0, "note", "张三家属", CaseState.ASSIGNED, "张三13812341234"),
    ]
    case = SimpleNamespace(reporter_name="张", timeline=entries)
    got = m.case(case).timeline
    assert [(e.actor, e.note) for e in got] == [
        ("*", ""),
        ("执法001", "派往住建局"),
        ("张三家属", "张三138****1234"),
    ]
    assert got[1] is entries[1], "nothing personal: no copy"
    m2 = Mask().learn(["李四"])
    named = m2.timeline_entry(SimpleNamespace(actor="李四", note="李四家属"), ["张三"])
    assert (named.actor, named.note) == ("李*", "李*家属")
    kin = m2.timeline_entry(SimpleNamespace(actor="张三家属", note=None), ["张三"])
    assert (kin.actor, kin.note) == ("张*家属", "")
    nobody = m2.timeline_entry(SimpleNamespace(actor=None, note="XXXX"))
    assert (nobody.actor, nobody.note) == ("", "XXXX")
    assert Mask.off().timeline_entry(entries[2]) is entries[2]


def test_landlines_and_labelled_numbers() -> None:
    assert mask_numbers("座机03536012345") == "座机0353-****2345"  # the dash is added
    assert mask_numbers("电话：601234") == "电话：******"  # six digits or fewer: all hidden
    assert mask_numbers("电话12345") == "电话*****"
    assert mask_numbers("Tel: 6012345") == "Tel: ***2345"


def test_overlapping_names_longest_first_and_none_left_standing() -> None:
    # 欧阳娜娜 before 阳娜: masking 阳娜 first would leave 欧阳*娜.
    assert Mask().text("欧阳娜娜来电", ["阳娜", "欧阳娜娜"]) == "欧**娜来电"
    # One-character names are never masked in text (they would star that character).
    assert Mask().text("张三来电", ["张", ""]) == "张三来电"
    # A known name that only appears once a rule has run (a masked name learned from a
    # masked record, here produced by the labelled-name rule) is starred outright.
    assert Mask().learn(["王*明"]).text("联系人：王小明") == "联系人：***"
