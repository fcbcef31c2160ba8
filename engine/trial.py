"""Build every run once with the real torch classes and take one step, before training starts.

The registry's ranges catch most mistakes with a precise message; this catches the rest
(options torch refuses only in combination, such as SGD's ``nesterov`` without momentum)
in the same form, naming the part of the run torch refused, instead of a traceback
halfway through training.

The trial is cheap whatever the experiment: at most 64 samples, one step per run, and the
options the registry gives a ``trial_limit`` (LBFGS's iterations per step) lowered to it, since
a higher value costs more time and tells nothing more about whether torch accepts the run.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

from .config import Experiment, GroupConfig, OptimizerConfig, RunConfig
from .errors import ExperimentError, join_path
from .model import build_model, make_dataset
from .optimizers import build_optimizer
from .registry import optimizer_spec
from .run import RunTrainer
from .schedulers import build_scheduler, scheduler_steps

__all__ = ["trial_experiment"]


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"torch refused it: {text[0] if text else type(error).__name__}"


def _limited(options: dict, limits: dict[str, int]) -> dict:
    return {k: min(v, limits[k]) if k in limits and v is not None else v for k, v in options.items()}


def _trial_run(run: RunConfig) -> RunConfig:
    """``run`` with its optimizer's trial limits applied wherever its options are set."""
    limits = optimizer_spec(run.optimizer.type).trial_limits
    if not limits:
        return run

    def group(g: GroupConfig | None) -> GroupConfig | None:
        return g if g is None else replace(g, options=_limited(g.options, limits))

    return replace(run, optimizer=OptimizerConfig(run.optimizer.type, _limited(run.optimizer.options, limits)),
                   groups=None if run.groups is None else tuple(group(g) for g in run.groups),
                   edits=tuple(replace(e, options=_limited(e.options, limits), add_group=group(e.add_group))
                               for e in run.edits))


def trial_experiment(experiment: Experiment) -> None:
    """Raise :class:`ExperimentError` if torch refuses a run's optimizer, scheduler or first step."""
    small = replace(experiment, data=replace(experiment.data, samples=min(experiment.data.samples, 64),
                                             val_fraction=experiment.data.val_fraction and 0.25),
                    runs=tuple(_trial_run(run) for run in experiment.runs))
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

