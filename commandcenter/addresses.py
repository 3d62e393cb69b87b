"""One place, one key: addresses normalised so that repeat complaints about one doorway
are counted as repeats however each caller (or each intake clerk) wrote the address.

The same gate reaches the hotline as ``幸福路1号``, ``幸福路 1 号``, ``幸福路１号`` (a
full-width digit from a Chinese input method), ``幸福路一号`` and ``幸福路1号门口``. Counting
those as five places hides the repeat a leader asks about ("why do they keep calling
about the same drain?"). The rules are deliberately few and conservative, each one a form
we see in hotline text, never a guess that could merge two real places:

1. NFKC folding (full-width digits and letters, compatibility forms), lower case.
2. Whitespace and punctuation removed (``，。、·-#()（）`` and the like).
3. A Chinese numeral directly before a unit of a street address (号, 栋, 幢, 单元, 楼,
   层, 室, 弄, 巷, 组) becomes Arabic digits: ``一号`` → ``1号``, ``十二栋`` → ``12栋``.
4. 幢 and 号楼 are written 栋 (three names for one building).
5. A trailing locative that says "at/near" rather than "where" is dropped: 门口, 附近,
   旁边, 对面, 一带, 路口 stays (a junction is a place of its own).

Administrative prefixes (province, city, county) are not stripped: ``市`` also ends 超市
and ``区`` ends 小区, so a rule that strips them would merge different places.
"""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_UNITS = "号栋幢单元楼层室弄巷组"
_CN_NUMERAL = re.compile(rf"([零〇一二两三四五六七八九十百]+)(?=[{_UNITS}])")
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_TRAILING = re.compile(r"(门口|门前|附近|旁边|旁|对面|一带)+$")


def chinese_numeral(text: str) -> int | None:
    """The value of a Chinese numeral up to 999 (``十二`` 12, ``一百零五`` 105, ``三五``
    35 read digit by digit), or None when it is not one."""
    if not text:
        return None
    if "百" not in text and "十" not in text:
        value = 0
        for ch in text:
            if ch not in _DIGITS:
                return None
            value = value * 10 + _DIGITS[ch]
        return value
    total = 0
    rest = text
    for unit, scale in (("百", 100), ("十", 10)):
        head, sep, tail = rest.partition(unit)
        if not sep:
            continue
        if head in ("", "零", "〇") and unit == "十":
            n = 1  # 十二 is twelve
        elif len(head) == 1 and head in _DIGITS:
            n = _DIGITS[head]
        else:
            return None
        total += n * scale
        rest = tail.lstrip("零〇")
    if rest:
        if len(rest) != 1 or rest not in _DIGITS:
            return None
        total += _DIGITS[rest]
    return total


def _arabic(m: re.Match[str]) -> str:
    value = chinese_numeral(m.group(1))
    return m.group(1) if value is None else str(value)


def normalise_address(address: str) -> str:
    """The key two spellings of one address share (see the module's rules); "" for an
    address that is only punctuation or blank."""
    text = unicodedata.normalize("NFKC", address or "").casefold()
    text = _PUNCT.sub("", text)
    text = _CN_NUMERAL.sub(_arabic, text)
    text = text.replace("号楼", "栋").replace("幢", "栋")
    return _TRAILING.sub("", text)
