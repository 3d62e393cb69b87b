"""Write one table as an XLSX sheet, with XlsxWriter (a kept library).

Why XlsxWriter and not a writer of our own or openpyxl: the hall exports tables that
Excel, WPS and LibreOffice must open without complaint (shared strings, real numbers,
sheet names, column widths), XlsxWriter writes only (nothing it does not need), in
constant memory, and measured faster than openpyxl at writing (docs/sources.md,
``python -m bench sources``). Reading goes through pandas on python-calamine.
NaN and None become empty cells; text is written as text, never as a formula.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xlsxwriter


def column_letter(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def write_xlsx(
    path: str | Path, header: Sequence[str], rows: Sequence[Sequence[Any]], sheet: str = "Sheet1"
) -> None:
    """Write one sheet: ``header`` as the first row (bold, frozen), then ``rows``."""
    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
         "strings_to_numbers": False, "nan_inf_to_errors": False},
    )  # fmt: skip
    try:
        name = "".join("_" if ch in "[]:*?/\\" else ch for ch in sheet)[:31] or "Sheet1"
        ws = wb.add_worksheet(name)
        bold = wb.add_format({"bold": True})
        for c, h in enumerate(header):  # before the rows: constant memory streams them out
            ws.set_column(c, c, max(8, min(40, len(str(h)) * 2 + 2)))
        ws.write_row(0, 0, [str(h) for h in header], bold)
        ws.freeze_panes(1, 0)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row):
                if v is None or (isinstance(v, float) and not math.isfinite(v)):
                    continue
                if isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                elif isinstance(v, (int, float)):
                    ws.write_number(r, c, v)
                elif hasattr(v, "item") and isinstance(v.item(), (int, float)):  # numpy scalars
                    x = v.item()
                    if not (isinstance(x, float) and not math.isfinite(x)):
                        ws.write_number(r, c, x)
                else:
                    ws.write_string(r, c, str(v))
    finally:
        wb.close()
