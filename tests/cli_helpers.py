"""What the CLI tests of interrupts and output paths share: experiments, processes, files."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def main_py(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL, **kwargs)


def wait_for(condition, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def start_paused(moment: str, sync: Path, *args) -> subprocess.Popen:
    """main.py with ``args``, paused at ``moment`` (see tests/cli_pause.py) when this returns."""
    sync.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "cli_pause.py"), moment, str(sync),
                                *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True)
    try:
        wait_for(lambda: (sync / "paused").exists() or process.poll() is not None, f"the pause at {moment}")
    except AssertionError:
        process.kill()
        raise
    if process.poll() is not None:
        out, err = process.communicate()
        raise AssertionError(f"main.py ended before {moment} (exit {process.returncode}): {err[-2000:]}")
    return process


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
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
        result = main_py("run", experiment, "--out", tmp / "out", "--quiet")
        assert result.returncode == 0, result.stderr
        _references[epochs] = experiment, files(tmp / "out")
    return _references[epochs]


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    return reference_run(tmp_path_factory, SHORT)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
