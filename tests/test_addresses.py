"""Address normalisation: one key per doorway, never one key for two doorways."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commandcenter.addresses import chinese_numeral, normalise_address


@pytest.mark.parametrize(
    ("text", "value"),
    [("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23), ("一百零五", 105),
     ("三百", 300), ("九百九十九", 999), ("三五", 35), ("两", 2), ("", None), ("百", None),
     ("十十", None), ("一千", None)],
)  # fmt: skip
def test_chinese_numerals(text: str, value: int | None) -> None:
    assert chinese_numeral(text) == value


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("幸福路1号", "幸福路 1 号"),
        ("幸福路1号", "幸福路１号"),
        ("幸福路1号", "幸福路一号"),
        ("幸福路1号", "幸福路1号门口"),
        ("幸福路1号", "幸福路，1号。"),
        ("阳光小区3幢2单元", "阳光小区三号楼二单元"),
        ("Main St 12", "main st. 12"),
    ],
)
def test_one_place_many_spellings(a: str, b: str) -> None:
    assert normalise_address(a) == normalise_address(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("幸福路1号", "幸福路11号"),
        ("幸福路1号", "幸福路十一号"),
        ("幸福超市", "幸福小区"),  # administrative-looking endings are not stripped
        ("阳光小区3栋", "阳光小区3单元"),
        ("幸福路路口", "幸福路"),  # a junction is a place of its own
    ],
)
def test_different_places_stay_apart(a: str, b: str) -> None:
    assert normalise_address(a) != normalise_address(b)


def test_blank_has_no_key() -> None:
    assert normalise_address("") == normalise_address(" ，。 ") == ""


@given(st.integers(min_value=1, max_value=999))
def test_numerals_agree_with_digits(n: int) -> None:
    digits = "零一二三四五六七八九"
    h, t, u = n // 100, n // 10 % 10, n % 10
    words = ""
    if h:
        words += digits[h] + "百"
    if t:
        words += ("" if (t == 1 and not h) else digits[t]) + "十"
    elif h and u:
        words += "零"
    if u:
        words += digits[u]
    assert chinese_numeral(words) == n
    assert normalise_address(f"幸福路{words}号") == f"幸福路{n}号"


@given(st.text(max_size=60))
def test_never_raises_and_is_idempotent(text: str) -> None:
    once = normalise_address(text)
    assert normalise_address(once) == once
