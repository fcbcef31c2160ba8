"""Saving and resuming training state: a resumed run gives the same results as an uninterrupted one."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest
import torch

from engine.checkpoint import load_state, save_state
from engine.errors import StateFileError
from engine.results import write_results
from engine.session import TrainingSession
from tests.engine_helpers import experiment

RUNS = [
    {"name": "steplr + add_group", "optimizer": {"type": "Adam"}, "groups": [{"module": "layer", "lr": 0.05}],
     "scheduler": {"type": "StepLR", "step_size": 3, "gamma": 0.7},
     "edits": [{"epoch": 4, "add_group": {"module": "layer2", "lr": 0.01}}, {"epoch": 15, "lr": 0.02}]},
    {"name": "lambda", "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
     "scheduler": {"type": "LambdaLR", "lr_lambda": "0.9 ** epoch"}},
    {"name": "onecycle", "optimizer": {"type": "AdamW", "lr": 0.1},
     "scheduler": {"type": "OneCycleLR", "max_lr": 0.2, "total_steps": 200}},
    {"name": "plateau", "optimizer": {"type": "RMSprop", "lr": 0.01},
     "scheduler": {"type": "ReduceLROnPlateau", "patience": 1}},
    {"name": "sequential", "optimizer": {"type": "NAdam", "lr": 0.01},
     "scheduler": {"type": "SequentialLR", "milestones": [6], "schedulers": [
         {"type": "LinearLR", "start_factor": 0.1, "total_iters": 6}, {"type": "CosineAnnealingLR", "T_max": 10}]}},
    {"name": "lbfgs", "optimizer": {"type": "LBFGS", "lr": 0.5, "max_iter": 3}},
    {"name": "manual", "optimizer": {"type": "Adam", "lr": 0.1}, "manual": {"every": 4, "factor": 0.5}},
    {"name": "multistep", "optimizer": {"type": "Adagrad", "lr": 0.1},
     "scheduler": {"type": "MultiStepLR", "milestones": [2, 5, 11]}},
    {"name": "cyclic", "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
     "scheduler": {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5,
                   "scale_fn": "0.9 ** x"}},
    {"name": "warm restarts", "optimizer": {"type": "Adamax", "lr": 0.05},
     "scheduler": {"type": "CosineAnnealingWarmRestarts", "T_0": 3, "T_mult": 2}},
]


def make(epochs):
    """The experiment cut to ``epochs``: edits beyond its end are left out (a later resume adds them)."""
    runs = [dict(r, edits=[e for e in r.get("edits", ()) if e["epoch"] < epochs]) for r in RUNS]
    return experiment([{k: v for k, v in r.items() if v != []} for r in runs], epochs=epochs, samples=160,
                      val_fraction=0.2, model="bottleneck")


def csv_files(session, directory):
    write_results(session.snapshot(), directory)
    return {p.name: p.read_text() for p in directory.iterdir()}


def test_resume_at_an_epoch_boundary_equals_an_uninterrupted_run(tmp_path):
    straight = TrainingSession(make(20))
    straight.run()
    first = TrainingSession(make(9))
    first.run()
    save_state(first, tmp_path / "state.pt")
    resumed = TrainingSession(make(20), state=load_state(tmp_path / "state.pt"))
    assert resumed.epoch == 9
    resumed.run()
    assert [r.status for r in resumed.runs] == [r.status for r in straight.runs]
    assert csv_files(resumed, tmp_path / "a") == csv_files(straight, tmp_path / "b")


def test_resume_in_the_middle_of_an_epoch(tmp_path):
    straight = TrainingSession(make(12))
    straight.run()
    first = TrainingSession(make(12))
    first.run(max_steps=4 * 5 + 2)  # 4 steps per epoch: stop inside epoch 5
    assert first.position == 22
    save_state(first, tmp_path / "state.pt")
    resumed = TrainingSession(make(12), state=load_state(tmp_path / "state.pt"))
    resumed.run()
    assert csv_files(resumed, tmp_path / "a") == csv_files(straight, tmp_path / "b")


def test_state_keeps_commands_given_while_training(tmp_path):
    from engine.commands import SetGroupOptions

    session = TrainingSession(make(10))
    session.run(max_steps=10)
    session.submit(SetGroupOptions(run=1, group=0, options={"lr": 0.03}))
    session.run(max_steps=3)
    save_state(session, tmp_path / "s.pt")
    resumed = TrainingSession(make(10), state=load_state(tmp_path / "s.pt"))
    assert [e.to_dict() for e in resumed.runs[1].recorded_edits] == [{"step": 10, "group": 0, "lr": 0.03}]


def test_state_file_loads_with_weights_only(tmp_path):
    session = TrainingSession(make(3))
    session.run()
    save_state(session, tmp_path / "s.pt")
    state = torch.load(tmp_path / "s.pt", weights_only=True)
    assert state["position"] == session.total_steps
    assert state["runs"][1]["scheduler"]["lr_lambdas"] == [None]


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", bytes(range(256)) * 10])
def test_corrupt_files_are_refused(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(StateFileError, match="not a training-state file"):
        load_state(path)


def test_foreign_files_are_refused(tmp_path):
    torch.save({"model": {"w": torch.zeros(2)}}, tmp_path / "foreign.pt")
    with pytest.raises(StateFileError, match="not a training-state file of this app"):
        load_state(tmp_path / "foreign.pt")


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_pickle_with_code_is_refused_without_running_it(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "lrlab-training-state", "x": Evil()}, path)
    with pytest.raises(StateFileError):
        load_state(path)
    assert "must never run" not in capsys.readouterr().out
    with open(tmp_path / "plain.pkl", "wb") as f:
        pickle.dump(Evil(), f)
    with pytest.raises(StateFileError):
        load_state(tmp_path / "plain.pkl")


def test_missing_file(tmp_path):
    with pytest.raises(StateFileError, match="no such file"):
        load_state(tmp_path / "nope.pt")


def test_a_state_from_another_experiment_is_refused(tmp_path):
    session = TrainingSession(make(3))
    session.run()
    save_state(session, tmp_path / "s.pt")
    state = load_state(tmp_path / "s.pt")
    other = make(6)
    changed = replace(other, runs=(replace(other.runs[0], name="renamed"), *other.runs[1:]))
    with pytest.raises(StateFileError, match="different experiment: the state holds runs"):
        TrainingSession(changed, state=state)
    with pytest.raises(StateFileError, match="seed is 0 in the state, 5 in the experiment"):
        TrainingSession(replace(other, seed=5), state=state)
    with pytest.raises(StateFileError, match="past this experiment's end"):
        TrainingSession(make(2), state=state)
