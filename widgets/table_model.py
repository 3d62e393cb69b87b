"""One base for the panels' table models: rows of a list, columns of a spec.

Every table of the console (queue, alarms, alerts, newest cases, audit log, topics,
repeats, grids, ranking) answers Qt the same way: no children, one header per column in
the UI's language, an alignment per column, a tooltip per cell. That answering lives
here once; a model says only what its columns are and what a cell shows
(``display``), how it reads (``alignment``), what it explains (``tooltip``) and how it
looks in the other roles (``cell``).

Cells are feed text, never markup: a table cell is painted as plain text by Qt's
delegate, but a tooltip is guessed rich when it looks like HTML, so every cell tooltip
leaves here through ``widgets.plaintext.plain_tooltip`` (a title of
'<img src="file:///etc/passwd">' shows literally). Header texts and header tooltips are
the console's own words (``zh_en``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from widgets.i18n import is_chinese
from widgets.plaintext import plain_tooltip

LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter

_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_TIP = Qt.ItemDataRole.ToolTipRole
_HORIZONTAL = Qt.Orientation.Horizontal


@dataclass(frozen=True)
class Column:
    """A column: its header in both languages, its cells' alignment (None: the view's
    default), whether the header is aligned like them, and a key models may look up by."""

    zh: str
    en: str
    align: Qt.AlignmentFlag | None = None
    align_header: bool = False
    key: str = ""

    def header(self) -> str:
        # a pair like zh_en's; tests/test_i18n.py checks every Column(...) pair as it does those
        return self.zh if is_chinese() else self.en


class TableModel(QAbstractTableModel):
    """A flat table over ``rows`` (a list) with the columns of ``COLUMNS``.

    Subclasses override ``display`` (and, as needed, ``tooltip``, ``alignment``,
    ``cell``, ``header_tooltip``); the row a hook gets is ``row_at(i)`` (``rows[i]``
    unless the model keeps its rows otherwise, then it overrides ``row_at`` and
    ``row_count``)."""

    COLUMNS: ClassVar[tuple[Column, ...]] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []

    # -- what a model says
    def row_count(self) -> int:
        return len(self.rows)

    def row_at(self, i: int) -> Any:
        return self.rows[i]

    def display(self, row: Any, col: int) -> str:
        return ""

    def tooltip(self, row: Any, col: int) -> str:
        """The cell's explanation as plain text ("" for none); escaped on the way out."""
        return ""

    def alignment(self, row: Any, col: int) -> Qt.AlignmentFlag | None:
        return self.COLUMNS[col].align

    def cell(self, row: Any, col: int, role: int) -> Any:
        """Colours, fonts and the model's own roles; None for the view's default."""
        return None

    def header_tooltip(self, section: int) -> str:
        return ""

    # -- the rows
    def set_rows(self, rows: list[Any]) -> None:
        """New rows: the views re-read everything (selection and scroll are theirs)."""
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rows_changed(self) -> None:
        """Same rows, new contents (a tick, a language change): every cell repaints."""
        n = self.row_count()
        if n:
            self.dataChanged.emit(self.index(0, 0), self.index(n - 1, len(self.COLUMNS) - 1))

    def retranslate(self) -> None:
        """Headers are read in the current language on every call; the views are told."""
        if self.COLUMNS:
            self.headerDataChanged.emit(_HORIZONTAL, 0, len(self.COLUMNS) - 1)

    # -- Qt's model API
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:
        if orientation != _HORIZONTAL or not 0 <= section < len(self.COLUMNS):
            return None
        column = self.COLUMNS[section]
        if role == _DISPLAY:
            return column.header()
        if role == _ALIGN and column.align_header and column.align is not None:
            return int(column.align)
        if role == _TIP:
            return self.header_tooltip(section) or None
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid():
            return None
        row, col = self.row_at(index.row()), index.column()
        if role == _DISPLAY:
            return self.display(row, col)
        if role == _ALIGN:
            align = self.alignment(row, col)
            return int(align) if align is not None else None
        if role == _TIP:
            tip = self.tooltip(row, col)
            return plain_tooltip(tip) if tip else None
        return self.cell(row, col, role)
