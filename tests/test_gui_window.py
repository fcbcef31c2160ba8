"""The window end to end (offscreen): validation at the field, training live, edits mid-run, files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from conftest import engine_session, settle, step_epoch
from engine.files import loads_experiment
from engine.session import TrainingSession
from engine.status import SessionState

ROOT = Path(__file__).resolve().parent.parent


def small(epochs=8, **run):
    table = {"name": "a", "optimizer": {"type": "Adam", "lr": 0.05},
             "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5}}
    table.update(run)
    return {"epochs": epochs, "data": {"samples": 256, "batch_size": 32}, "runs": [table]}


def stairs_at(curve, xs) -> list[float]:
    """The value a stepped curve (stepMode "right") shows at each x."""
    x, y = curve.xData, curve.yData
    return [float(y[np.searchsorted(x, v, side="right") - 1]) for v in xs]


def position(window) -> int:
    """The engine's published position (-1 before it has published any)."""
    return window.controller.snapshot.position if window.controller.snapshot is not None else -1


def wait_state(qtbot, window, *states, timeout=30_000):
    qtbot.waitUntil(lambda: window.controller.state in states, timeout=timeout)


def test_invalid_field_is_marked_and_disables_start(qtbot, make_window):
    window = make_window(small())
    assert window.start_action.isEnabled()
    window.setup.editor.setCurrentIndex(2)
    gamma = window.setup.editor.scheduler.form("StepLR").editors["gamma"]
    gamma.edit.setText("half")
    window.validate()
    assert not window.start_action.isEnabled()
    assert 'runs[0].scheduler.gamma: expected a number > 0, got "half"' in window.start_action.toolTip()
    assert gamma.error == 'expected a number > 0, got "half"'
    assert "Cannot start" in window.status_label.text()
    gamma.edit.setText("0.5")
    window.validate()
    assert window.start_action.isEnabled() and gamma.error is None


def test_a_cross_field_error_is_shown_at_its_field(qtbot, make_window):
    window = make_window(small(edits=[{"epoch": 2, "group": 3, "lr": 0.01}]))
    assert not window.start_action.isEnabled()
    assert "runs[0].edits[0].group" in window.start_action.toolTip()
    assert "group index" in window.setup.editor.edits.text.toolTip()


def test_preview_is_drawn_before_training(qtbot, make_window):
    window = make_window(small())
    (prediction,) = window.plots.predictions
    assert prediction.results.epoch_lr[:, 0].tolist() == [0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125,
                                                         0.00625, 0.00625]
    curve = window.plots.runs[0].predicted[0]
    # a staircase (the points where it changes): each epoch's lr holds until the next change
    assert stairs_at(curve, range(8)) == [0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.00625, 0.00625]
    assert curve.xData[-1] == 8 and window.plots.runs[0].lr[0].xData is None


def test_the_preview_follows_the_form(qtbot, make_window):
    window = make_window(small())
    window.setup.editor.scheduler.form("StepLR").editors["gamma"].edit.setText("0.1")
    window.validate()
    settle(qtbot, window)
    assert window.plots.predictions[0].results.epoch_lr[2, 0] == pytest.approx(0.005)


def test_a_run_trains_to_the_end(qtbot, make_window):
    window = make_window(small())
    window.start()
    wait_state(qtbot, window, SessionState.FINISHED)
    session = engine_session(window)
    results = window.controller.series[0].results()
    assert len(results.epoch) == 8 and len(results.step) == session.total_steps
    assert stairs_at(window.plots.runs[0].lr[0], range(8)) == results.epoch_lr[:, 0].tolist()
    assert window.progress.value() == window.progress.maximum()
    assert "epoch 8/8" in window.counts.text()
    assert not window.controller.busy


def test_pause_resume_and_step(qtbot, make_window):
    window = make_window(small(epochs=400))
    window.speed.setCurrentIndex(2)  # 10 epochs/s: slow enough to catch
    window.start()
    qtbot.waitUntil(lambda: position(window) > 0, timeout=10_000)
    window.live.pause_resume()
    wait_state(qtbot, window, SessionState.PAUSED)
    assert window.pause_action.text() == "Resume"
    paused_at = window.controller.snapshot.position
    # the engine itself is paused where the window shows it (it has stopped stepping, not only said so)
    assert engine_session(window).position == paused_at
    assert window.controller.client.worker.state == SessionState.PAUSED
    window.speed.setCurrentIndex(0)
    step_epoch(qtbot, window)
    session = engine_session(window)
    assert session.position > paused_at and session.position % session.steps_per_epoch == 0
    window.live.pause_resume()
    wait_state(qtbot, window, SessionState.FINISHED, timeout=60_000)
    assert window.controller.snapshot.finished


def test_stop_and_reset(qtbot, make_window):
    window = make_window(small(epochs=2000))
    window.start()
    qtbot.waitUntil(lambda: position(window) > 30, timeout=10_000)
    window.live.stop()
    wait_state(qtbot, window, SessionState.STOPPED)
    assert not window.controller.busy and window.setup.isEnabled()
    assert window.export_csv_action.isEnabled()
    window.live.reset()
    assert window.controller.state == SessionState.IDLE and window.controller.snapshot is None


def paused_after_one_epoch(qtbot, window):
    step_epoch(qtbot, window)
    assert window.controller.snapshot.position == window.controller.snapshot.steps_per_epoch


def test_mid_run_edit_reaches_the_engine_the_saved_experiment_and_the_results(qtbot, make_window, tmp_path):
    window = make_window(small(epochs=30))
    paused_after_one_epoch(qtbot, window)
    window.live.refresh_state()
    table = window.state.table
    lr_column = window.state.columns.index("lr")
    item = table.item(0, lr_column)
    assert item.flags() & item.flags().ItemIsEditable
    item.setText("0.0123")  # as a person typing into the cell
    position = window.controller.snapshot.position
    window.live.pause_resume()
    wait_state(qtbot, window, SessionState.FINISHED)
    run = engine_session(window).runs[0]
    assert [e.to_dict() for e in run.recorded_edits] == [{"step": position, "group": 0, "lr": 0.0123}]
    results = window.controller.series[0].results()
    assert results.step_lr[position, 0] == 0.0123
    assert any(e.kind == "edit" for e in results.events)
    assert window.setup.runs[0]["edits"] == [{"step": position, "group": 0, "lr": 0.0123}]
    assert window.dirty
    path = tmp_path / "edited.toml"
    window.path = path
    assert window.files.save()
    saved = tomllib.loads(path.read_text())
    assert saved["runs"][0]["edits"] == [{"step": position, "group": 0, "lr": 0.0123}]
    replay = TrainingSession(loads_experiment(path.read_text()))
    replay.run()
    (again,) = replay.snapshot()
    assert again.step_loss.tobytes() == engine_session(window).snapshot()[0].step_loss.tobytes()


def test_an_invalid_edit_is_refused_with_a_message(qtbot, make_window):
    window = make_window(small(epochs=200))
    paused_after_one_epoch(qtbot, window)
    window.live.edit_lr(0, 0, -1.0, False)
    assert window.last_message[0] == "This lr cannot be set"
    assert "expected a number >= 0" in window.last_message[1]


def test_add_param_group_mid_run(qtbot, make_window):
    window = make_window({**small(epochs=200, groups=[{"module": "layer", "lr": 0.05}]), "model": "bottleneck"})
    paused_after_one_epoch(qtbot, window)
    window.live.refresh_state()
    state = window.state
    assert state.add_row.isVisibleTo(state) and window.add_group_action.isEnabled()
    assert [state.add_module.itemText(i) for i in range(state.add_module.count())] == ["layer2"]
    state.add_lr.setText("0.02")
    state.add_button.click()  # one inline row: no dialog
    window.live.pause_resume()
    wait_state(qtbot, window, SessionState.FINISHED, timeout=60_000)
    run = engine_session(window).runs[0]
    assert len(run.optimizer.param_groups) == 2 and run.status == "finished"
    assert window.setup.runs[0]["edits"][0]["add_group"] == {"module": "layer2", "lr": 0.02}
    window.live.refresh_state()
    assert not state.add_row.isVisibleTo(state) and not window.add_group_action.isEnabled()  # nothing left


def test_closing_during_a_run_stops_the_engine_within_a_second(qtbot, make_window):
    window = make_window(small(epochs=100_000))
    window.start()
    qtbot.waitUntil(lambda: position(window) > 50, timeout=10_000)
    window.dirty = False
    thread, session = window.controller.client.thread, engine_session(window)
    window.close()
    # closeEvent waits one second at most for the engine (gui/main_window.py): ended within it
    assert not thread.is_alive()
    assert session.position < session.total_steps  # stopped mid-run, not trained out
    assert not window.controller.busy


def test_an_engine_error_is_shown_and_the_window_stays_usable(qtbot, make_window):
    window = make_window({"epochs": 20, "data": {"samples": 256}, "runs": [
        {"name": "ok", "optimizer": {"type": "Adam", "lr": 0.1}},
        {"name": "bad", "optimizer": {"type": "Adam", "lr": 0.1}, "scheduler": {"type": "OneCycleLR", "max_lr": 0.1}}]})
    window.start(run=False)
    wait_state(qtbot, window, SessionState.PAUSED)
    engine_session(window).runs[1].scheduler.total_steps = 9  # torch raises past step 9
    window.live.pause_resume()
    wait_state(qtbot, window, SessionState.FINISHED)
    window.live.refresh()
    assert window.last_message[0] == "A run failed inside torch"
    assert "Tried to step" in window.last_message[1]
    assert [r.status for r in engine_session(window).runs] == ["finished", "failed"]
    window.start()  # still usable
    wait_state(qtbot, window, SessionState.FINISHED)


def test_load_and_save_training_state(qtbot, make_window, tmp_path):
    window = make_window(small(epochs=40))
    paused_after_one_epoch(qtbot, window)
    from engine.checkpoint import save_state

    save_state(engine_session(window), tmp_path / "s.pt")
    position = window.controller.snapshot.position
    window.live.reset()
    window.live.load_training_state(str(tmp_path / "s.pt"))
    wait_state(qtbot, window, SessionState.PAUSED)
    qtbot.waitUntil(lambda: window.controller.snapshot is not None)
    assert window.controller.state == SessionState.PAUSED and window.controller.snapshot.position == position
    window.live.refresh()
    assert window.controller.series[0].n_steps == position  # the history came back with the state
    window.live.pause_resume()
    wait_state(qtbot, window, SessionState.FINISHED)
    straight = TrainingSession(loads_experiment(_toml(small(epochs=40))))
    straight.run()
    assert engine_session(window).snapshot()[0].step_loss.tobytes() == straight.snapshot()[0].step_loss.tobytes()


def _toml(raw):
    import tomli_w

    return tomli_w.dumps(raw)


def test_compare_two_runs_shows_their_difference(qtbot, make_window):
    import tomllib as t

    raw = t.loads((ROOT / "resources/presets/manual-vs-steplr.toml").read_text())
    raw["epochs"] = 20
    window = make_window(raw)
    assert window.plots.compare == (0, 1)
    window.start()
    wait_state(qtbot, window, SessionState.FINISHED)
    window.live.refresh()
    text, kind = window.plots.verdict
    assert kind == "same" and "identical to the bit" in text
    badge = window.plot_area.badge
    assert badge.isVisibleTo(window.plot_area) and "identical to the bit" in badge.text()
    x, y = window.plots.diff_loss.xData, window.plots.diff_loss.yData
    assert len(x) == 20 and not np.any(y)


def test_files_open_save_and_recent(qtbot, make_window, tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(_toml(small()))
    window = make_window()
    assert window.files.open_file(path)
    assert window.windowTitle().startswith("exp.toml")
    assert str(path) in window.files.recent()
    window.setup.editor.optimizer.form("Adam").editors["lr"].edit.setText("0.02")
    assert window.dirty and window.windowTitle().startswith("*")
    assert window.files.save()
    assert tomllib.loads(path.read_text())["runs"][0]["optimizer"]["lr"] == 0.02
    bad = tmp_path / "bad.toml"
    bad.write_text("runs = [")
    assert not window.files.open_file(bad)
    assert window.last_message[0] == "Cannot open"


def test_export_plot_and_results(qtbot, make_window, tmp_path):
    window = make_window(small(epochs=3))
    window.start()
    wait_state(qtbot, window, SessionState.FINISHED)
    window.plot_controls.export(str(tmp_path / "plot.png"))
    window.plot_controls.export(str(tmp_path / "plot.svg"))
    assert (tmp_path / "plot.png").stat().st_size > 1000
    assert "<svg" in (tmp_path / "plot.svg").read_text()[:2000]
    window.files.export_results(str(tmp_path / "csv"))
    qtbot.waitUntil(lambda: window.status_label.text().startswith("Wrote epochs.csv"))  # the engine wrote them
    rows = (tmp_path / "csv" / "epochs.csv").read_text().splitlines()
    assert rows[0] == "run,epoch,group,lr,train_loss,val_loss" and len(rows) == 4



def test_reset_and_open_preset_while_training_are_clean(qtbot, make_window):
    window = make_window(small(epochs=5000))
    window.start()
    qtbot.waitUntil(lambda: position(window) > 10, timeout=10_000)
    assert not window.presets_menu.menuAction().isEnabled()  # opening would drop the training
    window.live.reset()
    qtbot.wait(100)  # the job's queued "finished" arrives after the reset: nothing may break
    assert window.controller.state == SessionState.IDLE and window.controller.snapshot is None
    assert window.presets_menu.menuAction().isEnabled()


def test_runs_can_be_picked_while_training_but_not_edited(qtbot, make_window):
    raw = small(epochs=200)
    raw["runs"].append({"name": "b", "optimizer": {"type": "SGD", "lr": 0.05}})
    window = make_window(raw)
    paused_after_one_epoch(qtbot, window)
    assert window.setup.run_list.isEnabled() and not window.setup.editor.isEnabled()
    window.setup.select_run(1)
    window.live.refresh_state()
    assert window.state.runs.currentText() == "b" and window.state.title.text().startswith("SGD.param_groups")
    window.live.edit_lr(1, 0, 0.02, False)
    window.live.stop()
    wait_state(qtbot, window, SessionState.STOPPED)
    assert window.last_message[0] == "Edits not applied"  # sent while paused, training stopped first


def test_edits_are_saved_while_training_and_never_twice(qtbot, make_window, tmp_path):
    window = make_window(small(epochs=400))
    paused_after_one_epoch(qtbot, window)
    window.live.edit_lr(0, 0, 0.0123, False)
    qtbot.waitUntil(lambda: window.dirty)  # the engine took it
    step_epoch(qtbot, window)
    window.path = tmp_path / "e.toml"
    assert window.files.save()  # saved while paused: the applied edit is in the file
    edits = tomllib.loads(window.path.read_text())["runs"][0]["edits"]
    assert edits == [{"step": window.controller.snapshot.steps_per_epoch, "group": 0, "lr": 0.0123}]
    from engine.checkpoint import save_state

    save_state(engine_session(window), tmp_path / "s.pt")
    window.live.load_training_state(str(tmp_path / "s.pt"))
    window.live.pause_resume()
    wait_state(qtbot, window, SessionState.FINISHED, timeout=60_000)
    assert window.setup.runs[0]["edits"] == edits  # once, though the state holds it too


def test_a_state_that_does_not_fit_changes_nothing(qtbot, make_window, tmp_path):
    other = make_window(small(epochs=40, name="other"))
    paused_after_one_epoch(qtbot, other)
    from engine.checkpoint import save_state

    save_state(engine_session(other), tmp_path / "other.pt")
    window = make_window(small(epochs=40))
    paused_after_one_epoch(qtbot, window)
    session, position = engine_session(window), window.controller.snapshot.position
    window.live.load_training_state(str(tmp_path / "other.pt"))
    qtbot.waitUntil(lambda: window.last_message is not None)
    print(window.last_message)
    assert window.last_message[0] == "Cannot load the training state"
    assert engine_session(window) is session and window.controller.state == SessionState.PAUSED
    window.live.pause_resume()
    wait_state(qtbot, window, SessionState.FINISHED, timeout=60_000)
    assert session.position > position


def test_what_torch_refuses_is_shown_before_start(qtbot, make_window):
    window = make_window({"epochs": 3, "runs": [{"name": "n", "optimizer": {"type": "SGD", "lr": 0.1,
                                                                           "nesterov": True}}]})
    assert not window.start_action.isEnabled()
    assert "runs[0].optimizer: torch refused it" in window.start_action.toolTip()
    assert "Nesterov" in window.start_action.toolTip()


def test_garbage_is_collected_in_the_gui_thread_only(qtbot, make_window):
    """Automatic collection could run in the training thread and destroy Qt objects there: the window
    turns it off (tests/conftest.py has it off already: it is turned on here, so that what the window
    does shows) and collects on a timer of the GUI thread."""
    import gc
    import threading

    collected = []

    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            collected.append(threading.current_thread())

    gc.collect()  # nothing left over for an automatic collection to find before the window turns it off
    gc.enable()
    try:
        window = make_window(small())
        assert not gc.isenabled()
    finally:
        gc.disable()
    assert window.collector.timer.isActive()
    for _ in range(2 * gc.get_threshold()[0]):  # past the threshold the window's timer checks
        Cycle()
    qtbot.waitUntil(lambda: len(collected) > 0, timeout=30_000)
    assert set(collected) == {threading.main_thread()}


# -- hostile files in the window (issue 8: items 6, 9 and 13) --------------------------------------------------
def test_a_file_with_a_400_digit_lr_opens_and_names_the_field(qtbot, make_window, tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text('epochs = 3\n[[runs]]\nname = "r"\noptimizer = { type = "SGD", lr = ' + "9" * 400 + " }\n")
    window = make_window(small())
    window.dirty = False
    window.files.open_file(path)
    settle(qtbot, window)
    assert window.error is not None and window.error.path == "runs[0].optimizer.lr"
    assert not window.start_action.isEnabled()


@pytest.mark.parametrize("what", ["fifo", "directory"])
def test_opening_something_that_is_not_a_regular_file_is_refused_at_once(qtbot, make_window, tmp_path, what):
    import os

    path = tmp_path / "thing.toml"
    os.mkfifo(path) if what == "fifo" else path.mkdir()
    window = make_window(small())
    window.dirty = False
    assert not window.files.open_file(path)  # returns: a FIFO with no writer does not block the window
    assert window.last_message is not None and str(path) in window.last_message[1]


def test_a_state_with_an_unknown_module_is_refused_and_the_window_goes_on(qtbot, make_window, tmp_path):
    import torch

    from engine.checkpoint import save_state

    window = make_window(small(epochs=40))
    paused_after_one_epoch(qtbot, window)
    save_state(engine_session(window), tmp_path / "s.pt")
    state = torch.load(tmp_path / "s.pt", weights_only=True)
    state["runs"][0]["modules"] = ["no_such_layer"]
    torch.save(state, tmp_path / "bad.pt")
    window.live.reset()
    window.live.load_training_state(str(tmp_path / "bad.pt"))
    qtbot.waitUntil(lambda: window.last_message is not None)
    assert window.last_message[0] == "Cannot load the training state"
    assert "does not fit" in window.last_message[1]
    assert window.controller.state == SessionState.IDLE and window.start()  # still usable
    wait_state(qtbot, window, SessionState.FINISHED, timeout=60_000)


def test_runs_find_lr_tests_the_selected_run_in_its_tab_and_help_opens_the_guide(qtbot, make_window):
    window = make_window(small(epochs=4))
    window.show()
    qtbot.waitUntil(lambda: window.find_lr_action.isEnabled(), timeout=30_000)  # the engine is ready
    window.setup.select_run(0)
    window.find_lr_action.trigger()
    assert window.side.current() is window.finder_dock
    qtbot.waitUntil(lambda: window.finder.result is not None, timeout=60_000)
    assert window.finder.run_index == 0 and len(window.finder.rows) >= 2
    window.guide_action.trigger()
    assert window.side.current() is window.guide_dock
