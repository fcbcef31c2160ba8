"""The session the GUI drives: lockstep runs, pause/resume/stop and commands from another thread.

The threaded tests wait on what the training thread reports (its ``stop_requested`` probe, asked
before every step and every turn of a paused wait, and ``on_epoch``), never on fixed delays.
"""

from __future__ import annotations

import queue
import threading
import types

import numpy as np
import pytest

import engine.session as session_module
from engine.commands import AddGroup, SetGroupOptions, StopRun
from engine.config import GroupConfig
from engine.errors import ExperimentError
from engine.session import TrainingSession
from tests.engine_helpers import experiment

RUNS = [{"name": "a", "optimizer": {"type": "Adam", "lr": 0.05}, "groups": [{"module": "layer", "lr": 0.05}],
         "scheduler": {"type": "StepLR", "step_size": 10, "gamma": 0.5}},
        {"name": "b", "optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9},
         "scheduler": {"type": "LambdaLR", "lr_lambda": "0.97 ** epoch"}}]


def make(epochs=200):
    return experiment(RUNS, epochs=epochs, samples=256, val_fraction=0.25, model="bottleneck")


TIMEOUT = 120  # only against a hang: every wait returns as soon as the training thread reports


def start(session, **kwargs):
    thread = threading.Thread(target=session.run, kwargs=kwargs, daemon=True)
    thread.start()
    return thread


class Probe:
    """``stop_requested`` for :meth:`TrainingSession.run`: the training thread calls it before every
    step and at every turn of its wait while paused; it keeps (paused, position) of each call and
    wakes whoever waits on what the trainer has done."""

    def __init__(self, session):
        self.session = session
        self.calls: list[tuple[bool, int]] = []
        self.changed = threading.Condition()

    def __call__(self) -> bool:
        with self.changed:
            self.calls.append((self.session.paused, self.session.position))
            self.changed.notify_all()
        return False

    def wait_for(self, predicate) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, TIMEOUT), "the training thread never got there"

    def paused_turns(self, position: int) -> int:
        """Turns the trainer has waited while paused at ``position``."""
        return sum(1 for paused, at in self.calls if paused and at == position)


def test_runs_advance_in_lockstep():
    session = TrainingSession(make(5))
    for t in range(7):
        session.step()
        assert [r.recorder.n_steps for r in session.runs] == [t + 1, t + 1]


def test_pause_resume_and_stop_from_another_thread():
    session = TrainingSession(make())
    probe = Probe(session)
    thread = start(session, stop_requested=probe)
    probe.wait_for(lambda: session.position > 20)
    session.pause()
    # the trainer finishes the step it is in, then waits: three turns of its paused wait at one position
    probe.wait_for(lambda: probe.calls[-1][0] and probe.paused_turns(probe.calls[-1][1]) >= 3)
    paused_at = probe.calls[-1][1]
    assert session.position == paused_at and session.paused
    session.resume()
    probe.wait_for(lambda: session.position > paused_at + 20)
    session.stop()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert not session.finished and session.position < session.total_steps


def test_stop_while_paused_ends_the_run_without_a_step():
    session = TrainingSession(make())
    session.pause()
    probe = Probe(session)
    thread = start(session, stop_requested=probe)
    probe.wait_for(lambda: probe.paused_turns(0) >= 1)  # waiting, paused before its first step
    session.stop()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert session.position == 0 and {at for _, at in probe.calls} == {0}


def test_snapshots_while_training_are_consistent():
    """Read while the trainer writes: after each epoch's end is reported the reader takes
    snapshots as the next epoch trains (the GUI reads at <= 60 Hz from its own thread)."""
    session = TrainingSession(make(60))
    epochs: queue.SimpleQueue = queue.SimpleQueue()
    thread = start(session, on_epoch=lambda progress: epochs.put(progress.epoch))
    seen, reads = 0, 0
    while (epoch := epochs.get(timeout=TIMEOUT)) < session.experiment.epochs:
        for _ in range(3):
            for r in session.snapshot():
                n = len(r.step)
                assert r.step_lr.shape[0] == r.step_loss.shape[0] == r.step_epoch.shape[0] == n
                assert r.step.tolist() == list(range(n))
                assert not np.isnan(r.step_loss).any()
                assert len(r.epoch) == len(r.train_loss) == r.epoch_lr.shape[0]
                assert n >= epoch * session.steps_per_epoch
                seen = max(seen, n)
            reads += 1
    thread.join(TIMEOUT)
    assert reads == 3 * (session.experiment.epochs - 1)
    assert seen > 0 and len(session.snapshot()[0].step) == session.total_steps


def test_commands_from_another_thread_are_recorded_and_replay_identically():
    """Submitted while the trainer trains on; it cannot reach the end first: the last epoch's
    report waits until they are all in (where they land is up to the threads; the replay of what
    was recorded must equal the run bit for bit wherever that was)."""
    session = TrainingSession(make(40))
    epochs = session.experiment.epochs
    training, submitted = threading.Event(), threading.Event()

    def on_epoch(progress):
        if progress.epoch == 5:
            training.set()
        elif progress.epoch == epochs - 1:
            assert submitted.wait(TIMEOUT), "the commands were never submitted"

    thread = start(session, on_epoch=on_epoch)
    assert training.wait(TIMEOUT)
    session.submit(SetGroupOptions(run=0, group=0, options={"lr": 0.01}))
    session.submit(AddGroup(run=0, group=GroupConfig("layer2", {"lr": 0.02})))
    session.submit(SetGroupOptions(run=1, group=None, options={"lr": 0.2}, rebase=True))
    submitted.set()
    thread.join(TIMEOUT)
    assert session.finished and len(session.runs[0].optimizer.param_groups) == 2
    live = session.snapshot()
    recorded = session.runs[0].recorded_edits + session.runs[1].recorded_edits
    assert len(recorded) == 3 and all(5 * session.steps_per_epoch < e.step < session.total_steps for e in recorded)
    kinds = [e.kind for e in live[0].events]
    assert "edit" in kinds and "add_group" in kinds

    replay = TrainingSession(session.experiment_with_edits())
    replay.run()
    for a, b in zip(live, replay.snapshot()):
        assert a.step_loss.tobytes() == b.step_loss.tobytes()
        np.testing.assert_array_equal(a.step_lr, b.step_lr)
        assert [e.as_tuple() for e in a.events] == [e.as_tuple() for e in b.events]


def test_invalid_commands_are_refused_when_submitted():
    session = TrainingSession(make(5))
    with pytest.raises(ExperimentError, match="group index from 0 to 0"):
        session.submit(SetGroupOptions(run=0, group=3, options={"lr": 0.1}))
    with pytest.raises(ExperimentError, match="expected a number >= 0"):
        session.submit(SetGroupOptions(run=0, group=0, options={"lr": -1.0}))
    with pytest.raises(ExperimentError, match="unknown key"):
        session.submit(SetGroupOptions(run=0, group=0, options={"lrr": 0.1}))
    with pytest.raises(ExperimentError, match="already in a param group"):
        session.submit(AddGroup(run=0, group=GroupConfig("layer")))
    with pytest.raises(ExperimentError, match="already in a param group"):
        session.submit(AddGroup(run=1, group=GroupConfig("layer2")))  # run b trains the whole model
    with pytest.raises(ExperimentError, match="run index"):
        session.submit(StopRun(run=7))


def test_a_second_add_group_for_a_queued_module_is_refused_at_once():
    session = TrainingSession(make(5))
    session.submit(AddGroup(run=0, group=GroupConfig("layer2")))
    with pytest.raises(ExperimentError, match="about to be"):
        session.submit(AddGroup(run=0, group=GroupConfig("layer2")))
    session.run()
    kinds = [e.kind for e in session.runs[0].recorder.events]
    assert kinds.count("add_group") == 1 and session.runs[0].status == "finished"


def test_a_command_that_became_invalid_is_rejected_not_fatal():
    session = TrainingSession(make(5))
    run = session.runs[0]
    run.step(0, [AddGroup(run=0, group=GroupConfig("layer2")), AddGroup(run=0, group=GroupConfig("layer2"))])
    kinds = [e.kind for e in run.recorder.events]
    assert kinds.count("add_group") == 1 and kinds.count("rejected") == 1 and run.status == "running"


def test_an_edit_at_an_epoch_boundary_replays_identically():
    """A command applies after the epoch's manual decay, exactly where its recorded edit replays."""
    exp = experiment([{"name": "m", "optimizer": {"type": "SGD", "lr": 0.1}, "manual": {"every": 1, "factor": 0.5},
                       "edits": [{"epoch": 1, "momentum": 0.5}]}], epochs=4)
    live = TrainingSession(exp)
    live.run(until_epoch_end=True)
    live.submit(SetGroupOptions(run=0, group=0, options={"lr": 0.02}))
    live.run()
    replay = TrainingSession(live.experiment_with_edits())
    replay.run()
    a, b = live.snapshot()[0], replay.snapshot()[0]
    assert a.epoch_lr[:, 0].tolist() == b.epoch_lr[:, 0].tolist() == [0.1, 0.02, 0.01, 0.005]
    assert a.step_loss.tobytes() == b.step_loss.tobytes()


def test_commands_are_refused_once_training_has_ended():
    session = TrainingSession(make(2))
    session.run()
    with pytest.raises(ExperimentError, match="training has ended"):
        session.submit(SetGroupOptions(run=0, group=0, options={"lr": 0.1}))


def test_stop_one_run():
    session = TrainingSession(make(5))
    session.run(max_steps=3)
    session.submit(StopRun(run=1))
    session.run()
    assert [r.status for r in session.runs] == ["finished", "stopped"]
    assert session.runs[1].recorder.n_steps == 3


def test_step_one_epoch_at_a_time():
    session = TrainingSession(make(5))
    session.run(until_epoch_end=True)
    assert session.position == session.steps_per_epoch
    session.run(max_steps=1)
    session.run(until_epoch_end=True)
    assert session.position == 2 * session.steps_per_epoch


def test_speed_limit_waits_out_each_epoch(monkeypatch):
    """At 0.5 epochs a second, each epoch ends with a wait for what is left of its 2 s (here all of
    it: the session's clock stands still but for the waits, which return at once)."""
    now = [100.0]
    waits = []

    class Stop(threading.Event):
        def wait(self, timeout=None):
            waits.append(timeout)
            now[0] += timeout
            return False

    monkeypatch.setattr(session_module, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    session = TrainingSession(make(3))
    session._stop = Stop()
    session.set_speed(0.5)
    session.run()
    assert session.finished and waits == [2.0, 2.0, 2.0]  # after each of the three epochs
    waits.clear()
    unlimited = TrainingSession(make(3))
    unlimited._stop = Stop()
    unlimited.run()
    assert unlimited.finished and waits == []


def test_an_engine_error_stops_that_run_only():
    exp = experiment([{"name": "ok", "optimizer": {"type": "Adam", "lr": 0.1}},
                      {"name": "bad", "optimizer": {"type": "Adam", "lr": 0.1},
                       "scheduler": {"type": "OneCycleLR", "max_lr": 0.1}}], epochs=5)
    session = TrainingSession(exp)
    session.runs[1].scheduler.total_steps = 7  # as if misconfigured: torch raises past step 7
    session.run()
    assert [r.status for r in session.runs] == ["finished", "failed"]
    assert session.failed
    error = session.runs[1].recorder.events[-1]
    assert error.kind == "error" and "Tried to step" in error.detail
