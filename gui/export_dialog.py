"""Export Plot: where to, and at what resolution (a slide wants more pixels than the screen has),
and the writing of a widget's picture (the plots, the range test's curve) as PNG or SVG."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QPainter, QPixmap
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

from engine.files import replace_atomically

__all__ = ["ExportDialog", "EXPORT_SCALES", "export_widget", "widget_picture"]

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


def widget_picture(widget: QWidget, scale: float = 2.0) -> QPixmap:
    """``widget`` as drawn on screen, ``scale`` times as many pixels, on white."""
    pixmap = QPixmap(widget.size() * scale)
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(Qt.GlobalColor.white)
    painter = QPainter(pixmap)
    try:
        widget.render(painter, QPoint())
    finally:
        painter.end()
    return pixmap


def export_widget(widget: QWidget, path: str | Path, scale: float = 2.0) -> bool:
    """Write ``widget`` to ``path``: PNG at ``scale``x (replaced whole or not at all), or SVG
    (vectors); True when written."""
    path = str(path)
    if path.lower().endswith(".svg"):
        # Qt's own SVG generator: pyqtgraph's SVGExporter fails on this Qt's path syntax
        # (pyqtgraph issue #3485), and this keeps the curves as vectors all the same.
        from PySide6.QtSvg import QSvgGenerator

        generator = QSvgGenerator()
        generator.setFileName(path)
        generator.setSize(widget.size())
        generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
        generator.setTitle("lrlab plot")
        painter = QPainter(generator)
        try:
            widget.render(painter, QPoint())
        finally:
            ok = painter.end()
        return ok
    picture = widget_picture(widget, scale)

    def write(tmp: Path) -> None:
        if not picture.save(str(tmp), "PNG"):
            raise OSError(f"cannot write {path} as PNG")

    try:
        replace_atomically(path, write)
    except OSError:
        return False
    return True
