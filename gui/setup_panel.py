"""The left panel: the experiment's settings, its runs, and the editor of the selected run."""

from __future__ import annotations

import copy
import re

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFormLayout, QGroupBox, QInputDialog, QListWidget, QPushButton, QVBoxLayout, QWidget

from engine.errors import ExperimentError
from engine.fields import DATA_FIELDS, EXPERIMENT_FIELDS

from .forms.fields import UNSET, FieldEditor, make_editor, mark_error
from .forms.run_editor import RunEditor
from .widgets import FlowLayout

__all__ = ["SetupPanel", "split_path", "NEW_RUN"]

from .document import NEW_RUN  # noqa: E402 - one default run for the form and the document


def split_path(path: str) -> list:
    """``"runs[1].scheduler.schedulers[0].gamma"`` -> ``["runs", 1, "scheduler", "schedulers", 0, "gamma"]``."""
    return [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]


class SetupPanel(QWidget):
    """``value()`` is the whole experiment as a TOML-shaped dict; every edit emits ``changed``."""

    changed = Signal()
    run_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs: list[dict] = [dict(name="run 1", **copy.deepcopy(NEW_RUN))]
        self.current = 0
        self._marked: list = []
        self.extra: dict = {}  # top-level keys no field shows (kept so a file round-trips)

        settings = QGroupBox("Experiment", self)
        form = QFormLayout(settings)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.settings: dict[str, FieldEditor] = {}
        for name, spec in EXPERIMENT_FIELDS.items():
            self.settings[name] = make_editor(spec, settings)
            form.addRow(name, self.settings[name])
        self.data: dict[str, FieldEditor] = {}
        for name, spec in DATA_FIELDS.items():
            self.data[name] = make_editor(spec, settings)
            form.addRow(f"data.{name}", self.data[name])
        for editor in (*self.settings.values(), *self.data.values()):
            editor.changed.connect(self.changed)

        runs_box = QGroupBox("Runs", self)
        runs_layout = QVBoxLayout(runs_box)
        self.run_list = QListWidget(runs_box)
        self.run_list.setMaximumHeight(110)
        buttons = FlowLayout()
        for label, slot in (("Add", self.add_run), ("Duplicate", self.duplicate_run), ("Rename", self.rename_run),
                            ("Remove", self.remove_run)):
            button = QPushButton(label, runs_box)
            button.clicked.connect(slot)
            buttons.addWidget(button)
            setattr(self, f"{label.lower()}_button", button)
        runs_layout.addWidget(self.run_list)
        button_row = QWidget(runs_box)
        button_row.setLayout(buttons)
        runs_layout.addWidget(button_row)
        self.editor = RunEditor(self)
        runs_layout.addWidget(self.editor, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(settings)
        layout.addWidget(runs_box, 1)
        self.editor.changed.connect(self._run_edited)
        self.run_list.currentRowChanged.connect(self._select)
        self._refresh_list()

    def set_locked(self, locked: bool) -> None:
        """While a session trains (or is paused) the experiment is fixed; runs can still be picked."""
        for widget in (*self.settings.values(), *self.data.values(), self.editor, self.add_button,
                       self.duplicate_button, self.rename_button, self.remove_button):
            widget.setEnabled(not locked)
        if not locked:
            self.remove_button.setEnabled(len(self.runs) > 1)

    # -- runs -----------------------------------------------------------------------------
    def _refresh_list(self) -> None:
        self.run_list.blockSignals(True)
        self.run_list.clear()
        for run in self.runs:
            self.run_list.addItem(str(run.get("name", "")))
        self.run_list.setCurrentRow(self.current)
        self.run_list.blockSignals(False)
        self.remove_button.setEnabled(len(self.runs) > 1)

    def _select(self, row: int) -> None:
        if row < 0 or row >= len(self.runs):
            return
        self.current = row
        self.editor.set_value(self.runs[row])
        self.run_selected.emit(row)

    def select_run(self, row: int) -> None:
        self.run_list.setCurrentRow(row)

    def _run_edited(self) -> None:
        self.runs[self.current] = {"name": self.runs[self.current].get("name", ""), **self.editor.value()}
        self.changed.emit()

    def _unique(self, name: str) -> str:
        names = {r.get("name") for r in self.runs}
        if name not in names:
            return name
        n = 2
        while f"{name} ({n})" in names:
            n += 1
        return f"{name} ({n})"

    def add_run(self) -> None:
        self.runs.append({"name": self._unique(f"run {len(self.runs) + 1}"), **copy.deepcopy(NEW_RUN)})
        self.current = len(self.runs) - 1
        self._refresh_list()
        self._select(self.current)
        self.changed.emit()

    def duplicate_run(self) -> None:
        run = copy.deepcopy(self.runs[self.current])
        # "StepLR copy", then "StepLR copy (2)": never "StepLR copy copy"
        base = re.sub(r"( copy)?( \(\d+\))?$", "", str(run.get("name", "run"))) or "run"
        run["name"] = self._unique(f"{base} copy")
        self.runs.insert(self.current + 1, run)
        self.current += 1
        self._refresh_list()
        self._select(self.current)
        self.changed.emit()

    def rename_run(self, name: str | None = None) -> None:
        if not isinstance(name, str):
            name, ok = QInputDialog.getText(self, "Rename run", "Name:", text=self.runs[self.current].get("name", ""))
            if not ok:
                return
        self.runs[self.current]["name"] = name.strip()
        self._refresh_list()
        self.changed.emit()

    def remove_run(self) -> None:
        if len(self.runs) <= 1:
            return
        del self.runs[self.current]
        self.current = min(self.current, len(self.runs) - 1)
        self._refresh_list()
        self._select(self.current)
        self.changed.emit()

    # -- the whole experiment ---------------------------------------------------------------
    def value(self) -> dict:
        raw: dict = dict(self.extra)
        for name, editor in self.settings.items():
            if (value := editor.value()) is not UNSET:
                raw[name] = value
        data = {n: v for n, e in self.data.items() if (v := e.value()) is not UNSET}
        if data:
            raw["data"] = data
        raw["runs"] = copy.deepcopy(self.runs)
        return raw

    def set_value(self, raw: dict) -> None:
        known = {*EXPERIMENT_FIELDS, "data", "runs"}
        self.extra = {k: v for k, v in raw.items() if k not in known}
        for name, editor in self.settings.items():
            editor.blockSignals(True)
            editor.set_value(raw.get(name, UNSET))
            editor.blockSignals(False)
        data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
        self.extra.update({"data": {k: v for k, v in data.items() if k not in DATA_FIELDS}} if
                          set(data) - set(DATA_FIELDS) else {})
        for name, editor in self.data.items():
            editor.blockSignals(True)
            editor.set_value(data.get(name, UNSET))
            editor.blockSignals(False)
        runs = raw.get("runs")
        self.runs = [copy.deepcopy(r) for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []
        if not self.runs:
            self.runs = [dict(name="run 1", **copy.deepcopy(NEW_RUN))]
        for i, run in enumerate(self.runs):
            run.setdefault("name", f"run {i + 1}")
        self.current = 0
        self._refresh_list()
        self._select(0)

    # -- errors at their field ----------------------------------------------------------------
    def show_error(self, error: ExperimentError | None) -> None:
        """Mark the field ``error.path`` names (selecting its run and tab); clear the previous mark."""
        for widget in self._marked:
            if isinstance(widget, FieldEditor):
                widget.set_error(widget.check())
            else:
                mark_error(widget, None)
        self._marked = []
        for row in range(self.run_list.count()):
            self.run_list.item(row).setForeground(QColor("black"))
            self.run_list.item(row).setToolTip("")
        if error is None:
            return
        keys = split_path(error.path)
        widget = None
        if keys and keys[0] in self.settings:
            widget = self.settings[keys[0]]
        elif keys[:1] == ["data"] and len(keys) > 1 and keys[1] in self.data:
            widget = self.data[keys[1]]
        elif keys[:1] == ["runs"] and len(keys) > 1 and isinstance(keys[1], int) and keys[1] < len(self.runs):
            item = self.run_list.item(keys[1])
            item.setForeground(QColor("#c00"))
            item.setToolTip(str(error))
            if keys[1] != self.current:
                return  # marked in the list; the field shows when that run is selected
            widget = self.editor.locate(keys[2:]) if len(keys) > 2 else self.run_list
        elif keys[:1] == ["runs"]:
            widget = self.run_list
        if widget is None:
            return
        if isinstance(widget, FieldEditor):
            widget.set_error(error.message)
        else:
            mark_error(widget, error.message)
        self._marked.append(widget)
