"""Inputs made to crash or hang the program (issue 8, items 6-11): each is refused quickly, as an
ExperimentError naming the field or the file, and from the command line with exit code 2.

Engine level: ``parse_experiment`` on a small valid experiment with one thing changed (the
window checks a form with ``parse_experiment(raw, quick=True)``, so these also
hold for what it shows at a field). Command line: ``main.py run`` (in this process: the suite's
timeout is what a hang would hit).
"""

from __future__ import annotations

import copy
import os
import re
import stat
import subprocess
import threading
from pathlib import Path

import pytest
import tomli_w

from engine.errors import ExperimentError
from engine.fields import DATA_FIELDS, EXPERIMENT_FIELDS, MANUAL_FIELDS, MAX_NAME_LENGTH
from engine.fieldtypes import INTEGER_LIMIT, Number, NumberList, NumberTuple, PerGroup
from engine.files import MAX_FILE_BYTES, MAX_NESTING, loads_experiment, read_raw
from engine.parse import parse_experiment
from engine.registry import OPTIMIZERS, SCHEDULERS
from engine.session import TrainingSession
from engine.trial import trial_experiment
from tests.cli_helpers import main_in_process

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ROOT / "resources" / "presets"

# 128 samples, val 0.2 -> 102 train, batch 32 -> 4 steps per epoch; 6 epochs.
BASE = {"seed": 0, "epochs": 6, "data": {"samples": 128, "batch_size": 32},
        "runs": [{"name": "r", "optimizer": {"type": "Adam", "lr": 0.1}}]}
HUGE = int("9" * 400)  # beyond the largest float (about 1.8e308)
BEYOND = 10**30  # a whole number no count of this lab reaches


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
        target[last] = copy.deepcopy(value)
    return raw


def refused(raw, *, quick: bool = False) -> ExperimentError:
    """The engine's verdict on ``raw``: the parser's, then (unless ``quick``: the window's check
    while a person types) torch's, the trial step."""
    with pytest.raises(ExperimentError) as info:
        experiment = parse_experiment(raw, quick=quick)
        if not quick:
            trial_experiment(experiment)
    return info.value


def run_cli(path: Path, out: Path) -> subprocess.CompletedProcess:
    return main_in_process("run", path, "--out", out)


# -- 6. integers beyond float range in float fields; expressions that overflow ----------------

def sched(**options):
    return {"runs[0].scheduler": options}


FLOAT_FIELDS = [
    ({"runs[0].optimizer.lr": HUGE}, "runs[0].optimizer.lr"),
    ({"runs[0].optimizer.lr": -HUGE}, "runs[0].optimizer.lr"),
    ({"runs[0].optimizer": {"type": "SGD", "lr": 0.1, "momentum": HUGE}}, "runs[0].optimizer.momentum"),
    ({"runs[0].optimizer.betas": [0.9, HUGE]}, "runs[0].optimizer.betas[1]"),
    ({"runs[0].optimizer": {"type": "Rprop", "lr": 0.01, "step_sizes": [1e-6, HUGE]}},
     "runs[0].optimizer.step_sizes[1]"),
    ({"runs[0].optimizer": {"type": "Rprop", "lr": 0.01, "etas": [0.5, HUGE]}}, "runs[0].optimizer.etas[1]"),
    (sched(type="StepLR", step_size=2, gamma=HUGE), "runs[0].scheduler.gamma"),
    (sched(type="ExponentialLR", gamma=HUGE), "runs[0].scheduler.gamma"),
    (sched(type="CyclicLR", base_lr=0.01, max_lr=HUGE), "runs[0].scheduler.max_lr"),
    (sched(type="OneCycleLR", max_lr=[0.1, HUGE]), "runs[0].scheduler.max_lr[1]"),
    ({"data": {"samples": 128, "noise": HUGE}}, "data.noise"),
    ({"runs[0].manual": {"every": 2, "factor": HUGE}}, "runs[0].manual.factor"),
    ({"runs[0].groups": [{"module": "layer", "lr": HUGE}]}, "runs[0].groups[0].lr"),
    ({"runs[0].edits": [{"epoch": 1, "lr": HUGE}]}, "runs[0].edits[0].lr"),
    ({"runs[0].groups": [{"module": "layer"}],
      "runs[0].edits": [{"epoch": 1, "add_group": {"module": "layer2", "lr": HUGE}}]},
     "runs[0].edits[0].add_group.lr"),
]


@pytest.mark.parametrize("changes, path", FLOAT_FIELDS, ids=[p for _, p in FLOAT_FIELDS])
@pytest.mark.parametrize("via", ["engine", "window", "toml"])
def test_float_field_with_400_digit_integer_is_refused_naming_the_field(changes, path, via):
    raw = changed(changes)
    with pytest.raises(ExperimentError) as info:
        if via == "toml":
            loads_experiment(tomli_w.dumps(raw))
        else:
            parse_experiment(raw, **({"quick": True} if via == "window" else {}))
    assert info.value.path == path, str(info.value)
    assert "integer of 400 digits, beyond the range of a float" in info.value.message
    assert "9999" not in info.value.message  # described, not written out


def _float_shaped(field_type):
    """A value of ``field_type``'s shape with an integer beyond float range in it, or None."""
    if isinstance(field_type, Number) and not field_type.integer:
        return HUGE
    if isinstance(field_type, NumberTuple) and not all(i.integer for i in field_type.items):
        return [HUGE if not i.integer else 1 for i in field_type.items]
    if isinstance(field_type, PerGroup) and isinstance(field_type.item, Number) and not field_type.item.integer:
        return [HUGE]
    return None


FLOAT_PARAMS = [(spec.name, p.name) for table in (OPTIMIZERS, SCHEDULERS) for spec in table.values()
                for p in spec.params.values() if _float_shaped(p.type) is not None]


@pytest.mark.parametrize("cls, name", FLOAT_PARAMS, ids=[f"{c}.{n}" for c, n in FLOAT_PARAMS])
def test_every_float_option_of_the_registry_refuses_an_integer_beyond_float_range(cls, name):
    param = {**OPTIMIZERS, **SCHEDULERS}[cls].params[name]
    value = _float_shaped(param.type)
    with pytest.raises(ExperimentError) as info:
        param.type.check(value, name)
    assert "beyond the range of a float" in info.value.message
    if isinstance(param.type, PerGroup):  # the single value too, not only in a list
        with pytest.raises(ExperimentError):
            param.type.check(HUGE, name)


OVERFLOWING = [
    (sched(type="LambdaLR", lr_lambda="floor(1e308) * 10"), "runs[0].scheduler.lr_lambda"),
    (sched(type="LambdaLR", lr_lambda="floor(1e308) * floor(1e308)"), "runs[0].scheduler.lr_lambda"),
    (sched(type="LambdaLR", lr_lambda="floor(1e308) * epoch * 10"), "runs[0].scheduler.lr_lambda"),  # from 1 on
    (sched(type="MultiplicativeLR", lr_lambda=["floor(1e308) * 10"]), "runs[0].scheduler.lr_lambda[0]"),
    (sched(type="CyclicLR", base_lr=0.01, max_lr=0.1, scale_fn="floor(1e308) * 10 * x"),
     "runs[0].scheduler.scale_fn"),
]


@pytest.mark.parametrize("changes, path", OVERFLOWING, ids=[c["runs[0].scheduler"]["type"] + str(i)
                                                            for i, (c, _) in enumerate(OVERFLOWING)])
@pytest.mark.parametrize("quick", [False, True])
def test_expression_whose_result_overflows_a_float_is_refused_naming_the_field(changes, path, quick):
    error = refused(changed(changes), quick=quick)
    assert error.path == path, str(error)
    assert "too large" in error.message or "too large to convert" in error.message, error.message


# -- 7. huge integers in integer fields -------------------------------------------------------

INT_FIELDS = [
    (sched(type="CosineAnnealingLR", T_max=BEYOND), "runs[0].scheduler.T_max"),
    (sched(type="CosineAnnealingWarmRestarts", T_0=BEYOND), "runs[0].scheduler.T_0"),
    (sched(type="CosineAnnealingWarmRestarts", T_0=2, T_mult=BEYOND), "runs[0].scheduler.T_mult"),
    (sched(type="StepLR", step_size=BEYOND), "runs[0].scheduler.step_size"),
    (sched(type="MultiStepLR", milestones=[2, BEYOND]), "runs[0].scheduler.milestones[1]"),
    (sched(type="LinearLR", total_iters=BEYOND), "runs[0].scheduler.total_iters"),
    (sched(type="ConstantLR", total_iters=BEYOND), "runs[0].scheduler.total_iters"),
    (sched(type="PolynomialLR", total_iters=BEYOND), "runs[0].scheduler.total_iters"),
    (sched(type="CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=BEYOND), "runs[0].scheduler.step_size_up"),
    (sched(type="CyclicLR", base_lr=0.01, max_lr=0.1, step_size_down=BEYOND), "runs[0].scheduler.step_size_down"),
    (sched(type="OneCycleLR", max_lr=0.1, total_steps=BEYOND), "runs[0].scheduler.total_steps"),
    (sched(type="OneCycleLR", max_lr=0.1, epochs=6, steps_per_epoch=BEYOND), "runs[0].scheduler.steps_per_epoch"),
    (sched(type="ReduceLROnPlateau", patience=BEYOND), "runs[0].scheduler.patience"),
    (sched(type="SequentialLR", milestones=[BEYOND], schedulers=[{"type": "StepLR", "step_size": 2},
                                                                 {"type": "ExponentialLR", "gamma": 0.9}]),
     "runs[0].scheduler.milestones[0]"),
    ({"data": {"samples": 128, "batch_size": BEYOND}}, "data.batch_size"),
    ({"data": {"samples": 128, "batch_size": HUGE}}, "data.batch_size"),
    ({"runs[0].manual": {"every": BEYOND, "factor": 0.5}}, "runs[0].manual.every"),
    ({"runs[0].manual": {"every": 2, "factor": 0.5, "start": BEYOND}}, "runs[0].manual.start"),
    ({"runs[0].edits": [{"step": BEYOND, "lr": 0.1}]}, "runs[0].edits[0].step"),
    ({"runs[0].optimizer": {"type": "LBFGS", "max_eval": BEYOND}}, "runs[0].optimizer.max_eval"),
]


@pytest.mark.parametrize("changes, path", INT_FIELDS, ids=[f"{p}-{i}" for i, (_, p) in enumerate(INT_FIELDS)])
def test_integer_field_beyond_what_torch_can_count_is_refused_with_the_bound(changes, path):
    error = refused(changed(changes), quick=True)
    assert error.path == path, str(error)
    assert f"<= {INTEGER_LIMIT}, got " in error.message, error.message


def test_integer_field_at_its_limit_trains():
    raw = changed({"epochs": 2, **sched(type="CosineAnnealingLR", T_max=INTEGER_LIMIT, interval="step")})
    raw["data"]["batch_size"] = INTEGER_LIMIT  # one batch per epoch
    session = TrainingSession(parse_experiment(raw))
    session.run()
    assert session.runs[0].status == "finished"


def _integer_types(field_type):
    if isinstance(field_type, Number):
        return [field_type] if field_type.integer else []
    if isinstance(field_type, NumberTuple):
        return [t for item in field_type.items for t in _integer_types(item)]
    if isinstance(field_type, (NumberList, PerGroup)):
        return _integer_types(field_type.item)
    return []


ALL_INT_FIELDS = [(f"{spec.name}.{p.name}", t) for table in (OPTIMIZERS, SCHEDULERS) for spec in table.values()
                  for p in spec.params.values() for t in _integer_types(p.type)] + [
                  (f"experiment.{p.name}", t) for fields in (EXPERIMENT_FIELDS, DATA_FIELDS, MANUAL_FIELDS)
                  for p in fields.values() for t in _integer_types(p.type)]


@pytest.mark.parametrize("name, field_type", ALL_INT_FIELDS, ids=[n for n, _ in ALL_INT_FIELDS])
def test_every_integer_field_has_a_range_torch_can_honour(name, field_type):
    for value in (BEYOND, -BEYOND, HUGE):
        with pytest.raises(ExperimentError) as info:
            field_type.check(value, name)
        assert "got " in info.value.message


# -- 9. what validation and reading may cost ----------------------------------------------------

@pytest.mark.parametrize("option, value", [("max_iter", 10**9), ("max_iter", 1001), ("history_size", 10**8),
                                           ("history_size", 10**9)])
def test_lbfgs_options_that_would_hang_or_exhaust_memory_are_refused(option, value):
    error = refused(changed({"runs[0].optimizer": {"type": "LBFGS", option: value}}))
    assert error.path == f"runs[0].optimizer.{option}"
    assert "<= 1000, got" in error.message


def test_the_trial_step_evaluates_lbfgs_a_few_times_whatever_max_iter(monkeypatch):
    """max_iter = 1000 with both tolerances 0 made the trial step before training run all 1000
    iterations (with 10**9 it never returned); the trial now takes a few."""
    import engine.trial

    evaluations = []

    class Counting(engine.trial.RunTrainer):
        def step(self, t):
            super().step(t)
            state = self.optimizer.state[self.optimizer.param_groups[0]["params"][0]]
            evaluations.append(state["func_evals"])

    monkeypatch.setattr(engine.trial, "RunTrainer", Counting)
    for extra in ({}, {"max_eval": 1000, "line_search_fn": "strong_wolfe"}):
        options = {"type": "LBFGS", "lr": 0.1, "max_iter": 1000, "history_size": 1000, "tolerance_grad": 0,
                   "tolerance_change": 0, **extra}
        evaluations.clear()
        experiment = trial_experiment(parse_experiment(changed({"runs[0].optimizer": options,
                                                                "runs[0].groups": [{"module": "layer",
                                                                                    "max_iter": 1000}]})))
        assert experiment.runs[0].optimizer.options["max_iter"] == 1000  # the experiment itself is unchanged
        assert len(evaluations) == 1 and 0 < evaluations[0] <= 30, evaluations


def test_a_device_is_not_read(tmp_path):
    if not os.path.exists("/dev/zero") or not stat.S_ISCHR(os.stat("/dev/zero").st_mode):
        pytest.skip("no /dev/zero character device here")
    with pytest.raises(ExperimentError) as info:
        read_raw("/dev/zero")
    assert str(info.value) == "/dev/zero: is a device, not an experiment file (experiment files are TOML text files)"


def test_a_file_too_large_is_refused_naming_it(tmp_path):
    path = tmp_path / "big.toml"
    with open(path, "wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ExperimentError) as info:
        read_raw(path)
    assert str(info.value).startswith(f"{path}: is 10.0 MB; an experiment file is at most 10 MB")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)
    outcome = []

    def read():
        try:
            read_raw(path)
        except ExperimentError as error:
            outcome.append(str(error))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)
    if reader.is_alive():  # unblock it: open the pipe for writing, once
        with open(os.open(path, os.O_WRONLY | os.O_NONBLOCK), "wb"):
            pass
        pytest.fail("read_raw waited for someone to write into a named pipe")
    assert outcome == [f"{path}: is a named pipe, not an experiment file (experiment files are TOML text files)"]


# -- 8. nesting deeper than Python's recursion limit ------------------------------------------

@pytest.mark.parametrize("text", ["x = " + "[" * 1000 + "]" * 1000,
                                  "x = " + "{ a = " * 1000 + "1" + " }" * 1000,
                                  "a" + ".a" * 3000 + " = 1",
                                  "[" + "a." * (MAX_NESTING + 1) + "b]\nc = 1\n"],
                         ids=["arrays", "inline-tables", "dotted-keys", "table-header"])
def test_toml_nested_too_deeply_is_refused_naming_the_file(tmp_path, text):
    path = tmp_path / "deep.toml"
    path.write_text(text)
    with pytest.raises(ExperimentError) as info:
        read_raw(path)
    assert str(info.value).startswith(f"{path}: nested too deeply (lists or tables more than {MAX_NESTING} levels")
    with pytest.raises(ExperimentError) as info:
        loads_experiment(text, source="deep.toml")
    assert str(info.value).startswith("deep.toml: nested too deeply")


def test_data_nested_too_deeply_is_refused_before_anything_walks_it():
    raw = changed({})
    node = raw["runs"][0]["scheduler"] = {"type": "ChainedScheduler", "schedulers": []}
    for _ in range(5000):  # far beyond the recursion limit
        child = {"type": "ChainedScheduler", "schedulers": []}
        node["schedulers"].append(child)
        node = child
    error = refused(raw, quick=True)
    assert error.path.startswith("runs[0].scheduler.schedulers[0].schedulers[0]")
    assert error.message.startswith(f"nested too deeply (lists or tables more than {MAX_NESTING} levels")


def test_an_integer_too_long_for_python_is_refused_naming_the_file():
    with pytest.raises(ExperimentError) as info:
        loads_experiment("epochs = " + "9" * 5000, source="long.toml")
    assert str(info.value) == "long.toml: not valid TOML (an integer of more than 4300 digits)"


# -- 10. expressions of schedulers nested in SequentialLR / ChainedScheduler ----------------

def _sequential(first, second, milestone):
    return sched(type="SequentialLR", milestones=[milestone], schedulers=[first, second])


def test_expression_of_a_scheduler_nested_in_sequentiallr_is_checked_at_its_own_epochs():
    # 6 epochs, milestone 2: the LambdaLR counts 0..4 from the milestone; it fails at its epoch 3.
    error = refused(changed(_sequential({"type": "StepLR", "step_size": 2},
                                        {"type": "LambdaLR", "lr_lambda": "1 / (epoch - 3)"}, 2)))
    assert error.path == "runs[0].scheduler.schedulers[1].lr_lambda"
    assert "at epoch = 3: division by zero (torch calls it with epoch = 0 to 4 in this run)" in error.message


def test_expression_nested_in_sequentiallr_is_not_checked_at_epochs_torch_never_passes():
    # The first scheduler counts 0..1 (until milestone 2), the second 0..4: neither reaches its pole.
    raw = changed(_sequential({"type": "LambdaLR", "lr_lambda": "1 / (2 - epoch)"},
                              {"type": "LambdaLR", "lr_lambda": "1 / (5 - epoch)"}, 2))
    session = TrainingSession(parse_experiment(raw))
    session.run()
    assert session.runs[0].status == "finished"


@pytest.mark.parametrize("scheduler, path", [
    ({"type": "ChainedScheduler", "schedulers": [{"type": "ExponentialLR", "gamma": 0.9},
                                                 {"type": "MultiplicativeLR", "lr_lambda": "1 / (epoch - 5)"}]},
     "runs[0].scheduler.schedulers[1].lr_lambda"),
    ({"type": "ChainedScheduler", "schedulers": [
        {"type": "SequentialLR", "milestones": [3], "schedulers": [
            {"type": "ConstantLR", "factor": 0.5, "total_iters": 2},
            {"type": "LambdaLR", "lr_lambda": "log(2 - epoch)"}]}]},
     "runs[0].scheduler.schedulers[0].schedulers[1].lr_lambda"),
    ({"type": "SequentialLR", "milestones": [1], "schedulers": [
        {"type": "ConstantLR", "factor": 0.5, "total_iters": 1},
        {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "scale_mode": "iterations",
         "scale_fn": "1 / (x - 4)"}]}, "runs[0].scheduler.schedulers[1].scale_fn"),
], ids=["chained", "sequential-in-chained", "cyclic-scale-fn"])
def test_expression_of_a_nested_scheduler_is_checked_before_training(scheduler, path):
    for quick in (False, True):
        error = refused(changed({"runs[0].scheduler": scheduler}), quick=quick)
        assert error.path == path, str(error)


def test_nested_onecycle_shorter_than_its_turn_is_refused():
    error = refused(changed(_sequential({"type": "StepLR", "step_size": 2},
                                        {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 3}, 2)))
    assert error.path == "runs[0].scheduler.schedulers[1].total_steps"
    assert error.message.startswith("OneCycleLR is stepped 4 times where it is nested")


# -- 11. run names --------------------------------------------------------------------------

BAD_NAMES = [("a\x00b", "U+0000"), ("a\nb", "U+000A"), ("a\rb", "U+000D"), ("\x1b[31mred", "U+001B"),
             ("abc\u202edef", "U+202E (RIGHT-TO-LEFT OVERRIDE)"), ("a\u200fb", "U+200F"), ("a\u2066b", "U+2066"),
             ("a\u2028b", "U+2028 (LINE SEPARATOR)"), ("a\u00adb", "U+00AD"), ("a\ufeffb", "U+FEFF"),
             ("a\u00a0b", "U+00A0 (NO-BREAK SPACE)")]


@pytest.mark.parametrize("name, char", BAD_NAMES, ids=[c.split()[0] for _, c in BAD_NAMES])
def test_run_name_with_control_or_bidi_characters_is_refused_naming_it(name, char):
    raw = changed({})
    raw["runs"] += [{"name": "ok", "optimizer": {"type": "SGD", "lr": 0.1}},
                    {"name": name, "optimizer": {"type": "SGD", "lr": 0.1}}]
    error = refused(raw, quick=True)
    assert error.path == "runs[2].name"
    assert char in error.message
    assert name not in str(error)  # the name itself is not echoed to the terminal


@pytest.mark.parametrize("length", [MAX_NAME_LENGTH + 1, 2**20])
def test_run_name_longer_than_the_limit_is_refused(length):
    error = refused(changed({"runs[0].name": "x" * length}))
    assert error.path == "runs[0].name"
    assert f"at most {MAX_NAME_LENGTH} characters; this one is {length} characters long" in error.message
    assert len(str(error)) < 200


@pytest.mark.parametrize("name", ["Adam (lr = 0.1) – étape 2", "学习率 0.1", "x" * MAX_NAME_LENGTH, "run 🚀",
                                  "  padded  "])
def test_printable_run_names_are_accepted(name):
    experiment = parse_experiment(changed({"runs[0].name": name}))
    assert experiment.runs[0].name == name.strip()


def test_every_preset_name_is_still_accepted():
    from engine.files import load_experiment

    for path in sorted(PRESETS.glob("*.toml")):
        load_experiment(path)


# -- the command line ------------------------------------------------------------------------

GOOD = 'epochs = 6\n[data]\nsamples = 128\n[[runs]]\nname = "a"\noptimizer = { type = "Adam", lr = 0.1 }\n'


def _cli_cases(tmp: Path) -> dict[str, tuple[Path, str]]:
    """id -> (experiment path, the beginning of the one stderr line)."""
    files = {
        "float-overflow": GOOD.replace("lr = 0.1", "lr = " + "9" * 400),
        "expression-overflow": GOOD + 'scheduler = { type = "LambdaLR", lr_lambda = "floor(1e308) * 10" }\n',
        "huge-t-max": GOOD + 'scheduler = { type = "CosineAnnealingLR", T_max = 1000000000000000000000000000000 }\n',
        "huge-batch": GOOD.replace("samples = 128", "samples = 128\nbatch_size = " + "9" * 40),
        "lbfgs-max-iter": GOOD.replace('type = "Adam"', 'type = "LBFGS", max_iter = 1000000000, '
                                       "tolerance_grad = 0, tolerance_change = 0"),
        "deep": "x = " + "[" * 1000 + "]" * 1000 + "\n" + GOOD,
        "nested-expression": GOOD + ('scheduler = { type = "SequentialLR", milestones = [2], schedulers = [ '
                                     '{ type = "StepLR", step_size = 2 }, '
                                     '{ type = "LambdaLR", lr_lambda = "1 / (epoch - 3)" } ] }\n'),
        "name-nul": GOOD.replace('name = "a"', 'name = "a\\u0000b"'),
        "name-bidi": GOOD.replace('name = "a"', 'name = "evil\\u202Etxt.exe"'),
        "name-1mb": GOOD.replace('name = "a"', f'name = "{"x" * 2**20}"'),
    }
    expected = {
        "float-overflow": "error: runs[0].optimizer.lr: expected a number >= 0, got an integer of 400 digits",
        "expression-overflow": "error: runs[0].scheduler.lr_lambda: ",
        "huge-t-max": f"error: runs[0].scheduler.T_max: expected a whole number >= 1 and <= {INTEGER_LIMIT}",
        "huge-batch": f"error: data.batch_size: expected a whole number >= 1 and <= {INTEGER_LIMIT}",
        "lbfgs-max-iter": "error: runs[0].optimizer.max_iter: expected a whole number >= 1 and <= 1000",
        "deep": f"error: {tmp / 'deep.toml'}: nested too deeply",
        "nested-expression": "error: runs[0].scheduler.schedulers[1].lr_lambda: ",
        "name-nul": "error: runs[0].name: ",
        "name-bidi": "error: runs[0].name: ",
        "name-1mb": "error: runs[0].name: ",
    }
    cases = {}
    for name, text in files.items():
        path = tmp / f"{name}.toml"
        path.write_text(text)
        cases[name] = (path, expected[name])
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp / "fifo.toml")
        cases["fifo"] = (tmp / "fifo.toml", f"error: {tmp / 'fifo.toml'}: is a named pipe")
    return cases


CLI_IDS = ["float-overflow", "expression-overflow", "huge-t-max", "huge-batch", "lbfgs-max-iter", "deep",
           "nested-expression", "name-nul", "name-bidi", "name-1mb", "fifo"]


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Every case, in this process (a hang hits the suite's timeout)."""
    tmp = tmp_path_factory.mktemp("hostile")
    cases = _cli_cases(tmp)
    return tmp, {name: (run_cli(path, tmp / "out" / name), expected) for name, (path, expected) in cases.items()}


@pytest.mark.parametrize("name", CLI_IDS)
def test_hostile_input_exits_2_naming_the_field_or_file(cli_runs, name):
    tmp, runs = cli_runs
    if name not in runs:
        pytest.skip("no named pipes here")
    result, expected = runs[name]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(expected), lines[0]
    assert lines[0].isprintable()
    assert len(lines[0]) < 400
    assert not (tmp / "out" / name).exists()

