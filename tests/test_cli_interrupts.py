"""Ctrl-C and SIGTERM in ``python main.py run``: real processes, real signals (issue 8, items 1-3).

An interrupt takes effect between two steps of the whole session, the results so far and the
state at that boundary are written whole, and the process exits 130; resuming the state gives
an uninterrupted run's CSV files byte for byte, wherever the signal landed. The exact moments
(inside a session step, between two runs' steps; while a file is being written) come from
tests/cli_pause.py; the progress bar's moments are the real program's, on a terminal. Each
interrupted run is a process of its own (forked from tests/cli_zygote.py, which has imported
torch once); what it resumes to is checked in this process.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import termios
import threading

import pytest

from tests.cli_helpers import (
    LONG,
    SHORT,
    STEPS_PER_EPOCH,
    TIMEOUT,
    files,
    finish,
    leftovers,
    main_in_process,
    reference_run,
    rows,
    start_paused,
    state_position,
)
from tests.cli_zygote import Forked

TOTAL = SHORT * STEPS_PER_EPOCH


def resume_equals_reference(tmp_path, experiment, state, expected: dict[str, bytes]) -> None:
    result = main_in_process("run", experiment, "--resume", state, "--out", tmp_path / "resumed",
                     "--save-state", tmp_path / "final.pt", "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert files(tmp_path / "resumed") == expected  # byte for byte
    assert state_position(tmp_path / "final.pt") == TOTAL


def until_step(expected: dict[str, bytes], last_step: int) -> dict[str, list[list[str]]]:
    """The reference's rows an interrupted run has written when its last step was ``last_step``."""
    epochs_done = (last_step + 1) // STEPS_PER_EPOCH
    keep = {"epochs.csv": lambda row: int(row[1]) < epochs_done,
            "steps.csv": lambda row: int(row[1]) <= last_step,
            "events.csv": lambda row: int(row[1]) <= last_step}
    return {name: [table[0]] + [row for row in table[1:] if keep[name](row)]
            for name, table in ((name, rows(data)) for name, data in expected.items())}


# run 1 is about to do step t, run 0 has done it: the moment that used to leave a duplicate row
MID_STEP = {
    "first-step": (signal.SIGINT, 0),
    "mid-epoch": (signal.SIGINT, 3 * STEPS_PER_EPOCH + 2),
    "last-step-of-an-epoch": (signal.SIGINT, 4 * STEPS_PER_EPOCH - 1),
    "sigterm-first-step-of-an-epoch": (signal.SIGTERM, 5 * STEPS_PER_EPOCH),
}


@pytest.mark.parametrize("moment", MID_STEP)
def test_interrupt_inside_a_session_step_stops_at_its_end_and_resumes_exactly(tmp_path, reference, moment):
    experiment, expected = reference
    sig, t = MID_STEP[moment]
    process = start_paused(f"step:1:{t}", "run", experiment, "--out", tmp_path / "out",
                           "--save-state", tmp_path / "state.pt")
    process.send_signal(sig)
    code, out, err = finish(process)
    assert code == 130, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (f"interrupted at epoch {(t + 1) // STEPS_PER_EPOCH} (step {t + 1} of "
                                    f"{TOTAL}); results so far written to {tmp_path / 'out'}, the state to "
                                    f"{tmp_path / 'state.pt'}")
    assert state_position(tmp_path / "state.pt") == t + 1  # the boundary after the step it landed in
    written = {name: rows(data) for name, data in files(tmp_path / "out").items()}
    assert written == until_step(expected, t)  # every run up to step t, nothing of step t + 1
    assert leftovers(tmp_path / "out", tmp_path) == []
    resume_equals_reference(tmp_path, experiment, tmp_path / "state.pt", expected)


def test_interrupt_in_the_last_step_writes_the_whole_run(tmp_path, reference):
    experiment, expected = reference
    process = start_paused(f"step:1:{TOTAL - 1}", "run", experiment, "--out",
                           tmp_path / "out", "--save-state", tmp_path / "state.pt")
    process.send_signal(signal.SIGINT)
    code, out, err = finish(process)
    assert code == 130, err
    assert f"interrupted at epoch {SHORT} (step {TOTAL} of {TOTAL})" in err
    assert files(tmp_path / "out") == expected
    assert state_position(tmp_path / "state.pt") == TOTAL
    resume_equals_reference(tmp_path, experiment, tmp_path / "state.pt", expected)


def test_interrupt_before_the_first_step_writes_nothing(tmp_path, reference):
    experiment, _ = reference
    process = start_paused("load", "run", experiment, "--out", tmp_path / "out",
                           "--save-state", tmp_path / "state.pt")
    process.send_signal(signal.SIGINT)
    code, out, err = finish(process)
    assert code == 130, err
    assert err == "interrupted before the first step; nothing written\n"
    assert not (tmp_path / "out").exists() and not (tmp_path / "state.pt").exists()


def test_interrupt_while_writing_results_finishes_them_then_exits_130(tmp_path, reference):
    experiment, expected = reference
    out = tmp_path / "out"
    out.mkdir()
    earlier = {name: f"earlier {name}\n".encode() for name in expected}
    for name, data in earlier.items():
        (out / name).write_bytes(data)
    process = start_paused("write:steps.csv", "run", experiment, "--out", out,
                           "--save-state", tmp_path / "state.pt")
    # the new files are in temporary files beside them (steps.csv half written); the earlier ones are intact
    assert files(out) == earlier
    assert sorted(p.name.split(".")[1] for p in out.iterdir() if p.name.endswith(".partial")) == \
        ["epochs", "events", "steps"]
    process.send_signal(signal.SIGINT)
    code, out_text, err = finish(process)
    assert code == 130, err
    assert "Traceback" not in err
    assert err == (f"interrupted at epoch {SHORT} (step {TOTAL} of {TOTAL}); results so far written to "
                   f"{out}, the state to {tmp_path / 'state.pt'} (earlier results in {out} replaced)\n")
    assert files(out) == expected
    assert leftovers(out, tmp_path) == []
    assert state_position(tmp_path / "state.pt") == TOTAL


def test_sigterm_while_the_state_is_written_finishes_it(tmp_path, reference):
    experiment, expected = reference
    process = start_paused("state", "run", experiment, "--out", tmp_path / "out",
                           "--save-state", tmp_path / "state.pt")
    assert files(tmp_path / "out") == expected  # the results are in place before the state
    process.send_signal(signal.SIGTERM)
    code, _, err = finish(process)
    assert code == 130, err
    assert "Traceback" not in err
    assert state_position(tmp_path / "state.pt") == TOTAL
    assert leftovers(tmp_path / "out", tmp_path) == []


# -- from outside, at moments the progress bar shows (stderr a terminal) ----------------------

class Terminal:
    """A pseudo-terminal for the child's stderr, read in a thread (so the child never blocks)."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        # a size, or tqdm draws nothing (0 columns)
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
        self.text = ""
        self.ended = False  # the child closed its end
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        os.close(self.slave)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO: the child closed its end
                data = b""
            with self.changed:
                self.text += data.decode(errors="replace")
                self.ended = not data
                self.changed.notify_all()
            if not data:
                break

    def epochs_shown(self) -> int:
        counts = re.findall(r"(\d+)/(\d+) \[", self.text)
        return int(counts[-1][0]) if counts else -1

    def wait_for_epochs(self, epochs: float) -> None:
        """Until the progress bar shows ``epochs`` done (or the child has closed the terminal)."""
        with self.changed:
            assert self.changed.wait_for(lambda: self.ended or self.epochs_shown() >= epochs, TIMEOUT), self.text

    def close(self) -> str:
        self.reader.join(timeout=TIMEOUT)
        os.close(self.master)
        return self.text


@pytest.mark.parametrize("sig, fraction", [(signal.SIGINT, 0.1), (signal.SIGTERM, 0.5)],
                         ids=["sigint-early", "sigterm-halfway"])
def test_signal_at_a_progress_moment_then_resume_equals_an_uninterrupted_run(tmp_path, tmp_path_factory,
                                                                             sig, fraction):
    experiment, expected = reference_run(tmp_path_factory, LONG)
    terminal = Terminal()
    process = Forked(["run", experiment, "--out", tmp_path / "out", "--save-state", tmp_path / "state.pt"],
                     stderr=terminal.slave)
    terminal.start()
    try:
        terminal.wait_for_epochs(fraction * LONG)
        process.send_signal(sig)
        code, _, _ = finish(process)
    finally:
        if process.poll() is None:
            process.kill()
        text = terminal.close()
    assert code == 130, text[-2000:]
    assert "Traceback" not in text
    assert "interrupted at epoch" in text
    position = state_position(tmp_path / "state.pt")
    assert fraction * LONG * STEPS_PER_EPOCH <= position < LONG * STEPS_PER_EPOCH
    result = main_in_process("run", experiment, "--resume", tmp_path / "state.pt", "--out", tmp_path / "resumed",
                             "--quiet")
    assert result.returncode == 0, result.stderr
    assert files(tmp_path / "resumed") == expected
