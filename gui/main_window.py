"""The main window: wiring between the open document, the engine, and the views.

The plots own the window (:mod:`gui.side_panel` lays out the side panel of Examples, Setup and
Live state); the document (:mod:`gui.document`) holds the experiment; the engine trains in its
own process (:mod:`gui.training`), checks what is typed and predicts schedules there
(:mod:`gui.validation`); :mod:`gui.live_view` shows training as it happens; the actions,
file dialogs and plot controls have modules of their own. What is left here connects them.
"""

from __future__ import annotations

from pathlib import Path

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QMainWindow

from engine.errors import ExperimentError
from engine.files import read_source
from engine.presets import preset_path
from engine.status import SessionState

from .code_view import CodeView
from .document import MERGED, ExperimentDocument, default_experiment
from .engine_client import EngineClient
from .examples_panel import ExamplesPanel, preset_entries
from .file_actions import FileActions
from .finder_view import install_finder
from .guide_view import install_guide
from .live_view import LiveView
from .plot_area import PlotArea
from .plot_controls import PlotControls
from .presentation import Presentation
from .settings import open_settings, restore_window, save_window
from .setup_panel import SetupPanel
from .side_panel import SidePanel, first_size, side_width, update_toolbar_rows
from .state_panel import StatePanel
from .status_bar import StatusBar
from .training import TrainingController
from .validation import Validator
from .widgets import VerticalScrollArea, install_style
from .window_actions import add_toolbars, install_actions, update_controls

__all__ = ["MainWindow", "default_experiment", "first_size", "side_width"]

VALIDATE_MS = 30  # typing pauses this long before a check: the quick checks take milliseconds
STATE_WORDS = {SessionState.IDLE: "Ready.", SessionState.RUNNING: "Training...",
               SessionState.PAUSED: "Paused: edit lrs in Live state, then Resume (F6) or Step (F10).",
               SessionState.FINISHED: "Finished.", SessionState.STOPPED: "Stopped."}


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, *, restore: bool = True, engine: EngineClient | None = None):
        super().__init__()
        self.lab_style = install_style(QApplication.instance())
        self.settings = settings if settings is not None else open_settings()  # LRLAB_SETTINGS in tests
        self.document = ExperimentDocument()
        self.experiment = None          # the form's experiment as the quick checks build it (None: invalid)
        self.error: ExperimentError | None = None
        self.predictions: list = []
        self._layout: tuple | None = None  # the runs and x extent the plots are built for
        self.last_message: tuple[str, str] | None = None
        self._warned = False              # the status line holds a warning about the training
        self.controller = TrainingController(self, engine)
        # With the engine in a thread of this process (tests), Python's garbage collector would run in
        # whichever thread allocates, and destroying Qt objects there deadlocks Qt: collect here then.
        self.collector = GarbageCollector(interval=0.5) if self.controller.client.mode == "thread" else None
        self.validator = Validator(self.controller, self)
        self.setup, self.plot_area, self.state, self.examples = SetupPanel(), PlotArea(), StatePanel(), ExamplesPanel()
        self.code = CodeView()
        self.plots = self.plot_area.plots
        self.setCentralWidget(self.plot_area)
        self.plot_area.setMinimumSize(360, 300)  # a small window shrinks the side panel, never the plots away
        self.setup_scroll = VerticalScrollArea(self.setup)
        self.side = SidePanel(self, [("Examples", VerticalScrollArea(self.examples)), ("Setup", self.setup_scroll),
                                     ("Live state", self.state), ("Code", self.code)])
        self.side_docks = self.side.docks
        self.examples_dock, self.setup_dock, self.state_dock, self.code_dock = self.side_docks
        self.controller.started.connect(self._started)  # first: it raises Live state, the Guide's slot may not
        install_guide(self), install_finder(self)  # self.guide / self.finder and their docks, as the last tabs
        self.presentation = Presentation(self)
        self.files = FileActions(self, self.document)
        self.live = LiveView(self)
        self.plot_controls = c = PlotControls(self.plot_area, self)
        self.x_mode, self.log_lr, self.log_loss, self.smoothing = c.x_mode, c.log_lr, c.log_loss, c.smoothing
        self.compare_a, self.compare_b = c.compare_a, c.compare_b
        install_actions(self)
        self.toolbars = add_toolbars(self, [self.training_bar, *c.toolbars])
        self.status = s = StatusBar(self)
        self.status_label, self.progress, self.counts = s.label, s.progress, s.counts
        self.validate_timer = QTimer(self, singleShot=True, interval=VALIDATE_MS)
        self.validate_timer.timeout.connect(self.validate)
        self.prediction_timer = QTimer(self, singleShot=True)
        self.prediction_timer.timeout.connect(lambda: self.show_predictions(self.predictions))
        self.setup.changed.connect(self._edited)
        self.setup.run_selected.connect(self._run_selected)
        self.state.run_selected.connect(self.setup.select_run)
        self.examples.open_requested.connect(self.open_preset)
        self.document.subscribe(self._document_changed)
        self.controller.state_changed.connect(self._state_changed)
        self.controller.refused.connect(self._refused)
        self.controller.engine_ready.connect(lambda _: update_controls(self))
        self.validator.verdict.connect(self._verdict)
        self.validator.preview.connect(self.show_prediction)
        width, height = first_size()
        self.resize(width, height)
        self.resizeDocks(self.side_docks, [side_width(width)] * len(self.side_docks), Qt.Orientation.Horizontal)
        self.examples_dock.raise_()  # a newcomer sees the article's examples first
        self.presentation.check_scale()
        if restore:
            restore_window(self)
        self.controller.launch()  # torch loads in the engine's process while this window shows
        self.load_raw(default_experiment(), None, "untitled")
        self._state_changed(SessionState.IDLE)

    # -- the document --------------------------------------------------------------------------------
    dirty = property(lambda self: self.document.dirty, lambda self, value: setattr(self.document, "dirty", value))
    path = property(lambda self: self.document.path, lambda self, value: setattr(self.document, "path", value))

    def load_raw(self, raw: dict | None, path: Path | None, name: str, source: str | None = None) -> None:
        """Open ``raw`` (read from ``path`` when None: ExperimentError if it cannot be read)."""
        raw, source = read_source(path) if raw is None else (raw, source)
        self.controller.reset()
        self.document.load(raw, path, name, source)
        self.setup.set_value(raw)
        self.setup_scroll.verticalScrollBar().setValue(0)
        self.setup.editor.show_first_tab()
        # nothing of the previous experiment may stay on screen
        self.error, self.experiment, self._layout = None, None, None
        self.state.reset_events()
        self.state.clear_message()
        self.validate()
        if self.experiment is None:  # the file cannot train as it is: its runs, no prediction yet
            self._show_runs(self.document.run_names, 1, None)
        self.show_status(STATE_WORDS[SessionState.IDLE] if self.error is None else None)

    def open_raw_file(self, raw: dict, path: Path) -> None:
        """A file already read (the command line reads it first, to refuse a bad one before any window)."""
        self.load_raw(None, path, path.name)  # again, for its text: saving keeps its layout
        self.files.add_recent(path)
        self.setup_dock.raise_()

    def open_preset(self, name: str) -> None:
        if self.controller.state in (SessionState.RUNNING, SessionState.PAUSED) or not self.files.confirm_discard():
            return
        title = next((t for n, t, _ in preset_entries() if n == name), name)
        raw, text = read_source(preset_path(name))
        self.load_raw(raw, None, f"example {title}", text)
        self.show_status(f"Opened the example \u201c{title}\u201d: press Start (F5) to train it.")

    def _edited(self) -> None:
        self.document.edit(self.setup.value())
        self.validate_timer.start()

    def _document_changed(self, what: str) -> None:
        if what == MERGED:  # edits recorded while training: the form shows them, keeping its run
            current = self.setup.current
            self.setup.set_value(self.document.raw)
            self.setup.select_run(current)
            self.validate()
        self.update_title()

    def update_title(self) -> None:
        self.setWindowTitle(self.document.title)

    # -- checking and previews ------------------------------------------------------------------------
    def validate(self) -> None:
        """The quick checks now (the field at fault marked); torch's verdict and the previews follow."""
        had_error, state = self.error is not None, self.controller.state
        # While a session trains the form is locked: only edits the engine applied change it, and the
        # prediction then comes from the run's state (predict from here), not from the start.
        busy = state in (SessionState.RUNNING, SessionState.PAUSED)
        self.experiment, self.error = self.validator.check(self.setup.value(), background=not busy)
        self.setup.show_error(self.error)
        update_controls(self)
        if had_error and self.error is None:
            self.show_status(STATE_WORDS[state])  # "Cannot start: ..." no longer holds
        if self.experiment is not None and state in (SessionState.IDLE, SessionState.FINISHED, SessionState.STOPPED):
            e = self.experiment
            self._show_runs([r.name for r in e.runs], e.steps_per_epoch, e.epochs, keep=state != SessionState.IDLE)
        self.live.refresh_state()
        self.code.show_experiment(self.experiment, self.setup.current)

    def _verdict(self, error: ExperimentError | None) -> None:
        if error is not None and self.error is None:
            self.error = error
            self.setup.show_error(error)
            update_controls(self)

    def _show_runs(self, names: list[str], steps_per_epoch: int, epochs: int | None, keep: bool = False) -> None:
        """Plots for these runs: an edit keeps the curves (and the prediction until the new one comes)."""
        layout, results = (tuple(names), steps_per_epoch, epochs), any(r is not None for r in self.plots.results)
        if self._layout and layout[0] == self._layout[0] and layout != self._layout and not results:
            self.plots.set_extent(steps_per_epoch, epochs)  # the same runs, another length
        elif layout != self._layout or not keep and results:
            self.plots.set_runs(names, steps_per_epoch, epochs)
            self.plot_controls.fill_compare(names)
            self.show_predictions([None] * len(names))
        self._layout = layout
        self.state.set_run_names(names, self.setup.current)

    def show_predictions(self, predictions: list) -> None:
        self.predictions = list(predictions)
        self.plots.set_predictions(self.predictions)

    def show_prediction(self, index: int, prediction) -> None:  # with those arriving within a frame; the last: now
        if index < len(self.predictions):
            self.predictions[index] = prediction
            self.prediction_timer.start(0 if len(self.validator.final) >= len(self.predictions) else 40)
        notes = [f"{r.name}: {p.note}" for r, p in zip(self.plots.runs, self.predictions) if p and p.note]
        if notes and self.error is None and self.controller.state == SessionState.IDLE:
            self.show_status("Preview: " + "; ".join(notes))

    # -- training ----------------------------------------------------------------------------------------
    def start(self, *, run: bool = True, state_path: str | None = None) -> bool:
        self.validate_timer.stop()
        self.validate()
        if self.experiment is None or self.error is not None:
            self.last_message = ("Cannot start", str(self.error))  # the status line says it already
            return False
        sent = self.controller.start(self.setup.value(), state_path=state_path, run=run)
        update_controls(self)  # Start says it is starting until the engine answers
        return sent

    def _started(self) -> None:
        e, predictions = self.experiment, self.predictions
        self._show_runs([r.name for r in e.runs], e.steps_per_epoch, e.epochs)
        if len(predictions) == len(self.predictions):  # the experiment's prediction stays beside the run
            self.show_predictions(predictions)
        if self.side.shown():
            self.state_dock.raise_()  # what a person watches while it trains (the setup is locked)

    def _refused(self, title: str, path: str, message: str) -> None:
        if title == "Cannot start":
            self.error = ExperimentError(path, message)
            self.setup.show_error(self.error)
            self.last_message = (title, str(self.error))
            update_controls(self)
        else:
            self.files.message(title, message)

    def _state_changed(self, state: str) -> None:
        self.live.running(state == SessionState.RUNNING)
        if state in (SessionState.FINISHED, SessionState.STOPPED):
            self.validate()  # the prediction of the experiment as it now is (edits included)
        elif state == SessionState.PAUSED:
            self.live.predict_from_here()
        self.setup.set_locked(state in (SessionState.RUNNING, SessionState.PAUSED))
        if state == SessionState.RUNNING:
            self._warned = False  # a new stretch of training: the last warning is history
        if self.error is None and not self._warned:
            self.show_status(STATE_WORDS[state])  # but a warning just given (a failed run) stays
        update_controls(self)
        self.live.refresh_state()

    def _run_selected(self, index: int) -> None:
        self.state.set_run_names([r.get("name", "") for r in self.setup.runs], index)
        update_controls(self)
        self.live.refresh_state()
        self.code.show_experiment(self.experiment, index)
        if self.controller.state == SessionState.PAUSED:
            self.live.predict_from_here(index)

    # -- layout, messages, closing ------------------------------------------------------------------------
    def update_toolbar_rows(self) -> None:
        update_toolbar_rows(self, self.toolbars)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.update_toolbar_rows()
        self.side.fit()
        QTimer.singleShot(0, self, self.side.fit)  # and once the docks have their new geometry

    def set_side_panel(self, visible: bool) -> None:
        self.side.set_visible(visible)
        self.side_action.setChecked(visible)

    def show_status(self, text: str | None, *, warning: bool = False) -> None:
        if text is not None:
            self._warned = warning and self.error is None
            self.status.say(text, warning)

    def notify(self, title: str, text: str) -> None:
        """About the training, without a box over the plots: in red in the status bar and Live state."""
        self.last_message = (title, text)
        self.show_status(f"{title}: {text}", warning=True)
        self.state.show_message(f"{title}: {text}")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self.files.confirm_discard():
            event.ignore()
            return
        for timer in (self.live.refresh_timer, *([self.collector.timer] if self.collector else [])):
            timer.stop()
        save_window(self)
        self.hide()  # at once; the engine is asked to end, and ended if its step outlasts a second
        self.controller.shutdown(1000)
        event.accept()
