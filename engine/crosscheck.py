"""Checks that need the whole experiment, after every field was checked on its own."""

from __future__ import annotations

from .config import MODULES, Experiment, RunConfig, SchedulerConfig
from .errors import ExperimentError, join_path, show_value
from .expressions import ExpressionFailure, compile_expression
from .fieldtypes import Expression, PerGroup
from .registry import SEQUENTIAL, optimizer_spec, scheduler_spec
from .scheduling import option, scheduler_length, scheduler_steps

__all__ = ["check_experiment", "sweep_expressions", "MAX_EXPRESSION_CHECKS", "QUICK_EXPRESSION_CHECKS"]

# Expressions are evaluated at every value torch will pass them, up to this many.
MAX_EXPRESSION_CHECKS = 200_000
# While a person types, at most this many per expression (the first ones and a spread to the last;
# well under a millisecond each):
# 20 per-step LambdaLRs over 10,000 epochs would take 18 s at every keystroke. The full sweep
# runs in the engine's process (:func:`sweep_expressions`) before anything trains.
QUICK_EXPRESSION_CHECKS = 20
SWEEP_SLICE = 5_000  # evaluations between two yields of the full sweep


def check_experiment(experiment: Experiment, *, quick: bool = False) -> None:
    """Raise :class:`ExperimentError` for what the fields alone cannot show; ``quick`` evaluates
    expressions at a sample of the values torch will pass (see QUICK_EXPRESSION_CHECKS)."""
    for _ in _evaluate(_structure(experiment), quick):
        pass


def sweep_expressions(experiment: Experiment):
    """The full check of every expression, a slice at a time: a generator that yields between
    slices (the engine's loop does other work or abandons it there) and raises
    :class:`ExperimentError` at the first value an expression fails at."""
    yield from _evaluate(_structure(experiment), quick=False)


def _structure(experiment: Experiment) -> list:
    """Check everything but the expressions' values; return the expressions to evaluate."""
    sweeps: list = []
    for i, run in enumerate(experiment.runs):
        _check_run(experiment, run, join_path("runs", i), sweeps)
    return sweeps


def _sample(values: range) -> list:
    half = QUICK_EXPRESSION_CHECKS // 2
    rest = len(values) - half
    return [*values[:half], *(values[half + (rest - 1) * k // (half - 1)] for k in range(half))]


def _evaluate(sweeps: list, quick: bool):
    for field_path, function, variable, values in sweeps:
        values = values[:MAX_EXPRESSION_CHECKS]
        if not values:  # torch never calls it (a MultiplicativeLR whose milestone the run never reaches)
            continue
        tried = _sample(values) if quick and len(values) > QUICK_EXPRESSION_CHECKS else values
        for start in range(0, len(tried), SWEEP_SLICE):
            for x in tried[start:start + SWEEP_SLICE]:
                try:
                    function(x)
                except ExpressionFailure as failure:
                    raise ExperimentError(field_path, f"{failure} (torch calls it with {variable} = "
                                          f"{values[0]} to {values[-1]} in this run)") from None
            yield


def _check_run(experiment: Experiment, run: RunConfig, path: str, sweeps: list) -> None:
    spe = experiment.steps_per_epoch
    n_initial = len(run.groups) if run.groups else 1
    optimizer = optimizer_spec(run.optimizer.type)
    one_group = (f"{optimizer.name} takes a single param group (torch: \"doesn't support per-parameter "
                 "options\"); train the whole model or one module with it")
    if run.groups:
        first: dict[str, int] = {}
        for i, group in enumerate(run.groups):
            if group.module in first:
                raise ExperimentError(join_path(join_path(join_path(path, "groups"), i), "module"),
                                      f"{show_value(group.module)} is already in groups[{first[group.module]}]; "
                                      "a module can be in one group only")
            first[group.module] = i
        if optimizer.max_groups is not None and len(run.groups) > optimizer.max_groups:
            raise ExperimentError(join_path(path, "groups"), one_group)
    in_use = {g.module for g in run.groups} if run.groups else set(MODULES)
    n_groups = n_initial
    order = {id(e): i for i, e in enumerate(run.edits)}
    for edit in run.ordered_edits(spe):
        edit_path = join_path(join_path(path, "edits"), order[id(edit)])
        when = f"epoch {edit.epoch}" if edit.epoch is not None else f"step {edit.step}"
        if edit.epoch is not None and edit.epoch >= experiment.epochs:
            raise ExperimentError(join_path(edit_path, "epoch"), f"expected a whole number >= 0 and < "
                                  f"{experiment.epochs} (epochs), got {edit.epoch}")
        if edit.step is not None and edit.step >= experiment.total_steps:
            raise ExperimentError(join_path(edit_path, "step"), f"expected a whole number >= 0 and < "
                                  f"{experiment.total_steps} ({experiment.epochs} epochs x {spe} steps), "
                                  f"got {edit.step}")
        if edit.group is not None and edit.group >= n_groups:
            raise ExperimentError(join_path(edit_path, "group"),
                                  f"expected a group index from 0 to {n_groups - 1} (the run has {n_groups} "
                                  f"param group{'s' if n_groups > 1 else ''} at {when}), got {edit.group}")
        if edit.add_group is not None:
            if optimizer.max_groups is not None and n_groups >= optimizer.max_groups:
                raise ExperimentError(join_path(edit_path, "add_group"), one_group)
            module = edit.add_group.module
            if module in in_use:
                why = ("every module is already in the run's single param group (it lists no groups); "
                       "list groups to train only part of the model first") if not run.groups else \
                      f"{module} is already in a param group at {when}; a module can be in one group only"
                raise ExperimentError(join_path(join_path(edit_path, "add_group"), "module"), why)
            in_use.add(module)
            n_groups += 1
    if run.scheduler is not None:
        run_steps = scheduler_steps(run.scheduler, experiment.epochs, experiment.steps_per_epoch)
        _check_scheduler(experiment, run, run.scheduler, join_path(path, "scheduler"), n_initial, n_groups,
                         sweeps, steps=run_steps, top=True, restarted=False)


def _child_steps(cfg: SchedulerConfig, steps: int, restarted: bool) -> list[tuple[int, bool]]:
    """How far each scheduler nested in ``cfg`` counts (its ``last_epoch`` goes from 0 to that) when
    ``cfg`` counts to ``steps``, and whether torch also steps it at 0 outside its initial step
    (``restarted``: expressions that the initial step skips see 0 then, see
    :meth:`~engine.registry.ClassSpec.expression_values`).

    ChainedScheduler steps every one of them each time (restarted as it is); SequentialLR steps
    only the active one, and restarts it at 0 at its milestone (``_update_lr(0)``), so scheduler i
    counts from milestone i-1 to the step before milestone i (or to the end); one whose milestone
    the run never reaches only computes its first lr (at 0), when it is built. SequentialLR's first
    scheduler gets an initial step again, which steps the ones nested in it at 0 (a nested
    ChainedScheduler steps its own schedulers, not in their initial step). Anything subtler in
    nestings of nestings the stepped schedule before training catches (:mod:`engine.trial`)."""
    if scheduler_spec(cfg.type).children_step != SEQUENTIAL:  # the registry's trait (SequentialLR's)
        return [(steps, restarted) for _ in cfg.children]
    bounds = [0, *option(cfg, "milestones"), steps + 1]
    return [(max(0, min(end - 1, steps) - start),
             (restarted or bool(child.children)) if i == 0 else start <= steps)
            for i, (child, start, end) in enumerate(zip(cfg.children, bounds, bounds[1:]))]


def _check_scheduler(experiment: Experiment, run: RunConfig, cfg: SchedulerConfig, path: str,
                     n_initial: int, n_groups: int, sweeps: list, *, steps: int, top: bool,
                     restarted: bool) -> None:
    """``steps``: how far this scheduler counts in the run (the top one: every scheduler step);
    ``restarted``: see :func:`_child_steps`."""
    spec = scheduler_spec(cfg.type)
    run_steps = scheduler_steps(run.scheduler, experiment.epochs, experiment.steps_per_epoch)
    for name, value in cfg.options.items():
        if isinstance(spec.params[name].type, PerGroup) and isinstance(value, list) \
                and not n_initial <= len(value) <= n_groups:
            wanted = (f"{n_initial}" if n_initial == n_groups
                      else f"{n_initial} to {n_groups} (counting the groups add_group edits add)")
            noun = "value" if wanted == "1" else "values"
            raise ExperimentError(join_path(path, name), f"expected {wanted} {noun}, one per param group, "
                                  f"got {len(value)}")
    if cfg.monitor == "val_loss" and experiment.data.n_val == 0:
        raise ExperimentError(join_path(path, "monitor"), 'needs a validation set (data.val_fraction > 0); '
                              'use "train_loss" or keep some data for validation')
    if "cycle_momentum" in spec.params and option(cfg, "cycle_momentum"):
        optimizer = optimizer_spec(run.optimizer.type)
        if optimizer.momentum_key is None:
            raise ExperimentError(join_path(path, "cycle_momentum"),
                                  f"{optimizer.name} has neither momentum nor betas to cycle; "
                                  "set cycle_momentum = false")
    length = spec.length_option  # the registry's length trait (OneCycleLR's total_steps)
    if length is not None:
        factors = spec.length_factors
        given = [k for k in factors if cfg.options.get(k) is not None]
        if cfg.options.get(length) is None and 0 < len(given) < len(factors):
            raise ExperimentError(join_path(path, given[0]), f"give {length}, or both {' and '.join(factors)}, "
                                  f"or none of them (then the {cfg.type} spans the whole run)")
        total = scheduler_length(cfg, run_steps)
        if total < steps:
            field = length if cfg.options.get(length) is not None else factors[0]
            how = "" if field == length else f" ({' x '.join(factors)})"
            if top:
                where = (f"in this run ({experiment.epochs} epochs"
                         + (f" x {experiment.steps_per_epoch} steps, interval = \"step\")" if cfg.interval == "step"
                            else ", interval = \"epoch\")"))
            else:
                where = "where it is nested (the scheduler steps it is active for)"
            raise ExperimentError(join_path(path, field), (
                f"{cfg.type} is stepped {steps} times {where} but its {length} is {total}{how}, and torch "
                f"refuses to step past it; leave {length} out to fit it to the run"))
    _check_expressions(cfg, path, spec, steps, restarted, sweeps)
    for i, (child, (child_steps, child_restarted)) in enumerate(zip(cfg.children, _child_steps(cfg, steps, restarted))):
        if i > 0 and child.children and spec.children_step == SEQUENTIAL and child_restarted:
            raise ExperimentError(join_path(join_path(join_path(path, "schedulers"), i), "type"), (
                f"torch cannot restart {child.type} at milestone {option(cfg, 'milestones')[i - 1]}: SequentialLR "
                f"restarts the scheduler there with _update_lr(0), which {child.type} does not implement "
                "(NotImplementedError); put it first in the SequentialLR, or the SequentialLR inside it"))
        _check_scheduler(experiment, run, child, join_path(join_path(path, "schedulers"), i),
                         n_initial, n_groups, sweeps, steps=child_steps, top=False, restarted=child_restarted)


def _check_expressions(cfg: SchedulerConfig, path: str, spec, steps: int, restarted: bool, sweeps: list) -> None:
    """Compile the expressions and note the values torch will pass them (evaluated by :func:`_evaluate`),
    so a failure is caught before training; ``steps``, ``restarted``: how far the scheduler counts
    (see _child_steps). Which values a class's expressions see is the registry's
    (:meth:`~engine.registry.ClassSpec.expression_values`: MultiplicativeLR's from epoch 1, ...)."""
    for name, value in cfg.options.items():
        param_type = spec.params[name].type
        item = param_type.item if isinstance(param_type, PerGroup) else param_type
        if not isinstance(item, Expression):
            continue
        values = spec.expression_values(name, cfg.options, steps, restarted)
        texts = value if isinstance(value, list) else [value]
        for i, text in enumerate(texts):
            field_path = join_path(path, name) if not isinstance(value, list) else join_path(join_path(path, name), i)
            function = compile_expression(text, item.variable, field_path)
            sweeps.append((field_path, function, item.variable, values))
