"""The selected run's live state: its optimizer's ``param_groups`` (lr editable mid-run),
the scheduler's ``last_epoch``, ``base_lrs`` and ``get_last_lr()``, and its events.

Values are read from the engine's objects on a timer; an lr typed into the table goes to the
training thread as a command, applies at the next step boundary, and is recorded as an edit.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QHeaderView, QLabel, QListWidget, QPushButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from engine.registry import SCHEDULERS

__all__ = ["StatePanel", "describe_value"]

HIDDEN_KEYS = {"params", "foreach", "fused", "capturable", "differentiable", "maximize", "decoupled_weight_decay"}


def describe_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(describe_value(v) for v in value) + "]"
    if hasattr(value, "item") and getattr(value, "numel", lambda: 2)() == 1:
        return describe_value(value.item())
    return str(value)


class StatePanel(QWidget):
    lr_edited = Signal(int, int, float, bool)   # run, group, lr, rebase
    add_group_requested = Signal(int)            # run

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.run_index = 0
        self.title = QLabel("param_groups", self)
        self.title.setStyleSheet("font-weight: bold;")
        self.table = QTableWidget(0, 0, self)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Double-click an lr to edit it while the run trains or is paused.")
        self.rebase = QCheckBox("also rebase the scheduler (scale its base lrs so the edit persists)", self)
        self.effect = QLabel(self)
        self.effect.setWordWrap(True)
        self.effect.setStyleSheet("color: #555;")
        self.add_group = QPushButton("Add param group...", self)
        self.add_group.setToolTip("optimizer.add_param_group for a module not yet trained (fine-tuning)")
        self.add_group.clicked.connect(lambda: self.add_group_requested.emit(self.run_index))
        self.scheduler = QLabel(self)
        self.scheduler.setWordWrap(True)
        self.scheduler.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.events = QListWidget(self)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.title)
        left_layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(self.rebase)
        row.addStretch(1)
        row.addWidget(self.add_group)
        left_layout.addLayout(row)
        left_layout.addWidget(self.effect)
        left_layout.addWidget(self.scheduler)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel("events", right)
        label.setStyleSheet("font-weight: bold;")
        right_layout.addWidget(label)
        right_layout.addWidget(self.events)
        splitter = QSplitter(self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([700, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self.columns: list[str] = []
        self._events_shown = 0
        self.table.itemChanged.connect(self._item_changed)
        self.show_run(None, 0, None)

    def show_run(self, run, index: int, scheduler_type: str | None, editable: bool = False) -> None:
        """Fill the panel from a :class:`RunTrainer` (or clear it when ``run`` is None)."""
        self.run_index = index
        spec = SCHEDULERS.get(scheduler_type) if scheduler_type else None
        self.effect.setText(f"An lr edit under {spec.name}: {spec.lr_edit_effect}." if spec and spec.lr_edit_effect
                            else "No scheduler: an edited lr stays until the next manual decay or edit.")
        self.add_group.setEnabled(run is not None and editable)
        if run is None:
            self.title.setText("param_groups (start training to see the optimizer's live state)")
            self.table.setRowCount(0)
            self.scheduler.setText("")
            self.events.clear()
            self._events_shown = 0
            return
        self.title.setText(f"{run.name}: optimizer.param_groups ({type(run.optimizer).__name__}, {run.status})")
        self._fill_groups(run, editable)
        self._fill_scheduler(run)
        self._fill_events(run)

    def _fill_groups(self, run, editable: bool) -> None:
        if self.table.state() == QTableWidget.State.EditingState:
            return  # never overwrite what a person is typing
        groups = [dict(g) for g in run.optimizer.param_groups]
        keys = sorted({k for g in groups for k in g} - HIDDEN_KEYS - {"lr"})
        columns = ["module", "lr", *keys]
        self.table.blockSignals(True)
        if columns != self.columns:
            self.columns = columns
            self.table.setColumnCount(len(columns))
            self.table.setHorizontalHeaderLabels(columns)
        self.table.setRowCount(len(groups))
        for r, group in enumerate(groups):
            module = run.modules[r] if r < len(run.modules) else "?"
            for c, key in enumerate(columns):
                text = module if key == "module" else describe_value(group.get(key, ""))
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(r, c, item)
                if item.text() != text:
                    item.setText(text)
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if key == "lr" and editable:
                    flags |= Qt.ItemFlag.ItemIsEditable
                item.setFlags(flags)
        self.table.blockSignals(False)

    def _fill_scheduler(self, run) -> None:
        s = run.scheduler
        if s is None:
            self.scheduler.setText("scheduler: none")
            return
        parts = [f"scheduler: {type(s).__name__}", f"last_epoch {s.last_epoch}"]
        if hasattr(s, "base_lrs"):
            parts.append(f"base_lrs {describe_value(list(s.base_lrs))}")
        try:
            parts.append(f"get_last_lr() {describe_value(list(s.get_last_lr()))}")
        except (AttributeError, IndexError):
            pass
        if hasattr(s, "num_bad_epochs"):
            parts.append(f"best {describe_value(s.best)}, num_bad_epochs {s.num_bad_epochs}")
        self.scheduler.setText("  ·  ".join(parts))

    def _fill_events(self, run) -> None:
        events = run.recorder.events
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

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self.columns[item.column()] != "lr":
            return
        try:
            value = float(item.text())
        except ValueError:
            value = math.nan
        self.lr_edited.emit(self.run_index, item.row(), value, self.rebase.isChecked())
