"""What the CLI tests of interrupts and output paths share: experiments, processes, files."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
import warnings
from pathlib import Path

from tests.cli_zygote import Forked

ROOT = Path(__file__).resolve().parent.parent

# 256 samples, val 0.2 -> 205 train, batch 32 -> 7 steps per epoch; two runs (the interrupt
# used to land between them), a scheduler, momentum and manual decay events.
STEPS_PER_EPOCH = 7
EXPERIMENT = """\
seed = 5
epochs = {epochs}
model = "bottleneck"
[data]
samples = 256
batch_size = 32

[[runs]]
name = "adam-steplr"
optimizer = {{ type = "Adam", lr = 0.05 }}
scheduler = {{ type = "StepLR", step_size = 4, gamma = 0.7 }}

[[runs]]
name = "sgd-manual"
optimizer = {{ type = "SGD", lr = 0.1, momentum = 0.9 }}
manual = {{ every = 5, factor = 0.5 }}
"""
SHORT, LONG = 40, 120  # epochs: LONG trains for seconds, time enough to interrupt from outside
TIMEOUT = 300  # generous: this machine may be busy


def write_experiment(directory: Path, epochs: int = SHORT) -> Path:
    path = directory / f"exp{epochs}.toml"
    path.write_text(EXPERIMENT.format(epochs=epochs))
    return path


# What a fresh interpreter hides by default (pytest shows them): hidden here too, so that "nothing
# on stderr" means what it means in a terminal.
_HIDDEN_BY_DEFAULT = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def main_in_process(*args) -> subprocess.CompletedProcess:
    """``python main.py ARGS`` in this process (torch imported once for the whole suite): the exit
    code, stdout and stderr, with every warning the command gives printed to stderr as the
    interpreter would print it (each one, not only the first of its kind)."""
    from main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for category in _HIDDEN_BY_DEFAULT:
            warnings.filterwarnings("ignore", category=category)
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
    shown = "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line) for w in caught)
    return subprocess.CompletedProcess(["main.py", *map(str, args)], code, out.getvalue(), err.getvalue() + shown)


def start_paused(moment: str, *args, **options) -> Forked:
    """main.py with ``args`` in a process of its own (tests/cli_zygote.py), paused at ``moment`` (see
    tests/cli_pause.py) when this returns; ``process.go()`` lets it carry on."""
    return Forked(args, moment=moment, **options)


def finish(process) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, out, err


def files(directory: Path) -> dict[str, bytes]:
    """The files in ``directory`` (not the hidden temporary ones) and their bytes."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file() and not p.name.startswith(".")}


def leftovers(*directories: Path) -> list[str]:
    """Temporary files the writers may leave only while they run."""
    return [p.name for d in directories if d.is_dir() for p in d.iterdir()
            if p.name.endswith((".partial", ".old"))]


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def state_position(path: Path) -> int:
    from engine.checkpoint import load_state

    return int(load_state(path)["position"])


_references: dict[int, tuple[Path, dict[str, bytes]]] = {}


def reference_run(tmp_path_factory, epochs: int) -> tuple[Path, dict[str, bytes]]:
    """An uninterrupted run's experiment file and CSV files (computed once per test session)."""
    if epochs not in _references:
        tmp = tmp_path_factory.mktemp(f"reference{epochs}")
        experiment = write_experiment(tmp, epochs)
        result = main_in_process("run", experiment, "--out", tmp / "out", "--quiet")
        assert result.returncode == 0, result.stderr
        _references[epochs] = experiment, files(tmp / "out")
    return _references[epochs]


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
