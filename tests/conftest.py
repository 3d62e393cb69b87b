"""Fixtures shared by all tests. Append new shared fixtures below."""

import os
import tempfile
from pathlib import Path

import pytest

# Tests never need a real display; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Caches (tiles, the demo's warmed-up history) of the apps tests start go to a scratch
# directory, never the user's ~/.cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="cc-test-cache-")

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's top folder (holds pyproject.toml)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_external(repo_root: Path) -> Path:
    """Real-world sample data next to the checkout: ../shared/data/external."""
    path = repo_root.parent / "shared" / "data" / "external"
    if not path.is_dir():
        pytest.skip("../shared/data/external not present")
    return path
