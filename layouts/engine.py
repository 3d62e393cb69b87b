"""Schema dock trees <-> live PySide6-QtAds docking, in both directions.

Why our own tree instead of ``CDockManager.saveState()``: QtAds' state is an opaque XML
blob keyed by dock widget names and tied to one manager; an operator's layout must say
*which panel type with which settings* goes where, survive upgrades (schema migrations)
and move between screens. So the layout stays the plain tree of ``layouts/schema.py``
and this module translates it:

- ``build_dock`` places panels breadth first: one representative area per child of a
  split (chained left-to-right or top-to-bottom next to each other, which QtAds puts in
  one splitter), then each child is expanded in place (QtAds wraps an area in a new
  splitter of the other orientation), then the other panels of every area become tabs.
- ``capture_dock`` walks the container's splitters in visual order (``QSplitter.widget``,
  not ``children()``, whose order is creation order), reading areas as panel ids (the
  dock widget's objectName), the current tab and the splitter sizes.
- ``apply_sizes`` sets the proportions of a built tree; call it again once the window has
  its final size, because QtAds re-divides splitters while areas are being inserted.

QtAds cannot express a split with one child, an empty area, or a split nested in a split
of the same orientation (it merges them); ``normalise`` maps any tree to the form QtAds
gives back, so that restore -> capture is a fixed point.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import PySide6QtAds as ads
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QSplitter, QWidget

Node = dict[str, Any]
SIZE_SCALE = 10_000  # proportions become integers of this total when handed to QSplitter

_EDGE = {
    # split orientation -> (QtAds area to add the next sibling at, Qt orientation name)
    "horizontal": ads.RightDockWidgetArea,
    "vertical": ads.BottomDockWidgetArea,
}


# ---- tree algebra (pure data) --------------------------------------------------------


def normalise(node: Node) -> Node | None:
    """The tree QtAds would give back for ``node``: empty areas dropped, one-child splits
    collapsed, same-orientation nesting flattened (sizes multiplied out), sizes as
    proportions. None when nothing is left."""
    if "area" in node:
        ids = [p for p in node["area"] if isinstance(p, str)]
        if not ids:
            return None
        out: Node = {"area": ids}
        cur = node.get("current")
        out["current"] = cur if cur in ids else ids[0]
        return out
    orient = node.get("split")
    children = node.get("children") or []
    sizes = node.get("sizes") or [1.0] * len(children)
    total = float(sum(sizes)) or 1.0
    kids: list[Node] = []
    weights: list[float] = []
    for child, size in zip(children, sizes, strict=False):
        n = normalise(child)
        if n is None:
            continue
        w = float(size) / total
        if n.get("split") == orient:  # QtAds merges a same-orientation split into its parent
            for grand, gw in zip(n["children"], n["sizes"], strict=True):
                kids.append(grand)
                weights.append(w * gw)
        else:
            kids.append(n)
            weights.append(w)
    if not kids:
        return None
    if len(kids) == 1:
        return kids[0]
    wt = sum(weights) or 1.0
    return {"split": orient, "sizes": [w / wt for w in weights], "children": kids}


def same_tree(a: Node | None, b: Node | None, tolerance: float = 0.03) -> bool:
    """Equal docking trees: same structure, panels, current tabs, and sizes equal as
    proportions within ``tolerance`` (widget sizes are integral and have minimums)."""
    return tree_difference(a, b, tolerance) is None


def tree_difference(a: Node | None, b: Node | None, tolerance: float = 0.03) -> str | None:
    """Where two trees differ (after ``normalise``), or None; for test failure messages."""
    na = normalise(a) if a else None
    nb = normalise(b) if b else None
    return _diff(na, nb, tolerance, "root")


def _diff(a: Node | None, b: Node | None, tol: float, where: str) -> str | None:
    if a is None or b is None:
        return None if a is b else f"{where}: {a!r} vs {b!r}"
    if ("area" in a) != ("area" in b):
        return f"{where}: area vs split"
    if "area" in a:
        if a["area"] != b["area"] or a.get("current") != b.get("current"):
            return f"{where}: {a} vs {b}"
        return None
    if a["split"] != b["split"] or len(a["children"]) != len(b["children"]):
        return f"{where}: {a['split']}/{len(a['children'])} vs {b['split']}/{len(b['children'])}"
    for i, (x, y) in enumerate(zip(a["sizes"], b["sizes"], strict=True)):
        if abs(x - y) > tol:
            return f"{where}.sizes[{i}]: {a['sizes']} vs {b['sizes']}"
    for i, (x, y) in enumerate(zip(a["children"], b["children"], strict=True)):
        d = _diff(x, y, tol, f"{where}.children[{i}]")
        if d:
            return d
    return None


def _first_panel(node: Node) -> str:
    if "area" in node:
        return node["area"][0]
    return _first_panel(node["children"][0])


# ---- build ---------------------------------------------------------------------------

DockFactory = Callable[[str], ads.CDockWidget]


def build_dock(
    manager: ads.CDockManager,
    node: Node | None,
    make_dock: DockFactory,
    *,
    floating: list[dict[str, Any]] | None = None,
    origin: tuple[int, int] = (0, 0),
) -> list[ads.CDockWidget]:
    """Place the panels of ``node`` (and the floating entries) into ``manager``.

    ``make_dock(panel_id)`` returns a new CDockWidget whose objectName is the panel id.
    Floating geometries are relative to ``origin`` (the top-left of the layout's screen).
    Returns every dock widget created, in placement order.
    """
    created: list[ads.CDockWidget] = []
    tree = normalise(node) if node else None
    if tree is not None:
        _place_tree(manager, None, tree, None, make_dock, created)
        apply_sizes(manager, tree)
    for entry in floating or []:
        sub = normalise(entry.get("dock") or {"area": [entry["panel"]]})
        if sub is None:
            continue
        first = make_dock(_first_panel(sub))
        created.append(first)
        fc = manager.addDockWidgetFloating(first)
        container = first.dockContainer()
        _place_tree(manager, container, sub, first.dockAreaWidget(), make_dock, created)
        geo = entry.get("geometry")
        if isinstance(geo, list) and len(geo) == 4:
            x, y, w, h = (int(v) for v in geo)
            fc.setGeometry(QRect(origin[0] + x, origin[1] + y, w, h))
        _apply_sizes_at(_root_splitter(container), sub)
    return created


def _place_tree(
    manager: ads.CDockManager,
    container: ads.CDockContainerWidget | None,
    tree: Node,
    seed_area: ads.CDockAreaWidget | None,
    make_dock: DockFactory,
    created: list[ads.CDockWidget],
) -> None:
    """Breadth first: representatives, then expand each child in place, then tabs.

    ``seed_area`` already holds the first panel of ``tree`` (floating containers start
    from one placed dock); None means place it into the (empty) manager.
    """
    if seed_area is None:
        dock = make_dock(_first_panel(tree))
        created.append(dock)
        seed_area = manager.addDockWidget(ads.CenterDockWidgetArea, dock)
    _expand(manager, tree, seed_area, make_dock, created)


def _expand(
    manager: ads.CDockManager,
    node: Node,
    area: ads.CDockAreaWidget,
    make_dock: DockFactory,
    created: list[ads.CDockWidget],
) -> None:
    if "area" in node:
        for pid in node["area"][1:]:
            dock = make_dock(pid)
            created.append(dock)
            manager.addDockWidget(ads.CenterDockWidgetArea, dock, area)
        current = node.get("current")
        for dock in area.dockWidgets():
            if dock.objectName() == current:
                area.setCurrentDockWidget(dock)
        return
    edge = _EDGE[node["split"]]
    reps = [area]
    for child in node["children"][1:]:
        dock = make_dock(_first_panel(child))
        created.append(dock)
        reps.append(manager.addDockWidget(edge, dock, reps[-1]))
    for child, rep in zip(node["children"], reps, strict=True):
        _expand(manager, child, rep, make_dock, created)


# ---- sizes ---------------------------------------------------------------------------


def _root_splitter(container: ads.CDockContainerWidget) -> QSplitter | None:
    """The container's top splitter. ``rootSplitter()`` is protected in C++ and not every
    binding exposes it, so fall back to the first direct QSplitter child."""
    getter = getattr(container, "rootSplitter", None)
    if getter is not None:
        try:
            found = getter()
            if isinstance(found, QSplitter):
                return found
        except (RuntimeError, TypeError):
            pass
    for child in container.children():
        if isinstance(child, QSplitter):
            return child
    return None


def _visible_items(splitter: QSplitter) -> list[QWidget]:
    """The splitter's children in visual order that hold at least one open panel."""
    out: list[QWidget] = []
    for i in range(splitter.count()):
        w = splitter.widget(i)
        if isinstance(w, ads.CDockAreaWidget):
            if w.openedDockWidgets():
                out.append(w)
        elif isinstance(w, QSplitter) and _has_open(w):
            out.append(w)
    return out


def _has_open(splitter: QSplitter) -> bool:
    return bool(_visible_items(splitter))


def apply_sizes(manager: ads.CDockManager, node: Node | None) -> None:
    """Set every splitter of the manager's own container to the proportions in ``node``."""
    tree = normalise(node) if node else None
    if tree is not None:
        _apply_sizes_at(_root_splitter(manager), tree)


def _apply_sizes_at(splitter: QSplitter | None, node: Node) -> None:
    if splitter is None:
        return
    items = _visible_items(splitter)
    # A root splitter holding one nested splitter (QtAds keeps the root when the first
    # split is perpendicular to it): descend.
    if len(items) == 1 and isinstance(items[0], QSplitter):
        _apply_sizes_at(items[0], node)
        return
    if "area" in node or len(items) != len(node["children"]):
        return
    props = node.get("sizes") or [1.0] * len(items)
    total = sum(props) or 1.0
    # Pixel sizes for the visible items; hidden items keep 0. QSplitter redistributes by
    # these weights when its own size changes.
    full = splitter.sizes()
    extent = sum(full) or SIZE_SCALE
    weights = iter(props)
    new = []
    for i in range(splitter.count()):
        w = splitter.widget(i)
        if w in items:
            new.append(max(1, round(extent * next(weights) / total)))
        else:
            new.append(0)
    splitter.setSizes(new)
    for child, item in zip(node["children"], items, strict=True):
        if isinstance(item, QSplitter):
            _apply_sizes_at(item, child)


# ---- capture -------------------------------------------------------------------------


def capture_dock(container: ads.CDockContainerWidget) -> Node | None:
    """The container's docking tree (areas by panel id, current tab, splitter sizes as
    proportions), or None when it holds no open panel."""
    splitter = _root_splitter(container)
    if splitter is None:
        return None
    node = _capture_splitter(splitter)
    return normalise(node) if node else None


def _capture_splitter(splitter: QSplitter) -> Node | None:
    items = _visible_items(splitter)
    children: list[Node] = []
    sizes: list[float] = []
    all_sizes = splitter.sizes()
    for item in items:
        node = (
            _capture_splitter(item) if isinstance(item, QSplitter) else _capture_area(item)  # type: ignore[arg-type]
        )
        if node is None:
            continue
        children.append(node)
        sizes.append(float(max(all_sizes[splitter.indexOf(item)], 1)))
    if not children:
        return None
    if len(children) == 1:
        return children[0]
    orient = "horizontal" if splitter.orientation() == Qt.Orientation.Horizontal else "vertical"
    return {"split": orient, "sizes": sizes, "children": children}


def _capture_area(area: ads.CDockAreaWidget) -> Node | None:
    ids = [d.objectName() for d in area.openedDockWidgets()]
    if not ids:
        return None
    cur = area.currentDockWidget()
    return {"area": ids, "current": cur.objectName() if cur is not None else ids[0]}


def capture_floating(manager: ads.CDockManager) -> list[tuple[QRect, Node]]:
    """Every floating container with an open panel: its global geometry and its docking tree."""
    out: list[tuple[QRect, Node]] = []
    for fc in manager.floatingWidgets():
        # Hidden is not closed: a floating window is hidden with its (hidden) screen
        # window; closed panels are gone from the tree anyway.
        tree = capture_dock(fc.dockContainer())
        if tree is not None:
            out.append((fc.geometry(), tree))
    return out


def floating_entry(tree: Node, geometry: QRect, origin: tuple[int, int]) -> dict[str, Any]:
    """A schema ``floating`` entry; ``dock`` only when it holds more than one panel."""
    entry: dict[str, Any] = {
        "panel": _first_panel(tree),
        "geometry": [
            geometry.x() - origin[0],
            geometry.y() - origin[1],
            geometry.width(),
            geometry.height(),
        ],
    }
    if "area" not in tree or len(tree["area"]) > 1:
        entry["dock"] = copy.deepcopy(tree)
    return entry


def panel_ids(node: Node | None) -> list[str]:
    """Panel ids of a tree, in order (empty for None)."""
    if not node:
        return []
    if "area" in node:
        return list(node["area"])
    return [p for c in node.get("children", []) for p in panel_ids(c)]
