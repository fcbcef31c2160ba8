"""The predicted lr curve of a run: its real scheduler stepped on a throw-away optimizer.

The GUI draws it while a person edits a scheduler (and faintly beside the actual curve
while training, so an edit that bent the schedule shows). It is the same mechanism as
torch's own scheduler documentation images: the real class, stepped, no formulas.

When nothing happens inside an epoch (the scheduler steps per epoch and no edit names a
step), the lr is constant within each epoch, so the probe steps one batch per epoch and
the result is spread over the epoch's steps: the same curve, ``steps_per_epoch`` times faster.

:func:`predict_from` predicts the rest of a run that is training, from the schedule's
state at a step boundary (:meth:`~engine.run.RunTrainer.schedule_state`): after a mid-run
edit, what torch will really do with it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from .config import Experiment
from .recorder import Event, RunRecorder, RunResults, compact
from .registry import SCHEDULERS
from .run import ScheduleProbe
from .status import RunStatus

__all__ = ["predict_schedule", "predict_from", "predict_from_stages", "preview_steps", "SchedulePrediction",
           "Prediction", "MAX_PREVIEW_STEPS", "PLATEAU_NOTE"]

MAX_PREVIEW_STEPS = 200_000
PLATEAU_NOTE = "ReduceLROnPlateau reduces the lr when the loss stalls, which only training shows"


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
    step = (repeat(results.step * steps_per_epoch) + np.tile(np.arange(steps_per_epoch), len(epochs))
            ).astype(np.int64)
    events = [Event(e.step * steps_per_epoch, e.epoch, e.kind, e.group, e.detail) for e in results.events]
    return replace(results, step=step, step_epoch=repeat(epochs), step_loss=repeat(results.step_loss),
                   step_lr=repeat(results.step_lr), step_momentum=repeat(results.step_momentum), events=events)


def preview_steps(experiment: Experiment, index: int, max_steps: int = MAX_PREVIEW_STEPS) -> int:
    """How many probe steps run ``index``'s preview takes (what :class:`SchedulePrediction` will
    step), known without building anything."""
    coarse = _per_epoch(experiment, index) and experiment.steps_per_epoch > 1
    return min(experiment.epochs if coarse else experiment.total_steps, max_steps)


class SchedulePrediction:
    """Run ``index``'s schedule stepped through the whole experiment, a slice at a time.

    The engine's loop advances it between other work (a newer request abandons it) and shows
    :meth:`partial` while it goes, so a long schedule draws progressively; :func:`predict_schedule`
    runs it to the end at once.
    """

    def __init__(self, experiment: Experiment, index: int, max_steps: int = MAX_PREVIEW_STEPS):
        self.experiment, self.index = experiment, index
        self.spe = spe = experiment.steps_per_epoch
        self.coarse = _per_epoch(experiment, index) and spe > 1
        self.probed = replace(experiment, data=replace(experiment.data, batch_size=experiment.data.n_train)) \
            if self.coarse else experiment
        self.total = min(self.probed.total_steps, max_steps)
        self.t = 0
        self.refused: str | None = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.probe = ScheduleProbe(self.probed, index)
        except Exception as error:  # what torch refuses here, validation reports at its field
            self.probe, self.refused = None, f"no preview: {type(error).__name__}: {error}"

    @property
    def done(self) -> bool:
        return self.probe is None or self.t >= self.total or self.probe.status != RunStatus.RUNNING

    def advance(self, steps: int) -> bool:
        """Step the schedule ``steps`` more probe steps; True when it is at its end."""
        probe, end = self.probe, min(self.total, self.t + steps)
        if self.done:
            return True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()": nothing trains here
            try:
                while self.t < end and probe.status == RunStatus.RUNNING:
                    probe.step(self.t)
                    self.t += 1
            except Exception as error:  # e.g. an expression failing at some epoch: show where
                probe.fail(self.t, error)
        return self.done

    def partial(self) -> Prediction:
        """What is predicted so far (not complete: the note says how far)."""
        prediction = self.result()
        if self.done:
            return prediction
        shown = self.t * (self.spe if self.coarse else 1)
        return Prediction(prediction.results, complete=False,
                          note=f"predicting: step {shown} of {self.experiment.total_steps} so far")

    def result(self) -> Prediction:
        experiment, index, spe = self.experiment, self.index, self.spe
        if self.probe is None:
            empty = RunRecorder(experiment.runs[index].name, 1).snapshot()
            return Prediction(empty, complete=False, note=self.refused)
        probe = self.probe
        results = probe.recorder.snapshot()
        if self.coarse:
            results = _spread(results, spe)
        notes = []
        if _has_plateau(experiment, index):
            notes.append(PLATEAU_NOTE)
        if self.total < self.probed.total_steps:
            notes.append(f"the preview stops at step {self.total * (spe if self.coarse else 1)} "
                         f"of {experiment.total_steps}")
        if probe.status != RunStatus.RUNNING:
            notes.append(probe.recorder.events[-1].detail)
        # kept for the whole run (the engine's cache, the window): columns without information cost no rows
        complete = self.t == self.probed.total_steps and probe.status == RunStatus.RUNNING
        return Prediction(compact(results), complete=complete, note="; ".join(notes))


def predict_schedule(experiment: Experiment, index: int, max_steps: int = MAX_PREVIEW_STEPS) -> Prediction:
    """Step run ``index``'s schedule through the whole experiment (at most ``max_steps`` steps)."""
    prediction = SchedulePrediction(experiment, index, max_steps)
    prediction.advance(max_steps)
    return prediction.result()


def _has_plateau(experiment: Experiment, index: int) -> bool:
    scheduler = experiment.runs[index].scheduler
    return scheduler is not None and any(SCHEDULERS[s.type].steps_with_metric for s in scheduler.walk())


def predict_from(experiment: Experiment, index: int, state: dict, t: int, max_steps: int = MAX_PREVIEW_STEPS,
                 commands=None) -> Prediction:
    """:func:`predict_from_stages` at once (see it)."""
    stages = predict_from_stages(experiment, index, state, t, max_steps, commands)
    while True:
        try:
            next(stages)
        except StopIteration as done:
            return done.value


def predict_from_stages(experiment: Experiment, index: int, state: dict, t: int,
                        max_steps: int = MAX_PREVIEW_STEPS, commands=None, slice_steps: int | None = None):
    """The rest of run ``index`` from optimizer step ``t`` on, as its schedule will go.

    ``state`` is the run's :meth:`~engine.run.RunTrainer.schedule_state` taken before step
    ``t`` (between steps ``t - 1`` and ``t``, or ``before_commands``); ``experiment`` is the
    one the run was built from (``TrainingSession.experiment``, *not*
    ``experiment_with_edits()``: commands already applied are in ``state``). ``commands``
    (optional) are applied before step ``t`` as the run applies them: with the state in
    ``RunTrainer.before_commands``, this predicts the run with those commands, without them
    it predicts the run had they never been sent.

    A generator: with ``slice_steps`` it yields after every that many probe steps (the engine's
    loop trains or answers between them, or abandons it), and returns the :class:`Prediction`
    (``prediction = yield from predict_from_stages(...)``).

    The results hold steps ``t`` to the end (at most ``max_steps`` probe steps), and equal
    bit for bit the lr and momentum the run then uses, except under ReduceLROnPlateau, which
    the probe leaves unstepped (``note`` says so). ``state`` is not changed.
    """
    spe = experiment.steps_per_epoch
    run = experiment.runs[index]
    # As predict_schedule: nothing happens inside an epoch from an epoch's start on, so
    # one probe step per epoch. (Commands apply before step t, i.e. at the epoch's start.)
    coarse = _per_epoch(experiment, index) and spe > 1 and t % spe == 0
    probed = replace(experiment, data=replace(experiment.data, batch_size=experiment.data.n_train)) \
        if coarse else experiment
    start = t // spe if coarse else t
    end = min(probed.total_steps, start + max_steps)
    position = start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()": nothing trains here
        try:
            probe = ScheduleProbe(probed, index)
            probe.load_schedule_state(state)
        except Exception as error:  # torch refusing the config, or a state from another experiment
            empty = RunRecorder(run.name, max(len(state.get("groups", ())), 1)).snapshot()
            return Prediction(empty, complete=False, note=f"no preview: {type(error).__name__}: {error}")
    was_running = probe.status == RunStatus.RUNNING
    first = True
    while position < end and probe.status == RunStatus.RUNNING:
        stop = min(end, position + slice_steps) if slice_steps else end
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if first:
                    probe.step(position, list(commands) if commands else None)
                    position += 1
                    first = False
                while position < stop and probe.status == RunStatus.RUNNING:
                    probe.step(position)
                    position += 1
            except Exception as error:  # e.g. an expression failing at some epoch: show where
                probe.fail(position, error)
        if slice_steps and position < end and probe.status == RunStatus.RUNNING:
            yield
    results = probe.recorder.snapshot()
    if coarse:
        results = _spread(results, spe)
    notes = []
    if _has_plateau(experiment, index):
        notes.append(PLATEAU_NOTE)
    if not was_running:
        notes.append(f"nothing to predict: the run has {probe.status}")
    elif end < probed.total_steps:
        notes.append(f"the preview stops at step {end * (spe if coarse else 1)} of {experiment.total_steps}")
    if was_running and probe.status != RunStatus.RUNNING:
        notes.append(probe.recorder.events[-1].detail)
    # A run that has finished is complete with nothing left to predict.
    complete = position >= probed.total_steps and probe.status in (RunStatus.RUNNING, RunStatus.FINISHED)
    return Prediction(compact(results), complete=complete, note="; ".join(notes))
