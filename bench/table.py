"""The one table every benchmark reports into."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Row:
    what: str
    value: float
    unit: str
    target: str = ""
    baseline: float | None = None  # same quantity, baseline method, same process
    note: str = ""

    @property
    def ratio(self) -> str:
        if self.baseline is None or not self.baseline:
            return ""
        return f"{self.value / self.baseline:.2f}x"


def _fmt(v: float) -> str:
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}"


def print_table(rows: list[Row]) -> None:
    head = ("what", "value", "unit", "target", "vs baseline", "note")
    body = [(r.what, _fmt(r.value), r.unit, r.target, r.ratio, r.note) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in body:
        print("| " + " | ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)) + " |")
