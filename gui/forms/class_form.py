"""A form for one optimizer or scheduler class, generated from its registry entry."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from engine.registry import ClassSpec

from .fields import UNSET, FieldEditor, make_editor

__all__ = ["ClassForm", "picker_layout"]


def picker_layout(owner: QWidget, combo: QComboBox) -> tuple[QLabel, QStackedWidget]:
    """The layout of a class picker: the combo box, torch's summary of the class, its form."""
    summary = QLabel(owner)
    summary.setWordWrap(True)
    summary.setStyleSheet("color: #555;")
    stack = QStackedWidget(owner)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in (combo, summary, stack):
        layout.addWidget(widget)
    layout.addStretch(1)
    return summary, stack


class ClassForm(QWidget):
    """One row per parameter; ``values()`` holds only what was set (torch's defaults stay implicit)."""

    changed = Signal()

    def __init__(self, spec: ClassSpec, *, skip: tuple[str, ...] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self.spec = spec
        self.editors: dict[str, FieldEditor] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name, param in spec.params.items():
            if name in skip:
                continue
            editor = make_editor(param, self)
            editor.changed.connect(self.changed)
            label = QLabel(name, self)
            label.setToolTip(editor.help)
            layout.addRow(label, editor)
            self.editors[name] = editor

    def values(self) -> dict:
        return {name: v for name, e in self.editors.items() if (v := e.value()) is not UNSET}

    def set_values(self, values: dict) -> None:
        for name, editor in self.editors.items():
            editor.blockSignals(True)
            editor.set_value(values.get(name, UNSET))
            editor.blockSignals(False)
            editor.set_error(editor.check())

    def field_errors(self) -> dict[str, str]:
        return {name: e.error for name, e in self.editors.items() if e.error}
