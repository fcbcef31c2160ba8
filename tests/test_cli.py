"""The headless command line end to end: ``python main.py run|presets|describe``, run in this process
(tests/cli_helpers.py main_in_process: its exit code, stdout, and stderr with any warning); what
only a process of its own shows (signals, exit at the interpreter level, Qt never loaded) is
tested in test_cli_interrupts.py, test_cli_outputs.py and test_engine_is_qt_free.py."""

from __future__ import annotations

import csv
import functools
import math
import random
from pathlib import Path

import pytest
import torch

from engine.files import load_experiment
from engine.session import TrainingSession
from tests.cli_helpers import main_in_process

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ROOT / "resources" / "presets"

# 256 samples, val 0.2 -> 51 val, 205 train, batch 32 -> 7 steps per epoch; 5 epochs -> 35 steps.
EXPERIMENT = """\
seed = 3
epochs = 5
model = "bottleneck"
[data]
samples = 256
batch_size = 32

[[runs]]
name = "steplr"
optimizer = { type = "Adam", lr = 0.05 }
scheduler = { type = "StepLR", step_size = 2, gamma = 0.5 }

[[runs]]
name = "per-layer"
optimizer = { type = "SGD", lr = 0.1, momentum = 0.9 }
groups = [ { module = "layer", lr = 0.1 }, { module = "layer2", lr = 0.2 } ]
scheduler = { type = "ExponentialLR", gamma = 0.9 }

[[runs]]
name = "fine-tune"
optimizer = { type = "Adam", lr = 0.01 }
groups = [ { module = "layer" } ]
edits = [ { epoch = 2, add_group = { module = "layer2", lr = 0.005 } }, { epoch = 3, group = 0, lr = 0.02 } ]

[[runs]]
name = "onecycle"
optimizer = { type = "AdamW", lr = 0.01 }
scheduler = { type = "OneCycleLR", max_lr = 0.05 }

[[runs]]
name = "manual"
optimizer = { type = "SGD", lr = 0.1 }
manual = { every = 2, factor = 0.5, start = 0 }
"""
EPOCHS, STEPS_PER_EPOCH = 5, 7
# (run, group) -> first epoch of that group's rows
GROUPS = {("steplr", 0): 0, ("per-layer", 0): 0, ("per-layer", 1): 0, ("fine-tune", 0): 0,
          ("fine-tune", 1): 2, ("onecycle", 0): 0, ("manual", 0): 0}


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@functools.cache  # the valid run's tests compare with the same training
def in_process(path: Path):
    session = TrainingSession(load_experiment(path))
    session.run()
    return {r.name: r for r in session.snapshot()}


@pytest.fixture(scope="module")
def valid_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("valid")
    (tmp / "exp.toml").write_text(EXPERIMENT)
    result = main_in_process("run", tmp / "exp.toml", "--out", tmp / "out")
    return tmp, result


def test_valid_run_exit_code_and_quiet_stderr(valid_run):
    tmp, result = valid_run
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar when stderr is not a terminal, no warnings
    assert sorted(p.name for p in (tmp / "out").iterdir()) == ["epochs.csv", "events.csv", "steps.csv"]


def test_epochs_csv(valid_run):
    tmp, _ = valid_run
    header, rows = read_csv(tmp / "out" / "epochs.csv")
    assert header == ["run", "epoch", "group", "lr", "train_loss", "val_loss"]
    expected_keys = {(run, e, g) for (run, g), first in GROUPS.items() for e in range(first, EPOCHS)}
    keys = [(r[0], int(r[1]), int(r[2])) for r in rows]
    assert len(keys) == len(set(keys)) == len(expected_keys) == 33
    assert set(keys) == expected_keys
    results = in_process(tmp / "exp.toml")
    for run, epoch, group, lr, train, val in rows:
        r, e, g = results[run], int(epoch), int(group)
        assert r.epoch[e] == e
        assert float(lr) == r.epoch_lr[e, g]
        assert float(train) == r.train_loss[e]
        assert float(val) == r.val_loss[e]
        assert math.isfinite(float(train)) and math.isfinite(float(val))


def test_epochs_csv_lrs_follow_the_schedules(valid_run):
    tmp, _ = valid_run
    _, rows = read_csv(tmp / "out" / "epochs.csv")
    lr = {(r[0], int(r[1]), int(r[2])): float(r[3]) for r in rows}
    assert [lr["steplr", e, 0] for e in range(5)] == [0.05, 0.05, 0.025, 0.025, 0.0125]
    assert [lr["manual", e, 0] for e in range(5)] == [0.05, 0.05, 0.025, 0.025, 0.0125]
    assert (lr["per-layer", 0, 0], lr["per-layer", 0, 1]) == (0.1, 0.2)
    assert lr["per-layer", 1, 1] == 0.2 * 0.9
    assert (lr["fine-tune", 2, 1], lr["fine-tune", 2, 0], lr["fine-tune", 3, 0]) == (0.005, 0.01, 0.02)


def test_steps_csv(valid_run):
    tmp, _ = valid_run
    header, rows = read_csv(tmp / "out" / "steps.csv")
    assert header == ["run", "step", "epoch", "group", "lr", "loss"]
    expected_keys = {(run, s, g) for (run, g), first in GROUPS.items()
                     for s in range(first * STEPS_PER_EPOCH, EPOCHS * STEPS_PER_EPOCH)}
    keys = [(r[0], int(r[1]), int(r[3])) for r in rows]
    assert len(keys) == len(set(keys)) == len(expected_keys) == 7 * 35 - 2 * 7
    assert set(keys) == expected_keys
    results = in_process(tmp / "exp.toml")
    for run, step, epoch, group, lr, loss in rows:
        r, s, g = results[run], int(step), int(group)
        assert r.step[s] == s and int(epoch) == r.step_epoch[s] == s // STEPS_PER_EPOCH
        assert float(lr) == r.step_lr[s, g]
        assert float(loss) == r.step_loss[s]


def test_events_csv(valid_run):
    tmp, _ = valid_run
    header, rows = read_csv(tmp / "out" / "events.csv")
    assert header == ["run", "step", "epoch", "kind", "group", "detail"]
    results = in_process(tmp / "exp.toml")
    expected = [[name, str(e.step), str(e.epoch), e.kind, "" if e.group is None else str(e.group), e.detail]
                for name, r in results.items() for e in r.events]
    assert rows == expected
    kinds = {(r[0], r[3], r[1]) for r in rows}
    assert ("fine-tune", "add_group", "14") in kinds and ("fine-tune", "edit", "21") in kinds
    assert {("manual", "manual_decay", str(s)) for s in (0, 14, 28)} <= kinds


def test_no_validation_set_leaves_val_loss_empty(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text('epochs = 3\n[data]\nsamples = 128\nval_fraction = 0\n'
                    '[[runs]]\nname = "a"\noptimizer = { type = "Adam", lr = 0.1 }\n')
    result = main_in_process("run", path, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    _, rows = read_csv(tmp_path / "out" / "epochs.csv")
    assert [int(r[1]) for r in rows] == [0, 1, 2]
    assert all(r[5] == "" for r in rows)
    train = in_process(path)["a"].train_loss
    assert [float(r[4]) for r in rows] == train.tolist()


# -- inputs that cannot run: exit code 2, one line, no traceback ------------------------------

GOOD = 'epochs = 2\n[data]\nsamples = 64\n[[runs]]\nname = "a"\noptimizer = { type = "Adam", lr = 0.1 }\n'


def _bad_inputs(tmp: Path) -> dict[str, tuple[list, str]]:
    """id -> (main.py arguments, the exact stderr line or its beginning)."""
    (tmp / "good.toml").write_text(GOOD)
    (tmp / "field.toml").write_text(GOOD + 'scheduler = { type = "StepLR", step_size = 5, gamma = "half" }\n')
    (tmp / "notoml.toml").write_text("this is = = not TOML\n")
    (tmp / "binary.toml").write_bytes(bytes([0xFF, 0xFE, 0x80]) * 50)
    (tmp / "expr.toml").write_text(GOOD + 'scheduler = { type = "LambdaLR", lr_lambda = "epoch in 1" }\n')
    (tmp / "corrupt.pt").write_bytes(random.Random(0).randbytes(4096))
    (tmp / "zip.pt").write_bytes(b"PK\x03\x04" + random.Random(1).randbytes(600))
    torch.save({"a": 1}, tmp / "foreign.pt")
    good, out = tmp / "good.toml", "OUT"
    return {
        "bad-field": (["run", tmp / "field.toml", "--out", out],
                      'error: runs[0].scheduler.gamma: expected a number > 0, got "half"'),
        "not-toml": (["run", tmp / "notoml.toml", "--out", out], f"error: {tmp / 'notoml.toml'}: not valid TOML ("),
        "binary": (["run", tmp / "binary.toml", "--out", out], f"error: {tmp / 'binary.toml'}: not a text file"),
        "missing": (["run", tmp / "missing.toml", "--out", out], f"error: {tmp / 'missing.toml'}: no such file"),
        "directory": (["run", tmp, "--out", out], f"error: {tmp}: is a directory"),
        "unknown-preset": (["run", "--preset", "nope", "--out", out], 'error: --preset: unknown preset "nope"'),
        "corrupt-resume": (["run", good, "--resume", tmp / "corrupt.pt", "--out", out],
                           f"error: {tmp / 'corrupt.pt'}: not a training-state file of this app"),
        "corrupt-zip-resume": (["run", good, "--resume", tmp / "zip.pt", "--out", out],
                               f"error: {tmp / 'zip.pt'}: not a training-state file of this app"),
        "foreign-resume": (["run", good, "--resume", tmp / "foreign.pt", "--out", out],
                           f"error: {tmp / 'foreign.pt'}: not a training-state file of this app"),
        "missing-resume": (["run", good, "--resume", tmp / "nope.pt", "--out", out],
                           f"error: {tmp / 'nope.pt'}: no such file"),
        "unsafe-expression": (["run", tmp / "expr.toml", "--out", out], "error: runs[0].scheduler.lr_lambda: "),
    }


BAD_IDS = ["bad-field", "not-toml", "binary", "missing", "directory", "unknown-preset", "corrupt-resume",
           "corrupt-zip-resume", "foreign-resume", "missing-resume", "unsafe-expression"]


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    cases = _bad_inputs(tmp)
    assert sorted(cases) == sorted(BAD_IDS)
    return tmp, {name: (main_in_process(*[tmp / "out" / name if a == "OUT" else a for a in args]), expected)
                 for name, (args, expected) in cases.items()}


@pytest.mark.parametrize("name", BAD_IDS)
def test_bad_input_exit_code_2_one_line(bad_runs, name):
    tmp, runs = bad_runs
    result, expected = runs[name]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected), lines[0]
    assert not (tmp / "out" / name).exists()  # validation happens before anything trains or writes


# -- divergence -------------------------------------------------------------------------------

DIVERGING = """\
epochs = 5
[data]
samples = 256
[[runs]]
name = "normal"
optimizer = { type = "SGD", lr = 0.1 }
[[runs]]
name = "boom"
optimizer = { type = "SGD", lr = 10.0 }
"""


def test_diverging_run_next_to_a_normal_one(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(DIVERGING)
    result = main_in_process("run", path, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("warning:") and "'boom'" in warnings[0], result.stderr
    assert "diverged" in warnings[0]

    _, events = read_csv(tmp_path / "out" / "events.csv")
    diverged = [e for e in events if e[3] == "diverged"]
    assert len(diverged) == 1 and diverged[0][0] == "boom"
    blow_up = int(diverged[0][1])
    assert 0 < blow_up < EPOCHS * STEPS_PER_EPOCH - 1  # it really diverges, and mid-run

    _, epochs = read_csv(tmp_path / "out" / "epochs.csv")
    assert [int(r[1]) for r in epochs if r[0] == "normal"] == list(range(EPOCHS))
    boom_epochs = [int(r[1]) for r in epochs if r[0] == "boom"]
    assert boom_epochs == list(range(blow_up // STEPS_PER_EPOCH))
    _, steps = read_csv(tmp_path / "out" / "steps.csv")
    assert [int(r[1]) for r in steps if r[0] == "normal"] == list(range(EPOCHS * STEPS_PER_EPOCH))
    boom_steps = [r for r in steps if r[0] == "boom"]
    assert [int(r[1]) for r in boom_steps] == list(range(blow_up + 1))  # rows up to the blow-up are kept
    assert not math.isfinite(float(boom_steps[-1][5]))
    assert all(math.isfinite(float(r[5])) for r in boom_steps[:-1])
    assert all(math.isfinite(float(r[4])) for r in epochs)

    results = in_process(path)  # the CLI's numbers are the engine's
    assert [float(r[5]) for r in steps if r[0] == "normal"] == results["normal"].step_loss.tolist()
    assert [float(r[5]) for r in boom_steps] == results["boom"].step_loss.tolist()


# -- presets and describe ---------------------------------------------------------------------

def test_presets_lists_every_file():
    result = main_in_process("presets")
    assert result.returncode == 0 and result.stderr == ""
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    files = sorted(p.stem for p in PRESETS.glob("*.toml"))
    assert len(files) >= 10
    assert sorted(listed) == files


def test_describe_steplr():
    result = main_in_process("describe", "StepLR")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("StepLR:")
    for line in ("  step_size: a whole number >= 1 (required)", "  gamma: a number > 0 (default 0.1)",
                 '  interval: one of "epoch", "step" (default "epoch")'):
        assert line in out.splitlines()


def test_describe_lists_all_and_refuses_unknown():
    result = main_in_process("describe")
    assert result.returncode == 0
    assert "  SGD" in result.stdout.splitlines() and "  OneCycleLR" in result.stdout.splitlines()
    assert any(line.startswith("  SparseAdam  (not available:") for line in result.stdout.splitlines())
    unknown = main_in_process("describe", "StepLr")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: unknown optimizer or scheduler")
    assert "Traceback" not in unknown.stderr


def test_run_preset_steplr(tmp_path):
    result = main_in_process("run", "--preset", "steplr", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    header, rows = read_csv(tmp_path / "out" / "epochs.csv")
    assert header == ["run", "epoch", "group", "lr", "train_loss", "val_loss"]
    assert [int(r[1]) for r in rows] == list(range(100))
    assert [float(r[3]) for r in rows] == [0.1 * 0.5 ** (e // 5) for e in range(100)]
    assert all(r[5] != "" for r in rows)
