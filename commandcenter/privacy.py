"""Masking of reporters' personal data for screens that people outside the hall can see.

Why here and Qt-free: the briefing wall is often on a video conference with townships,
villages and enterprises, and the exported PDF is mailed around; a reporter's name, phone
or exact address must never reach either. Duty consoles keep full detail (they call the
reporter back), so masking is a *policy* (``Mask``) chosen per screen, not a change to the
data. One module applies it to case records, timelines and free text alike, so the report,
the briefing screens and any later export all mask the same way.

Rules (the usual Chinese practice for 脱敏):

- names: 张三 → 张*, 张三丰 → 张*丰, 欧阳娜娜 → 欧**娜; Latin names keep initials;
- mobile numbers: 13812341234 → 138****1234 (also with +86, spaces or dashes);
- landlines: 0353-6012345 → 0353-****2345;
- ID-card numbers (18 digits, last may be X): 140321199001011234 → 140321********1234;
- any other run of 11 or more digits not glued to a letter (a phone inside a longer
  number): all but its last four digits hidden. Case ids such as ``PD0000092`` start
  with letters and are kept;
- exact addresses: the township and road are kept, house/building/unit/room numbers are
  dropped (address fields) or starred (free text): 锦绣路13号 → 锦绣路 / 锦绣路*号;
- names in free text: every name the policy knows (the case's reporter, and any names
  learned from the store) plus names after an explicit label (联系人：王五).
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from commandcenter.domain import Role

MASKED_ROLES: frozenset[Role] = frozenset({Role.LEADER, Role.VIEWER})

# ---- primitive rules --------------------------------------------------------------------

_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_ID_CARD = re.compile(_NOT_ALNUM_BEFORE + r"(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(
    _NOT_ALNUM_BEFORE + r"((?:\+?86[-\s]?)?)(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)"
)
_LANDLINE = re.compile(_NOT_ALNUM_BEFORE + r"(0\d{2,3})([-\s]?)(\d{3,4})(\d{4})(?!\d)")
# Eleven or more digits, allowing single spaces or dashes between them.
_LONG_DIGITS = re.compile(_NOT_ALNUM_BEFORE + r"\d(?:[-\s]?\d){10,}")
# "电话：6012345" — a short local number only counts after an explicit label.
_LABELLED_NUMBER = re.compile(
    r"((?:电话|手机|联系方式|联系电话|手机号|tel|Tel|TEL|phone|Phone)\s*[:：]?\s*)(\d{5,10})(?!\d)"
)
_NUM = r"[0-9０-９一二三四五六七八九十百千零〇两]+"
_UNIT = r"(?:号院|号楼|号|號|栋|幢|单元|室|层|楼|户|排)"
_HOUSE_NUMBER = re.compile(rf"{_NUM}(?:[-－—]{_NUM})*{_UNIT}")
_HOUSE_SEQUENCE = re.compile(rf"(?:{_HOUSE_NUMBER.pattern})+")
_HAN = r"[\u3400-\u9fff]"
# Every rule below after the names needs a digit, a colon (labels) or a unit character
# (号, 室...): text with none of them is left as it is without running them (the journal
# masks every case it writes; most timeline notes are short words).
_MAY_NEED_RULES = re.compile(r"[\d:：号號栋幢单室层楼户排]")
_LABELLED_NAME = re.compile(
    r"((?:姓名|联系人|报警人|报案人|举报人|反映人|来电人|投诉人|上报人|当事人|户主|报告人)"
    rf"\s*[:：]\s*)({_HAN}{{2,4}})"
)


def mask_name(name: str) -> str:
    """张三 → 张*, 张三丰 → 张*丰, 欧阳娜娜 → 欧**娜, John Smith → J*** S****."""
    name = name.strip()
    if not name:
        return ""
    if re.fullmatch(rf"{_HAN}+", name):
        if len(name) == 1:
            return "*"
        if len(name) == 2:
            return name[0] + "*"
        return name[0] + "*" * (len(name) - 2) + name[-1]
    return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())


def mask_phone(phone: str) -> str:
    """A phone number field: the patterns in text, or (anything else) all but the last
    four digits hidden: a field named "phone" is personal whatever its format."""
    masked = mask_numbers(phone)
    if masked != phone or not phone:
        return masked
    digits = sum(ch.isdigit() for ch in phone)
    if digits <= 4:
        return "*" * len(phone)
    seen = 0
    out = []
    for ch in phone:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - 4 else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask_numbers(text: str) -> str:
    """ID-card numbers, mobiles, landlines, long digit runs and labelled numbers in text."""
    text = _ID_CARD.sub(lambda m: m[1] + "*" * 8 + m[3], text)
    text = _MOBILE.sub(lambda m: m[1] + m[2] + "****" + m[4], text)
    text = _LANDLINE.sub(lambda m: m[1] + (m[2] or "-") + "****" + m[4], text)
    text = _LONG_DIGITS.sub(_star_all_but_last_four, text)
    return _LABELLED_NUMBER.sub(
        lambda m: (
            m[1] + "*" * max(0, len(m[2]) - 4) + m[2][-4:]
            if len(m[2]) > 6
            else m[1] + "*" * len(m[2])
        ),
        text,
    )


def _star_all_but_last_four(m: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in m[0])
    seen = 0
    out = []
    for ch in m[0]:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - 4 else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask_address(address: str) -> str:
    """Keep the township and road, drop everything from the first house number on:
    冠山镇锦绣路13号3单元501室 → 冠山镇锦绣路."""
    m = _HOUSE_NUMBER.search(address)
    if m is None:
        return mask_numbers(address)
    kept = address[: m.start()].rstrip(" ,，、-")
    return kept or "***"


def mask_house_numbers(text: str) -> str:
    """House numbers inside free text are starred, the road kept: 锦绣路13号 → 锦绣路*号."""

    def star(m: re.Match[str]) -> str:
        return re.sub(_NUM + r"(?:[-－—]" + _NUM + r")*", "*", m[0])

    return _HOUSE_SEQUENCE.sub(star, text)


# ---- the policy -----------------------------------------------------------------------------


@dataclass(slots=True)
class Mask:
    """Whether and how a screen masks personal data.

    ``enabled`` False is the duty console (full detail); True is every briefing screen and
    every export. ``names`` are personal names known to the caller (all reporters in the
    store, say) that are starred wherever they appear in free text, not only in the field
    they came from: a hotline description often repeats the caller's name.
    """

    enabled: bool = True
    names: set[str] = field(default_factory=set)

    @classmethod
    def off(cls) -> Mask:
        return cls(enabled=False)

    @classmethod
    def for_role(cls, role: Role | str) -> Mask:
        """Leaders' and viewers' screens (briefing, wall, video conference) are masked;
        the roles that work cases (duty officer, dispatcher, field, system) see all."""
        return cls(enabled=Role(role) in MASKED_ROLES)

    def learn(self, names: Iterable[str]) -> Mask:
        """Add personal names to star in free text (single characters are ignored: a
        one-character "name" would star that character everywhere)."""
        for n in names:
            n = (n or "").strip()
            if len(n) >= 2:
                self.names.add(n)
        return self

    def learn_from_cases(self, records: Iterable[Any]) -> Mask:
        """Learn every reporter name (and ``监督员X``-style actors) of these case records."""
        return self.learn(getattr(r, "reporter_name", "") for r in records)

    # ---- fields ------------------------------------------------------------------------

    def name(self, name: str) -> str:
        return mask_name(name) if self.enabled else name

    def phone(self, phone: str) -> str:
        return mask_phone(phone) if self.enabled else phone

    def address(self, address: str) -> str:
        if not self.enabled:
            return address
        return self.text(mask_address(address))

    def text(self, text: str, names: Iterable[str] = ()) -> str:
        """Free text (titles, descriptions, notes, alert messages) with every rule applied:
        known names (these ``names`` and the learned ones), labelled names, numbers and
        house numbers."""
        if not self.enabled or not text:
            return text
        known = {n.strip() for n in names if n and len(n.strip()) >= 2} | self.names
        # Longest first, so 欧阳娜娜 is not left as 欧阳** by masking 欧阳 first.
        for n in sorted(known, key=len, reverse=True):
            if n in text:
                text = text.replace(n, mask_name(n))
        if _MAY_NEED_RULES.search(text) is None:
            return text
        text = _LABELLED_NAME.sub(lambda m: m[1] + mask_name(m[2]), text)
        text = mask_numbers(text)
        text = mask_house_numbers(text)
        # Masking one name can, in contrived text, leave another known name standing
        # (two names overlapping); star any survivor outright.
        for n in known:
            if n in text:
                text = text.replace(n, "*" * len(n))
        return text

    # ---- records -----------------------------------------------------------------------

    def case(self, record: Any) -> Any:
        """A masked copy of a case record (domain.Case, the wire's CaseData, or anything
        with those attribute names); the record itself is never changed. With masking off,
        the record itself."""
        if not self.enabled:
            return record
        reporter = getattr(record, "reporter_name", "") or ""
        names = (reporter,) if reporter else ()
        values: dict[str, Any] = {}
        for attr in ("title", "description"):
            if hasattr(record, attr):
                values[attr] = self.text(getattr(record, attr) or "", names)
        if hasattr(record, "address"):
            values["address"] = self.text(mask_address(record.address or ""), names)
        if hasattr(record, "reporter_name"):
            values["reporter_name"] = mask_name(reporter)
        if hasattr(record, "reporter_phone"):
            values["reporter_phone"] = mask_phone(record.reporter_phone or "")
        if hasattr(record, "timeline"):
            values["timeline"] = [self.timeline_entry(e, names) for e in record.timeline or []]
        return _replaced(record, values)

    def timeline_entry(self, entry: Any, names: Iterable[str] = ()) -> Any:
        """A masked copy of one timeline step: a reporter as actor and any personal data in
        the note are masked; units and departments (not personal) are kept."""
        if not self.enabled:
            return entry
        names = tuple(names)
        values: dict[str, Any] = {}
        if hasattr(entry, "actor"):
            actor = entry.actor or ""
            values["actor"] = (
                mask_name(actor)
                if actor in names or actor in self.names
                else self.text(actor, names)
            )
        if hasattr(entry, "note"):
            values["note"] = self.text(entry.note or "", names)
        if all(getattr(entry, k) == v for k, v in values.items()):
            return entry  # nothing personal in it: no copy
        return _replaced(entry, values)

    def mapping(self, row: dict[str, Any], names: Iterable[str] = ()) -> dict[str, Any]:
        """A masked copy of a dict row (a table row, a JSON record) by its keys."""
        if not self.enabled:
            return dict(row)
        names = tuple(names) + tuple(
            str(row[k]) for k in ("reporter_name", "name") if isinstance(row.get(k), str)
        )
        out: dict[str, Any] = {}
        for key, value in row.items():
            if not isinstance(value, str):
                out[key] = value
            elif key in ("reporter_name", "name", "contact"):
                out[key] = mask_name(value)
            elif "phone" in key or key in ("tel", "mobile"):
                out[key] = mask_phone(value)
            elif key == "address":
                out[key] = self.address(value)
            else:
                out[key] = self.text(value, names)
        return out


def journal_mask(option: str | bool | None, roles: Iterable[Role | str | None]) -> Mask:
    """Whether the journal keeps reporters' personal data masked at rest (settings
    ``mask_journal``): ``"on"`` / ``"off"`` (or true / false) decide; ``"auto"`` (the
    default) masks when any of ``roles`` (the layout's, the operator's) is a leader's or a
    viewer's: a wall or a leader's screen has no call-back to make, so its disk need not
    hold a phone number. Raises ValueError for any other value (settings say so)."""
    if isinstance(option, bool):
        return Mask(enabled=option)
    word = (option or "auto").strip().lower()
    if word in ("on", "true", "yes"):
        return Mask(enabled=True)
    if word in ("off", "false", "no"):
        return Mask.off()
    if word != "auto":
        raise ValueError(f"mask_journal must be auto, on or off, not {option!r}")
    masked = False
    for role in roles:
        try:
            masked = masked or Role(role or Role.DUTY_OFFICER) in MASKED_ROLES
        except ValueError:
            continue  # an unknown role is refused where layouts are checked
    return Mask(enabled=masked)


def _replaced(record: Any, values: dict[str, Any]) -> Any:
    """A shallow copy with ``values`` set; records that refuse attribute assignment
    (frozen) become a namespace with the same attributes."""
    try:
        dup = copy.copy(record)
        for k, v in values.items():
            setattr(dup, k, v)
        return dup
    except (AttributeError, TypeError):
        # Frozen: a struct or dataclass is built anew of its own type, so that what it
        # is written with (msgspec, the journal's codec) still knows it.
        fields = getattr(record, "__struct_fields__", None) or tuple(
            getattr(record, "__dataclass_fields__", ())
        )
        if fields:
            with contextlib.suppress(TypeError):
                return type(record)(**({f: getattr(record, f) for f in fields} | values))
        attrs = {
            k: getattr(record, k)
            for k in dir(record)
            if not k.startswith("_") and not callable(getattr(record, k))
        }
        attrs.update(values)
        return SimpleNamespace(**attrs)
