"""The Guide: a walk through the article's examples, one page at a time, for a class.

Each page (:mod:`engine.guide`, one TOML file under ``resources/guide/``) shows its title, a
short explanation, what to watch for in the plots, and the code of its experiment as the
generator writes it, opened at the line that matters; one button loads the experiment into the
window and starts it. Back / Next, a page index, and the keys a presenter's remote sends
(PageDown / PageUp, or Alt+Right / Alt+Left) turn the pages.

The view knows nothing of the window: it is given the pages and a function that loads and runs
one. :func:`install_guide` adds it to a :class:`~gui.main_window.MainWindow` as a side-panel
tab, and :func:`show_guide` brings it to the front (``main.py gui --guide``).
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QKeySequence,
    QShortcut,
    QTextBlockFormat,
    QTextCursor,
    QTextFormat,
    QTextOption,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from engine.errors import ExperimentError
from engine.guide import GuidePage, find_page, load_guide

from .code_view import PythonHighlighter
from .presentation import scaled_font
from .widgets import stacked_splitter

__all__ = ["GuideView", "install_guide", "show_guide", "load_and_run", "NEXT_KEYS", "BACK_KEYS"]

# A presenter's remote sends PageDown / PageUp; Alt+Right / Alt+Left are a browser's Forward / Back.
NEXT_KEYS = ("PgDown", "Alt+Right")
BACK_KEYS = ("PgUp", "Alt+Left")
TITLE_SCALE = 1.3
CONTEXT_LINES = 2      # lines of code shown above the page's focus line
HANGING_INDENT = 4     # a code line too long for the panel goes on this many columns right of its indent
FOCUS_BACKGROUND = "#fff3b0"
WATCH_STYLE = "background: #fff8d6; border-left: 4px solid #e69f00; padding: 4px 6px;"


def explanation_html(page: GuidePage) -> str:
    """The explanation's paragraphs as HTML, with `code` in a fixed-width font."""
    def paragraph(text: str) -> str:
        escaped = html.escape(text, quote=False)
        return "<p>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped) + "</p>"

    return "".join(paragraph(p) for p in page.paragraphs)


class GuideView(QWidget):
    """The pages of the Guide, one shown at a time; ``load_and_run(page)`` loads and starts one."""

    page_changed = Signal(int)

    def __init__(self, pages: list[GuidePage] | None = None,
                 load_and_run: Callable[[GuidePage], object] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.problem: str | None = None
        if pages is None:
            try:
                pages = load_guide()
            except ExperimentError as error:  # a page added by hand that cannot be used: say which
                pages, self.problem = [], f"The Guide cannot be shown: {error}"
        self.pages = pages
        self.run_page = load_and_run
        self.index = -1
        self._build()
        self.shortcuts = [self._shortcut(key, self.next_page) for key in NEXT_KEYS] + \
                         [self._shortcut(key, self.previous_page) for key in BACK_KEYS]
        self._fit_fonts()
        if self.pages:
            self.show_page(0)
        else:
            self.title.setText(self.problem or "The Guide has no pages.")
            for widget in (self.back_button, self.next_button, self.index_box, self.run_button):
                widget.setEnabled(False)

    # -- building -----------------------------------------------------------------------------------
    def _build(self) -> None:
        style = self.style()
        self.back_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_ArrowBack), "Back", self)
        self.back_button.setToolTip(f"the previous page ({' or '.join(BACK_KEYS)})")
        self.back_button.clicked.connect(self.previous_page)
        self.next_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_ArrowForward), "Next", self)
        self.next_button.setToolTip(f"the next page ({' or '.join(NEXT_KEYS)})")
        self.next_button.clicked.connect(self.next_page)
        self.index_box = QComboBox(self)
        self.index_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.index_box.setMinimumContentsLength(6)
        self.index_box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        for number, page in enumerate(self.pages, start=1):
            self.index_box.addItem(f"{number}. {page.title}")
        self.index_box.activated.connect(self.show_page)
        nav = QHBoxLayout()
        nav.addWidget(self.back_button)
        nav.addWidget(self.index_box, 1)
        nav.addWidget(self.next_button)

        self.title = QLabel(self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.explanation = QTextBrowser(self)
        self.explanation.setOpenLinks(False)
        self.explanation.document().setDefaultStyleSheet("code { color: #7a3e00; } p { margin-bottom: 6px; }")
        self.watch = QLabel(self)
        self.watch.setWordWrap(True)
        self.watch.setTextFormat(Qt.TextFormat.RichText)
        self.watch.setStyleSheet(WATCH_STYLE)
        self.run_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Load and run", self)
        self.run_button.setToolTip("open this page's experiment in the window and start training it")
        self.run_button.clicked.connect(self.load_and_run)
        # The code wraps at the panel's width (nothing, the focus line's comment least of all, hides
        # to the right on a projector), a long line going on under its own indent and a bit further.
        self.code = QTextEdit(self)
        self.code.setReadOnly(True)
        self.code.setAcceptRichText(False)
        self.code.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.code.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.code.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.highlighter = PythonHighlighter(self.code.document())
        self._follow_focus = True  # until the person scrolls the code, its focus line stays in sight
        self.code.verticalScrollBar().actionTriggered.connect(self._scrolled_by_hand)
        self._refit = QTimer(self, singleShot=True, interval=0)
        self._refit.timeout.connect(self._after_resize)
        self.code.viewport().installEventFilter(self)
        self.explanation.viewport().installEventFilter(self)

        # The explanation and the code share the height; a presenter drags the line between them.
        self.splitter = stacked_splitter(self, self.explanation, self.code, (1, 1))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(nav)
        layout.addWidget(self.title)
        layout.addWidget(self.watch)
        layout.addWidget(self.run_button)
        layout.addWidget(self.splitter, 1)

    def _shortcut(self, key: str, slot) -> QShortcut:
        shortcut = QShortcut(QKeySequence(key), self)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)  # wherever the focus is in the window
        shortcut.activated.connect(slot)
        return shortcut

    def set_keys_active(self, active: bool) -> None:
        """Page keys on while the Guide is the tab in front (off, PageUp/PageDown go to other panels)."""
        for shortcut in self.shortcuts:
            shortcut.setEnabled(active)

    # -- fonts: as large as the window's text (presentation mode enlarges both) -----------------------
    def _fit_fonts(self) -> None:
        base = self.font()
        title = scaled_font(base, TITLE_SCALE)
        title.setBold(True)
        self.title.setFont(title)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        if base.pointSizeF() > 0:
            fixed.setPointSizeF(base.pointSizeF())
        else:
            fixed.setPixelSize(base.pixelSize())
        self.code.setFont(fixed)
        self.code.document().setDefaultFont(fixed)
        self.explanation.document().setDefaultFont(QFont(base))
        self.watch.setStyleSheet(WATCH_STYLE)  # a widget with a style sheet takes a new font only this way
        if self.page is not None:
            self._indent_code()
            self._focus_code(self.page.focus_line)
            self._fit_split()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        # (a filter sees the resize before the text edit lays its text out anew: act after it)
        if event.type() == QEvent.Type.Resize and self.page is not None and not self._refit.isActive():
            self._refit.start()
        return super().eventFilter(watched, event)

    def _after_resize(self) -> None:
        """Lines wrap anew: the explanation keeps its height and the focus line stays in sight
        (unless the person scrolled the code themselves)."""
        if self.page is None:
            return
        self._fit_split()
        if self._follow_focus:
            self._focus_code(self.page.focus_line)

    def _scrolled_by_hand(self, _action: int) -> None:
        self._follow_focus = False

    def _indent_code(self) -> None:
        """A wrapped line's continuation under its own indent plus HANGING_INDENT columns."""
        column = self.code.fontMetrics().horizontalAdvance(" ")
        cursor = QTextCursor(self.code.document())
        cursor.beginEditBlock()
        block = self.code.document().firstBlock()
        while block.isValid():
            text = block.text()
            hang = (len(text) - len(text.lstrip(" ")) + HANGING_INDENT) * column
            fmt = QTextBlockFormat()
            fmt.setLeftMargin(hang)
            fmt.setTextIndent(-hang)
            cursor.setPosition(block.position())
            cursor.setBlockFormat(fmt)
            block = block.next()
        cursor.endEditBlock()

    def _fit_split(self) -> None:
        """The explanation as tall as its text (at most half the height), the code the rest."""
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if total <= 0:
            return
        document = self.explanation.document()
        document.setTextWidth(self.explanation.viewport().width())
        wanted = int(document.size().height()) + 2 * self.explanation.frameWidth() + 4
        top = max(min(wanted, total // 2), 3 * self.explanation.fontMetrics().lineSpacing())
        if abs(sizes[0] - top) > 2:
            self.splitter.setSizes([top, total - top])

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_fonts()

    # -- pages ---------------------------------------------------------------------------------------
    @property
    def page(self) -> GuidePage | None:
        return self.pages[self.index] if 0 <= self.index < len(self.pages) else None

    def show_page(self, index: int) -> None:
        if not self.pages:
            return
        index = max(0, min(index, len(self.pages) - 1))
        changed = index != self.index
        self.index = index
        page = self.pages[index]
        self.title.setText(page.title)
        self.explanation.setHtml(explanation_html(page))
        self.watch.setText(f"<b>Watch:</b> {html.escape(page.watch, quote=False)}")
        self.code.setPlainText(page.code)
        self._follow_focus = True
        self._indent_code()
        self._focus_code(page.focus_line)
        self._fit_split()
        self.index_box.setCurrentIndex(index)
        self.index_box.setToolTip(f"{self.index_box.currentText()}\n(page {index + 1} of {len(self.pages)}: "
                                  f"choose another here, or turn with {NEXT_KEYS[0]} / {BACK_KEYS[0]})")
        self.back_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < len(self.pages) - 1)
        self.run_button.setToolTip(f"open this page's experiment ({page.experiment.title or page.name}) "
                                   "in the window and start training it")
        if changed:
            self.page_changed.emit(index)

    def _focus_code(self, line: int) -> None:
        """Mark the page's focus line and scroll it near the top (a few lines of context above)."""
        block = self.code.document().findBlockByNumber(line)
        cursor = QTextCursor(block)
        selection = QTextEdit.ExtraSelection()
        selection.format.setBackground(QColor(FOCUS_BACKGROUND))
        selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        selection.cursor = cursor
        self.code.setExtraSelections([selection])
        self.code.setTextCursor(cursor)
        # a few lines of context above, but never more than a quarter of the view (wrapped lines are tall)
        layout, document = self.code.document().documentLayout(), self.code.document()
        focus = layout.blockBoundingRect(block).top()
        context = focus - layout.blockBoundingRect(document.findBlockByNumber(max(0, line - CONTEXT_LINES))).top()
        self.code.verticalScrollBar().setValue(int(focus - min(context, self.code.viewport().height() // 4)))

    def first_visible_line(self) -> int:
        """The number of the code line at the top of the code view."""
        return self.code.cursorForPosition(self.code.viewport().rect().topLeft()).blockNumber()

    def next_page(self) -> None:
        if self.index < len(self.pages) - 1:
            self.show_page(self.index + 1)

    def previous_page(self) -> None:
        if self.index > 0:
            self.show_page(self.index - 1)

    def load_and_run(self) -> None:
        if self.page is not None and self.run_page is not None:
            self.run_page(self.page)


# -- in the main window -----------------------------------------------------------------------------
def load_and_run(window, page: GuidePage) -> bool:
    """Open ``page``'s experiment in ``window`` (a MainWindow) and start it; False when the person
    keeps the experiment they have (unsaved changes) or it cannot start. A session still training
    is reset first, as opening any experiment does."""
    if not window.files.confirm_discard():
        return False
    window.load_raw(copy.deepcopy(page.raw), None, f"guide: {page.title}", page.source)
    window.guide_started = True  # the Guide stays in front when training starts (see install_guide)
    started = window.start()
    if started:
        window.show_status(f"Guide page \u201c{page.title}\u201d: training. {page.watch}")
    else:
        window.guide_started = False
    return started


def install_guide(window) -> GuideView:
    """Add the Guide to ``window``'s side panel as its last tab (``window.guide``, ``window.guide_dock``).

    Call it after the window's side panel is made and before its menus are (View lists the side
    panel's docks); a window that has its Guide already keeps it. The page keys work while the
    Guide's tab is in front; when a page's run starts, the window brings Live state to the front,
    and the Guide is put back in front of it.
    """
    if getattr(window, "guide", None) is not None:  # once per window
        return window.guide
    guide = GuideView(load_and_run=lambda page: load_and_run(window, page))
    side = window.side
    dock = side.add_tab("Guide", guide)  # (show_guide brings it to the front)
    dock.visibilityChanged.connect(guide.set_keys_active)
    guide.set_keys_active(False)
    window.guide, window.guide_dock, window.guide_started = guide, dock, False

    def started() -> None:
        if window.guide_started:
            window.guide_started = False
            if side.shown():
                dock.raise_()

    window.controller.started.connect(started)  # after the window's own slot, which raises Live state
    return guide


def show_guide(window, page: str | None = None, *, load: bool = False) -> GuideView:
    """The Guide in front (installed first if the window has none), at ``page`` (a number from 1 or a
    page's name, :func:`engine.guide.find_page`; ExperimentError naming ``--guide`` if there is none).
    ``load``: open the page's experiment in the window too (not started)."""
    guide = install_guide(window)  # the window's own, or a new one
    if page is not None:
        guide.show_page(find_page(guide.pages, page))
    if load and guide.page is not None:
        window.load_raw(copy.deepcopy(guide.page.raw), None, f"guide: {guide.page.title}", guide.page.source)
        window.guide_started = True  # whoever starts it, the Guide stays in front
    window.set_side_panel(True)
    window.guide_dock.raise_()
    guide.set_keys_active(True)
    return guide
