"""The Code tab: the selected run as the plain PyTorch script ``main.py code`` writes.

What the window shows is what this code does: the script comes from the same generator as
``main.py code`` (:func:`engine.codegen.generate`), from the experiment as the forms hold it
(edits recorded while training included, once merged into the form), and running it writes
``main.py run``'s CSV rows bit for bit. It is regenerated only while the tab is shown.
"""

from __future__ import annotations

import keyword
import re

from PySide6.QtCore import QEvent, QRegularExpression, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QSyntaxHighlighter, QTextCharFormat, QTextOption
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.codegen import generate
from engine.errors import ExperimentError
from engine.files import write_atomically

__all__ = ["CodeView", "PythonHighlighter"]

# Colours readable on white from the back of a room (dark, saturated; comments still legible).
STYLES = {"keyword": ("#0033b3", True), "string": ("#067d17", False), "comment": ("#6b6b6b", False),
          "number": ("#1750eb", False), "builtin": ("#871094", False)}
BUILTINS = ("print", "range", "len", "zip", "enumerate", "float", "int", "min", "max", "abs", "sum", "list", "open")


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, strings, comments and numbers of a Python script (one line at a time: the
    generated scripts have no multi-line strings)."""

    def __init__(self, document):
        super().__init__(document)
        words = "|".join(keyword.kwlist)
        self.rules = [(QRegularExpression(rf"\b({words})\b"), self._format("keyword")),
                      (QRegularExpression(rf"\b({'|'.join(BUILTINS)})(?=\()"), self._format("builtin")),
                      (QRegularExpression(r"\b[0-9][0-9_]*(\.[0-9]*)?([eE][-+]?[0-9]+)?\b"), self._format("number"))]
        self.string = self._format("string")
        self.comment = self._format("comment")

    @staticmethod
    def _format(name: str) -> QTextCharFormat:
        colour, bold = STYLES[name]
        text_format = QTextCharFormat()
        text_format.setForeground(QColor(colour))
        if bold:
            text_format.setFontWeight(QFont.Weight.Bold)
        return text_format

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt's name
        for expression, text_format in self.rules:
            matches = expression.globalMatch(text)
            while matches.hasNext():
                match = matches.next()
                self.setFormat(match.capturedStart(), match.capturedLength(), text_format)
        # strings and comments last: what is inside them is neither keyword nor number
        comment_at = None
        for match in re.finditer(r"'[^']*'|\"[^\"]*\"|#", text):
            if match.group() == "#":
                comment_at = match.start()
                break
            self.setFormat(match.start(), match.end() - match.start(), self.string)
        if comment_at is not None:
            self.setFormat(comment_at, len(text) - comment_at, self.comment)


class CodeView(QWidget):
    """The script of the run selected in Setup, with Copy and Save."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.experiment = None
        self.index = 0
        self.stale = True
        self.script = ""
        self.title_text = "The selected run as plain PyTorch."
        self.title = QLabel(self)
        self.title.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setWordWrapMode(QTextOption.WrapMode.NoWrap)
        self._fit_font()
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.highlighter = PythonHighlighter(self.text.document())
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setToolTip("copy the script to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        self.save_button = QPushButton("Save…", self)
        self.save_button.setToolTip("save the script as a .py file")
        self.save_button.clicked.connect(self.save)
        self.hint = QLabel("Run it: python SCRIPT.py --csv DIR writes the CSVs of main.py run, bit for bit.", self)
        self.hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)
        self._show_script()

    def _fit_font(self) -> None:
        """A fixed-width font as large as the window's text (presentation mode enlarges both)."""
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        fixed.setPointSizeF(self.font().pointSizeF())
        self.text.setFont(fixed)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_font()

    def show_experiment(self, experiment, index: int) -> None:
        """The forms' experiment (None while it has a problem) and the selected run."""
        self.experiment, self.index, self.stale = experiment, index, True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.stale:
            self.refresh()

    def refresh(self) -> None:
        self.stale = False
        experiment = self.experiment
        if experiment is None:
            self.script = ""
            self.title_text = "The experiment has a problem (see Setup): its code follows once it is fixed."
        elif not 0 <= self.index < len(experiment.runs):
            self.script, self.title_text = "", "No run selected."
        else:
            try:
                self.script = generate(experiment, self.index)
                self.title_text = (f"Run {experiment.runs[self.index].name!r} as plain PyTorch "
                                   f"(main.py code): what the plots show is what this code does.")
            except ExperimentError as error:
                self.script, self.title_text = "", f"No code for this run: {error}"
        self._show_script()

    def _show_script(self) -> None:
        self.title.setText(self.title_text)
        scroll = self.text.verticalScrollBar().value()
        if self.text.toPlainText() != self.script:
            self.text.setPlainText(self.script)
            self.text.verticalScrollBar().setValue(scroll)  # an edit keeps the reader's place
        self.copy_button.setEnabled(bool(self.script))
        self.save_button.setEnabled(bool(self.script))

    def copy(self) -> None:
        QApplication.clipboard().setText(self.script)

    def save(self, path: str | None = None) -> bool:
        if path is None:
            name = self.experiment.runs[self.index].name if self.experiment is not None else "run"
            suggested = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "run"
            path, _ = QFileDialog.getSaveFileName(self, "Save the script", f"{suggested}.py", "Python (*.py)")
            if not path:
                return False
        try:
            write_atomically(path, self.script)
        except OSError as error:
            self.title.setText(f"Cannot save {path}: {error.strerror or error}")
            return False
        self.title.setText(f"Saved {path}.")
        return True
