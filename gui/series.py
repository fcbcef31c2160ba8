"""The window's results of each run: the rows the engine publishes, appended as they arrive.

The engine (another process) sends only the rows recorded since its last publication, so a
run of a million steps costs the window what its newest rows cost, not a million rows per
frame. This is the window's only copy of the results: plots read views of it.
"""

from __future__ import annotations

import numpy as np

from engine.recorder import Event, GrowingTable, RunResults

__all__ = ["RunSeries"]


class RunSeries:
    def __init__(self, name: str = ""):
        self.name = name
        self.n_steps = self.n_epochs = 0
        self._steps = GrowingTable(3)
        self._step_lr = GrowingTable(1)
        self._step_momentum = GrowingTable(1)
        self._epochs = GrowingTable(3)
        self._epoch_lr = GrowingTable(1)
        self.events: list[Event] = []

    def append(self, part: RunResults) -> bool:
        """Append rows the engine published (those after the ones already here); True when any were new."""
        n, m = len(part.step), len(part.epoch)
        if n:
            self._steps.extend(self.n_steps, np.column_stack([part.step, part.step_epoch, part.step_loss]))
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
        steps, epochs = self._steps.view(self.n_steps), self._epochs.view(self.n_epochs)
        return RunResults(self.name, steps[:, 0], steps[:, 1], steps[:, 2], self._step_lr.view(self.n_steps),
                          self._step_momentum.view(self.n_steps), epochs[:, 0], epochs[:, 1], epochs[:, 2],
                          self._epoch_lr.view(self.n_epochs), self.events)

    def exact(self) -> RunResults:
        """The results with whole-number columns as integers (for CSV files, as the engine writes them)."""
        r = self.results()
        return RunResults(r.name, r.step.astype(np.int64), r.step_epoch.astype(np.int64), r.step_loss.copy(),
                          r.step_lr.copy(), r.step_momentum.copy(), r.epoch.astype(np.int64), r.train_loss.copy(),
                          r.val_loss.copy(), r.epoch_lr.copy(), list(r.events))
