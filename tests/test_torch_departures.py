"""Where the engine used to depart from torch (issue 9, items 1, 2 and 5), each against plain torch.

The references build the torch optimizer and scheduler directly (no engine code) and say what
torch 2.13 does; the engine must accept, refuse and train exactly as they do:

* an expression is checked at exactly the values torch calls it with, per class and per nesting
  (MultiplicativeLR's lr_lambda never sees epoch 0 unless a SequentialLR restarts it there);
* ``lr = 0`` is an lr torch accepts (``0.0 <= lr``), for an optimizer, a group, an edit or an
  added group, and CyclicLR's and OneCycleLR's bounds;
* a schedule torch fails at after the first step (OneCycleLR with ``pct_start = 1.0`` divides by
  zero at its last step) is refused before training, naming the step and torch's reason.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import torch
from torch.optim import lr_scheduler as ls

from engine.errors import ExperimentError
from engine.parse import parse_experiment
from engine.session import TrainingSession
from engine.trial import trial_experiment
from tests.cli_helpers import main_in_process
from tests.engine_helpers import experiment, train

ROOT = Path(__file__).resolve().parent.parent
SGD = {"type": "SGD", "lr": 0.1, "momentum": 0.9}


def _optimizer(lrs=(0.1,)) -> torch.optim.SGD:
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in lrs]
    return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=0.1, momentum=0.9)


def _step(scheduler, optimizer, n: int) -> list[float]:
    """The first group's lr before each of ``n`` scheduler steps and after the last."""
    lrs = [optimizer.param_groups[0]["lr"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n):
            optimizer.step()
            scheduler.step()
            lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def _raw(scheduler: dict, *, epochs: int, optimizer=SGD, **run) -> dict:
    return {"epochs": epochs, "data": {"samples": 128, "batch_size": 32, "val_fraction": 0.0},
            "runs": [{"name": "r", "optimizer": optimizer, "scheduler": scheduler, **run}]}


# -- 1. expressions at the values torch passes them ----------------------------------------------------
def test_multiplicative_lambda_is_never_called_at_epoch_zero_and_trains_as_torch():
    optimizer = _optimizer()
    calls = []
    scheduler = ls.MultiplicativeLR(optimizer, lambda epoch: calls.append(epoch) or 1 - 0.1 / epoch)
    expected = _step(scheduler, optimizer, 3)
    assert calls == [1, 2, 3]
    assert expected == pytest.approx([0.1, 0.09, 0.0855, 0.08265], rel=1e-12)

    exp = experiment([{"optimizer": SGD, "scheduler": {"type": "MultiplicativeLR", "lr_lambda": "1 - 0.1 / epoch"}}],
                     epochs=4)  # trial step and schedule stepped to its end included
    _, (result,) = train(exp)
    assert result.step_lr[::4, 0].tolist() == expected  # the lr of each epoch, bit for bit


def _recorder(calls: list):
    def f(x):
        calls.append(x)
        return 1.0
    return f


# (engine scheduler with "{f}" where the expression goes, the same built by hand with f there, epochs).
# The engine's expression is 1 / (v - k): it fails at v = k only; torch's f records every value.
SEQ_MULT = ({"type": "SequentialLR", "milestones": [2, 4], "schedulers": [
                {"type": "ConstantLR", "factor": 0.5, "total_iters": 1},
                {"type": "MultiplicativeLR", "lr_lambda": "{f}"},
                {"type": "MultiplicativeLR", "lr_lambda": "0.9"}]},
            lambda o, f: ls.SequentialLR(o, [ls.ConstantLR(o, factor=0.5, total_iters=1), ls.MultiplicativeLR(o, f),
                                             ls.MultiplicativeLR(o, lambda e: 0.9)], milestones=[2, 4]), 6)
CASES = {
    "LambdaLR": ({"type": "LambdaLR", "lr_lambda": "{f}"}, lambda o, f: ls.LambdaLR(o, f), 5),
    "MultiplicativeLR": ({"type": "MultiplicativeLR", "lr_lambda": "{f}"}, lambda o, f: ls.MultiplicativeLR(o, f), 5),
    "MultiplicativeLR per step": ({"type": "MultiplicativeLR", "lr_lambda": "{f}", "interval": "step"},
                                  lambda o, f: ls.MultiplicativeLR(o, f), 3),  # 3 epochs x 4 steps
    "MultiplicativeLR restarted at a milestone": SEQ_MULT,
    "MultiplicativeLR first in SequentialLR": (
        {"type": "SequentialLR", "milestones": [3], "schedulers": [
            {"type": "MultiplicativeLR", "lr_lambda": "{f}"}, {"type": "ConstantLR", "factor": 0.5}]},
        lambda o, f: ls.SequentialLR(o, [ls.MultiplicativeLR(o, f), ls.ConstantLR(o, factor=0.5)], milestones=[3]), 6),
    "MultiplicativeLR past the run's end": (
        {"type": "SequentialLR", "milestones": [9], "schedulers": [
            {"type": "ConstantLR", "factor": 0.5}, {"type": "MultiplicativeLR", "lr_lambda": "{f}"}]},
        lambda o, f: ls.SequentialLR(o, [ls.ConstantLR(o, factor=0.5), ls.MultiplicativeLR(o, f)], milestones=[9]), 5),
    "LambdaLR past the run's end": (
        {"type": "SequentialLR", "milestones": [9], "schedulers": [
            {"type": "ConstantLR", "factor": 0.5}, {"type": "LambdaLR", "lr_lambda": "{f}"}]},
        lambda o, f: ls.SequentialLR(o, [ls.ConstantLR(o, factor=0.5), ls.LambdaLR(o, f)], milestones=[9]), 5),
    "MultiplicativeLR in ChainedScheduler": (
        {"type": "ChainedScheduler", "schedulers": [
            {"type": "MultiplicativeLR", "lr_lambda": "{f}"}, {"type": "ConstantLR", "factor": 0.5}]},
        lambda o, f: ls.ChainedScheduler([ls.MultiplicativeLR(o, f), ls.ConstantLR(o, factor=0.5)]), 5),
    "MultiplicativeLR in a ChainedScheduler first in SequentialLR": (
        {"type": "SequentialLR", "milestones": [3], "schedulers": [
            {"type": "ChainedScheduler", "schedulers": [
                {"type": "MultiplicativeLR", "lr_lambda": "{f}"}, {"type": "ConstantLR", "factor": 0.5}]},
            {"type": "ConstantLR", "factor": 0.5}]},
        lambda o, f: ls.SequentialLR(o, [ls.ChainedScheduler([ls.MultiplicativeLR(o, f), ls.ConstantLR(o, factor=0.5)]),
                                         ls.ConstantLR(o, factor=0.5)], milestones=[3]), 6),
    "MultiplicativeLR in a SequentialLR in ChainedScheduler": (
        {"type": "ChainedScheduler", "schedulers": [
            {"type": "SequentialLR", "milestones": [2], "schedulers": [
                {"type": "ConstantLR", "factor": 0.5}, {"type": "MultiplicativeLR", "lr_lambda": "{f}"}]},
            {"type": "ConstantLR", "factor": 0.5}]},
        lambda o, f: ls.ChainedScheduler([ls.SequentialLR(o, [ls.ConstantLR(o, factor=0.5), ls.MultiplicativeLR(o, f)],
                                                          milestones=[2]), ls.ConstantLR(o, factor=0.5)]), 5),
    "CyclicLR scale_fn by cycle": (
        {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "step_size_down": 1,
         "scale_fn": "{f}", "scale_mode": "cycle", "interval": "epoch"},
        lambda o, f: ls.CyclicLR(o, 0.01, 0.1, step_size_up=2, step_size_down=1, scale_fn=f, scale_mode="cycle"), 10),
    "CyclicLR scale_fn by iteration": (
        {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "scale_fn": "{f}",
         "scale_mode": "iterations", "interval": "epoch"},
        lambda o, f: ls.CyclicLR(o, 0.01, 0.1, step_size_up=2, scale_fn=f, scale_mode="iterations"), 6),
}


def _with(table, text: str):
    if isinstance(table, dict):
        return {k: _with(v, text) for k, v in table.items()}
    if isinstance(table, list):
        return [_with(v, text) for v in table]
    return text if table == "{f}" else table


@pytest.mark.parametrize("name", CASES)
def test_expressions_are_checked_at_exactly_the_values_torch_passes(name):
    table, build, epochs = CASES[name]
    steps = epochs * 4 if table.get("interval") == "step" else epochs
    calls: list = []
    optimizer = _optimizer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _step(build(optimizer, _recorder(calls)), optimizer, steps)
    variable = "x" if table["type"] == "CyclicLR" else "epoch"
    refused = set()
    for k in range(-2, steps + 3):
        raw = _raw(_with(table, f"1 / ({variable} - ({k}))"), epochs=epochs)
        try:
            parse_experiment(raw)
        except ExperimentError as error:
            assert "division by zero" in error.message and f"{variable} = {k}" in error.message, error.message
            refused.add(k)
    assert refused == set(calls)


def test_the_quick_check_is_a_sample_of_the_same_values():
    raw = _raw({"type": "MultiplicativeLR", "lr_lambda": "1 / epoch"}, epochs=10_000)
    parse_experiment(raw, quick=True)  # never 0: torch does not call it there
    with pytest.raises(ExperimentError, match="torch calls it with epoch = 1 to 10000"):
        parse_experiment(_raw({"type": "MultiplicativeLR", "lr_lambda": "1 / (epoch - 10000)"}, epochs=10_000),
                         quick=True)


# -- 2. lr = 0 ---------------------------------------------------------------------------------------
def test_torch_accepts_lr_zero_everywhere_and_so_does_the_engine():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cls in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop):
            cls([torch.nn.Parameter(torch.zeros(1))], lr=0.0)
        ls.CyclicLR(_optimizer(), base_lr=0.0, max_lr=0.0)
        ls.OneCycleLR(_optimizer(), max_lr=0.0, total_steps=10)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=-0.1)

    for raw in (
        _raw({"type": "StepLR", "step_size": 2}, epochs=3, optimizer={"type": "Adam", "lr": 0}),
        _raw({"type": "StepLR", "step_size": 2}, epochs=3, groups=[{"module": "layer", "lr": 0.0}]),
        _raw({"type": "StepLR", "step_size": 2}, epochs=3, edits=[{"epoch": 1, "lr": 0}, {"step": 9, "lr": 0.0}]),
        {**_raw({"type": "StepLR", "step_size": 2}, epochs=3, groups=[{"module": "layer", "lr": 0.1}],
                edits=[{"epoch": 1, "add_group": {"module": "layer2", "lr": 0}}]), "model": "bottleneck"},
        _raw({"type": "CyclicLR", "base_lr": 0, "max_lr": 0}, epochs=3),
        _raw({"type": "OneCycleLR", "max_lr": 0}, epochs=3),
        _raw({"type": "CyclicLR", "base_lr": [0.01], "max_lr": [0.0]}, epochs=3),
    ):
        trial_experiment(parse_experiment(raw))  # with the trial step and the schedule to its end
    with pytest.raises(ExperimentError, match="expected a number >= 0"):
        parse_experiment(_raw({"type": "StepLR", "step_size": 2}, epochs=3, edits=[{"epoch": 1, "lr": -0.01}]))


def test_a_group_at_lr_zero_is_paused_and_its_lrs_are_torch_s():
    # torch: a group with lr 0 keeps its parameters; StepLR scales 0 to 0; an edit to 0 pauses a group
    params = [torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))]
    optimizer = torch.optim.SGD([{"params": [params[0]], "lr": 0.0}, {"params": [params[1]], "lr": 0.1}],
                                lr=0.1, momentum=0.9)
    scheduler = ls.StepLR(optimizer, step_size=2, gamma=0.5)
    expected = []
    for epoch in range(5):
        if epoch == 3:
            optimizer.param_groups[1]["lr"] = 0.0
        for _ in range(4):
            expected.append([g["lr"] for g in optimizer.param_groups])
            optimizer.zero_grad()
            (params[0].sum() + params[1].sum()).backward()
            optimizer.step()
        scheduler.step()
    assert params[0].tolist() == [1.0, 1.0]

    exp = experiment([{"optimizer": SGD, "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5},
                       "groups": [{"module": "layer", "lr": 0}, {"module": "layer2", "lr": 0.1}],
                       "edits": [{"epoch": 3, "group": 1, "lr": 0}]}], epochs=5, model="bottleneck")
    session = TrainingSession(exp)
    model = session.runs[0].model
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    session.run()
    (result,) = session.snapshot()
    assert result.step_lr.tolist() == expected
    assert session.runs[0].status == "finished"
    for name, p in model.named_parameters():
        assert torch.equal(p, before[name]) == name.startswith("layer."), name  # only layer2 moved
    assert all(math.isfinite(x) for x in result.step_loss)


# -- 5. a schedule torch fails at after the first step -----------------------------------------------
def test_onecycle_pct_start_one_fails_in_torch_at_its_last_step_and_is_refused_before_training():
    optimizer = _optimizer()
    scheduler = ls.OneCycleLR(optimizer, max_lr=0.1, total_steps=24, pct_start=1.0)
    _step(scheduler, optimizer, 23)
    with pytest.raises(ZeroDivisionError):
        _step(scheduler, optimizer, 1)

    raw = _raw({"type": "OneCycleLR", "max_lr": 0.1, "pct_start": 1.0}, epochs=6)  # 6 x 4 = 24 steps
    parse_experiment(raw, quick=True)  # the window's check while typing cannot see it
    with pytest.raises(ExperimentError) as info:
        trial_experiment(parse_experiment(raw))
    assert info.value.path == "runs[0].scheduler"
    assert info.value.message == ("torch fails at scheduler step 24 of 24 (after step 23): "
                                  "ZeroDivisionError: float division by zero")
    raw["runs"][0]["scheduler"]["total_steps"] = 25  # a cycle longer than the run never gets there
    trial_experiment(parse_experiment(raw))


def test_a_long_schedule_is_stepped_at_its_start_and_its_end(monkeypatch):
    import engine.trial

    monkeypatch.setattr(engine.trial, "SCHEDULE_CHECK_STEPS", 10)
    with pytest.raises(ExperimentError, match="torch fails at scheduler step 24 of 24"):
        trial_experiment(parse_experiment(_raw({"type": "OneCycleLR", "max_lr": 0.1, "pct_start": 1.0},
                                               epochs=6)))
    trial_experiment(parse_experiment(_raw({"type": "OneCycleLR", "max_lr": 0.1, "pct_start": 0.9}, epochs=6)))


def test_a_scheduler_of_schedulers_after_a_milestone_is_refused_as_torch_fails_there():
    optimizer = _optimizer()
    scheduler = ls.SequentialLR(optimizer, [ls.ConstantLR(optimizer, factor=0.5),
                                            ls.ChainedScheduler([ls.ExponentialLR(optimizer, 0.9)])], milestones=[2])
    _step(scheduler, optimizer, 1)
    with pytest.raises(NotImplementedError):
        _step(scheduler, optimizer, 1)

    table = {"type": "SequentialLR", "milestones": [2], "schedulers": [
        {"type": "ConstantLR", "factor": 0.5},
        {"type": "ChainedScheduler", "schedulers": [{"type": "ExponentialLR", "gamma": 0.9}]}]}
    with pytest.raises(ExperimentError) as info:
        parse_experiment(_raw(table, epochs=5), quick=True)
    assert info.value.path == "runs[0].scheduler.schedulers[1].type"
    assert "torch cannot restart ChainedScheduler at milestone 2" in info.value.message
    table["milestones"] = [6]  # past the run (5 scheduler steps): torch never restarts it
    trial_experiment(parse_experiment(_raw(table, epochs=5)))


def test_main_py_run_refuses_it_with_exit_2_before_the_first_step(tmp_path, monkeypatch):
    (tmp_path / "e.toml").write_text(
        'epochs = 6\n[data]\nsamples = 128\nbatch_size = 32\nval_fraction = 0.0\n[[runs]]\nname = "c"\n'
        'optimizer = { type = "SGD", lr = 0.1, momentum = 0.9 }\n'
        'scheduler = { type = "OneCycleLR", max_lr = 0.1, pct_start = 1.0 }\n')
    monkeypatch.chdir(tmp_path)
    result = main_in_process("run", "e.toml", "--out", "out")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [(
        "error: runs[0].scheduler: torch fails at scheduler step 24 of 24 (after step 23): "
        "ZeroDivisionError: float division by zero")]
    assert not (tmp_path / "out").exists() and result.stdout == ""
