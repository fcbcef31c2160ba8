"""Export Plot: where to, and at what resolution (a slide wants more pixels than the screen has)."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

__all__ = ["ExportDialog", "EXPORT_SCALES"]

EXPORT_SCALES = (1.0, 2.0, 3.0, 4.0)


class ExportDialog(QDialog):
    def __init__(self, parent: QWidget | None, path: str, size: QSize, scale: float = 2.0):
        super().__init__(parent)
        self.setWindowTitle("Export plot")
        self.file = QLineEdit(path, self)
        browse = QPushButton("Browse...", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.file, 1)
        row.addWidget(browse)
        self.resolution = QComboBox(self)
        for factor in EXPORT_SCALES:
            pixels = size * factor
            self.resolution.addItem(f"{factor:g}\u00d7  ({pixels.width()} \u00d7 {pixels.height()} px)", factor)
        self.resolution.setCurrentIndex(EXPORT_SCALES.index(scale) if scale in EXPORT_SCALES else 1)
        note = QLabel("PNG at the chosen resolution (the legend, the comparison's verdict and every plot); "
                      "a name ending in .svg writes vectors instead.", self)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel,
                                   self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("file", row)
        form.addRow("resolution", self.resolution)
        form.addRow(note)
        form.addRow(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", self.file.text(),
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.file.setText(path)

    def path(self) -> str:
        path = self.file.text().strip()
        return path if path.lower().endswith((".png", ".svg")) else path + ".png"

    def scale(self) -> float:
        return float(self.resolution.currentData())
