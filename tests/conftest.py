"""Fixtures shared by all tests. Append new shared fixtures below."""

import os
import tempfile
from pathlib import Path

import pytest

from commandcenter import collector

# Tests never need a real display; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Caches (tiles, the demo's warmed-up history) of the apps tests start go to a scratch
# directory, never the user's ~/.cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="cc-test-cache-")

REPO_ROOT = Path(__file__).resolve().parent.parent

# The cycle collector runs on this (the GUI) thread only, between tests, as the app runs
# it from a timer: collected on a server's or a worker's thread, a cycle holding a Qt
# object crashed a test run (commandcenter/collector.py).
collector.take_over()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    collector.collect_due()


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


@pytest.fixture
def demo_county_store():
    """The populated demo county (eight simulated hours), simulated once per run; every test
    gets its own Store, so what one test changes no other test sees."""
    from tests.demo_county import demo_store

    return demo_store()


@pytest.fixture
def sla_table_store():
    """The SLA case table of tests/test_sla_oracle.py in a Store whose clock stands still at
    the table's instant: panels are compared with the counts written in that table."""
    from commandcenter.store import ChangeSet, Store
    from tests.test_sla_oracle import CASES, NOW

    store = Store()
    store.set_clock(NOW, rate=0.0)
    for c in CASES:
        store._put_case(c, None, ChangeSet())
    return store
