"""The learning-rate range test (Smith 2015) on one run of an experiment, and what to do with it.

The test trains the run as the engine builds it (its model, data, batch order, optimizer and
param groups: :class:`~engine.run.RunTrainer`) for ``num_iter`` optimizer steps while a real
torch scheduler (``LambdaLR``, stepped after every optimizer step) sweeps the lr from
``start_lr`` to ``end_lr``: exponentially (``mode = "exp"``, each step multiplies it by the same
factor) or in a straight line (``"linear"``). The groups keep the ratios of their lrs: the lr the
test records (the *swept* lr) is that of the group whose lr is largest as the run starts (its
``initial_lr`` when the run's scheduler set one, as OneCycleLR does, else its ``lr``).

Batches come from the run's own batch-order generator, epoch after epoch, so the test's batch
``i`` is the one the run trains at step ``i`` (from where the run is: a run mid-way draws its
next epochs). Each loss is smoothed by an exponential moving average with bias correction
(fastai's ``AvgSmoothLoss``, Lightning's ``_LRCallback``: ``beta = 0.98``); the test stops early
when the smoothed loss exceeds ``diverge_threshold`` times the best so far, or a loss is not
finite. Afterwards the model's weights, the optimizer's state and param groups, and the batch
generator are exactly as before, so training after a test is training without one, bit for bit.

>>> from engine.files import loads_experiment
>>> experiment = loads_experiment('[[runs]]\\noptimizer = { type = "SGD", lr = 0.1 }')
>>> result = find_lr(experiment, 0, RangeTestOptions(num_iter=30))
>>> len(result.lr), float(result.lr[0]), float(result.lr[-1])
(30, 1e-07, 10.0)
>>> [s.rule for s in result.suggestions]
['steepest', 'minimum/10', 'steep', 'valley']

The suggestion rules are in :mod:`engine.lr_rules`; how a suggestion becomes the run's lr (its
optimizer's lr, or a scheduler's own lr options such as OneCycleLR's ``max_lr``) is
:func:`lr_targets` and :func:`with_lr`.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.optim.lr_scheduler import LambdaLR

from .config import Experiment
from .errors import ExperimentError, show_value
from .lr_rules import Suggestion, suggest
from .model import make_dataset
from .registry import scheduler_spec
from .registry.spec import INITIAL_LR
from .run import RunTrainer

__all__ = ["RangeTestOptions", "RangeTest", "RangeTestResult", "Suggestion", "find_lr", "MODES",
           "MAX_ITERATIONS", "COLUMNS", "lr_targets", "LrTarget", "with_lr", "with_trial_runs"]

MODES = ("exp", "linear")
MAX_ITERATIONS = 10_000  # fastai's valley rule is quadratic in the points: a test of more says little more
COLUMNS = ("step", "lr", "loss", "smoothed_loss")  # a row of the curve (find.csv, the window's chunks)


@dataclass(frozen=True)
class RangeTestOptions:
    """What to sweep. Defaults as fastai's ``lr_find`` and torch-lr-finder use them.

    Args:
        start_lr: the swept lr at the first step (1e-7), > 0.
        end_lr: the swept lr at the last step (10), > ``start_lr``.
        num_iter: optimizer steps (100), from 2 to :data:`MAX_ITERATIONS`.
        mode: ``"exp"`` (the lr grows by the same factor each step) or ``"linear"``.
        beta: the smoothing's weight of the past (0.98), from 0 (no smoothing) to below 1.
        diverge_threshold: stop when the smoothed loss exceeds this times its best (4), > 1.

    Invalid values raise :class:`~engine.errors.ExperimentError` whose ``path`` is the option's name.
    """

    start_lr: float = 1e-7
    end_lr: float = 10.0
    num_iter: int = 100
    mode: str = "exp"
    beta: float = 0.98
    diverge_threshold: float = 4.0

    def __post_init__(self):
        for name in ("start_lr", "end_lr", "beta", "diverge_threshold"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise ExperimentError(name, f"expected a number, got {show_value(value)}")
        for name in ("start_lr", "end_lr"):
            value = getattr(self, name)
            if not 0 < value < math.inf:
                raise ExperimentError(name, f"expected a finite number > 0, got {show_value(value)}")
        if not self.start_lr < self.end_lr:
            raise ExperimentError("start_lr", f"expected a number below end_lr ({self.end_lr:g}), "
                                              f"got {show_value(self.start_lr)}")
        if isinstance(self.num_iter, bool) or not isinstance(self.num_iter, int) \
                or not 2 <= self.num_iter <= MAX_ITERATIONS:
            raise ExperimentError("num_iter", f"expected a whole number from 2 to {MAX_ITERATIONS}, "
                                              f"got {show_value(self.num_iter)}")
        if self.mode not in MODES:
            raise ExperimentError("mode", f"expected one of {', '.join(map(show_value, MODES))}, "
                                          f"got {show_value(self.mode)}")
        if not 0 <= self.beta < 1:
            raise ExperimentError("beta", f"expected a number from 0 to below 1, got {show_value(self.beta)}")
        if not self.diverge_threshold > 1:
            raise ExperimentError("diverge_threshold", f"expected a number > 1, got "
                                                       f"{show_value(self.diverge_threshold)}")

    def factor(self, i: int) -> float:
        """The lr of step ``i`` as a multiple of ``start_lr``: LambdaLR's ``lr_lambda`` for the sweep."""
        fraction = i / (self.num_iter - 1)
        ratio = self.end_lr / self.start_lr
        return ratio ** fraction if self.mode == "exp" else 1 + (ratio - 1) * fraction


@dataclass(frozen=True)
class RangeTestResult:
    """The curve (one entry per step done) and what each rule suggests from it."""

    step: np.ndarray            # int64
    lr: np.ndarray              # the swept lr (the reference group's) at each optimizer step
    loss: np.ndarray            # the batch's training loss before that step
    smoothed: np.ndarray        # its bias-corrected moving average
    options: RangeTestOptions
    reference_group: int        # the group whose lr is swept (the others keep their ratio to it)
    stop_reason: str = ""       # "" when the whole range was swept
    suggestions: tuple[Suggestion, ...] = field(default=())

    def rows(self) -> np.ndarray:
        """The curve as one float64 array of :data:`COLUMNS`."""
        return np.column_stack([self.step.astype(np.float64), self.lr, self.loss, self.smoothed])


def _reference_group(optimizer: torch.optim.Optimizer) -> tuple[int, list[float]]:
    """The group whose lr is swept (the largest at the start) and each group's ratio to it."""
    bases = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
    reference = max(range(len(bases)), key=lambda i: bases[i])
    if not bases[reference] > 0:  # every group at lr 0: they sweep together
        return reference, [1.0] * len(bases)
    return reference, [b / bases[reference] for b in bases]


class _Saved:
    """Everything of a trainer the test changes, copied (``restore`` puts it back exactly)."""

    def __init__(self, trainer: RunTrainer):
        self.model = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        self.optimizer = copy.deepcopy(trainer.optimizer.state_dict())
        # a scheduler wraps optimizer.step (torch's check of the call order): only a test's own is undone
        self.instance = {k: trainer.optimizer.__dict__[k] for k in ("step", "_opt_called")
                         if k in trainer.optimizer.__dict__}
        self.generator = trainer.generator.get_state()
        self.batches = (trainer.perm, trainer.epoch_x, trainer.epoch_y)

    def restore(self, trainer: RunTrainer) -> None:
        trainer.model.load_state_dict(self.model)
        trainer.optimizer.load_state_dict(self.optimizer)
        for key in ("step", "_opt_called"):
            if key in self.instance:
                trainer.optimizer.__dict__[key] = self.instance[key]
            else:
                trainer.optimizer.__dict__.pop(key, None)
        trainer.generator.set_state(self.generator)
        trainer.perm, trainer.epoch_x, trainer.epoch_y = self.batches


class RangeTest:
    """A range test on ``trainer`` (see the module docstring), a step at a time.

    ``steps()`` is a generator: it trains one step per item and puts the trainer back when it
    ends, is closed (a window's Stop, a newer request) or raises. ``run()`` does all of it.
    """

    def __init__(self, trainer: RunTrainer, options: RangeTestOptions | None = None):
        self.trainer = trainer
        self.options = options or RangeTestOptions()
        self.lr: list[float] = []
        self.loss: list[float] = []
        self.smoothed: list[float] = []
        self.stop_reason = ""
        self.reference_group, self._ratios = _reference_group(trainer.optimizer)

    def __len__(self) -> int:
        return len(self.lr)

    def steps(self) -> Iterator[int]:
        """Train the test's steps, yielding each one's index once it is recorded."""
        trainer, options = self.trainer, self.options
        saved = _Saved(trainer)
        try:
            optimizer = trainer.optimizer
            for group, ratio in zip(optimizer.param_groups, self._ratios):
                group.pop("initial_lr", None)  # the sweep's scheduler takes its base lrs from here
                group["lr"] = options.start_lr * ratio
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                sweep = LambdaLR(optimizer, options.factor)
            batch_size, per_epoch = trainer.batch_size, trainer.steps_per_epoch
            average, best = 0.0, math.inf
            for i in range(options.num_iter):
                b = i % per_epoch
                if b == 0:  # the run's next epoch: its order from the run's generator
                    trainer.shuffle(torch.randperm(trainer.n_train, generator=trainer.generator))
                x = trainer.epoch_x[b * batch_size:(b + 1) * batch_size]
                y = trainer.epoch_y[b * batch_size:(b + 1) * batch_size]
                lr = optimizer.param_groups[self.reference_group]["lr"]
                loss = trainer.train_batch(x, y)  # the run's own step: zero_grad, forward, backward, step
                average = options.beta * average + (1 - options.beta) * loss
                smoothed = average / (1 - options.beta ** (i + 1))
                self.lr.append(float(lr))
                self.loss.append(loss)
                self.smoothed.append(smoothed)
                best = min(best, smoothed)
                if not math.isfinite(loss) or not math.isfinite(smoothed):
                    self.stop_reason = f"the loss became {loss} at step {i} (lr {lr:.4g})"
                elif smoothed > options.diverge_threshold * best:
                    self.stop_reason = (f"diverged at step {i} (lr {lr:.4g}): the smoothed loss {smoothed:.4g} "
                                        f"exceeded {options.diverge_threshold:g} x its best {best:.4g}")
                yield i
                if self.stop_reason:
                    return
                if i + 1 < options.num_iter:
                    sweep.step()
        finally:
            saved.restore(trainer)

    def run(self) -> RangeTestResult:
        for _ in self.steps():
            pass
        return self.result()

    def rows(self, start: int = 0) -> np.ndarray:
        """Rows ``start`` onwards of the curve so far (:data:`COLUMNS`, float64)."""
        n = len(self.lr)
        return np.column_stack([np.arange(start, n, dtype=np.float64), self.lr[start:n],
                                self.loss[start:n], self.smoothed[start:n]]).reshape(-1, len(COLUMNS))

    def result(self, stop_reason: str | None = None) -> RangeTestResult:
        """The curve so far and the suggestions from it (``stop_reason`` overrides the test's own)."""
        lr, smoothed = np.array(self.lr, dtype=np.float64), np.array(self.smoothed, dtype=np.float64)
        return RangeTestResult(step=np.arange(len(lr), dtype=np.int64), lr=lr,
                               loss=np.array(self.loss, dtype=np.float64), smoothed=smoothed,
                               options=self.options, reference_group=self.reference_group,
                               stop_reason=self.stop_reason if stop_reason is None else stop_reason,
                               suggestions=suggest(lr, smoothed, self.options.num_iter, self.options.start_lr))


def range_test_trainer(experiment: Experiment, index: int) -> RunTrainer:
    """Run ``index`` of ``experiment`` built as a session builds it, with its data: what a test sweeps."""
    if not 0 <= index < len(experiment.runs):
        raise ExperimentError("run", f"expected a run index from 0 to {len(experiment.runs) - 1}, got {index}")
    dataset = make_dataset(experiment.model, experiment.seed, experiment.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return RunTrainer(experiment, index, dataset)


def find_lr(experiment: Experiment, index: int, options: RangeTestOptions | None = None) -> RangeTestResult:
    """A range test of run ``index`` from its start (a fresh trainer: the experiment is not changed)."""
    return RangeTest(range_test_trainer(experiment, index), options).run()


# -- using a suggestion: which option of the run it sets -------------------------------------------
@dataclass(frozen=True)
class LrTarget:
    """An lr-valued option of a raw run (``path`` from the run's table) and its words."""

    path: tuple
    label: str


def _scheduler_lr_options(spec) -> list[str]:
    """The options from which a scheduler computes its lrs, replacing the optimizer's: those its
    ``rebase`` trait scales, as its ``adopts_group`` trait says the constructor takes them from
    (OneCycleLR: max_lr; CyclicLR: base_lr and max_lr; a scheduler that scales the optimizer's lr,
    none)."""
    adopt, names = spec.adopts_group, []
    keys = {key: source for key, source, _ in adopt.group_keys}
    lists = dict(adopt.lists)

    def add(source: str, seen=()) -> None:
        if source in spec.params and source != INITIAL_LR:
            if source not in names:
                names.append(source)
        elif source in keys and source not in seen:  # a key the constructor computed from another
            add(keys[source], (*seen, source))

    for key in spec.rebase.group_keys:
        add(keys.get(key, key))
    for attribute in spec.rebase.lists:
        if attribute in lists:
            add(lists[attribute])
    return names


def lr_targets(run: dict) -> list[LrTarget]:
    """What "use this lr" can set in the raw ``run`` (a ``[[runs]]`` table): a scheduler's own lr
    options where it has them (nested ones included), else the optimizer's lr (and its groups')."""
    targets: list[LrTarget] = []

    def walk(scheduler, path: tuple) -> None:
        if not isinstance(scheduler, dict):
            return
        try:
            spec = scheduler_spec(scheduler.get("type"))
        except ExperimentError:
            return
        for i, child in enumerate(scheduler.get("schedulers") or []):
            walk(child, (*path, "schedulers", i))
        for name in _scheduler_lr_options(spec):
            targets.append(LrTarget((*path, name), f"{spec.name} {name}"))

    walk(run.get("scheduler"), ("scheduler",))
    return targets or [LrTarget(("optimizer", "lr"), "the optimizer's lr")]


def _get(table, path: tuple):
    for key in path:
        table = table[key]
    return table


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _entry(value: list, group: int):
    """Group ``group``'s entry of a per-group list, as the engine reads it (beyond the end: the first)."""
    return group if group < len(value) else 0


def with_lr(raw: dict, index: int, lr: float, reference_group: int = 0, target: LrTarget | None = None) -> dict:
    """A copy of the raw experiment whose run ``index`` trains the reference group at ``lr``: the
    target option (the first of :func:`lr_targets` when None) set, the other groups' lrs scaled by
    the same factor (their ratios kept)."""
    raw = copy.deepcopy(raw)
    run = raw["runs"][index]
    target = target or lr_targets(run)[0]
    if target.path == ("optimizer", "lr"):
        _set_optimizer_lr(run, lr, reference_group)
        return raw
    *parent, name = target.path
    table = _get(run, tuple(parent))
    value = table.get(name)
    if isinstance(value, list) and value:
        at = _entry(value, reference_group)
        now = value[at]
        factor = lr / now if _number(now) and now > 0 else None
        table[name] = [lr if i == at or factor is None or not _number(v) else v * factor for i, v in enumerate(value)]
    else:
        table[name] = lr
    return raw


def _set_optimizer_lr(run: dict, lr: float, reference_group: int) -> None:
    """The optimizer's lr and its groups' (a group without one trains at the optimizer's)."""
    from .registry import optimizer_spec

    optimizer = run.setdefault("optimizer", {})
    default = optimizer.get("lr")
    if default is None:
        try:
            default = optimizer_spec(optimizer.get("type")).params["lr"].default
        except (ExperimentError, KeyError):
            default = None
    groups = [g for g in run.get("groups") or [] if isinstance(g, dict)]
    reference = groups[reference_group] if reference_group < len(groups) else None
    now = reference.get("lr", default) if reference is not None else default
    factor = lr / now if _number(now) and now > 0 else None
    optimizer["lr"] = default * factor if factor is not None and _number(default) else lr
    for group in groups:
        if "lr" in group:
            group["lr"] = group["lr"] * factor if factor is not None and _number(group["lr"]) else lr
    if reference is not None and "lr" in reference:
        reference["lr"] = lr  # exactly, not lr / now * now
    else:
        optimizer["lr"] = lr


def _unique(name: str, taken: set[str]) -> str:
    name = name[:100]
    candidate, n = name, 2
    while candidate in taken:
        suffix = f" ({n})"
        candidate, n = name[:100 - len(suffix)] + suffix, n + 1
    return candidate


def with_trial_runs(raw: dict, index: int, suggestions, reference_group: int = 0,
                    target: LrTarget | None = None) -> dict:
    """A copy of the raw experiment with one run per answered suggestion, and one at 10 x the
    steepest (to show too high), each a copy of run ``index`` at that lr (see :func:`with_lr`).
    Rules that answer the same lr share one run, named after all of them (two identical runs
    would train to the bit alike and hide each other)."""
    picks: dict[float, list[str]] = {}
    for s in suggestions:
        if s.lr is not None:
            picks.setdefault(s.lr, []).append(s.rule)
    steepest = next((s.lr for s in suggestions if s.rule == "steepest" and s.lr is not None), None)
    if steepest is not None:
        picks.setdefault(steepest * 10, []).append("10 x steepest")
    result = copy.deepcopy(raw)
    runs = result["runs"]
    base = runs[index]
    taken = {str(r.get("name", "")) for r in runs if isinstance(r, dict)}
    for lr, rules in picks.items():
        one = with_lr({"runs": [base]}, 0, lr, reference_group, target)["runs"][0]
        one["name"] = _unique(f"{base.get('name', f'run {index + 1}')} @ {', '.join(rules)} {lr:.3g}", taken)
        taken.add(one["name"])
        runs.append(one)
    return result
