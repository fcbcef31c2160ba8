"""The main window: the plots in the middle; examples, setup and live state in one side panel.

The plots own the window: the side panel is a column of tabs (Examples, Setup, Live state) that
F9 folds away, the two toolbars share a row when the width allows and wrap when it does not, and
presentation mode (F11) scales everything for a projector. At 1024x768 nothing is cut off.
"""

from __future__ import annotations

import time
from pathlib import Path

import tomli_w
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDockWidget, QFileDialog, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QStyle, QTabBar, QTabWidget, QToolBar, QWidget)
from pyqtgraph.util.garbage_collector import GarbageCollector

from engine.checkpoint import load_state, save_state
from engine.commands import AddGroup, SetGroupOptions
from engine.config import MODULES, GroupConfig
from engine.errors import ExperimentError, StateFileError
from engine.files import read_raw
from engine.parse import parse_experiment
from engine.presets import preset_path
from engine.preview import predict_schedule
from engine.results import write_results
from engine.session import TrainingSession

from .examples_panel import ExamplesPanel, preset_entries
from .export_dialog import ExportDialog
from .plot_area import PlotArea
from .presentation import SCALES, Presentation
from .series import RunSeries
from .settings import open_settings
from .setup_panel import NEW_RUN, SetupPanel
from .state_panel import StatePanel
from .training import FINISHED, IDLE, PAUSED, RUNNING, STOPPED, TrainingController
from .widgets import ElidedLabel, VerticalScrollArea, install_style

__all__ = ["MainWindow"]

SPEEDS = [("full speed", None), ("50 epochs/s", 50.0), ("10 epochs/s", 10.0), ("4 epochs/s", 4.0),
          ("2 epochs/s", 2.0), ("1 epoch/s", 1.0)]
SMOOTHING = [("no smoothing", 0.0), ("EMA 0.6", 0.6), ("EMA 0.9", 0.9), ("EMA 0.98", 0.98)]
PREVIEW_STEPS = 50_000  # longer schedules are previewed up to here (the note says so)
# The plots' rate, whatever the training rate: 20 Hz keeps the main thread (which holds the
# GIL while it draws, so training waits) busy for a small share of the time.
REFRESH_MS = 50
MAX_RECENT = 8
LAYOUT_VERSION = 3  # bump when docks or toolbars change, so an old saved layout is not applied
STATE_WORDS = {IDLE: "Ready.", RUNNING: "Training...", PAUSED: "Paused: edit lrs in Live state, then Resume (F6) "
               "or Step (F10).", FINISHED: "Finished.", STOPPED: "Stopped."}
WARNING_STYLE = "color: #a40000; font-weight: bold;"


def default_experiment() -> dict:
    return {"epochs": 50, "runs": [{"name": "Adam", **NEW_RUN}]}


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


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, *, restore: bool = True):
        super().__init__()
        self.lab_style = install_style(QApplication.instance())
        self.settings = settings if settings is not None else open_settings()  # LRLAB_SETTINGS in tests
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
        self.last_message: tuple[str, str] | None = None
        self._warned = False              # the status line holds a warning about the training
        self.export_scale = 2.0

        # Python's garbage collector runs in whichever thread happens to allocate: in the
        # training thread it may destroy Qt objects, which deadlocks or crashes Qt. Collect on
        # a timer in this (the GUI) thread instead.
        self.collector = GarbageCollector(interval=0.5)
        self.controller = TrainingController(self)
        self.controller.state_changed.connect(self._state_changed)
        self.controller.job_failed.connect(lambda message: self._notify("The engine stopped", message))

        self.setup = SetupPanel()
        self.plot_area = PlotArea()
        self.plots = self.plot_area.plots
        self.state = StatePanel()
        self.examples = ExamplesPanel()
        self.setCentralWidget(self.plot_area)
        self.plot_area.setMinimumSize(360, 300)  # a small window shrinks the side panel, never the plots away
        self.setup_scroll = VerticalScrollArea(self.setup)
        self.examples_dock = self._dock("Examples", VerticalScrollArea(self.examples))
        self.setup_dock = self._dock("Setup", self.setup_scroll)
        self.state_dock = self._dock("Live state", self.state)
        self.side_docks = [self.examples_dock, self.setup_dock, self.state_dock]
        self.tabifyDockWidget(self.examples_dock, self.setup_dock)
        self.tabifyDockWidget(self.setup_dock, self.state_dock)
        self.setTabPosition(Qt.DockWidgetArea.LeftDockWidgetArea, QTabWidget.TabPosition.North)
        self.presentation = Presentation(self)

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
        self.setup.run_selected.connect(self._run_selected)
        self.state.run_selected.connect(self.setup.select_run)
        self.state.refresh_requested.connect(self.refresh_state)
        self.state.lr_edited.connect(self.edit_lr)
        self.state.group_added.connect(self.submit_group)
        self.examples.open_requested.connect(self.open_preset)

        width, height = first_size()
        self.resize(width, height)
        self.resizeDocks(self.side_docks, [side_width(width)] * 3, Qt.Orientation.Horizontal)
        self.examples_dock.raise_()  # a newcomer sees the article's examples first
        if restore:
            self._restore_settings()
        self.load_raw(default_experiment(), None, "untitled")
        self._state_changed(IDLE)

    # -- building the window ------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        # The tab says which panel it is: a title bar above it would take a line from the forms.
        dock.setTitleBarWidget(QWidget(dock))
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        return dock

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip or text)
        action.setToolTip(f"{tip or text} ({QKeySequence(shortcut).toString()})" if shortcut is not None
                          else tip or text)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        A, K = self._action, QKeySequence.StandardKey
        self.new_action = A("&New", self.new, K.New)
        self.open_action = A("&Open...", self.open, K.Open)
        self.save_action = A("&Save", self.save, K.Save)
        self.save_as_action = A("Save &As...", self.save_as, K.SaveAs)
        self.export_csv_action = A("Export Results (CSV)...", self.export_results, "Ctrl+E")
        self.export_plot_action = A("Export Plot (PNG/SVG)...", self.export_plot_dialog, "Ctrl+Shift+E")
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
        self.add_group_action = A("Add Param Group...", self.offer_add_group, "Ctrl+G",
                                  "optimizer.add_param_group for a module the run does not train yet")
        self.side_action = A("Side Panel", self.toggle_side_panel, "F9",
                             "show or hide the examples, setup and live state")
        self.side_action.setCheckable(True)
        self.side_action.setChecked(True)
        self.present_action = A("Presentation Mode", self.toggle_presentation, "F11",
                                "full screen, larger text and lines, big controls (Esc leaves)")
        self.present_action.setCheckable(True)
        self.leave_present_action = A("Leave Presentation Mode", lambda: self.set_presentation(False), "Esc")
        self.leave_present_action.setEnabled(False)
        self.addAction(self.leave_present_action)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.setToolTipsVisible(True)
        file.addActions([self.new_action, self.open_action])
        self.presets_menu = file.addMenu("Open &Example")
        self.presets_menu.setToolTipsVisible(True)
        for number, (name, title, description) in enumerate(preset_entries(), start=1):
            action = QAction(f"&{number}. {title}" if number < 10 else f"{number}. {title}", self)
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
        view.addActions([self.side_action, self.present_action])
        scales = view.addMenu("Presentation &Scale")
        self.scale_group = QActionGroup(self)
        for scale in SCALES:
            action = QAction(f"{scale:g}\u00d7", self, checkable=True)
            action.setData(scale)
            action.triggered.connect(lambda _=False, s=scale: self.set_presentation_scale(s))
            self.scale_group.addAction(action)
            scales.addAction(action)
        view.addSeparator()
        view.addActions([dock.toggleViewAction() for dock in self.side_docks])
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("Examples of the Article", self.show_examples))
        help_menu.addAction(self._action("About", self.about))
        self._fill_recent()
        self._check_scale(self.presentation.scale)

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
        self.speed.setToolTip("training speed: slow it down for a demonstration")
        self.speed.currentIndexChanged.connect(lambda _: self.controller.set_speed(self.speed.currentData()))
        bar.addWidget(self.speed)
        self.training_bar = bar
        compare = QToolBar("Compare", self)
        compare.setObjectName("compare")
        self.compare_a = QComboBox(compare)
        self.compare_b = QComboBox(compare)
        for combo in (self.compare_a, self.compare_b):
            combo.setToolTip("compare two runs: their difference, and whether they are identical to the bit")
        compare.addWidget(QLabel(" compare ", compare))
        compare.addWidget(self.compare_a)
        compare.addWidget(QLabel(" \u2212 ", compare))
        compare.addWidget(self.compare_b)
        self.compare_bar = compare
        view = QToolBar("View", self)
        view.setObjectName("view")
        self.x_mode = QComboBox(view)
        self.x_mode.addItem("x: epochs", "epoch")
        self.x_mode.addItem("x: steps", "step")
        self.x_mode.setToolTip("the plots' x axis: epochs, or optimizer steps")
        self.log_lr = QCheckBox("log lr", view)
        self.log_loss = QCheckBox("log loss", view)
        self.log_loss.setChecked(True)
        self.smoothing = QComboBox(view)
        for label, value in SMOOTHING:
            self.smoothing.addItem(label, value)
        self.smoothing.setToolTip("smooth the train loss (exponential moving average)")
        for widget in (self.x_mode, self.log_lr, self.log_loss, self.smoothing):
            view.addWidget(widget)
        self.view_bar = view
        for combo in (self.speed, self.x_mode, self.smoothing):
            # as wide as the longest entry, always: picking another never moves the next control
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(max(len(combo.itemText(i)) for i in range(combo.count())) + 1)
        for combo in (self.compare_a, self.compare_b):
            # Run names can be long: the box keeps a steady width and says the whole name on hover.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
            combo.currentTextChanged.connect(lambda text, c=combo: c.setToolTip(
                f"{text}\n\ncompare two runs: their difference, and whether they are identical to the bit"))
        self.toolbars = [self.training_bar, self.compare_bar, self.view_bar]
        for toolbar in self.toolbars:
            toolbar.setMovable(False)
            self.addToolBar(toolbar)
        self.x_mode.currentIndexChanged.connect(self._view_changed)
        self.log_lr.toggled.connect(self._view_changed)
        self.log_loss.toggled.connect(self._view_changed)
        self.smoothing.currentIndexChanged.connect(self._view_changed)
        self.compare_a.currentIndexChanged.connect(self._view_changed)
        self.compare_b.currentIndexChanged.connect(self._view_changed)

    def _build_status(self) -> None:
        status = self.statusBar()
        self.status_label = ElidedLabel("", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(True)
        self.counts = QLabel(self)
        status.addWidget(self.status_label, 1)
        status.addPermanentWidget(self.counts)
        status.addPermanentWidget(self.progress)
        self.fit_status_bar()

    def fit_status_bar(self) -> None:
        """Steady widths for the counters (no relayout as digits change), from the current font."""
        metrics = self.counts.fontMetrics()
        self.counts.setMinimumWidth(metrics.horizontalAdvance("epoch 9999/9999 · step 99999/99999 · 99:99 left"))
        self.progress.setMaximumWidth(metrics.horizontalAdvance("0" * 22))

    def update_toolbar_rows(self) -> None:
        """Toolbars side by side while they fit the width, a new row when the next does not:
        never a control hidden behind an overflow button."""
        used = 0
        for toolbar in self.toolbars:
            width = toolbar.sizeHint().width() + 8
            wrap = used > 0 and used + width > self.width()
            used = width if wrap else used + width
            if wrap != self.toolBarBreak(toolbar):
                if wrap:
                    self.insertToolBarBreak(toolbar)
                else:
                    self.removeToolBarBreak(toolbar)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.update_toolbar_rows()
        self.fit_side_panel()
        QTimer.singleShot(0, self, self.fit_side_panel)  # and once the docks have their new geometry

    def fit_side_panel(self, exact: bool = False) -> None:
        """A narrower window takes the space from the side panel, not from the plots; ``exact``
        sets the panel to its width for this window and text scale (after a scale change)."""
        width = side_width(self.width(), self.presentation.scale if self.presentation.active else 1.0)
        docks = [d for d in self.side_docks if d.isVisible() and not d.isFloating()]
        current = max(docks, key=lambda d: d.width(), default=None)
        if current is not None and (current.width() > width or exact and current.width() != width):
            # every dock of the tab group: Qt applies the size of the one that is the current tab
            self.resizeDocks(docks, [width] * len(docks), Qt.Orientation.Horizontal)

    # -- the side panel and presentation mode ---------------------------------------------------------
    def set_side_panel(self, visible: bool) -> None:
        for dock in self.side_docks:
            dock.setVisible(visible)
        self.side_action.setChecked(visible)
        if visible:
            QTimer.singleShot(0, self, lambda: self.fit_side_panel(exact=self.presentation.active))

    def current_side_dock(self) -> QDockWidget | None:
        """The side panel's tab in front (read from the docks' tab bar: a dock out of sight in
        its tab group still says it is visible)."""
        shown = [d for d in self.side_docks if d.toggleViewAction().isChecked()]
        for bar in self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if bar.count() and bar.currentIndex() >= 0:
                title = bar.tabText(bar.currentIndex())
                return next((d for d in shown if d.windowTitle() == title), None)
        return shown[0] if len(shown) == 1 else None

    def side_panel_shown(self) -> bool:
        return any(dock.toggleViewAction().isChecked() for dock in self.side_docks)

    def toggle_side_panel(self) -> None:
        self.set_side_panel(not self.side_panel_shown())

    def show_examples(self) -> None:
        self.set_side_panel(True)
        self.examples_dock.raise_()

    def set_presentation(self, on: bool, scale: float | None = None, *, fullscreen: bool = True) -> None:
        if on:
            self.presentation.enter(scale, fullscreen=fullscreen)
            self._check_scale(self.presentation.scale)
        else:
            self.presentation.leave()
        self.present_action.setChecked(self.presentation.active)
        self.leave_present_action.setEnabled(self.presentation.active)
        self.side_action.setChecked(self.side_panel_shown())

    def toggle_presentation(self) -> None:
        self.set_presentation(not self.presentation.active)

    def set_presentation_scale(self, scale: float) -> None:
        self.presentation.set_scale(scale)
        self.settings.setValue("presentation_scale", scale)
        self._check_scale(scale)

    def _check_scale(self, scale: float) -> None:
        for action in self.scale_group.actions():
            action.setChecked(action.data() == scale)

    # -- the document -------------------------------------------------------------------------------
    def load_raw(self, raw: dict, path: Path | None, name: str) -> None:
        self.controller.reset()
        self.setup.set_value(raw)
        self.setup_scroll.verticalScrollBar().setValue(0)
        self.setup.editor.show_first_tab()
        self.path, self.source_name, self.dirty = path, name, False
        self.error = None
        self.state.reset_events()
        self.state.clear_message()
        self._update_title()
        self.experiment = None  # nothing of the previous experiment may stay on screen
        self.series = []
        self.validate()
        if self.experiment is None:  # the file cannot train as it is: its runs, no prediction yet
            names = [str(r.get("name", f"run {i + 1}")) for i, r in enumerate(self.setup.runs)]
            self.plots.set_runs(names, 1)
            self.plots.set_predictions([None] * len(names))
            self._fill_compare(names)
        self._show_status(STATE_WORDS[IDLE] if self.error is None else None)
        self.refresh_state()

    def _edited(self) -> None:
        self.dirty = True
        self._update_title()
        self.validate_timer.start()

    def _update_title(self) -> None:
        self.setWindowTitle(f"{'*' if self.dirty else ''}{self.source_name} - lrlab, a learning-rate laboratory")

    def validate(self) -> None:
        """Check the form with the engine; mark the field at fault; redraw the predicted schedule."""
        raw = self.setup.value()
        had_error = self.error is not None
        # With torch's own checks too (a few ms per run): nothing torch refuses gets to Start.
        # While a session trains the form is locked and only edits the engine already applied
        # change it: no trial step then (it would take the interpreter from the trainer).
        trial = self.controller.state not in (RUNNING, PAUSED)
        try:
            experiment = parse_experiment(raw, trial=trial)
            self.error = None
        except ExperimentError as error:
            experiment, self.error = None, error
        self.setup.show_error(self.error)
        if experiment is not None:
            self.experiment = experiment
        self._update_controls()
        if had_error and self.error is None:
            self._show_status(STATE_WORDS[self.controller.state])  # "Cannot start: ..." no longer holds
        if experiment is None:
            return
        if self.controller.state in (IDLE, FINISHED, STOPPED):
            self._show_experiment(experiment, keep_results=self.controller.state != IDLE)
        elif self._session_matches(experiment):
            # Training: only recorded edits change the experiment; the prediction now includes them.
            self.plots.set_predictions([self._preview(experiment, i) for i in range(len(experiment.runs))])
        self.refresh_state()

    def _session_matches(self, experiment) -> bool:
        session = self.controller.session
        return session is not None and [r.name for r in session.runs] == [r.name for r in experiment.runs]

    def _show_experiment(self, experiment, keep_results: bool) -> None:
        names = [r.name for r in experiment.runs]
        if not keep_results or names != [s.name for s in self.series]:
            self.plots.set_runs(names, experiment.steps_per_epoch, experiment.epochs)
            self.series = []
            self._fill_compare(names)
        predictions = [self._preview(experiment, i) for i in range(len(names))]
        self.plots.set_predictions(predictions)
        self.state.set_run_names(names, self.setup.current)
        notes = [f"{experiment.runs[i].name}: {p.note}" for i, p in enumerate(predictions) if p.note]
        if notes and self.error is None and self.controller.state == IDLE:
            self._show_status("Preview: " + "; ".join(notes))

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
            self.last_message = ("Cannot start", str(self.error))  # the status line says it already
            return None
        try:
            return parse_experiment(self.setup.value(), trial=True)
        except ExperimentError as error:
            self.error = error
            self.setup.show_error(error)
            self._update_controls()
            self.last_message = ("Cannot start", str(error))
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
        self.state.clear_message()
        self.controller.start(session, run=run and state is None)
        self.started_at, self.started_position = time.perf_counter(), session.position
        if self.side_panel_shown():
            self.state_dock.raise_()  # what a person watches while it trains (the setup is locked)
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
        self._warned = False  # the results a warning was about are gone
        self._merge_recorded_edits()
        self.controller.reset()
        self.series = []
        self.state.reset_events()
        self.state.clear_message()
        self.validate()  # the form (with any edits recorded while training) and its prediction
        if self.experiment is not None and self.error is not None:
            self._show_experiment(self.experiment, keep_results=False)
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
            if state in (FINISHED, STOPPED):
                self.validate()  # the prediction of the experiment as it now is (edits included)
            self.refresh_state()
        self.setup.set_locked(state in (RUNNING, PAUSED))
        if running:
            self._warned = False  # a new stretch of training: the last warning is history
        if self.error is None and not self._warned:
            self._show_status(STATE_WORDS[state])  # but a warning just given (a failed run) stays
        self._update_controls()

    def _drop_unapplied_commands(self, state: str) -> None:
        session = self.controller.session
        if session is not None and state in (FINISHED, STOPPED) and session.pending_commands:
            dropped = session.discard_commands()
            self._notify("Edits not applied", f"{dropped} edit(s) sent while paused never reached a step: "
                         "training ended first. They are not in the experiment.")

    def _update_controls(self) -> None:
        state = self.controller.state
        # Paused, Start would throw the run away: Stop or Reset first (F5 is next to F6, Resume).
        can_start = self.error is None and self.experiment is not None and state not in (RUNNING, PAUSED)
        self.start_action.setEnabled(can_start)
        reason = f"Cannot start: {self.error}" if self.error is not None else \
            "paused: Resume (F6) goes on; Stop or Reset first to start over" if state == PAUSED else \
            "train every run from the start (F5)"
        self.start_action.setToolTip(reason)
        self.start_action.setStatusTip(reason)
        if self.error is not None:
            self._show_status(reason, warning=True)
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
        self.examples.setEnabled(idle)
        self.recent_menu.menuAction().setEnabled(idle and bool(self._recent()))

    def _show_status(self, text: str | None, *, warning: bool = False) -> None:
        if text is None:
            return
        self._warned = warning and self.error is None
        self.status_label.setText(text)
        self.status_label.setStyleSheet(WARNING_STYLE if warning else "")

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
        text = (f"epoch {min(session.epoch, session.experiment.epochs)}/{session.experiment.epochs} · "
                f"step {position}/{total}")
        elapsed = time.perf_counter() - self.started_at
        done = position - self.started_position
        if self.controller.state == RUNNING and done > 0 and elapsed > 0.5:
            left = (total - position) * elapsed / done
            text += f" · {int(left // 60)}:{int(left % 60):02d} left"
        if self.counts.text() != text:
            self.counts.setText(text)

    def _report_failures(self, session) -> None:
        for i, run in enumerate(session.runs):
            if run.status in ("failed", "diverged") and i not in self.reported:
                self.reported.add(i)
                event = run.recorder.events[-1]
                where = f"{run.name!r} at epoch {event.epoch}, step {event.step}"
                if run.status == "failed":
                    self._notify("A run failed inside torch", f"Run {where} stopped: {event.detail}. "
                                 "The other runs go on; its results up to there are kept.")
                else:
                    self._show_status(f"Run {where} diverged: {event.detail}", warning=True)

    # -- live state ------------------------------------------------------------------------------------
    def _run_selected(self, index: int) -> None:
        names = [r.get("name", "") for r in self.setup.runs]
        self.state.set_run_names(names, index)
        self._update_controls()
        self.refresh_state()

    def _free_modules(self, index: int) -> list[str]:
        """Modules a param group could be added for in run ``index`` now (none unless training)."""
        session = self.controller.session
        if session is None or self.controller.state not in (RUNNING, PAUSED) or index >= len(session.runs):
            return []
        run = session.runs[index]
        if run.status != "running" or "all" in run.modules:
            return []
        return [m for m in MODULES if m not in run.modules]

    def refresh_state(self) -> None:
        session = self.controller.session
        index = self.setup.current
        self.state.set_run_names([r.get("name", "") for r in self.setup.runs], index)
        scheduler = self._form_scheduler_type(index)
        if session is None or index >= len(session.runs):
            self.state.show_run(None, index, scheduler)
            return
        run = session.runs[index]
        editable = self.controller.state in (RUNNING, PAUSED) and run.status == "running"
        self.state.show_run(run, index, run.config.scheduler.type if run.config.scheduler else None, editable,
                            state=self.controller.state, free_modules=self._free_modules(index))
        self.add_group_action.setEnabled(bool(self._free_modules(index)))

    def _form_scheduler_type(self, index: int) -> str | None:
        """The scheduler the form names for run ``index`` (the form is the truth before training)."""
        if index >= len(self.setup.runs):
            return None
        scheduler = self.setup.runs[index].get("scheduler")
        return scheduler.get("type") if isinstance(scheduler, dict) else None

    def edit_lr(self, run: int, group: int, lr: float, rebase: bool) -> None:
        try:
            self.controller.submit(SetGroupOptions(run=run, group=group, options={"lr": lr}, rebase=rebase))
        except (ExperimentError, RuntimeError) as error:
            self.state.show_message(f"param_groups[{group}]['lr'] not set: {getattr(error, 'message', error)}")
            self.last_message = ("This lr cannot be set", f"param_groups[{group}]['lr']: "
                                 f"{getattr(error, 'message', error)}")
            QTimer.singleShot(0, self.state, self.state.forget_typed)  # the cell shows the lr in effect again
            return
        self.state.clear_message()
        self.dirty = True
        self._update_title()
        self._show_status(f"lr of group {group} set to {lr:g}: it applies at the next step and is then "
                          "recorded in the run's edits.")

    def offer_add_group(self) -> None:
        """Runs > Add Param Group: show the Live state's add row (it is there while a module is left)."""
        self.set_side_panel(True)
        self.state_dock.raise_()
        self.refresh_state()
        if self.state.add_row.isVisibleTo(self.state):
            self.state.add_lr.setFocus()
            self.state.add_lr.selectAll()

    def submit_group(self, run: int, module: str, lr: float) -> None:
        try:
            self.controller.submit(AddGroup(run=run, group=GroupConfig(module, {"lr": lr})))
        except (ExperimentError, RuntimeError) as error:
            self.state.show_message(f"add_param_group not done: {getattr(error, 'message', error)}")
            self.last_message = ("Add param group", getattr(error, "message", str(error)))
            return
        self.state.clear_message()
        self.dirty = True
        self._update_title()
        self._show_status(f"add_param_group({module}, lr {lr:g}): at the next step, then recorded in the run's edits.")

    def _merge_recorded_edits(self) -> None:
        """Edits made while training go into the experiment, so saving replays them exactly.

        Each appears once in the run's ``edits`` (one already there, e.g. after loading a
        training state saved with its experiment, is not added again). The prediction is then
        redrawn from the experiment with the edit, so it shows what the scheduler does with it.
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
            self.validate()

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
            self.setup_dock.raise_()

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
            raw = read_raw(path)
        except ExperimentError as error:
            self._message("Cannot open", str(error))
            return False
        self.open_raw_file(raw, path)
        return True

    def open_raw_file(self, raw: dict, path: Path) -> None:
        """A file already read (the command line reads it first, to refuse a bad one before any window)."""
        self.load_raw(raw, path, path.name)
        self._add_recent(path)
        self.setup_dock.raise_()

    def open_preset(self, name: str) -> None:
        if self.controller.state in (RUNNING, PAUSED) or not self._confirm_discard():
            return
        raw = read_raw(preset_path(name))
        title = next((t for n, t, _ in preset_entries() if n == name), name)
        self.load_raw(raw, None, f"example {title}")
        self._show_status(f"Opened the example \u201c{title}\u201d: press Start (F5) to train it.")

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
        self._show_status(f"Saved {path}")
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
            self._show_status("Wrote " + ", ".join(p.name for p in paths) + f" to {directory}")

    def export_plot_dialog(self) -> None:
        dialog = ExportDialog(self, str(Path(self._directory()) / "plot.png"), self.plot_area.canvas.size(),
                              float(self.settings.value("export_scale", self.export_scale)))
        accepted = dialog.exec()
        path, scale = dialog.path(), dialog.scale()
        dialog.deleteLater()
        if accepted:
            self.settings.setValue("export_scale", scale)
            self.export_plot(path, scale=scale)

    def export_plot(self, path: str | None = None, scale: float | None = None) -> bool:
        """The plots with their legend and verdict: PNG at ``scale`` (2x by default), or SVG."""
        if not path:
            self.export_plot_dialog()
            return False
        scale = self.export_scale if scale is None else scale
        try:
            ok = self.plot_area.export(path, scale)
        except OSError as error:
            ok, reason = False, str(error)
        else:
            reason = "could not be written"
        if not ok or not Path(path).is_file():
            self._message("Cannot export", f"{path}: {reason}")
            return False
        self._show_status(f"Wrote {path}")
        return True

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
            self._show_status(f"Saved the training state at epoch {session.epoch} to {path}")

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
        self._show_status(f"Loaded the training state at epoch {self.controller.session.epoch}: "
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
        try:
            scale = float(self.settings.value("presentation_scale", self.presentation.scale))
        except (TypeError, ValueError):
            scale = self.presentation.scale
        if SCALES[0] <= scale <= SCALES[-1]:
            self.presentation.scale = scale
            self._check_scale(scale)

    def _save_settings(self) -> None:
        if self.presentation.active:
            self.set_presentation(False)  # remember the normal window, not the full screen
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState(LAYOUT_VERSION))
        for combo, key in ((self.x_mode, "x_mode"), (self.smoothing, "smoothing"), (self.speed, "speed")):
            self.settings.setValue(key, combo.currentIndex())
        self.settings.setValue("log_lr", self.log_lr.isChecked())
        self.settings.setValue("log_loss", self.log_loss.isChecked())
        self.settings.setValue("presentation_scale", self.presentation.scale)

    def _message(self, title: str, text: str) -> None:
        """A message about a file a person chose (it does not block the event loop: training and
        plots go on behind it)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_message = (title, text)

    def _notify(self, title: str, text: str) -> None:
        """Something about the training a person must see, without a box over the plots: the
        status bar says it in red, and so does the Live state panel (until the next edit)."""
        self.last_message = (title, text)
        self._show_status(f"{title}: {text}", warning=True)
        self.state.show_message(f"{title}: {text}")

    def about(self) -> None:
        import torch

        QMessageBox.about(self, "About lrlab", "lrlab: a learning-rate laboratory for PyTorch.\n\n"
                          f"torch {torch.__version__}: every optimizer and scheduler shown is the real class.")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self._confirm_discard():
            event.ignore()
            return
        self.refresh_timer.stop()
        self.state_timer.stop()
        self.controller.shutdown(1000)
        self.collector.timer.stop()
        self._save_settings()
        event.accept()

