"""The table models' one base (widgets/table_model.py), read through real models: feed
text in a cell tooltip shows literally (the audit log's refusal reasons and the hot
topics' keywords come from the server and from reporters), headers follow the language,
and a model answers nothing for cells it does not explain."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import math

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication

from commandcenter import topics as TP
from commandcenter.audit import AuditRecord
from widgets import i18n
from widgets.cases.audit_view import AuditModel
from widgets.insights.topics import TopicModel

HOSTILE = '<img src="file:///etc/passwd"><b>bold</b>'
TIP = Qt.ItemDataRole.ToolTipRole


class _Names:
    def display_name(self, key: str) -> str:
        return key


def _record(reason: str) -> AuditRecord:
    return AuditRecord(1, 0.0, "op1", "duty_officer", "PD1", "sign", {}, "refused", reason, "k")


def _topic(keyword: str) -> TP.Topic:
    return TP.Topic(
        keyword, 1.0, 3, 1, 1.0, 2.0, 2.0, False, ("PD1",), (("g1", 3),), (("t1", 3),), ()
    )


def test_a_reason_from_the_server_is_a_literal_tooltip(qapp: QApplication) -> None:
    model = AuditModel()
    model.set_records([_record(HOSTILE)])
    tip = model.index(0, AuditModel.REASON).data(TIP)
    assert "<img" not in tip and "&lt;img" in tip  # escaped inside the model's own markup
    assert model.index(0, AuditModel.REASON).data() == HOSTILE  # the cell: the literal text
    assert model.index(0, AuditModel.TIME).data(TIP) is None  # nothing to explain there


def test_a_keyword_from_a_reporter_is_a_literal_tooltip(qapp: QApplication) -> None:
    model = TopicModel(_Names())
    model.set_topics([_topic(HOSTILE)])
    for col in range(model.columnCount(QModelIndex())):
        tip = model.index(0, col).data(TIP)
        assert "<b>bold" not in tip, col
    assert model.index(0, 0).data() == HOSTILE


@pytest.mark.parametrize(("lang", "want"), [(i18n.CHINESE, "原因"), (i18n.ENGLISH, "Reason")])
def test_headers_follow_the_language(qapp: QApplication, lang: str, want: str) -> None:
    before = i18n.current_language()
    i18n.set_language(qapp, lang)
    try:
        model = AuditModel()
        assert model.headerData(AuditModel.REASON, Qt.Orientation.Horizontal) == want
        assert model.headerData(AuditModel.REASON, Qt.Orientation.Vertical) is None
        assert model.headerData(99, Qt.Orientation.Horizontal) is None
    finally:
        i18n.set_language(qapp, before)


def test_columns_and_alignment_come_from_the_spec(qapp: QApplication) -> None:
    model = TopicModel(_Names())
    model.set_topics([_topic("积水")])
    assert model.columnCount(QModelIndex()) == len(TopicModel.COLUMNS) == 6
    assert model.rowCount(QModelIndex()) == 1
    assert model.rowCount(model.index(0, 0)) == 0  # a table: no children
    right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    left = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    assert model.index(0, 1).data(Qt.ItemDataRole.TextAlignmentRole) == right
    assert model.index(0, 0).data(Qt.ItemDataRole.TextAlignmentRole) == left
    assert not math.isnan(float(model.index(0, 1).data()))
