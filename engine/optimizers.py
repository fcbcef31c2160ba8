"""Building the real ``torch.optim`` optimizer of a run, with its param groups."""

from __future__ import annotations

import torch
from torch import nn

from .config import GroupConfig, RunConfig
from .registry import optimizer_spec

__all__ = ["group_dict", "build_optimizer", "group_modules"]


def group_dict(model: nn.Module, group: GroupConfig) -> dict:
    """The ``{'params': ..., 'lr': ...}`` dict torch takes for one group."""
    return {"params": list(getattr(model, group.module).parameters()), **group.options}


def group_modules(run: RunConfig) -> list[str]:
    """Module name of each initial group (``"all"`` when the run lists no groups)."""
    return [g.module for g in run.groups] if run.groups else ["all"]


def build_optimizer(run: RunConfig, model: nn.Module) -> torch.optim.Optimizer:
    """``torch.optim.<type>(params, **options)``: all parameters, or the run's groups.

    Modules left out of ``groups`` are not passed to the optimizer at all, which is how
    the article trains only part of a model.
    """
    spec = optimizer_spec(run.optimizer.type)
    if run.groups:
        params = [group_dict(model, g) for g in run.groups]
    else:
        params = model.parameters()
    return spec.cls(params, **run.optimizer.options)
