"""The window's results of each run: the rows the engine publishes, appended as they arrive.

The engine (another process) sends only the rows recorded since its last publication, so a
run of a million steps costs the window what its newest rows cost, not a million rows per
frame. This is the window's only copy of the results: plots read views of it.

Per step only what is measured is kept (the loss, each group's lr, the momentum): a run's
steps are numbered 0, 1, 2, ... without a gap, so the step and epoch columns are computed
where read (:class:`Counting`), not kept; an lr is kept as the rows where it changes
(:class:`ChangeRows`, read through a :class:`ChangeView`), a momentum that does not move as one
row and a count (:class:`SameRows`).
"""

from __future__ import annotations

import numpy as np

from engine.recorder import Event, GrowingTable, RunResults

from .decimate import differs

__all__ = ["RunSeries", "Counting", "ChangeRows", "ChangeView"]

class Counting:
    """``row // divisor`` for rows 0 .. n - 1: a run's step column (divisor 1) or the epoch of each
    step (divisor: the steps an epoch), which every run's results have, built only where read.

    Read as :class:`ChangeView` is (``len``, ints, slices, arrays of rows, ``copy()``), with a
    :meth:`searchsorted` that computes (the readout's lookup of a step); anything else gets every
    row as an array."""

    dtype = np.dtype(np.int64)
    ndim = 1

    def __init__(self, n: int, divisor: int = 1):
        self.n, self.divisor = n, max(int(divisor), 1)

    @property
    def shape(self) -> tuple[int]:
        return (self.n,)

    @property
    def size(self) -> int:
        return self.n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key):
        if isinstance(key, slice):
            return np.arange(*key.indices(self.n), dtype=np.int64) // self.divisor
        if isinstance(key, (int, np.integer)):
            if not -self.n <= key < self.n:
                raise IndexError(f"row {key} of {self.n}")
            return (int(key) % self.n) // self.divisor
        rows = np.asarray(key)
        if rows.dtype == bool:
            return np.flatnonzero(rows[:self.n]) // self.divisor
        if ((rows < -self.n) | (rows >= self.n)).any():
            raise IndexError(f"rows {key} of {self.n}")
        return np.where(rows < 0, rows + self.n, rows).astype(np.int64) // self.divisor

    def searchsorted(self, value, side: str = "left"):
        """Where ``value`` goes among the values, as ``numpy.searchsorted`` says (they ascend)."""
        v = np.asarray(value, dtype=float)
        first = np.ceil(v) if side == "left" else np.floor(v) + 1  # the first value >= (or >) v
        at = np.clip(first, 0, None) * self.divisor
        return np.minimum(at, self.n).astype(np.int64)[()]

    def copy(self) -> np.ndarray:
        return self[:]

    def astype(self, dtype, copy: bool = True) -> np.ndarray:
        return self[:].astype(dtype)

    def __array__(self, dtype=None, copy=None):
        values = self[:]
        return values if dtype is None else values.astype(dtype)

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("n", "divisor"):
            raise AttributeError(name)
        return getattr(self[:], name)


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


class ChangeRows:
    """Per-step columns (each group's lr) kept as the rows where they change and their values:
    an lr that changes once an epoch, or never, costs a few rows instead of one a step. Read
    through :class:`ChangeView`, which builds only the rows asked for (a frame asks for the
    newest, a hover for one); a schedule that changes every step costs what a table would,
    plus a row number a change."""

    def __init__(self, columns: int):
        self.at = GrowingTable(1)                # the row each change begins at
        self.values = GrowingTable(columns)      # the row from there on
        self.changes = 0
        self.rows = 0

    @property
    def columns(self) -> int:
        return self.values.columns

    def extend(self, row: int, array: np.ndarray) -> None:
        """Rows ``row`` .. appended (``row`` is the number held: rows come in order, as published)."""
        if not len(array):
            return
        if row != self.rows:
            raise ValueError(f"rows from {row} after {self.rows} rows")
        if array.shape[1] > self.columns:
            self.values.widen(array.shape[1])  # a group added: NaN before it existed
        wide = array if array.shape[1] == self.columns else \
            np.hstack([array, np.full((len(array), self.columns - array.shape[1]), np.nan)])
        before = self.values.view(self.changes)[-1:] if self.changes else np.full((1, self.columns), np.inf)
        new = np.flatnonzero(differs(wide, np.vstack([before, wide[:-1]])).any(axis=1))  # rows that change
        self.at.extend(self.changes, (new + row).reshape(-1, 1).astype(float))
        self.values.extend(self.changes, wide[new])
        self.changes += len(new)
        self.rows = row + len(array)

    def rows_at(self, rows: np.ndarray, column: int | None = None) -> np.ndarray:
        """The values of ``rows`` (all columns, or one)."""
        which = np.searchsorted(self.at.view(self.changes)[:, 0], rows, side="right") - 1
        values = self.values.view(self.changes)
        return values[which] if column is None else values[which, column]


class ChangeView:
    """The first ``n`` rows of a :class:`ChangeRows` (or one column of them) as far as readers of
    a :class:`RunResults` index them: ``len``, ``shape``, ints, slices, arrays of rows, ``[:, g]``
    (another view) and ``copy()`` build only what they name; anything else (numpy functions, other
    array methods) gets every row as an array."""

    dtype = np.dtype(float)

    def __init__(self, store: ChangeRows, n: int, column: int | None = None):
        self.store, self.n, self.column = store, n, column

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n,) if self.column is not None else (self.n, self.store.columns)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.n

    def _rows(self, key) -> np.ndarray:
        if isinstance(key, slice):
            return np.arange(*key.indices(self.n))
        rows = np.asarray(key)
        if rows.dtype == bool:
            return np.flatnonzero(rows[:self.n])
        if ((rows < -self.n) | (rows >= self.n)).any():
            raise IndexError(f"row {key} of {self.n}")
        return np.where(rows < 0, rows + self.n, rows)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rows, columns = key
            if self.column is None and isinstance(rows, slice) and rows == slice(None) \
                    and isinstance(columns, (int, np.integer)):
                return ChangeView(self.store, self.n, int(columns) % self.store.columns)
            return self[rows][..., columns] if self.column is None else self[rows][columns]
        values = self.store.rows_at(self._rows(key), self.column)
        return values if not isinstance(key, (int, np.integer)) else values[()]

    def copy(self) -> np.ndarray:
        return self[:]

    def __array__(self, dtype=None, copy=None):
        values = self[:]
        return values if dtype is None else values.astype(dtype)

    def __getattr__(self, name: str):
        """Any other array attribute (``max``, ``tobytes``, ...) of every row, built for it."""
        if name.startswith("__") or name in ("store", "n", "column"):
            raise AttributeError(name)
        return getattr(self[:], name)


class RunSeries:
    def __init__(self, name: str = "", steps_per_epoch: int = 1):
        self.name = name
        self.steps_per_epoch = steps_per_epoch
        self.n_steps = self.n_epochs = 0
        self._step_loss = GrowingTable(1)
        self._step_lr = ChangeRows(1)      # the rows where it changes
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
        return RunResults(self.name, Counting(n), Counting(n, self.steps_per_epoch),
                          self._step_loss.view(n)[:, 0], ChangeView(self._step_lr, n), self._step_momentum.view(n),
                          epochs[:, 0], epochs[:, 1], epochs[:, 2], self._epoch_lr.view(self.n_epochs), self.events)

    def exact(self) -> RunResults:
        """The results with whole-number columns as integers (for CSV files, as the engine writes them)."""
        r = self.results()
        return RunResults(r.name, r.step.astype(np.int64), r.step_epoch.astype(np.int64), r.step_loss.copy(),
                          r.step_lr.copy(), r.step_momentum.copy(), r.epoch.astype(np.int64), r.train_loss.copy(),
                          r.val_loss.copy(), r.epoch_lr.copy(), list(r.events))
