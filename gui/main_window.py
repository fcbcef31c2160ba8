"""The main window: set up runs on the left, plots in the middle, live state below."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import tomli_w
from PySide6.QtCore import QSettings, Qt, QTimer
from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QFileDialog, QInputDialog, QLabel,
                               QMainWindow, QMessageBox, QProgressBar, QScrollArea, QStyle, QToolBar, QWidget)

from engine.checkpoint import load_state, save_state
from engine.commands import AddGroup, SetGroupOptions
from engine.config import MODULES, GroupConfig
from engine.errors import ExperimentError, StateFileError
from engine.parse import parse_experiment
from engine.presets import list_presets, preset_path
from engine.preview import predict_schedule
from engine.results import write_results
from engine.session import TrainingSession

from .plots import PlotPanel
from .series import RunSeries
from .setup_panel import NEW_RUN, SetupPanel
from .state_panel import StatePanel
from .training import FINISHED, IDLE, PAUSED, RUNNING, STOPPED, TrainingController

__all__ = ["MainWindow"]

APP = "lrlab"
SPEEDS = [("as fast as possible", None), ("50 epochs/s", 50.0), ("10 epochs/s", 10.0), ("4 epochs/s", 4.0),
          ("2 epochs/s", 2.0), ("1 epoch/s", 1.0)]
SMOOTHING = [("no smoothing", 0.0), ("EMA 0.6", 0.6), ("EMA 0.9", 0.9), ("EMA 0.98", 0.98)]
PREVIEW_STEPS = 50_000  # longer schedules are previewed up to here (the note says so)
# The plots' rate, whatever the training rate: 20 Hz keeps the main thread (which holds the
# GIL while it draws, so training waits) busy for a small share of the time.
REFRESH_MS = 50
MAX_RECENT = 8
LAYOUT_VERSION = 2  # bump when docks or toolbars change, so an old saved layout is not applied


def default_experiment() -> dict:
    return {"epochs": 50, "runs": [{"name": "Adam", **NEW_RUN}]}


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, *, restore: bool = True):
        super().__init__()
        self.settings = settings or QSettings(APP, APP)
        self.path: Path | None = None
        self.source_name = "untitled"
        self.dirty = False
        self.experiment = None          # the last valid Experiment of the form
        self.error: ExperimentError | None = None
        self.series: list[RunSeries] = []
        self.reported: set[int] = set()
        self.recorded_seen = 0           # recorded edits already merged into the form
        self.previews: dict[str, object] = {}  # predicted schedules by run configuration
        self.started_at = 0.0
        self.started_position = 0
        self.redraw_ms: list[float] = []

        # Python's garbage collector runs in whichever thread happens to allocate: in the
        # training thread it may destroy Qt objects, which deadlocks or crashes Qt. Collect on
        # a timer in this (the GUI) thread instead.
        self.collector = GarbageCollector(interval=0.5)
        self.controller = TrainingController(self)
        self.controller.state_changed.connect(self._state_changed)
        self.controller.job_failed.connect(lambda message: self._message("The engine stopped", message))

        self.setup = SetupPanel()
        self.plots = PlotPanel()
        self.state = StatePanel()
        self.setCentralWidget(self.plots)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.setup)
        scroll.setMinimumWidth(470)
        self.setup_dock = self._dock("Setup", scroll, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.state_dock = self._dock("Live state", self.state, Qt.DockWidgetArea.BottomDockWidgetArea)

        self._build_actions()
        self._build_menus()
        self._build_toolbars()
        self._build_status()

        self.validate_timer = QTimer(self, singleShot=True, interval=150)
        self.validate_timer.timeout.connect(self.validate)
        self.refresh_timer = QTimer(self, interval=REFRESH_MS)
        self.refresh_timer.timeout.connect(self.refresh)
        self.state_timer = QTimer(self, interval=200)
        self.state_timer.timeout.connect(self.refresh_state)
        self.setup.changed.connect(self._edited)
        self.setup.run_selected.connect(lambda _: self.refresh_state())
        self.state.lr_edited.connect(self.edit_lr)
        self.state.add_group_requested.connect(self.add_group)

        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.resize(1440, 920)
        self.resizeDocks([self.state_dock], [240], Qt.Orientation.Vertical)
        self.resizeDocks([self.setup_dock], [490], Qt.Orientation.Horizontal)
        if restore:
            self._restore_settings()
        self.load_raw(default_experiment(), None, "untitled")
        self._state_changed(IDLE)

    # -- building the window ------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip or text)
        action.setToolTip(f"{text} ({QKeySequence(shortcut).toString()})" if shortcut is not None else text)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        A, K = self._action, QKeySequence.StandardKey
        self.new_action = A("&New", self.new, K.New)
        self.open_action = A("&Open...", self.open, K.Open)
        self.save_action = A("&Save", self.save, K.Save)
        self.save_as_action = A("Save &As...", self.save_as, K.SaveAs)
        self.export_csv_action = A("Export Results (CSV)...", self.export_results, "Ctrl+E")
        self.export_plot_action = A("Export Plot (PNG/SVG)...", self.export_plot, "Ctrl+Shift+E")
        self.save_state_action = A("Save Training State...", self.save_training_state, "Ctrl+Shift+T")
        self.load_state_action = A("Load Training State...", self.load_training_state)
        self.quit_action = A("&Quit", self.close, K.Quit)
        self.start_action = A("Start", self.start, "F5", "train every run from the start")
        self.pause_action = A("Pause", self.pause_resume, "F6", "pause or resume at the next step")
        self.step_action = A("Step Epoch", self.step_epoch, "F10", "train one epoch, then pause")
        self.stop_action = A("Stop", self.stop, "Shift+F5", "end training; the results stay")
        self.reset_action = A("Reset", self.reset, "Ctrl+Shift+R", "forget the results")
        self.add_run_action = A("Add Run", self.setup.add_run, "Ctrl+Shift+N")
        self.duplicate_run_action = A("Duplicate Run", self.setup.duplicate_run, "Ctrl+D")
        self.remove_run_action = A("Remove Run", self.setup.remove_run)
        self.add_group_action = A("Add Param Group...", lambda: self.add_group(self.setup.current), "Ctrl+G")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addActions([self.new_action, self.open_action])
        self.presets_menu = file.addMenu("Open &Preset")
        for name, description in list_presets():
            action = QAction(name, self)
            action.setStatusTip(description)
            action.setToolTip(description)
            action.triggered.connect(lambda _=False, n=name: self.open_preset(n))
            self.presets_menu.addAction(action)
        self.recent_menu = file.addMenu("Open &Recent")
        file.addSeparator()
        file.addActions([self.save_action, self.save_as_action])
        file.addSeparator()
        file.addActions([self.export_csv_action, self.export_plot_action])
        file.addSeparator()
        file.addActions([self.save_state_action, self.load_state_action])
        file.addSeparator()
        file.addAction(self.quit_action)
        runs = bar.addMenu("&Runs")
        runs.addActions([self.add_run_action, self.duplicate_run_action, self.remove_run_action])
        runs.addSeparator()
        runs.addAction(self.add_group_action)
        train = bar.addMenu("&Train")
        train.addActions([self.start_action, self.pause_action, self.step_action, self.stop_action,
                          self.reset_action])
        view = bar.addMenu("&View")
        view.addActions([self.setup_dock.toggleViewAction(), self.state_dock.toggleViewAction()])
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("About", self.about))
        self._fill_recent()

    def _build_toolbars(self) -> None:
        icons = {self.start_action: "SP_MediaPlay", self.pause_action: "SP_MediaPause",
                 self.step_action: "SP_MediaSkipForward", self.stop_action: "SP_MediaStop",
                 self.reset_action: "SP_BrowserReload", self.open_action: "SP_DialogOpenButton",
                 self.save_action: "SP_DialogSaveButton"}
        for action, name in icons.items():
            action.setIcon(self.style().standardIcon(getattr(QStyle.StandardPixmap, name)))
        bar = QToolBar("Training", self)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.setObjectName("training")
        bar.addActions([self.start_action, self.pause_action, self.step_action, self.stop_action, self.reset_action])
        bar.addSeparator()
        self.speed = QComboBox(bar)
        for label, value in SPEEDS:
            self.speed.addItem(label, value)
        self.speed.setToolTip("slow training down for a demonstration")
        self.speed.currentIndexChanged.connect(lambda _: self.controller.set_speed(self.speed.currentData()))
        bar.addWidget(QLabel(" speed ", bar))
        bar.addWidget(self.speed)
        self.addToolBar(bar)
        view = QToolBar("View", self)
        view.setObjectName("view")
        self.x_mode = QComboBox(view)
        self.x_mode.addItem("x: epochs", "epoch")
        self.x_mode.addItem("x: steps", "step")
        self.log_lr = QCheckBox("log lr", view)
        self.log_loss = QCheckBox("log loss", view)
        self.log_loss.setChecked(True)
        self.smoothing = QComboBox(view)
        for label, value in SMOOTHING:
            self.smoothing.addItem(label, value)
        self.compare_a = QComboBox(view)
        self.compare_b = QComboBox(view)
        for widget in (self.x_mode, self.log_lr, self.log_loss, self.smoothing):
            view.addWidget(widget)
        view.addSeparator()
        view.addWidget(QLabel(" compare ", view))
        view.addWidget(self.compare_a)
        view.addWidget(QLabel(" - ", view))
        view.addWidget(self.compare_b)
        self.addToolBar(view)
        self.x_mode.currentIndexChanged.connect(self._view_changed)
        self.log_lr.toggled.connect(self._view_changed)
        self.log_loss.toggled.connect(self._view_changed)
        self.smoothing.currentIndexChanged.connect(self._view_changed)
        self.compare_a.currentIndexChanged.connect(self._view_changed)
        self.compare_b.currentIndexChanged.connect(self._view_changed)

    def _build_status(self) -> None:
        status = self.statusBar()
        self.status_label = QLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.counts = QLabel(self)
        self.counts.setMinimumWidth(330)  # a steady width: no status-bar relayout as digits change
        status.addWidget(self.status_label, 1)
        status.addPermanentWidget(self.counts)
        status.addPermanentWidget(self.progress)

    # -- the document -------------------------------------------------------------------------------
    def load_raw(self, raw: dict, path: Path | None, name: str) -> None:
        self.controller.reset()
        self.setup.set_value(raw)
        self.path, self.source_name, self.dirty = path, name, False
        self._update_title()
        self.validate()

    def _edited(self) -> None:
        self.dirty = True
        self._update_title()
        self.validate_timer.start()

    def _update_title(self) -> None:
        self.setWindowTitle(f"{'*' if self.dirty else ''}{self.source_name} - lrlab, a learning-rate laboratory")

    def validate(self) -> None:
        """Check the form with the engine; mark the field at fault; redraw the predicted schedule."""
        raw = self.setup.value()
        try:  # with torch's own checks too (a few ms per run): nothing torch refuses gets to Start
            experiment = parse_experiment(raw, trial=True)
            self.error = None
        except ExperimentError as error:
            experiment, self.error = None, error
        self.setup.show_error(self.error)
        if experiment is not None:
            self.experiment = experiment
        self._update_controls()
        if self.controller.state in (IDLE, FINISHED, STOPPED) and experiment is not None:
            self._show_experiment(experiment, keep_results=self.controller.state != IDLE)

    def _show_experiment(self, experiment, keep_results: bool) -> None:
        names = [r.name for r in experiment.runs]
        if not keep_results or names != [s.name for s in self.series]:
            self.plots.set_runs(names, experiment.steps_per_epoch)
            self.series = []
            self._fill_compare(names)
        predictions = [self._preview(experiment, i) for i in range(len(names))]
        self.plots.set_predictions(predictions)
        notes = [f"{experiment.runs[i].name}: {p.note}" for i, p in enumerate(predictions) if p.note]
        if notes and self.error is None and self.controller.state == IDLE:
            self.status_label.setText("Preview: " + "; ".join(notes))

    def _preview(self, experiment, index: int):
        """The predicted schedule of a run, recomputed only when what it depends on changed."""
        run = experiment.runs[index]
        key = repr((run, experiment.epochs, experiment.data, experiment.model, experiment.seed))
        if key not in self.previews:
            if len(self.previews) > 64:
                self.previews.clear()
            self.previews[key] = predict_schedule(experiment, index, PREVIEW_STEPS)
        return self.previews[key]

    def _fill_compare(self, names: list[str]) -> None:
        """Run names to compare; a choice made before survives when its runs still exist."""
        chosen = [combo.currentText() for combo in (self.compare_a, self.compare_b)]
        for combo, previous in zip((self.compare_a, self.compare_b), chosen):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("(none)", -1)
            for i, name in enumerate(names):
                combo.addItem(name, i)
            if previous in names:
                combo.setCurrentIndex(names.index(previous) + 1)
            combo.blockSignals(False)
        if len(names) == 2 and not all(c in names for c in chosen):
            self.compare_a.setCurrentIndex(1)  # two runs side by side: compare them (manual vs StepLR)
            self.compare_b.setCurrentIndex(2)
        self._view_changed()

    def _view_changed(self, *_) -> None:
        a, b = self.compare_a.currentData(), self.compare_b.currentData()
        self.plots.set_options(x_mode=self.x_mode.currentData() or "epoch", log_lr=self.log_lr.isChecked(),
                               log_loss=self.log_loss.isChecked(), smoothing=self.smoothing.currentData() or 0.0,
                               compare=(a, b) if a is not None and b is not None and a >= 0 and b >= 0 else None)

    # -- training -----------------------------------------------------------------------------------
    def _checked_experiment(self):
        """The form's experiment, built once with torch (errors shown at their field), or None."""
        self.validate()
        if self.experiment is None or self.error is not None:
            self._message("Cannot start", str(self.error))
            return None
        try:
            return parse_experiment(self.setup.value(), trial=True)
        except ExperimentError as error:
            self.error = error
            self.setup.show_error(error)
            self._update_controls()
            self._message("Cannot start", str(error))
            return None

    def start(self) -> None:
        experiment = self._checked_experiment()
        if experiment is not None:
            self._begin(experiment)

    def _begin(self, experiment, state: dict | None = None, run: bool = True) -> None:
        """Train ``experiment`` (from a saved state if given). A state that does not fit raises
        before anything changes: the current session, plots and form stay as they were."""
        session = TrainingSession(experiment, state=state)
        self.experiment = experiment
        self._show_experiment(experiment, keep_results=False)
        self.series = [RunSeries(r.name) for r in experiment.runs]
        self.reported = set()
        self.recorded_seen = 0
        self.state.reset_events()
        self.controller.start(session, run=run and state is None)
        self.started_at, self.started_position = time.perf_counter(), session.position
        self.refresh()

    def pause_resume(self) -> None:
        if self.controller.state == RUNNING:
            self.controller.pause()
        elif self.controller.state == PAUSED:
            self.started_at, self.started_position = time.perf_counter(), self.controller.session.position
            self.controller.resume()

    def step_epoch(self) -> None:
        """Train one epoch, then pause (from the start when nothing is training)."""
        if self.controller.state in (IDLE, FINISHED, STOPPED):
            experiment = self._checked_experiment()
            if experiment is None:
                return
            self._begin(experiment, run=False)
        self.controller.step_epoch()

    def stop(self) -> None:
        self.controller.stop()

    def reset(self) -> None:
        self.controller.reset()
        if self.experiment is not None:
            self._show_experiment(self.experiment, keep_results=False)
        self.state.reset_events()
        self.refresh_state()

    def _state_changed(self, state: str) -> None:
        running = state == RUNNING
        if running:
            self.refresh_timer.start()
            self.state_timer.start()
        else:
            self.refresh()
            self._drop_unapplied_commands(state)
            self.refresh_timer.stop()
            self.state_timer.stop()
            self.refresh_state()
        self.setup.set_locked(state in (RUNNING, PAUSED))
        words = {IDLE: "Ready.", RUNNING: "Training...", PAUSED: "Paused: edit lrs in the live state, then "
                 "Resume (F6) or Step (F10).", FINISHED: "Finished.", STOPPED: "Stopped."}
        if self.error is None:
            self.status_label.setText(words[state])
        self._update_controls()

    def _drop_unapplied_commands(self, state: str) -> None:
        session = self.controller.session
        if session is not None and state in (FINISHED, STOPPED) and session.pending_commands:
            dropped = session.discard_commands()
            self._message("Edits not applied", f"{dropped} edit(s) sent while paused never reached a step: "
                          "training ended first. They are not in the experiment.")

    def _update_controls(self) -> None:
        state = self.controller.state
        can_start = self.error is None and self.experiment is not None and state != RUNNING
        self.start_action.setEnabled(can_start)
        reason = f"Cannot start: {self.error}" if self.error is not None else "train every run from the start (F5)"
        self.start_action.setToolTip(reason)
        self.start_action.setStatusTip(reason)
        if self.error is not None:
            self.status_label.setText(reason)
        self.pause_action.setEnabled(state in (RUNNING, PAUSED))
        self.pause_action.setText("Resume" if state == PAUSED else "Pause")
        self.step_action.setEnabled(state in (PAUSED, IDLE, FINISHED, STOPPED) and (state == PAUSED or can_start))
        self.stop_action.setEnabled(state in (RUNNING, PAUSED))
        self.reset_action.setEnabled(state != IDLE)
        has_results = self.controller.session is not None
        self.export_csv_action.setEnabled(has_results)
        self.save_state_action.setEnabled(has_results and state != RUNNING)
        self.load_state_action.setEnabled(state != RUNNING)
        idle = state not in (RUNNING, PAUSED)
        for action in (self.add_run_action, self.duplicate_run_action, self.remove_run_action, self.new_action,
                       self.open_action, self.presets_menu.menuAction(), self.recent_menu.menuAction()):
            action.setEnabled(idle)
        self.recent_menu.menuAction().setEnabled(idle and bool(self._recent()))
        self.add_group_action.setEnabled(state in (RUNNING, PAUSED))

    def refresh(self) -> None:
        """Pull new results from the engine and redraw (on the timer, never per step)."""
        session = self.controller.session
        if session is None:
            self.progress.setValue(0)
            self.counts.setText("")
            return
        began = time.perf_counter()
        changed = False
        for series, run in zip(self.series, session.runs):
            changed |= series.pull(run.recorder)
        if changed:
            self.plots.set_results([s.results() for s in self.series])
        self._report_failures(session)
        self._show_progress(session)
        self._merge_recorded_edits()
        self.redraw_ms.append((time.perf_counter() - began) * 1000)
        del self.redraw_ms[:-200]

    def _show_progress(self, session) -> None:
        total, position = session.total_steps, session.position
        percent = int(100 * position / max(total, 1))
        if self.progress.value() != percent:  # at most a hundred repaints a run
            self.progress.setValue(percent)
        text = (f"epoch {min(session.epoch, session.experiment.epochs)}/{session.experiment.epochs}  ·  "
                f"step {position}/{total}")
        elapsed = time.perf_counter() - self.started_at
        done = position - self.started_position
        if self.controller.state == RUNNING and done > 0 and elapsed > 0.5:
            left = (total - position) * elapsed / done
            text += f"  ·  {int(left // 60)}:{int(left % 60):02d} left"
        if self.counts.text() != text:
            self.counts.setText(text)

    def _report_failures(self, session) -> None:
        for i, run in enumerate(session.runs):
            if run.status in ("failed", "diverged") and i not in self.reported:
                self.reported.add(i)
                event = run.recorder.events[-1]
                where = f"{run.name!r} at epoch {event.epoch}, step {event.step}"
                if run.status == "failed":
                    self._message("A run failed inside torch", f"Run {where} stopped:\n{event.detail}\n\n"
                                  "The other runs go on; its results up to there are kept.")
                else:
                    self.status_label.setText(f"Run {where} diverged: {event.detail}")

    def refresh_state(self) -> None:
        session = self.controller.session
        index = self.setup.current
        if session is None or index >= len(session.runs):
            self.state.show_run(None, index, self._scheduler_type(index))
            return
        run = session.runs[index]
        editable = self.controller.state in (RUNNING, PAUSED) and run.status == "running"
        self.state.show_run(run, index, run.config.scheduler.type if run.config.scheduler else None, editable)

    def _scheduler_type(self, index: int) -> str | None:
        if self.experiment is None or index >= len(self.experiment.runs):
            return None
        scheduler = self.experiment.runs[index].scheduler
        return scheduler.type if scheduler else None

    def edit_lr(self, run: int, group: int, lr: float, rebase: bool) -> None:
        try:
            self.controller.submit(SetGroupOptions(run=run, group=group, options={"lr": lr}, rebase=rebase))
        except (ExperimentError, RuntimeError) as error:
            self._message("This lr cannot be set", f"param_groups[{group}]['lr']: {getattr(error, 'message', error)}")
            self.refresh_state()
            return
        self.dirty = True
        self._update_title()
        self.status_label.setText(f"lr of group {group} set to {lr:g}: it applies at the next step and is then "
                                  "recorded in the run's edits.")

    def add_group(self, run: int) -> None:
        session = self.controller.session
        if session is None or self.controller.state not in (RUNNING, PAUSED):
            self._message("Add param group", "Start training first: a group added mid-run is the article's "
                          "fine-tuning recipe (optimizer.add_param_group). Before training, use the Param groups tab.")
            return
        free = [m for m in MODULES if m not in session.runs[run].modules]
        if "all" in session.runs[run].modules or not free:
            self._message("Add param group", "Every module of this run is already in a param group.")
            return
        module, ok = QInputDialog.getItem(self, "Add param group", "module:", free, 0, False)
        if not ok:
            return
        lr, ok = QInputDialog.getDouble(self, "Add param group", f"lr of {module}:", 0.01, 1e-12, 1e6, 8)
        if not ok:
            return
        try:
            self.controller.submit(AddGroup(run=run, group=GroupConfig(module, {"lr": lr})))
        except (ExperimentError, RuntimeError) as error:
            self._message("Add param group", getattr(error, "message", str(error)))
            return
        self.dirty = True
        self._update_title()

    def _merge_recorded_edits(self) -> None:
        """Edits made while training go into the experiment, so saving replays them exactly.

        Each appears once in the run's ``edits`` (one already there, e.g. after loading a
        training state saved with its experiment, is not added again).
        """
        session = self.controller.session
        if session is None:
            return
        recorded = sum(len(run.recorded_edits) for run in session.runs)
        if recorded == self.recorded_seen:
            return
        self.recorded_seen = recorded
        changed = False
        for i, run in enumerate(session.runs):
            if i >= len(self.setup.runs) or self.setup.runs[i].get("name") != run.name:
                continue
            edits = self.setup.runs[i].setdefault("edits", [])
            for edit in run.recorded_edits:
                table = edit.to_dict()
                if table not in edits:
                    edits.append(table)
                    changed = True
            if not edits:
                del self.setup.runs[i]["edits"]
        if changed:
            self.setup.editor.set_value(self.setup.runs[self.setup.current])
            self.dirty = True
            self._update_title()

    # -- files ---------------------------------------------------------------------------------------
    def _confirm_discard(self) -> bool:
        self._merge_recorded_edits()
        if not self.dirty:
            return True
        answer = QMessageBox.question(self, "Unsaved changes", f"Save the changes to {self.source_name}?",
                                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                      | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new(self) -> None:
        if self._confirm_discard():
            self.load_raw(default_experiment(), None, "untitled")

    def open(self) -> None:
        if not self._confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", self._directory(), "Experiments (*.toml)")
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path, *, confirm: bool = False) -> bool:
        if confirm and not self._confirm_discard():
            return False
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            self._message("Cannot open", f"{path}: {error}")
            return False
        self.load_raw(raw, path, path.name)
        self._add_recent(path)
        return True

    def open_preset(self, name: str) -> None:
        if not self._confirm_discard():
            return
        raw = tomllib.loads(preset_path(name).read_text(encoding="utf-8"))
        self.load_raw(raw, None, f"preset {name}")

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self._write(self.path)

    def save_as(self) -> bool:
        suggestion = str(Path(self._directory()) / (self.path.name if self.path else "experiment.toml"))
        path, _ = QFileDialog.getSaveFileName(self, "Save experiment", suggestion, "Experiments (*.toml)")
        if not path:
            return False
        path = Path(path if path.endswith(".toml") else path + ".toml")
        if self._write(path):
            self.path, self.source_name = path, path.name
            self._update_title()
            self._add_recent(path)
            return True
        return False

    def _write(self, path: Path) -> bool:
        self._merge_recorded_edits()
        try:
            tmp = path.with_name(path.name + ".partial")
            tmp.write_text(tomli_w.dumps(self.setup.value()), encoding="utf-8")
            tmp.replace(path)
        except OSError as error:
            self._message("Cannot save", f"{path}: {error}")
            return False
        self.dirty = False
        self._update_title()
        self.status_label.setText(f"Saved {path}")
        return True

    def export_results(self, directory: str | None = None) -> None:
        session = self.controller.session
        if session is None:
            return
        if not directory:
            directory = QFileDialog.getExistingDirectory(self, "Export results (epochs.csv, steps.csv, events.csv)",
                                                         self._directory())
        if directory:
            try:
                paths = write_results(session.snapshot(), directory)
            except OSError as error:
                self._message("Cannot export", str(error))
                return
            self.status_label.setText("Wrote " + ", ".join(p.name for p in paths) + f" to {directory}")

    def export_plot(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export plot", str(Path(self._directory()) / "plot.png"),
                                                  "PNG image (*.png);;SVG drawing (*.svg)")
        if not path:
            return
        if path.lower().endswith(".svg"):
            # Qt's own SVG generator: pyqtgraph's SVGExporter fails on this Qt's path syntax
            # (pyqtgraph issue #3485), and this keeps the curves as vectors all the same.
            from PySide6.QtCore import QRect
            from PySide6.QtGui import QPainter
            from PySide6.QtSvg import QSvgGenerator

            generator = QSvgGenerator()
            generator.setFileName(path)
            generator.setSize(self.plots.size())
            generator.setViewBox(QRect(0, 0, self.plots.width(), self.plots.height()))
            generator.setTitle("lrlab plot")
            painter = QPainter(generator)
            self.plots.render(painter)
            ok = painter.end()
        else:
            ok = self.plots.grab().save(path)
        if not ok or not Path(path).is_file():
            self._message("Cannot export", f"{path}: could not be written")
            return
        self.status_label.setText(f"Wrote {path}")

    def save_training_state(self) -> None:
        session = self.controller.session
        if session is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save training state", str(Path(self._directory()) / "state.pt"),
                                              "Training state (*.pt)")
        if path:
            try:
                save_state(session, path)
            except OSError as error:
                self._message("Cannot save the training state", str(error))
                return
            self.status_label.setText(f"Saved the training state at epoch {session.epoch} to {path}")

    def load_training_state(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Load training state", self._directory(),
                                                  "Training state (*.pt)")
        if not path:
            return
        try:
            experiment = parse_experiment(self.setup.value())
            self._begin(experiment, load_state(path))
        except (ExperimentError, StateFileError) as error:
            self._message("Cannot load the training state", str(error))
            return
        self.status_label.setText(f"Loaded the training state at epoch {self.controller.session.epoch}: "
                                  "Resume (F6) continues it.")

    def _directory(self) -> str:
        return str(self.path.parent) if self.path else str(self.settings.value("directory", str(Path.cwd())))

    def _add_recent(self, path: Path) -> None:
        recent = [p for p in self._recent() if p != str(path)]
        self.settings.setValue("recent", [str(path), *recent][:MAX_RECENT])
        self.settings.setValue("directory", str(path.parent))
        self._fill_recent()

    def _recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            action = QAction(path, self)
            action.triggered.connect(lambda _=False, p=path: self.open_file(p, confirm=True))
            self.recent_menu.addAction(action)
        self.recent_menu.setEnabled(bool(self._recent()))

    # -- settings, messages, closing --------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("windowState")
        if state is not None:
            self.restoreState(state, LAYOUT_VERSION)  # a state saved by another layout is ignored
        for combo, key in ((self.x_mode, "x_mode"), (self.smoothing, "smoothing"), (self.speed, "speed")):
            index = self.settings.value(key)
            if index is not None and 0 <= int(index) < combo.count():
                combo.setCurrentIndex(int(index))
        for box, key in ((self.log_lr, "log_lr"), (self.log_loss, "log_loss")):
            value = self.settings.value(key)
            if value is not None:
                box.setChecked(value in (True, "true"))

    def _save_settings(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState(LAYOUT_VERSION))
        for combo, key in ((self.x_mode, "x_mode"), (self.smoothing, "smoothing"), (self.speed, "speed")):
            self.settings.setValue(key, combo.currentIndex())
        self.settings.setValue("log_lr", self.log_lr.isChecked())
        self.settings.setValue("log_loss", self.log_loss.isChecked())

    def _message(self, title: str, text: str) -> None:
        """A message that does not block the event loop (training and plots go on behind it)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_message = (title, text)

    def about(self) -> None:
        import torch

        QMessageBox.about(self, "About lrlab", "lrlab: a learning-rate laboratory for PyTorch.\n\n"
                          f"torch {torch.__version__}: every optimizer and scheduler shown is the real class.")

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._confirm_discard():
            event.ignore()
            return
        self.refresh_timer.stop()
        self.state_timer.stop()
        self.controller.shutdown(1000)
        self.collector.timer.stop()
        self._save_settings()
        event.accept()
