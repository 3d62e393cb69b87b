"""Refusals in the officer's language: every reason the life cycle (or the reference
server) gives reads back into its code, and the console words it in Chinese or English
without a word of the other language."""

from __future__ import annotations

import os
import re
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from commandcenter import lifecycle
from commandcenter.domain import CaseState, Role
from tests.test_lifecycle_oracle import GOOD
from widgets import i18n
from widgets.cases import common

CJK = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def every_reason() -> list[str]:
    out = set()
    for state in CaseState:
        for action in lifecycle.Action:
            for role in Role:
                for params in ({}, GOOD.get(action, {})):
                    reason = lifecycle.check(state, action.value, role, params)
                    if reason is not None:
                        out.add(reason)
    out.add(lifecycle.check(CaseState.REPORTED, "fly", Role.SYSTEM) or "")
    robot = {"assignee": "R2", "assignee_kind": "robot"}
    out.add(lifecycle.check(CaseState.SIGNED, "assign", Role.DUTY_OFFICER, robot) or "")
    out.update({"case is at version 7, not 6", "no case PD0000123"})  # the server's own
    return sorted(out)


def test_every_reason_reads_back_into_its_code() -> None:
    reasons = every_reason()
    codes = set()
    for reason in reasons:
        why = lifecycle.Refusal.parse(reason)
        assert why is not None, reason
        assert why.text() == reason
        codes.add(why.code)
    assert codes == set(lifecycle.REFUSAL_TEXTS)
    assert lifecycle.Refusal.parse("the server is on fire") is None


@pytest.mark.parametrize("lang", [i18n.CHINESE, i18n.ENGLISH])
def test_refusals_are_worded_in_the_ui_language_only(qapp: Any, lang: str) -> None:
    i18n.set_language(qapp, lang)
    try:
        for reason in every_reason():
            text = common.refusal_text(reason)
            if lang == i18n.CHINESE:
                words = LATIN_WORD.findall(text.replace("PD0000123", "").replace("fly", "").replace("robot", ""))
                assert not words, (reason, text)
            else:
                assert not CJK.search(text), (reason, text)
    finally:
        i18n.set_language(qapp, i18n.CHINESE)


def test_the_case_in_the_issue_reads_in_chinese(qapp: Any) -> None:
    i18n.set_language(qapp, i18n.CHINESE)
    reason = lifecycle.check(CaseState.HANDLING, "sign", Role.DUTY_OFFICER)
    assert common.refusal_text(reason or "") == "案件处置中，不能签收：请等待承办人反馈办结"
    assert common.action_label("discover") == "发现", "the timeline's first step"
    i18n.set_language(qapp, i18n.ENGLISH)
    assert common.action_label("discover") == "Discovered"
    i18n.set_language(qapp, i18n.CHINESE)
