"""The article's examples, in the article's order, as the first thing a newcomer sees.

Each is a button with the example's title and its one-line description; one click opens it.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QCommandLinkButton, QLabel, QVBoxLayout, QWidget

from engine.presets import list_presets

from .plot_style import MUTED_TEXT

__all__ = ["ExamplesPanel", "preset_entries"]


def preset_entries() -> list[tuple[str, str, str]]:
    """``(name, title, description)`` of every preset, in the article's order."""
    return [(preset.name, preset.title, preset.description) for preset in list_presets()]


class ExampleButton(QCommandLinkButton):
    """A title and its description; the description wraps, so the button fits a narrow panel."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(180, self.heightForWidth(180))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(240, self.heightForWidth(240))


class ExamplesPanel(QWidget):
    open_requested = Signal(str)   # a preset's name

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        intro = QLabel("The examples of the article <i>Dynamic Learning Rate Adjustment in PyTorch</i>, in its "
                       "order. Click one to open it, then press <b>Start</b> (F5).", self)
        intro.setWordWrap(True)
        intro.setStyleSheet(f"color: {MUTED_TEXT};")
        layout.addWidget(intro)
        self.buttons: dict[str, ExampleButton] = {}
        for number, (name, title, description) in enumerate(preset_entries(), start=1):
            button = ExampleButton(f"{number}. {title}", description, self)
            button.setToolTip(f"{title}\n{description}\n\n(preset {name!r}: main.py run --preset {name})")
            button.clicked.connect(lambda _=False, n=name: self.open_requested.emit(n))
            layout.addWidget(button)
            self.buttons[name] = button
        layout.addStretch(1)
