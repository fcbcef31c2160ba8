"""Pick a scheduler (or none) and edit it; SequentialLR / ChainedScheduler nest more of these."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.registry import SCHEDULERS

from .class_form import ClassForm, ClassPicker

__all__ = ["SchedulerEditor"]


class NestedSchedulers(QWidget):
    """The ``schedulers`` list of SequentialLR / ChainedScheduler: an editor per child."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.children_editors: list[SchedulerEditor] = []
        self.groups: list[QGroupBox] = []
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(12, 0, 0, 0)
        buttons = QHBoxLayout()
        add = QPushButton("Add nested scheduler", self)
        add.clicked.connect(lambda: self.add({"type": "LinearLR"}))
        buttons.addWidget(add)
        buttons.addStretch(1)
        self.box.addLayout(buttons)

    def add(self, table: dict | None, *, quiet: bool = False) -> None:
        editor = SchedulerEditor(nested=True, parent=self)
        editor.set_value(table)
        group = QGroupBox(f"schedulers[{len(self.children_editors)}]", self)
        layout = QVBoxLayout(group)
        layout.addWidget(editor)
        remove = QPushButton("Remove", group)
        remove.clicked.connect(lambda: self.remove(editor))
        layout.addWidget(remove)
        self.box.insertWidget(self.box.count() - 1, group)
        self.children_editors.append(editor)
        self.groups.append(group)
        editor.changed.connect(self.changed)
        if not quiet:
            self.changed.emit()

    def remove(self, editor, *, quiet: bool = False) -> None:
        index = self.children_editors.index(editor)
        self.children_editors.pop(index)
        self.groups.pop(index).deleteLater()
        for i, group in enumerate(self.groups):
            group.setTitle(f"schedulers[{i}]")
        if not quiet:
            self.changed.emit()

    def value(self) -> list:
        return [v for e in self.children_editors if (v := e.value()) is not None]

    def set_value(self, tables: list) -> None:
        for editor in list(self.children_editors):
            self.remove(editor, quiet=True)
        for table in tables if isinstance(tables, list) else []:
            self.add(table if isinstance(table, dict) else {}, quiet=True)


class SchedulerEditor(ClassPicker):
    """``value()`` is the run's ``scheduler`` table (or None), exactly as a TOML file holds it."""

    NONE = "(no scheduler)"

    def __init__(self, *, nested: bool = False, parent: QWidget | None = None):
        self.nested = nested
        self.nested_lists: dict[str, NestedSchedulers] = {}
        specs = {n: s for n, s in SCHEDULERS.items() if s.nestable or not nested}
        super().__init__(specs, parent)  # ReduceLROnPlateau cannot be nested: torch refuses it
        self.set_value(None)

    def build_form(self, name: str) -> tuple[ClassForm, QWidget]:
        spec = self.specs[name]
        skip = ("schedulers",) + (tuple(n for n, p in spec.params.items() if p.engine) if self.nested else ())
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        form = ClassForm(spec, skip=skip, parent=page)
        layout.addWidget(form)
        if "schedulers" in spec.params:
            nested = NestedSchedulers(page)
            nested.changed.connect(self.changed)
            layout.addWidget(QLabel("schedulers:", page))
            layout.addWidget(nested)
            self.nested_lists[name] = nested
        return form, page

    def describe(self, name: str) -> str:
        spec = self.specs[name]
        effect = f"\nAn lr edited mid-run: {spec.lr_edit_effect}." if spec.lr_edit_effect else ""
        return spec.summary + effect

    def none_text(self) -> str:
        return "The lr changes only by manual decay and edits."

    def holds_key(self, name: str, key: str) -> bool:
        return key == "schedulers" and name in self.nested_lists

    def set_extra_values(self, name: str, table: dict) -> None:
        for other, nested in self.nested_lists.items():
            nested.set_value(table.get("schedulers", []) if other == name else [])

    def extra_values(self, name: str) -> dict:
        return {"schedulers": self.nested_lists[name].value()} if name in self.nested_lists else {}

    def editor_for(self, path: list):
        name = self.type
        if name is not None and len(path) > 2 and path[0] == "schedulers" and name in self.nested_lists:
            children = self.nested_lists[name].children_editors
            return children[path[1]].editor_for(path[2:]) if path[1] < len(children) else None
        return super().editor_for(path)
