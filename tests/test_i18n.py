"""One language system: every UI string is a ``zh_en("中文", "English")`` pair.

Static checks over the source (widgets/ and layouts/): no Qt ``tr()`` is left, every pair
is two literals with Chinese on the left and none on the right, with the same
``{placeholders}`` and mnemonics. The walk over every widget of every preset in both
languages is in tests/test_language_walk.py.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from widgets import i18n

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "widgets", ROOT / "layouts"]
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _calls(name: str) -> list[tuple[str, ast.Call]]:
    out = []
    for base in SOURCES:
        for path in sorted(base.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                if called == name:
                    out.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return out


def test_no_qt_tr_is_left() -> None:
    left = [where for where, node in _calls("tr")]
    left += [
        where
        for where, node in _calls("translate")
        if isinstance(node.func, ast.Attribute)
        and getattr(node.func.value, "id", "") == "QCoreApplication"
    ]
    assert left == [], "use zh_en(...) instead of Qt's tr():\n" + "\n".join(left)


def test_every_pair_is_chinese_then_english_with_the_same_placeholders() -> None:
    pairs = _calls("zh_en")
    assert len(pairs) > 300, "the widgets should speak through zh_en"
    columns = _calls("Column")  # table headers (widgets/table_model.Column): pairs too
    assert len(columns) > 40, "the table models should name their columns through Column"
    for where, node in columns:  # (zh, en) written out; the alignment and key follow
        if len(node.args) >= 2 and all(isinstance(a, ast.Constant) for a in node.args[:2]):
            node.args = node.args[:2]
            pairs.append((where, node))
    bad = []
    for where, node in pairs:
        args = node.args
        if not (
            len(args) == 2
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args)
        ):
            bad.append(f"{where}: zh_en needs two string literals")
            continue
        zh, en = args[0].value, args[1].value
        if not CJK.search(zh) and zh.strip() and not zh.strip(" .:…-—%0123456789{}"):
            bad.append(f"{where}: no Chinese on the left: {zh!r}")
        if CJK.search(en):
            bad.append(f"{where}: Chinese on the English side: {en!r}")
        if sorted(PLACEHOLDER.findall(zh)) != sorted(PLACEHOLDER.findall(en)):
            bad.append(f"{where}: placeholders differ: {zh!r} / {en!r}")
        if (zh.count("&") - zh.count("&&")) != (en.count("&") - en.count("&&")):
            bad.append(f"{where}: mnemonic lost: {zh!r} / {en!r}")
    assert bad == [], "\n".join(bad)


def test_set_language_switches_and_reports(qapp) -> None:
    try:
        assert i18n.set_language(qapp, "zh_CN") == "zh_CN"
        assert i18n.is_chinese()
        assert i18n.zh_en("最新案件", "Newest cases") == "最新案件"
        assert i18n.set_language(qapp, "en") == "en"
        assert i18n.zh_en("最新案件", "Newest cases") == "Newest cases"
        with pytest.raises(ValueError):
            i18n.set_language(qapp, "fr")
    finally:
        i18n.set_language(qapp, "zh_CN")


def test_a_links_last_error_reads_in_the_ui_language(qapp) -> None:
    """The status strip says why the link is down in words of the UI's language; the
    library's own English detail is only in the tooltip, shown as plain text."""
    from commandcenter.status import FeedStatus
    from widgets.labels import error_label
    from widgets.overview import StatusStrip

    cases = {
        "timeout: ConnectTimeout('timed out')": ("连接超时", "timed out"),
        "http_401: snapshot: the feed refused the token": ("令牌被拒", "token refused"),
        "http_503: snapshot: HTTP 503": ("服务器错误", "server error"),
        "history_outside_history_window: 416": ("历史补取失败", "history fetch failed"),
        "internal_ValueError: output array is read-only": ("内部错误，已重连", "internal error, reconnected"),
        "weird: <b>bold</b>": ("weird: <b>bold</b>", "weird: <b>bold</b>"),  # unknown: as written
    }
    try:
        for raw, (zh, en) in cases.items():
            i18n.set_language(qapp, "zh_CN")
            assert error_label(raw) == zh
            i18n.set_language(qapp, "en")
            assert error_label(raw) == en
        i18n.set_language(qapp, "zh_CN")
        status = FeedStatus()
        from commandcenter.store import Store

        strip = StatusStrip(Store(), status)
        status.error("timeout", "<img src='file:///etc/passwd'> ConnectTimeout")
        strip.update_status()
        assert strip.last_error.text() == "连接超时"
        assert "&lt;img" in strip.last_error.toolTip() and "<img" not in strip.last_error.toolTip()
        strip.deleteLater()
    finally:
        i18n.set_language(qapp, "zh_CN")
