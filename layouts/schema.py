"""Layouts as data: which panels, in which docking arrangement, on which screen.

A layout is plain JSON with a schema version. Old files are migrated step by step
(``MIGRATIONS``), so an operator's layout survives every upgrade; a file that cannot be
read is never silently dropped: ``load_layout_file`` keeps it as ``NAME.corrupt-<time>``
and says why.

Shape (version 1)::

    {"schema": "commandcenter.layout", "version": 1,
     "name": "值班台", "name_en": "Duty console", "role": "duty_officer",
     "schedule": {"from": "08:00", "to": "20:00"} | null,
     "panels": {"p1": {"type": "overview", "settings": {...}}, ...},
     "screens": [
        {"match": {"name": "HDMI-1", "geometry": [x, y, w, h], "index": 0},
         "kiosk": false, "scale": 1.0,
         "dock": {"split": "horizontal", "sizes": [3, 1], "children": [
                     {"area": ["p1", "p2"], "current": "p1"},
                     {"split": "vertical", "children": [{"area": ["p3"]}, ...]}]},
         "floating": [{"panel": "p4", "geometry": [x, y, w, h]}]}]}

``name_en`` (optional) is the layout's name in English, shown in window titles and menus
when the interface is in English (``display_name``); a layout without one shows ``name``
in both languages (an operator's own layout is named in the operator's words).

A floating entry's geometry is relative to the top-left of its screen (so a layout moves
with its screen when screens are re-matched or folded), and it may carry an optional
``"dock"`` tree when several panels were docked together in one floating window.

Panels are referred to by registry name (``type``); one the registry does not know
restores as a placeholder that names what is missing (widgets/registry.py), so a layout
written by a newer version still opens.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commandcenter.state_files import aside_path, write_private

SCHEMA = "commandcenter.layout"
VERSION = 1


class LayoutError(ValueError):
    """A layout that cannot be used, with a reason an operator can act on."""


class NewerLayoutError(LayoutError):
    """The layout comes from a newer version of the program: never moved aside, never
    written over; opened read-only (``understood``) as far as this version can."""


def understood(raw: Any) -> dict[str, Any] | None:
    """What this version can make of a layout a newer one wrote: the document read as
    the current version when it validates as one (a newer version adds to the format;
    unknown panels become placeholders that keep their settings), else None."""
    if not isinstance(raw, dict):
        return None
    doc = copy.deepcopy(raw)
    doc["version"] = VERSION
    try:
        validate(doc)
    except (LayoutError, AttributeError, TypeError):
        return None
    return doc


def is_newer(path: Path) -> bool:
    """Whether the layout file at ``path`` was written by a newer version (so this one
    must leave it as it is)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    v = raw.get("version") if isinstance(raw, dict) else None
    return isinstance(v, int) and not isinstance(v, bool) and v > VERSION


# ---- migrations ------------------------------------------------------------------------


def _v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """v0 (the first prototype) had one flat list of panels per screen, screens by index:
    {"version": 0, "title": ..., "screens": [{"panels": ["overview", "cases"]}]}."""
    panels: dict[str, Any] = {}
    screens = []
    for si, screen in enumerate(doc.get("screens", [])):
        ids = []
        for name in screen.get("panels", []):
            pid = f"p{len(panels) + 1}"
            panels[pid] = {"type": name, "settings": {}}
            ids.append(pid)
        screens.append(
            {
                "match": {"index": si},
                "kiosk": bool(screen.get("fullscreen", False)),
                "scale": 1.0,
                "dock": {"split": "horizontal", "children": [{"area": [pid]} for pid in ids]}
                if ids
                else {"area": []},
                "floating": [],
            }
        )
    return {
        "schema": SCHEMA,
        "version": 1,
        "name": doc.get("title", "layout"),
        "role": doc.get("role", "duty_officer"),
        "schedule": None,
        "panels": panels,
        "screens": screens,
    }


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _v0_to_v1}


def migrate(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Bring a layout document to VERSION; returns it and the steps taken."""
    if not isinstance(doc, dict):
        raise LayoutError("a layout must be a JSON object")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise LayoutError("the layout has no integer 'version'")
    if version > VERSION:
        raise NewerLayoutError(
            f"layout version {version} is newer than this program understands ({VERSION})"
        )
    steps = []
    doc = copy.deepcopy(doc)
    while version < VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise LayoutError(f"no migration from layout version {version}")
        doc = step(doc)
        steps.append(f"v{version} -> v{doc['version']}")
        version = doc["version"]
    return doc, steps


# ---- validation ------------------------------------------------------------------------


def _check_tree(node: Any, panels: dict[str, Any], seen: set[str], where: str) -> None:
    if not isinstance(node, dict):
        raise LayoutError(f"{where}: a dock node must be an object")
    if "area" in node:
        area = node["area"]
        if not isinstance(area, list) or not all(isinstance(p, str) for p in area):
            raise LayoutError(f"{where}: 'area' must be a list of panel ids")
        for pid in area:
            if pid not in panels:
                raise LayoutError(f"{where}: panel id {pid!r} is not in 'panels'")
            if pid in seen:
                raise LayoutError(f"{where}: panel id {pid!r} is placed twice")
            seen.add(pid)
        return
    if node.get("split") not in ("horizontal", "vertical"):
        raise LayoutError(f"{where}: a node needs 'area' or 'split' (horizontal|vertical)")
    children = node.get("children")
    if not isinstance(children, list) or not children:
        raise LayoutError(f"{where}: a split needs children")
    sizes = node.get("sizes")
    if sizes is not None and (
        not isinstance(sizes, list)
        or len(sizes) != len(children)
        or not all(isinstance(s, int | float) for s in sizes)
    ):
        raise LayoutError(f"{where}: 'sizes' must give one number per child")
    for i, child in enumerate(children):
        _check_tree(child, panels, seen, f"{where}.children[{i}]")


def display_name(doc: dict[str, Any], chinese: bool) -> str:
    """The layout's name in the interface's language: ``name_en`` in English when the
    layout has one, ``name`` otherwise."""
    name = str(doc.get("name", ""))
    return name if chinese else str(doc.get("name_en") or name)


def validate(doc: dict[str, Any]) -> None:
    """Raise LayoutError naming the first problem; the document is version VERSION."""
    if doc.get("schema") != SCHEMA:
        raise LayoutError(f"not a commandcenter layout (schema {doc.get('schema')!r})")
    if not isinstance(doc.get("name"), str) or not doc["name"].strip():
        raise LayoutError("the layout needs a name")
    if "name_en" in doc and (not isinstance(doc["name_en"], str) or not doc["name_en"].strip()):
        raise LayoutError("'name_en', when given, must be a non-empty name")
    panels = doc.get("panels")
    if not isinstance(panels, dict):
        raise LayoutError("'panels' must be an object of id -> {type, settings}")
    for pid, spec in panels.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
            raise LayoutError(f"panel {pid!r} needs a 'type'")
        if not isinstance(spec.setdefault("settings", {}), dict):
            raise LayoutError(f"panel {pid!r}: 'settings' must be an object")
    screens = doc.get("screens")
    if not isinstance(screens, list) or not screens:
        raise LayoutError("the layout needs at least one screen")
    seen: set[str] = set()
    for si, screen in enumerate(screens):
        where = f"screens[{si}]"
        if not isinstance(screen, dict):
            raise LayoutError(f"{where} must be an object")
        _check_tree(screen.get("dock", {"area": []}), panels, seen, f"{where}.dock")
        for fi, fl in enumerate(screen.get("floating", [])):
            pid = fl.get("panel") if isinstance(fl, dict) else None
            if pid not in panels or pid in seen:
                raise LayoutError(f"{where}.floating[{fi}]: unknown or repeated panel {pid!r}")
            if isinstance(fl, dict) and fl.get("dock") is not None:
                # A floating window may hold its own docking tree (several panels docked
                # together); its first panel is the entry's "panel".
                _check_tree(fl["dock"], panels, seen, f"{where}.floating[{fi}].dock")
                if pid not in panels_in(fl["dock"]):
                    raise LayoutError(f"{where}.floating[{fi}]: 'dock' must hold {pid!r}")
            else:
                seen.add(pid)
        scale = screen.get("scale", 1.0)
        if not isinstance(scale, int | float) or not 0.5 <= scale <= 6:
            raise LayoutError(f"{where}: scale must be between 0.5 and 6")
    sched = doc.get("schedule")
    if sched is not None and (
        not isinstance(sched, dict) or not all(_is_hhmm(sched.get(k)) for k in ("from", "to"))
    ):
        raise LayoutError("schedule needs 'from' and 'to' as HH:MM")


def _is_hhmm(v: Any) -> bool:
    if not isinstance(v, str) or len(v) != 5 or v[2] != ":":
        return False
    h, m = v[:2], v[3:]
    return h.isdigit() and m.isdigit() and int(h) < 24 and int(m) < 60


def parse(text: str) -> tuple[dict[str, Any], list[str]]:
    """JSON text -> validated current-version document, and the migration steps taken."""
    if not text.strip():
        raise LayoutError("the layout file is empty")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise LayoutError(f"not valid JSON: {err}") from err
    doc, steps = migrate(raw)
    validate(doc)
    return doc, steps


def dumps(doc: dict[str, Any]) -> str:
    validate(doc)
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


# ---- files -----------------------------------------------------------------------------


@dataclass(slots=True)
class LoadResult:
    doc: dict[str, Any] | None
    problem: str = ""  # why the file could not be used
    backup: Path | None = None  # where the unusable file was kept
    migrated: list[str] = field(default_factory=list)
    newer: Any = None  # the raw document of a newer version (read-only, left in place)


def load_layout_file(path: Path) -> LoadResult:
    """Read a layout; an unusable file is copied to ``<name>.corrupt-<time>`` and reported,
    never deleted or overwritten, so the operator's work can be recovered by hand."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadResult(None, f"{path} does not exist")
    except (OSError, UnicodeDecodeError) as err:
        return LoadResult(None, f"{path}: {err}", _backup(path))
    try:
        doc, steps = parse(text)
    except NewerLayoutError as err:
        # Not broken: written by a newer console (one hall, two versions during an upgrade).
        # Left exactly where it is, so that console still finds it; nothing is copied. The
        # caller opens what this version understands of it, read-only.
        raw = json.loads(text)
        return LoadResult(
            understood(raw),
            f"{path.name}: {err}; left in place for the console that wrote it",
            newer=raw,
        )
    except LayoutError as err:
        return LoadResult(None, f"{path.name}: {err}", _backup(path))
    return LoadResult(doc, migrated=steps)


def _backup(path: Path) -> Path | None:
    """A copy as ``NAME.corrupt-<time>``, named as every damaged state file is
    (``state_files.aside_path``); the library removes a user layout's original."""
    target = aside_path(path)
    try:
        shutil.copy2(path, target)
    except OSError:
        return None
    return target


def save_layout_file(path: Path, doc: dict[str, Any]) -> None:
    """Write atomically (temp file + rename): a crash mid-save leaves the old layout.
    Owner-only (0600 in 0700), as every state file: layouts name screens and places."""
    write_private(path, dumps(doc))


# ---- screens ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScreenInfo:
    """What the program knows of an attached screen (QScreen, reduced to plain data)."""

    index: int
    name: str
    geometry: tuple[int, int, int, int]  # x, y, w, h in device-independent pixels


def match_screens(wanted: list[dict[str, Any]], present: list[ScreenInfo]) -> list[int]:
    """For each screen of the layout, the index (into ``present``) it goes to.

    Matched by name first (outputs keep their names across reboots), then by geometry,
    then by position in the list. Screens of the layout left over when fewer are attached
    fold onto the present ones in turn, so nothing is ever placed off-screen.
    """
    if not present:
        raise LayoutError("no screen attached")
    result: list[int | None] = [None] * len(wanted)
    taken: set[int] = set()

    def claim(i: int, j: int) -> None:
        result[i] = j
        taken.add(j)

    for i, w in enumerate(wanted):
        name = (w.get("match") or {}).get("name")
        for j, s in enumerate(present):
            if name and s.name == name and j not in taken:
                claim(i, j)
                break
    for i, w in enumerate(wanted):
        geo = (w.get("match") or {}).get("geometry")
        if result[i] is None and geo:
            for j, s in enumerate(present):
                if j not in taken and list(s.geometry) == list(geo):
                    claim(i, j)
                    break
    for i, w in enumerate(wanted):
        idx = (w.get("match") or {}).get("index", i)
        if (
            result[i] is None
            and isinstance(idx, int)
            and 0 <= idx < len(present)
            and idx not in taken
        ):
            claim(i, idx)
    free = [j for j in range(len(present)) if j not in taken]
    for i in range(len(wanted)):
        if result[i] is None:
            if free:
                claim(i, free.pop(0))
            else:  # more screens wanted than attached: fold, in turn
                result[i] = i % len(present)
    return [r for r in result if r is not None]


def panels_in(node: dict[str, Any]) -> list[str]:
    """Panel ids of a dock tree, in order."""
    if "area" in node:
        return list(node["area"])
    return [p for child in node.get("children", []) for p in panels_in(child)]
