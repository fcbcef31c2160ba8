"""``main.py code``: a run as a plain PyTorch script, which reproduces ``main.py run``'s CSVs exactly.

Each script is run the way a learner would run it somewhere else: in a process of Python's
isolated mode (``-I``: neither the script's directory nor the environment is on the path) from
an empty directory, so nothing of the project can be imported (torch is, from the venv). The
process is forked from a zygote started that way, which has imported torch and nothing of the
project (tests/cli_zygote.py; test_a_script_process_cannot_import_the_project checks it). Its
``epochs.csv`` and ``steps.csv`` must equal the CLI's byte for byte, for every preset and for
a table of small experiments that together cover every scheduler of the registry, every
optimizer that can train, per-group options, the manual decay, edits at an epoch and at a
step, rebase, add_group mid-run, ReduceLROnPlateau, LBFGS and divergence.
"""

from __future__ import annotations

import ast
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main as cli
from engine.codegen import generate
from engine.codegen.lambdas import python_lambda
from engine.expressions import compile_expression
from engine.files import load_experiment, loads_experiment, read_raw, write_raw
from engine.presets import list_presets, preset_path
from engine.registry import OPTIMIZERS, SCHEDULERS
from tests.cli_zygote import ROOT, Forked

TIMEOUT = 600  # generous: this machine may be busy

# 96 samples, val 0.2 -> 19 val, 77 train; batch 16 -> 5 steps per epoch (the last one of 13)
DATA = """\
[data]
samples = 96
batch_size = 16
"""

SCHEDULER_TABLE = """\
seed = 1
epochs = 6
model = "article"
""" + DATA + """
[[runs]]
name = "LambdaLR"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "LambdaLR", lr_lambda = "0.9 ** epoch" }

[[runs]]
name = "LambdaLR per group, math"
optimizer = { type = "SGD", lr = 0.1, momentum = 0.5 }
groups = [ { module = "layer" }, { module = "layer2", lr = 0.2 } ]
[runs.scheduler]
type = "LambdaLR"
lr_lambda = [
    "exp(-epoch / 4) * max(0.1, cos(pi * epoch / 8)) + floor(epoch / 2) * 0.01",
    "1 / (epoch + 1) if epoch < 3 else 2 ** -epoch + e * 0",
]

[[runs]]
name = "MultiplicativeLR"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "MultiplicativeLR", lr_lambda = "0.95 - 0.01 * epoch" }

[[runs]]
name = "StepLR"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "StepLR", step_size = 2, gamma = 0.5 }

[[runs]]
name = "StepLR per step"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "StepLR", step_size = 7, gamma = 0.5, interval = "step" }

[[runs]]
name = "MultiStepLR"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "MultiStepLR", milestones = [2, 4], gamma = 0.3 }

[[runs]]
name = "ConstantLR"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "ConstantLR", factor = 0.5, total_iters = 2 }

[[runs]]
name = "LinearLR"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "LinearLR", start_factor = 0.25, total_iters = 3 }

[[runs]]
name = "ExponentialLR"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "ExponentialLR", gamma = 0.8 }

[[runs]]
name = "PolynomialLR"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "PolynomialLR", total_iters = 4, power = 2 }

[[runs]]
name = "CosineAnnealingLR"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "CosineAnnealingLR", T_max = 3, eta_min = 0.001 }

[[runs]]
name = "CosineAnnealingWarmRestarts fractional"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "CosineAnnealingWarmRestarts", T_0 = 2, T_mult = 2, interval = "fractional" }

[[runs]]
name = "CosineAnnealingWarmRestarts per step"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "CosineAnnealingWarmRestarts", T_0 = 4, eta_min = 0.001, interval = "step" }

[[runs]]
name = "CyclicLR, scale_fn"
optimizer = { type = "Adam", lr = 0.05 }
[runs.scheduler]
type = "CyclicLR"
base_lr = 0.001
max_lr = 0.1
step_size_up = 3
step_size_down = 2
scale_fn = "1 / (2 ** (x - 1))"
scale_mode = "cycle"

[[runs]]
name = "CyclicLR exp_range, SGD momentum"
optimizer = { type = "SGD", lr = 0.05, momentum = 0.9 }
scheduler = { type = "CyclicLR", base_lr = 0.01, max_lr = 0.1, step_size_up = 4, mode = "exp_range", gamma = 0.9 }

[[runs]]
name = "OneCycleLR"
optimizer = { type = "AdamW", lr = 0.01 }
scheduler = { type = "OneCycleLR", max_lr = 0.1 }

[[runs]]
name = "OneCycleLR per epoch, three phases"
optimizer = { type = "SGD", lr = 0.01, momentum = 0.9 }
[runs.scheduler]
type = "OneCycleLR"
max_lr = 0.1
three_phase = true
anneal_strategy = "linear"
interval = "epoch"

[[runs]]
name = "ReduceLROnPlateau"
optimizer = { type = "Adam", lr = 0.2 }
scheduler = { type = "ReduceLROnPlateau", patience = 0, factor = 0.5, threshold = 0.05 }

[[runs]]
name = "SequentialLR"
optimizer = { type = "Adam", lr = 0.05 }
[runs.scheduler]
type = "SequentialLR"
milestones = [2]
schedulers = [
    { type = "LinearLR", start_factor = 0.5, total_iters = 2 },
    { type = "ExponentialLR", gamma = 0.7 },
]

[[runs]]
name = "ChainedScheduler"
optimizer = { type = "Adam", lr = 0.05 }
[runs.scheduler]
type = "ChainedScheduler"
schedulers = [ { type = "ConstantLR", factor = 0.5, total_iters = 3 }, { type = "ExponentialLR", gamma = 0.9 } ]

[[runs]]
name = "SequentialLR of a ChainedScheduler, per step"
optimizer = { type = "Adam", lr = 0.05 }
[runs.scheduler]
type = "SequentialLR"
milestones = [12]
interval = "step"
schedulers = [
    { type = "ChainedScheduler", schedulers = [
        { type = "LinearLR", start_factor = 0.2, total_iters = 6 },
        { type = "MultiplicativeLR", lr_lambda = "0.98" },
    ] },
    { type = "CosineAnnealingLR", T_max = 18 },
]
"""

OPTIMIZER_TABLE = """\
seed = 2
epochs = 4
model = "bottleneck"
""" + DATA + """
[[runs]]
name = "ASGD"
optimizer = { type = "ASGD", lr = 0.05, t0 = 10 }
scheduler = { type = "StepLR", step_size = 1, gamma = 0.8 }

[[runs]]
name = "Adadelta"
optimizer = { type = "Adadelta", rho = 0.8 }

[[runs]]
name = "Adafactor"
optimizer = { type = "Adafactor", lr = 0.05 }
scheduler = { type = "ExponentialLR", gamma = 0.8 }

[[runs]]
name = "Adagrad"
optimizer = { type = "Adagrad", lr = 0.1, lr_decay = 0.01 }

[[runs]]
name = "Adam amsgrad"
optimizer = { type = "Adam", lr = 0.05, betas = [0.8, 0.99], amsgrad = true, weight_decay = 0.001 }

[[runs]]
name = "AdamW"
optimizer = { type = "AdamW", lr = 0.05, weight_decay = 0.1 }

[[runs]]
name = "Adamax"
optimizer = { type = "Adamax", lr = 0.05 }

[[runs]]
name = "LBFGS, default lr"
optimizer = { type = "LBFGS", max_iter = 4, history_size = 5 }

[[runs]]
name = "LBFGS strong_wolfe, StepLR"
optimizer = { type = "LBFGS", lr = 0.5, max_iter = 3, line_search_fn = "strong_wolfe" }
scheduler = { type = "StepLR", step_size = 2, gamma = 0.5 }

[[runs]]
name = "NAdam"
optimizer = { type = "NAdam", lr = 0.05, momentum_decay = 0.005 }

[[runs]]
name = "RAdam"
optimizer = { type = "RAdam", lr = 0.05, decoupled_weight_decay = true, weight_decay = 0.01 }

[[runs]]
name = "RMSprop centered"
optimizer = { type = "RMSprop", lr = 0.01, momentum = 0.5, centered = true }

[[runs]]
name = "Rprop"
optimizer = { type = "Rprop", lr = 0.01, etas = [0.4, 1.3] }
scheduler = { type = "ExponentialLR", gamma = 0.5 }

[[runs]]
name = "SGD nesterov"
optimizer = { type = "SGD", lr = 0.05, momentum = 0.9, nesterov = true }

[[runs]]
name = "SGD per-group options"
optimizer = { type = "SGD", lr = 0.05, momentum = 0.9 }
groups = [
    { module = "layer", lr = 0.1, weight_decay = 0.01 },
    { module = "layer2", momentum = 0.5, dampening = 0.1 },
]

[[runs]]
name = "Adam per-group betas, only layer2"
optimizer = { type = "Adam", lr = 0.02, eps = 1e-6 }
groups = [ { module = "layer2", betas = [0.5, 0.9] } ]
"""

EDIT_TABLE = """\
seed = 3
epochs = 6
model = "bottleneck"
""" + DATA + """
[[runs]]
name = "manual from 0, and an edit"
optimizer = { type = "Adam", lr = 0.08 }
manual = { every = 2, factor = 0.5, start = 0 }
edits = [ { epoch = 2, lr = 0.05 } ]

[[runs]]
name = "manual from 1"
optimizer = { type = "SGD", lr = 0.1 }
manual = { every = 2, factor = 0.7, start = 1 }

[[runs]]
name = "manual every 2 (from 2)"
optimizer = { type = "SGD", lr = 0.1, momentum = 0.9 }
manual = { every = 2, factor = 0.7 }
scheduler = { type = "StepLR", step_size = 3, gamma = 0.5 }

[[runs]]
name = "step edits, same step as an epoch edit"
optimizer = { type = "SGD", lr = 0.1, momentum = 0.9 }
groups = [ { module = "layer" }, { module = "layer2", lr = 0.05 } ]
edits = [
    { step = 10, group = 1, lr = 0.3 },
    { epoch = 2, lr = 0.02 },
    { step = 7, group = 0, lr = 0.07, momentum = 0.5 },
    { step = 13, momentum = 0.8 },
]

[[runs]]
name = "betas edit"
optimizer = { type = "Adam", lr = 0.05 }
edits = [ { epoch = 3, betas = [0.5, 0.95] } ]

[[runs]]
name = "rebase LambdaLR, one group and all"
optimizer = { type = "Adam", lr = 0.05 }
groups = [ { module = "layer" }, { module = "layer2", lr = 0.02 } ]
scheduler = { type = "LambdaLR", lr_lambda = "0.8 ** epoch" }
edits = [ { epoch = 2, group = 0, lr = 0.1, rebase = true }, { step = 22, lr = 0.03, rebase = true } ]

[[runs]]
name = "rebase every group mid-epoch, fractional CosineAnnealingWarmRestarts"
optimizer = { type = "Adam", lr = 0.05 }
groups = [ { module = "layer" }, { module = "layer2", lr = 0.02 } ]
scheduler = { type = "CosineAnnealingWarmRestarts", T_0 = 2, interval = "fractional" }
edits = [ { step = 7, lr = 0.03, rebase = true } ]

[[runs]]
name = "edit without rebase under CosineAnnealingLR"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "CosineAnnealingLR", T_max = 4 }
edits = [ { epoch = 2, lr = 0.5 } ]

[[runs]]
name = "rebase OneCycleLR"
optimizer = { type = "SGD", lr = 0.05, momentum = 0.9 }
scheduler = { type = "OneCycleLR", max_lr = 0.2 }
edits = [ { step = 12, lr = 0.1, rebase = true } ]

[[runs]]
name = "rebase CyclicLR"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "CyclicLR", base_lr = 0.01, max_lr = 0.1, step_size_up = 3 }
edits = [ { step = 8, lr = 0.2, rebase = true } ]

[[runs]]
name = "rebase SequentialLR"
optimizer = { type = "Adam", lr = 0.05 }
[runs.scheduler]
type = "SequentialLR"
milestones = [3]
schedulers = [ { type = "ExponentialLR", gamma = 0.9 }, { type = "CosineAnnealingLR", T_max = 3 } ]
[[runs.edits]]
epoch = 1
lr = 0.01
rebase = true

[[runs]]
name = "rebase ReduceLROnPlateau"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "ReduceLROnPlateau", patience = 1, monitor = "train_loss" }
edits = [ { epoch = 1, lr = 0.1, rebase = true } ]

[[runs]]
name = "add_group, no scheduler"
optimizer = { type = "Adam", lr = 0.05 }
groups = [ { module = "layer" } ]
edits = [ { epoch = 2, add_group = { module = "layer2", lr = 0.01, betas = [0.8, 0.9] } } ]

[[runs]]
name = "add_group mid-epoch, StepLR, then a rebase of it"
optimizer = { type = "Adam" }
groups = [ { module = "layer", lr = 0.05 } ]
scheduler = { type = "StepLR", step_size = 2, gamma = 0.5 }
edits = [
    { step = 12, add_group = { module = "layer2", lr = 0.01 } },
    { epoch = 4, group = 1, lr = 0.02, rebase = true },
]

[[runs]]
name = "add_group LambdaLR per group"
optimizer = { type = "Adam" }
groups = [ { module = "layer2", lr = 0.05 } ]
scheduler = { type = "LambdaLR", lr_lambda = ["0.9 ** epoch", "1 / (1 + epoch)"] }
edits = [ { epoch = 2, add_group = { module = "layer", lr = 0.02 } } ]

[[runs]]
name = "add_group MultiplicativeLR"
optimizer = { type = "Adam" }
groups = [ { module = "layer", lr = 0.05 } ]
scheduler = { type = "MultiplicativeLR", lr_lambda = "0.9" }
edits = [ { epoch = 1, add_group = { module = "layer2", lr = 0.02 } } ]

[[runs]]
name = "add_group OneCycleLR"
optimizer = { type = "Adam" }
groups = [ { module = "layer", lr = 0.01 } ]
scheduler = { type = "OneCycleLR", max_lr = [0.1, 0.05], div_factor = 10 }
edits = [ { step = 9, add_group = { module = "layer2" } } ]

[[runs]]
name = "add_group CyclicLR, SGD momentum"
optimizer = { type = "SGD", momentum = 0.9 }
groups = [ { module = "layer", lr = 0.01 } ]
[runs.scheduler]
type = "CyclicLR"
base_lr = [0.01, 0.002]
max_lr = 0.1
step_size_up = 3
base_momentum = [0.8, 0.7]
[[runs.edits]]
epoch = 2
add_group = { module = "layer2", lr = 0.01 }

[[runs]]
name = "add_group ReduceLROnPlateau"
optimizer = { type = "Adam" }
groups = [ { module = "layer", lr = 0.2 } ]
scheduler = { type = "ReduceLROnPlateau", patience = 0, factor = 0.5, min_lr = [0.0, 0.004] }
edits = [ { epoch = 2, add_group = { module = "layer2", lr = 0.05 } } ]

[[runs]]
name = "add_group SequentialLR"
optimizer = { type = "Adam" }
groups = [ { module = "layer", lr = 0.05 } ]
[runs.scheduler]
type = "SequentialLR"
milestones = [3]
schedulers = [ { type = "LinearLR", start_factor = 0.5, total_iters = 3 }, { type = "ExponentialLR", gamma = 0.8 } ]
[[runs.edits]]
epoch = 1
add_group = { module = "layer2", lr = 0.02 }

[[runs]]
name = "negative lr"
optimizer = { type = "SGD", lr = 0.05 }
scheduler = { type = "LambdaLR", lr_lambda = "1 - epoch / 3" }
"""

# no validation set (val_fraction = 0): val_loss is empty; two runs diverge and stop early
DIVERGING_TABLE = """\
seed = 4
epochs = 5
model = "article"

[data]
samples = 64
batch_size = 16
val_fraction = 0

[[runs]]
name = "ReduceLROnPlateau on the train loss"
optimizer = { type = "Adam", lr = 0.3 }
scheduler = { type = "ReduceLROnPlateau", patience = 0, factor = 0.5, monitor = "train_loss" }

[[runs]]
name = "the loss diverges"
optimizer = { type = "SGD", lr = 3.0 }
scheduler = { type = "ExponentialLR", gamma = 2.0 }

[[runs]]
name = "an lr float32 cannot take"
optimizer = { type = "SGD", lr = 0.01 }
edits = [ { epoch = 2, lr = 1e39 } ]
"""

TABLE = {"schedulers": SCHEDULER_TABLE, "optimizers": OPTIMIZER_TABLE, "edits": EDIT_TABLE,
         "diverging": DIVERGING_TABLE}
RESULTS = ("epochs.csv", "steps.csv")


# -- running a script as a learner would, and the CLI ------------------------------------------
def _start_script(text: str, directory: Path, *args: str) -> Forked:
    """Start ``text`` as a script in Python's isolated mode, from an empty directory of its own."""
    (directory / "script").mkdir(parents=True)
    (directory / "empty").mkdir()
    script = directory / "script" / "lrlab_run.py"
    script.write_text(text, encoding="utf-8")
    return Forked([script, *args], kind="script", cwd=directory / "empty")


def _finish(process: Forked) -> str:
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    assert "Traceback" not in err, err
    return out


def _cli_run(path: Path, out: Path) -> None:
    assert cli(["run", str(path), "--out", str(out), "--quiet"]) == 0


def _assert_same_files(expected: Path, got: Path) -> None:
    for name in RESULTS:
        want, have = (expected / name).read_bytes(), (got / name).read_bytes()
        if want != have:
            lines = zip(want.decode().splitlines(), have.decode().splitlines())
            first = next(((i, a, b) for i, (a, b) in enumerate(lines) if a != b), None)
            raise AssertionError(f"{name} differs (cli, script): {first or 'in length'}")


def _check(path: Path, tmp_path: Path) -> None:
    """The script of every run of ``path`` writes the CLI's epochs.csv and steps.csv, byte for byte."""
    text = generate(load_experiment(path))
    process = _start_script(text, tmp_path, "--csv", str(tmp_path / "script-results"))
    try:
        _cli_run(path, tmp_path / "cli-results")  # in this process, while the script trains
    finally:
        _finish(process)
    assert not any((tmp_path / "empty").iterdir())  # it wrote only where it was told
    _assert_same_files(tmp_path / "cli-results", tmp_path / "script-results")


# Each preset's first 30 epochs: every preset's runs reach each kind of event their whole length
# has (manual decays, plateaus, the added group, a freeze) and change their lr by then (checked
# when this was chosen); the whole length trained the article's models twice for 100 epochs
# each, the suite's longest tests. The table above covers the schedules to their ends.
PRESET_EPOCHS = 30


@pytest.mark.parametrize("name", [p.name for p in list_presets()])
def test_every_preset_as_a_script_writes_the_clis_csvs(name, tmp_path):
    raw = read_raw(preset_path(name))
    assert raw["epochs"] >= PRESET_EPOCHS
    path = tmp_path / f"{name}.toml"
    write_raw({**raw, "epochs": PRESET_EPOCHS}, path)
    _check(path, tmp_path)


@pytest.mark.parametrize("name", list(TABLE))
def test_the_table_as_scripts_writes_the_clis_csvs(name, tmp_path):
    path = tmp_path / f"{name}.toml"
    path.write_text(TABLE[name])
    _check(path, tmp_path)


def test_one_run_script_prints_that_runs_rows(tmp_path):
    """``generate(..., run=NAME)``: that run alone; without --csv its epochs.csv rows are printed."""
    path = tmp_path / "diverging.toml"
    path.write_text(DIVERGING_TABLE)
    name = "the loss diverges"
    process = _start_script(generate(load_experiment(path), name), tmp_path)
    _cli_run(path, tmp_path / "cli")
    printed = _finish(process)
    rows = (tmp_path / "cli" / "epochs.csv").read_text().splitlines()
    assert printed.splitlines() == [rows[0], *(row for row in rows[1:] if row.startswith(f"{name},"))]
    assert len(printed.splitlines()) == 1 + 4  # it diverges in its last epoch, before recording it


PROBE = """\
import importlib.util, json, os, sys
print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "path": sys.path, "isolated": sys.flags.isolated,
                  "found": {name: importlib.util.find_spec(name) is not None for name in ("engine", "gui", "main")},
                  "torch": "torch" in sys.modules}))
import engine
"""


def test_a_script_process_cannot_import_the_project(tmp_path):
    """The process a script runs in: isolated mode, its own directory, its arguments, torch at hand,
    and nothing of the checkout (not on the path, not through the editable install)."""
    process = _start_script(PROBE, tmp_path, "--csv", "x")
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 1 and "ModuleNotFoundError: No module named 'engine'" in err, err
    seen = json.loads(out)
    assert seen["argv"] == [str(tmp_path / "script" / "lrlab_run.py"), "--csv", "x"]
    assert seen["cwd"] == str(tmp_path / "empty") and seen["isolated"] == 1 and seen["torch"]
    assert seen["found"] == {"engine": False, "gui": False, "main": False}
    root = ROOT.resolve()
    assert not [entry for entry in seen["path"] if Path(entry or seen["cwd"]).resolve() in (root, root / "tests")]
    assert not [entry for entry in seen["path"] if "__editable__" in entry]
    assert not any((tmp_path / "empty").iterdir())


# -- what the table covers -------------------------------------------------------------------
def _experiments():
    return {name: loads_experiment(text) for name, text in TABLE.items()}


def test_the_table_covers_every_scheduler_and_optimizer_and_each_feature():
    runs = [run for experiment in _experiments().values() for run in experiment.runs]
    schedulers = {s.type for run in runs if run.scheduler for s in run.scheduler.walk()}
    assert schedulers == set(SCHEDULERS)
    trainable = {name for name, spec in OPTIMIZERS.items() if not spec.unsupported}
    assert {run.optimizer.type for run in runs} == trainable
    edits = [edit for run in runs for edit in run.edits]
    assert any(g.options and len(run.groups) > 1 for run in runs if run.groups for g in run.groups)
    assert any(run.manual and run.manual.start == 0 for run in runs)
    assert any(run.manual and run.manual.start % run.manual.every for run in runs)
    assert any(e.epoch is not None and e.options for e in edits)
    assert any(e.step is not None and e.options for e in edits)
    assert any(e.rebase and e.group is None for e in edits) and any(e.rebase and e.group is not None for e in edits)
    added_under = {run.scheduler.type if run.scheduler else None for run in runs
                   if any(e.add_group for e in run.edits)}
    assert {None, "StepLR", "LambdaLR", "OneCycleLR", "CyclicLR", "ReduceLROnPlateau", "SequentialLR"} <= added_under
    assert {run.scheduler.interval for run in runs if run.scheduler} == {"epoch", "step", "fractional"}
    assert {run.scheduler.monitor for run in runs if run.scheduler and run.scheduler.type == "ReduceLROnPlateau"} \
        == {"val_loss", "train_loss"}
    assert any(experiment.data.n_val == 0 for experiment in _experiments().values())


# -- what a script is made of --------------------------------------------------------------
def _all_scripts() -> dict[str, str]:
    scripts = {name: generate(experiment) for name, experiment in _experiments().items()}
    scripts.update({p.name: generate(load_experiment(preset_path(p.name))) for p in list_presets()})
    return scripts


def test_scripts_import_only_torch_and_the_standard_library():
    for name, text in _all_scripts().items():
        modules = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                modules.add(node.module.split(".")[0])
        assert modules - {"torch"} <= set(sys.stdlib_module_names), (name, modules)


def test_scripts_pass_pyflakes():
    """No unused import, no undefined name, in any script (ruff's F rules, nothing of the project's settings)."""
    ruff = Path(sys.executable).with_name("ruff")
    ruff = str(ruff) if ruff.exists() else shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    for name, text in _all_scripts().items():
        result = subprocess.run([ruff, "check", "--isolated", "--select", "F,E9", "--no-cache", "-"], input=text,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (name, result.stdout)


def test_a_plain_run_reads_like_the_article_on_one_screen():
    text = generate(load_experiment(preset_path("steplr")))
    assert len(text.splitlines()) <= 100
    for line in ("class Net(nn.Module):", "        self.layer = nn.Linear(10, 2)",
                 "        self.layer2 = nn.Linear(2, 10)",
                 "    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)",
                 "    scheduler = lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)"):
        assert line in text.splitlines()
    order = [text.index(s) for s in ("optimizer.zero_grad()", "loss.backward()", "optimizer.step()",
                                     "scheduler.step()")]
    assert order == sorted(order)


def test_the_article_forms():
    """The manual decay as the article writes it, param groups as a list of dicts, add_param_group,
    scheduler.step(val_loss), LBFGS's closure, nested schedulers named as torch's docs name them."""
    decay = generate(load_experiment(preset_path("article-manual-decay")))
    assert "        if epoch % 5 == 0:  # the article's manual decay\n            for g in optimizer.param_groups:\n" \
           "                g['lr'] *= 0.9\n" in decay
    per_layer = generate(load_experiment(preset_path("per-layer-lr")))
    assert ("    optimizer = torch.optim.Adam([\n"
            "        {'params': model.layer.parameters(), 'lr': 0.1},\n"
            "        {'params': model.layer2.parameters(), 'lr': 0.2},\n"
            "    ])\n") in per_layer
    fine_tune = generate(load_experiment(preset_path("fine-tune-add-param-group")))
    assert "optimizer.add_param_group({'params': model.layer2.parameters(), 'lr': 0.01})" in fine_tune
    assert "scheduler.base_lrs.append(group['initial_lr'])" in fine_tune
    assert "scheduler.step(val_loss)" in generate(load_experiment(preset_path("reducelronplateau")))
    experiments = _experiments()
    assert "loss = optimizer.step(closure).item()" in generate(experiments["optimizers"], "LBFGS, default lr")
    nested = generate(experiments["schedulers"], "SequentialLR")
    assert ("    scheduler1 = lr_scheduler.LinearLR(optimizer, start_factor=0.5, total_iters=2)\n"
            "    scheduler2 = lr_scheduler.ExponentialLR(optimizer, gamma=0.7)\n"
            "    scheduler = lr_scheduler.SequentialLR(\n"
            "        optimizer, schedulers=[scheduler1, scheduler2], milestones=[2])\n") in nested
    chained = generate(experiments["schedulers"], "ChainedScheduler")
    assert "    scheduler = lr_scheduler.ChainedScheduler([scheduler1, scheduler2], optimizer=optimizer)" in chained
    edits = generate(experiments["edits"], "step edits, same step as an epoch edit")
    assert "            if t == 7:  # edits at a step, before it\n" \
           "                optimizer.param_groups[0]['lr'] = 0.07\n" in edits


# -- expressions -----------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "0.95 ** epoch", "2 ** epoch", "3 ** epoch * 1e-20", "epoch ** 2", "epoch ** epoch / 1e30",
    "1 / (2 ** (epoch - 1))",
    "exp(-epoch / 7) + log(epoch + 1) + log2(epoch + 1) + log10(epoch + 1) + sqrt(epoch)",
    "sin(epoch) * cos(epoch) + tan(epoch / 100) + tanh(epoch) + floor(epoch / 3) + ceil(epoch / 3)",
    "min(1, max(0.1, abs(1 - epoch / 50))) + pi - e", "1 if epoch < 10 else 0.5 if epoch < 20 else 0.1",
    "(-2) ** epoch / 3 ** epoch", "epoch // 7 * 0.1 + epoch % 7", "(epoch + 1) ** floor(epoch / 9)",
])
def test_a_lambda_computes_what_the_engine_computes_bit_for_bit(text):
    engine = compile_expression(text, "epoch")
    script = eval(python_lambda(text, "epoch"), {"math": math})  # noqa: S307 - our own output
    for epoch in range(0, 120):
        want = engine(epoch)
        got = float(script(epoch))
        assert got == want and math.copysign(1, got) == math.copysign(1, want), (text, epoch, got, want)


# -- the command ----------------------------------------------------------------------------
def test_code_prints_the_script_or_writes_it(tmp_path, capsys):
    assert cli(["code", "--preset", "manual-vs-steplr"]) == 0
    experiment = load_experiment(preset_path("manual-vs-steplr"))
    assert capsys.readouterr().out == generate(experiment)
    out = tmp_path / "steplr.py"
    assert cli(["code", "--preset", "manual-vs-steplr", "--run", "StepLR(5, 0.9)", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == generate(experiment, "StepLR(5, 0.9)")
    assert capsys.readouterr().out == ""
    path = tmp_path / "exp.toml"
    path.write_text(DIVERGING_TABLE)
    assert cli(["code", str(path), "--run", "the loss diverges"]) == 0
    assert capsys.readouterr().out == generate(load_experiment(path), "the loss diverges")


@pytest.mark.parametrize("args, message", [
    (["--preset", "steplr", "--run", "nope"], 'error: --run: no run is named "nope"; the runs: "StepLR(5, 0.5)"'),
    (["--preset", "nope"], 'error: --preset: unknown preset "nope"'),
    (["{tmp}/missing.toml"], "error: {tmp}/missing.toml: no such file"),
    (["{tmp}/bad.toml"], "error: {tmp}/bad.toml: epochs: expected a whole number >= 1"),
    (["{tmp}/torch.toml"], "error: {tmp}/torch.toml: runs[0].optimizer: torch refused it: Nesterov momentum"),
    (["--preset", "steplr", "--out", "{tmp}"], "error: --out {tmp}: is a directory"),
    (["--preset", "steplr", "--out", "{tmp}/no/such/dir/x.py"], "error: --out {tmp}/no/such/dir/x.py: "),
])
def test_code_refuses_bad_input_with_one_line_and_exit_2(args, message, tmp_path, capsys):
    (tmp_path / "bad.toml").write_text('epochs = 0\n[[runs]]\noptimizer = { type = "Adam" }\n')
    (tmp_path / "torch.toml").write_text('[[runs]]\noptimizer = { type = "SGD", lr = 0.1, nesterov = true }\n')
    assert cli(["code", *(a.format(tmp=tmp_path) for a in args)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message.format(tmp=tmp_path)) and captured.err.count("\n") == 1, captured.err
