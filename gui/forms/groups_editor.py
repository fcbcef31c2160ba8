"""The param-group table: which modules train, and per-group options (columns from the registry)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QCheckBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from engine.config import MODULES
from engine.errors import ExperimentError
from engine.registry import GROUP_OPTION_KINDS, OPTIMIZERS

from .fields import format_value, parse_number

__all__ = ["GroupsEditor", "GROUP_OPTION_KINDS"]

# Per-group options shown as columns: the optimizer's hyperparameters (the registry's
# group_options, of GROUP_OPTION_KINDS: numbers and tuples), the ones an edit can change too.
ERROR_BRUSH = "#ffd6d6"


class GroupsEditor(QWidget):
    """``value()`` is the run's ``groups`` list, or None for one group holding every parameter."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.enabled = QCheckBox("Per-layer param groups", self)
        self.enabled.setToolTip("One param group per ticked module, each with its own options; "
                                "a module left unticked is not trained (training only part of the model).")
        self.table = QTableWidget(len(MODULES), 0, self)
        self.table.setVerticalHeaderLabels(list(MODULES))
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(56)
        header.setDefaultSectionSize(90)
        self.note = QLabel("Without groups the optimizer gets model.parameters(): one group, every layer. "
                           "With them, tick the modules to train (one group each); an empty cell takes the "
                           "optimizer's value.", self)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.enabled)
        layout.addWidget(self.table)
        layout.addWidget(self.note)
        self.optimizer = "Adam"
        self.order: list[str] = list(MODULES)  # row order is group order
        self.extras: dict[str, dict] = {}       # per-group options without a column (kept as set)
        self.columns: list[str] = []
        self.errors: dict[tuple[int, int], str] = {}
        self._rebuild({})
        self.enabled.toggled.connect(self._toggled)
        self.table.itemChanged.connect(self._item_changed)
        self._toggled(False)

    def _options(self, optimizer: str) -> list[str]:
        return OPTIMIZERS[optimizer].group_options

    def _rebuild(self, rows: dict[str, dict]) -> None:
        self.table.blockSignals(True)
        self.columns = ["train", *self._options(self.optimizer)]
        self.table.setColumnCount(len(self.columns))
        self.table.setHorizontalHeaderLabels(self.columns)
        spec = OPTIMIZERS[self.optimizer]
        for c, name in enumerate(self.columns[1:], start=1):
            header = self.table.horizontalHeaderItem(c)
            header.setToolTip(f"{name}: {spec.params[name].describe()}\nempty: the optimizer's value")
        self.table.setVerticalHeaderLabels(self.order)
        for r, module in enumerate(self.order):
            options = rows.get(module)
            train = QTableWidgetItem()
            train.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            train.setCheckState(Qt.CheckState.Checked if options is not None else Qt.CheckState.Unchecked)
            self.table.setItem(r, 0, train)
            for c, name in enumerate(self.columns[1:], start=1):
                self.table.setItem(r, c, QTableWidgetItem(format_value((options or {}).get(name))))
        self.table.resizeColumnsToContents()
        for c, name in enumerate(self.columns):
            # room for a typed value such as 0.00125 (never "..."): the lr column most of all
            wanted = 100 if name == "lr" else 72 if c else 48
            if self.table.columnWidth(c) < wanted:
                self.table.setColumnWidth(c, wanted)
        self.table.blockSignals(False)
        self._check_all()

    def set_optimizer(self, optimizer: str) -> None:
        """Columns follow the optimizer: keep what was typed in columns both have."""
        if optimizer == self.optimizer or optimizer not in OPTIMIZERS:
            return
        rows = self._rows()
        self.optimizer = optimizer
        columns = set(self._options(optimizer))
        self.extras = {m: {k: v for k, v in o.items() if k not in columns} for m, o in rows.items()}
        self._rebuild(rows)

    def _toggled(self, on: bool) -> None:
        self.table.setEnabled(on)
        if on and not self._rows():
            # Groups with no module would train nothing: start from one group per module.
            self.table.blockSignals(True)
            for r in range(len(self.order)):
                self.table.item(r, 0).setCheckState(Qt.CheckState.Checked)
            self.table.blockSignals(False)
        self.changed.emit()

    def _cell_value(self, r: int, c: int):
        text = self.table.item(r, c).text().strip()
        if not text:
            return None
        kind = OPTIMIZERS[self.optimizer].params[self.columns[c]].type.kind
        if kind == "tuple":
            return [parse_number(p) for p in text.strip("[]").split(",") if p.strip()]
        return parse_number(text)

    def _rows(self) -> dict[str, dict]:
        rows = {}
        for r, module in enumerate(self.order):
            if self.table.item(r, 0).checkState() != Qt.CheckState.Checked:
                continue
            rows[module] = {**self.extras.get(module, {}),
                            **{self.columns[c]: v for c in range(1, len(self.columns))
                               if (v := self._cell_value(r, c)) is not None}}
        return rows

    def _check_all(self) -> None:
        self.errors.clear()
        spec = OPTIMIZERS[self.optimizer]
        for r in range(len(self.order)):
            for c in range(1, len(self.columns)):
                item = self.table.item(r, c)
                value = self._cell_value(r, c)
                message = None
                if value is not None:
                    try:
                        spec.params[self.columns[c]].type.check(value, "")
                    except ExperimentError as error:
                        message = error.message
                        self.errors[(r, c)] = message
                item.setBackground(QBrush(QColor(ERROR_BRUSH)) if message else QBrush())
                item.setToolTip(message or "")

    def _item_changed(self, _item) -> None:
        self._check_all()
        self.changed.emit()

    def value(self) -> list[dict] | None:
        if not self.enabled.isChecked():
            return None
        return [{"module": module, **options} for module, options in self._rows().items()]

    def set_value(self, groups: list[dict] | None) -> None:
        self.blockSignals(True)
        self.enabled.setChecked(groups is not None)
        rows = {}
        for group in groups or []:
            if isinstance(group, dict) and group.get("module") in MODULES:
                rows[group["module"]] = {k: v for k, v in group.items() if k != "module"}
        self.order = [*rows, *(m for m in MODULES if m not in rows)]
        columns = set(self._options(self.optimizer))
        self.extras = {m: {k: v for k, v in o.items() if k not in columns} for m, o in rows.items()}
        self._rebuild(rows)
        self.table.setEnabled(groups is not None)
        self.blockSignals(False)
