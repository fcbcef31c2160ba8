"""What a person sees, checked: text that fits its widget, widgets inside the window, toolbars
with nothing behind an overflow button, the plots' share of the window.

Each check returns a list of problems in words (empty when all is well), so a failing test
says which label lost which letters.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QCheckBox,
    QComboBox,
    QCommandLinkButton,
    QDockWidget,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QStyle,
    QStyleOptionComboBox,
    QTabBar,
    QTableWidget,
    QToolBar,
    QToolButton,
    QWidget,
)

SLACK = 2  # pixels of rounding


def visible_widgets(window) -> list[QWidget]:
    # A tabbed dock that is not the current tab stays "visible" but is moved out of sight: only
    # what a person can see counts.
    return [w for w in window.findChildren(QWidget) if w.isVisible() and w.window() is window
            and w.width() > 0 and w.height() > 0 and not _in_a_tab_out_of_sight(w)
            and not _inside_item_view(w)]


def _in_a_tab_out_of_sight(widget: QWidget) -> bool:
    if isinstance(widget, QTabBar) and widget.count() == 0 and widget.visibleRegion().isEmpty():
        # QMainWindow parks the tab bar of a dock group whose docks are all hidden outside the
        # window, "visible" and empty (it re-shows it if hidden): nothing of it can be seen.
        return True
    while widget is not None:
        if isinstance(widget, QDockWidget) and widget.visibleRegion().isEmpty():
            return True
        widget = widget.parentWidget()
    return False


def _inside_item_view(widget: QWidget) -> bool:
    """Editors and internals of tables and lists are checked as cells, not as widgets."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractItemView):
            return True
        parent = parent.parentWidget()
    return False


def _label_text_width(label: QLabel) -> int:
    text = label.text()
    if not text:
        return 0
    if label.textFormat() == label.textFormat().RichText or (label.textFormat() == label.textFormat().AutoText
                                                             and "<" in text):
        document = QTextDocument()
        document.setDefaultFont(label.font())
        document.setDocumentMargin(0)
        document.setHtml(text)
        return int(document.idealWidth())
    return max(label.fontMetrics().horizontalAdvance(line) for line in text.splitlines())


def _name(widget: QWidget) -> str:
    text = ""
    for attribute in ("text", "currentText", "title", "placeholderText"):
        value = getattr(widget, attribute, None)
        if callable(value):
            try:
                text = value()
            except TypeError:
                continue
            if text:
                break
    return f"{type(widget).__name__} {text[:60]!r}"


def text_that_does_not_fit(window) -> list[str]:
    """Every visible label, button, box and field whose text is cut (elided or clipped)."""
    problems = []
    for w in visible_widgets(window):
        if isinstance(w, QLabel) and w.property("elides") and w.text() in w.toolTip():
            continue  # draws "..." where it must and says the whole text on hover
        if isinstance(w, QLabel) and w.text():
            margins = w.contentsMargins()
            room = w.contentsRect().width() - 2 * w.margin() - 2 * w.indent() if w.indent() > 0 else \
                w.contentsRect().width() - 2 * w.margin()
            if w.wordWrap():
                needed_height = w.heightForWidth(w.width())
                if needed_height > w.height() + SLACK:
                    problems.append(f"{_name(w)}: needs {needed_height} px of height, has {w.height()}")
            elif _label_text_width(w) > room + SLACK + margins.left() + margins.right():
                problems.append(f"{_name(w)}: needs {_label_text_width(w)} px, has {room}")
        elif isinstance(w, QCommandLinkButton):
            if w.heightForWidth(w.width()) > w.height() + SLACK:
                problems.append(f"{_name(w)}: needs {w.heightForWidth(w.width())} px of height, has {w.height()}")
        elif isinstance(w, (QCheckBox, QRadioButton)) or (isinstance(w, QAbstractButton)
                                                          and not isinstance(w, QToolButton) and w.text()):
            if w.sizeHint().width() > w.width() + SLACK:
                problems.append(f"{_name(w)}: needs {w.sizeHint().width()} px, has {w.width()}")
        elif isinstance(w, QToolButton) and w.text() and w.toolButtonStyle() != w.toolButtonStyle().ToolButtonIconOnly:
            if w.sizeHint().width() > w.width() + SLACK:
                problems.append(f"{_name(w)}: needs {w.sizeHint().width()} px, has {w.width()}")
        elif isinstance(w, QComboBox):
            option = QStyleOptionComboBox()
            w.initStyleOption(option)
            field = w.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                             QStyle.SubControl.SC_ComboBoxEditField, w)
            needed = w.fontMetrics().horizontalAdvance(w.currentText())
            if needed > field.width() + SLACK and w.currentText() not in w.toolTip():
                problems.append(f"{_name(w)}: needs {needed} px, has {field.width()} (and no tooltip says it)")
        elif isinstance(w, QLineEdit) and not w.text() and w.placeholderText():
            needed = w.fontMetrics().horizontalAdvance(w.placeholderText())
            room = w.width() - 10
            if needed > room + SLACK:
                problems.append(f"{_name(w)}: placeholder needs {needed} px, has {room}")
        elif isinstance(w, QGroupBox) and w.title():
            needed = w.fontMetrics().horizontalAdvance(w.title()) + (24 if w.isCheckable() else 8)
            if needed > w.width() + SLACK:
                problems.append(f"{_name(w)}: title needs {needed} px, has {w.width()}")
        elif isinstance(w, QTabBar):
            for i in range(w.count()):
                if w.tabRect(i).width() + SLACK < w.tabSizeHint(i).width():
                    problems.append(f"tab {w.tabText(i)!r}: needs {w.tabSizeHint(i).width()} px, "
                                    f"has {w.tabRect(i).width()}")
                elif not w.rect().adjusted(-SLACK, -SLACK, SLACK, SLACK).contains(w.tabRect(i)):
                    problems.append(f"tab {w.tabText(i)!r} is scrolled out of its tab bar")
        if isinstance(w, QTableWidget):
            problems += _cells_that_do_not_fit(w)
    return problems


def _cells_that_do_not_fit(table: QTableWidget) -> list[str]:
    problems = []
    metrics = table.fontMetrics()
    for r in range(table.rowCount()):
        for c in range(table.columnCount()):
            item = table.item(r, c)
            if item is None or not item.text() or table.isColumnHidden(c):
                continue
            needed = metrics.horizontalAdvance(item.text()) + 8
            if needed > table.columnWidth(c) + SLACK:
                header = table.horizontalHeaderItem(c)
                problems.append(f"cell ({r}, {header.text() if header else c}) {item.text()!r}: needs {needed} px, "
                                f"has {table.columnWidth(c)}")
    return problems


def widgets_outside(window) -> list[str]:
    """Visible widgets that stick out of the window, or sideways out of the scroll area they are in."""
    problems = []
    frame = QRect(QPoint(0, 0), window.size())
    for w in visible_widgets(window):
        rect = QRect(w.mapTo(window, QPoint(0, 0)), w.size())
        area = _scroll_viewport(w)
        if area is not None:
            view = QRect(area.mapTo(window, QPoint(0, 0)), area.size())
            if rect.left() < view.left() - SLACK or rect.right() > view.right() + SLACK:
                problems.append(f"{_name(w)} at x {rect.left()}..{rect.right()} is cut by its scroll area "
                                f"({view.left()}..{view.right()})")
        elif not frame.adjusted(-SLACK, -SLACK, SLACK, SLACK).contains(rect):
            problems.append(f"{_name(w)} at {rect.getRect()} lies outside the window {frame.getRect()}")
    return problems


def _scroll_viewport(widget: QWidget):
    parent = widget.parentWidget()
    while parent is not None:
        grand = parent.parentWidget()
        if isinstance(grand, QAbstractScrollArea) and grand.viewport() is parent:
            return parent
        parent = grand
    return None


def hidden_toolbar_controls(window) -> list[str]:
    """Actions a toolbar could not show (they would sit behind its overflow button)."""
    problems = []
    for bar in window.findChildren(QToolBar):
        if not bar.isVisible():
            continue
        for action in bar.actions():
            if action.isSeparator() or not action.isVisible():
                continue
            widget = bar.widgetForAction(action)
            if widget is None or not widget.isVisible():
                problems.append(f"toolbar {bar.windowTitle()!r}: {action.text() or _name(widget)} is hidden")
            elif widget.geometry().right() > bar.contentsRect().right() + SLACK:
                problems.append(f"toolbar {bar.windowTitle()!r}: {action.text()} is cut")
    return problems


def layout_problems(window) -> list[str]:
    return text_that_does_not_fit(window) + widgets_outside(window) + hidden_toolbar_controls(window)


def plot_share(window) -> float:
    """The plot area's share of the window's area."""
    canvas = window.plot_area
    return canvas.width() * canvas.height() / (window.width() * window.height())


def _geometry(window):
    widgets = [*window.side_docks, *window.toolbars, window.plot_area, window.statusBar()]
    return [(w.isVisible(), w.geometry().getRect()) for w in widgets]


def wait_for_layout(qtbot, window) -> None:
    """Wait until the window's layout stops moving (toolbar rows and the side panel's width are
    set from the event loop after a resize or a font change): three looks in a row alike."""
    last, stable = None, [0]

    def still() -> bool:
        nonlocal last
        now = _geometry(window)
        stable[0] = stable[0] + 1 if now == last else 0
        last = now
        return stable[0] >= 3

    qtbot.waitUntil(still, timeout=5000)
