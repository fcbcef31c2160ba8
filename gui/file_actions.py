"""File menu work: new, open, save, recent files, and the dialogs that ask where.

The document (:mod:`gui.document`) does the reading and writing; this asks the person (a file
dialog, "save the changes?") and reports what happened in the window's status line or in a
message box that never blocks training.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.errors import ExperimentError

from .document import ExperimentDocument, default_experiment

__all__ = ["FileActions", "MAX_RECENT"]

MAX_RECENT = 8


class FileActions(QObject):
    def __init__(self, window, document: ExperimentDocument):
        super().__init__(window)
        self.window, self.document = window, document

    def message(self, title: str, text: str) -> None:
        """A message about a file a person chose (not modal: training and plots go on behind it)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self.window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.window.last_message = (title, text)

    @property
    def settings(self):
        return self.window.settings

    def directory(self) -> str:
        path = self.document.path
        return str(path.parent) if path else str(self.settings.value("directory", str(Path.cwd())))

    # -- the open document ---------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        """True when the open experiment may be replaced (saved, discarded, or nothing to lose)."""
        self.window.live.merge_recorded_edits()
        if not self.document.dirty:
            return True
        answer = QMessageBox.question(self.window, "Unsaved changes", f"Save the changes to {self.document.name}?",
                                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                      | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new(self) -> None:
        if self.confirm_discard():
            self.window.load_raw(default_experiment(), None, "untitled")
            self.window.setup_dock.raise_()

    def open(self) -> None:  # noqa: A003 - File > Open
        if not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Open experiment", self.directory(), "Experiments (*.toml)")
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path, *, confirm: bool = False) -> bool:
        if confirm and not self.confirm_discard():
            return False
        path = Path(path)
        try:
            self.window.load_raw(None, path, path.name)
        except ExperimentError as error:
            self.message("Cannot open", str(error))
            return False
        self.add_recent(path)
        self.window.setup_dock.raise_()
        return True

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self.write(self.document.path)

    def save_as(self) -> bool:
        path = self.document.path
        suggestion = str(Path(self.directory()) / (path.name if path else "experiment.toml"))
        chosen, _ = QFileDialog.getSaveFileName(self.window, "Save experiment", suggestion, "Experiments (*.toml)")
        if not chosen:
            return False
        target = Path(chosen if chosen.endswith(".toml") else chosen + ".toml")
        if self.write(target):
            self.add_recent(target)
            return True
        return False

    def write(self, path: Path) -> bool:
        self.window.live.merge_recorded_edits()
        try:
            self.document.save(path)
        except OSError as error:
            self.message("Cannot save", f"{path}: {error.strerror or error}")
            return False
        except (TypeError, ValueError) as error:  # a value TOML cannot hold: the old file stays
            self.message("Cannot save", f"{path}: {error}")
            return False
        self.window.show_status(f"Saved {path}")
        return True

    # -- results and training-state files ------------------------------------------------------------
    def export_results(self, directory: str | None = None) -> None:
        """epochs.csv, steps.csv and events.csv, written by the engine (the answer comes as a signal)."""
        if self.window.controller.has_session:
            directory = directory or QFileDialog.getExistingDirectory(
                self.window, "Export results (epochs.csv, steps.csv, events.csv)", self.directory())
            if directory:
                self.window.controller.export(directory)

    def save_training_state(self) -> None:
        if not self.window.controller.has_session:
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Save training state",
                                              str(Path(self.directory()) / "state.pt"), "Training state (*.pt)")
        if path:
            self.window.controller.save_state(path)

    def ask_state_file(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load training state", self.directory(),
                                              "Training state (*.pt)")
        return path

    # -- recent files -----------------------------------------------------------------------------
    def add_recent(self, path: Path) -> None:
        recent = [p for p in self.recent() if p != str(path)]
        self.settings.setValue("recent", [str(path), *recent][:MAX_RECENT])
        self.settings.setValue("directory", str(path.parent))
        self.fill_recent()

    def recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def fill_recent(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        for path in self.recent():
            action = QAction(path, self.window)
            action.triggered.connect(lambda _=False, p=path: self.open_file(p, confirm=True))
            menu.addAction(action)
        menu.setEnabled(bool(self.recent()))
