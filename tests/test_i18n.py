"""The Chinese catalogue stays in step with the code, compiles, and loads (or falls back).

Every ``self.tr("...")`` literal in widgets/**/*.py (panels live in widgets/panels/) must have a finished Chinese translation in
resources/i18n/commandcenter_zh_CN.ts under the context of its class (PySide6 looks up
the class and its bases), with the same {placeholders}; and the catalogue holds nothing
the code no longer asks for.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QCoreApplication

from widgets import i18n

ROOT = Path(__file__).resolve().parent.parent
WIDGETS = ROOT / "widgets"
TS = ROOT / "resources" / "i18n" / "commandcenter_zh_CN.ts"
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def tr_calls() -> tuple[dict[tuple[str, str], str], list[str]]:
    """{(context, source): where} for every self.tr literal, and the problems found."""
    found: dict[tuple[str, str], str] = {}
    problems: list[str] = []
    for path in sorted(WIDGETS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for node in ast.walk(cls):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "tr"
                ):
                    continue
                where = f"{path.relative_to(WIDGETS)}:{node.lineno}"
                owner = node.func.value
                if not (isinstance(owner, ast.Name) and owner.id == "self"):
                    problems.append(f"{where}: tr on something else than self (wrong context)")
                    continue
                if not (
                    node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    problems.append(f"{where}: tr needs a string literal to be translatable")
                    continue
                found.setdefault((cls.name, node.args[0].value), where)
        # tr outside any class would use no sensible context
        in_classes = {
            id(n) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for n in ast.walk(c)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "tr"
                and id(node) not in in_classes
            ):
                problems.append(f"{path.relative_to(WIDGETS)}:{node.lineno}: tr outside a class")
    return found, problems


def catalogue() -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(TS).getroot()
    assert root.tag == "TS" and root.get("language") == "zh_CN"
    out: dict[tuple[str, str], ET.Element] = {}
    for ctx in root.iter("context"):
        name = ctx.findtext("name")
        for msg in ctx.iter("message"):
            key = (name or "", msg.findtext("source") or "")
            assert key not in out, f"duplicate message {key}"
            translation = msg.find("translation")
            assert translation is not None, f"no translation element for {key}"
            out[key] = translation
    return out


def test_tr_calls_are_literal_and_on_self() -> None:
    found, problems = tr_calls()
    assert found, "the widgets should have translatable strings"
    assert problems == []


def test_every_tr_string_has_a_finished_chinese_translation() -> None:
    found, _ = tr_calls()
    cat = catalogue()
    missing = [
        f"{where}: [{ctx}] {src!r}" for (ctx, src), where in found.items() if (ctx, src) not in cat
    ]
    assert missing == [], "add these to the .ts:\n" + "\n".join(missing)
    for key in found:
        t = cat[key]
        assert t.get("type") not in ("unfinished", "obsolete", "vanished"), key
        text = t.text or ""
        assert CJK.search(text), f"{key}: translation has no Chinese: {text!r}"
        assert sorted(PLACEHOLDER.findall(key[1])) == sorted(PLACEHOLDER.findall(text)), (
            f"{key}: placeholders differ in {text!r}"
        )
        assert key[1].count("&") - key[1].count("&&") == text.count("&") - text.count("&&"), (
            f"{key}: mnemonic lost in {text!r}"
        )


def test_catalogue_holds_nothing_the_code_no_longer_asks_for() -> None:
    found, _ = tr_calls()
    stale = sorted(set(catalogue()) - set(found))
    assert stale == [], f"obsolete messages in the .ts: {stale}"


def test_catalogue_compiles_without_unfinished(tmp_path: Path) -> None:
    tool = i18n._find_lrelease()
    if tool is None:
        pytest.skip("pyside6-lrelease not available")
    qm = tmp_path / "zh.qm"
    res = subprocess.run(
        [tool, str(TS), "-qm", str(qm)], capture_output=True, text=True, check=True
    )
    assert qm.stat().st_size > 0
    assert " 0 unfinished" in res.stdout, res.stdout


def test_set_language_switches_and_reports(qapp) -> None:
    try:
        assert i18n.set_language(qapp, "zh_CN") == "zh_CN"
        assert i18n.is_chinese()
        assert QCoreApplication.translate("OverviewPanel", "Newest cases") == "最新案件"
        assert i18n.set_language(qapp, "en") == "en"
        assert QCoreApplication.translate("OverviewPanel", "Newest cases") == "Newest cases"
        with pytest.raises(ValueError):
            i18n.set_language(qapp, "fr")
    finally:
        i18n.set_language(qapp, "zh_CN")


def test_missing_qm_is_compiled_on_the_fly(qapp, tmp_path: Path, monkeypatch) -> None:
    if i18n._find_lrelease() is None:
        pytest.skip("pyside6-lrelease not available")
    shutil.copy(TS, tmp_path / TS.name)
    monkeypatch.setattr(i18n, "I18N_DIR", tmp_path)
    try:
        assert i18n.set_language(qapp, "zh_CN") == "zh_CN"
        assert (tmp_path / "commandcenter_zh_CN.qm").exists()
        assert QCoreApplication.translate("MainWindow", "Command Center") == "指挥中心"
    finally:
        monkeypatch.undo()
        i18n.set_language(qapp, "zh_CN")


def test_without_catalogue_or_tool_it_warns_and_stays_english(
    qapp, tmp_path: Path, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(i18n, "I18N_DIR", tmp_path)  # no .ts, no .qm here
    monkeypatch.setattr(i18n, "_find_lrelease", lambda: None)
    try:
        with caplog.at_level(logging.WARNING, logger="widgets.i18n"):
            assert i18n.set_language(qapp, "zh_CN") == "en"
        assert not i18n.is_chinese()
        assert any("English" in r.getMessage() for r in caplog.records)
        assert QCoreApplication.translate("OverviewPanel", "Newest cases") == "Newest cases"
    finally:
        monkeypatch.undo()
        i18n.set_language(qapp, "zh_CN")
