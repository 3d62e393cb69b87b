"""Every number explains itself: the text of a tooltip and of a PDF footnote.

Definition, window (local dates), n (the population the number stands on), as-of time,
target and direction, and why there is no number when there is none. Plain text only:
callers set it with Qt.PlainText (feed text never renders as rich text).
"""

from __future__ import annotations

from commandcenter import hall_time
from commandcenter.metrics.catalogue import UP, Metric
from commandcenter.metrics.engine import MetricValue, format_number
from commandcenter.metrics.windows import Span


def window_text(span: Span | None, chinese: bool) -> str:
    """ "2026-12-02 00:00 – 12-03 00:00" in the hall's zone, or "as of now" for a stock."""
    if span is None:
        return "当前（时点值）" if chinese else "now (a stock, as of the time below)"
    a = hall_time.local(span.start)
    b = hall_time.local(span.end)
    text = f"{a:%Y-%m-%d %H:%M} – {b:%m-%d %H:%M}"
    return (
        f"{text}（{hall_time.zone_name()}，整日）"
        if chinese
        else f"{text} ({hall_time.zone_name()}, whole days)"
    )


def target_text(m: Metric, chinese: bool) -> str:
    if m.target is None or m.direction is None:
        return "无考核目标" if chinese else "no target"
    op = "≥" if m.direction == UP else "≤"
    t = format_number(m.target, m.unit)
    return f"目标 {op} {t}" if chinese else f"target {op} {t}"


def reason_text(mv: MetricValue, chinese: bool) -> str:
    if mv.reason == "no_cases":
        return "窗口内没有可计算的案件" if chinese else "no cases to compute it from in the window"
    if mv.reason == "below_min_sample":
        k = mv.metric.min_sample
        return (
            f"样本 {mv.n} 件，少于最少 {k} 件：不给出比率"
            if chinese
            else f"n = {mv.n}, below the minimum sample of {k}: no rate shown"
        )
    return ""


def explain(mv: MetricValue, chinese: bool, *, clickable: bool = True) -> str:
    """The tooltip: several short lines a duty officer can read at a glance."""
    m = mv.metric
    as_of = hall_time.local(mv.as_of).strftime("%m-%d %H:%M:%S")
    lines = [
        f"{m.label(chinese)}：{mv.text()}" if chinese else f"{m.label(chinese)}: {mv.text()}",
        m.formula(chinese),
        ("窗口：" if chinese else "Window: ") + window_text(mv.span, chinese),
    ]
    if m.is_rate:
        lines.append(
            f"n = {mv.n}（分母），其中 {mv.numerator} 件满足条件"
            if chinese
            else f"n = {mv.n} (the denominator), {mv.numerator} of them meet the condition"
        )
    else:
        lines.append(f"n = {mv.n}")
    why = reason_text(mv, chinese)
    if why:
        lines.append(why)
    lines.append(target_text(m, chinese))
    lines.append(("截至 " if chinese else "As of ") + as_of)
    if clickable and mv.reason != "not_case_based":
        lines.append(
            f"点击：在列表和地图中选中这 {mv.n} 件案件"
            if chinese
            else f"Click: select these {mv.n} cases in the queue and on the map"
        )
    return "\n".join(lines)


def footnote(mv: MetricValue, chinese: bool) -> str:
    """One line for the PDF: definition, window, n, as-of."""
    m = mv.metric
    as_of = hall_time.local(mv.as_of).strftime("%Y-%m-%d %H:%M")
    sep = "；" if chinese else "; "
    parts = [
        f"{m.label(chinese)} {mv.text()}",
        m.formula(chinese).rstrip("。."),
        ("窗口 " if chinese else "window ") + window_text(mv.span, chinese),
        f"n = {mv.n}",
        ("截至 " if chinese else "as of ") + as_of,
    ]
    why = reason_text(mv, chinese)
    if why:
        parts.append(why)
    return sep.join(parts)
