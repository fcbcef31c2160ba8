"""The CLI's result files: ``epochs.csv``, ``steps.csv`` and ``events.csv``.

Column names and order are a contract (other tools read these files). Floats are written
with ``repr``, the shortest text that reads back to the same double, so nothing is lost.
A group's rows begin where the group began (a group added by ``add_group`` at epoch 20
has no rows before epoch 20); ``val_loss`` is empty when there is no validation set.

The three files are written as one set. Each goes first to a temporary file beside it
(``.steps.csv.<pid>.partial``); only when all three are complete are they renamed into place,
so no reader ever sees half a file, and new files never stand beside files of an earlier run
(earlier ones are moved aside first and put back if a rename fails). Rows are formatted
:data:`CHUNK_ROWS` at a time, so writing needs memory for one chunk, never for every row as
Python objects; ``results`` is read once per file, one run at a time, so a lazy sequence
(each item copied when it is read) keeps a single run's copy in memory.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import math
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .recorder import RunResults

__all__ = ["write_results", "write_result_files", "ResultFiles", "RESULT_FILES", "CHUNK_ROWS",
           "EPOCH_COLUMNS", "STEP_COLUMNS", "EVENT_COLUMNS"]

EPOCH_COLUMNS = ("run", "epoch", "group", "lr", "train_loss", "val_loss")
STEP_COLUMNS = ("run", "step", "epoch", "group", "lr", "loss")
EVENT_COLUMNS = ("run", "step", "epoch", "kind", "group", "detail")
RESULT_FILES = ("epochs.csv", "steps.csv", "events.csv")
CHUNK_ROWS = 10_000


def _number(x: float) -> str | float:
    return "" if math.isnan(x) else x


def _per_group(name: str, keys, lr_rows, tails):
    """One row per group that existed (its lr is not NaN): ``(name, *key, group, lr, *tail)``."""
    for key, lrs, tail in zip(keys, lr_rows, tails):
        for group, lr in enumerate(lrs):
            if not math.isnan(lr):
                yield (name, *key, group, lr, *tail)


def _chunks(n: int):
    return ((a, a + CHUNK_ROWS) for a in range(0, n, CHUNK_ROWS))


def _epoch_rows(results: Iterable[RunResults]):
    for r in results:
        for a, b in _chunks(len(r.epoch)):
            yield _per_group(r.name, zip(r.epoch[a:b].tolist()), r.epoch_lr[a:b].tolist(),
                             zip(r.train_loss[a:b].tolist(), map(_number, r.val_loss[a:b].tolist())))
        del r  # before the next run is read: one run's copy at a time


def _step_rows(results: Iterable[RunResults]):
    for r in results:
        for a, b in _chunks(len(r.step)):
            yield _per_group(r.name, zip(r.step[a:b].tolist(), r.step_epoch[a:b].tolist()),
                             r.step_lr[a:b].tolist(), zip(r.step_loss[a:b].tolist()))
        del r


def _event_rows(results: Iterable[RunResults]):
    for r in results:
        name, events = r.name, r.events
        del r
        yield ((name, e.step, e.epoch, e.kind, "" if e.group is None else e.group, e.detail) for e in events)


def _temporary(path: Path, kind: str) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{kind}")


def _write(path: Path, columns, chunks) -> Path:
    """Write a file's rows to a temporary file beside ``path``; return it (removed on any failure)."""
    tmp = _temporary(path, "partial")
    try:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            for rows in chunks:
                writer.writerows(rows)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return tmp


@dataclass
class ResultFiles:
    """What :func:`write_result_files` did: the files in place, the ones not written and why."""

    paths: list[Path]                                            # all three, in column-table order
    written: list[Path] = field(default_factory=list)
    errors: dict[Path, OSError] = field(default_factory=dict)    # the files that failed, and how
    replaced: list[Path] = field(default_factory=list)           # earlier files now replaced
    earlier_kept: bool = False     # a file failed, so the earlier results were left as they were

    @property
    def not_written(self) -> list[Path]:
        return [p for p in self.paths if p not in self.written]


def write_result_files(results: Sequence[RunResults], out: str | Path, *,
                       keep_complete: bool = False) -> ResultFiles:
    """Write the three CSV files into ``out`` (created if needed) as one set; never raises OSError.

    All three are renamed into place together or none is. With ``keep_complete``, when a
    file cannot be written and ``out`` holds no results of an earlier run, the complete ones
    are kept (each is whole; nothing stands beside files it does not belong with).
    """
    out = Path(out)
    paths = [out / name for name in RESULT_FILES]
    done = ResultFiles(paths)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        done.errors = dict.fromkeys(paths, error)
        return done
    epochs, steps, events = paths
    staged: dict[Path, Path] = {}
    try:
        # the small files first: on a full disk they are the ones that can still be kept
        for path, columns, chunks in ((epochs, EPOCH_COLUMNS, _epoch_rows(results)),
                                      (events, EVENT_COLUMNS, _event_rows(results)),
                                      (steps, STEP_COLUMNS, _step_rows(results))):
            try:
                staged[path] = _write(path, columns, chunks)
            except OSError as error:
                done.errors[path] = error
        if done.errors:
            if not keep_complete or any(os.path.lexists(p) for p in paths):
                done.earlier_kept = any(os.path.lexists(p) for p in paths)
                _discard(staged.values())
                return done
        staged = {p: staged[p] for p in paths if p in staged}  # in place in the table's order
        try:
            done.replaced = _commit(staged)
        except _CommitFailed as failed:
            done.errors[failed.path] = failed.error
            done.earlier_kept = bool(failed.earlier)
            return done
        done.written = list(staged)
        return done
    except BaseException:
        _discard(staged.values())
        raise


def write_results(results: Sequence[RunResults], out: str | Path) -> list[Path]:
    """Write the three CSV files into ``out`` (created if needed), all or none; return their paths.

    OSError (the first failure's) when they cannot all be written: nothing was replaced then.
    """
    done = write_result_files(results, out)
    if done.errors:
        raise next(iter(done.errors.values()))
    return done.paths


class _CommitFailed(Exception):
    def __init__(self, path: Path, error: OSError, earlier: list[Path]):
        super().__init__(path, error)
        self.path, self.error, self.earlier = path, error, earlier


def _discard(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _commit(staged: dict[Path, Path]) -> list[Path]:
    """Rename every temporary file onto its target, all or none; the targets that were replaced.

    Earlier files are first moved aside (``.NAME.<pid>.old``), then the new ones renamed in;
    if any rename fails, what was renamed is undone and the earlier files are put back.
    """
    moved: dict[Path, Path] = {}
    placed: list[Path] = []
    target = None
    try:
        for target in staged:
            if os.path.lexists(target):
                if stat.S_ISDIR(os.lstat(target).st_mode):
                    raise IsADirectoryError(errno.EISDIR, "a directory is in the way", str(target))
                backup = _temporary(target, "old")
                os.replace(target, backup)
                moved[target] = backup
        for target, tmp in staged.items():
            os.replace(tmp, target)
            placed.append(target)
    except OSError as error:
        for path in placed:
            if path not in moved:
                with contextlib.suppress(OSError):
                    path.unlink()
        for path, backup in moved.items():
            with contextlib.suppress(OSError):
                os.replace(backup, path)
        _discard(staged.values())
        earlier = [p for p in staged if os.path.lexists(p)]
        raise _CommitFailed(target, error, earlier) from None
    _discard(moved.values())
    return list(moved)
