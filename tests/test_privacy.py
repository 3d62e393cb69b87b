"""Masking of reporters' personal data: fixed examples, and properties over generated
phones, ID numbers and names that must never survive into a masked text or record."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from commandcenter.domain import Case, CaseState, Source, TimelineEntry, Urgency
from commandcenter.privacy import (
    Mask,
    mask_address,
    mask_name,
    mask_numbers,
    mask_phone,
)

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
