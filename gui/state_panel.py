"""The selected run's live state: its optimizer's ``param_groups`` (lr editable mid-run),
the scheduler's ``last_epoch``, ``base_lrs`` and ``get_last_lr()``, and its events.

Values come from the snapshot the engine publishes at step boundaries (never from live torch
objects); an lr typed into the table goes to the engine as a command, applies at the next
step boundary, and is recorded as an edit. A mistake is said inline, under the table (a modal
box over the plots would stop a lesson), and a param group is added in a row of its own,
offered only while a module is left to add.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.registry import SCHEDULERS
from engine.snapshot import RunSnapshot
from engine.status import RunStatus

from .plot_style import MUTED_TEXT
from .widgets import stacked_splitter

__all__ = ["StatePanel", "describe_value"]

ERROR_STYLE = "color: #a40000; font-weight: bold;"


def describe_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(describe_value(v) for v in value) + "]"
    if hasattr(value, "item") and getattr(value, "numel", lambda: 2)() == 1:
        return describe_value(value.item())
    return str(value)


def _wrapped(text: str = "", parent: QWidget | None = None, style: str = "") -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    if style:
        label.setStyleSheet(style)
    return label


class StatePanel(QWidget):
    lr_edited = Signal(int, int, float, bool)   # run, group, lr, rebase
    group_added = Signal(int, str, float)        # run, module, lr
    run_selected = Signal(int)
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.run_index = 0
        self.runs = QComboBox(self)
        self.runs.setToolTip("the run whose optimizer and scheduler are shown")
        self.runs.currentIndexChanged.connect(self._run_picked)
        self.title = _wrapped("", self, "font-weight: bold;")
        self.table = QTableWidget(0, 0, self)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setMinimumSectionSize(48)
        self.table.setToolTip("Double-click an lr to edit it while the run trains or is paused.")
        self.message = _wrapped("", self, ERROR_STYLE)
        self.message.hide()
        self.rebase = QCheckBox("also rebase the scheduler", self)
        self.rebase.setToolTip("Scale the scheduler's base lrs by the same ratio as the edit, so the rest of "
                               "the schedule continues from the edited lr instead of returning to its own.")
        self.effect = _wrapped("", self, f"color: {MUTED_TEXT};")

        self.add_row = QWidget(self)
        self.add_module = QComboBox(self.add_row)
        self.add_lr = QLineEdit("0.01", self.add_row)
        self.add_lr.setPlaceholderText("lr")
        self.add_lr.setMaximumWidth(110)
        self.add_button = QPushButton("Add", self.add_row)
        self.add_button.setToolTip("optimizer.add_param_group({'params': module.parameters(), 'lr': ...}): "
                                   "the article's fine-tuning recipe, at the next step")
        self.add_button.clicked.connect(self._add_group)
        self.add_lr.returnPressed.connect(self._add_group)
        add_layout = QHBoxLayout(self.add_row)
        add_layout.setContentsMargins(0, 0, 0, 0)
        add_layout.addWidget(QLabel("add group:", self.add_row))
        add_layout.addWidget(self.add_module, 1)
        add_layout.addWidget(QLabel("lr", self.add_row))
        add_layout.addWidget(self.add_lr, 1)
        add_layout.addWidget(self.add_button)
        self.add_row.hide()
        self.scheduler = _wrapped("", self)
        self.scheduler.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.events = QListWidget(self)
        self.events.setWordWrap(True)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        picker = QHBoxLayout()
        picker.addWidget(QLabel("run:", top))
        picker.addWidget(self.runs, 1)
        top_layout.addLayout(picker)
        top_layout.addWidget(self.title)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self.message)
        top_layout.addWidget(self.rebase)
        top_layout.addWidget(self.effect)
        top_layout.addWidget(self.add_row)
        top_layout.addWidget(self.scheduler)
        bottom = QWidget(self)
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(QLabel("<b>events</b>", bottom))
        bottom_layout.addWidget(self.events)
        splitter = stacked_splitter(self, top, bottom, (3, 1))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)
        self.columns: list[str] = []
        self._events_shown = 0
        self.table.itemChanged.connect(self._item_changed)
        self.show_run(None, 0, None)

    # -- runs ---------------------------------------------------------------------------------------
    def set_run_names(self, names: list[str], current: int) -> None:
        self.runs.blockSignals(True)
        if [self.runs.itemText(i) for i in range(self.runs.count())] != names:
            self.runs.clear()
            self.runs.addItems(names)
        self.runs.setCurrentIndex(min(current, len(names) - 1))
        self.runs.blockSignals(False)

    def _run_picked(self, index: int) -> None:
        if index >= 0:
            self.run_selected.emit(index)

    # -- what is shown -------------------------------------------------------------------------------
    def show_run(self, run: RunSnapshot | None, index: int, scheduler_type: str | None, editable: bool = False,
                 state: str = "", free_modules: list[str] | None = None, events=(),
                 effect: str | None = None) -> None:
        """Fill the panel from a run's published snapshot and events (or clear it when ``run`` is None).

        ``state`` is the session's (running, paused, stopped, finished); ``free_modules`` the
        modules a group could still be added for; ``effect`` what torch did with the last lr
        edit, from the prediction (else what the scheduler class generally does).
        """
        if index != self.run_index:
            self.clear_message()
        self.run_index = index
        spec = SCHEDULERS.get(scheduler_type) if scheduler_type else None
        if effect:
            self.effect.setText(effect)
        else:
            self.effect.setText(f"An lr edit under {spec.name}: {spec.lr_edit_effect}." if spec and spec.lr_edit_effect
                                else "No scheduler: an edited lr stays until the next manual decay or edit.")
        self.rebase.setEnabled(spec is not None)
        self._show_add_row(run is not None and editable and bool(free_modules), free_modules or [])
        if run is None:
            self.title.setText("param_groups: start training to see the optimizer's live state")
            self.table.blockSignals(True)
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.table.blockSignals(False)
            self.columns = []
            self.scheduler.setText("")
            self.events.clear()
            self._events_shown = 0
            return
        status = run.status if run.status != RunStatus.RUNNING else (state or run.status)
        self.title.setText(f"{run.optimizer}.param_groups  ({status})")
        self._fill_groups(run, editable)
        self._fill_scheduler(run)
        self._fill_events(events)

    def _show_add_row(self, offered: bool, modules: list[str]) -> None:
        if [self.add_module.itemText(i) for i in range(self.add_module.count())] != modules:
            self.add_module.clear()
            self.add_module.addItems(modules)
        self.add_row.setVisible(offered)

    def _fill_groups(self, run: RunSnapshot, editable: bool) -> None:
        if self.table.state() == QTableWidget.State.EditingState:
            return  # never overwrite what a person is typing
        groups = run.groups
        keys = sorted({k for g in groups for k in g} - {"lr"})
        columns = ["module", "lr", *keys]
        self.table.blockSignals(True)
        if columns != self.columns:
            self.columns = columns
            self.table.setColumnCount(len(columns))
            self.table.setHorizontalHeaderLabels(columns)
            lr = self.table.horizontalHeaderItem(1)
            lr.setToolTip("double-click to edit while the run trains or is paused")
        self.table.setRowCount(len(groups))
        for r, group in enumerate(groups):
            module = run.modules[r]
            for c, key in enumerate(columns):
                text = module if key == "module" else describe_value(group.get(key, ""))
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(r, c, item)
                if item.text() != text:
                    item.setText(text)
                    item.setToolTip(text)
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if key == "lr" and editable:
                    flags |= Qt.ItemFlag.ItemIsEditable
                item.setFlags(flags)
        self.table.blockSignals(False)

    def _fill_scheduler(self, run: RunSnapshot) -> None:
        if run.scheduler is None:
            self.scheduler.setText("scheduler: none")
            return
        parts = [f"<b>{run.scheduler}</b>", f"last_epoch {run.last_epoch}"]
        if run.base_lrs is not None:
            parts.append(f"base_lrs {describe_value(run.base_lrs)}")
        if run.last_lr is not None:
            parts.append(f"get_last_lr() {describe_value(run.last_lr)}")
        if run.plateau is not None:
            parts.append(f"best {describe_value(run.plateau['best'])}, num_bad_epochs {run.plateau['num_bad_epochs']}, "
                         f"cooldown_counter {run.plateau['cooldown_counter']}")
        self.scheduler.setText(" \u00b7 ".join(parts))

    def _fill_events(self, events) -> None:
        if len(events) < self._events_shown or self.events.count() == 0 and self._events_shown:
            self.events.clear()
            self._events_shown = 0
        for event in events[self._events_shown:]:
            group = "" if event.group is None else f" group {event.group}"
            self.events.addItem(f"epoch {event.epoch}, step {event.step}: {event.kind}{group}: {event.detail}")
        if len(events) > self._events_shown:
            self.events.scrollToBottom()
        self._events_shown = len(events)

    def reset_events(self) -> None:
        self.events.clear()
        self._events_shown = 0

    # -- what a person does ---------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """Say what went wrong, here (no dialog over the plots); the next good edit clears it."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def clear_message(self) -> None:
        self.show_message("")

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self.columns[item.column()] != "lr":
            return
        try:
            value = float(item.text())
        except ValueError:
            self.show_message(f"param_groups[{item.row()}]['lr'] not set: not a number: {item.text()!r}")
            QTimer.singleShot(0, self, self.forget_typed)
            return
        self.lr_edited.emit(self.run_index, item.row(), value, self.rebase.isChecked())

    def forget_typed(self) -> None:
        """Show the values in effect again (after a refused edit): the next refresh fills every cell."""
        self.table.blockSignals(True)
        for r in range(self.table.rowCount()):
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                if item is not None:
                    item.setText("")
        self.table.blockSignals(False)
        self.refresh_requested.emit()

    def _add_group(self) -> None:
        module = self.add_module.currentText()
        if not module:
            return
        try:
            lr = float(self.add_lr.text())
        except ValueError:
            self.show_message(f"add_param_group: the lr of {module} must be a number, got {self.add_lr.text()!r}")
            return
        self.group_added.emit(self.run_index, module, lr)
