"""Presentation mode: the window as a projector needs it.

Full screen, text and lines at a scale the teacher picks (1.25x to 2x, remembered), the side
panels out of the way (one key brings them back), and large Start / Pause / Step controls.
Leaving it puts back exactly what was there before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

__all__ = ["Presentation", "SCALES", "DEFAULT_SCALE"]

SCALES = (1.25, 1.5, 1.75, 2.0)
DEFAULT_SCALE = 1.5


@dataclass
class _Saved:
    font: QFont
    window_state: Qt.WindowState
    docks: dict = field(default_factory=dict)
    on_top: object = None   # the side panel's tab that was showing


class Presentation:
    """Enter and leave presentation mode on a :class:`gui.main_window.MainWindow`."""

    def __init__(self, window):
        self.window = window
        self.active = False
        self.scale = DEFAULT_SCALE
        self._saved: _Saved | None = None
        self._base_font = QFont(QApplication.font())

    def enter(self, scale: float | None = None, *, fullscreen: bool = True) -> None:
        if scale is not None:
            self.scale = scale
        if not self.active:
            w = self.window
            self._saved = _Saved(QFont(QApplication.font()), w.windowState(),
                                 {dock: dock.toggleViewAction().isChecked() for dock in w.side_docks},
                                 next((d for d in w.side_docks if d.isVisible()), None))
            self.active = True
            w.set_side_panel(False)
            if fullscreen:
                w.showFullScreen()
        self._apply(self.scale)

    def leave(self) -> None:
        if not self.active:
            return
        w, saved = self.window, self._saved
        self.active = False
        self._apply(1.0)
        if saved is not None:
            QApplication.setFont(saved.font)
            if w.isFullScreen() and not saved.window_state & Qt.WindowState.WindowFullScreen:
                w.showMaximized() if saved.window_state & Qt.WindowState.WindowMaximized else w.showNormal()
            for dock, visible in saved.docks.items():
                dock.setVisible(visible)
            if saved.on_top is not None:
                saved.on_top.raise_()
        self._saved = None
        w.update_toolbar_rows()
        QTimer.singleShot(0, w.update_toolbar_rows)

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        if self.active:
            self._apply(scale)

    def _apply(self, scale: float) -> None:
        w = self.window
        font = QFont(self._base_font)
        if font.pointSizeF() > 0:
            font.setPointSizeF(self._base_font.pointSizeF() * scale)
        else:
            font.setPixelSize(round(self._base_font.pixelSize() * scale))
        QApplication.setFont(font)
        w.plot_area.set_scale(scale)
        big = scale > 1.0
        icon = round((32 if big else 20) * scale)
        w.training_bar.setIconSize(QSize(icon, icon))
        w.training_bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon if big
                                          else Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        w.fit_status_bar()
        w.update_toolbar_rows()
        QTimer.singleShot(0, w.update_toolbar_rows)  # again once every widget has taken the new font
        QTimer.singleShot(0, lambda: w.fit_side_panel(exact=True))
