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
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import lr_scheduler as ls

from .config import SchedulerConfig
from .expressions import compile_expression
from .fieldtypes import Expression, PerGroup
from .registry import scheduler_spec
from .scheduling import option, scheduler_length, scheduler_steps

__all__ = ["build_scheduler", "adopt_new_group", "rebase_group", "per_group", "option",
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
    if cfg.children:
        children = [build_scheduler(c, optimizer, run_steps) for c in cfg.children]
        if spec.cls is ls.ChainedScheduler:
            return ls.ChainedScheduler(children, optimizer=optimizer)
        return spec.cls(optimizer, schedulers=children, **_kwargs(cfg, len(optimizer.param_groups), run_steps))
    return spec.cls(optimizer, **_kwargs(cfg, len(optimizer.param_groups), run_steps))


def _set_momentum(optimizer, group: dict, momentum: float) -> None:
    if "betas" in optimizer.defaults:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _adopt(s: ls.LRScheduler, cfg: SchedulerConfig, group: dict, i: int) -> None:
    if cfg.children:
        for child, child_cfg in zip(s._schedulers, cfg.children):
            _adopt(child, child_cfg, group, i)
    elif isinstance(s, ls.ReduceLROnPlateau):
        s.min_lrs.append(per_group(option(cfg, "min_lr"), i))
    else:
        if isinstance(s, ls.CyclicLR):
            s.base_lrs.append(per_group(option(cfg, "base_lr"), i))
            s.max_lrs.append(per_group(option(cfg, "max_lr"), i))
        elif isinstance(s, ls.OneCycleLR):
            max_lr = per_group(option(cfg, "max_lr"), i)
            group["initial_lr"] = max_lr / option(cfg, "div_factor")
            group["max_lr"] = max_lr
            group["min_lr"] = group["initial_lr"] / option(cfg, "final_div_factor")
            s.base_lrs.append(group["initial_lr"])
        else:
            s.base_lrs.append(group["initial_lr"])
        if isinstance(s, (ls.CyclicLR, ls.OneCycleLR)) and s.cycle_momentum:
            base_m = per_group(option(cfg, "base_momentum"), i)
            max_m = per_group(option(cfg, "max_momentum"), i)
            if isinstance(s, ls.CyclicLR):
                s.base_momentums.append(base_m)
                s.max_momentums.append(max_m)
            group["base_momentum"], group["max_momentum"] = base_m, max_m
            _set_momentum(s.optimizer, group, max_m)
        if isinstance(s, (ls.LambdaLR, ls.MultiplicativeLR)):
            s.lr_lambdas.append(_expression(scheduler_spec(cfg.type).params["lr_lambda"].type,
                                            per_group(option(cfg, "lr_lambda"), i)))
    # A fresh list: SequentialLR shares its active child's list object.
    s._last_lr = [g["lr"] for g in s.optimizer.param_groups]


def adopt_new_group(scheduler: ls.LRScheduler, cfg: SchedulerConfig, index: int) -> None:
    """Make ``scheduler`` take on ``param_groups[index]``, just added with ``add_param_group``."""
    group = scheduler.optimizer.param_groups[index]
    group.setdefault("initial_lr", group["lr"])
    _adopt(scheduler, cfg, group, index)


def _rebase(s: ls.LRScheduler, cfg: SchedulerConfig, group: dict, i: int, ratio: float) -> None:
    if cfg.children:
        for child, child_cfg in zip(s._schedulers, cfg.children):
            _rebase(child, child_cfg, group, i, ratio)
    elif isinstance(s, ls.OneCycleLR):
        group["max_lr"] *= ratio
        group["min_lr"] *= ratio
    elif not isinstance(s, ls.ReduceLROnPlateau):
        s.base_lrs[i] *= ratio
        if isinstance(s, ls.CyclicLR):
            s.max_lrs[i] *= ratio


def rebase_group(scheduler: ls.LRScheduler, cfg: SchedulerConfig, index: int, ratio: float) -> None:
    """Scale group ``index``'s base lrs by ``ratio`` so closed-form schedules continue from an edit."""
    group = scheduler.optimizer.param_groups[index]
    if "initial_lr" in group:
        group["initial_lr"] *= ratio
    _rebase(scheduler, cfg, group, index, ratio)
