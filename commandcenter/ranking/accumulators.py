"""The incremental engine's running state: sums per (entity, day), sorted handling times,
repeat groups. Each is updated in place by a change set's few rows, so a table after
1,000 changed cases costs reads at computed positions, not a pass over a million.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from commandcenter.ranking.table import grouped_quantiles

ACC_METRICS: tuple[str, ...] = (
    "received",
    "closed",
    "timed",
    "on_time",
    "rated",
    "rating_sum",
    "satisfied",
    "repeats",
)
_M = len(ACC_METRICS)


class Acc:
    """Sums of ACC_METRICS per (entity, day slot) for one level, grown on demand."""

    def __init__(self) -> None:
        self.a = np.zeros((_M, 8, 8), dtype=np.int64)
        self.unattributed = np.zeros(8, dtype=np.int64)  # received, entity -1, per slot

    def ensure(self, n_entities: int, n_slots: int) -> None:
        _, e, s = self.a.shape
        if n_entities <= e and n_slots <= s:
            return
        e2 = max(e, 1 << max(3, (n_entities - 1).bit_length()))
        s2 = max(s, 1 << max(3, (n_slots - 1).bit_length()))
        b = np.zeros((_M, e2, s2), dtype=np.int64)
        b[:, :e, :s] = self.a
        self.a = b
        u = np.zeros(s2, dtype=np.int64)
        u[:s] = self.unattributed
        self.unattributed = u

    def add(self, ent: np.ndarray, slot: np.ndarray, values: np.ndarray) -> None:
        """values: (_M, k) signed amounts for k cases at (ent, slot); entity -1 only counts
        towards ``unattributed``."""
        ok = ent >= 0
        if not ok.all():
            none = ~ok
            np.add.at(self.unattributed, slot[none], values[0, none])
            ent, slot, values = ent[ok], slot[ok], values[:, ok]
        k = len(ent)
        if not k:
            return
        _, e, s = self.a.shape
        if k * _M * 16 >= self.a.size:  # big batch: bincounts beat scattered adds
            lin = ent * s + slot
            for m in range(_M):
                v = values[m]
                if not v.any():
                    continue
                # weighted by the amounts themselves (exact in float64 below 2**53)
                sums = np.bincount(lin, weights=v, minlength=e * s)
                self.a[m] += np.rint(sums).astype(np.int64).reshape(e, s)
        else:  # a few cases: sum per touched cell, then one fancy-indexed add
            cells, inverse = np.unique(ent * s + slot, return_inverse=True)
            u = len(cells)
            at = (np.arange(_M)[:, None] * u + inverse[None, :]).ravel()
            sums = np.bincount(at, weights=values.ravel().astype(np.float64), minlength=_M * u)
            self.a.reshape(_M, e * s)[:, cells] += np.rint(sums).astype(np.int64).reshape(_M, u)

    def add_metric(self, m: int, ent: np.ndarray, slot: np.ndarray, amount: np.ndarray) -> None:
        """A whole load's amounts of one metric (``add`` of a matrix that is zero elsewhere)."""
        ok = ent >= 0
        if m == 0:
            np.add.at(self.unattributed, slot[~ok], amount[~ok])
        _, e, s = self.a.shape
        sums = np.bincount(ent[ok] * s + slot[ok], weights=amount[ok], minlength=e * s)
        self.a[m] += np.rint(sums).astype(np.int64).reshape(e, s)

    def sums(self, n_entities: int, slots: np.ndarray | None) -> tuple[np.ndarray, int]:
        """(_M, n_entities) sums over the slots (None: all), and the unattributed count."""
        a = self.a[:, :n_entities, :]
        if slots is None:
            return a.sum(axis=2), int(self.unattributed.sum())
        return a[:, :, slots].sum(axis=2), int(self.unattributed[slots].sum())


class SortedTimes:
    """Handling times of one level sorted by (entity, time), with each entry's day.

    Kept sorted under updates (a merge, not a re-sort), so exact medians and p90s of a
    window are read at computed positions instead of sorting a million values per query.
    The key is complex: real part the entity code, imaginary part the handling time;
    numpy orders complex numbers lexicographically, which is exactly (entity, time).
    """

    def __init__(self) -> None:
        self.key = np.empty(0, dtype=np.complex128)
        self.day = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.key)

    def set_sorted(self, ent: np.ndarray, ht: np.ndarray, day: np.ndarray) -> None:
        """Start over from entries already in (entity, time) order."""
        self.key = ent.astype(np.float64) + 1j * ht
        self.day = day.astype(np.int64)

    def _find(self, q: np.ndarray, qday: np.ndarray) -> np.ndarray:
        left = np.searchsorted(self.key, q, side="left")
        right = np.searchsorted(self.key, q, side="right")
        at = np.minimum(left, max(len(self.key) - 1, 0))
        simple = (right - left == 1) & (self.day[at] == qday)
        pos = left.copy()
        hard = np.flatnonzero(~simple)
        if len(hard):  # equal keys (same entity, same time): match the day, never reuse
            used = set(pos[simple].tolist())
            for i in hard:
                for p in range(int(left[i]), int(right[i])):
                    if p not in used and self.day[p] == qday[i]:
                        used.add(p)
                        pos[i] = p
                        break
                else:
                    raise RuntimeError("ranking index out of step: a handling time is missing")
        return pos

    def replace(
        self,
        rm: tuple[np.ndarray, np.ndarray, np.ndarray],
        add: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> None:
        """Remove entries (entity, time, day) and insert others, keeping the order."""
        key, day = self.key, self.day
        if len(rm[0]):
            keep = np.ones(len(key), dtype=bool)
            keep[self._find(rm[0].astype(np.float64) + 1j * rm[1], rm[2])] = False
            key, day = key[keep], day[keep]
        if len(add[0]):
            new = add[0].astype(np.float64) + 1j * add[1]
            order = np.argsort(new)
            new, new_day = new[order], add[2][order]
            at = np.searchsorted(key, new) + np.arange(len(new))
            total = len(key) + len(new)
            old_at = np.ones(total, dtype=bool)
            old_at[at] = False
            k2 = np.empty(total, dtype=np.complex128)
            d2 = np.empty(total, dtype=np.int64)
            k2[at], d2[at] = new, new_day
            k2[old_at], d2[old_at] = key, day
            key, day = k2, d2
        self.key, self.day = key, day

    def quantiles(
        self, counts: np.ndarray, days: tuple[int, int] | None, qs: Sequence[float]
    ) -> list[np.ndarray]:
        times = self.key.imag
        if days is None:
            return grouped_quantiles(times.__getitem__, counts, qs)
        idx = np.flatnonzero((self.day >= days[0]) & (self.day < days[1]))
        return grouped_quantiles(lambda p: times[idx[p]], counts, qs)


class Groups:
    """Rows per repeat group (place + category): a sorted base plus groups edited since."""

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.int64)
        self.rows = np.empty(0, dtype=np.int64)
        self.edited: dict[int, list[int]] = {}

    def set_sorted(self, rows: np.ndarray, keys: np.ndarray) -> None:
        """Start over from the rows that have a group, sorted by group (``keys``)."""
        self.keys = keys
        self.rows = rows
        self.edited = {}

    def members(self, g: int) -> list[int]:
        got = self.edited.get(g)
        if got is not None:
            return got
        lo, hi = np.searchsorted(self.keys, [g, g + 1])
        return self.rows[lo:hi].tolist()

    def members_of(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of several groups at once, and the group of each row."""
        rows: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        edited = np.array([g in self.edited for g in groups.tolist()], dtype=bool)
        for g in groups[edited].tolist():
            got = self.edited[g]
            rows.append(np.array(got, dtype=np.int64))
            labels.append(np.full(len(got), g, dtype=np.int64))
        base = groups[~edited]
        lo = np.searchsorted(self.keys, base, side="left")
        hi = np.searchsorted(self.keys, base, side="right")
        lengths = hi - lo
        total = int(lengths.sum())
        if total:
            first = np.repeat(lo - (np.cumsum(lengths) - lengths), lengths)
            rows.append(self.rows[first + np.arange(total)])
            labels.append(np.repeat(base, lengths))
        if not rows:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(rows), np.concatenate(labels)

    def _own(self, g: int) -> list[int]:
        got = self.edited.get(g)
        if got is None:
            got = self.edited[g] = self.members(g)
        return got

    def move(self, row: int, old: int, new: int) -> None:
        if old >= 0:
            self._own(old).remove(row)
        if new >= 0:
            self._own(new).append(row)


_BOOL_COLS = ("closed", "timed", "on_time", "rated", "satisfied", "open", "repeat")
_F8_COLS = ("created", "ht", "on_site", "extension", "due")
_I8_COLS = ("version", "day", "rating", "category", "group")
_CODE_COLS = ("state", "urgency")  # int8 codes, as SlaPolicy.evaluate_arrays takes them
