"""The engine loop (engine.worker.Worker) driven over its pipe, as the window's process drives it.

The Worker runs in a daemon thread of the test process with one end of a
``multiprocessing.Pipe()``; the test holds the other end, sends requests and reads what
comes back, waiting on messages (never on fixed delays). No Qt here: the engine never needs it.
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import time
from dataclasses import fields, is_dataclass

import numpy as np
import pytest
import torch

from engine import preview as preview_module
from engine import trial as trial_module
from engine.commands import AddGroup, SetGroupOptions
from engine.config import GroupConfig
from engine.edit_effect import PLATEAU_EFFECT
from engine.parse import parse_experiment
from engine.preview import predict_schedule
from engine.recorder import RunResults
from engine.session import TrainingSession, raw_with_edits
from engine.snapshot import RunSnapshot, SessionSnapshot
from engine.status import SessionState
from engine.worker import PREVIEW_STEPS, Worker, serve

TIMEOUT = 120.0  # generous: a loaded machine is slow, and waiting on a message returns as soon as it comes



# -- the test's end of the pipe ---------------------------------------------------------------------
class Engine:
    """A Worker in a daemon thread and the test's end of its pipe; every message read is kept in
    :attr:`log`, and the rows of ``published`` messages are gathered per run."""

    def __init__(self):
        self.conn, child = multiprocessing.Pipe()
        self.worker = Worker(child)
        self.thread = threading.Thread(target=serve, args=(child,), kwargs={"worker": self.worker},
                                       name="test-worker", daemon=True)
        self.thread.start()
        self.log: list[tuple] = []
        self.parts: list[list[RunResults]] = []
        self.snapshot: SessionSnapshot | None = None
        self.syncs = 0
        self.ready = self.expect("ready")[0]

    def send(self, kind: str, *args) -> None:
        self.conn.send((kind, *args))

    def recv(self, timeout: float = TIMEOUT) -> tuple:
        if not self.conn.poll(timeout):
            raise AssertionError(f"the engine sent nothing for {timeout:.0f} s; so far: {self.kinds()[-20:]}")
        message = self.conn.recv()
        self.log.append(message)
        kind, *args = message
        if kind == "started":
            self.parts, self.snapshot = [], None
        elif kind == "published":
            snapshot, chunks = args
            if not self.parts:
                self.parts = [[] for _ in chunks]
            for parts, chunk in zip(self.parts, chunks):
                parts.append(chunk)
            self.snapshot = snapshot
        return message

    def expect(self, kind: str, where=lambda *args: True, timeout: float = TIMEOUT) -> tuple:
        """Read until a message of ``kind`` whose arguments satisfy ``where``; its arguments."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.recv(max(deadline - time.monotonic(), 0.001))
            if message[0] == kind and where(*message[1:]):
                return message[1:]

    def sync(self) -> list[tuple]:
        """Everything the engine sends until it has handled every request sent so far (an unknown
        request's "failed" answer marks the point; the engine answers it in order)."""
        self.syncs += 1
        mark = f"sync-{self.syncs}"
        self.send(mark)
        start = len(self.log)
        self.expect("failed", lambda text: repr(mark) in text)
        return self.log[start:-1]

    def state(self, *states: str) -> str:
        return self.expect("state", lambda s: s in states)[0]

    def results(self) -> list[RunResults]:
        """The published chunks of each run, concatenated."""
        return [concat(parts) for parts in self.parts]

    def kinds(self) -> list[str]:
        return [m[0] for m in self.log]

    def close(self) -> None:
        try:
            self.send("shutdown")
        except OSError:
            pass
        self.thread.join(TIMEOUT)
        self.conn.close()


@pytest.fixture
def engine():
    e = Engine()
    yield e
    e.close()
    assert not e.thread.is_alive()


def concat(parts: list[RunResults]) -> RunResults:
    width = max([p.step_lr.shape[1] for p in parts] + [p.epoch_lr.shape[1] for p in parts] + [1])

    def wide(a):
        return np.hstack([a, np.full((len(a), width - a.shape[1]), np.nan)]) if a.shape[1] < width else a

    def cat(name, two_d=False):
        arrays = [getattr(p, name) for p in parts]
        return np.vstack([wide(a) for a in arrays]) if two_d else np.concatenate(arrays)

    return RunResults(parts[0].name, cat("step"), cat("step_epoch"), cat("step_loss"), cat("step_lr", True),
                      cat("step_momentum", True), cat("epoch"), cat("train_loss"), cat("val_loss"),
                      cat("epoch_lr", True), [e for p in parts for e in p.events])


def assert_same(got: RunResults, expected: RunResults) -> None:
    """Bit for bit (NaN included): the engine's published rows are the session's."""
    assert got.name == expected.name
    for name in ("step", "step_epoch", "epoch"):
        assert getattr(got, name).astype(np.int64).tolist() == getattr(expected, name).astype(np.int64).tolist(), name
    for name in ("step_loss", "train_loss", "val_loss"):
        assert np.asarray(getattr(got, name), np.float64).tobytes() == \
            np.asarray(getattr(expected, name), np.float64).tobytes(), name
    for name in ("step_lr", "step_momentum", "epoch_lr"):
        a, b = getattr(got, name), getattr(expected, name)
        assert a.shape == b.shape and a.tobytes() == b.tobytes(), name
    assert [e.as_tuple() for e in got.events] == [e.as_tuple() for e in expected.events]


def headless(raw: dict) -> list[RunResults]:
    session = TrainingSession(parse_experiment(raw))
    session.run()
    return session.snapshot()


def make_raw(runs: list[dict], *, epochs: int = 6, samples: int = 128, batch_size: int = 32,
             val_fraction: float = 0.25) -> dict:
    return {"seed": 0, "epochs": epochs, "model": "article",
            "data": {"samples": samples, "batch_size": batch_size, "val_fraction": val_fraction},
            "runs": [{"name": f"run {i}", **r} for i, r in enumerate(runs)]}


SGD = {"type": "SGD", "lr": 0.1, "momentum": 0.9}
TWO_RUNS = [{"optimizer": SGD, "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5},
             "manual": {"every": 3, "factor": 0.5}},
            {"optimizer": {"type": "Adam", "lr": 0.01}, "scheduler": {"type": "OneCycleLR", "max_lr": 0.05,
                                                                      "interval": "step"},
             "edits": [{"epoch": 2, "lr": 0.02}]}]


def long_raw(epochs: int = 50_000) -> dict:
    """Long enough to be caught running (a hundred thousand steps), never trained to its end."""
    return make_raw([{"optimizer": SGD}], epochs=epochs, samples=64, val_fraction=0.0)


def heavy_raw(lr: float, runs: int = 4, epochs: int = 5000) -> dict:
    """Per-step schedules over thousands of epochs: each run's preview takes a while."""
    return make_raw([{"optimizer": {"type": "Adam", "lr": lr},
                      "scheduler": {"type": "OneCycleLR", "max_lr": 0.1 + i / 100, "interval": "step"}}
                     for i in range(runs)], epochs=epochs, samples=64, val_fraction=0.0)


def running(engine: Engine, raw: dict, at_least: int = 1) -> int:
    """Start ``raw`` and wait until the engine has published a position of ``at_least``; that position."""
    engine.send("start", raw, None, True)
    engine.expect("started")
    engine.expect("published", lambda snapshot, chunks: snapshot.position >= at_least)
    return engine.snapshot.position


def paused_at_epoch(engine: Engine, raw: dict, epochs: int) -> int:
    """Start ``raw`` paused, step ``epochs`` epochs; the position (the engine is paused there)."""
    engine.send("start", raw, None, False)
    engine.expect("started")
    assert engine.state(SessionState.PAUSED, SessionState.RUNNING, SessionState.FINISHED) == SessionState.PAUSED
    for _ in range(epochs):
        engine.send("step_epoch")
        assert engine.state(SessionState.RUNNING) == SessionState.RUNNING
        assert engine.state(SessionState.PAUSED, SessionState.FINISHED, SessionState.STOPPED) == SessionState.PAUSED
    return engine.snapshot.position


# -- ready, start, results --------------------------------------------------------------------------
def test_ready_then_a_run_streams_the_sessions_results_bit_for_bit(engine):
    assert engine.ready["torch"] == torch.__version__
    raw = make_raw(TWO_RUNS)
    engine.send("start", raw, None, True)
    assert engine.expect("started")[0] is None  # (a state file's path)
    states = [engine.state(SessionState.RUNNING, SessionState.PAUSED, SessionState.FINISHED, SessionState.STOPPED)]
    states.append(engine.state(SessionState.FINISHED, SessionState.PAUSED, SessionState.STOPPED, SessionState.IDLE))
    assert states == [SessionState.RUNNING, SessionState.FINISHED]
    kinds = engine.kinds()
    assert kinds.index("started") < kinds.index("published")
    assert kinds[-2:] == ["published", "state"]  # every row is out before "finished" is said
    snapshot = engine.snapshot
    assert snapshot.finished and snapshot.position == snapshot.total_steps
    assert [r.status for r in snapshot.runs] == ["finished", "finished"]
    got = engine.results()
    expected = headless(raw)
    assert len(got) == len(expected) == 2
    for g, e in zip(got, expected):
        assert_same(g, e)
    assert len(got[0].step) == snapshot.total_steps
    # and nothing more after the end
    assert [m[0] for m in engine.sync()] == []


def test_a_start_the_engine_refuses_is_answered_with_the_field(engine):
    raw = make_raw([{"optimizer": {"type": "SGD", "lr": 0.1, "nesterov": True}}])  # torch refuses this
    engine.send("start", raw, None, True)
    title, path, message = engine.expect("refused")[:3]
    assert title == "Cannot start" and path == "runs[0].optimizer" and "Nesterov" in message
    bad = make_raw([{"optimizer": {"type": "SGD", "lr": "fast"}}])
    engine.send("start", bad, None, True)
    title, path, message = engine.expect("refused")[:3]
    assert path == "runs[0].optimizer.lr" and "expected a number" in message
    engine.send("start", make_raw(TWO_RUNS), "/nonexistent/state.pt", True)
    title, path, message = engine.expect("refused")[:3]
    assert title == "Cannot load the training state" and "no such file" in message
    assert engine.worker.session is None and "started" not in engine.kinds()


# -- pause, resume, step, stop ----------------------------------------------------------------------
def test_pause_resume_step_epoch_and_stop(engine):
    raw = long_raw()
    running(engine, raw)
    engine.send("pause")
    assert engine.state(SessionState.PAUSED, SessionState.FINISHED, SessionState.STOPPED) == SessionState.PAUSED
    paused_at = engine.snapshot.position
    spe = engine.snapshot.steps_per_epoch
    assert 0 < paused_at < engine.snapshot.total_steps
    # paused: nothing trains, nothing is published, a second pause changes nothing
    engine.send("pause")
    quiet = engine.sync()
    assert [m[0] for m in quiet] == []
    assert engine.worker.session.position == paused_at
    # step_epoch: to the next epoch boundary, then paused again
    engine.send("step_epoch")
    assert engine.state(SessionState.RUNNING) == SessionState.RUNNING
    assert engine.state(SessionState.PAUSED, SessionState.FINISHED, SessionState.STOPPED) == SessionState.PAUSED
    stepped = engine.snapshot.position
    assert stepped == (paused_at // spe + 1) * spe
    assert engine.worker.session.position == stepped
    assert [m[0] for m in engine.sync()] == []
    # step_epoch again from a boundary: exactly one epoch
    engine.send("step_epoch")
    engine.state(SessionState.RUNNING)
    engine.state(SessionState.PAUSED, SessionState.FINISHED, SessionState.STOPPED)
    assert engine.snapshot.position == stepped + spe
    # resume: it trains on
    engine.send("resume")
    assert engine.state(SessionState.RUNNING, SessionState.PAUSED) == SessionState.RUNNING
    engine.expect("published", lambda snapshot, chunks: snapshot.position > stepped + spe)
    # step_epoch and resume while running change nothing (no state message)
    engine.send("step_epoch")
    engine.send("resume")
    assert "state" not in [m[0] for m in engine.sync()]
    engine.send("stop")
    assert engine.state(SessionState.STOPPED, SessionState.FINISHED, SessionState.PAUSED) == SessionState.STOPPED
    stopped_at = engine.snapshot.position
    assert stopped_at < engine.snapshot.total_steps
    # stopped: nothing resumes it
    for request in ("resume", "step_epoch", "pause", "stop"):
        engine.send(request)
    assert [m[0] for m in engine.sync()] == []
    assert engine.worker.session.position == stopped_at
    # the rows published are every row trained, in order, without gaps
    (results,) = engine.results()
    assert results.step.tolist() == list(range(stopped_at))


def test_pause_and_stop_before_any_session_do_nothing_and_a_command_is_refused(engine):
    for request in ("pause", "resume", "step_epoch", "stop"):
        engine.send(request)
    assert [m[0] for m in engine.sync()] == []
    command = SetGroupOptions(run=0, group=0, options={"lr": 0.5})
    engine.send("command", command)
    assert engine.expect("command_refused") == (command, "run", "nothing is training")


def test_a_stop_while_paused_drops_the_edits_that_never_reached_a_step(engine):
    paused_at_epoch(engine, make_raw([{"optimizer": SGD}], epochs=20), 1)
    engine.send("command", SetGroupOptions(run=0, group=0, options={"lr": 0.05}))
    engine.expect("command_queued")
    engine.expect("published", lambda snapshot, chunks: snapshot.pending_commands == 1)  # at once while paused
    engine.send("stop")
    engine.state(SessionState.STOPPED)
    title, text = engine.expect("notice")
    assert title == "Edits not applied" and "1 edit(s)" in text
    assert engine.snapshot.runs[0].recorded_edits == ()


# -- commands ---------------------------------------------------------------------------------------
def test_an_edit_sent_while_paused_applies_at_the_next_step_is_recorded_and_replays(engine):
    raw = make_raw(TWO_RUNS, epochs=8)
    at = paused_at_epoch(engine, raw, 2)
    spe = engine.snapshot.steps_per_epoch
    assert at == 2 * spe
    command = SetGroupOptions(run=0, group=0, options={"lr": 0.0123})
    engine.send("command", command)
    assert engine.expect("command_queued") == (command,)
    engine.expect("published", lambda snapshot, chunks: snapshot.pending_commands == 1)  # at once while paused
    assert engine.snapshot.runs[0].recorded_edits == ()  # not before the step
    engine.send("step_epoch")
    engine.state(SessionState.PAUSED, SessionState.FINISHED)
    assert engine.snapshot.pending_commands == 0
    edits = engine.snapshot.runs[0].recorded_edits
    assert edits == ({"step": at, "group": 0, "lr": 0.0123},)
    assert engine.snapshot.runs[1].recorded_edits == ()
    engine.send("resume")
    engine.state(SessionState.FINISHED)
    (first, second) = engine.results()
    assert first.step_lr[at, 0] == 0.0123 and first.step_lr[at - 1, 0] != 0.0123
    assert any(e.kind == "edit" and e.step == at for e in first.events)
    # the same as a headless run of the experiment with the recorded edit
    replay_raw, changed = raw_with_edits(raw, [(r.name, r.recorded_edits) for r in engine.snapshot.runs])
    assert changed and replay_raw["runs"][0]["edits"] == [{"step": at, "group": 0, "lr": 0.0123}]
    for got, expected in zip(engine.results(), headless(replay_raw)):
        assert_same(got, expected)
    # and as the session's own experiment_with_edits (read while the engine idles)
    replay = TrainingSession(engine.worker.session.experiment_with_edits())
    replay.run()
    for got, expected in zip(engine.results(), replay.snapshot()):
        assert_same(got, expected)


def test_an_add_group_command_is_recorded_and_replays(engine):
    raw = make_raw([{"optimizer": SGD, "groups": [{"module": "layer", "lr": 0.1}],
                     "scheduler": {"type": "ExponentialLR", "gamma": 0.9}}], epochs=6)
    raw["model"] = "bottleneck"
    at = paused_at_epoch(engine, raw, 1)
    command = AddGroup(run=0, group=GroupConfig("layer2", {"lr": 0.02}))
    engine.send("command", command)
    engine.expect("command_queued")
    again = AddGroup(run=0, group=GroupConfig("layer2", {"lr": 0.03}))
    engine.send("command", again)  # the module is about to be taken by the first
    refused, path, message = engine.expect("command_refused")
    assert refused == again and path == "module" and "already" in message
    engine.send("resume")
    engine.state(SessionState.FINISHED)
    run = engine.snapshot.runs[0]
    assert run.modules == ("layer", "layer2") and len(run.groups) == 2
    assert run.recorded_edits == ({"step": at, "add_group": {"module": "layer2", "lr": 0.02}},)
    replay_raw, _ = raw_with_edits(raw, [(r.name, r.recorded_edits) for r in engine.snapshot.runs])
    for got, expected in zip(engine.results(), headless(replay_raw)):
        assert_same(got, expected)


@pytest.mark.parametrize("command,path,words", [
    (SetGroupOptions(run=0, group=3, options={"lr": 0.5}), "group", "group index"),
    (SetGroupOptions(run=0, group=0, options={"lr": -1.0}), "edit.lr", "expected a number >= 0"),
    (SetGroupOptions(run=5, group=0, options={"lr": 0.5}), "run", "run index"),
    (SetGroupOptions(run=0, group=0, options={"nonsense": 1}), "edit.nonsense", ""),
], ids=["group", "negative-lr", "run", "unknown-option"])
def test_a_command_that_cannot_apply_is_refused_with_its_field(engine, command, path, words):
    paused_at_epoch(engine, make_raw([{"optimizer": SGD}], epochs=10), 1)
    engine.send("command", command)
    refused, got_path, message = engine.expect("command_refused")
    assert refused == command and got_path == path and words in message
    engine.send("resume")
    engine.state(SessionState.FINISHED)
    assert engine.snapshot.runs[0].recorded_edits == ()


def test_a_command_after_the_end_is_refused(engine):
    engine.send("start", make_raw([{"optimizer": SGD}], epochs=2), None, True)
    engine.state(SessionState.FINISHED)
    command = SetGroupOptions(run=0, group=0, options={"lr": 0.5})
    engine.send("command", command)
    assert engine.expect("command_refused") == (command, "run", "nothing is training")


# -- checks and previews ----------------------------------------------------------------------------
def messages_for(engine: Engine, request: int, kinds=("checked", "preview")) -> list[tuple]:
    return [m for m in engine.log if m[0] in kinds and m[1] == request]


def test_an_invalid_experiment_is_answered_with_its_field_and_no_preview(engine):
    engine.send("check", 1, make_raw([{"optimizer": {"type": "SGD", "lr": "half"}}]))
    assert engine.expect("checked") == (1, "runs[0].optimizer.lr", engine.log[-1][3])
    assert "expected a number" in engine.log[-1][3]
    engine.send("check", 2, make_raw([{"optimizer": {"type": "SGD", "lr": 0.1, "nesterov": True}}]))
    request, path, message = engine.expect("checked")
    assert (request, path) == (2, "runs[0].optimizer") and "torch refused it" in message and "Nesterov" in message
    engine.sync()
    assert [m for m in engine.log if m[0] == "preview" and m[1] == 1] == []


def test_a_short_new_experiment_is_previewed_run_by_run_then_checked(engine):
    raw = make_raw(TWO_RUNS)
    engine.send("check", 7, raw)
    assert engine.expect("checked") == (7, "", "")
    answers = messages_for(engine, 7)
    # short previews first (the curves are on screen sooner), torch's verdict after them
    assert [(m[0], m[2] if m[0] == "preview" else None) for m in answers] == \
        [("preview", 0), ("preview", 1), ("checked", None)]
    previews = [m[1:] for m in answers if m[0] == "preview"]
    experiment = parse_experiment(raw)
    for _, index, prediction, final in previews:
        assert final is True
        expected = predict_schedule(experiment, index, PREVIEW_STEPS)
        assert prediction.complete and prediction.results.step_lr.tobytes() == expected.results.step_lr.tobytes()
    # the preview is what training then does
    for (_, _, prediction, _), trained in zip(previews, headless(raw)):
        assert prediction.results.step_lr.tobytes() == trained.step_lr.tobytes()


class Calls:
    """Counts calls of an engine function (the worker looks it up at each request), per thread."""

    def __init__(self, monkeypatch, module, name):
        self.calls: list[str] = []
        original = getattr(module, name)

        def counted(*args, **kwargs):
            self.calls.append(threading.current_thread().name)
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)


class Probes:
    """Counts schedule probes built (one per run's preview), per thread, and the probe steps taken."""

    def __init__(self, monkeypatch):
        self.calls: list[str] = []
        self.steps: dict[float, int] = {}  # by the run's optimizer lr (the tests make them differ)
        outer = self

        class Counting(preview_module.ScheduleProbe):
            def __init__(self, experiment, index):
                outer.calls.append(threading.current_thread().name)
                self.lr = experiment.runs[index].optimizer.options.get("lr")
                super().__init__(experiment, index)

            def step(self, t, commands=None):
                outer.steps[self.lr] = outer.steps.get(self.lr, 0) + 1
                super().step(t, commands)

        monkeypatch.setattr(preview_module, "ScheduleProbe", Counting)


def test_a_repeated_experiment_is_answered_from_the_caches(engine, monkeypatch):
    previews = Probes(monkeypatch)
    trials = Calls(monkeypatch, trial_module, "trial_experiment")
    raw = make_raw(TWO_RUNS)
    engine.send("check", 1, raw)
    engine.expect("checked", lambda request, *_: request == 1)  # (short previews come first, then the verdict)
    assert len(previews.calls) == 2 and len(trials.calls) == 1
    engine.send("check", 2, raw)
    assert engine.expect("checked") == (2, "", "")
    second = [engine.expect("preview", lambda request, *_: request == 2) for _ in range(2)]
    assert len(previews.calls) == 2 and len(trials.calls) == 1  # nothing computed again
    first = {m[2]: m[3] for m in messages_for(engine, 1, ("preview",))}
    for _, index, prediction, _ in second:
        assert prediction.results.step_lr.tobytes() == first[index].results.step_lr.tobytes()
    # a new name is a new experiment for torch's trial, not for the schedule
    renamed = {**raw, "runs": [{**raw["runs"][0], "name": "renamed"}, raw["runs"][1]]}
    engine.send("check", 3, renamed)
    engine.expect("checked", lambda request, *_: request == 3)
    assert len(previews.calls) == 2 and len(trials.calls) == 2
    # a changed schedule is previewed again, only the run that changed
    changed = {**raw, "runs": [raw["runs"][0], {**raw["runs"][1], "optimizer": {"type": "Adam", "lr": 0.02}}]}
    engine.send("check", 4, changed)
    engine.expect("checked", lambda request, *_: request == 4)
    assert len(previews.calls) == 3
    # Start reuses the verdict already cached: no trial again
    engine.send("start", changed, None, False)
    engine.expect("started")
    assert len(trials.calls) == 3  # the check of request 4, not Start
    assert set(previews.calls + trials.calls) == {"test-worker"}


def test_a_long_preview_comes_after_the_verdict_and_a_run_previewed_whole_is_not_stepped_again(engine, monkeypatch):
    from engine import trial as trial_module

    stepped_for_verdict: list[frozenset] = []
    original = trial_module.step_schedules

    def step_schedules(experiment, stepped=frozenset()):
        stepped_for_verdict.append(stepped)
        return original(experiment, stepped)

    monkeypatch.setattr(trial_module, "step_schedules", step_schedules)
    engine.send("check", 1, make_raw(TWO_RUNS))  # short: previewed first, so stepped once
    engine.expect("checked", lambda request, *_: request == 1)
    assert stepped_for_verdict == [frozenset({0, 1})]
    engine.send("check", 2, heavy_raw(0.01, runs=1, epochs=25_000))  # 50,000 probe steps: the verdict first
    engine.expect("preview", lambda request, index, _p, final: request == 2 and final)
    answers = messages_for(engine, 2)
    assert answers[0][0] == "checked" and stepped_for_verdict[-1] == frozenset()


def test_a_schedule_torch_fails_at_is_refused_when_previewed_first(engine):
    raw = make_raw([{"optimizer": {"type": "SGD", "lr": 0.1},
                     "scheduler": {"type": "OneCycleLR", "max_lr": 0.1, "pct_start": 1.0}}])
    engine.send("check", 1, raw)
    request, path, message = engine.expect("checked")
    assert path == "runs[0].scheduler" and "torch fails at scheduler step" in message, message
    previews = messages_for(engine, 1, ("preview",))
    assert previews and not previews[-1][3].complete  # the preview shows where it stops; the verdict says why


def test_a_newer_check_supersedes_an_older_one(engine):
    old, new = heavy_raw(0.01), heavy_raw(0.02)
    engine.send("check", 1, old)
    engine.send("check", 2, new)  # back to back: the person typed on
    for index in range(4):
        engine.expect("preview", lambda request, i, _p, final, index=index: (request, i) == (2, index) and final)
    engine.sync()
    answers = [m for m in engine.log if m[0] in ("checked", "preview")]
    first_new = [(m[0], m[1]) for m in answers].index(("checked", 2))
    assert all(m[1] == 2 for m in answers[first_new:]), [m[:2] for m in answers]  # nothing of 1 after 2's first
    finals = [m[2] for m in answers[first_new:] if m[0] == "preview" and m[4]]
    assert finals == [0, 1, 2, 3]  # every run's final preview, once, in order
    assert sum(1 for m in answers if m[0] == "preview" and m[1] == 1 and m[4]) < 4  # 1 was abandoned


def test_a_newer_check_is_answered_while_a_superseded_long_preview_is_still_on_its_first_run(engine, monkeypatch):
    """Cancellable: the engine looks at the pipe while it steps a long schedule, not only between runs.
    (Counted inside the engine's own thread: how far the old preview had got when the new answer went out.)"""
    probes = Probes(monkeypatch)
    at_answer: list[int] = []
    original_send = engine.worker.send

    def send(kind, *args):
        if kind == "checked" and args[0] == 2:
            at_answer.append(probes.steps.get(0.01, 0))
        original_send(kind, *args)

    monkeypatch.setattr(engine.worker, "send", send)
    engine.send("check", 1, heavy_raw(0.01, runs=2, epochs=25_000))  # 50,000 probe steps a run: the longest
    engine.expect("checked", lambda request, *_: request == 1)  # its first run's preview is under way
    engine.send("check", 2, make_raw([{"optimizer": {"type": "SGD", "lr": "half"}}]))  # answered at once
    engine.expect("checked", lambda request, *_: request == 2)
    engine.sync()
    assert at_answer and at_answer[0] < PREVIEW_STEPS, "the newer request waited for the whole of a run's preview"
    assert probes.steps[0.01] < 2 * PREVIEW_STEPS  # the old request's second run was never finished
    assert not [m for m in engine.log if m[0] == "preview" and m[1] == 1 and m[4]]  # nor its first


def test_a_long_preview_is_shown_progressively(engine):
    engine.send("check", 1, heavy_raw(0.01, runs=1, epochs=25_000))
    request, index, prediction, final = engine.expect("preview")
    assert not final and not prediction.complete and 0 < len(prediction.results.step) < 50_000
    _, _, last, final = engine.expect("preview", lambda request, index, prediction, final: final)
    assert len(last.results.step) == PREVIEW_STEPS
    assert last.results.step_lr[:len(prediction.results.step)].tobytes() == prediction.results.step_lr.tobytes()


def test_checks_are_answered_while_training(engine):
    running(engine, long_raw())
    raw = make_raw(TWO_RUNS)
    engine.send("check", 5, raw)
    assert engine.expect("checked", lambda request, *_: request == 5) == (5, "", "")
    assert [m[2] for m in messages_for(engine, 5, ("preview",)) if m[4]] == [0, 1]  # (short: before the verdict)
    assert engine.worker.state == SessionState.RUNNING
    engine.send("stop")
    engine.state(SessionState.STOPPED)


# -- predict from here ------------------------------------------------------------------------------
EFFECT_CASES = {
    "StepLR": ({"type": "StepLR", "step_size": 5, "gamma": 0.5}, "kept"),
    "CosineAnnealingLR": ({"type": "CosineAnnealingLR", "T_max": 10}, "dropped at epoch 10 (T_max)"),
    "LambdaLR": ({"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"},
                 "overwritten at the next scheduler step (epoch 4)"),
    "OneCycleLR": ({"type": "OneCycleLR", "max_lr": 0.5, "interval": "step"}, "overwritten at the next step"),
    "ReduceLROnPlateau": ({"type": "ReduceLROnPlateau", "patience": 1, "monitor": "train_loss", "min_lr": 0.0001},
                          PLATEAU_EFFECT),
}


def effect_says(effect: str, at: int, words: str) -> bool:
    """The effect text names the edit (group 0, its step) and ends with the derived words."""
    return effect.startswith("The lr edit of group 0") and f"step {at}" in effect and effect.endswith(f": {words}.")


def predicted(engine: Engine, request: int, index: int = 0):
    engine.send("predict_from", request, index)
    _, got_index, prediction, effect = engine.expect("predicted", lambda r, *_: r == request)
    assert got_index == index
    return prediction, effect


@pytest.mark.parametrize("name", sorted(EFFECT_CASES))
def test_predict_from_after_an_applied_edit_equals_what_the_run_then_does(engine, name):
    scheduler, words = EFFECT_CASES[name]
    raw = make_raw([{"optimizer": SGD, "scheduler": scheduler}], epochs=20)
    at = paused_at_epoch(engine, raw, 3)
    engine.send("command", SetGroupOptions(run=0, group=0, options={"lr": 0.03}))
    engine.expect("command_queued")
    engine.send("step_epoch")
    engine.state(SessionState.PAUSED)
    position = engine.snapshot.position
    assert engine.snapshot.runs[0].recorded_edits == ({"step": at, "group": 0, "lr": 0.03},)
    prediction, effect = predicted(engine, 1)
    assert prediction.results.step[0] == position
    assert effect_says(effect, at, words)
    engine.send("resume")
    engine.state(SessionState.FINISHED)
    (results,) = engine.results()
    assert prediction.complete and len(prediction.results.step) == len(results.step) - position
    if name == "ReduceLROnPlateau":
        assert "only training shows" in prediction.note
        return
    assert prediction.note == ""
    assert prediction.results.step_lr.tobytes() == results.step_lr[position:].tobytes()
    assert prediction.results.step_momentum.tobytes() == results.step_momentum[position:].tobytes()


def test_predict_from_while_paused_with_the_edit_still_pending_equals_what_the_run_then_does(engine):
    scheduler, _ = EFFECT_CASES["StepLR"]
    raw = make_raw([{"optimizer": SGD, "scheduler": scheduler}], epochs=20)
    at = paused_at_epoch(engine, raw, 3)
    engine.send("command", SetGroupOptions(run=0, group=0, options={"lr": 0.03}))
    engine.expect("command_queued")
    prediction, _ = predicted(engine, 1)
    engine.send("resume")
    engine.state(SessionState.FINISHED)
    (results,) = engine.results()
    assert prediction.results.step[0] == at
    assert results.step_lr[at, 0] == 0.03
    assert prediction.results.step_lr.tobytes() == results.step_lr[at:].tobytes()


def test_predict_from_without_an_edit_and_with_nothing_to_predict(engine):
    raw = make_raw([{"optimizer": SGD, "scheduler": EFFECT_CASES["CosineAnnealingLR"][0]}], epochs=12)
    position = paused_at_epoch(engine, raw, 2)
    prediction, effect = predicted(engine, 1)
    assert effect == "" and prediction.results.step[0] == position
    engine.send("predict_from", 2, 5)  # no such run: no answer, and the loop goes on
    assert [m[0] for m in engine.sync()] == []
    engine.send("resume")
    engine.state(SessionState.FINISHED)
    (results,) = engine.results()
    assert prediction.results.step_lr.tobytes() == results.step_lr[position:].tobytes()
    done, _ = predicted(engine, 3)
    assert len(done.results.step) == 0 and "finished" in done.note


# -- files, reset, unknown requests, shutdown -------------------------------------------------------
def test_save_state_export_and_reset(engine, tmp_path):
    engine.send("save_state", str(tmp_path / "none.pt"))
    title, text = engine.expect("notice")
    assert title == "Cannot save the training state" and "nothing has trained" in text
    raw = make_raw(TWO_RUNS, epochs=6)
    at = paused_at_epoch(engine, raw, 2)
    path = tmp_path / "s.pt"
    engine.send("save_state", str(path))
    assert engine.expect("saved_state") == (str(path), 2)
    assert path.is_file()
    engine.send("save_state", str(tmp_path / "no" / "such" / "dir" / "s.pt"))
    title, text = engine.expect("notice")
    assert title == "Cannot save the training state"
    engine.send("export", str(tmp_path / "csv"))
    directory, names = engine.expect("exported")
    assert directory == str(tmp_path / "csv") and names == ["epochs.csv", "steps.csv", "events.csv"]
    rows = (tmp_path / "csv" / "epochs.csv").read_text().splitlines()
    assert rows[0] == "run,epoch,group,lr,train_loss,val_loss" and len(rows) == 1 + 2 * 2
    # reset: the session is gone
    engine.send("reset")
    assert engine.state(SessionState.IDLE) == SessionState.IDLE
    assert engine.worker.session is None
    engine.send("command", SetGroupOptions(run=0, group=0, options={"lr": 0.5}))
    assert engine.expect("command_refused")[1:] == ("run", "nothing is training")
    # the state file continues where it was saved, and ends as a straight run does
    engine.send("start", raw, str(path), False)
    assert engine.expect("started")[0] == str(path)
    engine.state(SessionState.PAUSED)
    assert engine.snapshot.position == at
    engine.send("resume")
    engine.state(SessionState.FINISHED)
    for got, expected in zip(engine.results(), headless(raw)):
        assert_same(got, expected)


def test_an_unknown_or_broken_request_is_answered_failed_and_the_loop_goes_on(engine):
    engine.send("frobnicate", 1, 2)
    (text,) = engine.expect("failed")
    assert "'frobnicate'" in text
    engine.send("pause", "an argument pause does not take")  # a TypeError inside the loop
    (text,) = engine.expect("failed")
    assert "TypeError" in text
    engine.send("start", make_raw([{"optimizer": SGD}], epochs=2), None, True)
    assert engine.state(SessionState.FINISHED, SessionState.RUNNING) in (SessionState.RUNNING, SessionState.FINISHED)
    engine.state(SessionState.FINISHED)


def test_shutdown_ends_the_loop_also_while_training():
    e = Engine()
    running(e, long_raw())
    e.send("shutdown")
    e.thread.join(TIMEOUT)
    assert not e.thread.is_alive()
    e.conn.close()


def test_the_loop_ends_when_the_window_closes_its_end():
    e = Engine()
    running(e, long_raw())
    e.conn.close()
    e.thread.join(TIMEOUT)
    assert not e.thread.is_alive()


# -- snapshots are plain data -----------------------------------------------------------------------
PLAIN = (type(None), bool, int, float, str)


def walk(value, path="snapshot"):
    """Yield ``(path, leaf)`` for every leaf of a snapshot (dataclasses, dicts, tuples, lists)."""
    if is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            yield from walk(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from walk(k, f"{path}[key]")
            yield from walk(v, f"{path}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, value


def test_snapshots_are_plain_data_without_tensors(engine):
    raw = make_raw([
        {"optimizer": {"type": "Adam", "lr": 0.01}, "scheduler": EFFECT_CASES["ReduceLROnPlateau"][0],
         "groups": [{"module": "layer", "lr": 0.01}]},
        {"optimizer": SGD, "scheduler": {"type": "OneCycleLR", "max_lr": 0.5, "interval": "step"}},
        {"optimizer": {"type": "SGD", "lr": 0.1}}], epochs=8)
    raw["model"] = "bottleneck"
    paused_at_epoch(engine, raw, 2)
    engine.send("command", AddGroup(run=0, group=GroupConfig("layer2", {"lr": 0.02})))
    engine.send("command", SetGroupOptions(run=1, group=0, options={"lr": 0.2}, rebase=True))
    engine.expect("command_queued")
    engine.expect("command_queued")
    engine.send("step_epoch")
    engine.state(SessionState.PAUSED)
    engine.send("resume")
    engine.state(SessionState.FINISHED)
    snapshots = [m[1] for m in engine.log if m[0] == "published"]
    assert len(snapshots) >= 4
    for snapshot in snapshots:
        assert isinstance(snapshot, SessionSnapshot) and all(isinstance(r, RunSnapshot) for r in snapshot.runs)
        leaves = list(walk(snapshot))
        bad = [(path, type(leaf).__name__) for path, leaf in leaves if not isinstance(leaf, PLAIN)]
        assert bad == []
        again = pickle.loads(pickle.dumps(snapshot))
        assert again == snapshot and list(walk(again)) == leaves
    last = snapshots[-1]
    assert last.runs[0].plateau is not None and set(last.runs[0].plateau) == {"best", "num_bad_epochs",
                                                                            "cooldown_counter"}
    assert last.runs[0].modules == ("layer", "layer2")
    assert last.runs[1].scheduler == "OneCycleLR" and last.runs[1].last_epoch == last.position
    assert last.runs[2].scheduler is None
    # what goes with the snapshots (result rows, predictions) holds no tensor either
    engine.send("predict_from", 1, 0)
    engine.expect("predicted")
    for message in engine.log:
        for path, leaf in walk(message, message[0]):
            assert isinstance(leaf, PLAIN) or isinstance(leaf, np.ndarray) and leaf.dtype != object, \
                (path, type(leaf).__name__)
