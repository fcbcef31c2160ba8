"""Checking the experiment being typed without making the person wait for torch.

Two stages. At once, in the GUI thread: the engine's field and cross-field checks (no torch
work, a few milliseconds), so a wrong value is marked while the person types. Then in the
engine's process: torch's own verdict (one real step per run) and every run's predicted
schedule, as a numbered request. A newer request supersedes an older one — the engine drops
the rest of its work and this object ignores any answer that is not for the newest request —
so a stale preview is never drawn over a newer one. Answers for the same experiment come
from the engine's caches at once.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.errors import ExperimentError
from engine.parse import parse_experiment

from .training import TrainingController

__all__ = ["Validator"]


class Validator(QObject):
    verdict = Signal(object)        # ExperimentError from torch's trial, or None when it trains
    preview = Signal(int, object)   # run index, Prediction (of the newest request only)

    def __init__(self, controller: TrainingController, parent: QObject | None = None):
        super().__init__(parent)
        self.controller = controller
        self.request = 0             # the newest request sent
        self.answered = 0            # the newest request torch's verdict came back for
        self.pending_raw: dict | None = None  # checked, not yet sent (the engine is not ready)
        self.final: set[int] = set()  # runs whose final preview (not a partial one) came for the newest request
        controller.client.received.connect(self._received)
        controller.engine_ready.connect(self._engine_ready)

    def check(self, raw: dict, *, background: bool = True):
        """``(experiment, error)`` from the quick checks; if it passes, ask the engine for the rest."""
        try:
            experiment = parse_experiment(raw, quick=True)
        except ExperimentError as error:
            self.request += 1  # any answer still coming is about an older experiment
            self.answered = self.request  # and none is awaited
            return None, error
        if background:
            self._send(raw)
        else:
            self.request += 1
            self.answered = self.request
        return experiment, None

    @property
    def waiting(self) -> bool:
        """A request is out whose verdict has not come back."""
        return self.answered < self.request

    def _send(self, raw: dict) -> None:
        self.request += 1
        self.final = set()
        if not self.controller.ready or not self.controller.check(self.request, raw):
            self.pending_raw = raw
            return
        self.pending_raw = None

    def _engine_ready(self, ready: bool) -> None:
        if ready and self.pending_raw is not None:
            self._send(self.pending_raw)

    def _received(self, kind: str, args: tuple) -> None:
        if kind == "checked":
            request, path, message = args
            if request == self.request:
                self.answered = request
                self.verdict.emit(ExperimentError(path, message) if message else None)
        elif kind == "preview":
            request, index, prediction, _final = args
            if request == self.request:
                if _final:
                    self.final.add(index)
                self.preview.emit(index, prediction)
