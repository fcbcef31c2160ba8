"""A run's scheduler as plain torch code: building it, a group joining it, an edit rebasing it.

What the engine does to the torch objects (:mod:`engine.schedulers`) is written out for the
scheduler at hand, with the values it would use: ``scheduler.base_lrs.append(...)`` where
:func:`~engine.schedulers.adopt_new_group` extends a list, ``scheduler.base_lrs[0] *= ratio``
where :func:`~engine.schedulers.rebase_group` scales one. Nested schedulers are named as
torch's documentation names them (``scheduler1``, ``scheduler2``, then the outer
``scheduler``), so each can be reached by its name.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from ..config import SchedulerConfig
from ..fieldtypes import Expression, PerGroup
from ..registry import scheduler_spec
from ..scheduling import option, scheduler_length
from .lambdas import python_lambda
from .text import call, literal

__all__ = ["SchedulerCode", "scheduler_code"]


def _per_group(value, index: int):
    """The value of a per-group option for group ``index`` (as engine.schedulers.per_group)."""
    if isinstance(value, (list, tuple)):
        return value[index] if index < len(value) else value[0]
    return value


def _expression_variable(param_type) -> str | None:
    item = param_type.item if isinstance(param_type, PerGroup) else param_type
    return item.variable if isinstance(item, Expression) else None


@dataclass
class SchedulerCode:
    """One scheduler of a run (the outer one, or one nested in it) and its name in the script."""

    cfg: SchedulerConfig
    name: str
    run_steps: int
    children: list["SchedulerCode"] = field(default_factory=list)

    @property
    def spec(self):
        return scheduler_spec(self.cfg.type)

    def walk(self):
        """The nested schedulers first, in the order torch builds them, then this one."""
        for child in self.children:
            yield from child.walk()
        yield self

    # -- building ---------------------------------------------------------------------------
    def _value(self, name: str, value, n_groups: int) -> str:
        param_type = self.spec.params[name].type
        if isinstance(param_type, PerGroup) and isinstance(value, list):
            value = value[:n_groups]  # entries beyond are for groups added later
        variable = _expression_variable(param_type)
        if variable is not None:
            if isinstance(value, list):
                return "[" + ", ".join(python_lambda(v, variable) for v in value) + "]"
            return python_lambda(value, variable)
        return literal(value)

    def build(self, n_groups: int) -> list[str]:
        """The lines that build this scheduler (its nested ones first), on ``optimizer``."""
        lines = [line for child in self.children for line in child.build(n_groups)]
        spec = self.spec
        kwargs = {name: self._value(name, value, n_groups) for name, value in self.cfg.options.items()}
        if spec.length_option is not None:  # the engine derives the length the experiment leaves out
            kwargs[spec.length_option] = literal(scheduler_length(self.cfg, self.run_steps))
            for name in spec.length_factors:
                kwargs.pop(name, None)
        if self.children:
            kwargs["schedulers"] = "[" + ", ".join(c.name for c in self.children) + "]"
        names = [p for p in inspect.signature(spec.cls.__init__).parameters if p != "self"]
        kwargs = dict(sorted(kwargs.items(), key=lambda kv: names.index(kv[0])))  # in torch's order
        first = names[0]
        if first == "optimizer":
            args = ["optimizer", *(f"{k}={v}" for k, v in kwargs.items())]
        else:  # ChainedScheduler(schedulers, optimizer=optimizer), as torch's docs write it
            args = [kwargs.pop(first), *(f"{k}={v}" for k, v in kwargs.items()), "optimizer=optimizer"]
        lines += call(f"{self.name} = lr_scheduler.{spec.name}", args)
        return lines

    # -- a group added mid-run ------------------------------------------------------------------
    def _source(self, source: str, index: int) -> str:
        """A new group's entry (GroupAdoption): option ``source``'s value for group ``index``, else
        the group's key of that name as the lines before left it (its initial lr)."""
        if source not in self.spec.params:
            return f"group[{source!r}]"
        return self._value(source, _per_group(option(self.cfg, source), index), index + 1)

    def adopt(self, index: int, momentum_key: str | None) -> list[str]:
        """What adopt_new_group does, as the registry's GroupAdoption trait says, for ``group``
        (param_groups[index], its initial_lr set to its lr): its nested schedulers first."""
        lines = [line for child in self.children for line in child.adopt(index, momentum_key)]
        s, cfg, adopt = self.name, self.cfg, self.spec.adopts_group
        for key, source, divisor in adopt.group_keys:
            value = self._source(source, index)
            lines.append(f"group[{key!r}] = {value}" + (f" / {literal(option(cfg, divisor))}" if divisor else ""))
        lines += [f"{s}.{attribute}.append({self._source(source, index)})" for attribute, source in adopt.lists]
        if adopt.cycles_momentum and option(cfg, "cycle_momentum"):
            lines += [f"{s}.{attribute}.append({self._source(source, index)})"
                      for attribute, source in adopt.momentum_lists]
            base, top = self._source("base_momentum", index), self._source("max_momentum", index)
            lines += [f"group['base_momentum'] = {base}", f"group['max_momentum'] = {top}",
                      f"group['betas'] = ({top}, *group['betas'][1:])" if momentum_key == "betas"
                      else f"group['momentum'] = {top}"]
        return lines

    # -- an lr edit with rebase -----------------------------------------------------------------
    def rebase(self, group: str, index: str) -> list[str]:
        """What rebase_group scales by ``ratio`` besides the group's initial_lr, as the registry's
        GroupRebase trait says, for ``group`` (param_groups[index]): its nested schedulers first.
        Nothing for a scheduler that only multiplies the current lr (ReduceLROnPlateau)."""
        lines = [line for child in self.children for line in child.rebase(group, index)]
        rebase = self.spec.rebase
        lines += [f"{group}[{key!r}] *= ratio" for key in rebase.group_keys]
        lines += [f"{self.name}.{attribute}[{index}] *= ratio" for attribute in rebase.lists]
        return lines

    @property
    def steps_with_metric(self) -> bool:
        return self.spec.steps_with_metric


def scheduler_code(cfg: SchedulerConfig, run_steps: int, name: str = "scheduler") -> SchedulerCode:
    """The code of ``cfg`` (stepped ``run_steps`` times in the run), named ``name``."""
    prefix = "scheduler" if name == "scheduler" else name + "_"
    children = [scheduler_code(c, run_steps, f"{prefix}{i + 1}") for i, c in enumerate(cfg.children)]
    return SchedulerCode(cfg, name, run_steps, children)
