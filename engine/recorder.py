"""Results of one run, in growing numpy buffers a reader can copy from while training goes on.

One thread writes (the trainer), any thread reads. The writer fills row ``n`` in every
table (reallocating a table by doubling when it is full, or widening it when a group is
added, and only then swapping the reference) and *then* publishes ``n + 1``; a reader takes
the published count first and slices the current arrays to it. Rows below a published
count are never written again, so a reader needs no lock and never blocks the trainer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Event", "GrowingTable", "RunRecorder", "RunResults", "compact", "counting"]

COMPACT_ROWS = 256  # shorter columns travel as they are (a published chunk of new rows is ~50)


@dataclass(frozen=True, slots=True)
class Event:
    """Something worth a marker: ``manual_decay``, ``edit``, ``add_group``, ``plateau``, ``diverged``, ...

    Slotted: a long run has one per manual decay or plateau, in the engine and again in the window."""

    step: int
    epoch: int
    kind: str
    group: int | None
    detail: str

    def as_tuple(self) -> tuple:
        return (self.step, self.epoch, self.kind, self.group, self.detail)


class GrowingTable:
    """A float64 array whose rows (and columns) grow by reallocation; NaN marks "no value".

    Room to grow is allocated but not written (``np.empty``): the pages of rows not yet
    recorded are not touched, so a run costs the memory of the rows it has, not of the
    doubled capacity. Every row written gets NaN in the columns it does not set.
    """

    def __init__(self, columns: int, capacity: int = 1024):
        self.data = np.empty((capacity, max(columns, 1)))
        self.columns = columns

    def _grow(self, rows: int) -> None:
        data = self.data
        grown = np.empty((max(2 * data.shape[0], rows), data.shape[1]))
        grown[:data.shape[0]] = data
        self.data = grown

    def write(self, row: int, values) -> None:
        if row >= self.data.shape[0]:
            self._grow(row + 1)
        self.data[row, :len(values)] = values
        self.data[row, len(values):] = np.nan

    def extend(self, row: int, array: np.ndarray) -> None:
        """Write ``array``'s rows from ``row`` on (growing rows and columns as needed)."""
        rows, columns = array.shape
        if columns > self.data.shape[1] or columns > self.columns:
            self.widen(columns)
        if row + rows > self.data.shape[0]:
            self._grow(row + rows)
        self.data[row:row + rows, :columns] = array
        if columns < self.data.shape[1]:
            self.data[row:row + rows, columns:] = np.nan

    def widen(self, columns: int) -> None:
        if columns > self.data.shape[1]:
            wider = np.full((self.data.shape[0], columns), np.nan)
            wider[:, :self.data.shape[1]] = self.data
            self.data = wider
        self.columns = max(self.columns, columns)

    def fill(self, array: np.ndarray) -> None:
        """Replace the contents with ``array`` (rows x columns), keeping room to grow."""
        rows, columns = array.shape
        self.widen(columns)
        self.data = np.empty((max(2 * rows, 1024), self.data.shape[1]))
        self.data[:rows, :columns] = array
        self.data[:rows, columns:] = np.nan

    def view(self, rows: int) -> np.ndarray:
        return self.data[:rows, :self.columns]


def _same_row(a: tuple, b: tuple) -> bool:
    """Equal, a NaN equal to a NaN (``==`` on tuples says so only when it is the same NaN object)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x != y and (x == x or y == y):
            return False
    return True


class Stairs:
    """Rows that mostly repeat the row before (an lr that changes once an epoch or never, a momentum
    that never moves): kept as the rows where they change, read back whole by :meth:`view`.

    A schedule that changes every step (OneCycleLR per step) costs what a table would, plus a
    row index per change; everything else costs a few rows a run.
    """

    def __init__(self, columns: int):
        self.at = GrowingTable(1)            # the row each change begins at
        self.values = GrowingTable(columns)  # the row from there on
        self.changes = 0
        self.rows = 0
        self.last: tuple = ()

    @property
    def columns(self) -> int:
        return self.values.columns

    def append(self, values: tuple) -> None:
        """The next row (``values`` as wide as :attr:`columns`; NaN as ``math.nan`` for "no value")."""
        if values != self.last and not _same_row(values, self.last):
            c = self.changes
            if c < self.at.data.shape[0] and len(values) == self.values.data.shape[1]:
                self.at.data[c, 0] = self.rows  # (per step for a per-step schedule: element writes are
                row = self.values.data[c]       # several times faster than a numpy row assignment)
                for g, value in enumerate(values):
                    row[g] = value
            else:  # rare: grow
                self.at.write(c, (self.rows,))
                self.values.write(c, values)
            self.changes = c + 1
            self.last = values
        self.rows += 1

    def widen(self, columns: int) -> None:
        self.values.widen(columns)
        self.last = self.last + (math.nan,) * (columns - len(self.last))

    def view(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start`` .. ``stop - 1`` as one array (a copy)."""
        stop = self.rows if stop is None else stop
        rows = np.arange(start, max(stop, start))
        which = np.searchsorted(self.at.view(self.changes)[:, 0], rows, side="right") - 1
        return self.values.view(self.changes)[which] if self.changes else np.empty((len(rows), self.columns))

    def fill(self, array: np.ndarray) -> None:
        """Replace the contents with ``array``'s rows (a training-state file's table)."""
        a = np.asarray(array, dtype=float)
        if not len(a):
            self.values.widen(a.shape[1])
            self.changes = self.rows = 0
            self.last = ()
            return
        same = (a[1:] == a[:-1]) | (np.isnan(a[1:]) & np.isnan(a[:-1]))
        starts = np.concatenate([[0], np.flatnonzero(~same.all(axis=1)) + 1])
        self.at.fill(starts.reshape(-1, 1).astype(float))
        self.values.fill(a[starts])
        self.changes, self.rows = len(starts), len(a)
        self.last = tuple(math.nan if v != v else v for v in a[-1].tolist())


@dataclass
class RunResults:
    """A consistent copy of a run's results so far (what plots and CSV writers read)."""

    name: str
    step: np.ndarray          # (n,) global optimizer step
    step_epoch: np.ndarray    # (n,)
    step_loss: np.ndarray     # (n,)
    step_lr: np.ndarray       # (n, groups), NaN where a group did not exist yet
    step_momentum: np.ndarray  # (n, groups), momentum or beta1; NaN where the optimizer has none
    epoch: np.ndarray         # (m,)
    train_loss: np.ndarray    # (m,)
    val_loss: np.ndarray      # (m,), NaN without a validation set
    epoch_lr: np.ndarray      # (m, groups): lr of each group's first step in that epoch
    events: list[Event]

    def __reduce__(self):
        # Sent to the window (predictions of a whole run, exports): columns that are a count, an
        # epoch of a count, or one row repeated travel as a few numbers and arrive as read-only
        # views of shared arrays (see compact()), not as rows.
        return _rebuilt, (self.name, *_packed_columns(self), list(self.events))


_COLUMNS = ("step", "step_epoch", "step_loss", "step_lr", "step_momentum", "epoch", "train_loss", "val_loss",
            "epoch_lr")
_COUNTING = np.arange(0, dtype=np.int64)
_EPOCHS: dict[int, np.ndarray] = {}


def counting(stop: int) -> np.ndarray:
    """0, 1, ..., stop - 1 as int64: read-only, one array for every column that is a count."""
    global _COUNTING
    if stop > len(_COUNTING):
        _COUNTING = np.arange(max(1 << max(stop - 1, 1).bit_length(), 4096), dtype=np.int64)
        _COUNTING.flags.writeable = False
    return _COUNTING[:stop]


def _epochs_of(stop: int, steps_per_epoch: int) -> np.ndarray:
    """step // steps_per_epoch for steps 0 .. stop - 1: read-only and shared, as :func:`counting`."""
    epochs = _EPOCHS.get(steps_per_epoch)
    if epochs is None or stop > len(epochs):
        counting(stop)
        epochs = _COUNTING // steps_per_epoch
        epochs.flags.writeable = False
        if len(_EPOCHS) >= 8:
            _EPOCHS.clear()
        _EPOCHS[steps_per_epoch] = epochs
    return epochs[:stop]


def _packed(a: np.ndarray, first_step: int | None = None):
    """``a``, or what it is in a few numbers: ("count", start, n, dtype), ("epoch", start, n, k, dtype)
    (the epochs of steps ``start`` .. ``start + n - 1`` at ``k`` steps an epoch) or ("same", row, shape)."""
    n = len(a)
    if n < COMPACT_ROWS or a.dtype.kind not in "iuf":
        return a
    if a.ndim == 1 and a.dtype.kind in "iu":
        start = int(a[0])
        if start >= 0 and a[-1] == start + n - 1 and np.array_equal(a, counting(start + n)[start:]):
            return ("count", start, n, a.dtype.str)
        changes = np.flatnonzero(np.diff(a))
        if first_step is not None and first_step >= 0 and len(changes) and a[changes[0] + 1] > 0:
            k = (first_step + int(changes[0]) + 1) // int(a[changes[0] + 1])  # the step the next epoch begins at
            if k > 0 and np.array_equal(a, _epochs_of(first_step + n, k)[first_step:]):
                return ("epoch", first_step, n, k, a.dtype.str)
    rows = a.reshape(n, -1)
    first = rows[0]
    if np.array_equal(rows, np.broadcast_to(first, rows.shape), equal_nan=True):
        return ("same", first.copy(), a.shape)
    return a


def _unpacked(spec) -> np.ndarray:
    if isinstance(spec, np.ndarray):
        return spec
    if spec[0] == "count":
        _, start, n, dtype = spec
        return counting(start + n)[start:].astype(dtype, copy=False)
    if spec[0] == "epoch":
        _, start, n, k, dtype = spec
        return _epochs_of(start + n, k)[start:].astype(dtype, copy=False)
    _, row, shape = spec
    return np.broadcast_to(row.reshape(shape[1:]) if len(shape) > 1 else row.reshape(()), shape)


def _rebuilt(name, *columns_and_events) -> "RunResults":
    *columns, events = columns_and_events
    return RunResults(name, *(_unpacked(c) for c in columns), events)


def _packed_columns(results: "RunResults") -> list:
    step = results.step
    first = int(step[0]) if len(step) and step.dtype.kind in "iu" else -1
    if first < 0 or not np.array_equal(step, counting(first + len(step))[first:]):
        first = None  # not a count of steps: the epoch column is not the epochs of one
    return [_packed(getattr(results, c), first if c == "step_epoch" else None) for c in _COLUMNS]


def compact(results: "RunResults") -> "RunResults":
    """The same results with every column that is a count, an epoch of a count, or one row repeated
    replaced by a read-only view that costs no rows (a preview kept for a whole run, the window's
    copy of it): what :meth:`RunResults.__reduce__` does when they are sent."""
    return _rebuilt(results.name, *(_unpacked(c) for c in _packed_columns(results)), results.events)


class RunRecorder:
    """Appends one row per optimizer step and per epoch; :meth:`snapshot` copies them out.

    Per step only what is measured is kept (the loss, each group's lr and momentum): steps are
    recorded in order without a gap (from 0 in a run; a preview probe starts where the run is),
    so a row's step is the first step plus its index and its epoch ``step // steps_per_epoch``
    (both are produced when copied out, not stored per row).
    """

    def __init__(self, name: str, groups: int, steps_per_epoch: int = 1):
        self.name = name
        self.steps_per_epoch = max(int(steps_per_epoch), 1)
        self.first_step = 0
        self.n_steps = 0
        self.n_epochs = 0
        self._steps = GrowingTable(1)            # loss
        self._step_lr = Stairs(groups)           # as the rows where they change
        self._step_momentum = Stairs(groups)
        self._epochs = GrowingTable(3)           # epoch, train_loss, val_loss
        self._epoch_lr = GrowingTable(groups)
        self.events: list[Event] = []

    @property
    def groups(self) -> int:
        return self._step_lr.columns

    def add_group(self) -> None:
        for table in (self._step_lr, self._step_momentum, self._epoch_lr):
            table.widen(table.columns + 1)

    def record_step(self, step: int, epoch: int, loss: float, lrs, momenta) -> None:
        row = self.n_steps
        if row == 0:
            self.first_step = step
        if step != self.first_step + row or epoch != step // self.steps_per_epoch:
            raise ValueError(f"{self.name}: step {step} (epoch {epoch}) recorded after step "
                             f"{self.first_step + row - 1}: steps go in order")
        steps = self._steps.data
        if row >= steps.shape[0]:  # rare: grow, then write below
            self._steps.write(row, ())
            steps = self._steps.data
        steps[row, 0] = loss
        groups = self._step_lr.columns
        lrs = tuple(lrs)
        self._step_lr.append(lrs if len(lrs) == groups else lrs + (math.nan,) * (groups - len(lrs)))
        momenta = tuple(momenta or ())
        self._step_momentum.append(momenta if len(momenta) == groups
                                   else momenta + (math.nan,) * (groups - len(momenta)))
        self.n_steps = row + 1

    def record_epoch(self, epoch: int, train_loss: float, val_loss: float, lrs) -> None:
        row = self.n_epochs
        self._epochs.write(row, (epoch, train_loss, val_loss))
        self._epoch_lr.write(row, lrs)
        self.n_epochs = row + 1

    def record_event(self, event: Event) -> None:
        self.events.append(event)

    def snapshot(self, steps_from: int = 0, epochs_from: int = 0, events_from: int = 0) -> RunResults:
        """A copy of the rows recorded so far, from the given row indices on (for incremental readers)."""
        n, m, k = self.n_steps, self.n_epochs, len(self.events)
        step = np.arange(self.first_step + steps_from, self.first_step + max(n, steps_from), dtype=np.int64)
        epochs = self._epochs.view(m)[epochs_from:].copy()
        return RunResults(
            name=self.name,
            step=step, step_epoch=step // self.steps_per_epoch, step_loss=self._steps.view(n)[steps_from:, 0].copy(),
            step_lr=self._step_lr.view(steps_from, n), step_momentum=self._step_momentum.view(steps_from, n),
            epoch=epochs[:, 0].astype(np.int64), train_loss=epochs[:, 1], val_loss=epochs[:, 2],
            epoch_lr=self._epoch_lr.view(m)[epochs_from:].copy(), events=self.events[events_from:k],
        )

    # -- training-state files -------------------------------------------------------------
    def state_dict(self) -> dict:
        import torch

        return {
            "name": self.name, "groups": self.groups,
            "steps": torch.from_numpy(self._step_table()),
            "step_lr": torch.from_numpy(self._step_lr.view()),
            "step_momentum": torch.from_numpy(self._step_momentum.view()),
            "epochs": torch.from_numpy(self._epochs.view(self.n_epochs).copy()),
            "epoch_lr": torch.from_numpy(self._epoch_lr.view(self.n_epochs).copy()),
            "events": [list(e.as_tuple()) for e in self.events],
        }

    def _step_table(self) -> np.ndarray:
        """(step, epoch, loss) per row, as state files hold it."""
        step = np.arange(self.first_step, self.first_step + self.n_steps, dtype=float)
        return np.column_stack([step, step // self.steps_per_epoch, self._steps.view(self.n_steps)[:, 0]])

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict` (checked first by :mod:`engine.checkpoint`)."""
        for table in (self._step_lr, self._step_momentum, self._epoch_lr):
            table.widen(int(state["groups"]))  # one reallocation, however many groups
        steps = state["steps"].numpy()
        self._steps.fill(steps[:, 2:3])  # the loss (steps and epochs follow from the row)
        self.first_step = int(steps[0, 0]) if len(steps) else 0
        for table, key in ((self._step_lr, "step_lr"), (self._step_momentum, "step_momentum"),
                           (self._epochs, "epochs"), (self._epoch_lr, "epoch_lr")):
            table.fill(state[key].numpy())
        self.events = [Event(*e) for e in state["events"]]
        self.n_steps = len(state["steps"])
        self.n_epochs = len(state["epochs"])
