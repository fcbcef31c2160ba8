"""The window's layout: one side panel of tabs (Examples, Setup, Live state) beside the plots,
and toolbars that wrap to a new row instead of hiding controls.

The plots own the window: a narrower window takes its space from the side panel, F9 folds the
panel away, and at 1024x768 nothing is cut off.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QTabBar, QTabWidget, QWidget

__all__ = ["SidePanel", "first_size", "side_width", "update_toolbar_rows"]


def first_size() -> tuple[int, int]:
    """The window's size before any is remembered: 1440x920, or the screen's if it is smaller."""
    app = QApplication.instance()
    screen = app.primaryScreen() if app is not None else None
    if screen is None or app.platformName() == "offscreen":
        return 1440, 920
    available = screen.availableGeometry()
    return min(1440, available.width()), min(920, available.height())


def side_width(window_width: int, scale: float = 1.0) -> int:
    """The side panel's width for a window this wide: a third, within what its forms need at
    this text scale, and never more than half the window."""
    return min(window_width // 2, max(int(330 * scale), min(int(470 * scale), window_width // 3)))


def update_toolbar_rows(window: QMainWindow, toolbars) -> None:
    """Toolbars side by side while they fit the width, a new row when the next does not:
    never a control hidden behind an overflow button."""
    used = 0
    for toolbar in toolbars:
        width = toolbar.sizeHint().width() + 8
        wrap = used > 0 and used + width > window.width()
        used = width if wrap else used + width
        if wrap != window.toolBarBreak(toolbar):
            if wrap:
                window.insertToolBarBreak(toolbar)
            else:
                window.removeToolBarBreak(toolbar)


class SidePanel(QObject):
    """The docks of the side panel, tabbed together on the left."""

    def __init__(self, window: QMainWindow, panels: list[tuple[str, QWidget]]):
        super().__init__(window)
        self.window = window
        self.docks = [self._dock(title, widget) for title, widget in panels]
        for a, b in zip(self.docks, self.docks[1:]):
            window.tabifyDockWidget(a, b)
        window.setTabPosition(Qt.DockWidgetArea.LeftDockWidgetArea, QTabWidget.TabPosition.North)

    def _dock(self, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(title)
        dock.setWidget(widget)
        # The tab says which panel it is: a title bar above it would take a line from the forms.
        dock.setTitleBarWidget(QWidget(dock))
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        return dock

    def add_tab(self, title: str, widget: QWidget) -> QDockWidget:
        """A panel added after the window's own (the Guide, Find lr), as their last tab; the tab in
        front stays in front."""
        front = self.current() or (self.docks[0] if self.docks else None)  # (None before the window shows)
        dock = self._dock(title, widget)
        if self.docks:
            self.window.tabifyDockWidget(self.docks[-1], dock)
        if front is not None:
            front.raise_()
        self.docks.append(dock)  # the window's side_docks is this list: presentation mode and View see it
        return dock

    def scale(self) -> float:
        presentation = getattr(self.window, "presentation", None)
        return presentation.scale if presentation is not None and presentation.active else 1.0

    def fit(self, exact: bool = False) -> None:
        """A narrower window takes the space from the side panel, not from the plots; ``exact``
        sets the panel to its width for this window and text scale (after a scale change)."""
        width = side_width(self.window.width(), self.scale())
        docks = [d for d in self.docks if d.isVisible() and not d.isFloating()]
        current = max(docks, key=lambda d: d.width(), default=None)
        if current is not None and (current.width() > width or exact and current.width() != width):
            # every dock of the tab group: Qt applies the size of the one that is the current tab
            self.window.resizeDocks(docks, [width] * len(docks), Qt.Orientation.Horizontal)

    def set_visible(self, visible: bool) -> None:
        for dock in self.docks:
            dock.setVisible(visible)
        if visible:
            QTimer.singleShot(0, self, lambda: self.fit(exact=self.scale() != 1.0))

    def current(self) -> QDockWidget | None:
        """The tab in front (read from the docks' tab bar: a dock out of sight in its tab group
        still says it is visible)."""
        shown = [d for d in self.docks if d.toggleViewAction().isChecked()]
        for bar in self.window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if bar.count() and bar.currentIndex() >= 0:
                title = bar.tabText(bar.currentIndex())
                return next((d for d in shown if d.windowTitle() == title), None)
        return shown[0] if len(shown) == 1 else None

    def shown(self) -> bool:
        return any(dock.toggleViewAction().isChecked() for dock in self.docks)
