"""The article's examples, in the article's order, as the first thing a newcomer sees.

Each is a card with the example's title and its one-line description, both wrapping to the
panel's width; one click (or Enter) opens it.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from engine.presets import list_presets

from .plot_style import MUTED_TEXT

__all__ = ["ExamplesPanel", "ExampleCard", "preset_entries"]


def preset_entries() -> list[tuple[str, str, str]]:
    """``(name, title, description)`` of every preset, in the article's order."""
    return [(preset.name, preset.title, preset.description) for preset in list_presets()]


class ExampleCard(QPushButton):
    """A button holding two wrapped labels: the title, in bold, and the description."""

    def __init__(self, number: int, title: str, description: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel(f"<b>{number}. {title}</b>", self)
        self.description = QLabel(description, self)
        self.setAccessibleName(f"{number}. {title}")
        self.setAccessibleDescription(description)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)
        for label in (self.title, self.description):
            label.setWordWrap(True)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            layout.addWidget(label)
        self.description.setStyleSheet(f"color: {MUTED_TEXT};")
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        inner = max(width - 20, 40)
        return self.title.heightForWidth(inner) + self.description.heightForWidth(inner) + 2 + 12

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(260, self.heightForWidth(260))

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(160, self.heightForWidth(self.width() if self.width() > 160 else 160))


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
        self.buttons: dict[str, ExampleCard] = {}
        for number, (name, title, description) in enumerate(preset_entries(), start=1):
            card = ExampleCard(number, title, description, self)
            card.setToolTip(f"{title}\n{description}\n\n(main.py run --preset {name} trains it without the window)")
            card.clicked.connect(lambda _=False, n=name: self.open_requested.emit(n))
            layout.addWidget(card)
            self.buttons[name] = card
        layout.addStretch(1)
