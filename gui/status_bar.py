"""The status bar: one line of words (red for a warning), the epoch/step counters, and a progress bar.

The counters keep a steady width from the current font (no relayout as digits change), and the
words are elided with the whole text on hover, so nothing in the bar moves while training.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar

from .widgets import ElidedLabel

__all__ = ["StatusBar", "WARNING_STYLE"]

WARNING_STYLE = "color: #a40000; font-weight: bold;"


class StatusBar:
    def __init__(self, window: QMainWindow):
        self.label, self.progress, self.counts = ElidedLabel("", window), QProgressBar(window), QLabel(window)
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(True)
        bar = window.statusBar()
        bar.addWidget(self.label, 1)
        bar.addPermanentWidget(self.counts)
        bar.addPermanentWidget(self.progress)
        self.fit()

    def fit(self) -> None:
        """Steady widths for the counters, from the current font (after a presentation scale change)."""
        metrics = self.counts.fontMetrics()
        self.counts.setMinimumWidth(metrics.horizontalAdvance("epoch 9999/9999 · step 99999/99999 · 99:99 left"))
        self.progress.setMaximumWidth(metrics.horizontalAdvance("0" * 22))

    def say(self, text: str, warning: bool = False) -> None:
        self.label.setText(text)
        self.label.setStyleSheet(WARNING_STYLE if warning else "")
