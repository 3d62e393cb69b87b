"""Interface language: Chinese first (the duty officers' language), English on a switch.

One mechanism for every string: the two languages side by side where the string is used,
``zh_en("签收", "Sign")``, picked by the language in effect. Domain words (case states,
life-cycle steps, refusal reasons) live the same way in the Qt-free core
(``commandcenter.domain``, ``commandcenter.lifecycle``) as ``*_ZH``/``*_EN`` pairs.

Why not Qt Linguist (``tr()`` + ``.ts``/``.qm``), which the UI used beside this: the core
cannot call ``tr`` (it imports no Qt), so life-cycle steps and refusal reasons needed the
inline form anyway; ``tr`` looks strings up by class context, so a string moved to a base
class or a helper function silently fell back to English; and the ``.qm`` was a build
product that needed ``lrelease`` on the machine. With the pair at the call site a missing
translation is a visible syntax fact, and ``tests/test_i18n.py`` checks every pair
statically (Chinese left, no Chinese right) and walks every preset in both languages.

Switching sets the language and sends ``QEvent.LanguageChange`` to every widget; each
re-reads its texts in ``retranslate()``. Qt's own dialogs (file dialogs, context menus)
still come from Qt's shipped ``qtbase`` catalogue.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QEvent, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger(__name__)

CHINESE = "zh_CN"
ENGLISH = "en"
LANGUAGES: tuple[str, ...] = (CHINESE, ENGLISH)
LANGUAGE_NAMES: dict[str, str] = {CHINESE: "中文", ENGLISH: "English"}  # each in itself

_translators: list[QTranslator] = []
_language: str = ENGLISH  # until main.py (or a test) sets it


def current_language() -> str:
    """The language in effect."""
    return _language


def is_chinese() -> bool:
    return _language == CHINESE


def zh_en(zh: str, en: str) -> str:
    """The string in the language in effect: Chinese first, English second."""
    return zh if _language == CHINESE else en


def set_language(app: QCoreApplication, language: str) -> str:
    """Switch the interface language; returns the language in effect afterwards.

    Widgets retranslate before this returns (the LanguageChange events are delivered
    here), so a caller may read the new texts at once.
    """
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
    for tr in _translators:
        app.removeTranslator(tr)
    _translators.clear()
    _language = language
    if language == CHINESE:
        # Qt's own dialogs and context menus (copy, select all...) in Chinese too.
        qt_tr = QTranslator(app)
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if qt_tr.load(
            QLocale(QLocale.Language.Chinese, QLocale.Country.China), "qtbase", "_", qt_dir
        ):
            app.installTranslator(qt_tr)
            _translators.append(qt_tr)
        else:
            log.info("Qt's own Chinese catalogue (qtbase) not found: its dialogs stay English")
    QLocale.setDefault(
        QLocale(QLocale.Language.Chinese, QLocale.Country.China)
        if language == CHINESE
        else QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    )
    QCoreApplication.postEvent(app, QEvent(QEvent.Type.LanguageChange))
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LanguageChange)
    return language
