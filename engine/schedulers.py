"""Building the real ``torch.optim.lr_scheduler`` of a run, and keeping it right as groups change.

Two things torch leaves to the caller are done here:

* **A group added mid-run** (``optimizer.add_param_group``, the article's fine-tuning
  recipe) has no ``initial_lr`` and no entry in the scheduler's per-group lists
  (``base_lrs``, ``lr_lambdas``, ``max_lrs``, ``min_lrs``, ...). In torch 2.13 the next
  ``scheduler.step()`` then fails (``zip(..., strict=True)``) or, in older versions, skips
  the group. :func:`adopt_new_group` extends every list so that the new group joins the
  schedule *with its own lr as its base lr*. What it then gets is what torch does with a
  group of that lr at that point, not a schedule replayed from the start: a closed-form
  scheduler (LambdaLR, CosineAnnealingLR, ...) computes its lr from that base at once;
  one that multiplies the current lr (StepLR, ExponentialLR) multiplies it from there on;
  ConstantLR and LinearLR, which divide by their factor at ``total_iters``, make it jump by
  ``1 / factor`` there, since it never had the factor applied. CyclicLR and OneCycleLR,
  which set lrs from their own bounds, give it the bounds of its entry in a per-group list
  (or the single value); a group beyond a list's end takes the list's first value.
* **An edit that should persist** under a closed-form scheduler (LambdaLR, OneCycleLR, ...)
  which would otherwise overwrite it at its next step: :func:`rebase_group` scales the
  group's base lrs by the edit's ratio, so the rest of the schedule continues from the
  edited value.

Which lists and keys each class has is not written here by class: the registry's traits say it
(``adopts_group``, :class:`~engine.registry.spec.GroupAdoption`; ``rebase``,
:class:`~engine.registry.spec.GroupRebase`), and this module applies them to the torch objects.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import lr_scheduler as ls

from .config import SchedulerConfig
from .expressions import compile_expression
from .fieldtypes import Expression, PerGroup
from .registry import scheduler_spec, spec_of
from .scheduling import option, scheduler_length, scheduler_steps

__all__ = ["build_scheduler", "adopt_new_group", "rebase_group", "rebase_targets", "per_group", "option",
           "scheduler_steps", "scheduler_length"]


def per_group(value, index: int):
    """The value of a per-group option for group ``index`` (see the module docstring)."""
    if isinstance(value, (list, tuple)):
        return value[index] if index < len(value) else value[0]
    return value


def _expression(spec_type, value):
    variable = (spec_type.item if isinstance(spec_type, PerGroup) else spec_type).variable
    if isinstance(value, list):
        return [compile_expression(v, variable) for v in value]
    return compile_expression(value, variable)


def _is_expression(spec_type) -> bool:
    return isinstance(spec_type, Expression) or (isinstance(spec_type, PerGroup)
                                                 and isinstance(spec_type.item, Expression))


def _kwargs(cfg: SchedulerConfig, n_groups: int, run_steps: int) -> dict[str, Any]:
    spec = scheduler_spec(cfg.type)
    kwargs = {}
    for name, value in cfg.options.items():
        param_type = spec.params[name].type
        if isinstance(param_type, PerGroup) and isinstance(value, list):
            value = value[:n_groups]  # entries beyond are for groups added later
        if _is_expression(param_type):
            value = _expression(param_type, value)
        kwargs[name] = value
    if spec.length_option is not None:  # one way to give torch the length: the length option
        kwargs[spec.length_option] = scheduler_length(cfg, run_steps)
        for name in spec.length_factors:
            kwargs.pop(name, None)
    return kwargs


def build_scheduler(cfg: SchedulerConfig, optimizer: torch.optim.Optimizer, run_steps: int) -> ls.LRScheduler:
    """The torch scheduler for ``cfg`` on ``optimizer``; ``run_steps`` is how often it will be stepped."""
    spec = scheduler_spec(cfg.type)
    kwargs = _kwargs(cfg, len(optimizer.param_groups), run_steps)
    if cfg.children:  # by keyword: SequentialLR takes the optimizer first, ChainedScheduler the schedulers
        kwargs["schedulers"] = [build_scheduler(c, optimizer, run_steps) for c in cfg.children]
    return spec.cls(optimizer=optimizer, **kwargs)


def _set_momentum(optimizer: torch.optim.Optimizer, group: dict, momentum: float) -> None:
    """Set ``group``'s momentum as CyclicLR and OneCycleLR do: beta1 where the optimizer has betas."""
    if spec_of(optimizer).momentum_key == "betas":
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _value(spec, cfg: SchedulerConfig, view: dict, source: str, i: int):
    """Where a new group's entry comes from (see GroupAdoption): option ``source``'s value for group
    ``i`` (compiled when it is an expression), else the group's key of that name (its initial lr)."""
    if source not in spec.params:
        return view[source]
    value = per_group(option(cfg, source), i)
    param_type = spec.params[source].type
    return _expression(param_type, value) if _is_expression(param_type) else value


def _adoption(s: ls.LRScheduler, cfg: SchedulerConfig, view: dict, i: int, plan: list) -> None:
    """Add to ``plan`` what ``s`` (its nested schedulers first) does to take on new group ``i``, as
    its registry trait says: ``("key", name, value)`` sets a key of the group, ``("append", list,
    value)`` extends a per-group list, ``("momentum", optimizer, value)`` sets the group's momentum
    (beta1), ``("last_lr", scheduler, None)`` renews the scheduler's last lrs. ``view`` is the group
    as the plan leaves it so far. Only reads: nothing changes until the whole plan is known."""
    for child, child_cfg in zip(getattr(s, "_schedulers", ()), cfg.children):
        _adoption(child, child_cfg, view, i, plan)
    spec = scheduler_spec(cfg.type)
    adopt = spec.adopts_group
    for key, source, divisor in adopt.group_keys:
        value = _value(spec, cfg, view, source, i)
        view[key] = value / option(cfg, divisor) if divisor is not None else value
        plan.append(("key", key, view[key]))
    for attribute, source in adopt.lists:
        plan.append(("append", getattr(s, attribute), _value(spec, cfg, view, source, i)))
    if adopt.cycles_momentum and s.cycle_momentum:
        for attribute, source in adopt.momentum_lists:
            plan.append(("append", getattr(s, attribute), _value(spec, cfg, view, source, i)))
        for key in ("base_momentum", "max_momentum"):  # torch's names in both constructors
            view[key] = per_group(option(cfg, key), i)
            plan.append(("key", key, view[key]))
        plan.append(("momentum", s.optimizer, view["max_momentum"]))
    plan.append(("last_lr", s, None))  # a fresh list: SequentialLR shares its active child's list object


def adopt_new_group(scheduler: ls.LRScheduler, cfg: SchedulerConfig, index: int) -> None:
    """Make ``scheduler`` take on ``param_groups[index]``, just added with ``add_param_group``, as
    its registry traits say (:class:`~engine.registry.spec.GroupAdoption`). Every value is
    computed first: if one cannot be, the scheduler and the group are left as they were."""
    group = scheduler.optimizer.param_groups[index]
    view = {"initial_lr": group["lr"], **group}
    plan: list = []
    _adoption(scheduler, cfg, view, index, plan)
    group.setdefault("initial_lr", group["lr"])
    for kind, target, value in plan:
        if kind == "key":
            group[target] = value
        elif kind == "append":
            target.append(value)
        elif kind == "momentum":
            _set_momentum(target, group, value)
        else:
            target._last_lr = [g["lr"] for g in target.optimizer.param_groups]


def _rebase_targets(s: ls.LRScheduler, cfg: SchedulerConfig, group: dict, i: int, targets: list) -> None:
    for child, child_cfg in zip(getattr(s, "_schedulers", ()), cfg.children):
        _rebase_targets(child, child_cfg, group, i, targets)
    rebase = scheduler_spec(cfg.type).rebase
    for key in rebase.group_keys:
        targets.append((group, key))
    for attribute in rebase.lists:
        targets.append((getattr(s, attribute), i))


def rebase_targets(scheduler: ls.LRScheduler, cfg: SchedulerConfig, index: int) -> list[tuple[Any, Any]]:
    """What rebasing group ``index`` scales, as ``(container, key)`` pairs, in order: the group's
    initial_lr, then what each scheduler's registry trait names (:class:`~engine.registry.spec.GroupRebase`),
    nested ones first. Raises (KeyError, IndexError, AttributeError) if one is missing; changes nothing."""
    group = scheduler.optimizer.param_groups[index]
    targets: list = [(group, "initial_lr")] if "initial_lr" in group else []
    _rebase_targets(scheduler, cfg, group, index, targets)
    for container, key in targets:
        container[key]  # noqa: B018 - each one is there, before any is scaled
    return targets


def rebase_group(scheduler: ls.LRScheduler, cfg: SchedulerConfig, index: int, ratio: float) -> None:
    """Scale group ``index``'s base lrs by ``ratio`` so closed-form schedules continue from an edit
    (:func:`rebase_targets`: all are found before any is scaled)."""
    for container, key in rebase_targets(scheduler, cfg, index):
        container[key] *= ratio
