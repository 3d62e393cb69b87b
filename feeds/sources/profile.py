"""Source profiles: how a hall's own export becomes cases, written as data (TOML), never code.

A profile says where the values are (column or JSON key -> case field, with simple
transforms), what the source's words mean (vocabularies: status -> life-cycle state,
agency -> department, channel -> source), which time zone zone-less times are in, which
date formats are accepted (explicit: a value no format reads, or two formats read
differently, is rejected with the reason, never guessed), which fields are the record's
own due date, the datum of the coordinates and the id prefix that keeps this source's
cases apart from every other's. docs/sources.md is the reference; ``profiles/`` holds the
shipped ones.

Validation is complete before any row is read: every problem is a ``ProfileError`` that
names the file, the line and the dotted key, so the person editing the file can fix it.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commandcenter.domain import CaseState, Source, Urgency
from commandcenter.geo import normalize_crs

PROFILE_VERSION = 1
SHIPPED = Path(__file__).with_name("profiles")

# Case fields a profile may fill, and the kind of value each takes.
TEXT_FIELDS = (
    "id", "category", "township", "grid", "address", "title", "description",
    "department", "reporter_name", "reporter_phone",
)  # fmt: skip
TIME_FIELDS = ("created", "closed", "updated", "due")
NUMBER_FIELDS = ("lat", "lon", "rating")
VOCAB_FIELDS = {"status": "state", "urgency": "urgency", "channel": "source"}
ALL_FIELDS = (*TEXT_FIELDS, *TIME_FIELDS, *NUMBER_FIELDS, *VOCAB_FIELDS)
REQUIRED_FIELDS = ("id", "created", "category")
FORMATS = ("csv", "xlsx", "xls", "json", "ndjson")
RECORD_KEYS = ("requests", "service_requests", "records", "data")  # JSON wrappers of a list
CLOSED_STATES = frozenset({"closed", "completed"})
# Targets a vocabulary may map to, by the field it serves.
_TARGETS: dict[str, frozenset[str]] = {
    # the states an import can reach along the life cycle (feeds.sources.tabular._PATH)
    "state": frozenset(s.value for s in CaseState) - {"returned", "called_back", "evaluated"},
    "urgency": frozenset(u.value for u in Urgency),
    "source": frozenset(s.value for s in Source),
}
_SPEC_KEYS = frozenset(
    {"column", "columns", "constant", "template", "regex", "lookup", "default", "required", "otherwise"}
)
_TEMPLATE_REF = re.compile(r"\{([^{}]+)\}")
_URL_FIELDS = re.compile(r"\{(\w+)\}")


class ProfileError(ValueError):
    """A profile that cannot be used; the message names file, line and key."""

    def __init__(self, where: str, line: int | None, key: str, problem: str) -> None:
        at = f"{where}:{line}" if line else where
        super().__init__(f"{at}: {key}: {problem}")
        self.where, self.line, self.key, self.problem = where, line, key, problem


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """Where one case field's value comes from. Exactly one of column(s), constant or
    template; then optionally a regex (group 1 or the whole match) and a lookup table."""

    name: str
    columns: tuple[str, ...] = ()  # the first non-empty of these
    constant: str | None = None
    template: str | None = None  # "{Complaint Type}: {Descriptor}"
    regex: re.Pattern[str] | None = None
    lookup: str | None = None  # a vocabulary name
    default: str | None = None
    required: bool = False
    otherwise: FieldSpec | None = None  # where this one yields nothing (zip, else board)

    def sources(self) -> tuple[str, ...]:
        """Every input column this field reads."""
        own = tuple(_TEMPLATE_REF.findall(self.template)) if self.template is not None else self.columns
        return own + (self.otherwise.sources() if self.otherwise is not None else ())


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Source words -> our words. ``unknown``: "reject" (the row is rejected with the
    value named), "keep" (the value itself), or a value to use instead."""

    name: str
    mapping: dict[str, str]
    unknown: str = "reject"
    case_sensitive: bool = False

    def key(self, value: str) -> str:
        return value if self.case_sensitive else value.strip().casefold()

    def table(self) -> dict[str, str]:
        return {self.key(k): v for k, v in self.mapping.items()}


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    version: int
    path: str
    description: str = ""
    kind: str = "table"  # table (rows of an export or API page) | cot (a CoT stream)
    formats: tuple[str, ...] = FORMATS
    header_row: int | None = None  # 1-based; None: the first row naming every mapped column
    sheet: str | int = 0
    records: tuple[str, ...] = RECORD_KEYS
    encoding: str = "utf-8-sig"
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    date_formats: tuple[str, ...] = ("iso8601",)
    datum: str = "wgs84"
    id_prefix: str = ""
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    vocabularies: dict[str, Vocabulary] = field(default_factory=dict)
    closed_states: frozenset[str] = CLOSED_STATES
    camera_url_template: str = ""  # "rtsp://gateway/{channel}"; credentials never logged
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def columns(self) -> list[str]:
        """Every input column the profile reads, in first-use order."""
        seen: dict[str, None] = {}
        for spec in self.fields.values():
            for c in spec.sources():
                seen.setdefault(c, None)
        return list(seen)

    def required_columns(self) -> list[str]:
        """Columns without which no row can be mapped: those of required fields that have no
        constant and no alternative."""
        out: list[str] = []
        for spec in self.fields.values():
            if spec.required and spec.constant is None and len(spec.columns) == 1:
                out.append(spec.columns[0])
        return out


# ---- loading -----------------------------------------------------------------------------


def _line_of(text: str, dotted: str) -> int | None:
    """The line defining ``dotted`` (``fields.created`` or ``time.zone``): the key inside
    its [table], or a dotted key, or the table header itself."""
    parts = dotted.split(".")
    table: list[str] = []
    best: int | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if s.startswith("[") and not s.startswith("[["):
            table = [p.strip().strip('"') for p in s.strip("[]").split(".")]
            if table == parts:
                best = best or n
            continue
        m = re.match(r'^("?[\w\- ]+"?(?:\s*\.\s*"?[\w\- ]+"?)*)\s*=', s)
        if not m:
            continue
        key = [p.strip().strip('"') for p in m.group(1).split(".")]
        if table + key == parts:
            return n
        if best is None and (table + key)[: len(parts)] == parts:
            best = n
    if best is None and len(parts) > 1:
        return _line_of(text, ".".join(parts[:-1]))
    return best


class _Checker:
    def __init__(self, where: str, text: str) -> None:
        self.where, self.text = where, text

    def fail(self, key: str, problem: str) -> ProfileError:
        return ProfileError(self.where, _line_of(self.text, key), key, problem)

    def typed(self, table: dict[str, Any], key: str, prefix: str, typ: Any, default: Any) -> Any:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            names = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
            raise self.fail(f"{prefix}{key}", f"wants {names}, got {value!r}")
        return value

    def known(self, table: dict[str, Any], allowed: set[str] | frozenset[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(
                    f"{prefix}{key}", f"unknown key (expected one of {', '.join(sorted(allowed))})"
                )


def load_profile(name_or_path: str | Path) -> Profile:
    """A shipped profile by name (``nyc311``) or a profile file; raises ProfileError."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = SHIPPED / f"{name_or_path}.toml"
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in SHIPPED.glob("*.toml")))
            raise ProfileError(str(name_or_path), None, "profile", f"no such profile ({known})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ProfileError(str(path), None, "file", str(err)) from err
    return parse_profile(text, str(path))


def parse_profile(text: str, where: str = "<profile>") -> Profile:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"line (\d+)", str(err))
        raise ProfileError(where, int(m.group(1)) if m else None, "toml", str(err)) from err
    ck = _Checker(where, text)
    ck.known(raw, {"profile", "read", "time", "ids", "geo", "fields", "vocabularies",
                   "states", "cameras"}, "")  # fmt: skip
    head = raw.get("profile")
    if not isinstance(head, dict):
        raise ck.fail("profile", "a [profile] table with name and version is required")
    ck.known(head, {"name", "version", "description", "kind"}, "profile.")
    name = ck.typed(head, "name", "profile.", str, "")
    if not name:
        raise ck.fail("profile.name", "required")
    version = ck.typed(head, "version", "profile.", int, 0)
    if version != PROFILE_VERSION:
        raise ck.fail("profile.version", f"this console reads version {PROFILE_VERSION}, got {version}")
    kind = ck.typed(head, "kind", "profile.", str, "table")
    if kind not in ("table", "cot"):
        raise ck.fail("profile.kind", f"table or cot, got {kind!r}")

    read = raw.get("read", {})
    ck.known(read, {"formats", "header_row", "sheet", "records", "encoding"}, "read.")
    formats = tuple(ck.typed(read, "formats", "read.", list, list(FORMATS)))
    for f in formats:
        if f not in FORMATS:
            raise ck.fail("read.formats", f"{f!r} is not one of {', '.join(FORMATS)}")
    header_row = ck.typed(read, "header_row", "read.", int, None)
    if header_row is not None and header_row < 1:
        raise ck.fail("read.header_row", "rows count from 1")
    sheet = ck.typed(read, "sheet", "read.", (str, int), 0)
    records = tuple(ck.typed(read, "records", "read.", list, list(RECORD_KEYS)))
    encoding = ck.typed(read, "encoding", "read.", str, "utf-8-sig")

    tm = raw.get("time", {})
    ck.known(tm, {"zone", "formats"}, "time.")
    zone_name = ck.typed(tm, "zone", "time.", str, "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ck.fail("time.zone", f"unknown time zone {zone_name!r}") from err
    date_formats = tuple(ck.typed(tm, "formats", "time.", list, ["iso8601"]))
    for f in date_formats:
        if not isinstance(f, str) or not (f in ("iso8601", "excel_serial", "epoch") or "%" in f):
            raise ck.fail("time.formats", f"{f!r}: a strptime format, iso8601, excel_serial or epoch")

    ids = raw.get("ids", {})
    ck.known(ids, {"prefix"}, "ids.")
    prefix = ck.typed(ids, "prefix", "ids.", str, "")
    geo = raw.get("geo", {})
    ck.known(geo, {"datum"}, "geo.")
    datum_name = ck.typed(geo, "datum", "geo.", str, "wgs84")
    try:
        datum = normalize_crs(datum_name)
    except ValueError as err:
        raise ck.fail("geo.datum", str(err)) from err
    if datum not in ("wgs84", "gcj02", "bd09"):
        raise ck.fail("geo.datum", f"wgs84, gcj02 or bd09, got {datum_name!r}")

    vocabularies: dict[str, Vocabulary] = {}
    for vname, vt in raw.get("vocabularies", {}).items():
        pre = f"vocabularies.{vname}."
        if not isinstance(vt, dict):
            raise ck.fail(f"vocabularies.{vname}", "wants a table with map = {...}")
        ck.known(vt, {"map", "unknown", "case_sensitive"}, pre)
        mapping = ck.typed(vt, "map", pre, dict, {})
        for k, v in mapping.items():
            if not isinstance(v, str):
                raise ck.fail(f"{pre}map", f"{k!r} wants a string, got {v!r}")
        vocabularies[vname] = Vocabulary(
            vname, dict(mapping), ck.typed(vt, "unknown", pre, str, "reject"),
            ck.typed(vt, "case_sensitive", pre, bool, False),
        )  # fmt: skip

    fields_raw = raw.get("fields", {})
    if not isinstance(fields_raw, dict):
        raise ck.fail("fields", "wants a table")
    fields: dict[str, FieldSpec] = {}
    for fname, spec in fields_raw.items():
        if fname not in ALL_FIELDS:
            raise ck.fail(f"fields.{fname}", f"not a case field ({', '.join(ALL_FIELDS)})")
        fields[fname] = _field_spec(ck, fname, spec, vocabularies)
    for req in REQUIRED_FIELDS if kind == "table" else ():
        if req not in fields:
            raise ck.fail(f"fields.{req}", "required: every case needs it")
        if not fields[req].required:
            fields[req] = _replace_required(fields[req])
    for fname, target in VOCAB_FIELDS.items():
        spec = fields.get(fname)
        if spec is not None and spec.lookup is not None:
            allowed = _TARGETS[target]
            voc = vocabularies[spec.lookup]
            for k, v in voc.mapping.items():
                if v not in allowed:
                    raise ck.fail(f"vocabularies.{voc.name}.map", f"{k!r} -> {v!r}: not a {target} "
                                  f"({', '.join(sorted(allowed))})")  # fmt: skip
            if voc.unknown not in ("reject", "keep") and voc.unknown not in allowed:
                raise ck.fail(f"vocabularies.{voc.name}.unknown", f"{voc.unknown!r} is not a {target}")

    states = raw.get("states", {})
    ck.known(states, {"closed"}, "states.")
    closed = ck.typed(states, "closed", "states.", list, None)
    cams = raw.get("cameras", {})
    ck.known(cams, {"url_template"}, "cameras.")
    url_template = ck.typed(cams, "url_template", "cameras.", str, "")
    if url_template:
        if not re.match(r"^(rtsp|rtsps|http|https)://", url_template):
            raise ck.fail("cameras.url_template", "wants an rtsp:// or http(s):// URL")
        for ref in _URL_FIELDS.findall(url_template):
            if ref not in ("channel", "id", "name"):
                raise ck.fail("cameras.url_template", f"{{{ref}}}: only {{channel}}, {{id}}, {{name}}")
        if re.search(r"//[^/@]*:[^/@]*@", url_template):
            raise ck.fail("cameras.url_template", "no credentials inline: put them in a token file")
    return Profile(
        name=name, version=version, path=where, description=head.get("description", ""),
        kind=kind, formats=formats, header_row=header_row, sheet=sheet, records=records,
        encoding=encoding, zone=zone, date_formats=date_formats, datum=datum, id_prefix=prefix,
        fields=fields, vocabularies=vocabularies,
        closed_states=frozenset(closed) if closed is not None else CLOSED_STATES,
        camera_url_template=url_template, raw=raw,
    )  # fmt: skip


def _replace_required(spec: FieldSpec) -> FieldSpec:
    return dataclasses.replace(spec, required=True)


def _field_spec(
    ck: _Checker, fname: str, spec: Any, vocabularies: dict[str, Vocabulary], key: str = ""
) -> FieldSpec:
    key = key or f"fields.{fname}"
    if isinstance(spec, str):
        return FieldSpec(fname, columns=(spec,))
    if isinstance(spec, list):
        if not spec or not all(isinstance(c, str) for c in spec):
            raise ck.fail(key, "a list of column names")
        return FieldSpec(fname, columns=tuple(spec))
    if not isinstance(spec, dict):
        raise ck.fail(key, f"a column name, a list of them or a table, got {spec!r}")
    ck.known(spec, _SPEC_KEYS, f"{key}.")
    pre = f"{key}."
    column = spec.get("column")
    columns = spec.get("columns")
    constant = ck.typed(spec, "constant", pre, str, None)
    template = ck.typed(spec, "template", pre, str, None)
    if column is not None and not isinstance(column, str):
        raise ck.fail(f"{pre}column", f"wants a column name, got {column!r}")
    if columns is not None and (
        not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns)
    ):
        raise ck.fail(f"{pre}columns", "wants a list of column names")
    cols = (column,) if column else tuple(columns or ())
    given = sum(x is not None and x != () for x in (cols or None, constant, template))
    if given != 1:
        raise ck.fail(key, "exactly one of column, columns, constant or template")
    if template is not None and not _TEMPLATE_REF.search(template):
        raise ck.fail(f"{pre}template", "names no {column}")
    regex = None
    if "regex" in spec:
        pattern = ck.typed(spec, "regex", pre, str, "")
        try:
            regex = re.compile(pattern)
        except re.error as err:
            raise ck.fail(f"{pre}regex", f"not a regular expression: {err}") from err
        if regex.groups > 1:
            raise ck.fail(f"{pre}regex", "at most one group (the value kept)")
    lookup = ck.typed(spec, "lookup", pre, str, None)
    if lookup is not None and lookup not in vocabularies:
        raise ck.fail(f"{pre}lookup", f"no vocabulary {lookup!r} in [vocabularies]")
    if fname in VOCAB_FIELDS and lookup is None and constant is None:
        raise ck.fail(key, f"{fname} needs a lookup (a vocabulary) or a constant")
    default = ck.typed(spec, "default", pre, str, None)
    required = ck.typed(spec, "required", pre, bool, False)
    otherwise = None
    if "otherwise" in spec:
        otherwise = _field_spec(ck, fname, spec["otherwise"], vocabularies, f"{pre}otherwise")
    return FieldSpec(fname, cols, constant, template, regex, lookup, default, required, otherwise)


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))
