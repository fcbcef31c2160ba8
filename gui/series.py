"""The GUI's copy of each run's results, pulled incrementally from the engine's recorders.

Each refresh copies only the rows recorded since the last one, so a run of a million steps
costs the window what its newest rows cost, not a million rows per frame.
"""

from __future__ import annotations

import numpy as np

from engine.recorder import Event, GrowingTable, RunRecorder, RunResults

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

    def pull(self, recorder: RunRecorder) -> bool:
        """Append what ``recorder`` holds beyond this copy; True when anything was new."""
        part = recorder.snapshot(self.n_steps, self.n_epochs, len(self.events))
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
