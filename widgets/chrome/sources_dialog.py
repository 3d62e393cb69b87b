"""数据源 / Sources (Ctrl+Shift+I): put another system's export into the console.

Choose a profile (a shipped one or a .toml file), choose the export file(s), look at the
first rows as read beside the same rows as mapped, see every rejection with its reason,
then import with a progress bar. Reading and mapping run off the GUI thread; loading
into the store (and the journal, so rankings, trends and time travel cover the history)
runs on it, because the store belongs to the GUI thread.

The dialog never imports ``feeds``: the shell hands it an importer (duck-typed:
``feeds.sources.service.SourceImporter``) built over the live store and the journal.
Every value from a file is shown as plain text in item views, clipped
(``widgets.plaintext``): an export is data, never markup.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from widgets.i18n import is_chinese, zh_en
from widgets.plaintext import clip

log = logging.getLogger(__name__)

SHORTCUT = "Ctrl+Shift+I"
CELL_CHARS = 120  # a cell shows at most this much of a value (the tooltip-free table)
EXPORT_FILTER = "Exports (*.csv *.xlsx *.xls *.json *.ndjson *.jsonl);;All files (*)"


# Case fields as the mapped table's headers say them (the profile format's names after).
_FIELD_NAMES_ZH = {
    "id": "编号", "created": "受理时间", "category": "类别", "status": "状态",
    "department": "承办单位", "township": "乡镇街道", "grid": "网格", "due": "办理时限",
    "closed": "办结时间", "updated": "更新时间", "address": "地址", "title": "标题",
    "description": "内容", "lat": "纬度", "lon": "经度", "rating": "满意度",
    "reporter_name": "联系人", "reporter_phone": "联系电话", "urgency": "紧急程度",
    "channel": "来源渠道", "reason": "拒绝原因",
}  # fmt: skip


def field_header(name: str) -> str:
    zh = _FIELD_NAMES_ZH.get(name)
    return f"{zh} {name}" if zh and is_chinese() else name  # the field name stays: profiles use it


class _Relay(QObject):
    """Carries a worker's progress and result to the GUI thread (queued signals)."""

    progress = Signal(str, int, int)
    done = Signal(object, object)  # (what, result or exception)


def _fill(table: QTableWidget, columns: list[str], rows: list[list[str]] | list[tuple[Any, ...]]) -> None:
    table.clear()
    table.setColumnCount(len(columns))
    table.setRowCount(len(rows))
    table.setHorizontalHeaderLabels([clip(c, 40) for c in columns])
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem(clip(str(value), CELL_CHARS))  # item text: never rich text
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


def _table(name: str) -> QTableWidget:
    t = QTableWidget(0, 0)
    t.setObjectName(name)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setWordWrap(False)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    t.horizontalHeader().setMaximumSectionSize(260)
    t.verticalHeader().setVisible(False)
    return t


class SourcesDialog(QDialog):
    """Profile, files, preview, rejections, import."""

    imported = Signal(object)  # the import's result, once loaded

    def __init__(
        self,
        importer: Any,
        parent: QWidget | None = None,
        subscribe: Callable[[str], str] | None = None,
    ) -> None:
        """``subscribe``: starts a live source from its ``--source`` text and returns its
        name (main.py's, through the shell); None where the console has no source set
        (tests, replay): then the dialog only imports."""
        super().__init__(parent)
        self.setObjectName("sourcesDialog")
        self.importer = importer
        self.subscriber = subscribe
        self.subscribed: list[str] = []
        self.watch_s = 10.0  # how often a subscribed file is looked at again
        self.files: list[Path] = []
        self.preview: Any = None
        self.result: Any = None
        self.error = ""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sources")
        self._busy = False
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._relay.done.connect(self._on_done)

        self.profile_label = QLabel()
        self.profile_box = QComboBox()
        self.profile_box.setObjectName("sourcesProfile")
        self.profile_box.addItems(importer.profiles())
        self.profile_box.currentIndexChanged.connect(lambda _i: self.refresh_preview())
        self.profile_file = QPushButton()
        self.profile_file.setObjectName("sourcesProfileFile")
        self.profile_file.clicked.connect(self._choose_profile)
        self.files_label = QLabel()
        self.files_value = QLabel()
        self.files_value.setObjectName("sourcesFiles")
        self.files_value.setTextFormat(Qt.TextFormat.PlainText)
        self.choose_files = QPushButton()
        self.choose_files.setObjectName("sourcesChooseFiles")
        self.choose_files.clicked.connect(self._choose_files)
        form = QGridLayout()
        form.addWidget(self.profile_label, 0, 0)
        form.addWidget(self.profile_box, 0, 1)
        form.addWidget(self.profile_file, 0, 2)
        form.addWidget(self.files_label, 1, 0)
        form.addWidget(self.files_value, 1, 1)
        form.addWidget(self.choose_files, 1, 2)
        form.setColumnStretch(1, 1)

        self.raw_title, self.mapped_title, self.rejects_title = QLabel(), QLabel(), QLabel()
        self.raw_table = _table("sourcesRaw")
        self.mapped_table = _table("sourcesMapped")
        self.rejects_table = _table("sourcesRejects")
        self.rejects_table.horizontalHeader().setStretchLastSection(True)  # the detail, whole
        self.reasons = QLabel()
        self.reasons.setObjectName("sourcesReasons")
        self.reasons.setTextFormat(Qt.TextFormat.PlainText)
        self.reasons.setWordWrap(True)

        def titled(title: QLabel, body: QWidget) -> QWidget:
            w = QWidget()
            v = QVBoxLayout(w)
            v.setContentsMargins(0, 0, 0, 0)
            v.addWidget(title)
            v.addWidget(body, 1)
            return w

        side = QSplitter(Qt.Orientation.Horizontal)
        side.addWidget(titled(self.raw_title, self.raw_table))
        side.addWidget(titled(self.mapped_title, self.mapped_table))
        rejects = QWidget()
        rv = QVBoxLayout(rejects)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.rejects_title)
        rv.addWidget(self.reasons)
        rv.addWidget(self.rejects_table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(side)
        split.addWidget(rejects)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        self.status = QLabel()
        self.status.setObjectName("sourcesStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("sourcesProgress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.import_button = QPushButton()
        self.import_button.setObjectName("sourcesImport")
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.start_import)
        # Subscribe: the chosen files (or their folder) stay watched as a live source of
        # their own (ids namespaced by its name, its own row in the feed status panel).
        self.subscribe_button = QPushButton()
        self.subscribe_button.setObjectName("sourcesSubscribe")
        self.subscribe_button.setEnabled(False)
        self.subscribe_button.setVisible(subscribe is not None)
        self.subscribe_button.clicked.connect(self.start_subscription)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.subscribe_button)
        bottom.addWidget(self.import_button)
        bottom.addWidget(self.close_button)

        outer = QVBoxLayout(self)
        outer.addLayout(form)
        outer.addWidget(split, 1)
        outer.addWidget(self.status)
        outer.addLayout(bottom)
        self.resize(1280, 760)
        self.retranslate()

    # ---- texts -----------------------------------------------------------------------

    def retranslate(self) -> None:
        self.setWindowTitle(zh_en("数据源", "Sources"))
        self.profile_label.setText(zh_en("映射方案", "Profile"))
        self.profile_file.setText(zh_en("从文件…", "From a file…"))
        self.files_label.setText(zh_en("导入文件", "Files"))
        self.choose_files.setText(zh_en("选择文件…", "Choose files…"))
        self.raw_title.setText(zh_en("原始数据（前 50 行）", "As read (first 50 rows)"))
        self.mapped_title.setText(zh_en("映射结果（同样 50 行）", "As mapped (the same rows)"))
        self.rejects_title.setText(zh_en("拒绝的行及原因", "Rejected rows and why"))
        self.import_button.setText(zh_en("导入", "Import"))
        self.subscribe_button.setText(zh_en("订阅（持续监视）", "Subscribe (keep watching)"))
        self.subscribe_button.setToolTip(
            zh_en(
                "把所选文件作为实时数据源持续监视：文件有新行或被替换时自动导入；"
                "案件编号加上数据源名前缀，数据链路面板中单列一行",
                "Watch the chosen files as a live source: new rows or a replaced file are "
                "imported as they come; case ids get the source's name as prefix, and the "
                "feed status panel shows it in its own row",
            )
        )
        self.close_button.setText(zh_en("关闭", "Close"))
        self._show_files()
        if not self.status.text():
            self.status.setText(zh_en("选择映射方案和文件后预览。", "Choose a profile and files to preview."))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _show_files(self) -> None:
        names = ", ".join(p.name for p in self.files)
        self.files_value.setText(clip(names, 200) if names else zh_en("（未选择）", "(none chosen)"))

    # ---- choosing ----------------------------------------------------------------------

    def profile_name(self) -> str:
        data = self.profile_box.currentData()
        return str(data) if data else self.profile_box.currentText()

    def add_profile_file(self, path: str | Path) -> bool:
        """Use a profile file; False (with the error shown) when it is not valid."""
        try:
            prof = self.importer.profile(path)
        except ValueError as err:
            self._say(zh_en("映射方案有误：", "Profile error: ") + str(err), error=True)
            return False
        self.profile_box.addItem(f"{prof.name} ({Path(path).name})", str(path))
        self.profile_box.setCurrentIndex(self.profile_box.count() - 1)
        return True

    def _choose_profile(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, zh_en("选择映射方案", "Choose a profile"), "",
                                              "Profiles (*.toml);;All files (*)")  # fmt: skip
        if path:
            self.add_profile_file(path)

    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, zh_en("选择导入文件", "Choose exports"), "",
                                                EXPORT_FILTER)  # fmt: skip
        if paths:
            self.set_files(paths)

    def set_profile(self, name: str) -> None:
        i = self.profile_box.findText(name)
        if i >= 0:
            self.profile_box.setCurrentIndex(i)

    def set_files(self, paths: list[str] | list[Path]) -> None:
        self.files = [Path(p) for p in paths]
        self._show_files()
        self.refresh_preview()

    # ---- background work ---------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._busy

    def _run(self, what: str, job: Callable[[], Any]) -> None:
        prewarm = getattr(self.importer, "prewarm", None)
        if prewarm is not None:  # first imports on this (GUI) thread, never on the worker
            prewarm()
        self._busy = True
        self.import_button.setEnabled(False)
        self.subscribe_button.setEnabled(False)
        relay = self._relay

        def work() -> None:
            try:
                out: Any = job()
            except Exception as err:  # shown in the dialog; nothing is loaded
                log.warning("sources %s failed: %s", what, err)
                out = err
            try:
                relay.done.emit(what, out)
            except RuntimeError:
                pass  # the dialog is gone

        self._pool.submit(work)

    def refresh_preview(self) -> None:
        """Preview the first file under the chosen profile (off the GUI thread)."""
        if not self.files or self._busy:
            return
        profile, path = self.profile_name(), self.files[0]
        self._say(zh_en("正在预览 ", "Previewing ") + path.name + " …")
        self._run("preview", lambda: self.importer.preview(profile, path))

    def start_import(self) -> None:
        """Map every chosen file off the GUI thread, then load it into the store."""
        if not self.files or self._busy:
            return
        profile, files = self.profile_name(), list(self.files)
        self.progress.setValue(0)
        self._say(zh_en("正在读取和映射…", "Reading and mapping…"))
        progress = self._relay.progress.emit
        self._run("prepare", lambda: self.importer.prepare(profile, files, progress))

    def start_subscription(self) -> list[str]:
        """Start one live ``file`` source per chosen file under the chosen profile; the
        names of those started (each error is shown, the others still start)."""
        if self.subscriber is None or not self.files:
            return []
        started: list[str] = []
        for path in self.files:
            if "," in str(path) or "=" in str(path):
                self._say(
                    zh_en("路径含逗号或等号，无法订阅：", "A path with a comma or '=' cannot be subscribed: ")
                    + str(path),
                    error=True,
                )
                continue
            name = _source_name(path, {*self.subscribed, *started})
            text = (
                f"file:path={path},profile={self.profile_name()},watch={self.watch_s:g},"
                f"name={name}"
            )
            try:
                started.append(self.subscriber(text))
            except (ValueError, OSError) as err:
                self._say(zh_en("无法订阅：", "Cannot subscribe: ") + str(err), error=True)
        if started:
            self.subscribed.extend(started)
            self._say(
                zh_en("已订阅：{names}（见数据链路面板）", "Subscribed: {names} (see the feed status panel)").format(
                    names=", ".join(started)
                )
            )
        return started

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        if total:
            self.progress.setValue(int(100 * done / total))
        self.status.setText(clip(stage, 200))

    def _on_done(self, what: str, out: Any) -> None:
        self._busy = False
        if isinstance(out, BaseException):
            self.error = str(out)
            self._say(zh_en("无法读取：", "Cannot read: ") + str(out), error=True)
            self.import_button.setEnabled(bool(self.files))
            self.subscribe_button.setEnabled(bool(self.files))
            return
        self.error = ""
        if what == "preview":
            self._show_preview(out)
        elif what == "prepare":
            self._say(zh_en("正在载入…", "Loading…"))
            self.result = self.importer.load(out, self._relay.progress.emit)  # the store's thread
            self.progress.setValue(100)
            r = self.result
            text = zh_en(
                "读取 {read} 行，导入 {imported}，拒绝 {rejected}",
                "read {read}, imported {imported}, rejected {rejected}",
            ).format(read=r.read, imported=r.imported, rejected=r.rejected_total)
            if r.already_imported:
                text += zh_en("；已导入过的文件已跳过：", "; already imported, skipped: ")
                text += ", ".join(p.name for p in r.already_imported)
            self._say(text)
            self.imported.emit(r)
        self.import_button.setEnabled(bool(self.files))
        self.subscribe_button.setEnabled(bool(self.files))

    def _show_preview(self, pv: Any) -> None:
        self.preview = pv
        _fill(self.raw_table, pv.raw_columns, pv.raw_rows)
        _fill(self.mapped_table, [field_header(c) for c in pv.mapped_columns], pv.mapped_rows)
        _fill(self.rejects_table, [zh_en("行号", "row"), zh_en("原因", "reason"), zh_en("详情", "detail")],
              pv.rejected_rows)  # fmt: skip
        counts = "; ".join(f"{reason}: {n}" for reason, n in sorted(pv.rejected.items(), key=lambda x: -x[1]))
        self.reasons.setText(counts or zh_en("没有被拒绝的行。", "No row is rejected."))
        rejected = sum(pv.rejected.values())
        summary = zh_en(
            "读取 {read} 行，可导入 {accepted}，拒绝 {rejected}",
            "read {read}, can import {accepted}, rejected {rejected}",
        ).format(read=pv.read, accepted=pv.accepted, rejected=rejected)
        self._say(summary + "".join(f"\n{p}" for p in pv.problems))

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setProperty("error", error)
        self.status.setText(clip(text, 2000))

    def closeEvent(self, event: Any) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        super().closeEvent(event)


class _Retitle(QObject):
    """Keeps the action's text in the language in effect."""

    def __init__(self, action: QAction, window: QWidget) -> None:
        super().__init__(window)
        self.action = action
        window.installEventFilter(self)
        self.retitle()

    def retitle(self) -> None:
        self.action.setText(zh_en("数据源…", "Sources…"))
        self.action.setStatusTip(zh_en("导入其他系统的工单导出", "Import another system's export"))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LanguageChange:
            self.retitle()
        return False


def sources_action(window: QWidget, menu: QMenu | None, open_dialog: Callable[[], Any]) -> QAction:
    """The window's 数据源 action (Ctrl+Shift+I), in ``menu`` so the palette lists it."""
    act = QAction(window)
    act.setObjectName("action-sources")
    act.setShortcut(QKeySequence(SHORTCUT))
    act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    window.addAction(act)
    if menu is not None:
        menu.addAction(act)
    _Retitle(act, window)
    act.triggered.connect(lambda _checked=False: open_dialog())
    return act


def _source_name(path: Path, taken: set[str]) -> str:
    """A source name from the file's stem: letters, digits, '-' and '_' only."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem).strip("-").lower()[:24] or "file"
    name, n = f"file-{stem}", 2
    while name in taken:
        name, n = f"file-{stem}-{n}", n + 1
    return name
