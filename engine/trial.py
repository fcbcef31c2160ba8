"""Build every run once with the real torch classes and take one step, before training starts.

The trial step is separate from validation (:func:`~engine.parse.parse_experiment`, which
builds nothing and imports none of the training code): whoever is about to train asks for
it explicitly, ``trial_experiment(parse_experiment(raw))`` (the CLI before the first step, the
engine loop a slice at a time while a person types).

The registry's ranges catch most mistakes with a precise message; this catches the rest
(options torch refuses only in combination, such as SGD's ``nesterov`` without momentum)
in the same form, naming the part of the run torch refused, instead of a traceback
halfway through training.

The trial is cheap whatever the experiment: at most 64 samples, one step per run, and the
options the registry gives a ``trial_limit`` (LBFGS's iterations per step) lowered to it, since
a higher value costs more time and tells nothing more about whether torch accepts the run.

What one step cannot see, :func:`step_schedules` does: each run's scheduler, built as the run
builds it on an optimizer that never trains, is stepped as often as the run will step it
(about 10 microseconds a step), so a schedule torch fails at later (OneCycleLR with
``pct_start = 1.0`` divides by zero at its last step) is refused before training, naming the
step and torch's reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import replace

from .config import Experiment, GroupConfig, OptimizerConfig, RunConfig
from .errors import ExperimentError, join_path
from .model import build_model, make_dataset
from .optimizers import build_optimizer
from .registry import optimizer_spec, scheduler_spec
from .run import RunTrainer
from .schedulers import build_scheduler, scheduler_steps
from .status import RunStatus

__all__ = ["trial_experiment", "step_schedules", "SCHEDULE_CHECK_STEPS"]

# :func:`step_schedules` steps at most this many scheduler steps of a run (about 0.2 s): a longer
# run's scheduler is stepped over its first half of them and, jumped there by its count, its last
# half (one with nested schedulers over the first ones only). Where torch fails later in a
# schedule is at its ends (OneCycleLR's last step, a phase boundary near them); 200,000 a run
# held the engine's verdict (and the previews after it) for 50 s for 20 runs of 260,000 steps.
SCHEDULE_CHECK_STEPS = 20_000
SCHEDULE_SLICE = 5_000  # scheduler steps between two yields of step_schedules


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


def _failure(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def step_schedules(experiment: Experiment, stepped: frozenset[int] = frozenset()) -> Iterator[None]:
    """Step each run's scheduler through every scheduler step of the run (see the module docstring
    and :data:`SCHEDULE_CHECK_STEPS`), a slice at a time: a generator that yields between slices
    and raises :class:`ExperimentError` naming ``runs[i].scheduler`` at the first step torch fails
    at. Nothing trains: the model is only where the optimizer's parameters come from. Edits and
    the manual decay are left out (they change lrs, which no scheduler fails at); a scheduler
    stepped with a metric (ReduceLROnPlateau) is not stepped (only a loss moves it). Runs in
    ``stepped`` are left out too: their preview stepped the same scheduler through every step
    of the run without a failure (a complete :class:`~engine.preview.Prediction`)."""
    for i, run in enumerate(experiment.runs):
        cfg = run.scheduler
        if cfg is None or scheduler_spec(cfg.type).steps_with_metric or i in stepped:
            continue
        path = join_path(join_path("runs", i), "scheduler")
        n = scheduler_steps(cfg, experiment.epochs, experiment.steps_per_epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()": nothing trains
            try:
                optimizer = build_optimizer(run, build_model(experiment.model, experiment.seed))
                scheduler = build_scheduler(cfg, optimizer, n)
            except ExperimentError as error:
                raise error.under(path) from None
            except Exception as error:
                raise ExperimentError(path, _reason(error)) from None
        fractional, spe = cfg.interval == "fractional", experiment.steps_per_epoch
        half = SCHEDULE_CHECK_STEPS // 2
        spans = [(1, n)] if n <= SCHEDULE_CHECK_STEPS else \
            [(1, half)] + ([] if cfg.children else [(n - half + 1, n)])
        for first, last in spans:
            if first > 1:
                scheduler.last_epoch = first - 1  # the count the run's scheduler has there
            for start in range(first, last + 1, SCHEDULE_SLICE):
                k = start
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        for k in range(start, min(start + SCHEDULE_SLICE, last + 1)):
                            if fractional:  # as the run: step(epoch + i / steps_per_epoch) after step i
                                scheduler.step((k - 1) // spe + ((k - 1) % spe) / spe)
                            else:
                                scheduler.step()
                    except Exception as error:
                        when = f"after step {k - 1}" if cfg.interval == "step" else f"after epoch {k - 1}"
                        raise ExperimentError(path, f"torch fails at scheduler step {k} of {n} ({when}): "
                                                    f"{_failure(error)}") from None
                yield


def trial_experiment(experiment: Experiment, *, schedules: bool = True) -> Experiment:
    """Return ``experiment`` (checked by the parser) if torch accepts it; raise :class:`ExperimentError`
    if torch refuses a run's optimizer, scheduler or first step, or (``schedules``) fails at a later
    step of a run's schedule (:func:`step_schedules`, at once; a caller that runs it a slice at a
    time passes ``schedules=False``)."""
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
            if trainer.status == RunStatus.FAILED:
                raise ExperimentError(path, f"the first training step failed: {trainer.recorder.events[-1].detail}")
    if schedules:
        for _ in step_schedules(experiment):
            pass
    return experiment

