"""The predicted lr curve of a run: its real scheduler stepped on a throw-away optimizer.

The GUI draws it while a person edits a scheduler (and faintly beside the actual curve
while training, so an edit that bent the schedule shows). It is the same mechanism as
torch's own scheduler documentation images: the real class, stepped, no formulas.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from .config import Experiment
from .recorder import RunResults
from .run import RUNNING, ScheduleProbe

__all__ = ["predict_schedule", "Prediction", "MAX_PREVIEW_STEPS"]

MAX_PREVIEW_STEPS = 200_000


@dataclass
class Prediction:
    results: RunResults   # step_lr, epoch_lr, step_momentum and events, as a trained run's
    complete: bool        # False when cut at max_steps or ended early (an error, an lr out of range)
    note: str             # what the preview cannot show, in words ("" when nothing)


def predict_schedule(experiment: Experiment, index: int, max_steps: int = MAX_PREVIEW_STEPS) -> Prediction:
    """Step run ``index``'s schedule through the whole experiment (at most ``max_steps`` steps)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()": nothing trains here
        probe = ScheduleProbe(experiment, index)
        total = min(experiment.total_steps, max_steps)
        t = 0
        try:
            while t < total and probe.status == RUNNING:
                probe.step(t)
                t += 1
        except Exception as error:  # e.g. an expression failing at some epoch: show where
            probe.fail(t, error)
    notes = []
    scheduler = experiment.runs[index].scheduler
    if scheduler is not None and any(s.type == "ReduceLROnPlateau" for s in scheduler.walk()):
        notes.append("ReduceLROnPlateau reduces the lr when the loss stalls, which only training shows")
    if total < experiment.total_steps:
        notes.append(f"the preview stops at step {total} of {experiment.total_steps}")
    if probe.status != RUNNING:
        notes.append(probe.recorder.events[-1].detail)
    return Prediction(probe.recorder.snapshot(), complete=t == experiment.total_steps and probe.status == RUNNING,
                      note="; ".join(notes))
