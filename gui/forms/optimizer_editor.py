"""Pick an optimizer of the installed torch and edit its constructor options."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget

from engine.registry import OPTIMIZERS

from .class_form import ClassForm, picker_layout

__all__ = ["OptimizerEditor"]


class OptimizerEditor(QWidget):
    """``value()`` is the run's ``optimizer`` table, e.g. ``{"type": "Adam", "lr": 0.1}``."""

    changed = Signal()
    type_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox(self)
        model: QStandardItemModel = self.combo.model()
        for name, spec in OPTIMIZERS.items():
            self.combo.addItem(name)
            item = model.item(self.combo.count() - 1)
            if spec.unsupported:  # listed, so a person learns why it is not offered
                item.setEnabled(False)
                item.setToolTip(spec.unsupported)
            else:
                item.setToolTip(spec.summary)
        self.summary, self.stack = picker_layout(self, self.combo)
        self.forms: dict[str, ClassForm] = {}
        self.combo.currentTextChanged.connect(self._switch)
        self.combo.setCurrentText("Adam")
        self._switch("Adam")

    def form(self, name: str) -> ClassForm:
        if name not in self.forms:
            form = ClassForm(OPTIMIZERS[name], parent=self)
            form.changed.connect(self.changed)
            self.forms[name] = form
            self.stack.addWidget(form)
        return self.forms[name]

    def _switch(self, name: str) -> None:
        if name not in OPTIMIZERS:
            return
        self.stack.setCurrentWidget(self.form(name))
        self.summary.setText(OPTIMIZERS[name].summary[:300])
        self.type_changed.emit(name)
        self.changed.emit()

    @property
    def type(self) -> str:
        return self.combo.currentText()

    def value(self) -> dict:
        return {"type": self.type, **self.form(self.type).values()}

    def set_value(self, table: dict) -> None:
        name = table.get("type", "Adam")
        self.blockSignals(True)
        if name in OPTIMIZERS:
            self.combo.setCurrentText(name)
            self.form(name).set_values(table)
        self.blockSignals(False)
        self._switch(self.type)

    def editor_for(self, path: list):
        return self.form(self.type).editors.get(path[0]) if path else None


