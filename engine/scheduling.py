"""What a scheduler's settings mean for a run, without torch: an option's value (as set, or
torch's default), how many times the engine steps it, and the length the engine derives for a
scheduler with a length trait. Validation (:mod:`engine.crosscheck`) and training
(:mod:`engine.schedulers`, :mod:`engine.run`) both ask here, so validation needs no training code.
"""

from __future__ import annotations

from typing import Any

from .config import SchedulerConfig
from .registry import scheduler_spec

__all__ = ["option", "scheduler_steps", "scheduler_length"]


def option(cfg: SchedulerConfig, name: str) -> Any:
    """An option as set, or torch's default."""
    if name in cfg.options:
        return cfg.options[name]
    return scheduler_spec(cfg.type).params[name].default


def scheduler_steps(cfg: SchedulerConfig, epochs: int, steps_per_epoch: int) -> int:
    """How many times the engine calls ``scheduler.step()`` in a whole run."""
    return epochs * steps_per_epoch if cfg.interval in ("step", "fractional") else epochs


def scheduler_length(cfg: SchedulerConfig, run_steps: int) -> int | None:
    """The length of a scheduler with the registry's length trait (``length_option``, e.g.
    OneCycleLR's total_steps): as given, else the product of its ``length_factors`` when all are
    given (epochs x steps_per_epoch), else ``run_steps``, the steps it is stepped in the run.
    ``None`` for a scheduler without the trait."""
    spec = scheduler_spec(cfg.type)
    if spec.length_option is None:
        return None
    if cfg.options.get(spec.length_option) is not None:
        return cfg.options[spec.length_option]
    factors = [cfg.options.get(name) for name in spec.length_factors]
    if factors and all(f is not None for f in factors):
        product = 1
        for f in factors:
            product *= f
        return product
    return run_steps
