"""Where settings, secrets and logs live, and how the feed token is read safely.

Locations follow the XDG base directories so that an operator finds them where Linux
tools put theirs, and ``CC_CONFIG_DIR`` / ``CC_STATE_DIR`` move them (tests, kiosks):

    settings  $CC_CONFIG_DIR or $XDG_CONFIG_HOME/commandcenter or ~/.config/commandcenter
              settings.json, token (the feed token, mode 0600)
    logs      $CC_STATE_DIR or $XDG_STATE_HOME/commandcenter or ~/.local/state/commandcenter
              logs/commandcenter.log (rotated)

The token is a secret: it comes from ``CC_FEED_TOKEN`` or from a token file that only
its owner can read. A file others can read is refused with the exact chmod to run,
rather than used and leaked. ``TokenRedactor`` keeps it out of every log line.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOKEN_ENV = "CC_FEED_TOKEN"


class SettingsError(ValueError):
    """A setting the app cannot start with; the message says how to fix it."""


def config_dir() -> Path:
    if d := os.environ.get("CC_CONFIG_DIR"):
        return Path(d)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "commandcenter"


def state_dir() -> Path:
    if d := os.environ.get("CC_STATE_DIR"):
        return Path(d)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "commandcenter"


def log_path() -> Path:
    return state_dir() / "logs" / "commandcenter.log"


@dataclass(slots=True)
class Settings:
    feed_url: str = ""  # empty: start the embedded demo county
    token_file: str = ""  # empty: <config_dir>/token when it exists
    ca_file: str = ""  # empty: the system trust store
    language: str = "zh_CN"
    timezone: str = "Asia/Shanghai"  # the hall's clock; the feed speaks UTC epoch seconds
    theme: str = "dark"
    sla: dict[str, Any] = field(default_factory=dict)  # see commandcenter.sla.SlaPolicy.from_dict
    # Reporters' personal data in the journal: "auto" masks it on leader and viewer screens
    # (commandcenter.privacy.journal_mask), "on" always, "off" never.
    mask_journal: str = "auto"
    # Live sources (docs/sources.md, "Live sources"): [{"name": ..., "kind": ..., option: value}].
    # Empty: --feed / --mqtt / --source, else the embedded demo county.
    sources: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read settings.json; a missing file gives defaults, a broken one an error that
        names the file and the problem (the app shows it and starts on defaults)."""
        path = path or config_dir() / "settings.json"
        if not path.exists():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SettingsError(f"{path}: cannot read settings: {err}; {_keep_aside(path)}") from err
        except OSError as err:
            raise SettingsError(f"{path}: cannot read settings: {err}") from err
        if not isinstance(raw, dict):
            raise SettingsError(f"{path}: settings must be a JSON object; {_keep_aside(path)}")
        if "token" in raw:
            raise SettingsError(
                f"{path}: do not put the feed token in settings.json; use {TOKEN_ENV} or a token file (mode 600)"
            )
        sources = raw.get("sources", [])
        if not isinstance(sources, list) or not all(isinstance(x, dict) for x in sources):
            raise SettingsError(f"{path}: sources must be a list of objects")
        for i, item in enumerate(sources):
            inline = sorted(k for k in item if k in ("token", "password", "api_key", "secret"))
            if inline:
                raise SettingsError(
                    f"{path}: sources[{i}] holds {inline[0]!r} inline; put it in a file only "
                    f"you can read (chmod 600) and name it with {inline[0]}_file"
                )
        known = {k: raw[k] for k in cls.__slots__ if k in raw}  # type: ignore[attr-defined]
        return cls(**known)


def read_token(token_file: str | Path | None = None) -> str | None:
    """The feed token from the environment or an owner-only file; None when neither is set.

    Raises SettingsError when the file exists but is readable by others or empty.
    """
    if env := os.environ.get(TOKEN_ENV):
        return env.strip()
    path = Path(token_file) if token_file else config_dir() / "token"
    if not path.exists() and not token_file:
        return None
    return read_secret_file(path, "token file")


def read_secret_file(path: str | Path, what: str = "secret file") -> str:
    """A secret (a token, a password, an API key) from a file only its owner can read.

    Raises SettingsError when the file is missing, readable by others or empty."""
    path = Path(path)
    if not path.exists():
        raise SettingsError(f"{what} {path} does not exist")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SettingsError(
            f"{what} {path} is readable by others (mode {stat.filemode(mode)}); run: chmod 600 {path}"
        )
    secret = path.read_text(encoding="utf-8").strip()
    if not secret:
        raise SettingsError(f"{what} {path} is empty")
    return secret


class TokenRedactor(logging.Filter):
    """Replaces secrets in every log record, whatever library wrote it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4 and secret not in self.secrets:
            self.secrets.append(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        msg = record.getMessage()
        if any(s in msg for s in self.secrets):
            for s in self.secrets:
                msg = msg.replace(s, "<redacted>")
            record.msg = msg
            record.args = None
        return True


def _keep_aside(path: Path) -> str:
    """A settings file the app cannot read would be overwritten by the next save (a language
    switch, a shortcut): move it aside first so the operator's edits are not lost."""
    from commandcenter.state_files import set_aside

    try:
        return f"kept as {set_aside(path)}, using defaults"
    except OSError as err:
        return f"could not keep a copy ({err}), using defaults"
