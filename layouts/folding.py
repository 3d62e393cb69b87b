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
   panel of every screen is still one click away.
   Monitors beyond the layout's screens are not left black: ``unfold`` lends each spare
   monitor a part of the busiest screen (the one with the most panels): the trailing
   children of its top split (by weight, about half), or the tabs after the current one
   when the screen is one tabbed area. A panel is still shown once (a second window with
   the same panels would confuse who acts where). The lent part is not a screen of the
   layout: ``rejoin`` puts it back where it came from when the arrangement is captured,
   so saving on three monitors does not turn a two-screen layout into a three-screen one.
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


# ---- spare monitors ----------------------------------------------------------------------

LENT = "lent_from"  # key of a lent screen entry: the index of the screen it was taken from


def _count(entry: Mapping[str, Any]) -> int:
    return len(panel_ids(normalise(entry["dock"]) if entry.get("dock") else None))


def _halve(tree: Node) -> tuple[Node, Node, str, list[float]] | None:
    """(kept, lent, how, [lead weight, tail weight]) of a tree of two panels or more: a
    split is cut where its children's weight is about halved (one child at least on each
    side) and the side with its largest child stays (``how`` is the orientation, with a
    leading "-" when the lead was lent); one tabbed area keeps its current tab and the
    tabs before it (``how`` is "tabs")."""
    if "area" in tree:
        ids = list(tree["area"])
        if len(ids) < 2:
            return None
        cut = max(1, min(len(ids) - 1, ids.index(tree.get("current", ids[0])) + 1))
        kept = {"area": ids[:cut], "current": tree.get("current", ids[0])}
        return normalise(kept) or kept, {"area": ids[cut:]}, "tabs", [cut, len(ids) - cut]
    kids, sizes = tree["children"], _sizes(tree)
    total = sum(sizes) or 1.0
    cut, acc = 1, sizes[0]
    while cut < len(kids) - 1 and acc + sizes[cut] / 2 <= total / 2:
        acc += sizes[cut]
        cut += 1
    lead = {"split": tree["split"], "sizes": sizes[:cut], "children": kids[:cut]}
    tail = {"split": tree["split"], "sizes": sizes[cut:], "children": kids[cut:]}
    if max(range(len(sizes)), key=lambda i: (sizes[i], -i)) >= cut:
        # The main panel (the largest) is in the tail: it stays, the lead is lent.
        return (
            normalise(tail) or tail,
            normalise(lead) or lead,
            "-" + tree["split"],
            [acc, total - acc],
        )
    return normalise(lead) or lead, normalise(tail) or tail, tree["split"], [acc, total - acc]


def unfold(doc: Mapping[str, Any], targets: Sequence[int], monitors: int) -> tuple[dict, list[int]]:
    """``doc`` and its screens' monitors with every monitor no screen was given lent a
    part of the busiest screen (``_halve``), as long as some screen has two panels or
    more. The lent entries are appended, marked with ``LENT`` and given the spare
    monitor's index; the screen they came from keeps the rest. Without a spare monitor
    (or when screens were folded together: there is no room to spare) ``doc`` is
    returned as it is."""
    out = copy.deepcopy(dict(doc))
    targets = list(targets)
    spare = [m for m in range(monitors) if m not in set(targets)]
    if len(set(targets)) < len(targets):
        return out, targets
    screens = out["screens"]
    for monitor in spare:
        busiest = max(range(len(screens)), key=lambda i: (_count(screens[i]), -i))
        tree = normalise(screens[busiest]["dock"]) if screens[busiest].get("dock") else None
        halves = _halve(tree) if tree else None
        if halves is None:
            break
        kept, lent, orient, weights = halves
        source = screens[busiest]
        source["dock"] = kept
        entry = {
            **{k: copy.deepcopy(v) for k, v in source.items() if k not in ("dock", "floating")},
            "match": {"index": monitor},
            "dock": lent,
            "floating": [],
            LENT: source.get(LENT, busiest),  # the layout's screen, however often halved
            "lent_parent": busiest,  # the entry it was taken from (a lent part may be halved)
            "lent_index": len(screens),
            "lent_split": orient,
            "lent_weights": weights,
        }
        screens.append(entry)
        targets.append(monitor)
    return out, targets


def rejoin(own: Node | None, parts: Sequence[tuple[Node | None, Mapping[str, Any]]]) -> Node | None:
    """A screen's captured tree with the parts lent to spare monitors put back as they
    were taken (``unfold``), the last lent first: after the tree it was taken from in its
    split, or as more tabs of its area. ``parts`` are (captured tree, lent entry)."""
    if not parts:
        return normalise(own) if own else None
    origin = int(parts[0][1][LENT])
    trees: dict[int, Node | None] = {origin: normalise(own) if own else None}
    for part, entry in parts:
        trees[int(entry["lent_index"])] = normalise(part) if part else None
    for _part, entry in sorted(parts, key=lambda p: -int(p[1]["lent_index"])):
        parent = int(entry["lent_parent"])
        tree, part = trees.get(parent), trees.pop(int(entry["lent_index"]))
        if part is None:
            continue
        if tree is None:
            trees[parent] = part
        elif entry.get("lent_split") == "tabs" and "area" in tree and "area" in part:
            trees[parent] = {"area": tree["area"] + part["area"], "current": tree.get("current")}
        else:
            weights = list(entry.get("lent_weights") or [1.0, 1.0])
            split = str(entry.get("lent_split"))
            before = split.startswith("-")  # the lent part was the split's lead
            split = split.lstrip("-")
            split = split if split in ("horizontal", "vertical") else "horizontal"
            kids = [part, tree] if before else [tree, part]
            joined = {"split": split, "sizes": weights, "children": kids}
            trees[parent] = normalise(joined)
    return trees.get(origin)
