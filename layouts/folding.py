"""How a layout's screens land on the monitors attached: one window per monitor, never
two windows on one monitor, nothing beyond a monitor's available geometry.

Why windows never share a monitor: panels have minimum sizes (a case queue needs about
1300 px for its columns), so two windows side by side on one 1920 px monitor overlap or
run off its edge whatever their tiles say. Folding therefore works on the docking trees,
not on window rectangles:

1. ``plan`` groups the layout's screens by the monitor ``schema.match_screens`` gave
   them. The first screen of a group is the host: it gets the monitor's window. The
   others (guests, only when fewer monitors than screens are attached) are folded into
   it: ``fold_screens`` adds their panels as tabs of the host's last area, so every
   panel of every screen is still one click away. Monitors beyond the layout's screens
   get no window (a second window showing the same panels twice would only confuse who
   acts where).
2. ``fit_tree`` then makes the tree fit the monitor's available size: while the sum of
   the panels' minimum widths (or heights) is larger than the room, the deepest split of
   that orientation becomes one tabbed area. Tabs need the widest tab's width, a split the
   sum, so every step shrinks the minimum or leaves nothing to fold.
3. ``fitted_scale`` keeps the type scale a layout asks for on the monitor it was made
   for and shrinks it with a smaller monitor (a 1.65 wall layout on a 1080p console is
   1.0, not 1.65 squeezed into a third of the width).

Everything here is plain data, so the rules are tested at every size without a display;
the shell measures the panels and applies the result (``layouts/shell_windows.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from layouts.engine import Node, normalise, panel_ids

Size = tuple[int, int]
REFERENCE = (1920, 1080)  # the monitor a layout without a geometry match was made for


@dataclass(slots=True)
class Placement:
    """One window: the monitor it goes on, its host screen and the screens folded in."""

    monitor: int
    host: int
    guests: list[int] = field(default_factory=list)


def plan(targets: Sequence[int]) -> list[Placement]:
    """One placement per monitor used, in the order of the layout's screens."""
    out: list[Placement] = []
    by_monitor: dict[int, Placement] = {}
    for screen, monitor in enumerate(targets):
        placed = by_monitor.get(monitor)
        if placed is None:
            placed = by_monitor[monitor] = Placement(monitor, screen)
            out.append(placed)
        else:
            placed.guests.append(screen)
    return out


def _areas(node: Node) -> list[Node]:
    if "area" in node:
        return [node]
    return [a for c in node["children"] for a in _areas(c)]


def fold_screens(
    host: Node | None,
    guests: Sequence[Node | None],
    mins: Mapping[str, Size] | None = None,
    room: Size | None = None,
    handle: int = 4,
) -> Node | None:
    """The host's tree with every guest panel added as a tab of one of its areas (the
    host's current tabs stay current).

    Without sizes every guest panel goes to the host's last area. With the panels'
    minimum sizes and the room, each guest panel (in order) goes to the area where the
    tree then needs the least room beyond the monitor, then the least room at all; ties
    go to the last area. A tall guest panel therefore joins a column that is tall
    already instead of widening the window past its monitor."""
    extra = [p for g in guests for p in panel_ids(normalise(g) if g else None)]
    tree = normalise(host) if host else None
    if tree is None:
        return {"area": extra, "current": extra[0]} if extra else None
    tree = copy.deepcopy(tree)
    for pid in extra:
        areas = _areas(tree)
        if pid in {p for a in areas for p in a["area"]}:
            continue
        if mins is None or room is None:
            areas[-1]["area"].append(pid)
            continue
        best: tuple[tuple[int, int], int] | None = None
        for i, area in enumerate(areas):
            area["area"].append(pid)
            w, h = min_size(tree, mins, handle)
            area["area"].pop()
            score = (max(0, w - room[0]) + max(0, h - room[1]), w * h)
            if best is None or score <= best[0]:
                best = (score, i)
        assert best is not None
        areas[best[1]]["area"].append(pid)
    return tree


def prune(node: Node | None, keep: set[str]) -> Node | None:
    """``node`` with only the panels in ``keep`` (normalised; None when none is left)."""
    if not node:
        return None
    if "area" in node:
        ids = [p for p in node["area"] if p in keep]
        return normalise({"area": ids, "current": node.get("current")})
    kids = [(prune(c, keep), s) for c, s in zip(node["children"], _sizes(node), strict=True)]
    kept = [(c, s) for c, s in kids if c is not None]
    if not kept:
        return None
    return normalise(
        {"split": node["split"], "sizes": [s for _c, s in kept], "children": [c for c, _s in kept]}
    )


def _sizes(node: Node) -> list[float]:
    return list(node.get("sizes") or [1.0] * len(node["children"]))


# ---- fitting a tree into a monitor -----------------------------------------------------


def min_size(node: Node, mins: Mapping[str, Size], handle: int) -> Size:
    """The smallest (width, height) ``node`` can be laid out in: an area needs its largest
    tab, a split the sum along its orientation plus the handles between."""
    if "area" in node:
        sizes = [mins.get(p, (0, 0)) for p in node["area"]]
        return max(s[0] for s in sizes), max(s[1] for s in sizes)
    kids = [min_size(c, mins, handle) for c in node["children"]]
    gaps = handle * (len(kids) - 1)
    if node["split"] == "horizontal":
        return sum(k[0] for k in kids) + gaps, max(k[1] for k in kids)
    return max(k[0] for k in kids), sum(k[1] for k in kids) + gaps


def _deepest_split(node: Node, orient: str, depth: int = 0) -> tuple[int, list[int]] | None:
    """(depth, path) of the deepest split of ``orient``; the last one in document order
    among equally deep ones (the host's main panel is usually first: it keeps its room)."""
    if "area" in node:
        return None
    best: tuple[int, list[int]] | None = (depth, []) if node["split"] == orient else None
    for i, child in enumerate(node["children"]):
        found = _deepest_split(child, orient, depth + 1)
        if found is not None and (best is None or found[0] >= best[0]):
            best = (found[0], [i, *found[1]])
    return best


def _to_tabs(node: Node) -> Node:
    """A split as one area of all its panels; the first child's current tab stays current."""
    ids = panel_ids(node)
    first = node["children"][0] if "children" in node else node
    while "children" in first:
        first = first["children"][0]
    return {"area": ids, "current": first.get("current", ids[0])}


def _at(tree: Node, path: list[int]) -> Node:
    for i in path:
        tree = tree["children"][i]
    return tree


def _replaced(tree: Node, path: list[int], node: Node) -> Node:
    if not path:
        return node
    out = copy.deepcopy(tree)
    _at(out, path[:-1])["children"][path[-1]] = node
    return normalise(out) or out


def fit_tree(node: Node | None, mins: Mapping[str, Size], room: Size, handle: int) -> Node | None:
    """Refold until the tree's minimum size fits ``room`` (width first, then height), or
    nothing is left to fold. Each step takes the deepest split that is too long: side by
    side becomes one above the other when the other dimension still fits, else it becomes
    one tabbed area. Deterministic: same inputs, same tree."""
    tree = normalise(node) if node else None
    if tree is None:
        return None
    other = {"horizontal": "vertical", "vertical": "horizontal"}
    for axis, orient in ((0, "horizontal"), (1, "vertical")):
        while min_size(tree, mins, handle)[axis] > room[axis]:
            found = _deepest_split(tree, orient)
            if found is None:
                break
            path = found[1]
            split = _at(tree, path)
            flipped = _replaced(tree, path, {**copy.deepcopy(split), "split": other[orient]})
            if min_size(flipped, mins, handle)[1 - axis] <= room[1 - axis]:
                tree = flipped
            else:
                tree = _replaced(tree, path, _to_tabs(split))
    return normalise(tree)


def fitted_scale(asked: float, made_for: Size | None, monitor: Size) -> float:
    """The type scale of a layout screen asking for ``asked`` on a monitor of ``monitor``
    logical pixels, when it was made for ``made_for`` (its geometry match; else 1080p):
    shrunk by how much smaller the monitor is, never below 1.0, never above ``asked``."""
    ref = made_for or REFERENCE
    ratio = min(monitor[0] / max(1, ref[0]), monitor[1] / max(1, ref[1]), 1.0)
    return round(max(1.0, asked * ratio), 2)


def made_for(entry: Mapping[str, Any]) -> Size | None:
    """The monitor size a layout screen names in its match, if any."""
    geo = (entry.get("match") or {}).get("geometry")
    if isinstance(geo, list) and len(geo) == 4:
        return int(geo[2]), int(geo[3])
    return None
