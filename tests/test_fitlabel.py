"""FitLabel shows the whole number: shrunk when the tile is narrow, elided only past its
smallest size, and never clipped."""

from __future__ import annotations

from PySide6.QtGui import QFont

from widgets.fitlabel import FitLabel


def label(qtbot, text: str, width: int, min_scale: float = 0.45) -> FitLabel:
    lab = FitLabel(text, min_scale=min_scale)
    font = QFont(lab.font())
    font.setPixelSize(80)
    lab.setFont(font)
    qtbot.addWidget(lab)
    lab.resize(width, 100)
    return lab


def test_a_number_that_fits_is_drawn_as_it_is(qtbot) -> None:
    lab = label(qtbot, "7", 400)
    assert lab.scale() == 1.0 and lab.shown_text() == "7"


def test_a_number_too_wide_shrinks_whole(qtbot) -> None:
    wide = label(qtbot, "196", 400)
    need = wide.fontMetrics().horizontalAdvance("196")
    lab = label(qtbot, "196", int(need * 0.7))
    assert 0.45 <= lab.scale() < 1.0
    assert lab.shown_text() == "196", "shrunk, every digit kept"
    assert need * lab.scale() <= lab.contentsRect().width() + 1


def test_past_the_smallest_size_it_elides(qtbot) -> None:
    lab = label(qtbot, "12,345,678", 40)
    assert lab.scale() == 0.45
    assert lab.shown_text() != "12,345,678" and "…" in lab.shown_text()


def test_markup_is_text(qtbot) -> None:
    lab = label(qtbot, "<b>9</b>", 400)
    assert lab.shown_text() == "<b>9</b>"



def test_an_empty_label_is_one_line_tall(qtbot) -> None:
    lab = label(qtbot, "", 400)
    assert lab.sizeHint().height() >= lab.fontMetrics().height()
    assert lab.minimumSizeHint().height() >= lab.fontMetrics().height()
