"""Live sources as plug-ins: one interface, a registry by kind, configuration as data.

A live source is anything that, once started, keeps a sink (``feeds.client.FeedSink``; in
the app a per-source sink of ``commandcenter.sources.SourceMux``) in step with some other
system and says how it is doing in a ``FeedStatus`` of its own, until stopped:

    source = build(spec, sink, status)
    source.start()          # on the running asyncio loop; never raises later
    ...
    await source.stop()

Every kind is registered here, in ``_KINDS``, and nowhere else; ``main.py`` builds what
the settings and the command line name and knows no transport. The kinds (their options
are in ``docs/sources.md``):

| kind | what | module |
| --- | --- | --- |
| ``v1`` | our feed protocol over HTTP/SSE | ``feeds.sources.live.v1`` (``feeds.client.FeedClient``) |
| ``mqtt`` | feed protocol v1 through an MQTT broker | ``feeds.sources.live.mqtt`` (``feeds.transports.mqtt``) |
| ``open311`` | GeoReport v2 polling with ``updated_after``, JSON or XML | ``feeds.sources.live.open311`` |
| ``cot`` | Cursor-on-Target over TCP, UDP or from a file | ``feeds.sources.live.cot`` |
| ``file`` | CSV/XLSX/XLS/JSON/NDJSON exports by a profile; a watched folder | ``feeds.sources.live.files`` |

Configuration is a ``SourceSpec``: a name, a kind and string options, from settings.json
(``"sources": [{"name": ..., "kind": ..., ...}]``) or the command line
(``--source KIND:key=value,key=value``). Secrets come from files only (``token_file``,
``password_file``, ``api_key_file``): a spec with an inline secret is refused.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from commandcenter.status import FeedStatus
from feeds.client import FeedSink

# Options no source takes inline: they are secrets, and must come from a file.
SECRET_OPTIONS = frozenset({"token", "password", "api_key", "secret"})
# Options every kind takes: how the mux names its ids.
COMMON_OPTIONS = {"name": "the source's name (default: its kind)",
                  "prefix": "id prefix in the store (default: none for the first source, NAME: after)"}  # fmt: skip


class SourceError(ValueError):
    """A source the app cannot build: the message names the source and the fix."""


class LiveSource(Protocol):
    """What main.py holds of every source."""

    status: FeedStatus

    def start(self) -> Any: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SourceSpec:
    name: str
    kind: str
    options: Mapping[str, str] = field(default_factory=dict)
    # A secret handed over in memory by the composition root (the embedded demo county's
    # token); never read from settings or the command line.
    secret: str = field(default="", repr=False)

    def get(self, key: str, default: str = "") -> str:
        return str(self.options.get(key, default))

    def flag(self, key: str, default: bool = False) -> bool:
        raw = self.options.get(key)
        if raw is None:
            return default
        value = str(raw).strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise SourceError(f"source {self.name!r}: {key}={raw!r} is not a yes/no value")

    def number(self, key: str, default: float) -> float:
        raw = self.options.get(key)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SourceError(f"source {self.name!r}: {key}={raw!r} is not a number") from None
        if not value >= 0:
            raise SourceError(f"source {self.name!r}: {key}={raw!r} must not be negative")
        return value

    def host_port(self, key: str, default: str = "") -> tuple[str, int]:
        """HOST:PORT (``[::1]:1883`` for IPv6)."""
        raw = self.get(key, default)
        host, _, port = raw.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise SourceError(f"source {self.name!r}: {key} wants HOST:PORT, got {raw!r}")
        return host.strip("[]"), int(port)


Builder = Callable[[SourceSpec, FeedSink, FeedStatus], LiveSource]


@dataclass(frozen=True, slots=True)
class SourceKind:
    """One registered kind: how to build it and what it accepts."""

    name: str
    summary: str
    build: Builder
    options: Mapping[str, str]  # key -> one line of help
    required: tuple[str, ...] = ()
    heartbeat: bool = False  # proves it is alive on a rhythm: its silence is staleness
    where: Callable[[SourceSpec], str] = lambda spec: ""  # shown in the status panel


# The one place a kind is added: name -> module (imported when first used, so a console
# without MQTT never loads aiomqtt and --help stays instant).
_KINDS = {
    "v1": "feeds.sources.live.v1",
    "mqtt": "feeds.sources.live.mqtt",
    "open311": "feeds.sources.live.open311",
    "cot": "feeds.sources.live.cot",
    "file": "feeds.sources.live.files",
}


def kinds() -> list[str]:
    return list(_KINDS)


def kind(name: str) -> SourceKind:
    module = _KINDS.get(name)
    if module is None:
        raise SourceError(f"unknown source kind {name!r}; known: {', '.join(_KINDS)}")
    found: SourceKind = importlib.import_module(module).KIND
    return found


def check(spec: SourceSpec) -> SourceKind:
    """The spec's kind, after checking its options; raises SourceError naming the fix."""
    k = kind(spec.kind)
    for key in spec.options:
        if key in SECRET_OPTIONS:
            files = [o for o in k.options if o.endswith("_file") and o != "ca_file"]
            fix = f"give {' or '.join(f'{o}=' for o in files)}" if files else "this kind takes none"
            raise SourceError(
                f"source {spec.name!r}: {key} must not be written inline; put it in a file "
                f"only you can read (chmod 600) and {fix}"
            )
        if key not in k.options and key not in COMMON_OPTIONS:
            allowed = ", ".join(sorted({*k.options, *COMMON_OPTIONS}))
            raise SourceError(
                f"source {spec.name!r} ({spec.kind}): unknown option {key!r}; known: {allowed}"
            )
    for key in k.required:
        if not spec.get(key):
            raise SourceError(f"source {spec.name!r} ({spec.kind}) needs {key}=")
    return k


def build(spec: SourceSpec, sink: FeedSink, status: FeedStatus) -> LiveSource:
    """A started-later source of ``spec.kind`` into ``sink``, reporting into ``status``."""
    return check(spec).build(spec, sink, status)


def parse_arg(text: str) -> SourceSpec:
    """``KIND:key=value,key=value`` (the ``--source`` syntax) -> a spec.

    Values cannot hold a comma (use settings.json for such a value). ``name=`` names the
    source; without it the source is named after its kind.
    """
    kind_name, _, rest = text.partition(":")
    kind_name = kind_name.strip()
    if not kind_name:
        raise SourceError(f"--source {text!r}: wants KIND:key=value,...")
    options: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise SourceError(f"--source {text!r}: {part!r} is not key=value")
        options[key.strip()] = value.strip()
    name = options.pop("name", "") or kind_name
    return SourceSpec(name=name, kind=kind_name, options=options)


def from_settings(items: Any, where: str = "settings") -> list[SourceSpec]:
    """settings.json ``sources``: a list of objects with ``kind`` (and ``name``)."""
    if not isinstance(items, list):
        raise SourceError(f"{where}: sources must be a list of objects")
    specs: list[SourceSpec] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
            raise SourceError(f'{where}: sources[{i}] must be an object with a "kind"')
        options = {str(k): _text(v) for k, v in item.items() if k not in ("kind", "name")}
        name = str(item.get("name") or item["kind"])
        specs.append(SourceSpec(name=name, kind=item["kind"], options=options))
    return specs


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def unique_names(specs: list[SourceSpec]) -> list[SourceSpec]:
    """Two unnamed sources of one kind get ``kind``, ``kind-2``...: names must differ."""
    seen: dict[str, int] = {}
    out: list[SourceSpec] = []
    for spec in specs:
        n = seen.get(spec.name, 0) + 1
        seen[spec.name] = n
        name = spec.name if n == 1 else f"{spec.name}-{n}"
        out.append(SourceSpec(name, spec.kind, spec.options, spec.secret) if n > 1 else spec)
    return out


def read_secret(spec: SourceSpec, key: str) -> str | None:
    """A secret from the file named by option ``key`` (owner-only, mode 600)."""
    from commandcenter.settings import SettingsError, read_secret_file

    path = spec.get(key)
    if not path:
        return None
    try:
        return read_secret_file(path)
    except SettingsError as err:
        raise SourceError(f"source {spec.name!r}: {err}") from None
