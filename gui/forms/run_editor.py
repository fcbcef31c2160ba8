"""Everything about one run: optimizer, param groups, scheduler, manual decay, edits."""

from __future__ import annotations

import tomllib

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QPlainTextEdit, QTabWidget, QVBoxLayout, QWidget

from engine.fields import MANUAL_FIELDS

from .fields import UNSET, make_editor, mark_error
from .groups_editor import GroupsEditor
from .optimizer_editor import OptimizerEditor
from .scheduler_editor import SchedulerEditor

__all__ = ["RunEditor", "ManualEditor", "EditsEditor"]


class ManualEditor(QGroupBox):
    """The article's loop: every ``every`` epochs from ``start``, every lr *= ``factor``."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Manual decay (lr *= factor)", parent)
        self.setToolTip("The article's loop: every `every` epochs from `start`,\n"
                        "for g in optimizer.param_groups: g['lr'] *= factor")
        self.setCheckable(True)
        self.setChecked(False)
        layout = QFormLayout(self)
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.editors = {name: make_editor(spec, self) for name, spec in MANUAL_FIELDS.items()}
        self.editors["start"].edit.setPlaceholderText("default: every")
        self.editors["start"].edit.setToolTip("default: every; 0 is the article's loop (it fires at epoch 0 too)\n\n"
                                              + self.editors["start"].help)
        for name, editor in self.editors.items():
            layout.addRow(name, editor)
            editor.changed.connect(self.changed)
        self.toggled.connect(lambda _: self.changed.emit())

    def value(self) -> dict | None:
        if not self.isChecked():
            return None
        return {n: v for n, e in self.editors.items() if (v := e.value()) is not UNSET}

    def set_value(self, table: dict | None) -> None:
        self.blockSignals(True)
        self.setChecked(table is not None)
        for name, editor in self.editors.items():
            editor.blockSignals(True)
            editor.set_value((table or {}).get(name, UNSET))
            editor.blockSignals(False)
        self.blockSignals(False)


class EditsEditor(QWidget):
    """The run's ``edits``, one TOML inline table per line (edits made while training land here)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.text = QPlainTextEdit(self)
        self.text.setPlaceholderText('{ epoch = 30, group = 0, lr = 0.05 }\n{ step = 400, lr = 0.01, rebase = true }\n'
                                     '{ epoch = 20, add_group = { module = "layer2", lr = 0.01 } }')
        help_text = QLabel("Set param_groups options before the first step of an epoch (or before a step); "
                           "no group: every group. rebase = true also scales the scheduler's base lrs. "
                           "lr cells edited while training are recorded here.", self)
        help_text.setWordWrap(True)
        help_text.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(help_text)
        layout.addWidget(self.text)
        self.syntax_error: str | None = None
        self.text.textChanged.connect(self.changed)

    def value(self):
        """A list of tables; a line that is not TOML stays text, for validation to name."""
        edits = []
        self.syntax_error = None
        for number, line in enumerate(self.text.toPlainText().splitlines(), start=1):
            line = line.strip().rstrip(",")
            if not line or line.startswith("#"):
                continue
            try:
                edits.append(tomllib.loads(f"edit = {line}")["edit"])
            except tomllib.TOMLDecodeError as error:
                self.syntax_error = f"line {number} is not a TOML inline table: {error}"
                edits.append(line)
        mark_error(self.text, self.syntax_error)
        return edits or None

    def set_value(self, edits: list | None) -> None:
        from engine.files import inline_toml

        self.text.blockSignals(True)
        self.text.setPlainText("\n".join(inline_toml(e) for e in edits or []))
        self.text.blockSignals(False)


class RunEditor(QTabWidget):
    """Tabs for one run; ``value()`` is its TOML table without ``name`` (the run list holds names)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.optimizer = OptimizerEditor()
        self.groups = GroupsEditor()
        self.scheduler = SchedulerEditor()
        self.manual = ManualEditor()
        self.edits = EditsEditor()
        # Three tabs, so that their names fit a narrow panel; the panel itself scrolls (no
        # scroll area inside a scroll area). The schedule's tab holds everything that moves the
        # lr over time: the scheduler, the manual decay and the edits.
        schedule_page = QWidget()
        schedule_layout = QVBoxLayout(schedule_page)
        schedule_layout.setContentsMargins(4, 4, 4, 4)
        schedule_layout.addWidget(self.scheduler)
        schedule_layout.addWidget(self.manual)
        edits_box = QGroupBox("Edits", schedule_page)
        QVBoxLayout(edits_box).addWidget(self.edits)
        schedule_layout.addWidget(edits_box)
        optimizer_page = QWidget()
        optimizer_layout = QVBoxLayout(optimizer_page)
        optimizer_layout.setContentsMargins(4, 4, 4, 4)
        optimizer_layout.addWidget(self.optimizer)
        self.addTab(optimizer_page, "Optimizer")
        self.addTab(self.groups, "Param groups")
        self.addTab(schedule_page, "Schedule")
        self.optimizer.type_changed.connect(self.groups.set_optimizer)
        for part in (self.optimizer, self.groups, self.scheduler, self.manual, self.edits):
            part.changed.connect(self.changed)

    def show_first_tab(self) -> None:
        """Another experiment: its forms start on the first tab."""
        self.setCurrentIndex(0)

    def value(self) -> dict:
        table: dict = {"optimizer": self.optimizer.value()}
        for key, part in (("groups", self.groups), ("scheduler", self.scheduler), ("manual", self.manual),
                          ("edits", self.edits)):
            value = part.value()
            if value is not None:
                table[key] = value
        return table

    def set_value(self, table: dict) -> None:
        self.blockSignals(True)
        optimizer = table.get("optimizer") if isinstance(table.get("optimizer"), dict) else {"type": "Adam"}
        self.optimizer.set_value(optimizer)
        self.groups.set_optimizer(self.optimizer.type)
        self.groups.set_value(table.get("groups") if isinstance(table.get("groups"), list) else None)
        self.scheduler.set_value(table.get("scheduler") if isinstance(table.get("scheduler"), dict) else None)
        self.manual.set_value(table.get("manual") if isinstance(table.get("manual"), dict) else None)
        self.edits.set_value(table.get("edits") if isinstance(table.get("edits"), list) else None)
        self.blockSignals(False)

    def locate(self, path: list) -> QWidget | None:
        """Show and return the widget for a path inside this run (``["scheduler", "gamma"]``)."""
        if not path:
            return None
        head, rest = path[0], path[1:]
        tab, widget = None, None
        if head == "optimizer":
            tab, widget = 0, self.optimizer.editor_for(rest) or self.optimizer.combo
        elif head == "groups":
            tab, widget = 1, self.groups.table
        elif head == "scheduler":
            tab, widget = 2, self.scheduler.editor_for(rest) or self.scheduler.combo
        elif head == "manual":
            tab, widget = 2, self.manual.editors.get(rest[0]) if rest else self.manual
        elif head == "edits":
            tab, widget = 2, self.edits.text
        if tab is not None:
            self.setCurrentIndex(tab)
        return widget
