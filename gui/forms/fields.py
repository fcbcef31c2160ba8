"""One editor per field type, chosen from the registry's ``FieldType.kind`` (magicgui's type map).

An editor holds what a person typed as the raw TOML value (a number, a list, a string):
the engine's own validation decides what is allowed and its message is shown at the field.
Empty text (or "default" in a combo box) means "not set": torch's default applies, and a
saved experiment keeps only what was set, so forms round-trip files exactly.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from engine.errors import ExperimentError, show_value
from engine.fieldtypes import Expression, PerGroup
from engine.registry import ParamSpec

__all__ = ["UNSET", "FieldEditor", "TextFieldEditor", "ChoiceFieldEditor", "make_editor", "parse_number",
           "format_value", "mark_error"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

_INT = re.compile(r"^[+-]?\d+$")
ERROR_STYLE = "border: 1px solid #d33; background: #fff0f0;"


def parse_number(text: str):
    """``"1e-3"`` -> 0.001, ``"5"`` -> 5; anything else stays text (validation says what is wrong)."""
    text = text.strip()
    if _INT.match(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def _split(text: str, separator: str) -> list[str]:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part.strip() for part in text.split(separator) if part.strip()]


def format_value(value, kind: str = "") -> str:
    """The text an editor shows for a raw value."""
    if value is UNSET or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        separator = "; " if kind == "expression_list" else ", "
        return separator.join(format_value(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def mark_error(widget: QWidget, message: str | None, tooltip: str = "") -> None:
    """Red border and the reason as tooltip, or back to normal."""
    widget.setStyleSheet(ERROR_STYLE if message else "")
    widget.setToolTip(f"{message}\n\n{tooltip}".strip() if message else tooltip)


class FieldEditor(QWidget):
    """Base: ``value()`` is the raw value or UNSET; ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self, param: ParamSpec, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self.help = f"{param.name}: {param.describe()}" + (f"\n\n{param.doc}" if param.doc else "")
        self.setToolTip(self.help)
        self.error: str | None = None

    def value(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def set_value(self, value) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def input_widget(self) -> QWidget:
        return self

    def check(self) -> str | None:
        """The engine's message for this field alone (None when fine or not set)."""
        value = self.value()
        if value is UNSET:
            return None
        try:
            self.param.type.check(value, "")
        except ExperimentError as error:
            return error.message
        return None

    def set_error(self, message: str | None) -> None:
        self.error = message
        mark_error(self.input_widget(), message, self.help)


class _LineEdit(QLineEdit):
    """A line edit that asks for room for its placeholder ("default 0.9, 0.999"), so a narrow form
    puts the field under its label (QFormLayout.WrapLongRows) rather than cut the hint."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        metrics = self.fontMetrics()
        wanted = min(metrics.horizontalAdvance(self.placeholderText()) + 14, 24 * metrics.averageCharWidth())
        return QSize(max(hint.width(), wanted), hint.height())


class TextFieldEditor(FieldEditor):
    """Numbers (scientific notation too), lists, per-group values and expressions, as text."""

    def __init__(self, param: ParamSpec, parent: QWidget | None = None):
        super().__init__(param, parent)
        ftype = param.type
        self.kind = ftype.kind
        if isinstance(ftype, PerGroup) and isinstance(ftype.item, Expression):
            self.kind = "expression_list"
        self.edit = _LineEdit(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit)
        if param.required:
            placeholder = "required"
            if isinstance(ftype, Expression) or self.kind == "expression_list":
                example = ftype.example if isinstance(ftype, Expression) else ftype.item.example
                placeholder = f"required, e.g. {example}"
        elif param.default is None:
            placeholder = "optional"
        else:
            placeholder = f"default {format_value(param.default)}"
        self.edit.setPlaceholderText(placeholder)
        self.edit.setToolTip(self.help)
        self.edit.textChanged.connect(self._edited)

    def input_widget(self) -> QWidget:
        return self.edit

    def _edited(self) -> None:
        self.set_error(self.check())
        self.changed.emit()

    def value(self):
        text = self.edit.text().strip()
        if not text:
            return UNSET
        kind = self.kind
        if kind in ("float", "int"):
            return parse_number(text)
        if kind in ("tuple", "list"):
            return [parse_number(p) for p in _split(text, ",")]
        if kind == "per_group":
            parts = [parse_number(p) for p in _split(text, ",")]
            return parts[0] if len(parts) == 1 and not text.startswith("[") else parts
        if kind == "expression_list":
            parts = _split(text, ";")
            return parts[0] if len(parts) == 1 else parts
        return text

    def set_value(self, value) -> None:
        self.edit.setText(format_value(value, self.kind))
        self.edit.setCursorPosition(0)  # a long description shows its beginning, not its end


class ChoiceFieldEditor(FieldEditor):
    """Choices and booleans: a combo box whose first entry is torch's default."""

    def __init__(self, param: ParamSpec, parent: QWidget | None = None):
        super().__init__(param, parent)
        ftype = param.type
        options: list = [True, False] if ftype.kind == "bool" else list(ftype.options)
        self.options = options
        self.combo = QComboBox(self)
        if param.required:
            first = "(choose)"
        elif param.default is None:
            first = "default (none)"
        else:
            first = f"default ({format_value(param.default)})"
        self.combo.addItem(first)
        for option in options:
            self.combo.addItem(format_value(option))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        self.combo.setToolTip(self.help)
        # its choices are short: it asks for the longest's width, and a narrow form wraps the row
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.currentIndexChanged.connect(lambda _: self.changed.emit())

    def input_widget(self) -> QWidget:
        return self.combo

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        # The longest choice's width (a combo box would settle for less, and elide "default (false)").
        return QSize(self.combo.sizeHint().width(), super().minimumSizeHint().height())

    def value(self):
        index = self.combo.currentIndex()
        return UNSET if index <= 0 else self.options[index - 1]

    def set_value(self, value) -> None:
        if value is UNSET or value is None:
            self.combo.setCurrentIndex(0)
        elif value in self.options and not (isinstance(value, bool) != isinstance(self.options[0], bool)):
            self.combo.setCurrentIndex(self.options.index(value) + 1)
        else:  # a value the file holds but no entry matches: show it, and say why it is wrong
            self.combo.addItem(show_value(value))
            self.options.append(value)
            self.combo.setCurrentIndex(self.combo.count() - 1)


class UnavailableEditor(FieldEditor):
    """A torch option this lab cannot honour: shown, greyed, with the reason."""

    def __init__(self, param: ParamSpec, parent: QWidget | None = None):
        super().__init__(param, parent)
        label = QLabel("<i>not available here</i> (see the tooltip)", self)
        label.setStyleSheet("color: #4d4d4d;")  # readable (8.5:1), unlike a disabled label's grey
        label.setToolTip(self.help)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        self._value = UNSET

    def value(self):
        return self._value

    def set_value(self, value) -> None:  # a file may still set it: keep it so validation names it
        self._value = value


EDITORS = {
    "float": TextFieldEditor, "int": TextFieldEditor, "tuple": TextFieldEditor, "list": TextFieldEditor,
    "per_group": TextFieldEditor, "expression": TextFieldEditor, "str": TextFieldEditor,
    "bool": ChoiceFieldEditor, "choice": ChoiceFieldEditor, "unavailable": UnavailableEditor,
}


def make_editor(param: ParamSpec, parent: QWidget | None = None) -> FieldEditor:
    """The editor for ``param``, from the table above (no per-parameter code)."""
    return EDITORS[param.type.kind](param, parent)
