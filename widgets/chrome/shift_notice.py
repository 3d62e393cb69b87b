"""The notice before a layout bound to a shift replaces the one shown: "30 秒后切换到 X
布局 [留在当前]".

Why a notice and not a silent switch: the officer may be in the middle of a dispatch on
the layout shown; a shift change must not pull it away under the cursor. The notice
counts down on every screen's status bar and one button keeps the current layout for
this shift (layouts/shifts.py decides when; this widget only shows and asks).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from widgets.i18n import zh_en


class ShiftNotice(QFrame):
    """Countdown text and a Stay button; ``stay`` when the officer keeps the layout."""

    stay = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shiftNotice")
        self.label = QLabel(objectName="shiftNoticeText")
        self.button = QPushButton(objectName="shiftNoticeStay")
        self.button.clicked.connect(self.stay.emit)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 0, 8, 0)
        row.addWidget(self.label)
        row.addWidget(self.button)
        self._name = ""
        self._seconds = 0

    def show_countdown(self, name: str, seconds: int) -> None:
        self._name, self._seconds = name, max(0, int(seconds))
        self.retranslate()
        self.show()

    def retranslate(self) -> None:
        self.label.setText(
            zh_en("{s} 秒后切换到 {name} 布局", "Switching to {name} in {s} s").format(
                s=self._seconds, name=self._name
            )
        )
        self.button.setText(zh_en("留在当前", "Stay"))
        self.button.setToolTip(zh_en("本班次保持当前布局", "Keep the layout shown for this shift"))
