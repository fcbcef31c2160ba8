"""Presentation mode: the window as a projector needs it.

Full screen, text and lines at a scale the teacher picks (1.25x to 2x, remembered), the side
panels out of the way (one key brings them back), and large Start / Pause / Step controls.
Leaving it puts back exactly what was there before: the window's state, the side panel (which
tab, how wide), the toolbar, the font.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QWidget

__all__ = ["Presentation", "SCALES", "DEFAULT_SCALE", "scaled_font"]

SCALES = (1.25, 1.5, 1.75, 2.0)
DEFAULT_SCALE = 1.5
BIG_ICON = 24  # the training buttons' icons in presentation mode, before scaling


@dataclass
class _Saved:
    font: QFont
    window_state: Qt.WindowState
    docks: dict = field(default_factory=dict)
    on_top: object = None    # the side panel's tab that was showing
    side_width: int = 0
    icon_size: QSize = field(default_factory=QSize)
    button_style: Qt.ToolButtonStyle = Qt.ToolButtonStyle.ToolButtonTextBesideIcon


def scaled_font(base: QFont, scale: float) -> QFont:
    font = QFont(base)
    if base.pointSizeF() > 0:
        font.setPointSizeF(base.pointSizeF() * scale)
    else:
        font.setPixelSize(round(base.pixelSize() * scale))
    return font


class Presentation:
    """Enter and leave presentation mode on a :class:`gui.main_window.MainWindow`."""

    def __init__(self, window):
        self.window = window
        self.active = False
        self.scale = DEFAULT_SCALE
        self._saved: _Saved | None = None

    def enter(self, scale: float | None = None, *, fullscreen: bool = True) -> None:
        if scale is not None:
            self.scale = scale
        w = self.window
        if not self.active:
            on_top = w.side.current()
            self._saved = _Saved(QFont(QApplication.font()), w.windowState(),
                                 {dock: dock.toggleViewAction().isChecked() for dock in w.side_docks},
                                 on_top, on_top.width() if on_top is not None else 0,
                                 w.training_bar.iconSize(), w.training_bar.toolButtonStyle())
            self.active = True
            w.set_side_panel(False)
            if fullscreen:
                w.showFullScreen()
        self._apply(scaled_font(self._saved.font, self.scale))
        big = round(BIG_ICON * self.scale)
        w.training_bar.setIconSize(QSize(big, big))
        w.training_bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

    def leave(self) -> None:
        if not self.active:
            return
        w, saved = self.window, self._saved
        self.active = False
        self._saved = None
        w.training_bar.setIconSize(saved.icon_size)
        w.training_bar.setToolButtonStyle(saved.button_style)
        self._apply(saved.font)
        if w.isFullScreen() and not saved.window_state & Qt.WindowState.WindowFullScreen:
            w.showMaximized() if saved.window_state & Qt.WindowState.WindowMaximized else w.showNormal()
        for dock, visible in saved.docks.items():
            dock.setVisible(visible)
        if saved.on_top is not None:
            saved.on_top.raise_()
            QTimer.singleShot(0, w, lambda: w.resizeDocks([saved.on_top], [saved.side_width],
                                                          Qt.Orientation.Horizontal))

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        if self.active:
            self.enter(scale)

    # -- the window's actions ------------------------------------------------------------------
    def switch(self, on: bool, scale: float | None = None, *, fullscreen: bool = True) -> None:
        """Enter or leave, and keep the window's actions saying which."""
        w = self.window
        if on:
            self.enter(scale, fullscreen=fullscreen)
            self.check_scale()
        else:
            self.leave()
        w.present_action.setChecked(self.active)
        w.leave_present_action.setEnabled(self.active)
        w.side_action.setChecked(w.side.shown())

    def choose_scale(self, scale: float) -> None:
        """View > Presentation Scale: applied at once when presenting, and remembered."""
        self.set_scale(scale)
        self.window.settings.setValue("presentation_scale", scale)
        self.check_scale()

    def check_scale(self) -> None:
        for action in self.window.scale_group.actions():
            action.setChecked(action.data() == self.scale)

    def _apply(self, font: QFont) -> None:
        w = self.window
        QApplication.setFont(font)
        # A widget with a style sheet keeps the font it had (Qt does not pass it an application
        # font change): re-applying its sheet makes it take the new one.
        for widget in w.findChildren(QWidget):
            if widget.styleSheet():
                widget.setStyleSheet(widget.styleSheet())
        w.plot_area.set_scale(self.scale if self.active else 1.0)
        w.status.fit()
        w.update_toolbar_rows()
        QTimer.singleShot(0, w, w.update_toolbar_rows)  # again once every widget has taken the new font
        if self.active:
            QTimer.singleShot(0, w, lambda: w.side.fit(exact=True))
