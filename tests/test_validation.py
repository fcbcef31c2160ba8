"""Table-driven validation: every bad input is one ExperimentError naming the field path.

Each case changes one thing in a small valid experiment and states the exact path and a
meaningful part of the message. The same table is run from a dict, from TOML text and
(where the check does not need torch) without the trial step. A seeded fuzz test then checks
that no input whatsoever escapes as anything but an ExperimentError.
"""

from __future__ import annotations

import copy
import math
import random
import re

import pytest
import tomli_w

from engine.config import Experiment
from engine.errors import ExperimentError
from engine.files import load_experiment, loads_experiment
from engine.parse import parse_experiment
from engine.trial import trial_experiment

DELETE = object()

# 128 samples, val 0.2 -> 26 val, 102 train, batch 32 -> 4 steps per epoch, 24 steps in all.
BASE = {"seed": 0, "epochs": 6, "model": "article", "data": {"samples": 128, "batch_size": 32},
        "runs": [{"name": "r", "optimizer": {"type": "Adam", "lr": 0.1}}]}
RUN = BASE["runs"][0]


def _keys(path: str):
    return [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]


def changed(changes: dict) -> dict:
    """A deep copy of BASE with ``{"runs[0].scheduler.gamma": value, ...}`` applied."""
    raw = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, last = _keys(path)
        target = raw
        for key in parents:
            target = target[key]
        if value is DELETE:
            del target[last]
        elif isinstance(target, list) and last == len(target):
            target.append(copy.deepcopy(value))
        else:
            target[last] = copy.deepcopy(value)
    return raw


def sched(**options):
    return {"runs[0].scheduler": options}


TWO_GROUPS = [{"module": "layer", "lr": 0.1}, {"module": "layer2", "lr": 0.2}]
NESTED = [{"type": "StepLR", "step_size": 2}, {"type": "ExponentialLR", "gamma": 0.9}]

# (id, changes, expected path, expected part of the message)
CASES = [
    ("wrong-type-gamma", sched(type="StepLR", step_size=2, gamma="half"),
     "runs[0].scheduler.gamma", 'expected a number > 0, got "half"'),
    ("unknown-key-gama", sched(type="StepLR", step_size=2, gama=0.5),
     "runs[0].scheduler.gama", 'unknown key (did you mean "gamma"?)'),
    ("unknown-top-key", {"epoch": 5}, "epoch", 'did you mean "epochs"?'),
    ("unknown-run-key", {"runs[0].optimiser": {}}, "runs[0].optimiser", 'did you mean "optimizer"?'),
    ("unknown-data-key", {"data.batchsize": 8}, "data.batchsize", 'did you mean "batch_size"?'),
    ("unknown-optimizer-key", {"runs[0].optimizer.betass": [0.9, 0.99]}, "runs[0].optimizer.betass",
     'did you mean "betas"?'),
    ("lr-negative", {"runs[0].optimizer.lr": -0.1}, "runs[0].optimizer.lr", "expected a number >= 0"),
    ("lr-nan", {"runs[0].optimizer.lr": math.nan}, "runs[0].optimizer.lr", "got nan"),
    ("lr-inf", {"runs[0].optimizer.lr": math.inf}, "runs[0].optimizer.lr", "got inf"),
    ("lr-string", {"runs[0].optimizer.lr": "0.1"}, "runs[0].optimizer.lr", 'got "0.1"'),
    ("lr-bool", {"runs[0].optimizer.lr": True}, "runs[0].optimizer.lr", "got true"),
    ("group-lr-negative", {"runs[0].groups": [{"module": "layer", "lr": -0.5}]}, "runs[0].groups[0].lr",
     "expected a number >= 0"),
    ("betas-length", {"runs[0].optimizer.betas": [0.9]}, "runs[0].optimizer.betas", "expected a list of 2 numbers"),
    ("betas-item", {"runs[0].optimizer.betas": [0.9, 1.0]}, "runs[0].optimizer.betas[1]", "< 1, got 1.0"),
    ("step-size-zero", sched(type="StepLR", step_size=0), "runs[0].scheduler.step_size",
     "expected a whole number >= 1, got 0"),
    ("step-size-float", sched(type="StepLR", step_size=2.5), "runs[0].scheduler.step_size",
     "expected a whole number >= 1, got 2.5"),
    ("step-size-missing", sched(type="StepLR"), "runs[0].scheduler.step_size", "missing; StepLR needs it"),
    ("t-max-zero", sched(type="CosineAnnealingLR", T_max=0), "runs[0].scheduler.T_max",
     "expected a whole number >= 1, got 0"),
    ("epochs-zero", {"epochs": 0}, "epochs", "expected a whole number >= 1"),
    ("epochs-string", {"epochs": "10"}, "epochs", 'got "10"'),
    ("model-unknown", {"model": "resnet"}, "model", 'expected one of "article", "bottleneck"'),
    ("seed-negative", {"seed": -1}, "seed", "expected a whole number >= 0"),
    ("edit-group-missing", {"runs[0].edits": [{"epoch": 2, "group": 1, "lr": 0.05}]},
     "runs[0].edits[0].group", "from 0 to 0 (the run has 1 param group at epoch 2), got 1"),
    ("edit-group-before-add", {"runs[0].groups": [{"module": "layer"}], "runs[0].edits": [
        {"epoch": 2, "add_group": {"module": "layer2"}}, {"epoch": 1, "group": 1, "lr": 0.05}]},
     "runs[0].edits[1].group", "the run has 1 param group at epoch 1"),
    ("group-module-unknown", {"runs[0].groups": [{"module": "layer3", "lr": 0.1}]}, "runs[0].groups[0].module",
     'expected one of "layer", "layer2", got "layer3"'),
    ("group-module-missing", {"runs[0].groups": [{"lr": 0.1}]}, "runs[0].groups[0].module", "missing"),
    ("same-module-twice", {"runs[0].groups": [{"module": "layer"}, {"module": "layer"}]},
     "runs[0].groups[1].module", "one group only"),
    ("add-group-module-taken", {"runs[0].groups": [{"module": "layer"}],
                                "runs[0].edits": [{"epoch": 2, "add_group": {"module": "layer"}}]},
     "runs[0].edits[0].add_group.module", "layer is already in a param group at epoch 2"),
    ("add-group-without-groups", {"runs[0].edits": [{"epoch": 2, "add_group": {"module": "layer2"}}]},
     "runs[0].edits[0].add_group.module", "every module is already in the run's single param group"),
    ("unknown-scheduler", sched(type="StepLr", step_size=2), "runs[0].scheduler.type",
     'unknown scheduler "StepLr" (did you mean "StepLR"?)'),
    ("unknown-optimizer", {"runs[0].optimizer.type": "Adamm"}, "runs[0].optimizer.type",
     'unknown optimizer "Adamm" (did you mean "Adam"?)'),
    ("optimizer-wrong-case", {"runs[0].optimizer.type": "sgd"}, "runs[0].optimizer.type", 'did you mean "SGD"?'),
    ("sparse-adam", {"runs[0].optimizer.type": "SparseAdam"}, "runs[0].optimizer.type",
     "SparseAdam cannot train this model: SparseAdam needs sparse gradients"),
    ("muon", {"runs[0].optimizer.type": "Muon"}, "runs[0].optimizer.type",
     "Muon cannot train this model: Muon only optimizes 2-d weight matrices"),
    ("capturable", {"runs[0].optimizer.capturable": True}, "runs[0].optimizer.capturable",
     "not available here: capturable is for CUDA graphs"),
    ("differentiable", {"runs[0].optimizer.differentiable": False}, "runs[0].optimizer.differentiable",
     "not available here"),
    ("sequential-milestones", sched(type="SequentialLR", schedulers=NESTED, milestones=[2, 4]),
     "runs[0].scheduler.milestones", "expected 1 milestone(s), one fewer than schedulers (2), got 2"),
    ("plateau-in-sequential", sched(type="SequentialLR", milestones=[2],
                                    schedulers=[{"type": "StepLR", "step_size": 2}, {"type": "ReduceLROnPlateau"}]),
     "runs[0].scheduler.schedulers[1].type", "ReduceLROnPlateau cannot be nested in SequentialLR"),
    ("plateau-in-chained", sched(type="ChainedScheduler", schedulers=[{"type": "ReduceLROnPlateau"}]),
     "runs[0].scheduler.schedulers[0].type", "cannot be nested in ChainedScheduler"),
    ("chained-after-milestone", sched(type="SequentialLR", milestones=[2], schedulers=[
        {"type": "StepLR", "step_size": 2}, {"type": "ChainedScheduler", "schedulers": NESTED}]),
     "runs[0].scheduler.schedulers[1].type", "torch cannot restart ChainedScheduler at milestone 2"),
    ("nested-without-type", sched(type="ChainedScheduler", schedulers=[{"gamma": 0.9}]),
     "runs[0].scheduler.schedulers[0].type", "missing"),
    ("monitor-val-without-val", {"data.val_fraction": 0, **sched(type="ReduceLROnPlateau", monitor="val_loss")},
     "runs[0].scheduler.monitor", "needs a validation set (data.val_fraction > 0)"),
    ("default-monitor-without-val", {"data.val_fraction": 0, **sched(type="ReduceLROnPlateau")},
     "runs[0].scheduler.monitor", "needs a validation set"),
    ("monitor-unknown", sched(type="ReduceLROnPlateau", monitor="loss"), "runs[0].scheduler.monitor",
     'expected one of "val_loss", "train_loss", got "loss"'),
    ("onecycle-total-steps", sched(type="OneCycleLR", max_lr=0.1, total_steps=5), "runs[0].scheduler.total_steps",
     "OneCycleLR is stepped 24 times in this run (6 epochs x 4 steps"),
    ("onecycle-epochs", sched(type="OneCycleLR", max_lr=0.1, epochs=5, steps_per_epoch=4),
     "runs[0].scheduler.epochs", "its total_steps is 20 (epochs x steps_per_epoch)"),
    ("onecycle-half-given", sched(type="OneCycleLR", max_lr=0.1, epochs=6), "runs[0].scheduler.epochs",
     "give total_steps, or both epochs and steps_per_epoch"),
    ("cyclic-momentum-adagrad", {"runs[0].optimizer": {"type": "Adagrad", "lr": 0.1},
                                 **sched(type="CyclicLR", base_lr=0.01, max_lr=0.1)},
     "runs[0].scheduler.cycle_momentum", "Adagrad has neither momentum nor betas to cycle"),
    ("lambda-list-length", sched(type="LambdaLR", lr_lambda=["0.9 ** epoch", "0.8 ** epoch"]),
     "runs[0].scheduler.lr_lambda", "one per param group, got 2"),
    ("max-lr-list-length", {"runs[0].groups": TWO_GROUPS, **sched(type="OneCycleLR", max_lr=[0.1])},
     "runs[0].scheduler.max_lr", "expected 2 values, one per param group, got 1"),
    ("lambda-list-with-add-group", {"runs[0].groups": [{"module": "layer"}],
                                    "runs[0].edits": [{"epoch": 2, "add_group": {"module": "layer2"}}],
                                    **sched(type="LambdaLR", lr_lambda=["1", "1", "1"])},
     "runs[0].scheduler.lr_lambda", "expected 1 to 2 (counting the groups add_group edits add) values"),
    ("lambda-not-expression", sched(type="LambdaLR", lr_lambda='__import__("os")'), "runs[0].scheduler.lr_lambda",
     'unknown function "__import__"'),
    ("edit-epoch-and-step", {"runs[0].edits": [{"epoch": 2, "step": 3, "lr": 0.05}]}, "runs[0].edits[0]",
     "exactly one of epoch or step"),
    ("edit-neither", {"runs[0].edits": [{"lr": 0.05}]}, "runs[0].edits[0]", "exactly one of epoch or step"),
    ("edit-nothing-to-set", {"runs[0].edits": [{"epoch": 2}]}, "runs[0].edits[0]", "needs something to set"),
    ("edit-epoch-too-late", {"runs[0].edits": [{"epoch": 6, "lr": 0.05}]}, "runs[0].edits[0].epoch",
     "< 6 (epochs), got 6"),
    ("edit-step-too-late", {"runs[0].edits": [{"step": 24, "lr": 0.05}]}, "runs[0].edits[0].step",
     "< 24 (6 epochs x 4 steps), got 24"),
    ("edit-lr-negative", {"runs[0].edits": [{"epoch": 1, "lr": -1e-3}]}, "runs[0].edits[0].lr",
     "expected a number >= 0"),
    ("edit-option-not-of-optimizer", {"runs[0].edits": [{"epoch": 1, "momentum": 0.5}]}, "runs[0].edits[0].momentum",
     "unknown key"),
    ("rebase-without-lr", {"runs[0].edits": [{"epoch": 2, "weight_decay": 0.01, "rebase": True}]},
     "runs[0].edits[0].rebase", "rebase only applies to an lr edit"),
    ("add-group-with-lr", {"runs[0].groups": [{"module": "layer"}],
                           "runs[0].edits": [{"epoch": 2, "lr": 0.1, "add_group": {"module": "layer2"}}]},
     "runs[0].edits[0]", "an add_group edit only adds a group"),
    ("edits-not-list", {"runs[0].edits": {"epoch": 2, "lr": 0.1}}, "runs[0].edits", "expected a list of tables"),
    ("manual-every-zero", {"runs[0].manual": {"every": 0, "factor": 0.9}}, "runs[0].manual.every",
     "expected a whole number >= 1, got 0"),
    ("manual-factor-missing", {"runs[0].manual": {"every": 5}}, "runs[0].manual.factor", "missing"),
    ("manual-unknown-key", {"runs[0].manual": {"every": 5, "factor": 0.9, "strat": 0}}, "runs[0].manual.strat",
     'did you mean "start"?'),
    ("duplicate-run-names", {"runs[1]": RUN}, "runs[1].name", '"r" is already the name of runs[0]'),
    ("empty-run-name", {"runs[0].name": "  "}, "runs[0].name", "non-empty"),
    ("no-runs", {"runs": []}, "runs", "expected at least one [[runs]] table"),
    ("runs-missing", {"runs": DELETE}, "runs", "expected at least one [[runs]] table"),
    ("run-without-optimizer", {"runs[0].optimizer": DELETE}, "runs[0].optimizer", "missing"),
    ("title-not-text", {"title": 5}, "title", "expected a string, got 5"),
    ("groups-empty", {"runs[0].groups": []}, "runs[0].groups",
     'no param group: list at least one module to train (e.g. { module = "layer", lr = 0.1 }), '
     "or leave groups out to train every parameter"),
    ("groups-not-list", {"runs[0].groups": {"module": "layer"}}, "runs[0].groups",
     'expected a list of tables such as { module = "layer", lr = 0.1 }, got a table'),
    ("val-fraction-one", {"data.val_fraction": 1}, "data.val_fraction", "expected a number >= 0 and < 1"),
    ("no-training-samples", {"data.samples": 2, "data.val_fraction": 0.9}, "data.val_fraction",
     "leaves no training samples"),
    ("batch-size-zero", {"data.batch_size": 0}, "data.batch_size", "expected a whole number >= 1, got 0"),
    ("samples-one", {"data.samples": 1}, "data.samples", "expected a whole number >= 2"),
    ("data-not-table", {"data": 5}, "data", "expected a table"),
    ("interval-batch", sched(type="StepLR", step_size=2, interval="batch"), "runs[0].scheduler.interval",
     'expected one of "epoch", "step", got "batch"'),
    ("plateau-interval-step", sched(type="ReduceLROnPlateau", interval="step"), "runs[0].scheduler.interval",
     'stepped with an epoch\'s loss (scheduler.step(metrics)) at the end of each epoch, so "step" is not available'),
    ("interval-on-nested", sched(type="SequentialLR", milestones=[2], schedulers=[
        {"type": "StepLR", "step_size": 2, "interval": "step"}, {"type": "ExponentialLR", "gamma": 0.9}]),
     "runs[0].scheduler.schedulers[0].interval", "set interval on the outer scheduler"),
    ("lbfgs-add-group", {"runs[0].optimizer": {"type": "LBFGS", "lr": 0.1}, "runs[0].groups": [{"module": "layer"}],
                         "runs[0].edits": [{"epoch": 1, "add_group": {"module": "layer2"}}]},
     "runs[0].edits[0].add_group", "LBFGS"),
    ("nesterov-without-momentum", {"runs[0].optimizer": {"type": "SGD", "lr": 0.1, "nesterov": True}},
     "runs[0].optimizer", "torch refused it"),
]
IDS = [case[0] for case in CASES]
TRIAL_ONLY = {"nesterov-without-momentum"}  # only torch itself refuses these


def _check(error: ExperimentError, path: str, part: str) -> None:
    assert error.path == path, f"path {error.path!r}, message {error.message!r}"
    assert part in error.message
    assert str(error) == f"{path}: {error.message}"


# Each case from a dict and from TOML text (each with the trial step), and without torch's trial (except
# what only torch refuses).
VIAS = [pytest.param(*case, via, id=f"{case[0]}-{via}") for case in CASES for via in ("dict", "toml", "no-trial")
        if not (via == "no-trial" and case[0] in TRIAL_ONLY)]


@pytest.mark.parametrize("name, changes, path, part, via", VIAS)
def test_bad_field_names_its_path(name, changes, path, part, via):
    raw = changed(changes)
    with pytest.raises(ExperimentError) as info:
        if via == "toml":
            trial_experiment(loads_experiment(tomli_w.dumps(raw)))
        elif via == "dict":
            trial_experiment(parse_experiment(raw))
        else:
            parse_experiment(raw)
    _check(info.value, path, part)


@pytest.mark.parametrize("value, shown", [("inf", "got inf"), ("-inf", "got -inf"), ("nan", "got nan")])
def test_non_finite_lr_in_toml(value, shown):
    text = f'epochs = 3\n[[runs]]\nname = "a"\noptimizer = {{ type = "SGD", lr = {value} }}\n'
    with pytest.raises(ExperimentError) as info:
        loads_experiment(text)
    _check(info.value, "runs[0].optimizer.lr", f"expected a number >= 0, {shown}")


def test_wrong_type_message_reads_like_the_issue():
    text = ('[[runs]]\nname = "a"\noptimizer = { type = "Adam", lr = 0.1 }\n'
            '[[runs]]\nname = "b"\noptimizer = { type = "Adam", lr = 0.1 }\n'
            'scheduler = { type = "StepLR", step_size = 5, gamma = "half" }\n')
    with pytest.raises(ExperimentError) as info:
        loads_experiment(text)
    assert info.value.path == "runs[1].scheduler.gamma"
    assert info.value.message.startswith("expected a number")
    assert str(info.value).startswith('runs[1].scheduler.gamma: expected a number')
    assert str(info.value).endswith('got "half"')


def test_empty_groups_say_what_to_do():
    # What the window shows when "Per-layer param groups" is ticked with no module ticked.
    with pytest.raises(ExperimentError) as info:
        parse_experiment(changed({"runs[0].groups": []}))
    assert str(info.value) == ('runs[0].groups: no param group: list at least one module to train '
                               '(e.g. { module = "layer", lr = 0.1 }), or leave groups out to train '
                               'every parameter')


def test_the_valid_base_and_group_timing_are_accepted():
    assert isinstance(parse_experiment(changed({})), Experiment)
    # group 1 exists from epoch 2 on: an epoch edit at 2 (after the add, same epoch) and a
    # step edit at the add's first step (epoch edits apply first) are both fine.
    experiment = parse_experiment(changed({"runs[0].groups": [{"module": "layer"}], "runs[0].edits": [
        {"step": 8, "group": 1, "lr": 0.02}, {"epoch": 2, "add_group": {"module": "layer2"}},
        {"epoch": 2, "group": 1, "lr": 0.03}]}))
    assert len(experiment.runs[0].edits) == 3


# -- files ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["epochs = [", "this is not toml", "[[runs]\nname = 1", "a = 1\na = 2",
                                  "\x00\x01"])
def test_not_toml_text(text):
    with pytest.raises(ExperimentError) as info:
        loads_experiment(text, source="exp.toml")
    assert str(info.value).startswith("exp.toml: not valid TOML (")
    assert "\n" not in str(info.value)


def test_not_toml_file(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text("epochs = = 3\n")
    with pytest.raises(ExperimentError) as info:
        load_experiment(path)
    assert str(info.value).startswith(f"{path}: not valid TOML")


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "nope.toml", "no such file"),
    (lambda d: d, "is a directory, not an experiment file"),
    (lambda d: (d / "e.toml").write_bytes(bytes([0xFF, 0xFE, 0x00, 0x80]) + bytes(range(256))) and d / "e.toml",
     "not a text file (TOML must be UTF-8)"),
], ids=["missing", "directory", "binary"])
def test_unreadable_file(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(ExperimentError) as info:
        load_experiment(path)
    assert str(info.value) == f"{path}: {message}"


# -- fuzz -----------------------------------------------------------------------------------

FUZZ_BASE = {
    "seed": 1, "epochs": 4, "model": "bottleneck", "title": "Fuzz", "description": "fuzz",
    "data": {"samples": 64, "batch_size": 16, "noise": 0.1, "val_fraction": 0.25},
    "runs": [
        {"name": "a", "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
         "groups": [{"module": "layer", "lr": 0.1}],
         "scheduler": {"type": "LambdaLR", "lr_lambda": ["0.9 ** epoch", "1"]},
         "edits": [{"epoch": 1, "group": 0, "lr": 0.05, "rebase": True},
                   {"epoch": 2, "add_group": {"module": "layer2", "lr": 0.01}}]},
        {"name": "b", "optimizer": {"type": "Adam", "lr": 0.01, "betas": [0.9, 0.99]},
         "scheduler": {"type": "SequentialLR", "milestones": [2], "schedulers": [
             {"type": "LinearLR", "start_factor": 0.5, "total_iters": 2},
             {"type": "CyclicLR", "base_lr": 0.001, "max_lr": 0.01, "step_size_up": 2}]},
         "manual": {"every": 2, "factor": 0.5, "start": 0}},
        {"name": "c", "optimizer": {"type": "RMSprop", "lr": 0.01},
         "scheduler": {"type": "ReduceLROnPlateau", "patience": 1, "monitor": "val_loss"},
         "edits": [{"step": 5, "lr": 0.02}]},
        {"name": "d", "optimizer": {"type": "AdamW", "lr": 0.01},
         "scheduler": {"type": "OneCycleLR", "max_lr": 0.1, "interval": "step"}},
    ],
}
FUZZ_BASE_2 = {
    "epochs": 5, "data": {"samples": 80, "batch_size": 20, "val_fraction": 0.2},
    "runs": [
        {"name": "a", "optimizer": {"type": "LBFGS", "lr": 0.5, "history_size": 5},
         "scheduler": {"type": "CosineAnnealingWarmRestarts", "T_0": 2, "T_mult": 2}},
        {"name": "b", "optimizer": {"type": "Rprop", "lr": 0.01, "etas": [0.5, 1.2]},
         "scheduler": {"type": "ChainedScheduler", "schedulers": [
             {"type": "ConstantLR", "factor": 0.5, "total_iters": 2},
             {"type": "PolynomialLR", "total_iters": 4, "power": 2.0}]}},
        {"name": "c", "optimizer": {"type": "Adafactor", "lr": 0.01},
         "scheduler": {"type": "MultiplicativeLR", "lr_lambda": "0.95"}, "manual": {"every": 1, "factor": 0.9}},
        {"name": "d", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9},
         "groups": [{"module": "layer"}, {"module": "layer2", "lr": 0.02}],
         "scheduler": {"type": "CyclicLR", "base_lr": [0.001, 0.002], "max_lr": 0.1, "step_size_up": 3,
                       "scale_fn": "1 / (2 ** (x - 1))", "scale_mode": "cycle"}},
        {"name": "e", "optimizer": {"type": "ASGD", "lr": 0.01},
         "scheduler": {"type": "MultiStepLR", "milestones": [1, 3], "gamma": 0.5},
         "edits": [{"step": 3, "lr": 0.1, "t0": 5.0}]},
        {"name": "f", "optimizer": {"type": "Adagrad", "lr": 0.1}, "groups": [{"module": "layer"}],
         "scheduler": {"type": "OneCycleLR", "max_lr": [0.1, 0.2], "cycle_momentum": False, "interval": "step"},
         "edits": [{"epoch": 2, "add_group": {"module": "layer2", "lr": 0.05}},
                   {"epoch": 3, "group": 1, "lr": 0.01, "rebase": True}]},
    ],
}
WORDS = ["", " ", "half", "layer", "layer2", "all", "Adam", "SGD", "LBFGS", "StepLR", "OneCycleLR",
         "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler", "CyclicLR", "LambdaLR", "epoch", "step",
         "val_loss", "train_loss", "0.95 ** epoch", "1 / epoch", "1 / (epoch - 2)", "x", "10 ** 10 ** 10",
         "epoch in 1", "epoch is 1", "__import__('os')", "().__class__", "lambda e: e", "\u00e9\u00e8\x00",
         "triangular2", "exp_range", "max", "min", "strong_wolfe", "nan"]
KEYS = ["type", "lr", "gamma", "step_size", "milestones", "schedulers", "group", "epoch", "step", "module",
        "add_group", "interval", "monitor", "lr_lambda", "max_lr", "total_steps", "momentum", "betas",
        "every", "factor", "start", "runs", "data", "name", "zzz"]


def _random_value(rng: random.Random, depth: int = 0):
    makers = [
        lambda: rng.choice(WORDS),
        lambda: rng.choice([-1, -10**9, -2**63, 0, 1, 2, 3, 5, 7, 2**31, 2**63 - 1, 10**30]),
        lambda: rng.choice([0.0, -0.5, 0.5, 1.0, 1.5, 1e-300, 1e300, -1e300, math.inf, -math.inf, math.nan]),
        lambda: rng.uniform(-10, 10), lambda: rng.choice([True, False]), lambda: rng.randrange(-3, 40),
        lambda: [], lambda: rng.choice(KEYS),
        # deeper structures, at most two levels down
        lambda: [_random_value(rng, depth + 1) for _ in range(rng.randrange(1, 4))],
        lambda: {rng.choice(KEYS): _random_value(rng, depth + 1) for _ in range(rng.randrange(1, 4))},
        lambda: [{rng.choice(KEYS): _random_value(rng, depth + 1)} for _ in range(rng.randrange(1, 3))],
    ]
    return makers[rng.randrange(len(makers) if depth < 2 else 8)]()


def _nudge(rng: random.Random, value):
    """A value of the same TOML type as ``value``, often near it (reaches the deeper checks)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return rng.choice([value - 1, value + 1, 0, -value, value * 1000, rng.randrange(-2, 50)])
    if isinstance(value, float):
        return rng.choice([0.0, -value, value * 10, value / 10, rng.uniform(0, 2), 1.0])
    if isinstance(value, str):
        return rng.choice(WORDS)
    if isinstance(value, list):
        return value[:-1] if value and rng.random() < 0.5 else value + copy.deepcopy(value[-1:] or [1])
    return _random_value(rng)


def _slots(node, out):
    """Every (container, key) pair, at every depth."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        out.append((node, key))
        _slots(child, out)
    return out


def _mutate(rng: random.Random, raw: dict) -> None:
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        slots = _slots(raw, [])
        container, key = rng.choice(slots)
        action = rng.randrange(10)
        if action < 5:
            container[key] = _nudge(rng, container[key])
        elif action < 8:
            container[key] = _random_value(rng)
        elif action == 8 and isinstance(container, dict):
            del container[key]
        elif isinstance(container, dict):
            container[rng.choice(KEYS)] = _random_value(rng)
        else:
            container.append(_random_value(rng))


@pytest.mark.parametrize("base", [FUZZ_BASE, FUZZ_BASE_2], ids=["base1", "base2"])
def test_fuzz_base_is_valid(base):
    experiment = parse_experiment(copy.deepcopy(base))
    assert [r.name for r in experiment.runs] == [r["name"] for r in base["runs"]]


@pytest.mark.parametrize("base, seed", [(FUZZ_BASE, 20240601), (FUZZ_BASE_2, 7)], ids=["base1", "base2"])
def test_fuzz_only_experiment_errors(base, seed):
    """Random fields at random depths: parse_experiment returns or raises ExperimentError, nothing else."""
    rng = random.Random(seed)
    failures, outcomes = [], {"ok": 0, "error": 0}
    for case in range(500):
        raw = copy.deepcopy(base)
        _mutate(rng, raw)
        trial = case % 6 == 0
        try:
            experiment = parse_experiment(raw)
            if trial:
                trial_experiment(experiment)
            outcomes["ok"] += 1
        except ExperimentError as error:
            assert str(error).strip(), "an error without a message"
            outcomes["error"] += 1
        except Exception as error:  # noqa: BLE001 - exactly what this test hunts
            failures.append(f"case {case} (trial={trial}): {type(error).__name__}: {error}\n  {raw!r}"[:700])
    assert not failures, f"{len(failures)} inputs escaped as other exceptions:\n" + "\n".join(failures[:8])
    assert outcomes["ok"] > 10 and outcomes["error"] > 100, outcomes  # the fuzz reaches both sides


def test_quick_checks_sample_expressions_and_the_full_sweep_finds_the_rest():
    """While typing, an expression is tried at a sample of its values (milliseconds); the engine's
    background check (and the CLI) tries every value torch will pass, a slice at a time."""
    from engine.crosscheck import QUICK_EXPRESSION_CHECKS, sweep_expressions

    raw = {"epochs": 10_000, "runs": [{"name": "a", "optimizer": {"type": "SGD", "lr": 0.1},
                                       "scheduler": {"type": "LambdaLR", "lr_lambda": "1 / (epoch - 7777)"}}]}
    quick = parse_experiment(raw, quick=True)  # 7777 is not among the sampled values
    assert QUICK_EXPRESSION_CHECKS < 7777
    sweep = sweep_expressions(quick)
    slices = 0
    with pytest.raises(ExperimentError) as caught:
        for _ in sweep:
            slices += 1
    assert slices >= 1  # it yielded between slices before failing
    assert caught.value.path == "runs[0].scheduler.lr_lambda" and "epoch = 7777" in caught.value.message
    with pytest.raises(ExperimentError, match="epoch = 7777"):
        parse_experiment(raw)
