"""The "hot_topics" panel: what are residents complaining about, what is new, where?

Keywords from the case texts (``commandcenter.topics``: jieba for Chinese, English words,
a stop-word list) ranked by heat, each with its recent count, what the baseline week
would predict, and a burst mark when it clearly exceeds that; beside them, repeat
complaints (the same place and category again and again). Clicking a topic or a repeat
group selects its cases, so the map shows where. The texts shown (one example per topic)
pass through the screen's masking policy: a briefing screen never shows a caller's name
or number.

Segmentation takes about a second to load and a few milliseconds per case, so it runs on
the insights worker; each case's keywords are kept by id (a text does not change).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from commandcenter import topics as TP
from commandcenter.store import ChangeSet
from widgets import theme
from widgets.base import Panel, PanelContext, Setting
from widgets.i18n import is_chinese, zh_en
from widgets.insights.common import Job, relay
from widgets.masking import mask_of
from widgets.plaintext import plain_tooltip
from widgets.registry import register
from widgets.table_model import LEFT, RIGHT, Column, TableModel

WINDOWS_S: dict[str, float] = {"3h": 3 * TP.HOUR, "24h": TP.DAY, "7d": 7 * TP.DAY}


class TopicModel(TableModel):
    """Hot keywords: keyword, heat, recent count, expected, burst, where."""

    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("热词", "Keyword", LEFT),
        Column("热度", "Heat", RIGHT),
        Column("近期", "Recent", RIGHT),
        Column("基线预期", "Expected", RIGHT),
        Column("突增", "Burst", RIGHT),
        Column("主要乡镇", "Mostly in", LEFT),
    )

    def __init__(self, store: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self.store = store

    def set_topics(self, topics: list[TP.Topic]) -> None:
        self.set_rows(topics)

    def display(self, t: TP.Topic, col: int) -> str:
        if col == 0:
            return t.keyword
        if col == 1:
            return f"{t.heat:.1f}"
        if col == 2:
            return f"{t.recent:,}"
        if col == 3:
            return "—" if math.isnan(t.expected) else f"{t.expected:.1f}"
        if col == 4:
            if t.burst is None:
                return zh_en("基线不足", "no baseline")
            return f"▲ ×{t.ratio:.1f}" if t.burst else f"×{t.ratio:.1f}"
        # the township says "where" at a glance; the grids are in the tooltip
        if t.townships:
            town, n = t.townships[0]
            return f"{self.store.display_name(town)} {n}/{t.recent}"
        return ""

    def cell(self, t: TP.Topic, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and col in (0, 4) and t.burst:
            return theme.color("red")
        return None

    def tooltip(self, t: TP.Topic, col: int) -> str:
        if is_chinese():
            base = (
                "基线期（前一周）数据不足：现有数据未覆盖前一周（时长不足 2 小时、案件少于 10 件，"
                "或案件量远低于近期），无法判断是否突增"
                if t.burst is None
                else f"基线期 {t.baseline} 件，按时长折算预期 {t.expected:.1f} 件；"
                f"z = {t.z:.1f}，倍数 {t.ratio:.1f}（z ≥ 3 且倍数 ≥ 2 为突增）"
            )
            return (
                f"“{t.keyword}”：近期 {t.recent} 件，热度 {t.heat:.2f}"
                f"（每件按距今时间衰减，半衰期 6 小时）。{base}。主要网格：{self._grids(t)}。"
                "点击在地图上查看这些案件。"
            )
        base = (
            "not enough baseline: the data held does not cover the week before (under 2 hours, "
            "under 10 cases, or far fewer cases than recently), so a burst cannot be judged"
            if t.burst is None
            else f"baseline {t.baseline} cases, {t.expected:.1f} expected for this window; "
            f"z = {t.z:.1f}, ratio {t.ratio:.1f} (burst: z >= 3 and ratio >= 2)"
        )
        return (
            f"“{t.keyword}”: {t.recent} recent cases, heat {t.heat:.2f} (each case weighed by "
            f"its age, half-life 6 h). {base}. Grids: {self._grids(t)}. "
            "Click to see these cases on the map."
        )

    def _grids(self, t: TP.Topic) -> str:
        return ", ".join(f"{self.store.display_name(g)} ({n})" for g, n in t.grids[:3])


class RepeatModel(TableModel):
    """Repeat complaints: place (masked), category, count."""

    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("地点", "Place"),
        Column("类别", "Category"),
        Column("次数", "Times", RIGHT),
    )

    def __init__(self, store: Any, mask: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self.store = store
        self.mask = mask

    @property
    def groups(self) -> list[TP.RepeatGroup]:
        return self.rows

    def set_groups(self, groups: list[TP.RepeatGroup]) -> None:
        self.set_rows(groups)

    def place(self, g: TP.RepeatGroup) -> str:
        if g.by_address:
            return self.mask.address(g.place)
        return self.store.display_name(g.place)

    def display(self, g: TP.RepeatGroup, col: int) -> str:
        return (self.place(g), g.category, f"{g.count}")[col]

    def cell(self, g: TP.RepeatGroup, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and col == 2 and g.count >= 3:
            return theme.color("amber")
        return None


def _table(parent: QWidget, model: QAbstractTableModel, name: str) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(False)
    hh = view.horizontalHeader()
    hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    hh.setStretchLastSection(True)
    return view


@register
class HotTopicsPanel(Panel):
    name = "hot_topics"
    title_zh = "热点诉求"
    title_en = "Hot topics"
    icon = "✹"
    description_zh = "群众在反映什么？诉求热词按热度排序、标出突增，并列出同一地点的重复投诉"
    description_en = (
        "What are residents raising? Keywords of the requests by heat with bursts marked, "
        "and repeat complaints from the same place"
    )
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "window": Setting(
            "choice",
            "24h",
            "近期时段",
            "Recent window",
            choices=tuple(WINDOWS_S),
            choice_labels_zh=("近3小时", "近24小时", "近7天"),
            choice_labels_en=("Last 3 hours", "Last 24 hours", "Last 7 days"),
        ),
        "top": Setting("int", 15, "热词条数", "Keywords shown", minimum=3, maximum=50),
        "show_repeats": Setting("bool", True, "显示重复投诉", "Show repeat complaints"),
    }
    REFRESH_MS: ClassVar[int] = 30_000

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.mask = mask_of(ctx)
        self.tokens: dict[str, list[str]] = {}  # touched on the worker only
        self.topics: list[TP.Topic] = []
        self.repeats: list[TP.RepeatGroup] = []
        self.job = Job(self._apply)
        self._dirty = False
        col = QVBoxLayout(self.body)
        col.setContentsMargins(10, 8, 10, 10)
        col.setSpacing(6)
        self.note = QLabel(self.body, objectName="sectionNote")
        self.note.setWordWrap(True)
        col.addWidget(self.note)
        self.split = QSplitter(Qt.Orientation.Horizontal, self.body)
        self.topic_model = TopicModel(ctx.store, self)
        self.repeat_model = RepeatModel(ctx.store, self.mask, self)
        self.topic_view = _table(self.split, self.topic_model, "topicTable")
        right = QWidget(self.split)
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        self.repeat_title = QLabel(right, objectName="sectionTitle")
        self.repeat_view = _table(right, self.repeat_model, "repeatTable")
        self.repeat_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.repeat_view.horizontalHeader().setStretchLastSection(False)
        rv.addWidget(self.repeat_title)
        rv.addWidget(self.repeat_view, 1)
        self.split.addWidget(self.topic_view)
        self.split.addWidget(right)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        col.addWidget(self.split, 1)
        self.example = QLabel(self.body, objectName="sectionNote")
        self.example.setWordWrap(True)
        col.addWidget(self.example)
        self.listen(self.topic_view.clicked, self._on_topic)
        self.listen(self.repeat_view.clicked, self._on_repeat)
        self.listen(relay().done, self._on_job)
        self.listen(ctx.bridge.changed, self._on_changed)
        self.timer(self.REFRESH_MS, self._tick)
        self.retranslate()
        self.recompute()

    # ---- computation -----------------------------------------------------------------

    def recompute(self) -> None:
        self._dirty = False
        self.job.request(self._make_job)

    def _make_job(self) -> Any:
        store = self.ctx.store
        now = float(store.clock.now())
        recent = WINDOWS_S[str(self.settings["window"])]
        params = TP.TopicParams(recent_s=recent)
        horizon = now - recent - params.baseline_s
        frame = store.to_frame()
        ids = frame.loc[frame["created_ts"] >= horizon, "id"] if len(frame) else []
        docs = [TP.Doc.from_case(c) for c in (store.case(str(i)) for i in ids) if c is not None]
        words = place_words(store.geography or {})
        top = int(self.settings["top"])
        tokens = self.tokens

        def run() -> tuple[list[TP.Topic], list[TP.RepeatGroup], float]:
            for tag, names in words.items():
                TP.add_words(names, tag)
            topics = TP.hot_topics(docs, now, params, top=top, tokens=tokens)
            repeats = TP.repeat_complaints(docs, now, params.repeat_s)
            return topics, repeats, recent

        return run

    def _on_changed(self, cs: ChangeSet) -> None:
        if cs.reset:
            self.recompute()
        elif cs.cases_created:
            self._dirty = True

    def _tick(self) -> None:
        if self._dirty:
            self.recompute()

    def _on_job(self, message: Any) -> None:
        self.job.on_done(message)

    def _apply(self, result: tuple[list[TP.Topic], list[TP.RepeatGroup], float]) -> None:
        if self.torn_down:
            return
        self.topics, self.repeats, _ = result
        self.topic_model.set_topics(self.topics)
        self.repeat_model.set_groups(self.repeats[:30])
        # no repeats: the note says "0" and the keywords get the whole panel
        self.repeat_view.parentWidget().setVisible(
            bool(self.settings["show_repeats"]) and bool(self.repeats)
        )
        self._write_texts()
        if self.topics:
            self._show_example(self.topics[0])

    # ---- drill-down ------------------------------------------------------------------

    def _on_topic(self, index: QModelIndex) -> None:
        self.select_topic(index.row())

    def select_topic(self, row: int) -> None:
        if 0 <= row < len(self.topics):
            t = self.topics[row]
            self.ctx.selection.select(list(t.case_ids), origin=self.selection_origin)
            self._show_example(t)

    def _on_repeat(self, index: QModelIndex) -> None:
        if 0 <= index.row() < len(self.repeat_model.groups):
            g = self.repeat_model.groups[index.row()]
            self.ctx.selection.select(list(g.case_ids), origin=self.selection_origin)

    def _show_example(self, t: TP.Topic) -> None:
        self._example_topic = t  # worded again on a language switch
        case = self.ctx.store.case(t.case_ids[0]) if t.case_ids else None
        if case is None:
            self.example.setText("")
            return
        text = self.mask.text(str(getattr(case, "description", "") or case.title))
        self.example.setText(
            zh_en("最新“{keyword}”案件：{text}", "Newest “{keyword}” case: {text}").format(
                keyword=t.keyword, text=text
            )
        )

    # ---- texts -------------------------------------------------------------------------

    def _write_texts(self) -> None:
        label = dict(
            zip(
                self.SETTINGS["window"].choices,
                self.SETTINGS["window"].choice_labels(),
                strict=True,
            )
        )[str(self.settings["window"])]
        bursts = sum(1 for t in self.topics if t.burst)
        if self.topics and all(t.burst is None for t in self.topics):
            self.note.setText(
                zh_en(
                    "{window}：{n} 个热词，按热度排序（越新权重越高）。基线不足：现有数据未覆盖前一周，暂不判断突增。点击一行在地图上查看案件。",
                    "{window}: {n} keywords by heat (newer cases weigh more). Not enough baseline: the data held does not cover the week before, so bursts are not judged. Click a row to see its cases on the map.",
                ).format(window=label, n=len(self.topics))
            )
        else:
            self.note.setText(
                zh_en(
                    "{window}：{n} 个热词，其中 {bursts} 个较前一周明显突增（▲）；热度按时间衰减，越新权重越高。点击一行在地图上查看案件。",
                    "{window}: {n} keywords, {bursts} rising sharply against the week before (▲); heat weighs newer cases more. Click a row to see its cases on the map.",
                ).format(window=label, n=len(self.topics), bursts=bursts)
            )
        self.repeat_title.setText(
            zh_en(
                "重复投诉（同一地点同一类别，7 天内）：{n} 处",
                "Repeat complaints (same place and category, 7 days): {n}",
            ).format(n=len(self.repeats))
        )
        if not self.repeats and self.settings["show_repeats"]:
            self.note.setText(self.note.text() + "\n" + self.repeat_title.text())
        self._fit_note()

    def _fit_note(self) -> None:
        """A compact dock keeps the tables' rows, not the prose: the note shrinks to its
        first sentence (the whole of it in the tooltip) and the example line goes."""
        full = self.note.text()
        if self.compact:
            head = full.split("。", 1)[0].split(". ", 1)[0].split("\n", 1)[0]
            self.note.setText(head + ("。" if is_chinese() else "."))
            self.note.setToolTip(plain_tooltip(full))
        else:
            self.note.setToolTip("")
        self.example.setVisible(not self.compact)

    def on_compact_changed(self, compact: bool) -> None:
        self.split.setOrientation(Qt.Orientation.Vertical if compact else Qt.Orientation.Horizontal)
        if hasattr(self, "example"):
            self._write_texts()

    def apply_settings(self) -> None:
        self.recompute()

    def retranslate(self) -> None:
        super().retranslate()
        if hasattr(self, "topic_model"):
            self.topic_model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 5)
            self.repeat_model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 2)
            self._write_texts()
            shown = getattr(self, "_example_topic", None)
            if shown is not None:
                self._show_example(shown)


def place_words(geography: dict[str, Any]) -> dict[str, list[str]]:
    """Names the segmenter should keep whole, by part of speech: townships and communities
    are places (left out of the keywords), categories are the hall's terms (kept)."""
    return {
        TP.PLACE: _names(geography, ("townships", "grids")),
        TP.TERM: _names(geography, ("categories",)),
    }


def _names(geography: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for key in keys:
        items = geography.get(key) or []
        if isinstance(items, dict):
            items = list(items.values())
        for it in items:
            if isinstance(it, dict):
                for field in ("name", "community"):
                    v = it.get(field)
                    if isinstance(v, str):
                        out.append(v)
            elif isinstance(it, str):
                out.append(it)
    return out
