"""Where ``python main.py run`` writes (issue 8, items 4, 5 and the CLI half of 18).

--out and --save-state are checked before the first step (exit 2, the path named); the three
CSV files are written as one set (an earlier set in --out is replaced whole or left whole, and
the summary says so); a failure at the end keeps what can be kept, leaves no partial file
and says what was and was not written (exit 1); CSV rows are formatted in chunks, so writing
takes the same memory for any number of rows, and the text is what it always was.
"""

from __future__ import annotations

import csv
import io
import math
import os
import signal
import stat
import tracemalloc
import weakref
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from engine import results as results_module
from engine.recorder import Event, RunResults
from engine.results import RESULT_FILES, write_result_files, write_results
from tests.cli_helpers import (
    SHORT,
    STEPS_PER_EPOCH,
    files,
    finish,
    is_root,
    leftovers,
    main_in_process,
    start_paused,
    state_position,
)
from tests.cli_zygote import Forked

TOTAL = SHORT * STEPS_PER_EPOCH


# -- checked before the first step ---------------------------------------------------------------

def _path_cases(tmp):
    """id -> (extra arguments, the exact error line); every case must leave nothing behind."""
    a_file = tmp / "a-file"
    a_file.write_text("not a directory\n")
    out = tmp / "out"
    blocked = tmp / "blocked"  # an earlier result set with a directory where steps.csv goes
    blocked.mkdir()
    (blocked / "epochs.csv").write_text("earlier\n")
    (blocked / "steps.csv").mkdir()
    return {
        "out-is-a-file": (["--out", a_file], f"error: --out {a_file}: exists and is not a directory"),
        "out-under-a-file": (["--out", a_file / "x"],
                             f"error: --out {a_file / 'x'}: cannot be created: {a_file} is not a directory"),
        "out-under-dev-null": (["--out", "/dev/null/x"],
                               "error: --out /dev/null/x: cannot be created: /dev/null is not a directory"),
        "a-directory-where-steps-csv-goes": (
            ["--out", blocked], f"error: --out {blocked}: steps.csv there is a directory, where the results would go"),
        "state-directory-missing": (["--out", out, "--save-state", tmp / "missing" / "s.pt"],
                                    f"error: --save-state {tmp / 'missing' / 's.pt'}: the directory "
                                    f"{tmp / 'missing'} does not exist"),
        "state-is-a-directory": (["--out", out, "--save-state", tmp],
                                 f"error: --save-state {tmp}: is a directory"),
        "state-under-a-file": (["--out", out, "--save-state", a_file / "s.pt"],
                               f"error: --save-state {a_file / 's.pt'}: {a_file} is not a directory"),
        "state-is-a-result-file": (["--out", out, "--save-state", out / "steps.csv"],
                                   f"error: --save-state {out / 'steps.csv'}: is one of the result files"),
        "state-is-the-out-directory": (["--out", out, "--save-state", out],
                                       f"error: --save-state {out}: is the directory the results go to"),
    }


def _read_only_cases(tmp):
    read_only = tmp / "read-only"
    read_only.mkdir()
    earlier = tmp / "earlier"
    earlier.mkdir()
    for name in RESULT_FILES:
        (earlier / name).write_text(f"earlier {name}\n")
    (earlier / "steps.csv").chmod(0o444)
    read_only.chmod(0o555)
    return {
        "out-in-a-read-only-directory": (["--out", read_only / "x"], f"error: --out {read_only / 'x'}: "
                                         f"cannot be created: {read_only} is not writable"),
        "out-is-a-read-only-directory": (["--out", read_only],
                                         f"error: --out {read_only}: the directory is not writable"),
        "state-in-a-read-only-directory": (["--out", tmp / "out", "--save-state", read_only / "s.pt"],
                                           f"error: --save-state {read_only / 's.pt'}: the directory "
                                           f"{read_only} is not writable"),
        "read-only-earlier-steps-csv": (["--out", earlier], f"error: --out {earlier}: steps.csv there is "
                                        f"read-only; earlier results would be replaced as a set (make them "
                                        f"writable, remove them, or choose another --out)"),
    }


def _tree(directory):
    return sorted((str(p.relative_to(directory)), p.read_bytes() if p.is_file() else None)
                  for p in directory.rglob("*"))


def _all_refused(experiment, tmp, cases):
    before = _tree(tmp)
    for case, (arguments, expected) in cases.items():
        result = main_in_process("run", experiment, *arguments)
        assert result.returncode == 2, (case, result.stderr)
        assert result.stderr.splitlines() == [expected], case
        assert result.stdout == "", case
    assert _tree(tmp) == before  # nothing created, nothing changed


def test_unusable_output_paths_are_refused_before_training(tmp_path, reference):
    _all_refused(reference[0], tmp_path, _path_cases(tmp_path))


@pytest.mark.skipif(is_root(), reason="running as root: permissions do not stop root from writing")
def test_read_only_output_paths_are_refused_before_training(tmp_path, reference):
    _all_refused(reference[0], tmp_path, _read_only_cases(tmp_path))


def test_read_only_output_paths_are_refused_for_any_user(tmp_path, reference, monkeypatch):
    """The same cases for any user: ``os.access`` answers as it would for one without write permission."""
    cases = _read_only_cases(tmp_path)
    read_only = {tmp_path / "read-only", tmp_path / "earlier" / "steps.csv"}
    access = os.access

    def denied(path, mode, **kwargs):
        return access(path, mode, **kwargs) and not (mode & os.W_OK and Path(path) in read_only)

    monkeypatch.setattr(os, "access", denied)
    _all_refused(reference[0], tmp_path, cases)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the CLI's handler is gone again


# -- an earlier result set in --out ----------------------------------------------------------------

def test_an_earlier_result_set_is_replaced_whole_and_the_summary_says_so(tmp_path, reference):
    experiment, expected = reference
    out = tmp_path / "out"
    out.mkdir()
    for name in RESULT_FILES:
        (out / name).write_text(f"earlier {name}\n")
    (out / "notes.txt").write_text("mine\n")
    result = main_in_process("run", experiment, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (f"wrote {out / 'epochs.csv'}, {out / 'steps.csv'}, "
                                              f"{out / 'events.csv'} (earlier results in {out} replaced)")
    assert files(out) == {**expected, "notes.txt": b"mine\n"}
    assert leftovers(out) == []


def test_a_directory_in_the_way_at_the_end_leaves_the_earlier_set_whole(tmp_path, reference):
    """Checked before training, so made while it trains: no new file may stand beside the old ones."""
    experiment, expected = reference
    out, state = tmp_path / "out", tmp_path / "state.pt"
    out.mkdir()
    earlier = {name: f"earlier {name}\n".encode() for name in RESULT_FILES}
    for name, data in earlier.items():
        (out / name).write_bytes(data)
    process = start_paused("step:0:5", "run", experiment, "--out", out, "--save-state", state)
    (out / "steps.csv").unlink()
    (out / "steps.csv").mkdir()
    (out / "steps.csv" / "keep.txt").write_text("mine\n")
    process.go()
    code, stdout, err = finish(process)
    assert code == 1, err
    assert err.splitlines() == [
        f"error: cannot write {out / 'steps.csv'}: a directory is in the way",
        f"written: {state}",
        f"not written: {out / 'epochs.csv'}, {out / 'steps.csv'}, {out / 'events.csv'} "
        f"(the earlier results in {out} were left as they were)"]
    assert files(out) == {"epochs.csv": earlier["epochs.csv"], "events.csv": earlier["events.csv"]}
    assert (out / "steps.csv" / "keep.txt").read_text() == "mine\n"
    assert leftovers(out, tmp_path) == []
    assert state_position(state) == TOTAL  # what could be kept is kept


# -- a full disk at the end ------------------------------------------------------------------------

FILE_SIZE_LIMIT = 16_000  # epochs.csv (5.6 kB) and events.csv fit; steps.csv (30 kB) and the state do not


def _run_on_a_small_disk(*args):
    """main.py in a process whose files may not grow past the limit (EFBIG, like ENOSPC; root too)."""
    return finish(Forked(args, file_size_limit=FILE_SIZE_LIMIT))


def test_a_full_disk_keeps_the_complete_files_and_says_what_is_missing(tmp_path, reference):
    experiment, expected = reference
    assert len(expected["epochs.csv"]) < FILE_SIZE_LIMIT < len(expected["steps.csv"])
    out, state = tmp_path / "out", tmp_path / "state.pt"
    code, stdout, err = _run_on_a_small_disk("run", experiment, "--out", out, "--save-state", state)
    assert code == 1, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0] == f"error: cannot write {out / 'steps.csv'}: File too large"
    assert lines[1].startswith(f"error: cannot write the state {state}: ")
    assert lines[2:] == [f"written: {out / 'epochs.csv'}, {out / 'events.csv'}",
                         f"not written: {out / 'steps.csv'}, {state}"]
    assert files(out) == {name: expected[name] for name in ("epochs.csv", "events.csv")}  # whole files
    assert not state.exists()
    assert leftovers(out, tmp_path) == []


def test_a_full_disk_leaves_an_earlier_result_set_as_it_was(tmp_path, reference):
    experiment, _ = reference
    out = tmp_path / "out"
    out.mkdir()
    earlier = {name: f"earlier {name}\n".encode() for name in RESULT_FILES}
    for name, data in earlier.items():
        (out / name).write_bytes(data)
    code, stdout, err = _run_on_a_small_disk("run", experiment, "--out", out)
    assert code == 1, err
    assert err.splitlines() == [
        f"error: cannot write {out / 'steps.csv'}: File too large",
        "written: nothing",
        f"not written: {out / 'epochs.csv'}, {out / 'steps.csv'}, {out / 'events.csv'} "
        f"(the earlier results in {out} were left as they were)"]
    assert files(out) == earlier
    assert leftovers(out) == []


# -- the writer itself (in this process) ---------------------------------------------------------

def _recorded(name="a", steps=50, steps_per_epoch=7, group_from=20, validation=True) -> RunResults:
    """A run's results with a group added at step ``group_from`` (NaN lrs before it) and events."""
    rng = np.random.default_rng(0)
    step = np.arange(steps)
    step_lr = np.column_stack([0.1 * 0.9 ** step, np.where(step >= group_from, 0.01 / (step + 1), np.nan)])
    ends = step[(step + 1) % steps_per_epoch == 0]
    epochs = len(ends)
    return RunResults(
        name=name, step=step, step_epoch=step // steps_per_epoch, step_loss=rng.random(steps),
        step_lr=step_lr, step_momentum=np.full((steps, 2), np.nan), epoch=np.arange(epochs),
        train_loss=rng.random(epochs), val_loss=rng.random(epochs) if validation else np.full(epochs, np.nan),
        epoch_lr=step_lr[ends], events=[Event(group_from, group_from // steps_per_epoch, "add_group", 1,
                                              "lr 0.01, with a comma"), Event(3, 0, "edit", None, "lr = 0.2")])


def _written_the_old_way(results) -> dict[str, bytes]:
    """The text the writer produced before it wrote in chunks (whole ``.tolist()`` copies)."""
    def number(x):
        return "" if math.isnan(x) else x

    def per_group(name, keys, lr_rows, tails):
        for key, lrs, tail in zip(keys, lr_rows, tails):
            for group, lr in enumerate(lrs):
                if not math.isnan(lr):
                    yield (name, *key, group, lr, *tail)

    tables = {
        "epochs.csv": (results_module.EPOCH_COLUMNS, [row for r in results for row in per_group(
            r.name, zip(r.epoch.tolist()), r.epoch_lr.tolist(),
            zip(r.train_loss.tolist(), map(number, r.val_loss.tolist())))]),
        "steps.csv": (results_module.STEP_COLUMNS, [row for r in results for row in per_group(
            r.name, zip(r.step.tolist(), r.step_epoch.tolist()), r.step_lr.tolist(), zip(r.step_loss.tolist()))]),
        "events.csv": (results_module.EVENT_COLUMNS, [(r.name, e.step, e.epoch, e.kind,
                                                       "" if e.group is None else e.group, e.detail)
                                                      for r in results for e in r.events]),
    }
    written = {}
    for name, (columns, rows) in tables.items():
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(columns)
        writer.writerows(rows)
        written[name] = text.getvalue().encode()
    return written


@pytest.mark.parametrize("chunk", [1, 3, 7, 10_000])
def test_chunked_csv_text_is_the_text_it_always_was(tmp_path, monkeypatch, chunk):
    results = [_recorded("a", steps=50), _recorded("b, quoted", steps=31, validation=False)]
    monkeypatch.setattr(results_module, "CHUNK_ROWS", chunk)
    write_results(results, tmp_path)
    assert files(tmp_path) == _written_the_old_way(results)


def _peak_bytes_writing(tmp_path, steps):
    n = np.arange(steps)
    r = _recorded(steps=0)
    r.step, r.step_epoch, r.step_loss = n, n // 100, np.linspace(1, 0, steps)
    r.step_lr, r.step_momentum = np.full((steps, 1), 0.1), np.full((steps, 1), np.nan)
    tracemalloc.start()
    try:
        write_results([r], tmp_path / str(steps))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_csv_writing_memory_does_not_grow_with_the_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(results_module, "CHUNK_ROWS", 1000)
    small, large = _peak_bytes_writing(tmp_path, 5_000), _peak_bytes_writing(tmp_path, 50_000)
    # whole .tolist() copies took ~200 bytes a row (10 MB for these 50,000); chunks take the same for any length
    assert large < 1.5 * small, (small, large)
    assert large < 1_000_000, large


def test_the_writer_holds_one_run_at_a_time(tmp_path):
    """Results read lazily (as the CLI reads them from the recorders) are let go run by run."""
    alive = []

    class Lazy(Sequence):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            raise AssertionError("read in order, once per file")

        def __iter__(self):
            for i in range(len(self)):
                results = None  # this generator's own reference
                assert [ref() for ref in alive if ref() is not None] == [], "an earlier run is still held"
                results = _recorded(f"run{i}", steps=30)
                alive.append(weakref.ref(results))
                yield results

    write_results(Lazy(), tmp_path)
    assert len(alive) == 9  # 3 runs x 3 files


def test_a_failed_rename_puts_the_earlier_set_back(tmp_path, monkeypatch):
    earlier = {name: f"earlier {name}\n".encode() for name in RESULT_FILES}
    for name, data in earlier.items():
        (tmp_path / name).write_bytes(data)
    replace, renamed = os.replace, []

    def failing_replace(source, target):
        if str(source).endswith(".partial"):
            renamed.append(target)
            if len(renamed) == 2:
                raise OSError(5, "Input/output error", str(target))
        return replace(source, target)

    monkeypatch.setattr(results_module.os, "replace", failing_replace)
    done = write_result_files([_recorded()], tmp_path, keep_complete=True)
    assert list(done.errors) == [tmp_path / "steps.csv"]
    assert done.written == [] and done.earlier_kept
    assert files(tmp_path) == earlier
    assert leftovers(tmp_path) == []
    renamed.clear()
    with pytest.raises(OSError, match="Input/output error"):  # the all-or-none entry point: the same
        write_results([_recorded()], tmp_path)
    assert files(tmp_path) == earlier
    assert leftovers(tmp_path) == []


def test_signals_left_alone_when_the_process_ignores_them(tmp_path, reference):
    """A job started with SIGINT ignored (``nohup``, ``cmd &`` in a script) keeps ignoring it."""
    experiment, expected = reference
    process = start_paused("step:1:30", "run", experiment, "--out", tmp_path / "out", "--quiet",
                           ignore_sigint=True)
    process.send_signal(signal.SIGINT)
    process.go()
    code, _, err = finish(process)
    assert code == 0, err
    assert files(tmp_path / "out") == expected


def test_a_save_state_path_that_is_a_device_is_refused_not_replaced(tmp_path, capsys):
    """``--save-state /dev/null`` once replaced the machine's /dev/null with a regular file."""
    from engine.cli import main

    fifo = tmp_path / "state.pt"
    os.mkfifo(fifo)
    code = main(["run", "--preset", "steplr", "--out", str(tmp_path / "out"), "--save-state", str(fifo), "--quiet"])
    assert code == 2
    assert "is not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and not (tmp_path / "out").exists()
