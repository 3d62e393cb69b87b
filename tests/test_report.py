"""The briefing export: a PDF of the demo county whose text is extractable Chinese (the
font is embedded) and in which no reporter name or phone number appears unmasked; PNGs of
every screen."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from commandcenter.metrics.engine import MetricEngine
from commandcenter.privacy import Mask
from commandcenter.store import Store
from tests.demo_county import demo_store
from widgets.chrome.report import ReportOptions, export_briefing, export_pdf, overdue_cases


def pdf_text(path: Path) -> str:
    """All text of a PDF, NFKC-normalised (Noto CJK maps some glyphs to Kangxi radicals,
    e.g. ⼼ for 心) and without whitespace (extractors split lines and cells freely).

    QtPdf when this PySide6 has it; else poppler's pdftotext (scripts/sysdeps test)."""
    try:
        from PySide6.QtPdf import QPdfDocument  # type: ignore[import-not-found]

        doc = QPdfDocument()
        doc.load(str(path))
        raw = "\n".join(doc.getAllText(i).text() for i in range(doc.pageCount()))
    except ImportError:
        exe = shutil.which("pdftotext")
        if exe is None:
            pytest.fail(
                "no PDF text extractor: this PySide6 has no QtPdf and pdftotext is missing; "
                "install poppler-utils (scripts/sysdeps test does)"
            )
        raw = subprocess.run(
            [exe, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=60
        ).stdout.decode("utf-8")
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw))


@pytest.fixture
def store() -> Store:
    return demo_store()


def test_pdf_masks_every_reporter_and_keeps_chinese_text(qapp, store: Store, tmp_path) -> None:
    records = [store.record_at(r) for r in range(len(store))]
    names = {c.reporter_name for c in records if len(c.reporter_name) >= 2}
    phones = {c.reporter_phone for c in records if c.reporter_phone}
    assert len(names) > 10 and len(phones) > 10, "the demo county should have reporters"
    now = store.clock.now()
    path = export_pdf(store, tmp_path / "report.pdf", ReportOptions(typical=5), now=now,
                      metrics=MetricEngine(store))  # fmt: skip
    assert path.read_bytes()[:5] == b"%PDF-"
    text = pdf_text(path)
    # Chinese is extractable: the font is embedded with a Unicode map.
    for heading in ("核心指标", "时限预警", "立案与结案趋势", "乡镇排名", "超时最久", "典型案例"):
        assert heading in text, heading
    # Positive control: reporters are there, masked (digits do extract).
    assert re.search(r"1[3-9]\d\*{4}\d{4}", text), "masked phones should be listed"
    shown = [c for c, _, _ in overdue_cases(store, 10, now) if c.reporter_name]
    assert shown, "the demo should have overdue cases with reporters"
    assert any(Mask().name(c.reporter_name) in text for c in shown)
    for phone in phones:
        assert phone not in text, f"unmasked phone {phone} in the PDF"
    for name in names:
        assert name not in text, f"unmasked name {name} in the PDF"


def test_one_key_export_writes_screens_and_report(qapp, qtbot, store: Store, tmp_path) -> None:
    screen = QLabel("全县态势 · 测试屏")
    screen.setWindowTitle("大屏 1")
    screen.resize(640, 360)
    qtbot.addWidget(screen)
    screen.show()
    qtbot.waitExposed(screen)
    hidden = QLabel("hidden")
    qtbot.addWidget(hidden)
    shots, pdf = export_briefing(store, [screen, hidden], tmp_path, metrics=MetricEngine(store))
    assert len(shots) == 1, "only visible windows are captured"
    assert QImage(str(shots[0])).width() == 640
    assert pdf.is_file() and pdf.parent == shots[0].parent


def test_every_pdf_figure_is_the_catalogues_with_its_footnote(qapp, store: Store, tmp_path) -> None:
    """The report's KPI cards and SLA boxes print the catalogue's values (as the hall's
    tiles do) and a footnote per metric with definition, window, n and as-of."""
    from commandcenter.metrics.catalogue import KPI_TILES
    from commandcenter.metrics.engine import MetricEngine
    from commandcenter.metrics.explain import footnote
    from widgets.chrome.report import SLA_BOXES

    now = store.clock.now()
    engine = MetricEngine(store)
    path = export_pdf(store, tmp_path / "report.pdf", ReportOptions(typical=0), now=now,
                      metrics=engine)  # fmt: skip
    # one dash (the font maps – to ‒) and 黄 (extracted as the radical ⻩, which NFKC keeps)
    text = re.sub(r"[‒–—]", "-", pdf_text(path)).replace("\u2ee9", "黄")
    fig = engine.figures(now)
    names = [*KPI_TILES, *(name for name, _label, _hex in SLA_BOXES)]
    def norm(t: str) -> str:  # as pdf_text, and one dash (the font maps – to ‒)
        return re.sub(r"[‒–—]", "-", re.sub(r"\s+", "", unicodedata.normalize("NFKC", t)))

    for name in names:
        mv = fig.value(name)
        # the extractor moves a long line's runs apart (the n and the times land elsewhere,
        # while the page shows them in place), so the parts are looked for one by one:
        # label with value, and definition
        head, formula, *_rest = footnote(mv, True).split("；")
        if mv.value is None:  # "—" comes out as one dash or another, by the font in use
            head = mv.metric.label_zh
        assert norm("注：" + head) in text, f"{name}: {head}"
        assert norm(formula) in text, f"{name}: its definition"
    # and the catalogue's numbers are what the warning tiles show for the same instant
    assert fig.value("open_cases").value == store.open_count()


def test_a_figure_only_the_platform_reports_gets_its_card_and_says_whose_it_is(
    qapp, store: Store, tmp_path
) -> None:
    """网上办结率 has no case of ours behind it: the PDF prints it as the hall's KPI panel
    does, as the platform's figure, with a footnote saying so (no n, no window of ours)."""
    kpi = store.kpis["online_completion"]  # the demo platform reports it
    path = export_pdf(store, tmp_path / "report.pdf", ReportOptions(typical=0),
                      now=store.clock.now(), metrics=MetricEngine(store))  # fmt: skip
    text = pdf_text(path)  # NFKC: full-width ：，； read as :,;
    value = f"{float(kpi.value):.1f}%"
    # the card: its label, whose figure it is with the platform's target, its number (the
    # extractor lists a row's labels, then their lines, then their big numbers)
    cards = text[text.index("一、核心指标") : text.index("二、时限预警")]
    assert "网上办结率" in cards and "平台报送·目标≥95.0%" in cards and value in cards
    assert f"注:网上办结率{value}:平台报送,本系统没有对应案件;政务服务事项网上办结的比例" in text
