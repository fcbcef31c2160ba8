"""The predicted lr curve of a run: its real scheduler stepped on a throw-away optimizer.

The GUI draws it while a person edits a scheduler (and faintly beside the actual curve
while training, so an edit that bent the schedule shows). It is the same mechanism as
torch's own scheduler documentation images: the real class, stepped, no formulas.

When nothing happens inside an epoch (the scheduler steps per epoch and no edit names a
step), the lr is constant within each epoch, so the probe steps one batch per epoch and
the result is spread over the epoch's steps: the same curve, ``steps_per_epoch`` times faster.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from .config import Experiment
from .recorder import Event, RunRecorder, RunResults
from .run import RUNNING, ScheduleProbe

__all__ = ["predict_schedule", "Prediction", "MAX_PREVIEW_STEPS"]

MAX_PREVIEW_STEPS = 200_000


@dataclass
class Prediction:
    results: RunResults   # step_lr, epoch_lr, step_momentum and events, as a trained run's
    complete: bool        # False when cut at max_steps or ended early (an error, an lr out of range)
    note: str             # what the preview cannot show, in words ("" when nothing)


def _per_epoch(experiment: Experiment, index: int) -> bool:
    run = experiment.runs[index]
    return ((run.scheduler is None or run.scheduler.interval == "epoch")
            and all(e.step is None for e in run.edits))


def _spread(results: RunResults, steps_per_epoch: int) -> RunResults:
    """Per-epoch rows (one step per epoch) as the per-step rows of the real experiment."""
    repeat = lambda a: np.repeat(a, steps_per_epoch, axis=0)  # noqa: E731
    epochs = results.step_epoch
    step = np.arange(len(epochs) * steps_per_epoch)
    events = [Event(e.step * steps_per_epoch, e.epoch, e.kind, e.group, e.detail) for e in results.events]
    return replace(results, step=step, step_epoch=repeat(epochs), step_loss=repeat(results.step_loss),
                   step_lr=repeat(results.step_lr), step_momentum=repeat(results.step_momentum), events=events)


def predict_schedule(experiment: Experiment, index: int, max_steps: int = MAX_PREVIEW_STEPS) -> Prediction:
    """Step run ``index``'s schedule through the whole experiment (at most ``max_steps`` steps)."""
    spe = experiment.steps_per_epoch
    coarse = _per_epoch(experiment, index) and spe > 1
    probed = replace(experiment, data=replace(experiment.data, batch_size=experiment.data.n_train)) \
        if coarse else experiment
    total = min(probed.total_steps, max_steps)
    t = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()": nothing trains here
        try:
            probe = ScheduleProbe(probed, index)
        except Exception as error:  # what torch refuses here, validation reports at its field
            empty = RunRecorder(experiment.runs[index].name, 1).snapshot()
            return Prediction(empty, complete=False, note=f"no preview: {type(error).__name__}: {error}")
        try:
            while t < total and probe.status == RUNNING:
                probe.step(t)
                t += 1
        except Exception as error:  # e.g. an expression failing at some epoch: show where
            probe.fail(t, error)
    results = probe.recorder.snapshot()
    if coarse:
        results = _spread(results, spe)
    notes = []
    scheduler = experiment.runs[index].scheduler
    if scheduler is not None and any(s.type == "ReduceLROnPlateau" for s in scheduler.walk()):
        notes.append("ReduceLROnPlateau reduces the lr when the loss stalls, which only training shows")
    if total < probed.total_steps:
        notes.append(f"the preview stops at step {total * (spe if coarse else 1)} of {experiment.total_steps}")
    if probe.status != RUNNING:
        notes.append(probe.recorder.events[-1].detail)
    return Prediction(results, complete=t == probed.total_steps and probe.status == RUNNING, note="; ".join(notes))
