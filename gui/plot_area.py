"""The plot area: the legend and the comparison's verdict above the plots, the hover readout below.

They are Qt widgets beside the plots rather than items inside them, so a legend never covers a
curve, a long readout never pushes a plot's edge off screen (its line has a fixed height and
ignores its text's width), and the verdict is a badge a back row can read. An exported picture
is this area without the readout (which follows the mouse) at a chosen resolution.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from .plot_style import BACKGROUND, BADGE_DIFFERENT, BADGE_SAME, BADGE_WAITING, MUTED_TEXT, TEXT
from .plots import PlotPanel

__all__ = ["PlotArea", "BADGE_COLOURS"]

BADGE_COLOURS = {"same": BADGE_SAME, "different": BADGE_DIFFERENT, "waiting": BADGE_WAITING}
READOUT_LINES = 2


class _FixedLines(QLabel):
    """A label that is always ``lines`` lines tall and never asks for its text's width."""

    def __init__(self, lines: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.lines = lines
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._fit()

    def _fit(self) -> None:
        self.setFixedHeight(QFontMetrics(self.font()).lineSpacing() * self.lines + 6)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._fit()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, self.height())

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, self.height())


class PlotArea(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAutoFillBackground(True)
        self.setStyleSheet(f"PlotArea, #canvas {{ background: {BACKGROUND}; }}")
        self.canvas = QWidget(self)
        self.canvas.setObjectName("canvas")
        self.legend = QLabel(self.canvas)
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setStyleSheet(f"color: {TEXT}; background: {BACKGROUND}; padding: 2px 6px;")
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.badge = QLabel(self.canvas)
        self.badge.setWordWrap(True)
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.badge.hide()
        self.plots = PlotPanel(self.canvas)
        canvas_layout = QVBoxLayout(self.canvas)
        canvas_layout.setContentsMargins(0, 2, 0, 0)
        canvas_layout.setSpacing(2)
        canvas_layout.addWidget(self.legend)
        canvas_layout.addWidget(self.badge)
        canvas_layout.addWidget(self.plots, 1)
        self.readout = _FixedLines(READOUT_LINES, self)
        self.readout.setStyleSheet(f"color: {TEXT}; background: {BACKGROUND}; padding: 0px 6px;")
        self.readout_hint = "Point at a plot to read every run's exact values here."
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.readout)
        self.plots.legend_changed.connect(self.legend.setText)
        self.plots.verdict_changed.connect(self._show_verdict)
        self.plots.readout_changed.connect(self._show_readout)
        self._show_readout("")
        self._scale = 1.0

    def set_scale(self, scale: float) -> None:
        self._scale = scale
        self.plots.set_scale(scale)
        self._show_verdict(*self.plots.verdict)

    def _show_verdict(self, text: str, kind: str) -> None:
        if not text:
            self.badge.hide()
            self.badge.setText("")
            return
        foreground, background = BADGE_COLOURS.get(kind, BADGE_WAITING)
        mark = {"same": "\u2714 ", "different": "\u2260 "}.get(kind, "")
        self.badge.setText(mark + text)
        self.badge.setToolTip(text)
        self.badge.setStyleSheet(f"color: {foreground}; background: {background}; font-weight: bold; "
                                 f"border-radius: 4px; padding: {int(3 * self._scale)}px 8px; margin: 0px 6px;")
        self.badge.show()

    def _show_readout(self, text: str) -> None:
        if text:
            self.readout.setText(text)
            self.readout.setToolTip(text)
        else:
            self.readout.setText(f"<span style='color:{MUTED_TEXT}'>{self.readout_hint}</span>")
            self.readout.setToolTip("")

    # -- pictures -----------------------------------------------------------------------------------
    def picture(self, scale: float = 2.0, size: QSize | None = None) -> QPixmap:
        """The legend, verdict and plots as drawn on screen, ``scale`` times as many pixels.

        ``size`` (logical pixels) lays the plots out at another size first, e.g. a slide's.
        """
        canvas = self.canvas
        original = canvas.size()
        if size is not None and size != original:
            canvas.resize(size)
            canvas.layout().activate()
        pixmap = QPixmap(canvas.size() * scale)
        pixmap.setDevicePixelRatio(scale)
        pixmap.fill(Qt.GlobalColor.white)
        painter = QPainter(pixmap)
        try:
            canvas.render(painter, QPoint())
        finally:
            painter.end()
        if canvas.size() != original:
            canvas.resize(original)
        return pixmap

    def export(self, path: str | Path, scale: float = 2.0, size: QSize | None = None) -> bool:
        """Write the plots to ``path``: PNG at ``scale``x, or SVG (vectors); True when written."""
        path = str(path)
        if path.lower().endswith(".svg"):
            # Qt's own SVG generator: pyqtgraph's SVGExporter fails on this Qt's path syntax
            # (pyqtgraph issue #3485), and this keeps the curves as vectors all the same.
            from PySide6.QtSvg import QSvgGenerator

            generator = QSvgGenerator()
            generator.setFileName(path)
            generator.setSize(self.canvas.size())
            generator.setViewBox(QRect(0, 0, self.canvas.width(), self.canvas.height()))
            generator.setTitle("lrlab plot")
            painter = QPainter(generator)
            try:
                self.canvas.render(painter, QPoint())
            finally:
                ok = painter.end()
            return ok
        # Written beside the target and renamed into place: an existing picture is replaced whole
        # or not at all.
        partial = path + ".partial"
        if not self.picture(scale, size).save(partial, "PNG"):
            Path(partial).unlink(missing_ok=True)
            return False
        os.replace(partial, path)
        return True
