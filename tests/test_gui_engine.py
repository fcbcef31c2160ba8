"""The window and its engine (issue 7): typing never waits for torch, a stale preview is never drawn,
predict-from-here equals what the run then does, the GUI holds no torch object of a running
session, a crashed engine is survived, and closing/stopping/starting leave nothing behind.

The engine runs in a thread of this process (LRLAB_ENGINE=thread, set in conftest.py) except in
the tests of the process itself, which build the window with ``EngineClient(mode="process")``.
Everything waits on conditions (qtbot.waitUntil), never on fixed delays.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading

import numpy as np
import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from conftest import engine_session, settle, step_epoch
from engine import run as run_module
from engine import trial as trial_module
from engine.edit_effect import PLATEAU_EFFECT
from engine.parse import parse_experiment
from engine.preview import predict_schedule
from engine.session import TrainingSession
from engine.status import SessionState
from engine.worker import PREVIEW_STEPS
from gui.engine_client import EngineClient

LONG = 120_000  # ms: generous waits (a condition returns as soon as it holds)


def make_raw(runs: list[dict], *, epochs: int = 8, samples: int = 128, batch_size: int = 32,
             val_fraction: float = 0.25) -> dict:
    return {"seed": 0, "epochs": epochs, "model": "article",
            "data": {"samples": samples, "batch_size": batch_size, "val_fraction": val_fraction},
            "runs": [{"name": f"run {i}", **r} for i, r in enumerate(runs)]}


def heavy_raw(epochs: int = 2000, runs: int = 4) -> dict:
    """Issue 7's heavy experiment: runs of OneCycleLR stepping per step over thousands of epochs."""
    return make_raw([{"optimizer": {"type": "Adam", "lr": 0.01},
                      "scheduler": {"type": "OneCycleLR", "max_lr": 0.1 + i / 100, "interval": "step"}}
                     for i in range(runs)], epochs=epochs, samples=256, val_fraction=0.2)


SGD = {"type": "SGD", "lr": 0.1, "momentum": 0.9}


def small(epochs: int = 8) -> dict:
    return make_raw([{"optimizer": SGD, "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5}},
                     {"optimizer": {"type": "Adam", "lr": 0.01}}], epochs=epochs)


def wait_state(qtbot, window, *states, timeout=LONG):
    qtbot.waitUntil(lambda: window.controller.state in states, timeout=timeout)


def trigger(window, name: str) -> None:
    """What a person does: the action, which must be enabled."""
    action = getattr(window, f"{name}_action")
    assert action.isEnabled(), f"{name} is disabled: {action.toolTip()}"
    action.trigger()


def lr_editor(window):
    optimizer = window.setup.runs[window.setup.current]["optimizer"]["type"]
    return window.setup.editor.optimizer.form(optimizer).editors["lr"].edit


def headless(raw: dict):
    session = TrainingSession(parse_experiment(raw))
    session.run()
    return session.snapshot()


def same_results(got, expected) -> bool:
    return (got.step.astype(np.int64).tolist() == expected.step.tolist()
            and got.step_loss.tobytes() == expected.step_loss.tobytes()
            and got.step_lr.tobytes() == expected.step_lr.tobytes()
            and got.epoch_lr.tobytes() == expected.epoch_lr.tobytes()
            and np.asarray(got.train_loss).tobytes() == expected.train_loss.tobytes())


def engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "lrlab-engine" and t.is_alive()]


class Answers:
    """Every message the window's engine client hands on, in the GUI thread, in order; and what each
    drawn Prediction object was an answer to (request, run index, final)."""

    def __init__(self, window, timeline: list | None = None):
        self.log: list[tuple] = []
        self.timeline = timeline
        self.about: list[tuple[object, tuple]] = []  # (prediction object, (kind, request, index, final))
        window.controller.client.received.connect(self._received)

    def _received(self, kind, args):
        self.log.append((kind, *args))
        if kind in ("preview", "checked", "predicted") and self.timeline is not None:
            self.timeline.append((kind, args[0]))
        if kind == "preview":
            request, index, prediction, final = args
            self.about.append((prediction, ("preview", request, index, final)))
        elif kind == "predicted":
            request, index, prediction, _ = args
            self.about.append((prediction, ("predicted", request, index, True)))

    def of(self, prediction):
        return next(what for p, what in self.about if p is prediction)


class Threads:
    """Which threads build torch objects (runs, schedule probes) and run torch's trial."""

    def __init__(self, monkeypatch):
        self.names: list[str] = []
        names = self.names
        trainer_init, trial = run_module.RunTrainer.__init__, trial_module.trial_experiment

        def init(self, *args, **kwargs):
            names.append(threading.current_thread().name)
            trainer_init(self, *args, **kwargs)

        def trial_experiment(*args, **kwargs):
            names.append(threading.current_thread().name)
            return trial(*args, **kwargs)

        monkeypatch.setattr(run_module.RunTrainer, "__init__", init)
        monkeypatch.setattr(trial_module, "trial_experiment", trial_experiment)


# -- typing never waits for torch -----------------------------------------------------------------------------
def test_typing_into_a_heavy_experiment_never_blocks_the_event_loop(qtbot, make_window, monkeypatch):
    window = make_window(small())
    raw = heavy_raw()
    window.load_raw(raw, None, "heavy")
    settle(qtbot, window, LONG)
    assert window.error is None and window.experiment is not None and window.start_action.isEnabled()
    assert len(window.predictions) == 4 and all(p is not None and p.results.step.size for p in window.predictions)
    threads = Threads(monkeypatch)
    timeline: list[tuple] = []
    answers = Answers(window, timeline)
    check = window.validator.check

    def checked(raw, **kwargs):
        timeline.append(("validate", None))
        result = check(raw, **kwargs)
        timeline.append(("returned", window.validator.request))
        return result

    monkeypatch.setattr(window.validator, "check", checked)
    probe = QTimer(window, interval=10)
    probe.timeout.connect(lambda: timeline.append(("tick", None)))
    values = ["0.011", "0.012", "0.0125", "0.013", "0.014", "0.015", "0.016", "0.017"]
    typing = QTimer(window, interval=40)

    def type_one():
        if not values:
            typing.stop()
            return
        lr_editor(window).setText(values.pop(0))
        window.validate_timer.stop()
        window.validate()  # what the debounce timer does, here after every edit: each edit is a request

    typing.timeout.connect(type_one)
    probe.start()
    typing.start()
    qtbot.waitUntil(lambda: not values and not typing.isActive(), timeout=LONG)
    last = window.validator.request
    settle(qtbot, window, LONG)
    probe.stop()
    assert window.validator.request == last and window.error is None

    # each validate() returned before any answer for its request came (the work is elsewhere)
    requests = [r for kind, r in timeline if kind == "returned"]
    assert len(requests) == 8 and requests == sorted(requests)
    for request in requests:
        returned = timeline.index(("returned", request))
        assert ("checked", request) not in timeline[:returned]
        assert ("preview", request) not in timeline[:returned]
    # the newest request was answered, and the event loop kept turning while the engine worked on it
    answered = [i for i, event in enumerate(timeline) if event == ("preview", last)]
    assert answered
    returned = timeline.index(("returned", last))
    ticks_meanwhile = sum(1 for kind, _ in timeline[returned:answered[-1]] if kind == "tick")
    assert ticks_meanwhile >= 10
    # no torch object was built and no trial step run in the GUI thread
    assert threads.names and "MainThread" not in threads.names
    assert threading.main_thread().name == "MainThread"
    # what is drawn is the final form's schedule
    experiment = parse_experiment(window.setup.value())
    assert experiment.runs[0].optimizer.options["lr"] == 0.017
    for index, drawn in enumerate(window.plots.predictions):
        assert answers.of(drawn)[1] == last
        expected = predict_schedule(experiment, index, PREVIEW_STEPS)
        assert drawn.results.step_lr.tobytes() == expected.results.step_lr.tobytes()


def test_typing_leaves_the_event_loop_free_between_keystrokes(qtbot, make_window):
    """Edits 50 ms apart (each checked at once, as the debounce timer does) and a 10 ms probe: with
    nothing holding the loop for long, about five probe ticks fall between two edits."""
    window = make_window(small())
    window.load_raw(heavy_raw(), None, "heavy")
    settle(qtbot, window, LONG)
    assert len(window.predictions) == 4 and window.error is None
    events: list[str] = []
    probe = QTimer(window, interval=10)
    probe.timeout.connect(lambda: events.append("tick"))
    values = [f"0.0{n}" for n in range(11, 23)]
    typing = QTimer(window, interval=50)

    def type_one():
        if not values:
            typing.stop()
            return
        lr_editor(window).setText(values.pop(0))
        window.validate_timer.stop()
        window.validate()
        events.append("edit")

    typing.timeout.connect(type_one)
    probe.start()
    typing.start()
    qtbot.waitUntil(lambda: not values and not typing.isActive(), timeout=LONG)
    probe.stop()
    first, last = events.index("edit"), len(events) - 1 - events[::-1].index("edit")
    edits = events.count("edit")
    ticks = events[first:last].count("tick")
    assert ticks >= 3 * (edits - 1), f"{ticks} probe ticks during {edits} edits"
    settle(qtbot, window, LONG)


# -- a stale preview is never drawn over a newer one ----------------------------------------------------------
def test_a_stale_preview_is_never_drawn_over_a_newer_one(qtbot, make_window, monkeypatch):
    window = make_window(small())
    answers = Answers(window)
    drawn: list[list] = []
    set_predictions = window.plots.set_predictions

    def record(predictions):
        drawn.append(list(predictions))
        return set_predictions(predictions)

    monkeypatch.setattr(window.plots, "set_predictions", record)
    window.load_raw(heavy_raw(epochs=1000, runs=3), None, "heavy")
    # quick edits, some back to values seen before (answered from the engine's cache at once)
    for value in ["0.02", "0.03", "0.02", "0.04", "0.03", "0.05", "0.02"]:
        lr_editor(window).setText(value)
        window.validate_timer.stop()
        window.validate()
        if value == "0.03":
            QApplication.processEvents()  # let some answers through between edits
    final = window.validator.request
    settle(qtbot, window, LONG)
    # every drawn curve belongs to one request; requests never go back
    sequence = []
    for predictions in drawn:
        requests = {answers.of(p)[1] for p in predictions if p is not None}
        assert len(requests) <= 1, requests  # no stale curve beside a newer one
        if requests:
            sequence.append(requests.pop())
    assert sequence and sequence == sorted(sequence), sequence
    assert sequence[-1] == final
    # and the last drawing is the final form's schedule, every run's final preview
    experiment = parse_experiment(window.setup.value())
    assert experiment.runs[0].optimizer.options["lr"] == 0.02
    last = drawn[-1]
    assert len(last) == 3 and last == window.plots.predictions
    for index, prediction in enumerate(last):
        kind, request, got_index, final_answer = answers.of(prediction)
        assert (kind, request, got_index, final_answer) == ("preview", final, index, True)
        assert prediction.results.step_lr.tobytes() == \
            predict_schedule(experiment, index, PREVIEW_STEPS).results.step_lr.tobytes()
    # an answer to an older request that comes late (a partial or a final one) is not drawn
    old = predict_schedule(parse_experiment(heavy_raw(epochs=10, runs=1)), 0)
    draws = len(drawn)
    for is_final in (False, True):
        window.controller.client.received.emit("preview", (final - 1, 0, old, is_final))
    assert len(drawn) == draws and window.plots.predictions[0] is last[0]


# -- predict from here ---------------------------------------------------------------------------------------
SCHEDULERS = {
    "StepLR": ({"type": "StepLR", "step_size": 5, "gamma": 0.5}, "kept"),
    "CosineAnnealingLR": ({"type": "CosineAnnealingLR", "T_max": 10}, "dropped at epoch 10 (T_max)"),
    "LambdaLR": ({"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"},
                 "overwritten at the next scheduler step (epoch 3)"),
    "OneCycleLR": ({"type": "OneCycleLR", "max_lr": 0.5, "interval": "step"}, "overwritten at the next step"),
    "ReduceLROnPlateau": ({"type": "ReduceLROnPlateau", "patience": 1, "monitor": "train_loss", "min_lr": 0.0001},
                          PLATEAU_EFFECT),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_predict_from_here_equals_what_the_run_then_does(qtbot, make_window, name):
    scheduler, words = SCHEDULERS[name]
    window = make_window(make_raw([{"optimizer": SGD, "scheduler": scheduler}], epochs=16))
    step_epoch(qtbot, window)
    step_epoch(qtbot, window)
    spe = window.controller.snapshot.steps_per_epoch
    at = window.controller.snapshot.position
    assert at == 2 * spe and window.controller.state == SessionState.PAUSED
    window.live.refresh_state()
    table = window.state.table
    item = table.item(0, window.state.columns.index("lr"))
    assert item.flags() & item.flags().ItemIsEditable
    item.setText("0.03")  # a person typing into the Live state's lr cell
    qtbot.waitUntil(lambda: window.controller.snapshot.pending_commands == 1, timeout=LONG)
    step_epoch(qtbot, window)
    position = window.controller.snapshot.position
    assert position == at + spe
    assert window.controller.snapshot.runs[0].recorded_edits == ({"step": at, "group": 0, "lr": 0.03},)
    # the faint curve now continues from the run's state, edit included, and the note says what became of it
    qtbot.waitUntil(lambda: window.plots.predictions[0] is not None
                    and window.plots.predictions[0].results.step.size > 0
                    and window.plots.predictions[0].results.step[0] == position, timeout=LONG)
    qtbot.waitUntil(lambda: f"step {at}" in window.state.effect.text()
                    and window.state.effect.text().endswith(f": {words}."), timeout=LONG)
    assert window.state.effect.text().startswith("The lr edit of group 0")
    prediction = window.plots.predictions[0]
    assert window.controller.state == SessionState.PAUSED
    trigger(window, "pause")  # Resume
    wait_state(qtbot, window, SessionState.FINISHED)
    results = window.controller.series[0].results()
    assert results.step_lr[at, 0] == 0.03
    assert prediction.complete and len(prediction.results.step) == len(results.step) - position
    if name == "ReduceLROnPlateau":
        assert "only training shows" in prediction.note
        return
    assert prediction.results.step.tolist() == list(range(position, len(results.step)))
    assert prediction.results.step_lr.tobytes() == results.step_lr[position:].tobytes()


# -- the engine in its own process --------------------------------------------------------------------------
# What the engine process imports before it is ready: a forkserver (a fresh interpreter, never
# the Qt process) imports it once, and forks each engine process from there.
ENGINE_MODULES = ["torch", "torch._dynamo", "engine.worker", "engine.torch_setup", "engine.session", "engine.parse",
                  "engine.preview", "engine.trial", "engine.checkpoint", "engine.results", "engine.snapshot"]


@pytest.fixture(scope="module", autouse=True)
def _no_forkserver_left():
    """The forkserver (torch imported) ends with this module's tests, not with the test process."""
    yield
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # (what multiprocessing's own tests call)
    if stop is not None:
        stop()


@pytest.fixture
def process_window(qtbot, tmp_path, monkeypatch):
    """A window whose engine is a spawned process (as the app runs it). ``make(raw, forked=True)``:
    every engine process of the test (the first and each restart) is forked from a forkserver that
    has imported torch and the engine once, instead of a fresh interpreter importing them again:
    still a process of its own (its pid, a SIGKILL, its exit code, the same pipe and messages), for
    the tests of crashes and of closing; test_the_gui_never_touches_torch_objects_of_a_running_session
    keeps the spawned one."""
    from gui.main_window import MainWindow

    windows = []

    def make(raw: dict, forked: bool = False):
        if forked:
            forkserver = multiprocessing.get_context("forkserver")
            forkserver.set_forkserver_preload(ENGINE_MODULES)
            get_context = multiprocessing.get_context
            monkeypatch.setattr(multiprocessing, "get_context",
                                lambda method=None: forkserver if method == "spawn" else get_context(method))
        settings = QSettings(str(tmp_path / f"process{len(windows)}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, engine=EngineClient(mode="process"))
        windows.append(window)
        assert window.controller.client.mode == "process"
        qtbot.waitUntil(lambda: window.controller.ready, timeout=LONG)
        window.load_raw(raw, None, "test")
        settle(qtbot, window, LONG)
        return window

    yield make
    for window in windows:
        window.dirty = False
        process = window.controller.client.process
        window.controller.shutdown(5000)
        window.close()
        window.deleteLater()
        assert process is None or not process.is_alive()


def test_the_gui_never_touches_torch_objects_of_a_running_session(qtbot, process_window):
    raw = small(epochs=6)
    window = process_window(raw)
    client = window.controller.client
    assert client.worker is None and client.thread is None  # no engine in this process
    assert client.process.pid != os.getpid() and client.info["pid"] == client.process.pid
    trigger(window, "start")
    wait_state(qtbot, window, SessionState.FINISHED)
    qtbot.waitUntil(lambda: window.controller.snapshot is not None and window.controller.snapshot.finished,
                    timeout=LONG)
    snapshot = window.controller.snapshot
    assert snapshot.position == snapshot.total_steps
    for series, expected in zip(window.controller.series, headless(raw)):
        assert series.n_steps == snapshot.total_steps
        assert same_results(series.results(), expected)  # the same session code, in another process
    assert client.worker is None and client.process.is_alive()
    assert not engine_threads()


def guard(obj, touched: list[str]) -> None:
    """Make ``obj`` note every attribute read from the GUI thread (a test double of the live object)."""
    cls = type(obj)

    def __getattribute__(self, name):  # noqa: N807 - the hook itself
        if threading.current_thread() is threading.main_thread():
            touched.append(f"{cls.__name__}.{name}")
        return super(guarded, self).__getattribute__(name)

    guarded = type(f"Guarded{cls.__name__}", (cls,), {"__getattribute__": __getattribute__})
    obj.__class__ = guarded


def test_in_thread_mode_the_gui_thread_never_reads_the_sessions_torch_objects(qtbot, make_window):
    """The engine in a thread of this process: its session, runs, optimizers, schedulers, models and
    recorders note any read from the GUI thread, while the window trains, shows the Live state, takes
    an edit, predicts from here and finishes."""
    raw = make_raw([{"optimizer": SGD, "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5}},
                    {"optimizer": {"type": "Adam", "lr": 0.01},
                     "scheduler": {"type": "ReduceLROnPlateau", "patience": 1, "monitor": "train_loss"}}],
                   epochs=12)
    window = make_window(raw)
    step_epoch(qtbot, window)
    session = engine_session(window)  # read here, before the guards (the engine is paused: it waits on the pipe)
    touched: list[str] = []
    for run in session.runs:
        for obj in (run.optimizer, run.scheduler, run.model, run.recorder, run):
            if obj is not None:
                guard(obj, touched)
    guard(session, touched)
    window.live.refresh_state()
    window.setup.select_run(1)
    window.live.refresh_state()
    window.setup.select_run(0)
    window.live.refresh_state()
    table = window.state.table
    table.item(0, window.state.columns.index("lr")).setText("0.02")
    qtbot.waitUntil(lambda: window.controller.snapshot.pending_commands == 1, timeout=LONG)
    step_epoch(qtbot, window)
    qtbot.waitUntil(lambda: "The lr edit of group 0" in window.state.effect.text(), timeout=LONG)
    trigger(window, "pause")  # Resume
    wait_state(qtbot, window, SessionState.FINISHED)
    window.live.refresh()
    settle(qtbot, window, LONG)
    assert touched == []
    assert window.controller.snapshot.finished
    assert window.controller.snapshot.runs[0].recorded_edits[0]["lr"] == 0.02


def test_a_crashed_engine_is_shown_the_window_survives_and_start_trains_again(qtbot, process_window):
    window = process_window(make_raw([{"optimizer": SGD}], epochs=300, samples=64, val_fraction=0.0), forked=True)
    window.speed.setCurrentIndex(2)  # 10 epochs/s: a long run
    trigger(window, "start")
    qtbot.waitUntil(lambda: window.controller.snapshot is not None and window.controller.snapshot.position > 0,
                    timeout=LONG)
    old = window.controller.client.process
    os.kill(old.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: window.last_message is not None and window.last_message[0] == "The engine stopped",
                    timeout=LONG)
    assert "SIGKILL" in window.last_message[1]
    assert "The engine stopped" in window.status_label.text()
    assert window.controller.state == SessionState.STOPPED and not window.controller.busy
    assert window.controller.series[0].n_steps > 0  # the results so far are kept
    # the window still works: the form can be edited and checked
    lr_editor(window).setText("0.05")
    window.validate()
    assert window.error is None
    window.speed.setCurrentIndex(0)
    trigger(window, "start")
    wait_state(qtbot, window, SessionState.FINISHED)
    new = window.controller.client.process
    assert new is not None and new.pid != old.pid and new.is_alive() and not old.is_alive()
    snapshot = window.controller.snapshot
    assert snapshot.finished and snapshot.position == snapshot.total_steps
    assert window.controller.series[0].n_steps == snapshot.total_steps
    settle(qtbot, window, LONG)  # and the new engine answers checks too


def test_after_a_crash_and_reset_start_becomes_possible_again(qtbot, process_window):
    window = process_window(make_raw([{"optimizer": SGD}], epochs=300, samples=64, val_fraction=0.0), forked=True)
    window.speed.setCurrentIndex(2)
    trigger(window, "start")
    qtbot.waitUntil(lambda: window.controller.snapshot is not None and window.controller.snapshot.position > 0,
                    timeout=LONG)
    os.kill(window.controller.client.process.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: window.controller.state == SessionState.STOPPED, timeout=LONG)
    trigger(window, "reset")
    assert window.controller.state == SessionState.IDLE and window.error is None
    # either Start is possible now, or a new engine is on its way (and Start follows when it is ready)
    assert window.start_action.isEnabled() or window.controller.client.alive, window.start_action.toolTip()
    qtbot.waitUntil(lambda: window.start_action.isEnabled(), timeout=LONG)


def test_the_results_kept_after_a_crash_can_be_exported(qtbot, process_window, tmp_path):
    window = process_window(make_raw([{"optimizer": SGD}], epochs=300, samples=64, val_fraction=0.0), forked=True)
    window.speed.setCurrentIndex(2)
    trigger(window, "start")
    qtbot.waitUntil(lambda: window.controller.snapshot is not None and window.controller.snapshot.position > 0,
                    timeout=LONG)
    os.kill(window.controller.client.process.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: window.controller.state == SessionState.STOPPED, timeout=LONG)
    assert window.controller.has_session and window.export_csv_action.isEnabled()
    before = window.last_message
    window.files.export_results(str(tmp_path / "csv"))
    window.validate()  # a request after the export: once it is answered, so is the export
    settle(qtbot, window, LONG)
    written = (tmp_path / "csv" / "epochs.csv").is_file()
    said = window.last_message is not before and "xport" in (window.last_message or ("", ""))[0]
    assert written or said


# -- nothing left behind ---------------------------------------------------------------------------------
def test_closing_while_a_heavy_check_runs_leaves_no_engine_thread(qtbot, make_window):
    window = make_window(small())
    answers = Answers(window)
    assert len(engine_threads()) == 1
    window.load_raw(heavy_raw(epochs=4000), None, "heavy")
    request = window.validator.request
    qtbot.waitUntil(lambda: any(m[0] == "checked" and m[1] == request for m in answers.log), timeout=LONG)
    assert not any(m[0] == "preview" and m[1] == request and m[4] and m[2] == 3 for m in answers.log)  # still working
    client = window.controller.client
    window.dirty = False
    window.close()
    assert engine_threads() == []
    assert client.thread is None and client.conn is None and client.worker is None
    assert not window.controller.busy


def test_closing_while_a_heavy_check_runs_ends_the_engine_process(qtbot, process_window):
    window = process_window(small(), forked=True)
    answers = Answers(window)
    window.load_raw(heavy_raw(epochs=4000), None, "heavy")
    request = window.validator.request
    qtbot.waitUntil(lambda: any(m[0] == "checked" and m[1] == request for m in answers.log), timeout=LONG)
    process = window.controller.client.process
    window.dirty = False
    window.close()
    assert not process.is_alive() and process.exitcode is not None
    assert window.controller.client.process is None


def test_start_stop_start_quickly_ends_consistent(qtbot, make_window):
    raw = small(epochs=30)
    window = make_window(raw)
    for _ in range(3):  # as fast as the calls go, no waiting in between
        assert window.start()
        window.controller.stop()
    assert window.start()
    wait_state(qtbot, window, SessionState.FINISHED)
    qtbot.waitUntil(lambda: engine_session(window) is not None and engine_session(window).finished, timeout=LONG)
    c = window.controller
    assert c.state == SessionState.FINISHED and not c.busy and not c.starting
    assert c.snapshot.position == c.snapshot.total_steps
    for series, expected in zip(c.series, headless(raw)):
        assert series.n_steps == c.snapshot.total_steps  # one session's rows, none of the stopped ones
        assert same_results(series.results(), expected)
    assert len(engine_threads()) == 1
    # and by the actions, each as soon as it is enabled
    for _ in range(2):
        trigger(window, "start")
        qtbot.waitUntil(lambda: not c.starting, timeout=LONG)  # the engine has answered the Start
        if c.state == SessionState.RUNNING:
            trigger(window, "stop")
        wait_state(qtbot, window, SessionState.STOPPED, SessionState.FINISHED)
    trigger(window, "start")
    wait_state(qtbot, window, SessionState.FINISHED)
    qtbot.waitUntil(lambda: c.snapshot.finished, timeout=LONG)
    for series, expected in zip(c.series, headless(raw)):
        assert same_results(series.results(), expected)


def test_opening_an_example_right_after_start_leaves_no_session_behind(qtbot, make_window):
    window = make_window(small(epochs=30))
    c = window.controller
    trigger(window, "start")
    # the engine has not answered yet
    assert c.state == SessionState.IDLE and window.presets_menu.menuAction().isEnabled()
    window.examples.open_requested.emit("steplr")  # a person clicks an example at once
    assert c.snapshot is None and c.series == []
    # everything the engine had to say about the dropped Start has been said and read
    qtbot.waitUntil(lambda: c.client.worker.state == SessionState.IDLE and c.client.worker.session is None
                    and not c.client.conn.poll() and c.state == SessionState.IDLE, timeout=LONG)
    settle(qtbot, window, LONG)
    assert window.setup.runs[0]["name"] != "run 0"  # the example is open
    assert c.snapshot is None and c.series == [] and not c.has_session
    assert not window.export_csv_action.isEnabled()


# -- slow steps, and sessions that must not outlive their Start (issue 8, items 16 and 17) ---------------------
def slow_step_raw(max_iter: int = 500) -> dict:
    """Full-batch LBFGS on 40,000 samples: one optimizer step takes seconds (hundreds of closure calls)."""
    return {"seed": 0, "epochs": 2, "model": "bottleneck",
            "data": {"samples": 50_000, "batch_size": 40_000, "val_fraction": 0.2},
            "runs": [{"name": "lbfgs", "optimizer": {"type": "LBFGS", "lr": 1, "max_iter": max_iter,
                                                     "tolerance_grad": 0, "tolerance_change": 0}}]}


def test_stop_during_a_slow_step_says_it_waits_for_the_step_then_stops(qtbot, make_window):
    window = make_window(slow_step_raw(max_iter=300))
    assert window.start()
    wait_state(qtbot, window, SessionState.RUNNING)
    assert window.controller.snapshot is None or window.controller.snapshot.position == 0  # the first step runs
    trigger(window, "stop")
    qtbot.waitUntil(lambda: "when the step in progress ends" in window.status.label.text(), timeout=LONG)
    assert window.controller.state == SessionState.RUNNING  # the request waits for the step: nothing cut in half
    wait_state(qtbot, window, SessionState.STOPPED)
    assert window.status.label.text() == "Stopped."
    assert window.controller.snapshot.position == 1  # that step, whole, and no other


def test_closing_during_a_slow_step_hides_at_once_and_ends_the_engine_without_waiting_for_it(qtbot,
                                                                                               process_window):
    window = process_window(slow_step_raw(), forked=True)
    process = window.controller.client.process
    assert window.start()
    wait_state(qtbot, window, SessionState.RUNNING)
    hidden_during_close = []
    window.controller.client.shutdown = (lambda shutdown: lambda *a: (hidden_during_close.append(
        window.isVisible()), shutdown(*a))[1])(window.controller.client.shutdown)
    window.dirty = False
    window.close()
    assert hidden_during_close == [False]  # off the screen before the engine is asked to end
    assert not process.is_alive()
    # The step (seconds) was not waited for: the engine, deaf until the step ends, was ended.
    assert process.exitcode == -signal.SIGTERM


def test_every_start_frees_the_session_before_it(qtbot, make_window):
    import gc
    import weakref

    window = make_window(small(epochs=1000))
    window.speed.setCurrentIndex(2)  # 10 epochs/s: never trained out here, so Stop and Reset always apply
    c = window.controller
    sessions = []
    for i in range(6):
        assert window.start()
        qtbot.waitUntil(lambda: engine_session(window) is not None and engine_session(window) not in
                        [s() for s in sessions], timeout=LONG)
        sessions.append(weakref.ref(engine_session(window)))
        wait_state(qtbot, window, SessionState.RUNNING)
        if i % 3 == 1:
            trigger(window, "stop")
            wait_state(qtbot, window, SessionState.STOPPED, SessionState.FINISHED)
        elif i % 3 == 2:
            trigger(window, "reset")
            qtbot.waitUntil(lambda: c.client.worker.session is None, timeout=LONG)
    wait_state(qtbot, window, SessionState.FINISHED, SessionState.STOPPED, SessionState.IDLE)
    gc.collect()
    alive = [s for s in sessions if s() is not None]
    assert len(alive) <= 1 and all(s() is engine_session(window) for s in alive)
    assert sum(type(o) is TrainingSession for o in gc.get_objects()) <= 1


def test_while_training_lr_and_loss_plots_take_turns_and_both_end_complete(qtbot, make_window):
    window = make_window(small(epochs=40))
    window.x_mode.setCurrentIndex(window.x_mode.findData("step"))
    parts = []
    set_results = window.plots.set_results
    window.plots.set_results = lambda results, part=None: (parts.append(part), set_results(results, part))
    assert window.start()
    wait_state(qtbot, window, SessionState.FINISHED)
    during = [p for p in parts if p is not None]
    assert "lr" in during and "loss" in during  # while training: one half of the plots a tick
    assert all(a != b or a is None for a, b in zip(parts, parts[1:]) if a and b)  # halves alternate
    last = window.controller.snapshot.position - 1
    for items in window.plots.runs:  # and at the end everything shows the last step
        assert items.train.xData[-1] == last and items.lr[0].xData[-1] >= last


def test_the_objects_of_startup_are_left_out_of_later_collections(make_window, monkeypatch):
    """Once the first engine is ready, what startup made is frozen (gc.freeze): a full collection on
    the GUI thread walks the objects made since, not the ~220,000 torch's registry and Qt left."""
    import gc

    import gui.training

    monkeypatch.setattr(gui.training, "_settled", False)
    gc.unfreeze()  # (the suite froze its own startup: this test's window is the first)
    window = make_window()
    assert window.controller.ready and gui.training._settled
    assert gc.get_freeze_count() > 100_000  # torch's registry, Qt's wrappers, the window
    assert len(gc.get_objects()) < gc.get_freeze_count() / 10  # what a collection still walks
