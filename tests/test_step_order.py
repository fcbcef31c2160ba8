"""``step_order = "scheduler_first"``: the mistake of calling ``scheduler.step()`` before ``optimizer.step()``.

The engine must do exactly what torch does with that loop: the same lrs and losses, bit for bit,
as the plain torch loop of tests/plain_torch.py with the calls in that order (torch warns at the first
``scheduler.step()`` and the schedule runs one step ahead), with torch's warning recorded as a
``note`` event. The script ``main.py code`` writes for such a run puts the call where the
mistake puts it and still writes the CLI's CSVs byte for byte; a training state saved from such
a run resumes to a straight run's results. ReduceLROnPlateau refuses the option, with the reason.
"""

from __future__ import annotations

import pytest
import torch
from torch.optim import lr_scheduler as ls

from engine.checkpoint import load_state, save_state
from engine.codegen import generate
from engine.errors import ExperimentError, StateFileError
from engine.files import loads_experiment
from engine.results import write_results
from engine.session import TrainingSession
from tests.engine_helpers import experiment, train
from tests.plain_torch import train as plain_train
from tests.test_codegen import _check

SAMPLES, BATCH_SIZE, EPOCHS = 96, 16, 5  # 96 training samples (no validation set): 6 steps per epoch


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)


def adam(model):
    return torch.optim.Adam(model.parameters(), lr=0.05)


# name: (the run's optimizer and scheduler tables, the plain loop's optimizer, scheduler and interval)
CASES = {
    "StepLR per epoch": ({"type": "SGD", "lr": 0.1, "momentum": 0.5},
                         {"type": "StepLR", "step_size": 2, "gamma": 0.5},
                         sgd, lambda o: ls.StepLR(o, step_size=2, gamma=0.5), "epoch"),
    "LambdaLR per step": ({"type": "Adam", "lr": 0.05}, {"type": "LambdaLR", "lr_lambda": "0.9 ** epoch",
                                                          "interval": "step"},
                          adam, lambda o: ls.LambdaLR(o, lambda epoch: 0.9 ** epoch), "step"),
    "OneCycleLR per step": ({"type": "SGD", "lr": 0.1, "momentum": 0.5}, {"type": "OneCycleLR", "max_lr": 0.2},
                            sgd, lambda o: ls.OneCycleLR(o, max_lr=0.2, total_steps=EPOCHS * 6), "step"),
    "ChainedScheduler per epoch": (
        {"type": "Adam", "lr": 0.05},
        {"type": "ChainedScheduler", "schedulers": [{"type": "ConstantLR", "factor": 0.5, "total_iters": 2},
                                                    {"type": "ExponentialLR", "gamma": 0.8}]},
        adam, lambda o: ls.ChainedScheduler([ls.ConstantLR(o, factor=0.5, total_iters=2),
                                             ls.ExponentialLR(o, gamma=0.8)]), "epoch"),
    "SequentialLR per epoch": (
        {"type": "SGD", "lr": 0.1, "momentum": 0.5},
        {"type": "SequentialLR", "milestones": [2], "schedulers": [
            {"type": "LinearLR", "start_factor": 0.25, "total_iters": 2}, {"type": "ExponentialLR", "gamma": 0.7}]},
        sgd, lambda o: ls.SequentialLR(o, [ls.LinearLR(o, start_factor=0.25, total_iters=2),
                                           ls.ExponentialLR(o, gamma=0.7)], milestones=[2]), "epoch"),
    "CosineAnnealingWarmRestarts per epoch": (
        {"type": "Adam", "lr": 0.05}, {"type": "CosineAnnealingWarmRestarts", "T_0": 2},
        adam, lambda o: ls.CosineAnnealingWarmRestarts(o, T_0=2), "epoch"),
    "CosineAnnealingWarmRestarts fractional": (
        {"type": "Adam", "lr": 0.05}, {"type": "CosineAnnealingWarmRestarts", "T_0": 2, "interval": "fractional"},
        adam, lambda o: ls.CosineAnnealingWarmRestarts(o, T_0=2), "fractional"),
    "LBFGS, StepLR per epoch": (
        {"type": "LBFGS", "lr": 0.5, "max_iter": 3}, {"type": "StepLR", "step_size": 1, "gamma": 0.5},
        lambda m: torch.optim.LBFGS(m.parameters(), lr=0.5, max_iter=3),
        lambda o: ls.StepLR(o, step_size=1, gamma=0.5), "epoch"),
}


def _run(optimizer: dict, scheduler: dict, order: str = "scheduler_first"):
    exp = experiment([{"optimizer": optimizer, "scheduler": {**scheduler, "step_order": order}}],
                     epochs=EPOCHS, samples=SAMPLES, batch_size=BATCH_SIZE)
    _, (result,) = train(exp)
    return result


@pytest.mark.parametrize("case", list(CASES))
def test_the_engine_trains_as_torch_does_with_the_calls_reversed(case):
    optimizer, scheduler, make_optimizer, make_scheduler, interval = CASES[case]
    # (plain_train records torch's warnings from the loop only, not the constructors')
    plain = plain_train(make_optimizer, epochs=EPOCHS, make_scheduler=make_scheduler, interval=interval,
                        samples=SAMPLES, batch_size=BATCH_SIZE, closure=optimizer["type"] == "LBFGS",
                        scheduler_first=True)
    lrs, losses, warned = plain.lrs, plain.losses, plain.warnings
    result = _run(optimizer, scheduler)
    assert result.step_lr.tolist() == lrs
    assert result.step_loss.tolist() == losses
    notes = [e.detail for e in result.events if e.kind == "note"]
    assert all(e.step == 0 for e in result.events if e.kind == "note")
    if warned:  # torch's own words, once each (a ChainedScheduler's two schedulers warn alike)
        assert notes == [f"torch warns: {text}" for text in warned]
        assert any("Detected call of `lr_scheduler.step()` before `optimizer.step()`" in n for n in notes)
    else:  # CosineAnnealingWarmRestarts' step() is its own: no warning, and the engine says what happens
        assert len(notes) == 1 and "does not warn" in notes[0]


@pytest.mark.parametrize("case", ["StepLR per epoch", "LambdaLR per step", "CosineAnnealingWarmRestarts fractional"])
def test_the_predicted_schedule_is_the_trained_one(case):
    from engine.preview import predict_schedule

    optimizer, scheduler = CASES[case][:2]
    exp = experiment([{"optimizer": optimizer, "scheduler": {**scheduler, "step_order": "scheduler_first"},
                       "edits": [{"epoch": 2, "lr": 0.02}, {"step": 15, "lr": 0.01}]}],
                     epochs=EPOCHS, samples=SAMPLES, batch_size=BATCH_SIZE)
    _, (result,) = train(exp)
    prediction = predict_schedule(exp, 0)
    assert prediction.complete and prediction.results.step_lr.tolist() == result.step_lr.tolist()


def test_the_schedules_first_value_is_skipped_and_the_default_order_is_torchs():
    optimizer, scheduler = {"type": "SGD", "lr": 0.1}, {"type": "StepLR", "step_size": 1, "gamma": 0.5}
    first = _run(optimizer, scheduler)
    usual = _run(optimizer, scheduler, "optimizer_first")
    assert first.epoch_lr[:3, 0].tolist() == [0.05, 0.025, 0.0125]
    assert usual.epoch_lr[:3, 0].tolist() == [0.1, 0.05, 0.025]
    assert not [e for e in usual.events if e.kind == "note"]


def test_the_option_is_saved_only_when_it_is_set():
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.1},
                       "scheduler": {"type": "StepLR", "step_size": 2, "step_order": "scheduler_first"}},
                      {"optimizer": {"type": "SGD", "lr": 0.1}, "scheduler": {"type": "StepLR", "step_size": 2}}])
    first, usual = (run.to_dict()["scheduler"] for run in exp.runs)
    assert first["step_order"] == "scheduler_first" and "step_order" not in usual


@pytest.mark.parametrize("scheduler, path, words", [
    ({"type": "ReduceLROnPlateau", "step_order": "scheduler_first"}, "runs[0].scheduler.step_order",
     "loss of an epoch"),
    ({"type": "StepLR", "step_size": 2, "step_order": "backwards"}, "runs[0].scheduler.step_order",
     "optimizer_first"),
    ({"type": "SequentialLR", "milestones": [2], "schedulers": [
        {"type": "ConstantLR", "step_order": "scheduler_first"}, {"type": "ExponentialLR", "gamma": 0.9}]},
     "runs[0].scheduler.schedulers[0].step_order", "outer scheduler"),
])
def test_what_cannot_be_honoured_is_refused_with_the_reason(scheduler, path, words):
    with pytest.raises(ExperimentError) as info:
        experiment([{"optimizer": {"type": "SGD", "lr": 0.1}, "scheduler": scheduler}], val_fraction=0.2)
    assert info.value.path == path and words in str(info.value)


def _loop_lines(text: str) -> list[str]:
    lines = [line.split("  #")[0].strip() for line in text.splitlines()]
    heads = ("scheduler.step(", "optimizer.step(", "for epoch in", "for i, (")
    return [line for line in lines if line.startswith(heads)]


def test_the_script_writes_the_call_where_the_mistake_puts_it():
    base = 'epochs = 3\n[[runs]]\noptimizer = { type = "SGD", lr = 0.1 }\n'
    first = ', step_order = "scheduler_first" }\n'
    epoch = loads_experiment(base + 'scheduler = { type = "StepLR", step_size = 2' + first)
    step = loads_experiment(base + 'scheduler = { type = "OneCycleLR", max_lr = 0.2' + first)
    usual = loads_experiment(base + 'scheduler = { type = "StepLR", step_size = 2 }\n')
    assert _loop_lines(generate(epoch)) == ["for epoch in range(EPOCHS):", "scheduler.step()",
                                            "for i, (inputs, targets) in enumerate(batches):", "optimizer.step()"]
    assert _loop_lines(generate(step)) == ["for epoch in range(EPOCHS):", "for i, (inputs, targets) in "
                                           "enumerate(batches):", "scheduler.step()", "optimizer.step()"]
    assert _loop_lines(generate(usual)) == ["for epoch in range(EPOCHS):", "for i, (inputs, targets) in "
                                            "enumerate(batches):", "optimizer.step()", "scheduler.step()"]


# Every case above, with a validation set, plus the manual decay, edits at an epoch and at a step
# (the scheduler steps before the step's own edits, after the epoch's) and add_group mid-run.
SCRIPT_TABLE = """\
seed = 2
epochs = 5
model = "bottleneck"
[data]
samples = 96
batch_size = 16

[[runs]]
name = "StepLR first, manual decay, edits"
optimizer = { type = "SGD", lr = 0.1, momentum = 0.5 }
scheduler = { type = "StepLR", step_size = 2, gamma = 0.5, step_order = "scheduler_first" }
manual = { every = 2, factor = 0.9, start = 0 }
edits = [ { epoch = 2, lr = 0.3 }, { step = 13, group = 0, lr = 0.02 } ]

[[runs]]
name = "LambdaLR per step first, edits"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "LambdaLR", lr_lambda = "0.9 ** epoch", interval = "step", step_order = "scheduler_first" }
edits = [ { epoch = 1, lr = 0.2 }, { step = 6, lr = 0.01 }, { step = 9, lr = 0.04, rebase = true } ]

[[runs]]
name = "OneCycleLR first"
optimizer = { type = "SGD", lr = 0.1, momentum = 0.5 }
scheduler = { type = "OneCycleLR", max_lr = 0.2, step_order = "scheduler_first" }

[[runs]]
name = "ChainedScheduler first"
optimizer = { type = "Adam", lr = 0.05 }
[runs.scheduler]
type = "ChainedScheduler"
step_order = "scheduler_first"
schedulers = [ { type = "ConstantLR", factor = 0.5, total_iters = 2 }, { type = "ExponentialLR", gamma = 0.8 } ]

[[runs]]
name = "SequentialLR first"
optimizer = { type = "SGD", lr = 0.1 }
[runs.scheduler]
type = "SequentialLR"
step_order = "scheduler_first"
milestones = [2]
schedulers = [ { type = "LinearLR", start_factor = 0.25, total_iters = 2 }, { type = "ExponentialLR", gamma = 0.7 } ]

[[runs]]
name = "warm restarts first"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "CosineAnnealingWarmRestarts", T_0 = 2, step_order = "scheduler_first" }

[[runs]]
name = "warm restarts fractional first"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "CosineAnnealingWarmRestarts", T_0 = 2, interval = "fractional", step_order = "scheduler_first" }

[[runs]]
name = "add_group under StepLR first"
optimizer = { type = "Adam" }
groups = [ { module = "layer", lr = 0.05 } ]
scheduler = { type = "StepLR", step_size = 2, gamma = 0.5, step_order = "scheduler_first" }
edits = [ { epoch = 2, add_group = { module = "layer2", lr = 0.01 } } ]

[[runs]]
name = "LBFGS first"
optimizer = { type = "LBFGS", lr = 0.5, max_iter = 3 }
scheduler = { type = "StepLR", step_size = 1, gamma = 0.5, step_order = "scheduler_first" }
"""


def test_the_script_of_scheduler_first_runs_writes_the_clis_csvs(tmp_path):
    path = tmp_path / "scheduler-first.toml"
    path.write_text(SCRIPT_TABLE, encoding="utf-8")
    _check(path, tmp_path)


# -- training states ---------------------------------------------------------------------------------
STATE_RUNS = [
    {"name": "epoch", "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
     "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5, "step_order": "scheduler_first"}},
    {"name": "step", "optimizer": {"type": "Adam", "lr": 0.01},
     "scheduler": {"type": "OneCycleLR", "max_lr": 0.1, "step_order": "scheduler_first"}},
    {"name": "fractional", "optimizer": {"type": "Adam", "lr": 0.01},
     "scheduler": {"type": "CosineAnnealingWarmRestarts", "T_0": 2, "interval": "fractional",
                   "step_order": "scheduler_first"}},
]


def _state_experiment(runs=STATE_RUNS):
    return experiment(runs, epochs=4, samples=80, batch_size=16, val_fraction=0.2, model="bottleneck")


def _csv(session, directory) -> dict[str, str]:
    write_results(session.snapshot(), directory)
    return {p.name: p.read_text() for p in directory.iterdir()}


@pytest.mark.parametrize("saved_at", [0, 4, 5, 9])  # at the start, at an epoch's start, inside epochs 1 and 2
def test_a_saved_state_resumes_to_a_straight_run(saved_at, tmp_path):
    first = TrainingSession(_state_experiment())
    first.run(max_steps=saved_at)
    save_state(first, tmp_path / "s.pt")
    resumed = TrainingSession(_state_experiment(), state=load_state(tmp_path / "s.pt"))
    resumed.run()
    straight = TrainingSession(_state_experiment())
    straight.run()
    assert _csv(resumed, tmp_path / "a") == _csv(straight, tmp_path / "b")


def test_a_state_does_not_resume_under_the_other_order(tmp_path):
    session = TrainingSession(_state_experiment())
    session.run(max_steps=5)
    save_state(session, tmp_path / "s.pt")
    usual = [dict(r, scheduler={k: v for k, v in r["scheduler"].items() if k != "step_order"}) for r in STATE_RUNS]
    with pytest.raises(StateFileError) as info:
        TrainingSession(_state_experiment(usual), state=load_state(tmp_path / "s.pt"))
    assert "runs[0].scheduler" in str(info.value) and "scheduler_first" in str(info.value)
