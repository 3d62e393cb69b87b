"""Interface language: Chinese first (the duty officers' language), English on a switch.

Source strings in the code are English and go through Qt's ``tr``; the Chinese lives in
``resources/i18n/commandcenter_zh_CN.ts`` and is compiled to a ``.qm`` by the Makefile.
Switching installs or removes the translator; Qt then sends ``QEvent.LanguageChange`` to
every widget, and each widget re-reads its texts in ``retranslate()``.

Why compile on the fly as a fallback: the ``.qm`` is a build product (gitignored), and a
developer who runs the app straight from a checkout should still get the Chinese UI rather
than a silently English one. When neither the ``.qm`` nor ``lrelease`` is there, we log a
warning and stay English: never crash over a translation.

Domain words that come from data (case states, sources) are not ``tr`` strings: their
Chinese labels live in ``commandcenter.domain``; views ask ``is_chinese()`` to pick them.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger(__name__)

I18N_DIR = Path(__file__).resolve().parent.parent / "resources" / "i18n"
CATALOG = "commandcenter"
CHINESE = "zh_CN"
ENGLISH = "en"
LANGUAGES: tuple[str, ...] = (CHINESE, ENGLISH)
LANGUAGE_NAMES: dict[str, str] = {CHINESE: "中文", ENGLISH: "English"}  # each in itself

_translators: list[QTranslator] = []
_language: str = ENGLISH


def current_language() -> str:
    """The language actually in effect (English when the Chinese catalogue failed to load)."""
    return _language


def is_chinese() -> bool:
    return _language == CHINESE


def ts_path(language: str = CHINESE) -> Path:
    return I18N_DIR / f"{CATALOG}_{language}.ts"


def qm_path(language: str = CHINESE) -> Path:
    return I18N_DIR / f"{CATALOG}_{language}.qm"


def _find_lrelease() -> str | None:
    """pyside6-lrelease beside the running interpreter first (the venv), then on PATH."""
    here = Path(sys.executable).parent
    for candidate in (here / "pyside6-lrelease", here / "lrelease"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("pyside6-lrelease") or shutil.which("lrelease")


def compile_catalog(language: str = CHINESE, out: Path | None = None) -> Path | None:
    """Compile the ``.ts`` with lrelease; returns the ``.qm`` or None (and says why)."""
    src = ts_path(language)
    if not src.exists():
        log.warning("no translation source %s", src)
        return None
    tool = _find_lrelease()
    if tool is None:
        log.warning("pyside6-lrelease not found: cannot compile %s", src.name)
        return None
    targets = [out] if out else [qm_path(language)]
    if out is None:  # the checkout may be read-only (installed package): try a temp dir too
        targets.append(Path(tempfile.gettempdir()) / f"{CATALOG}_{language}.qm")
    for target in targets:
        try:
            res = subprocess.run(
                [tool, "-silent", str(src), "-qm", str(target)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as err:
            log.warning("lrelease failed on %s: %s", src.name, err)
            return None
        if res.returncode == 0 and target.exists():
            return target
        log.warning("lrelease could not write %s: %s", target, res.stderr.strip()[:300])
    return None


def _catalog_for(language: str) -> Path | None:
    qm = qm_path(language)
    src = ts_path(language)
    stale = qm.exists() and src.exists() and src.stat().st_mtime > qm.stat().st_mtime
    if qm.exists() and not stale:
        return qm
    if stale:
        log.info("%s is older than its .ts: recompiling", qm.name)
    return compile_catalog(language) or (qm if qm.exists() else None)


def set_language(app: QCoreApplication, language: str) -> str:
    """Switch the interface language; returns the language in effect afterwards.

    Widgets retranslate before this returns (the LanguageChange events Qt posts are
    delivered here), so a caller may read the new texts at once.
    """
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
    for tr in _translators:
        app.removeTranslator(tr)
    _translators.clear()
    effective = ENGLISH
    if language == CHINESE:
        qm = _catalog_for(language)
        tr = QTranslator(app)
        if qm is not None and tr.load(str(qm)):
            app.installTranslator(tr)
            _translators.append(tr)
            effective = CHINESE
            # Qt's own dialogs and context menus (copy, select all...) in Chinese too.
            qt_tr = QTranslator(app)
            qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
            if qt_tr.load(
                QLocale(QLocale.Language.Chinese, QLocale.Country.China), "qtbase", "_", qt_dir
            ):
                app.installTranslator(qt_tr)
                _translators.append(qt_tr)
        else:
            log.warning("Chinese translation unavailable (%s): staying in English", qm)
    _language = effective
    QLocale.setDefault(
        QLocale(QLocale.Language.Chinese, QLocale.Country.China)
        if effective == CHINESE
        else QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    )
    # Removing every translator posts no event when there was none installed: send one so
    # widgets built before the first switch still refresh their language-dependent data.
    if not _translators:
        QCoreApplication.postEvent(app, QEvent(QEvent.Type.LanguageChange))
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LanguageChange)
    return effective
