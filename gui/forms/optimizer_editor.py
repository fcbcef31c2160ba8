"""Pick an optimizer of the installed torch and edit its constructor options."""

from __future__ import annotations

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QWidget

from engine.registry import OPTIMIZERS

from .class_form import ClassPicker

__all__ = ["OptimizerEditor"]


class OptimizerEditor(ClassPicker):
    """``value()`` is the run's ``optimizer`` table, e.g. ``{"type": "Adam", "lr": 0.1}``."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(OPTIMIZERS, parent)
        self.set_value({"type": "Adam"})

    def add_entries(self) -> None:
        model: QStandardItemModel = self.combo.model()
        for name, spec in self.specs.items():
            self.combo.addItem(name)
            item = model.item(self.combo.count() - 1)
            if spec.unsupported:  # listed, so a person learns why it is not offered
                item.setEnabled(False)
                item.setToolTip(spec.unsupported)
            else:
                item.setToolTip(spec.summary)

    def describe(self, name: str) -> str:
        spec = self.specs[name]
        note = f"\nThe lr in param_groups (the lr column): {spec.lr_note}." if spec.lr_note else ""
        return spec.summary[:300] + note

    def value(self) -> dict:
        return super().value() or {"type": self.combo.currentText()}
