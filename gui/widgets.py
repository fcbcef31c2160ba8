"""Small widgets and a style that make the window fit a narrow screen and behave under a careless hand.

* :class:`VerticalScrollArea` scrolls only up and down: its contents always take the viewport's
  width, so pressing Tab into a field can never scroll a form sideways (and cut its labels).
* :class:`FlowLayout` puts buttons in rows that wrap, so a row of them fits any width.
* :class:`ElidedLabel` ends a line that does not fit in "..." and says all of it on hover.
* :class:`LabStyle` keeps the mouse wheel from changing a field that has no focus (a combo box
  scrolled past in a form must not change a scheduler's option) and tells combo boxes not to
  ask for their longest entry's width.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLayout,
    QProxyStyle,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStyle,
    QWidget,
)

__all__ = ["VerticalScrollArea", "FlowLayout", "ElidedLabel", "LabStyle", "install_style", "stacked_splitter"]

DEFAULT_ADJUST = QComboBox.SizeAdjustPolicy.AdjustToContentsOnFirstShow
PLACEHOLDER = "#5e5e5e"  # 6.4:1 on white


def stacked_splitter(parent: QWidget, top: QWidget, bottom: QWidget, stretch: tuple[int, int]) -> QSplitter:
    """Two panes one above the other sharing the height by ``stretch``; a presenter drags the line
    between them, and neither collapses to nothing."""
    splitter = QSplitter(Qt.Orientation.Vertical, parent)
    splitter.setChildrenCollapsible(False)
    splitter.addWidget(top)
    splitter.addWidget(bottom)
    splitter.setStretchFactor(0, stretch[0])
    splitter.setStretchFactor(1, stretch[1])
    return splitter


class VerticalScrollArea(QScrollArea):
    """A scroll area whose contents are as wide as its viewport: never a horizontal scroll.

    Its own minimum width follows the contents' minimum width, so the dock holding it cannot be
    made narrower than what its fields need: they are never cut on the right.
    """

    def __init__(self, widget: QWidget | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        if widget is not None:
            self.setWidget(widget)

    def setWidget(self, widget: QWidget) -> None:  # noqa: N802 - Qt's name
        super().setWidget(widget)
        widget.installEventFilter(self)
        self._follow_contents()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._follow_contents()
        return super().eventFilter(watched, event)

    def _follow_contents(self) -> None:
        widget = self.widget()
        if widget is None:
            return
        width = widget.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2
        if self.minimumWidth() != width:
            self.setMinimumWidth(width)

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        super().scrollContentsBy(0, dy)  # never sideways, whatever asks (ensureWidgetVisible on focus)
        self.horizontalScrollBar().setValue(0)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.widget() is not None:
            self.widget().setMaximumWidth(self.viewport().width())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.minimumWidth(), 80)


class FlowLayout(QLayout):
    """Items left to right, wrapping to a new row when the width runs out (Qt's flow layout example)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._items = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:  # noqa: N802
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, move: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, row_height = area.x(), area.y(), 0
        for item in self._items:
            if item.widget() is not None and not item.widget().isVisibleTo(self.parentWidget()):
                continue
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and row_height > 0:
                x, y, row_height = area.x(), y + row_height + self._spacing, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + margins.bottom()


class ElidedLabel(QLabel):
    """One line of plain text that ends in "..." when it does not fit; the tooltip says all of it."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(text, parent)
        self.setProperty("elides", True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, super().minimumSizeHint().height())

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), text)
        painter.end()


TAB_PADDING = 12  # px beside a tab's title, both sides together


class LabStyle(QProxyStyle):
    """The platform's style, but a combo box takes the wheel only when it has focus."""

    def styleHint(self, hint, option=None, widget=None, returnData=None):  # noqa: N802
        if hint == QStyle.StyleHint.SH_ComboBox_AllowWheelScrolling:
            return int(widget is not None and widget.hasFocus())
        return super().styleHint(hint, option, widget, returnData)

    def pixelMetric(self, metric, option=None, widget=None):  # noqa: N802
        if metric == QStyle.PixelMetric.PM_TabBarTabHSpace:
            # The side panel has six tabs (Examples .. Find lr): with the platform's padding (about
            # 24 px a tab) their titles do not fit a 1024-px projector's panel in presentation mode.
            return TAB_PADDING
        return super().pixelMetric(metric, option, widget)

    def polish(self, target):
        if isinstance(target, (QComboBox, QAbstractSpinBox)):
            # A wheel would otherwise give them focus first (Qt.WheelFocus), and then scroll.
            target.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            if isinstance(target, QComboBox) and target.sizeAdjustPolicy() == DEFAULT_ADJUST and \
                    not target.property("keepWidth"):
                # In a form, a combo box must not ask for its longest entry's width (a narrow panel
                # would scroll sideways); the current entry shows, elided only if it must be.
                target.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
                target.setMinimumContentsLength(max(target.minimumContentsLength(), 8))
        return super().polish(target)


_installed: list[LabStyle] = []  # the application uses it until it quits: never let Python collect it


def install_style(app) -> LabStyle:
    """Wrap the application's style (once per application) in :class:`LabStyle`."""
    if _installed and app.style() is _installed[-1]:
        return _installed[-1]
    style = LabStyle(app.style().name())
    app.setStyle(style)
    palette = app.palette()
    # The usual placeholder grey is about 4:1 on white; "default 0.9, 0.999" is worth reading.
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(PLACEHOLDER))
    app.setPalette(palette)
    _installed.append(style)
    return style
