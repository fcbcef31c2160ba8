"""Pick a scheduler (or none) and edit it; SequentialLR / ChainedScheduler nest more of these."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.registry import SCHEDULERS

from .class_form import ClassForm, picker_layout

__all__ = ["SchedulerEditor"]

NONE = "(no scheduler)"


class NestedSchedulers(QWidget):
    """The ``schedulers`` list of SequentialLR / ChainedScheduler: an editor per child."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.children_editors: list[SchedulerEditor] = []
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(12, 0, 0, 0)
        buttons = QHBoxLayout()
        add = QPushButton("Add nested scheduler", self)
        add.clicked.connect(lambda: self.add({"type": "LinearLR"}))
        buttons.addWidget(add)
        buttons.addStretch(1)
        self.box.addLayout(buttons)

    def add(self, table: dict | None) -> None:
        editor = SchedulerEditor(nested=True, parent=self)
        editor.set_value(table)
        group = QGroupBox(f"schedulers[{len(self.children_editors)}]", self)
        layout = QVBoxLayout(group)
        layout.addWidget(editor)
        remove = QPushButton("Remove", group)
        remove.clicked.connect(lambda: self.remove(editor, group))
        layout.addWidget(remove)
        self.box.insertWidget(self.box.count() - 1, group)
        self.children_editors.append(editor)
        editor.changed.connect(self.changed)
        self.changed.emit()

    def remove(self, editor, group) -> None:
        self.children_editors.remove(editor)
        group.deleteLater()
        self.changed.emit()

    def value(self) -> list[dict]:
        return [e.value() for e in self.children_editors if e.value() is not None]

    def set_value(self, tables: list[dict]) -> None:
        for editor in list(self.children_editors):
            self.remove(editor, editor.parentWidget())
        for table in tables:
            self.add(table)


class SchedulerEditor(QWidget):
    """``value()`` is the run's ``scheduler`` table (or None), exactly as a TOML file holds it."""

    changed = Signal()

    def __init__(self, *, nested: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.nested = nested
        self.combo = QComboBox(self)
        self.combo.addItem(NONE)
        for name, spec in SCHEDULERS.items():
            if nested and name == "ReduceLROnPlateau":
                continue  # torch refuses it inside SequentialLR / ChainedScheduler
            self.combo.addItem(name)
            self.combo.setItemData(self.combo.count() - 1, spec.summary, 3)  # ToolTipRole
        self.summary, self.stack = picker_layout(self, self.combo)
        self.forms: dict[str, ClassForm] = {}
        self.nested_lists: dict[str, NestedSchedulers] = {}
        self.stack.addWidget(QWidget(self))
        self.combo.currentTextChanged.connect(self._switch)

    def form(self, name: str) -> ClassForm:
        """The form of scheduler ``name`` (built the first time it is shown)."""
        if name not in self.forms:
            spec = SCHEDULERS[name]
            skip = ("schedulers",) + (tuple(n for n, p in spec.params.items() if p.engine) if self.nested else ())
            page = QWidget(self)
            layout = QVBoxLayout(page)
            layout.setContentsMargins(0, 0, 0, 0)
            form = ClassForm(spec, skip=skip, parent=page)
            form.changed.connect(self.changed)
            layout.addWidget(form)
            if "schedulers" in spec.params:
                nested = NestedSchedulers(page)
                nested.changed.connect(self.changed)
                layout.addWidget(QLabel("schedulers:", page))
                layout.addWidget(nested)
                self.nested_lists[name] = nested
            self.forms[name] = form
            self.stack.addWidget(page)
        return self.forms[name]

    def _switch(self, name: str) -> None:
        if name == NONE:
            self.stack.setCurrentIndex(0)
            self.summary.setText("The lr changes only by manual decay and edits.")
        else:
            form = self.form(name)
            self.stack.setCurrentWidget(form.parentWidget())
            spec = SCHEDULERS[name]
            effect = f"\nAn lr edited mid-run: {spec.lr_edit_effect}." if spec.lr_edit_effect else ""
            self.summary.setText(spec.summary + effect)
        self.changed.emit()

    @property
    def type(self) -> str | None:
        name = self.combo.currentText()
        return None if name == NONE else name

    def value(self) -> dict | None:
        name = self.type
        if name is None:
            return None
        table = {"type": name, **self.forms[name].values()}
        if name in self.nested_lists:
            table["schedulers"] = self.nested_lists[name].value()
        return table

    def set_value(self, table: dict | None) -> None:
        self.blockSignals(True)
        if not table:
            self.combo.setCurrentText(NONE)
        else:
            name = table.get("type")
            if name not in SCHEDULERS:
                self.combo.setCurrentText(NONE)
            else:
                self.combo.setCurrentText(name)
                self.form(name).set_values(table)
                if name in self.nested_lists:
                    self.nested_lists[name].set_value(table.get("schedulers", []))
        self.blockSignals(False)
        self._switch(self.combo.currentText())

    def editor_for(self, path: list) -> object | None:
        """The field editor at a relative path such as ``["gamma"]`` or ``["schedulers", 1, "gamma"]``."""
        name = self.type
        if name is None or not path:
            return None
        if path[0] == "schedulers" and len(path) > 2 and name in self.nested_lists:
            children = self.nested_lists[name].children_editors
            return children[path[1]].editor_for(path[2:]) if path[1] < len(children) else None
        return self.forms[name].editors.get(path[0])
