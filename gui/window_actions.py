"""The window's actions, menus and Training toolbar, and which of them a state allows.

Every command a person can give (menu, toolbar, shortcut) is a QAction made here and set on
the window under the same name (``window.start_action``...), connected to the window's slots.
:func:`update_controls` is the one place that says what is enabled when.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QStyle, QToolBar

from engine.status import SessionState

from .examples_panel import preset_entries
from .guide_view import show_guide
from .plot_controls import steady_width
from .presentation import SCALES

__all__ = ["add_toolbars", "install_actions", "update_controls", "SPEEDS"]

SPEEDS = [("full speed", None), ("50 epochs/s", 50.0), ("10 epochs/s", 10.0), ("4 epochs/s", 4.0),
          ("2 epochs/s", 2.0), ("1 epoch/s", 1.0)]
ICONS = {"start_action": "SP_MediaPlay", "pause_action": "SP_MediaPause", "step_action": "SP_MediaSkipForward",
         "stop_action": "SP_MediaStop", "reset_action": "SP_BrowserReload", "open_action": "SP_DialogOpenButton",
         "save_action": "SP_DialogSaveButton"}


def _action(window, text: str, slot, shortcut=None, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setStatusTip(tip or text)
    action.setToolTip(f"{tip or text} ({QKeySequence(shortcut).toString()})" if shortcut is not None else tip or text)
    action.triggered.connect(slot)
    return action


def add_toolbars(window, toolbars: list) -> list:
    """The window's toolbars, fixed in place (a classroom window must not lose one by a stray drag)."""
    for toolbar in toolbars:
        toolbar.setMovable(False)
        window.addToolBar(toolbar)
    return toolbars


def install_actions(w) -> None:
    """Make the actions, the menus and the Training toolbar of window ``w``."""
    A, K, files = (lambda *a, **k: _action(w, *a, **k)), QKeySequence.StandardKey, w.files
    w.new_action = A("&New", files.new, K.New)
    w.open_action = A("&Open...", files.open, K.Open)
    w.save_action = A("&Save", files.save, K.Save)
    w.save_as_action = A("Save &As...", files.save_as, K.SaveAs)
    w.export_csv_action = A("Export Results (CSV)...", lambda: files.export_results(), "Ctrl+E")
    w.export_plot_action = A("Export Plot (PNG/SVG)...", w.plot_controls.export_dialog, "Ctrl+Shift+E")
    w.save_state_action = A("Save Training State...", files.save_training_state, "Ctrl+Shift+T")
    w.load_state_action = A("Load Training State...", w.live.load_training_state)
    w.quit_action = A("&Quit", w.close, K.Quit)
    w.start_action = A("Start", w.start, "F5", "train every run from the start")
    w.pause_action = A("Pause", w.live.pause_resume, "F6", "pause or resume at the next step")
    w.step_action = A("Step Epoch", w.live.step_epoch, "F10", "train one epoch, then pause")
    w.stop_action = A("Stop", w.live.stop, "Shift+F5", "end training; the results stay")
    w.reset_action = A("Reset", w.live.reset, "Ctrl+Shift+R", "forget the results")
    w.add_run_action = A("Add Run", w.setup.add_run, "Ctrl+Shift+N")
    w.duplicate_run_action = A("Duplicate Run", w.setup.duplicate_run, "Ctrl+D")
    w.remove_run_action = A("Remove Run", w.setup.remove_run)
    w.add_group_action = A("Add Param Group...", w.live.offer_add_group, "Ctrl+G",
                           "optimizer.add_param_group for a module the run does not train yet")
    w.find_lr_action = A("Find lr...", lambda: _find_lr(w), "Ctrl+L",
                         "learning-rate range test of the selected run (in the Find lr tab)")
    w.guide_action = A("Guide", lambda: show_guide(w), "F1", "a guided walk through the article's examples")
    w.side_action = A("Side Panel", lambda: w.set_side_panel(not w.side.shown()), "F9",
                      "show or hide the examples, setup and live state")
    w.side_action.setCheckable(True)
    w.side_action.setChecked(True)
    w.present_action = A("Presentation Mode", lambda: w.presentation.switch(not w.presentation.active), "F11",
                         "full screen, larger text and lines, big controls (Esc leaves)")
    w.present_action.setCheckable(True)
    w.leave_present_action = A("Leave Presentation Mode", lambda: w.presentation.switch(False), "Esc")
    w.leave_present_action.setEnabled(False)
    w.addAction(w.leave_present_action)
    for name, icon in ICONS.items():
        getattr(w, name).setIcon(w.style().standardIcon(getattr(QStyle.StandardPixmap, icon)))
    _menus(w)
    _training_bar(w)


def _find_lr(w) -> None:
    """Runs > Find lr...: the range test of the run selected in Setup, in its tab."""
    w.set_side_panel(True)
    w.finder_dock.raise_()
    w.finder.find()


def _menus(w) -> None:
    bar = w.menuBar()
    file = bar.addMenu("&File")
    file.setToolTipsVisible(True)
    file.addActions([w.new_action, w.open_action])
    w.presets_menu = file.addMenu("Open &Example")
    w.presets_menu.setToolTipsVisible(True)
    for number, (name, title, description) in enumerate(preset_entries(), start=1):
        action = QAction(f"&{number}. {title}" if number < 10 else f"{number}. {title}", w)
        action.setStatusTip(description)
        action.setToolTip(description)
        action.triggered.connect(lambda _=False, n=name: w.open_preset(n))
        w.presets_menu.addAction(action)
    w.recent_menu = file.addMenu("Open &Recent")
    for group in ([w.save_action, w.save_as_action], [w.export_csv_action, w.export_plot_action],
                  [w.save_state_action, w.load_state_action], [w.quit_action]):
        file.addSeparator()
        file.addActions(group)
    runs = bar.addMenu("&Runs")
    runs.addActions([w.add_run_action, w.duplicate_run_action, w.remove_run_action])
    runs.addSeparator()
    runs.addActions([w.add_group_action, w.find_lr_action])
    train = bar.addMenu("&Train")
    train.addActions([w.start_action, w.pause_action, w.step_action, w.stop_action, w.reset_action])
    view = bar.addMenu("&View")
    view.addActions([w.side_action, w.present_action])
    scales = view.addMenu("Presentation &Scale")
    w.scale_group = QActionGroup(w)
    for scale in SCALES:
        action = QAction(f"{scale:g}\u00d7", w, checkable=True)
        action.setData(scale)
        action.triggered.connect(lambda _=False, s=scale: w.presentation.choose_scale(s))
        w.scale_group.addAction(action)
        scales.addAction(action)
    view.addSeparator()
    view.addActions([dock.toggleViewAction() for dock in w.side_docks])
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(w.guide_action)
    help_menu.addAction(_action(w, "Examples of the Article", lambda: (w.set_side_panel(True),
                                                                       w.examples_dock.raise_())))
    help_menu.addAction(_action(w, "About", lambda: _about(w)))
    w.files.fill_recent()


def _about(w) -> None:
    from PySide6.QtWidgets import QMessageBox

    version = w.controller.client.info.get("torch", "(loading)")
    QMessageBox.about(w, "About lrlab", "lrlab: a learning-rate laboratory for PyTorch.\n\n"
                      f"torch {version}: every optimizer and scheduler shown is the real class.")


def _training_bar(w) -> None:
    bar = QToolBar("Training", w)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    bar.setObjectName("training")
    bar.addActions([w.start_action, w.pause_action, w.step_action, w.stop_action, w.reset_action])
    bar.addSeparator()
    w.speed = QComboBox(bar)
    for label, value in SPEEDS:
        w.speed.addItem(label, value)
    w.speed.setToolTip("training speed: slow it down for a demonstration")
    w.speed.currentIndexChanged.connect(lambda _: w.controller.set_speed(w.speed.currentData()))
    steady_width(w.speed)
    bar.addWidget(w.speed)
    w.training_bar = bar


def update_controls(w) -> None:
    """Enable what window ``w``'s state allows, and say why Start is not possible when it is not."""
    state, error, controller = w.controller.state, w.error, w.controller
    ready = controller.ready or controller.has_session
    # Paused, Start would throw the run away: Stop or Reset first (F5 is next to F6, Resume).
    active = state in (SessionState.RUNNING, SessionState.PAUSED)
    can_start = error is None and w.experiment is not None and not active and ready and not controller.starting
    w.start_action.setEnabled(can_start)
    reason = f"Cannot start: {error}" if error is not None else \
        "paused: Resume (F6) goes on; Stop or Reset first to start over" if state == SessionState.PAUSED else \
        "the engine is starting (torch is loading)..." if not ready else \
        "starting: the engine is building the runs..." if controller.starting else "train every run from the start (F5)"
    w.start_action.setToolTip(reason)
    w.start_action.setStatusTip(reason)
    if error is not None:
        w.show_status(reason, warning=True)
    w.pause_action.setEnabled(active)
    w.pause_action.setText("Resume" if state == SessionState.PAUSED else "Pause")
    w.step_action.setEnabled(state == SessionState.PAUSED or not active and can_start)
    w.stop_action.setEnabled(active)
    w.reset_action.setEnabled(state != SessionState.IDLE)
    has_results = controller.has_session
    w.export_csv_action.setEnabled(has_results)
    w.save_state_action.setEnabled(has_results and state != SessionState.RUNNING)
    w.load_state_action.setEnabled(state != SessionState.RUNNING and ready)
    idle = not active
    for action in (w.add_run_action, w.duplicate_run_action, w.remove_run_action, w.new_action,
                   w.open_action, w.presets_menu.menuAction()):
        action.setEnabled(idle)
    w.examples.setEnabled(idle)
    w.recent_menu.menuAction().setEnabled(idle and bool(w.files.recent()))
    w.add_group_action.setEnabled(bool(w.live.free_modules(w.setup.current)))
    w.find_lr_action.setEnabled(ready and w.experiment is not None)  # (beside training too: between its steps)
