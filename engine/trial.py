"""Build every run once with the real torch classes and take one step, before training starts.

The registry's ranges catch most mistakes with a precise message; this catches the rest
(options torch refuses only in combination, such as SGD's ``nesterov`` without momentum)
in the same form, naming the part of the run torch refused, instead of a traceback
halfway through training.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

from .config import Experiment
from .errors import ExperimentError, join_path
from .model import build_model, make_dataset
from .optimizers import build_optimizer
from .run import RunTrainer
from .schedulers import build_scheduler, scheduler_steps

__all__ = ["trial_experiment"]


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"torch refused it: {text[0] if text else type(error).__name__}"


def trial_experiment(experiment: Experiment) -> None:
    """Raise :class:`ExperimentError` if torch refuses a run's optimizer, scheduler or first step."""
    small = replace(experiment, data=replace(experiment.data, samples=min(experiment.data.samples, 64),
                                             val_fraction=experiment.data.val_fraction and 0.25))
    dataset = make_dataset(small.model, small.seed, small.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, run in enumerate(experiment.runs):
            path = join_path("runs", i)
            model = build_model(experiment.model, experiment.seed)
            try:
                optimizer = build_optimizer(run, model)
            except Exception as error:
                raise ExperimentError(join_path(path, "optimizer"), _reason(error)) from None
            if run.scheduler is not None:
                try:
                    build_scheduler(run.scheduler, optimizer,
                                    scheduler_steps(run.scheduler, experiment.epochs, experiment.steps_per_epoch))
                except ExperimentError as error:
                    raise error.under(join_path(path, "scheduler")) from None
                except Exception as error:
                    raise ExperimentError(join_path(path, "scheduler"), _reason(error)) from None
            try:
                trainer = RunTrainer(small, i, dataset)
                trainer.step(0)
            except Exception as error:
                raise ExperimentError(path, f"the first training step failed: {_reason(error)}") from None
            if trainer.status == "failed":
                raise ExperimentError(path, f"the first training step failed: {trainer.recorder.events[-1].detail}")

