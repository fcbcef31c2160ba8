"""The window's results of each run: the rows the engine publishes, appended as they arrive.

The engine (another process) sends only the rows recorded since its last publication, so a
run of a million steps costs the window what its newest rows cost, not a million rows per
frame. This is the window's only copy of the results: plots read views of it.

Per step only what is measured is kept (the loss, each group's lr, the momentum): a run's
steps are numbered 0, 1, 2, ... without a gap, so the step and epoch columns are views of
:func:`positions` and :func:`epoch_of_step`, one (32-bit) array for every run instead of two per run;
an lr or momentum that does not move is one row and a count (:class:`SameRows`).
"""

from __future__ import annotations

import numpy as np

from engine.recorder import Event, GrowingTable, RunResults

__all__ = ["RunSeries", "positions", "epoch_of_step"]

_POSITIONS = np.arange(0, dtype=np.int32)
_EPOCHS: dict[int, np.ndarray] = {}


def _room(n: int) -> int:
    return max(1 << max(n - 1, 1).bit_length(), 4096)


def positions(n: int) -> np.ndarray:
    """0, 1, ..., n - 1 (a read-only view of one array every run and plot shares; 32-bit while
    the numbers fit: the plots never draw it, they place row i at i)."""
    global _POSITIONS
    if n > len(_POSITIONS):
        room = _room(n)
        _POSITIONS = np.arange(room, dtype=np.int32 if room < 2 ** 31 else np.int64)
        _POSITIONS.flags.writeable = False
    return _POSITIONS[:n]


def epoch_of_step(n: int, steps_per_epoch: int) -> np.ndarray:
    """The epoch of steps 0 .. n - 1 (shared and read-only, as :func:`positions`)."""
    epochs = _EPOCHS.get(steps_per_epoch)
    if epochs is None or n > len(epochs):
        epochs = positions(_room(n)) // max(steps_per_epoch, 1)
        epochs.flags.writeable = False
        _EPOCHS.clear()  # one experiment's length of an epoch at a time
        _EPOCHS[steps_per_epoch] = epochs
    return epochs[:n]


class SameRows:
    """A column group that is one row repeated until a row differs (a momentum that never moves,
    the lr of a run without a scheduler): kept as that row and a count, read as a read-only
    broadcast view; the first different row turns it into a :class:`GrowingTable`."""

    def __init__(self, columns: int):
        self.row: np.ndarray | None = None
        self.table: GrowingTable | None = None
        self.columns = columns
        self.n = 0

    def extend(self, row: int, array: np.ndarray) -> None:
        if not len(array):
            return
        if self.table is None:
            if self.row is None:
                self.row = array[0].copy()
            if (row == self.n and array.shape[1] == len(self.row)
                    and np.array_equal(array, np.broadcast_to(self.row, array.shape), equal_nan=True)):
                self.n = row + len(array)
                return
            self.table = GrowingTable(max(self.columns, len(self.row)))
            if self.n:
                self.table.extend(0, np.broadcast_to(self.row, (self.n, len(self.row))))
        self.table.extend(row, array)
        self.columns = self.table.columns

    def view(self, rows: int) -> np.ndarray:
        if self.table is not None:
            return self.table.view(rows)
        if self.row is None:
            return np.empty((0, self.columns))
        return np.broadcast_to(self.row, (rows, len(self.row)))


class RunSeries:
    def __init__(self, name: str = "", steps_per_epoch: int = 1):
        self.name = name
        self.steps_per_epoch = steps_per_epoch
        self.n_steps = self.n_epochs = 0
        self._step_loss = GrowingTable(1)
        self._step_lr = SameRows(1)        # a row and a count while it does not change
        self._step_momentum = SameRows(1)
        self._epochs = GrowingTable(3)
        self._epoch_lr = GrowingTable(1)
        self.events: list[Event] = []

    def append(self, part: RunResults) -> bool:
        """Append rows the engine published (those after the ones already here); True when any were new."""
        n, m = len(part.step), len(part.epoch)
        if n:
            if part.step[0] != self.n_steps or part.step[-1] != self.n_steps + n - 1:
                raise ValueError(f"{self.name}: steps {part.step[0]}..{part.step[-1]} do not follow step "
                                 f"{self.n_steps - 1}")  # the engine publishes every step, in order
            self._step_loss.extend(self.n_steps, part.step_loss.reshape(-1, 1))
            self._step_lr.extend(self.n_steps, part.step_lr)
            self._step_momentum.extend(self.n_steps, part.step_momentum)
            self.n_steps += n
        if m:
            self._epochs.extend(self.n_epochs, np.column_stack([part.epoch, part.train_loss, part.val_loss]))
            self._epoch_lr.extend(self.n_epochs, part.epoch_lr)
            self.n_epochs += m
        self.events.extend(part.events)
        return bool(n or m or part.events)

    def results(self) -> RunResults:
        """Views (no copies) of everything pulled so far."""
        n, epochs = self.n_steps, self._epochs.view(self.n_epochs)
        return RunResults(self.name, positions(n), epoch_of_step(n, self.steps_per_epoch),
                          self._step_loss.view(n)[:, 0], self._step_lr.view(n), self._step_momentum.view(n),
                          epochs[:, 0], epochs[:, 1], epochs[:, 2], self._epoch_lr.view(self.n_epochs), self.events)

    def exact(self) -> RunResults:
        """The results with whole-number columns as integers (for CSV files, as the engine writes them)."""
        r = self.results()
        return RunResults(r.name, r.step.astype(np.int64), r.step_epoch.astype(np.int64), r.step_loss.copy(),
                          r.step_lr.copy(), r.step_momentum.copy(), r.epoch.astype(np.int64), r.train_loss.copy(),
                          r.val_loss.copy(), r.epoch_lr.copy(), list(r.events))
