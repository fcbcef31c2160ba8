"""A form for one optimizer or scheduler class, generated from its registry entry."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.registry import ClassSpec

from .fields import UNSET, FieldEditor, make_editor

__all__ = ["ClassForm", "ClassPicker", "picker_layout"]


def picker_layout(owner: QWidget, combo: QComboBox) -> tuple[QLabel, QStackedWidget]:
    """The layout of a class picker: the combo box, the class in a sentence (the registry's summary), its form."""
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
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a narrow panel: the field goes below
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


class ClassPicker(QWidget):
    """Pick a class of the registry and edit it: the optimizer and scheduler editors' shared part.

    * Forms are built once per class and reused, but :meth:`set_value` empties them all
      first, so one run's values never show up in another run's form.
    * Switching the class by hand carries over the options both classes have (``lr``,
      ``gamma``, ...), as a person would expect.
    * What a form cannot show (an unknown ``type``, keys the class does not take) is kept in
      the value, so validation names it at its field, until the person removes it.
    """

    changed = Signal()
    type_changed = Signal(str)
    NONE: str | None = None  # label of a "no class" entry, if the picker has one

    def __init__(self, specs: dict, parent: QWidget | None = None):
        super().__init__(parent)
        self.specs = specs
        self.combo = QComboBox(self)
        # "CosineAnnealingWarmRestarts" may be elided in a narrow panel: the tooltip names it
        self.combo.currentTextChanged.connect(lambda text: self.combo.setToolTip(f"{text}: pick another class"))
        if self.NONE is not None:
            self.combo.addItem(self.NONE)
        self.add_entries()
        self.summary, self.stack = picker_layout(self, self.combo)
        self.stack.addWidget(QWidget(self))  # the page of "no class"
        self.extras_label = QLabel(self)
        self.extras_label.setWordWrap(True)
        self.extras_label.setStyleSheet("color: #b00;")
        self.remove_extras = QPushButton("Remove them", self)
        self.remove_extras.clicked.connect(self._drop_extras)
        row = QHBoxLayout()
        row.addWidget(self.extras_label, 1)
        row.addWidget(self.remove_extras)
        self.layout().insertLayout(2, row)
        self.forms: dict[str, ClassForm] = {}
        self.pages: dict[str, QWidget] = {}
        self.extras: dict = {}
        self.unknown_type = None
        self._loading = False
        self._shown: str | None = None
        self._show_extras()
        self.combo.currentTextChanged.connect(self._switch)

    # -- what subclasses provide ---------------------------------------------------------------
    def add_entries(self) -> None:
        for name, spec in self.specs.items():
            self.combo.addItem(name)
            self.combo.setItemData(self.combo.count() - 1, spec.summary, 3)  # ToolTipRole

    def build_form(self, name: str) -> tuple[ClassForm, QWidget]:
        form = ClassForm(self.specs[name], parent=self)
        return form, form

    def describe(self, name: str) -> str:
        return self.specs[name].summary[:300]

    def set_extra_values(self, name: str, table: dict) -> None:
        """Subclasses fill what the form does not hold (nested schedulers)."""

    def extra_values(self, name: str) -> dict:
        return {}

    # -- forms -----------------------------------------------------------------------------------
    def form(self, name: str) -> ClassForm:
        if name not in self.forms:
            form, page = self.build_form(name)
            form.changed.connect(self.changed)
            self.forms[name], self.pages[name] = form, page
            self.stack.addWidget(page)
        return self.forms[name]

    @property
    def type(self) -> str | None:
        if self.unknown_type is not None:
            return None
        name = self.combo.currentText()
        return name if name in self.specs else None

    def _switch(self, name: str) -> None:
        previous = self._shown
        if not self._loading:
            self.unknown_type = None
            self._remove_unknown_entry()
        if name in self.specs:
            form = self.form(name)
            if not self._loading and previous in self.forms and previous != name:
                carried = {k: v for k, v in self.forms[previous].values().items() if k in form.editors}
                form.set_values({**carried, **form.values()})
                self.extras = {}
            self.stack.setCurrentWidget(self.pages[name])
            self.summary.setText(self.describe(name))
            self._shown = name
        else:
            self.stack.setCurrentIndex(0)
            self.summary.setText(self.none_text() if self.unknown_type is None else
                                 f"{self.unknown_type!r} is not a class of the installed torch.")
            self._shown = None
        self._show_extras()
        if not self._loading:
            self.type_changed.emit(name)
            self.changed.emit()

    def none_text(self) -> str:
        return ""

    # -- value ---------------------------------------------------------------------------------
    def value(self) -> dict | None:
        if self.unknown_type is not None:
            return {"type": self.unknown_type, **self.extras}
        name = self.type
        if name is None:
            return None
        return {"type": name, **self.forms[name].values(), **self.extra_values(name), **self.extras}

    def set_value(self, table: dict | None) -> None:
        self._loading = True
        self.blockSignals(True)
        for form in self.forms.values():
            form.set_values({})
        self._remove_unknown_entry()
        self.unknown_type, self.extras = None, {}
        name = table.get("type") if isinstance(table, dict) else None
        if table is None or (self.NONE is not None and not table):
            self.combo.setCurrentIndex(0)
        elif name in self.specs:
            self.combo.setCurrentText(name)
            form = self.form(name)
            form.set_values(table)
            self.extras = {k: v for k, v in table.items()
                           if k != "type" and k not in form.editors and not self.holds_key(name, k)}
            self.set_extra_values(name, table)
        else:  # an unknown type: keep it, so validation says "did you mean ..."
            self.unknown_type = name
            self.extras = {k: v for k, v in table.items() if k != "type"}
            self.combo.addItem(f"{name} (unknown)")
            self.combo.setCurrentIndex(self.combo.count() - 1)
        self.blockSignals(False)
        self._switch(self.combo.currentText())
        self._loading = False
        self.type_changed.emit(self.combo.currentText())

    def holds_key(self, name: str, key: str) -> bool:
        return False

    def _remove_unknown_entry(self) -> None:
        last = self.combo.count() - 1
        if last >= 0 and self.combo.itemText(last).endswith(" (unknown)"):
            self.combo.blockSignals(True)
            self.combo.removeItem(last)
            self.combo.blockSignals(False)

    def _show_extras(self) -> None:
        from engine.files import inline_toml

        shown = bool(self.extras) and self.unknown_type is None
        owner = self._shown or "this class"
        self.extras_label.setText(f"not options of {owner}: " + ", ".join(f"{k} = {inline_toml(v)}"
                                                                           for k, v in self.extras.items()))
        self.extras_label.setVisible(shown)
        self.remove_extras.setVisible(shown)

    def _drop_extras(self) -> None:
        self.extras = {}
        self._show_extras()
        self.changed.emit()

    def editor_for(self, path: list):
        name = self.type
        if name is None or not path:
            return None
        if path[0] in self.extras:
            return self.extras_label
        return self.forms[name].editors.get(path[0])
