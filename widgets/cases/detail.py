"""The "case_detail" panel: everything about the one case the officer is handling.

It follows the shared selection (the queue, the map, the alarms select; this shows). Top
to bottom it answers: what and where (title, category, area, countdown), what this
console has in flight for it (pending, conflict, refused), what can be done now (action
buttons enabled by ``lifecycle.legal_actions`` for the role, each disabled one saying
why in its tooltip), who did what when (the timeline), where it is (a mini map with the
nearest units and cameras), who reported it (masked by default; revealing is written to
the audit log), attachments and the nearby cameras.

The mini map projects with ``commandcenter.geo`` (Web Mercator), the same code as the
county map; it paints a few dozen points itself instead of embedding a second map.
"""

from __future__ import annotations

import html
import math
from typing import Any

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from commandcenter.actions import NEEDS_ATTENTION, ItemState, OutboxItem
from commandcenter.dispatch import nearest_units
from commandcenter.geo import lonlat_to_mercator
from commandcenter.hall_time import local
from commandcenter.nearby_cameras import nearest_cameras
from commandcenter.privacy import Mask
from commandcenter.selection import Selection
from commandcenter.sla import format_remaining
from commandcenter.store import ChangeSet
from widgets import theme
from widgets.base import Panel, PanelContext
from widgets.cases import common, desk
from widgets.cases.common import Action
from widgets.i18n import zh_en
from widgets.labels import source_label, state_label
from widgets.media.nearby_view import NearbyCameraView
from widgets.registry import register

MAP_RADIUS_M = 2500.0  # half the mini map's width: the neighbourhood of the incident
UNIT_COLOURS = {"available": "green", "en_route": "amber", "busy": "yellow"}


class MiniMap(QWidget):
    """The case, the nearest units and cameras around it, north up, with a scale bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("caseMiniMap")
        self.setMinimumSize(220, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.centre: tuple[float, float] | None = None
        self.units: list[tuple[float, float, str, str]] = []  # lon, lat, status, name
        self.cameras: list[tuple[float, float, str]] = []

    def set_points(
        self,
        centre: tuple[float, float] | None,
        units: list[tuple[float, float, str, str]],
        cameras: list[tuple[float, float, str]],
    ) -> None:
        self.centre, self.units, self.cameras = centre, units, cameras
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = theme.colors()
        p.fillRect(self.rect(), QColor(c["surface_alt"]))
        p.setPen(QPen(QColor(c["border"]), 1))
        w, h = self.width(), self.height()
        for i in range(1, 4):
            p.drawLine(int(w * i / 4), 0, int(w * i / 4), h)
            p.drawLine(0, int(h * i / 4), w, int(h * i / 4))
        if self.centre is None:
            p.end()
            return
        cx, cy = (float(v) for v in lonlat_to_mercator(*self.centre))
        # Wide enough for the nearest unit and camera (the question is "who can go"),
        # never a whole county: between 1 and 10 km either side.
        far = [
            _ground_m(self.centre, (lon, lat))
            for lon, lat, *_ in (*self.units[:3], *self.cameras[:2])
        ]
        radius = min(10_000.0, max(MAP_RADIUS_M / 2.5, 1.15 * max(far, default=MAP_RADIUS_M)))
        # Mercator metres grow with latitude; the scale bar below is in ground metres.
        scale_x = min(w, h) / 2 / (radius / max(0.2, _cos_lat(self.centre[1])))

        def xy(lon: float, lat: float) -> QPointF:
            x, y = (float(v) for v in lonlat_to_mercator(lon, lat))
            return QPointF(w / 2 + (x - cx) * scale_x, h / 2 - (y - cy) * scale_x)

        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        for lon, lat, _name in self.cameras:
            pt = xy(lon, lat)
            tri = QPolygonF([pt + QPointF(0, -6), pt + QPointF(5, 4), pt + QPointF(-5, 4)])
            p.setPen(QPen(QColor(c["accent"]), 1))
            p.setBrush(QBrush(QColor(c["blue_bg"])))
            p.drawPolygon(tri)
        fm = QFontMetricsF(font)
        for lon, lat, status, name in self.units:
            pt = xy(lon, lat)
            col = QColor(c[UNIT_COLOURS.get(status, "grey")])
            p.setPen(QPen(col.darker(150), 1))
            p.setBrush(QBrush(col))
            p.drawEllipse(pt, 5, 5)
            if not (0 <= pt.x() <= w and 0 <= pt.y() <= h):
                continue  # a unit beyond the edge: its label would show cut in half
            # the name beside the dot, on whichever side it fits, never cut at an edge
            text = fm.elidedText(name, Qt.TextElideMode.ElideRight, w / 2)
            p.setPen(QColor(c["text_dim"]))
            p.drawText(QPointF(label_x(pt.x(), fm.horizontalAdvance(text), w), pt.y() + 4), text)
        centre = QPointF(w / 2, h / 2)
        p.setPen(QPen(QColor(c["text_strong"]), 2))
        p.setBrush(QBrush(QColor(c["red"])))
        p.drawEllipse(centre, 8, 8)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(c["red"]), 1.5))
        p.drawEllipse(centre, 16, 16)
        bar = 1000.0 * scale_x * max(0.2, _cos_lat(self.centre[1]))
        p.setPen(QPen(QColor(c["text"]), 2))
        p.drawLine(QPointF(10, h - 12), QPointF(10 + bar, h - 12))
        p.drawText(QRectF(10, h - 30, 80, 16), "1 km")
        p.end()


def label_x(dot_x: float, text_w: float, width: float, gap: float = 7.0) -> float:
    """Where a dot's label starts: right of the dot, or left of it where the right side
    would run past the edge, and never before the left edge."""
    x = dot_x + gap if dot_x + gap + text_w <= width - 2 else dot_x - gap - text_w
    return max(2.0, x)


def _ground_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    from commandcenter.geo import haversine_m

    return float(haversine_m(a[0], a[1], b[0], b[1]))


def _cos_lat(lat: float) -> float:
    return math.cos(math.radians(lat))


@register
class CaseDetailPanel(Panel):
    name = "case_detail"
    title_zh = "案件详情"
    title_en = "Case detail"
    icon = "🗎"
    description_zh = "这件事怎么办？时间线、位置、附近力量和监控、可执行的操作"
    description_en = "How do I handle this one? Timeline, place, nearby units and cameras, actions"
    said = Signal(str, bool)  # (text, is_error) for the window's status line

    def __init__(self, ctx: PanelContext, settings: dict[str, Any] | None = None) -> None:
        super().__init__(ctx, settings)
        self.case_id = ""
        self._awaiting = ""  # outbox key of the action the message says is waiting
        self.revealed: set[str] = set()
        self.head = QLabel(self.body)
        self.head.setObjectName("caseHead")
        self.head.setWordWrap(True)
        self.head.setTextFormat(Qt.TextFormat.RichText)
        self.pending = QLabel(self.body)
        self.pending.setObjectName("casePending")
        self.pending.setWordWrap(True)
        self.pending.setTextFormat(Qt.TextFormat.RichText)  # ours; data in it is escaped
        self.message = QLabel(self.body)
        self.message.setObjectName("caseMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)  # ours; data in it is escaped
        self.buttons: dict[Action, QPushButton] = {}
        button_row = QGridLayout()
        button_row.setSpacing(4)
        c = theme.colors()
        self.setStyleSheet(
            f"QPushButton:disabled {{ color: {c['text_dim']}; background: {c['surface']};"
            f" border: 1px dashed {c['border']}; }}"
        )
        for i, action in enumerate(common.DESK_ACTIONS):
            b = QPushButton(self.body)
            b.setObjectName(f"caseAction-{action.value}")
            b.setMinimumHeight(30)
            b.clicked.connect(lambda _=False, a=action: self.act(a))
            self.buttons[action] = b
            button_row.addWidget(b, i // 5, i % 5)
        self.button_row, self._button_cols = button_row, 5
        self.timeline = QTreeWidget(self.body)
        self.timeline.setObjectName("caseTimeline")
        self.timeline.setRootIsDecorated(False)
        self.timeline.setAlternatingRowColors(True)
        self.minimap = MiniMap(self.body)
        self.reporter = QLabel(self.body)
        self.reporter.setObjectName("caseReporter")
        self.reporter.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reveal_button = QPushButton(self.body)
        self.reveal_button.setObjectName("caseReveal")
        self.reveal_button.clicked.connect(self.reveal)
        self.media = QLabel(self.body)
        self.media.setObjectName("caseMedia")
        self.media.setOpenExternalLinks(True)
        self.media.setWordWrap(True)
        self.cameras = QLabel(self.body)
        self.cameras.setObjectName("caseCameras")
        self.cameras.setWordWrap(True)
        self.cameras.setTextFormat(Qt.TextFormat.PlainText)  # camera names are feed data
        self.reporter.setTextFormat(Qt.TextFormat.PlainText)
        self.reporter.setWordWrap(True)  # a long name must not widen the panel
        self.camera_view = NearbyCameraView(self.body, ctx.status.video)
        self.empty = QLabel(self.body)
        self.empty.setObjectName("placeholderMessage")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        reporter_row = QHBoxLayout()
        reporter_row.addWidget(self.reporter, 1)
        reporter_row.addWidget(self.reveal_button)
        side = QVBoxLayout()
        side.addWidget(self.minimap, 3)
        side.addLayout(reporter_row)
        side.addWidget(self.media)
        side.addWidget(self.cameras)
        side.addWidget(self.camera_view, 2)
        side.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.timeline, 3)
        middle.addLayout(side, 2)
        content = QWidget(self.body)
        inner = QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.head)
        inner.addWidget(self.pending)
        inner.addLayout(button_row)
        inner.addWidget(self.message)
        inner.addLayout(middle, 1)
        self.content = content
        scroll = QScrollArea(self.body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.addWidget(self.empty)
        layout.addWidget(scroll, 1)
        self.scroll = scroll
        self.hold(ctx.selection.subscribe(self._on_selection))
        self.listen(ctx.bridge.changed, self._on_changed)
        self.listen(ctx.bridge.tick, self._refresh_head)
        if ctx.outbox is not None:
            self.hold(ctx.outbox.subscribe(self._on_outbox))
        self.retranslate()
        if ctx.selection.case_ids:
            self.show_case(ctx.selection.case_ids[0])
        else:
            self.show_case("")

    # ---- following -----------------------------------------------------------------------

    def _on_selection(self, selection: Selection) -> None:
        self.show_case(selection.case_ids[0] if selection.case_ids else "")

    def _on_changed(self, cs: ChangeSet) -> None:
        if self.case_id and (cs.reset or self.case_id in cs.cases_updated):
            self.show_case(self.case_id)

    def _on_outbox(self, item: OutboxItem) -> None:
        if not self.torn_down and item.case_id == self.case_id:
            self._refresh_pending()
            self._refresh_buttons()
            if item.key == self._awaiting and item.is_resolved:
                # "已提交，待服务器确认" gives way to the server's answer.
                self._awaiting = ""
                label = common.action_label(item.action)
                if item.state is ItemState.CONFIRMED:
                    text = zh_en("{case} {action}：服务器已确认", "{case} {action}: confirmed")
                    self._show_outcome(
                        common.Outcome(True, text.format(case=item.case_id, action=label))
                    )
                else:
                    self._show_outcome(
                        common.Outcome(
                            False,
                            f"{item.case_id} {label}：{common.item_state_label(item.state)} — "
                            f"{common.refusal_text(item.reason)}",
                        )
                    )

    def show_case(self, case_id: str) -> None:
        case = self.ctx.store.case(case_id) if case_id else None
        if case_id != self.case_id:
            self.message.clear()
            self._awaiting = ""
        self.case_id = case.id if case is not None else ""
        self.empty.setVisible(case is None)
        self.scroll.setVisible(case is not None)
        if case is None:
            return
        self._refresh_head()
        self._refresh_pending()
        self._refresh_buttons()
        self._refresh_timeline(case)
        self._refresh_reporter(case)
        self._refresh_place(case)

    # ---- sections ------------------------------------------------------------------------

    def _mask(self) -> Mask:
        return Mask.off() if self.case_id in self.revealed else Mask(enabled=True)

    def _refresh_head(self) -> None:
        case = self.ctx.store.case(self.case_id) if self.case_id else None
        if case is None:
            return
        store = self.ctx.store
        sla = store.policy.evaluate(case, store.clock.now())
        c = theme.colors()
        if sla.level is None:
            badge = f"<span style='color:{c['text_dim']}'>—</span>"
        else:
            colour = c[str(sla.level)]
            left = (
                zh_en("超期 {time}", "overdue {time}").format(time=format_remaining(-sla.remaining))
                if sla.remaining < 0
                else zh_en("剩余 {time}", "{time} left").format(
                    time=format_remaining(sla.remaining)
                )
            )
            badge = (
                f"<span style='background:{colour}; color:{c['on_badge']};'>"
                f"&nbsp;{html.escape(left)}&nbsp;</span>"
            )
        masked = self._mask().case(case)
        urgent = (
            f"<span style='color:{c['red']}'>{zh_en('紧急', 'Urgent')}</span>　"
            if case.urgency == "urgent"
            else ""
        )
        title = common.field_html(getattr(masked, "title", "") or case.category, 100)
        where = " / ".join(
            x for x in (store.display_name(case.township), store.display_name(case.grid)) if x
        )
        assignee = store.display_name(case.assignee)
        meta = [
            common.field_html(case.category, 80),
            html.escape(source_label(case.source)),
            common.field_html(where, 160),
            f"<b>{html.escape(state_label(case.state))}</b>",
        ]
        if assignee:
            meta.append(
                zh_en("承办：{name}", "assigned to {name}").format(
                    name=common.field_html(assignee, 80)
                )
            )
        if case.supervised:
            meta.append(zh_en("督办 ×{n}", "supervised ×{n}").format(n=case.supervised))
        self.head.setText(
            f"<div style='font-size:16pt'><b>{urgent}{common.field_html(case.id, 60)}　{title}</b>"
            f"　{badge}</div>"
            f"<div style='color:{c['text_dim']}'>{' · '.join(meta)}</div>"
            # Clipped: the head must leave the action buttons in view whatever the feed sends
            # (the full description is in the timeline and the export).
            f"<div>{common.field_html(getattr(masked, 'address', '') or '', 120)}　"
            f"{common.field_html(getattr(masked, 'description', '') or '', 200)}</div>"
        )

    def _refresh_pending(self) -> None:
        outbox = self.ctx.outbox
        items = outbox.items(self.case_id, limit=5) if outbox is not None else []
        shown = [
            i
            for i in items
            if not i.is_resolved or (i.state in NEEDS_ATTENTION and not i.acknowledged)
        ]
        c = theme.colors()
        lines = []
        for it in reversed(shown):
            colour = c["red"] if it.state in NEEDS_ATTENTION else c["amber"]
            detail = common.refusal_text(it.reason) if it.reason else it.last_error
            lines.append(
                f"<span style='color:{colour}'><b>{html.escape(common.marker_text(it))}</b></span>"
                + (f"　{common.field_html(detail)}" if detail else "")
            )
        self.pending.setText("<br>".join(lines))
        self.pending.setVisible(bool(lines))

    def _refresh_buttons(self) -> None:
        case = self.ctx.store.case(self.case_id) if self.case_id else None
        for action, b in self.buttons.items():
            # "Verify & close": an ampersand on a button is a mnemonic unless doubled.
            label = common.action_label(action.value).replace("&", "&&")
            b.setText(label + common.key_hint(action))
            reason = desk.refusal_reason(self.ctx, case, action) if case is not None else ""
            b.setEnabled(reason is None)
            b.setToolTip(reason or "")

    def _refresh_timeline(self, case: Any) -> None:
        mask = self._mask()
        self.timeline.clear()
        for e in reversed(list(getattr(case, "timeline", []) or [])):
            m = mask.timeline_entry(e, (case.reporter_name,) if case.reporter_name else ())
            it = QTreeWidgetItem(
                [
                    local(e.ts).strftime("%m-%d %H:%M:%S"),
                    common.action_label(e.action),
                    m.actor,
                    state_label(e.state),
                    m.note,
                ]
            )
            self.timeline.addTopLevelItem(it)
        for col in range(4):
            self.timeline.resizeColumnToContents(col)

    def _refresh_reporter(self, case: Any) -> None:
        revealed = case.id in self.revealed
        mask = Mask.off() if revealed else Mask(enabled=True)
        name = mask.name(case.reporter_name or "") or "—"
        phone = mask.phone(case.reporter_phone or "") or "—"
        self.reporter.setText(
            zh_en("报告人：{name}　{phone}", "Reporter: {name}  {phone}").format(
                name=common.clip(name, 80), phone=common.clip(phone, 40)
            )
        )
        self.reveal_button.setVisible(bool(case.reporter_name or case.reporter_phone))
        self.reveal_button.setEnabled(not revealed)
        self.reveal_button.setText(
            zh_en("已显示（已留痕）", "Shown (logged)")
            if revealed
            else zh_en("显示（留痕）", "Reveal")
        )

    def _refresh_place(self, case: Any) -> None:
        store = self.ctx.store
        units = nearest_units(store, case.lon, case.lat, k=5)
        pts = []
        for u in units:
            rec = store.units.get(u.unit_id)
            if rec is not None:
                pts.append((rec.lon, rec.lat, u.status, u.name))
        cams = nearest_cameras(store.cameras, case.lon, case.lat, 4, max_m=3000)
        cam_pts = [
            (store.cameras[cid].lon, store.cameras[cid].lat, store.cameras[cid].name)
            for cid, _d in cams
        ]
        self.minimap.set_points((case.lon, case.lat), pts, cam_pts)
        near = cams[0][0] if cams else ""
        if near != self.camera_view.camera_id or not near:
            self.camera_view.show_camera(
                near, store.cameras.get(near) if near else None, cams[0][1] if cams else 0.0
            )
        if cams:
            self.cameras.setText(
                zh_en("附近监控：{list}", "Cameras nearby: {list}").format(
                    list="；".join(
                        f"{common.clip(store.cameras[cid].name, 80)} {d:.0f} m" for cid, d in cams
                    )
                )
            )
        else:
            self.cameras.setText(zh_en("3 公里内无监控", "No camera within 3 km"))
        extra = store.case_extra(case.id)
        links = []
        for key in ("media", "attachments", "photos", "videos"):
            for v in extra.get(key, []) or []:
                url = v.get("url") if isinstance(v, dict) else str(v)
                if url:
                    label = v.get("name", url) if isinstance(v, dict) else url.rsplit("/", 1)[-1]
                    links.append(f"<a href='{html.escape(url)}'>{html.escape(str(label))}</a>")
        self.media.setText(
            zh_en("附件：{list}", "Attachments: {list}").format(list="　".join(links))
            if links
            else zh_en("无附件", "No attachments")
        )

    # ---- actions -------------------------------------------------------------------------

    def act(self, action: Action) -> common.Outcome | None:
        """A button (or its key, when the detail has the keyboard) on the shown case."""
        return desk.run_action(self, self.ctx, self.case_id, action, self._show_outcome)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """The queue's action keys work here too (the buttons show them: "签收 (s)")."""
        action = common.ACTION_KEYS.get(event.text().upper()) if event.text() else None
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if action is not None and mods in (
            Qt.KeyboardModifier.NoModifier,
            Qt.KeyboardModifier.ShiftModifier,
        ):
            self.act(action)
            event.accept()
            return
        super().keyPressEvent(event)

    def _show_outcome(self, outcome: common.Outcome) -> None:
        if outcome.item is not None and not outcome.item.is_resolved:
            self._awaiting = outcome.item.key
        c = theme.colors()
        colour = c["amber"] if outcome.ok else c["red"]
        if outcome.item is None and outcome.ok:
            colour = c["green"]
        self.message.setText(
            f"<span style='color:{colour}'><b>{common.field_html(outcome.message)}</b></span>"
        )
        if not self.torn_down:
            self.said.emit(outcome.message, not outcome.ok)

    def reveal(self) -> None:
        """Show the reporter unmasked for this case, and write who looked into the audit."""
        case = self.ctx.store.case(self.case_id) if self.case_id else None
        if case is None or case.id in self.revealed:
            return
        if self.ctx.audit is not None:
            self.ctx.audit.record(
                actor=self.ctx.actor or "duty",
                role=self.ctx.role.value,
                case_id=case.id,
                action="reveal_reporter",
                params={"fields": ["reporter_name", "reporter_phone"]},
                result="shown",
            )
        self.revealed.add(case.id)
        self.show_case(case.id)

    # ---- language ------------------------------------------------------------------------

    def retranslate(self) -> None:
        super().retranslate()
        if not hasattr(self, "timeline") or self.torn_down:
            return
        self.timeline.setHeaderLabels(
            [
                zh_en("时间", "Time"),
                zh_en("操作", "Action"),
                zh_en("操作人", "Who"),
                zh_en("状态", "State"),
                zh_en("说明", "Note"),
            ]
        )
        self.empty.setText(
            zh_en(
                "请在案件队列、地图或告警中选择一件案件",
                "Select a case in the queue, the map or the alarms",
            )
        )
        self.reveal_button.setToolTip(
            zh_en(
                "显示报告人姓名和电话；操作日志会记录您的查看",
                "Show the reporter's name and phone; the audit log records that you did",
            )
        )
        if self.case_id:
            self.show_case(self.case_id)
        else:
            self._refresh_buttons()
        self._reflow_buttons()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._reflow_buttons()

    def _reflow_buttons(self) -> None:
        """As many action buttons per row as fit (5 at most): English labels such as
        "Reject (back to handling) (r)" are wider, and a row wider than the dock pushed
        the last buttons out of sight."""
        if not hasattr(self, "button_row"):
            return
        room = self.content.width() or self.width()
        widest = max(b.sizeHint().width() for b in self.buttons.values()) + 4
        cols = max(2, min(5, room // max(1, widest)))
        if cols == self._button_cols:
            return
        self._button_cols = cols
        for b in self.buttons.values():
            self.button_row.removeWidget(b)
        for i, b in enumerate(self.buttons.values()):
            self.button_row.addWidget(b, i // cols, i % cols)
        for c in range(5):
            self.button_row.setColumnStretch(c, 1 if c < cols else 0)

    def on_teardown(self) -> None:
        self.camera_view.release()
        dlg = getattr(self, "dispatch_dialog", None)
        if dlg is not None and shiboken6.isValid(dlg):
            dlg.close()
