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


def write_results(results: list[RunResults], out: str | Path) -> list[Path]:
    """Write the three CSV files into ``out`` (created if needed); return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "epochs.csv", out / "steps.csv", out / "events.csv"]
    with open(paths[0], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(EPOCH_COLUMNS)
        for r in results:
            for epoch, train, val, lrs in zip(r.epoch.tolist(), r.train_loss.tolist(), r.val_loss.tolist(),
                                              r.epoch_lr.tolist()):
                for group, lr in enumerate(lrs):
                    if not math.isnan(lr):
                        writer.writerow((r.name, epoch, group, lr, train, _number(val)))
    with open(paths[1], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(STEP_COLUMNS)
        for r in results:
            for step, epoch, loss, lrs in zip(r.step.tolist(), r.step_epoch.tolist(), r.step_loss.tolist(),
                                              r.step_lr.tolist()):
                for group, lr in enumerate(lrs):
                    if not math.isnan(lr):
                        writer.writerow((r.name, step, epoch, group, lr, loss))
    with open(paths[2], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(EVENT_COLUMNS)
        for r in results:
            for e in r.events:
                writer.writerow((r.name, e.step, e.epoch, e.kind, "" if e.group is None else e.group, e.detail))
    return paths
