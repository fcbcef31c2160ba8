"""The CLI's result files: ``epochs.csv``, ``steps.csv`` and ``events.csv``.

Column names and order are a contract (other tools read these files). Floats are written
with ``repr``, the shortest text that reads back to the same double, so nothing is lost.
A group's rows begin where the group began (a group added by ``add_group`` at epoch 20
has no rows before epoch 20); ``val_loss`` is empty when there is no validation set.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from .recorder import RunResults

__all__ = ["write_results", "EPOCH_COLUMNS", "STEP_COLUMNS", "EVENT_COLUMNS"]

EPOCH_COLUMNS = ("run", "epoch", "group", "lr", "train_loss", "val_loss")
STEP_COLUMNS = ("run", "step", "epoch", "group", "lr", "loss")
EVENT_COLUMNS = ("run", "step", "epoch", "kind", "group", "detail")


def _number(x: float) -> str | float:
    return "" if math.isnan(x) else x


def _per_group(name: str, keys, lr_rows, tails):
    """One row per group that existed (its lr is not NaN): ``(name, *key, group, lr, *tail)``."""
    for key, lrs, tail in zip(keys, lr_rows, tails):
        for group, lr in enumerate(lrs):
            if not math.isnan(lr):
                yield (name, *key, group, lr, *tail)


def _write(path: Path, columns, rows) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)


def write_results(results: list[RunResults], out: str | Path) -> list[Path]:
    """Write the three CSV files into ``out`` (created if needed); return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "epochs.csv", out / "steps.csv", out / "events.csv"]
    _write(paths[0], EPOCH_COLUMNS, (row for r in results for row in _per_group(
        r.name, zip(r.epoch.tolist()), r.epoch_lr.tolist(),
        zip(r.train_loss.tolist(), map(_number, r.val_loss.tolist())))))
    _write(paths[1], STEP_COLUMNS, (row for r in results for row in _per_group(
        r.name, zip(r.step.tolist(), r.step_epoch.tolist()), r.step_lr.tolist(), zip(r.step_loss.tolist()))))
    _write(paths[2], EVENT_COLUMNS, ((r.name, e.step, e.epoch, e.kind, "" if e.group is None else e.group, e.detail)
                                     for r in results for e in r.events))
    return paths
