"""One registry of every optimizer and scheduler of the installed torch.

Validation, the CLI, presets and the GUI's forms all read it, so a parameter is described
once: its type and range, its default, and torch's own words for it.

>>> from engine.registry import SCHEDULERS
>>> SCHEDULERS["StepLR"].params["gamma"].describe()
'a number > 0 (default 0.1)'
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch.optim
import torch.optim.lr_scheduler as lr_scheduler

from ..errors import ExperimentError, show_value
from ..fieldtypes import Choice
from . import overrides
from .signatures import build_class_spec
from .spec import (
    CHAINED,
    GROUP_OPTION_KINDS,
    INITIAL_LR,
    REQUIRED,
    SEQUENTIAL,
    ClassSpec,
    GroupAdoption,
    GroupRebase,
    ParamSpec,
)

__all__ = ["OPTIMIZERS", "SCHEDULERS", "ClassSpec", "ParamSpec", "REQUIRED", "optimizer_spec",
           "scheduler_spec", "spec_of", "torch_optimizer_classes", "torch_scheduler_classes",
           "SEQUENTIAL", "CHAINED", "GROUP_OPTION_KINDS", "HIDDEN_GROUP_KEYS"]

# param_groups keys that are switches of torch's implementation, not part of the lesson: the
# window's live param_groups (engine.snapshot) leaves them out
HIDDEN_GROUP_KEYS: frozenset[str] = frozenset(overrides.GROUP_SWITCHES)


def torch_optimizer_classes() -> dict[str, type]:
    """Every public optimizer class of the installed ``torch.optim``."""
    return {name: obj for name, obj in vars(torch.optim).items()
            if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)
            and obj is not torch.optim.Optimizer and not name.startswith("_")}


def torch_scheduler_classes() -> dict[str, type]:
    """Every public scheduler of the installed ``torch.optim.lr_scheduler`` (its ``__all__``)."""
    base = lr_scheduler.LRScheduler
    return {name: getattr(lr_scheduler, name) for name in lr_scheduler.__all__
            if inspect.isclass(getattr(lr_scheduler, name)) and getattr(lr_scheduler, name) is not base
            and issubclass(getattr(lr_scheduler, name), base)}


def _momentum_key(names) -> str | None:
    """The key a scheduler cycles as momentum (CyclicLR's and OneCycleLR's use_beta1 rule)."""
    return "betas" if "betas" in names else "momentum" if "momentum" in names else None


def _needs_closure(cls: type) -> bool:
    """Whether ``cls.step`` takes a closure without a default (LBFGS's step(closure))."""
    closure = inspect.signature(cls.step).parameters.get("closure")
    return closure is not None and closure.default is inspect.Parameter.empty


def _build_optimizers() -> dict[str, ClassSpec]:
    specs = {}
    for name, cls in sorted(torch_optimizer_classes().items()):
        table = overrides.OPTIMIZERS.get(name, {})
        names = set(inspect.signature(cls.__init__).parameters)
        common = {k: v for k, v in overrides.OPTIMIZER_COMMON.items() if k in names}
        specs[name] = build_class_spec(cls, bound=overrides.OPTIMIZER_BOUND,
                                       overrides={**common, **table.get("params", {})},
                                       unsupported=table.get("unsupported"),
                                       max_groups=table.get("max_groups"),
                                       lr_note=table.get("lr_note", ""),
                                       lr_note_if=table.get("lr_note_if"),
                                       momentum_key=_momentum_key(names),
                                       needs_closure=_needs_closure(cls),
                                       summary=table.get("summary"))
    return specs


@dataclass(frozen=True)
class IntervalChoice(Choice):
    """``interval`` (and ``step_order``): the values a class offers, and the reason for each one it refuses."""

    refused: tuple[tuple[str, str], ...] = ()

    def check(self, value, path: str):
        for name, reason in self.refused:
            if value == name:
                raise ExperimentError(path, reason)
        return super().check(value, path)


def _engine_params(name: str, cls: type, table: dict) -> dict[str, ParamSpec]:
    if table.get("monitor"):
        # ReduceLROnPlateau is stepped with an epoch's loss, so it only runs per epoch.
        refused = tuple((interval, (f"{name} is stepped with an epoch's loss (scheduler.step(metrics)) at the "
                                    f'end of each epoch, so "{interval}" is not available; use "epoch"'))
                        for interval in ("step", "fractional"))
        intervals = ("epoch",)
    elif table.get("fractional"):
        intervals, refused = (*overrides.INTERVALS, "fractional"), ()
    else:
        detail = ("passing one is deprecated" if "epoch" in inspect.signature(cls.step).parameters
                  else "it takes no argument")
        intervals, refused = overrides.INTERVALS, (("fractional", (
            f'{name}.step() takes no epoch ({detail}), so "fractional" is not available: it calls '
            "scheduler.step(epoch + i / steps_per_epoch) after batch i, the per-batch idiom torch documents "
            'for CosineAnnealingWarmRestarts; use "epoch" or "step"')),)
    doc = 'when the engine calls scheduler.step(): after every "epoch" or after every optimizer "step"'
    if "fractional" in intervals:
        doc = ('when the engine calls scheduler.step(): after every "epoch", after every optimizer "step", '
               'or "fractional": scheduler.step(epoch + i / steps_per_epoch) after batch i of each epoch, '
               "torch's documented per-batch idiom (the lr of batch i + 1 is the schedule's at "
               "epoch + i / steps_per_epoch: one batch behind)")
    params = {"interval": ParamSpec(
        "interval", IntervalChoice(intervals, refused), table.get("interval", "epoch"), doc, engine=True)}
    params["step_order"] = _step_order(name, table)
    if table.get("monitor"):
        params["monitor"] = ParamSpec(
            "monitor", Choice(overrides.MONITORS), "val_loss",
            "the loss passed to scheduler.step(metrics) at the end of each epoch", engine=True)
    return params


def _step_order(name: str, table: dict) -> ParamSpec:
    """``step_order``: scheduler.step() after optimizer.step() (torch's order) or before it (the mistake)."""
    orders, refused = overrides.STEP_ORDERS, ()
    if table.get("monitor"):
        orders, refused = orders[:1], (("scheduler_first", (
            f"{name} is stepped with the loss of an epoch (scheduler.step(metrics)), which exists only after "
            "that epoch's optimizer steps, so \"scheduler_first\" is not available (there is no first value for "
            'torch to skip, and it does not warn); use "optimizer_first"')),)
    doc = ('the order of the two calls: "optimizer_first", torch\'s documented order (optimizer.step(), then '
           'scheduler.step()), or "scheduler_first", the common mistake: scheduler.step() before the optimizer '
           "steps it should follow (at the top of each epoch, or of each batch with interval \"step\"). torch "
           "then warns, and the schedule's first lr is never used")
    return ParamSpec("step_order", IntervalChoice(orders, refused), orders[0], doc, engine=True)


def _build_schedulers() -> dict[str, ClassSpec]:
    specs = {}
    for name, cls in sorted(torch_scheduler_classes().items()):
        table = overrides.SCHEDULERS.get(name, {})
        specs[name] = build_class_spec(cls, bound=overrides.SCHEDULER_BOUND,
                                       overrides=table.get("params", {}),
                                       engine_params=_engine_params(name, cls, table),
                                       default_interval=table.get("interval", "epoch"),
                                       steps_with_epoch=bool(table.get("fractional")),
                                       lr_edit_effect=table.get("effect", ""),
                                       length_option=table.get("length"),
                                       length_factors=tuple(table.get("length_factors", ())),
                                       steps_with_metric=bool(table.get("monitor")),
                                       expression_calls=dict(table.get("calls", {})),
                                       children_step=table.get("children"),
                                       adopts_group=GroupAdoption(**table.get("adopt", {})),
                                       rebase=GroupRebase(**table.get("rebase", {})),
                                       summary=table.get("summary"))
    return specs


def _check_traits(spec: ClassSpec) -> None:
    """The options a scheduler's adopt and rebase traits name are real parameters (an override
    must never silently stop applying)."""
    adopt = spec.adopts_group
    named = [*(s for _, s, _ in adopt.group_keys if s not in {k for k, _, _ in adopt.group_keys}),
             *(d for _, _, d in adopt.group_keys if d is not None),
             *(s for _, s in (*adopt.lists, *adopt.momentum_lists) if s != INITIAL_LR)]
    if adopt.cycles_momentum:
        named += ["cycle_momentum", "base_momentum", "max_momentum"]
    unknown = sorted(set(named) - set(spec.params))
    if unknown:
        raise ValueError(f"{spec.name}'s adopt trait names unknown option(s) {unknown}")


OPTIMIZERS: dict[str, ClassSpec] = _build_optimizers()
SCHEDULERS: dict[str, ClassSpec] = _build_schedulers()
for _spec in SCHEDULERS.values():
    _check_traits(_spec)


def _lookup(table: dict[str, ClassSpec], kind: str, name, path: str) -> ClassSpec:
    if isinstance(name, str) and name in table:
        return table[name]
    import difflib

    hint = ""
    if isinstance(name, str):
        close = difflib.get_close_matches(name, table, n=1, cutoff=0.6) or [
            n for n in table if n.lower() == name.lower()]
        hint = f" (did you mean {show_value(close[0])}?)" if close else ""
    raise ExperimentError(path, f"unknown {kind} {show_value(name)}{hint}; available: {', '.join(table)}")


def spec_of(obj) -> ClassSpec:
    """The spec of a torch optimizer or scheduler object's class."""
    cls = type(obj)
    table = OPTIMIZERS if isinstance(obj, torch.optim.Optimizer) else SCHEDULERS
    spec = table.get(cls.__name__)
    if spec is None or spec.cls is not cls:
        raise KeyError(f"{cls.__module__}.{cls.__qualname__} is not in the registry")
    return spec


def optimizer_spec(name, path: str = "optimizer.type") -> ClassSpec:
    """The spec of optimizer ``name``; an :class:`ExperimentError` naming ``path`` otherwise."""
    spec = _lookup(OPTIMIZERS, "optimizer", name, path)
    if spec.unsupported:
        raise ExperimentError(path, f"{spec.name} cannot train this model: {spec.unsupported}")
    return spec


def scheduler_spec(name, path: str = "scheduler.type") -> ClassSpec:
    """The spec of scheduler ``name``; an :class:`ExperimentError` naming ``path`` otherwise."""
    return _lookup(SCHEDULERS, "scheduler", name, path)
