"""The cameras' stream troubles as rows for the feed status panel: a camera that keeps
stalling is a link problem, shown where the hall looks for link problems."""

from __future__ import annotations

from commandcenter.video_health import VideoHealth
from widgets.i18n import is_chinese


def video_rows(health: VideoHealth, limit: int = 20) -> list[tuple[str, str, int]]:
    """(kind, reason, count) rows: per troubled camera its stalls and failures, with its
    recoveries and decoding path in the reason."""
    zh = is_chinese()
    rows: list[tuple[str, str, int]] = []
    for h in health.troubled()[:limit]:
        kind = "视频" if zh else "video"
        path = {
            "software": "软件解码" if zh else "software",
            "hardware": "硬件解码" if zh else "hardware",
        }.get(h.decode, "")
        if zh:
            reason = (
                f"{h.camera_id} 中断 {h.stalls} 次 · 失败 {h.failures} 次 · 恢复 {h.recoveries} 次"
                f" · 当前 {h.state}"
            )
        else:
            reason = (
                f"{h.camera_id} stalls {h.stalls} · failures {h.failures} · "
                f"recoveries {h.recoveries} · now {h.state}"
            )
        if path:
            reason += f" · {path}"
        if h.last_reason:
            reason += f" · {h.last_reason}"
        rows.append((kind, reason, h.stalls + h.failures))
    return rows
