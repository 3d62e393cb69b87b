"""Layout files on disk: the operators' own layouts, the shipped presets, and which one
was last shown.

    <config_dir>/layouts/<key>.json     the operators' layouts (save, rename, delete)
    <config_dir>/layouts/current.json   {"key", "source", "snapshot"}: the last good one
    layouts/presets/<key>.json          shipped presets, read-only

A layout is addressed by its *key* (the file stem: ``duty_console``); its ``name`` inside
the file is what people read (``值班台``). A user layout with a preset's key shadows the
preset (Ctrl+S on a preset saves the operator's copy; "Open preset" still reaches the
shipped one).

Failure policy, because a hall must come up whatever is on disk:
- a user file that cannot be used is moved aside as ``NAME.corrupt-<time>``, as every
  damaged state file (``schema.load_layout_file``
  makes the copy; the broken original is then removed so it does not nag at every start)
  and the caller gets a message for a dialog and the log;
- the fallback is the last good layout (``current.json`` keeps a validated snapshot, so
  it survives even when the file it came from is the broken one), else the role's
  default preset, else a built-in one-panel layout that needs no file at all;
- import validates and migrates first and writes nothing when the file is unusable;
- a layout written by a newer version is not broken and not ours to change: it is left
  in place and opened *read-only*, as far as this version understands it (else as its
  nearest preset: the one of the same key, else of its role, else the default). Nothing
  here writes over, renames or deletes it; a save goes to a new name (the shell's).
"""

from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commandcenter.settings import config_dir
from commandcenter.state_files import private_dir, private_file, write_private
from layouts import schema
from layouts.schema import LayoutError, NewerLayoutError

log = logging.getLogger(__name__)

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
DEFAULT_PRESET = "duty_console"
CURRENT_FILE = "current.json"
USER, PRESET, FILE, BUILTIN = "user", "preset", "file", "builtin"


def builtin_layout() -> dict[str, Any]:
    """The layout of last resort: one screen with the overview. Needs no file."""
    return {
        "schema": schema.SCHEMA,
        "version": schema.VERSION,
        "name": "默认布局",
        "name_en": "Default layout",
        "role": "duty_officer",
        "schedule": None,
        "panels": {"overview": {"type": "overview", "settings": {}}},
        "screens": [
            {
                "match": {"index": 0},
                "kiosk": False,
                "scale": 1.0,
                "dock": {"area": ["overview"], "current": "overview"},
                "floating": [],
            }
        ],
    }


def key_for(name: str) -> str:
    """A file stem for a layout name: the name itself (Chinese is fine on every file
    system the hall uses) without path separators, control characters or leading dots."""
    key = re.sub(r'[\x00-\x1f/\\:*?"<>|]+', "_", name.strip()).strip(" .")
    if not key or key == CURRENT_FILE.removesuffix(".json"):
        raise LayoutError(f"{name!r} cannot be used as a layout name")
    return key[:100]


@dataclass(slots=True)
class Entry:
    """One layout the operator can open."""

    key: str
    name: str  # the display name inside the file (the key when unreadable)
    source: str  # USER or PRESET
    path: Path
    schedule: dict[str, str] | None = None
    problem: str = ""  # why it cannot be opened, if so
    read_only: str = ""  # why it opens read-only (a newer version wrote it), if so
    name_en: str = ""  # the name in English, when the file gives one

    def title(self, chinese: bool) -> str:
        """The name to show in the interface's language."""
        return self.name if chinese else (self.name_en or self.name)


@dataclass(slots=True)
class Loaded:
    """A layout to show, where it came from, and what went wrong on the way."""

    doc: dict[str, Any]
    key: str
    source: str
    problems: list[str] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)
    migrated: list[str] = field(default_factory=list)
    read_only: str = ""  # why it must not be saved over (a newer version wrote it)

    @property
    def message(self) -> str:
        """Everything the operator must be told, one paragraph per problem."""
        return "\n\n".join(self.problems)


class LayoutLibrary:
    """List, load, save-as, rename, delete, export and import layouts."""

    def __init__(self, user_dir: Path | None = None, presets_dir: Path | None = None) -> None:
        self.user_dir = user_dir if user_dir is not None else config_dir() / "layouts"
        self.presets_dir = presets_dir if presets_dir is not None else PRESETS_DIR
        self._read_only: dict[tuple[str, str], str] = {}  # (key, source) -> why

    # ---- listing ---------------------------------------------------------------------

    def user_path(self, key: str) -> Path:
        return self.user_dir / f"{key}.json"

    def preset_path(self, key: str) -> Path:
        return self.presets_dir / f"{key}.json"

    def entries(self, source: str | None = None) -> list[Entry]:
        """User layouts then presets, each sorted by key; unreadable files are listed
        with their problem (the menu greys them out) rather than hidden."""
        out: list[Entry] = []
        for src, folder in ((USER, self.user_dir), (PRESET, self.presets_dir)):
            if source not in (None, src) or not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.json")):
                if path.name == CURRENT_FILE:
                    continue
                try:
                    text = path.read_text(encoding="utf-8")
                    doc, _ = schema.parse(text)
                except NewerLayoutError as err:  # opens read-only: listed, not greyed out
                    raw = json.loads(text)
                    name = raw.get("name") if isinstance(raw.get("name"), str) else path.stem
                    out.append(Entry(path.stem, name or path.stem, src, path, read_only=str(err)))
                    continue
                except (LayoutError, OSError, UnicodeDecodeError) as err:
                    out.append(Entry(path.stem, path.stem, src, path, problem=str(err)))
                    continue
                out.append(
                    Entry(
                        path.stem,
                        doc["name"],
                        src,
                        path,
                        doc.get("schedule"),
                        name_en=str(doc.get("name_en", "")),
                    )
                )
        return out

    def presets(self) -> list[Entry]:
        return self.entries(PRESET)

    def user_layouts(self) -> list[Entry]:
        return self.entries(USER)

    # ---- loading ---------------------------------------------------------------------

    def load(self, ref: str, source: str | None = None) -> Loaded:
        """Load a layout by key (user first, then preset) or by path. Raises LayoutError
        with the reason (and a ``.corrupt-<time>`` copy kept) when it cannot be used."""
        path, src, key = self._resolve(ref, source)
        if src == PRESET:
            # Never write copies into the shipped (maybe read-only) presets folder.
            try:
                doc, steps = schema.parse(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as err:
                raise LayoutError(f"preset {path.name}: {err}") from err
            except LayoutError as err:
                raise LayoutError(f"preset {path.name}: {err}") from err
            return Loaded(doc, key, src, migrated=steps)
        result = schema.load_layout_file(path)
        if result.newer is not None:
            return self._read_only_copy(result, key, src)
        if result.doc is None:
            err = LayoutError(result.problem)
            err.backup = result.backup  # type: ignore[attr-defined]
            if result.backup is not None:
                log.error(
                    "layout %s unusable (%s); kept as %s", path, result.problem, result.backup
                )
                if src == USER:  # moved aside: the copy is the operator's now
                    path.unlink(missing_ok=True)
            raise err
        if result.migrated:
            log.info("layout %s migrated: %s", path.name, ", ".join(result.migrated))
        return Loaded(result.doc, key, src, migrated=result.migrated)

    def _read_only_copy(self, result: schema.LoadResult, key: str, src: str) -> Loaded:
        """A newer version's layout opened read-only: what this version understands of
        it, else its nearest preset under its name; the file stays as it is."""
        raw = result.newer
        doc, how = result.doc, "as far as this version understands it"
        if doc is None:
            doc, preset = self._nearest_preset(raw, key)
            how = f"as the nearest preset “{preset}”"
            if isinstance(raw.get("name"), str) and raw["name"].strip():
                doc["name"] = raw["name"]
                doc.pop("name_en", None)  # the preset's English name is not this one's
        why = f"{result.problem}. Opened read-only, {how}; a save goes to a new name"
        log.warning("layout: %s", why)
        self._read_only[(key, src)] = why
        return Loaded(doc, key, src, read_only=why)

    def _nearest_preset(self, raw: dict[str, Any], key: str) -> tuple[dict[str, Any], str]:
        """The preset of the same key, else the first of the same role, else the default
        one, else the built-in layout; (document, its key)."""
        role = raw.get("role")
        same_role = [
            e.key
            for e in self.presets()
            if not e.problem and role and self._role_of(e.path) == role
        ]
        for candidate in (key, *same_role, DEFAULT_PRESET):
            if self.preset_path(candidate).exists():
                try:
                    return self.load(candidate, PRESET).doc, candidate
                except LayoutError:
                    continue
        return builtin_layout(), "builtin"

    @staticmethod
    def _role_of(path: Path) -> str:
        try:
            return str(json.loads(path.read_text(encoding="utf-8")).get("role", ""))
        except (OSError, ValueError, AttributeError):
            return ""

    def read_only_reason(self, key: str, source: str) -> str:
        """Why the layout (key, source) last loaded must not be saved over ("" when it may
        be): a newer version wrote it and the file is still that version's."""
        why = self._read_only.get((key, source), "")
        if why and source == USER and not schema.is_newer(self.user_path(key)):
            self._read_only.pop((key, source), None)  # replaced by hand meanwhile
            return ""
        return why

    def free_name(self, name: str) -> str:
        """``name``, or ``name 2``, ``name 3`` ... whichever has no user layout yet."""
        candidate, n = name, 1
        while self.user_path(key_for(candidate)).exists():
            n += 1
            candidate = f"{name} {n}"
        return candidate

    def _refuse_newer(self, key: str, doing: str) -> None:
        path = self.user_path(key)
        if path.exists() and schema.is_newer(path):
            raise NewerLayoutError(
                f"{path.name} was written by a newer version of the program: it is not "
                f"{doing} here (left as it is for that version); save under a new name"
            )

    def _resolve(self, ref: str, source: str | None) -> tuple[Path, str, str]:
        as_path = Path(ref)
        if source is None and (ref.endswith(".json") or "/" in ref or as_path.is_file()):
            if not as_path.exists():
                raise LayoutError(f"{ref} does not exist")
            if as_path.resolve().parent == self.user_dir.resolve():
                return as_path, USER, as_path.stem
            return as_path, FILE, as_path.stem
        if source in (None, USER) and self.user_path(ref).exists():
            return self.user_path(ref), USER, ref
        if source in (None, PRESET) and self.preset_path(ref).exists():
            return self.preset_path(ref), PRESET, ref
        raise LayoutError(f"there is no layout {ref!r}")

    def startup(self, requested: str | None = None, default: str = DEFAULT_PRESET) -> Loaded:
        """The layout to open at start: ``requested`` (CLI), else the current one, else
        ``default``; whatever fails is reported in ``problems`` and the next is tried.
        Never raises: the built-in layout is the end of the chain."""
        problems: list[str] = []
        backups: list[Path] = []
        if self.user_dir.is_dir():  # folders and files an older version made 0755 / 0644
            private_dir(self.user_dir)
            for f in self.user_dir.glob("*.json"):
                private_file(f)

        def attempt(ref: str, source: str | None = None) -> Loaded | None:
            try:
                got = self.load(ref, source)
            except LayoutError as err:
                problems.append(str(err))
                if getattr(err, "backup", None):
                    backups.append(err.backup)  # type: ignore[attr-defined]
                    problems[-1] += f" (kept as {err.backup})"  # type: ignore[attr-defined]
                return None
            return got

        got: Loaded | None = None
        if requested:
            got = attempt(requested)
        current = self.read_current()
        if got is None and current is not None:
            key, source, snapshot = current
            if not requested or problems:
                got = attempt(key, source if source in (USER, PRESET) else None)
                if got is None and snapshot is not None:
                    got = Loaded(snapshot, key, source)
                    problems.append(f"using the last good copy of “{snapshot['name']}”")
        if got is None:
            got = attempt(default, PRESET)
        if got is None:
            got = Loaded(builtin_layout(), "builtin", BUILTIN)
        got.problems = problems + got.problems
        got.backups = backups
        for p in problems:
            log.error("layout: %s", p)
        return got

    # ---- current ---------------------------------------------------------------------

    def read_current(self) -> tuple[str, str, dict[str, Any] | None] | None:
        """(key, source, validated snapshot or None) of the last good layout."""
        path = self.user_dir / CURRENT_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
            return None
        snapshot = None
        if isinstance(raw.get("snapshot"), dict):
            try:
                snapshot, _ = schema.migrate(raw["snapshot"])
                schema.validate(snapshot)
            except LayoutError:
                snapshot = None
        return raw["key"], str(raw.get("source", USER)), snapshot

    def set_current(self, key: str, source: str, doc: dict[str, Any]) -> None:
        """Remember the layout shown as the last good one (with a copy of it)."""
        text = json.dumps(
            {"key": key, "source": source, "snapshot": doc}, ensure_ascii=False, indent=2
        )
        write_private(self.user_dir / CURRENT_FILE, text + "\n")

    # ---- writing ---------------------------------------------------------------------

    def save(self, doc: dict[str, Any], key: str | None = None) -> str:
        """Write ``doc`` as a user layout (under ``key``, else a key from its name);
        returns the key. Validates first: an invalid layout never reaches the disk."""
        key = key or key_for(doc["name"])
        self._refuse_newer(key, "written over")
        schema.save_layout_file(self.user_path(key), doc)
        return key

    def save_as(self, doc: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
        """A copy of ``doc`` named ``name``, saved; returns (key, the new document)."""
        new = copy.deepcopy(doc)
        new["name"] = name.strip()
        new.pop("name_en", None)  # named anew, in the operator's words
        key = key_for(name)
        self.save(new, key)
        return key, new

    def rename(self, key: str, name: str) -> str:
        """Rename a user layout (its file follows its name); returns the new key."""
        self._refuse_newer(key, "renamed")
        old = self.user_path(key)
        doc = self.load(key, USER).doc
        doc["name"] = name.strip()
        doc.pop("name_en", None)
        new_key = key_for(name)
        if new_key != key and self.user_path(new_key).exists():
            raise LayoutError(f"a layout named {name!r} exists already")
        self.save(doc, new_key)
        if new_key != key:
            old.unlink(missing_ok=True)
        current = self.read_current()
        if current is not None and current[0] == key:
            self.set_current(new_key, USER, doc)
        return new_key

    def delete(self, key: str) -> None:
        """Delete a user layout (presets are shipped and cannot be deleted)."""
        path = self.user_path(key)
        if not path.exists():
            raise LayoutError(f"there is no user layout {key!r} (presets cannot be deleted)")
        self._refuse_newer(key, "deleted")
        path.unlink()

    def export(self, doc: dict[str, Any], path: Path) -> None:
        """Write ``doc`` to any file (another hall, a backup)."""
        schema.save_layout_file(Path(path), doc)

    def import_file(self, path: Path) -> tuple[str, dict[str, Any]]:
        """Validate and migrate a layout file, then save it as a user layout; returns
        (key, doc). Raises LayoutError with the reason and writes nothing otherwise."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise LayoutError(f"{path.name}: {err}") from err
        try:
            doc, steps = schema.parse(text)
        except LayoutError as err:
            raise LayoutError(f"{path.name}: {err}") from err
        if steps:
            log.info("imported layout %s migrated: %s", path.name, ", ".join(steps))
        key = self.save(doc)
        return key, doc
