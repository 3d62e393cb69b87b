"""Panels declare the shared engines they require (Panel.REQUIRES) and never build one.

Walks the registry: no panel module constructs a metric, ranking or alarm engine; every
panel that reads one from its context declares it; a context without a required engine
gets a placeholder naming what is missing (not a crash, not a panel quietly building its
own); ``hall_context`` builds each engine once and every panel of it shares them.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from commandcenter.status import FeedStatus
from commandcenter.store import Store
from widgets import i18n, registry
from widgets.base import MissingRequirement, Need, Panel, PanelContext, hall_context
from widgets.live import LiveBridge

ENGINE_BUILDS = re.compile(r"\b(RankingEngine|AlarmEngine|MetricEngine)\s*\(|\.following\s*\(")
READS = {
    Need.METRICS: re.compile(r"\bctx\.metrics\b"),
    Need.RANKING: re.compile(r"\bctx\.ranking\b"),
    Need.ALARMS: re.compile(r"\bctx\.alarms\b"),
}
# Panels known to read an engine they do not declare; each entry must still be needed (the
# test below fails once the panel declares it, so the entry cannot outlive the gap).
UNDECLARED: dict[str, set[Need]] = {}


def panel_classes() -> list[type[Panel]]:
    classes = [registry.panel_class(n) for n in registry.names()]
    return [c for c in classes if c is not None]


def source_of(cls: type[Panel]) -> str:
    return inspect.getsource(sys.modules[cls.__module__])


def test_no_panel_builds_an_engine() -> None:
    for cls in panel_classes():
        found = ENGINE_BUILDS.findall(source_of(cls))
        assert not found, f"{cls.name} ({cls.__module__}) builds an engine: {found}"


def test_every_engine_a_panel_reads_is_declared() -> None:
    assert any(c.REQUIRES for c in panel_classes())
    for cls in panel_classes():
        src = source_of(cls)
        read = {need for need, pattern in READS.items() if pattern.search(src)}
        declared = set(cls.REQUIRES)
        gap = UNDECLARED.get(cls.name, set())
        assert read - declared == gap, f"{cls.name} reads {read}, declares {declared}"


@pytest.fixture
def parts(qapp: Any) -> Iterator[tuple[Store, FeedStatus, LiveBridge]]:
    store, status = Store(), FeedStatus()
    bridge = LiveBridge(store, status)
    yield store, status, bridge
    bridge.close()
    bridge.deleteLater()


@pytest.mark.parametrize("language", [i18n.ENGLISH, i18n.CHINESE])
def test_a_panel_whose_engine_is_missing_says_so(parts, qapp, qtbot, language: str) -> None:
    i18n.set_language(qapp, language)
    try:
        bare = PanelContext(*parts)
        assert bare.metrics is None and bare.ranking is None and bare.alarms is None
        needing = [c for c in panel_classes() if c.REQUIRES]
        for cls in needing:
            p = registry.create(cls.name, bare)
            qtbot.addWidget(p)
            assert isinstance(p, registry.PlaceholderPanel), cls.name
            assert p.needs == cls.REQUIRES and p.missing == cls.name
            text = p.message.text()
            assert cls.name in text
            for need in cls.REQUIRES:
                assert need.label() in text, (cls.name, text)
            p.teardown()
            with pytest.raises(MissingRequirement) as err:
                cls(bare)  # built directly: a clear error before any widget exists
            assert err.value.missing == cls.REQUIRES
    finally:
        i18n.set_language(qapp, i18n.CHINESE)


def test_an_engine_over_another_store_is_missing_too(parts, qapp, qtbot) -> None:
    store, status, bridge = parts
    other = hall_context(Store(), status, bridge)
    ctx = PanelContext(store, status, bridge, metrics=other.metrics, ranking=other.ranking)
    assert ctx.missing((Need.METRICS, Need.RANKING, Need.ALARMS)) == (
        Need.METRICS,
        Need.RANKING,
        Need.ALARMS,
    )
    p = registry.create("ranking", ctx)
    qtbot.addWidget(p)
    assert isinstance(p, registry.PlaceholderPanel) and p.needs == (Need.RANKING,)
    p.teardown()
    other.ranking.close()


def test_every_panel_of_a_hall_context_shares_its_engines(parts, qapp, qtbot) -> None:
    ctx = hall_context(*parts)
    engines = (ctx.metrics, ctx.ranking, ctx.alarms)
    assert all(e is not None and e.store is ctx.store for e in engines)
    built = []
    for cls in panel_classes():
        if not cls.REQUIRES:
            continue
        for _ in range(2):  # two of a kind read one engine, not one each
            p = registry.create(cls.name, ctx)
            qtbot.addWidget(p)
            assert type(p) is cls, (cls.name, getattr(p, "error", ""))
            built.append(p)
    assert (ctx.metrics, ctx.ranking, ctx.alarms) == engines
    ranking = [p for p in built if p.name == "ranking"]
    assert len(ranking) == 2 and all(p.engine is ctx.ranking for p in ranking)
    for p in built:
        p.teardown()
    ctx.ranking.close()
