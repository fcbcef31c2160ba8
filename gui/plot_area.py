"""The plot area: the legend and the comparison's verdict above the plots, the hover readout over them.

The legend and the verdict are Qt widgets above the plots rather than items inside them, so a
legend never covers a curve and the verdict is a badge a back row can read. The hover readout is
a box shown over the plots only while the mouse is there, on the side away from the mouse, and
outside every layout: whatever it says, no plot moves. An exported picture is the legend, the
verdict and the plots (never the readout) at a chosen resolution.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap, QTextDocument
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from .export_dialog import export_widget, widget_picture
from .plot_style import BACKGROUND, BADGE_DIFFERENT, BADGE_SAME, BADGE_WAITING, TEXT
from .plots import PlotPanel

__all__ = ["PlotArea", "BADGE_COLOURS"]

BADGE_COLOURS = {"same": BADGE_SAME, "different": BADGE_DIFFERENT, "waiting": BADGE_WAITING}


class ReadoutOverlay(QLabel):
    """The hover readout: a box over the plots, on the side away from the mouse, only while the
    mouse is over them. It lives outside every layout, so no text it shows moves a plot."""

    def __init__(self, host: QWidget):
        super().__init__(host)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet(f"color: {TEXT}; background: rgba(255, 255, 255, 235); border: 1px solid #8c8c8c; "
                           "border-radius: 3px; padding: 4px 6px;")
        self.hide()

    def show_text(self, text: str, mouse_x: float, axis_width: int) -> None:
        """Show ``text`` beside the plots' y axis (``axis_width`` px) on the side away from ``mouse_x``."""
        if not text:
            self.hide()
            return
        self.setText(text)
        host = self.parentWidget()
        margin, gap = 8, 24
        left_room = int(mouse_x) - gap - margin - axis_width
        right_room = host.width() - int(mouse_x) - gap - margin
        on_left = left_room >= right_room                    # the side with more room, away from the mouse
        room = max(left_room if on_left else right_room, 160)
        self.setFixedWidth(min(self._ideal_width(text) + 20, room))
        self.adjustSize()
        x = margin + axis_width if on_left else host.width() - self.width() - margin
        self.move(max(0, x), margin + 24)
        self.show()
        self.raise_()

    def _ideal_width(self, text: str) -> int:
        document = QTextDocument()
        document.setDefaultFont(self.font())
        document.setHtml(text)
        return int(document.idealWidth())


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
        self.readout = ReadoutOverlay(self.plots)
        self.plots.setToolTip("")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        self._badge_style = None
        self.plots.legend_changed.connect(self.legend.setText)
        self.plots.verdict_changed.connect(self._show_verdict)
        self.plots.readout_changed.connect(self._show_readout)
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
        mark = {"same": "\u2714 ", "different": "\u2260 "}.get(kind, "")
        self.badge.setText(mark + text)
        self.badge.setToolTip(text)
        style = (kind, self._scale)
        if style != self._badge_style:  # a style sheet is costly to apply: only when it changes
            self._badge_style = style
            foreground, background = BADGE_COLOURS.get(kind, BADGE_WAITING)
            self.badge.setStyleSheet(f"color: {foreground}; background: {background}; font-weight: bold; "
                                     f"border-radius: 4px; padding: {int(3 * self._scale)}px 8px; margin: 0px 6px;")
        self.badge.show()

    def _show_readout(self, text: str) -> None:
        self.readout.show_text(text, self.plots.mouse_x, int(self.plots.lr_plot.getAxis("left").width()))

    # -- pictures -----------------------------------------------------------------------------------
    def picture(self, scale: float = 2.0) -> QPixmap:
        """The legend, verdict and plots as drawn on screen, ``scale`` times as many pixels."""
        self.plots.end_hover()  # the readout box and the cursor follow the mouse: not in a picture
        return widget_picture(self.canvas, scale)

    def export(self, path: str | Path, scale: float = 2.0) -> bool:
        """Write the plots to ``path``: PNG at ``scale``x, or SVG (vectors); True when written."""
        self.plots.end_hover()
        return export_widget(self.canvas, path, scale)
