"""``main.py find``: the range test on the command line, run in this process (tests/cli_helpers.py)."""

from __future__ import annotations

import csv
import signal

import pytest

import engine.range_test
from engine.files import load_experiment
from engine.lr_rules import RULES
from engine.presets import preset_path
from engine.range_test import RangeTestOptions, find_lr
from tests.cli_helpers import main_in_process

EXPERIMENT = """\
seed = 1
epochs = 3
model = "bottleneck"
[data]
samples = 256

[[runs]]
name = "adam"
optimizer = { type = "Adam", lr = 0.05 }

[[runs]]
name = "sgd groups"
optimizer = { type = "SGD", lr = 0.1, momentum = 0.9 }
groups = [ { module = "layer", lr = 0.1 }, { module = "layer2", lr = 0.2 } ]
"""


@pytest.fixture
def experiment_file(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT)
    return path


def never_trains(self):
    pytest.fail("it trained")
    yield


def read(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_find_writes_the_curve_and_the_suggestions_and_prints_them(tmp_path, experiment_file):
    out = tmp_path / "out"
    done = main_in_process("find", experiment_file, "--run", "sgd groups", "--iters", "60", "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    curve, suggestions = read(out / "find.csv"), read(out / "suggestions.csv")
    assert curve[0] == ["step", "lr", "loss", "smoothed_loss"]
    assert suggestions[0] == ["rule", "lr", "loss"]
    assert [row[0] for row in suggestions[1:]] == list(RULES)
    expected = find_lr(load_experiment(experiment_file), 1, RangeTestOptions(num_iter=60))
    assert [float(row[1]) for row in curve[1:]] == expected.lr.tolist()     # full precision
    assert [float(row[3]) for row in curve[1:]] == expected.smoothed.tolist()
    assert [int(row[0]) for row in curve[1:]] == list(range(len(expected.lr)))
    for row, s in zip(suggestions[1:], expected.suggestions):
        assert (row[1], row[2]) == (("", "") if s.lr is None else (repr(s.lr), repr(s.loss)))
        assert s.rule in done.stdout
    assert "param group 1" in done.stdout  # the swept lr is layer2's (the larger); layer keeps half of it
    assert f"wrote {out / 'find.csv'}, {out / 'suggestions.csv'}" in done.stdout


def test_find_takes_a_preset_and_linear_mode(tmp_path):
    out = tmp_path / "p"
    done = main_in_process("find", "--preset", "optimizer-attributes", "--mode", "linear", "--start", "1e-4",
                           "--end", "1", "--iters", "30", "--out", out)
    assert done.returncode == 0, done.stderr
    lrs = [float(row[1]) for row in read(out / "find.csv")[1:]]
    assert lrs[0] == 1e-4 and lrs[-1] == pytest.approx(1.0)
    expected = find_lr(load_experiment(preset_path("optimizer-attributes")), 0,
                       RangeTestOptions(start_lr=1e-4, end_lr=1.0, num_iter=30, mode="linear"))
    assert lrs == expected.lr.tolist()


@pytest.mark.parametrize("args, message", [
    (["--start", "10", "--end", "1"], "error: --start: expected an lr below --end (1), got 10"),
    (["--start", "1", "--end", "1"], "error: --start: expected an lr below --end (1), got 1"),
    (["--start", "0"], "error: --start: expected a finite number > 0"),
    (["--end", "-3"], "error: --end: expected a finite number > 0"),
    (["--iters", "1"], "error: --iters: expected a whole number from 2 to"),
    (["--iters", "ten"], "error: --iters: expected a whole number, got 'ten'"),
    (["--start", "abc"], "error: --start: expected a number, got 'abc'"),
    (["--mode", "cubic"], 'error: --mode: expected one of "exp", "linear", got "cubic"'),
    (["--run", "nope"], 'error: --run: no run is named "nope"'),
])
def test_bad_input_exits_2_with_one_line_naming_the_option(tmp_path, experiment_file, args, message):
    out = tmp_path / "never"
    done = main_in_process("find", experiment_file, "--out", out, *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert done.stdout == ""
    assert not out.exists()


def test_an_unusable_out_is_refused_before_any_work(tmp_path, experiment_file, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setattr(engine.range_test.RangeTest, "steps", never_trains)
    done = main_in_process("find", experiment_file, "--out", blocker)
    assert done.returncode == 2 and done.stderr == f"error: --out {blocker}: exists and is not a directory\n"
    (tmp_path / "d" / "find.csv").mkdir(parents=True)
    done = main_in_process("find", experiment_file, "--out", tmp_path / "d")
    assert done.returncode == 2 and "find.csv there is a directory" in done.stderr
    done = main_in_process("find", tmp_path / "missing.toml", "--out", tmp_path / "e")
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "missing.toml" in done.stderr


def _interrupted_at(monkeypatch, step: int) -> None:
    """A real SIGINT to this process as the test reaches ``step`` (the CLI's handler takes it)."""
    steps = engine.range_test.RangeTest.steps

    def interrupted(self):
        for i in steps(self):
            if i == step:
                signal.raise_signal(signal.SIGINT)
            yield i

    monkeypatch.setattr(engine.range_test.RangeTest, "steps", interrupted)


def test_ctrl_c_writes_the_curve_so_far_and_exits_130(tmp_path, experiment_file, monkeypatch):
    _interrupted_at(monkeypatch, 20)
    out = tmp_path / "o"
    done = main_in_process("find", experiment_file, "--out", out)
    assert done.returncode == 130
    assert "interrupted at step 21" in done.stdout
    assert len(read(out / "find.csv")) == 1 + 21
    assert [row[0] for row in read(out / "suggestions.csv")[1:]] == list(RULES)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_ctrl_c_before_the_first_step_writes_nothing(tmp_path, experiment_file, monkeypatch):
    build = engine.range_test.range_test_trainer

    def interrupted_while_building(*args):
        signal.raise_signal(signal.SIGINT)
        return build(*args)

    monkeypatch.setattr(engine.range_test, "range_test_trainer", interrupted_while_building)
    monkeypatch.setattr(engine.range_test.RangeTest, "steps", never_trains)
    out = tmp_path / "o"
    done = main_in_process("find", experiment_file, "--out", out)
    assert done.returncode == 130
    assert done.stderr == "interrupted before the first step; nothing written\n"
    assert not out.exists()
