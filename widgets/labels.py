"""The words a panel shows for the domain's codes (life-cycle state, source, link state),
in the UI's language. One module, so that every panel says 处置中 / Handling for the same
state: the Chinese labels live beside the codes in the core (commandcenter.domain,
commandcenter.status), the English ones here."""

from __future__ import annotations

from commandcenter.domain import SOURCE_LABELS_ZH, STATE_LABELS_ZH, CaseState, Source
from commandcenter.status import LINK_LABELS_ZH, LinkState
from widgets.i18n import is_chinese

# English labels of domain words; the Chinese ones live in commandcenter.domain/status.
STATE_LABELS_EN: dict[CaseState, str] = {
    CaseState.DISCOVERED: "Discovered",
    CaseState.REPORTED: "To sign",
    CaseState.SIGNED: "Signed",
    CaseState.ASSIGNED: "Dispatched",
    CaseState.RETURNED: "Returned",
    CaseState.HANDLING: "Handling",
    CaseState.COMPLETED: "Completed",
    CaseState.CLOSED: "Closed",
    CaseState.CALLED_BACK: "Called back",
    CaseState.EVALUATED: "Evaluated",
}
SOURCE_LABELS_EN: dict[Source, str] = {
    Source.HOTLINE: "12345 hotline",
    Source.GRID_WORKER: "Grid worker",
    Source.INSPECTOR: "Inspector",
    Source.VIDEO: "Video AI",
    Source.SENSOR: "IoT sensor",
    Source.OPINION: "Public opinion",
}
LINK_LABELS_EN: dict[LinkState, str] = {
    LinkState.CONNECTING: "Connecting",
    LinkState.LIVE: "Live",
    LinkState.STALE: "Stale",
    LinkState.RECONNECTING: "Reconnecting",
    LinkState.STOPPED: "Stopped",
}


def state_label(state: str) -> str:
    try:
        s = CaseState(state)
    except ValueError:
        return str(state)
    return STATE_LABELS_ZH[s] if is_chinese() else STATE_LABELS_EN[s]


def source_label(source: str) -> str:
    try:
        s = Source(source)
    except ValueError:
        return str(source)
    return SOURCE_LABELS_ZH[s] if is_chinese() else SOURCE_LABELS_EN[s]


def link_label(state: LinkState) -> str:
    return LINK_LABELS_ZH[state] if is_chinese() else LINK_LABELS_EN[state]


# What a link's last error names (``FeedStatus.error``: "cause: detail"), in words an
# officer reads at a glance; the detail (a library's own English text) stays in the tooltip.
ERROR_CAUSES: dict[str, tuple[str, str]] = {
    "timeout": ("连接超时", "timed out"),
    "connect": ("无法连接", "cannot connect"),
    "dropped": ("连接中断", "connection dropped"),
    "tls": ("证书校验失败", "certificate check failed"),
    "refused": ("被拒绝", "refused"),
    "oversized": ("数据超长，已拒收", "too large, refused"),
    "redirect_refused": ("拒绝重定向", "redirect refused"),
    "http_401": ("令牌被拒", "token refused"),
    "http_403": ("令牌被拒", "token refused"),
    "protocol": ("协议错误", "protocol error"),
    "gap": ("事件缺号", "events missing"),
    "file": ("文件错误", "file error"),
    "listen": ("监听失败", "cannot listen"),
}


def error_label(last_error: str) -> str:
    """A link's last error in the UI's language: its cause in words, the rest left out."""
    if not last_error:
        return ""
    cause = last_error.split(":", 1)[0].strip()
    zh, en = ERROR_CAUSES.get(cause, ("", ""))
    if not zh:
        if cause.startswith("http_5") or cause == "http_5xx":
            zh, en = "服务器错误", "server error"
        elif cause.startswith("history_"):
            zh, en = "历史补取失败", "history fetch failed"
        elif cause.startswith("http_"):
            zh, en = f"服务器拒绝（{cause[5:]}）", f"server refused ({cause[5:]})"
        elif cause.startswith("internal_"):
            zh, en = "内部错误，已重连", "internal error, reconnected"
        else:
            return last_error
    return zh if is_chinese() else en
