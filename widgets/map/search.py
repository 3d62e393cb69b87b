"""Search on the map: a case id, an address, a grid or township (code or name).

Pure logic over the store and the geography (no Qt), so it is tested without a window.
Order of results: an exact case id first (the officer read it off a phone), then areas
whose name or code contains the text, then cases whose address contains it (newest
first, capped: a search for "路" must not list 40,000 cases).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from commandcenter.store import Store


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: str  # "case", "grid", "township"
    key: str  # case id or area code
    label: str
    lon: float
    lat: float
    bbox: tuple[float, float, float, float] | None = None  # data lon/lat box of an area


def search(store: Store, text: str, limit: int = 20) -> list[SearchHit]:
    q = text.strip()
    if not q:
        return []
    hits: list[SearchHit] = []
    ql = q.lower()
    rec = store.case(q) or store.case(q.upper())
    if rec is not None:
        hits.append(
            SearchHit(
                "case", rec.id, f"{rec.id} {getattr(rec, 'address', '')}".strip(), rec.lon, rec.lat
            )
        )
    geo = store.geography or {}
    for key, kind in (("townships", "township"), ("grids", "grid")):
        for a in geo.get(key) or []:
            if not isinstance(a, dict):
                continue
            name = str(a.get("name", ""))
            code = str(a.get("code", ""))
            community = str(a.get("community", ""))
            if (
                ql in name.lower()
                or ql == code.lower()
                or (len(ql) >= 4 and code.startswith(q))
                or (community and ql in community.lower())
            ):
                poly = np.asarray(a.get("polygon") or [[0.0, 0.0]], dtype=float)
                c = a.get("centroid") or a.get("seat") or poly.mean(axis=0).tolist()
                box = (
                    float(poly[:, 0].min()),
                    float(poly[:, 1].min()),
                    float(poly[:, 0].max()),
                    float(poly[:, 1].max()),
                )
                label = f"{name}（{community}）" if community else name
                hits.append(SearchHit(kind, code, label, float(c[0]), float(c[1]), box))
                if len(hits) >= limit:
                    return hits
    # addresses and titles: newest first, capped
    n = len(store)
    if n and len(q) >= 2:
        order = np.argsort(-store._f["created_ts"][:n], kind="stable")
        found = 0
        for r in order.tolist():
            c = store.record_at(r)
            addr = getattr(c, "address", "") or ""
            if q in addr or q in (getattr(c, "title", "") or ""):
                hits.append(SearchHit("case", c.id, f"{c.id} {addr}", c.lon, c.lat))
                found += 1
                if found >= limit or len(hits) >= limit:
                    break
    return hits[:limit]
