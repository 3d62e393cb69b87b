"""A one-line label that always shows its whole text: it shrinks, then elides.

A big number cut at the tile's edge lies: "196" clipped reads "19", "160" read "16C" on
the briefing wall. A QLabel clips because a tile is sized by its layout, not by its text,
and the theme's type size (QSS) is the same for a 5-tile row on a laptop and on the wall.
This label keeps the theme's font and, only when the text would not fit, draws it scaled
down (to ``min_scale``); below that it elides the middle (a tile's tooltip explains the
whole figure). Plain text only: it never interprets markup.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QStyle, QStyleOption, QWidget


class FitLabel(QLabel):
    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        *,
        objectName: str = "",
        min_scale: float = 0.45,
        elide: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle,
    ) -> None:
        super().__init__(text, parent)
        if objectName:
            self.setObjectName(objectName)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.min_scale = min_scale
        self.elide = elide  # a number keeps both ends (ElideMiddle), a title its start

    def _line_height(self) -> int:
        m = self.contentsMargins()
        return self.fontMetrics().height() + m.top() + m.bottom()

    def sizeHint(self) -> QSize:
        # One line's height even while empty: a tile measured before its first value
        # must not come out a line short.
        hint = super().sizeHint()
        return QSize(hint.width(), max(hint.height(), self._line_height()))

    def minimumSizeHint(self) -> QSize:
        # Any width will do (the text shrinks); the height is the font's.
        return QSize(1, max(super().minimumSizeHint().height(), self._line_height()))

    def scale(self) -> float:
        """How much the text is shrunk to fit (1.0: not at all)."""
        need = self.fontMetrics().horizontalAdvance(self.text())
        room = self.contentsRect().width()
        if need <= room or need <= 0:
            return 1.0
        return max(self.min_scale, room / need)

    def shown_text(self) -> str:
        """The text as drawn: whole, or elided when even ``min_scale`` is too wide."""
        fm = self.fontMetrics()
        room = self.contentsRect().width() / self.min_scale
        if fm.horizontalAdvance(self.text()) <= room:
            return self.text()
        return fm.elidedText(self.text(), self.elide, int(room))

    def paintEvent(self, event: QPaintEvent) -> None:
        s = self.scale()
        if s >= 1.0:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        opt = QStyleOption()
        opt.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, opt, painter, self)
        r = QRectF(self.contentsRect())
        painter.translate(r.left(), r.center().y())
        painter.scale(s, s)
        box = QRectF(0, -r.height() / (2 * s), r.width() / s, r.height() / s)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.setFont(self.font())
        painter.drawText(box, int(self.alignment()), self.shown_text())
        painter.end()
