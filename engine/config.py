"""An experiment as the engine runs it: validated, typed, immutable.

Built only by :func:`engine.parse.parse_experiment` (from TOML or a GUI form), turned back
into a TOML-ready dict by :meth:`Experiment.to_dict`. Option dicts keep exactly the keys a
person set, so saving an experiment does not bury it under every default torch has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MODELS", "MODULES", "DataConfig", "GroupConfig", "OptimizerConfig", "SchedulerConfig",
           "ManualDecay", "Edit", "RunConfig", "Experiment"]

MODELS = ("article", "bottleneck")
MODULES = ("layer", "layer2")


@dataclass(frozen=True)
class DataConfig:
    samples: int = 1024
    batch_size: int = 32
    noise: float = 0.1
    val_fraction: float = 0.2

    @property
    def n_val(self) -> int:
        return int(round(self.samples * self.val_fraction))

    @property
    def n_train(self) -> int:
        return self.samples - self.n_val

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.batch_size)


@dataclass(frozen=True)
class GroupConfig:
    """One param group: a module of the model and its optimizer options (``lr``, ...)."""

    module: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"module": self.module, **self.options}


@dataclass(frozen=True)
class OptimizerConfig:
    type: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.options}


@dataclass(frozen=True)
class SchedulerConfig:
    """A scheduler: its torch options, when it steps, and (SequentialLR/ChainedScheduler) its children.

    ``step_order`` is ``"optimizer_first"`` (torch's order) or ``"scheduler_first"``: the common
    mistake of calling ``scheduler.step()`` before the optimizer steps it should follow.
    """

    type: str
    options: dict[str, Any] = field(default_factory=dict)
    interval: str = "epoch"
    monitor: str | None = None
    children: tuple["SchedulerConfig", ...] = ()
    step_order: str = "optimizer_first"

    @property
    def scheduler_first(self) -> bool:
        return self.step_order == "scheduler_first"

    def to_dict(self, nested: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, **self.options}
        if self.children:
            out["schedulers"] = [c.to_dict(nested=True) for c in self.children]
        if not nested:
            out["interval"] = self.interval
            if self.monitor is not None:
                out["monitor"] = self.monitor
            if self.scheduler_first:  # (the default is left out: files and states saved before it stay equal)
                out["step_order"] = self.step_order
        return out

    def walk(self):
        """This scheduler and every nested one, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class ManualDecay:
    """The article's loop: at the start of epochs start, start+every, ... multiply every lr by factor."""

    every: int
    factor: float
    start: int

    def fires_at(self, epoch: int) -> bool:
        return epoch >= self.start and (epoch - self.start) % self.every == 0

    def to_dict(self) -> dict[str, Any]:
        return {"every": self.every, "factor": self.factor, "start": self.start}


@dataclass(frozen=True)
class Edit:
    """A change to ``param_groups`` before the first optimizer step of an epoch (or of a step).

    Either sets options (``lr``, ``momentum``, ...) of one group (or all when ``group`` is
    None), or adds a param group (``add_group``), as a person editing mid-run would.
    ``rebase`` also scales the scheduler's base lrs by the same ratio, so that closed-form
    schedulers (LambdaLR, OneCycleLR, ...) continue from the edited value.
    """

    epoch: int | None = None
    step: int | None = None
    group: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    add_group: GroupConfig | None = None
    rebase: bool = False

    def at_step(self, steps_per_epoch: int) -> int:
        """The global optimizer step before which this edit applies."""
        return self.step if self.step is not None else self.epoch * steps_per_epoch

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"epoch": self.epoch} if self.epoch is not None else {"step": self.step}
        if self.group is not None:
            out["group"] = self.group
        out.update(self.options)
        if self.add_group is not None:
            out["add_group"] = self.add_group.to_dict()
        if self.rebase:
            out["rebase"] = True
        return out


@dataclass(frozen=True)
class RunConfig:
    name: str
    optimizer: OptimizerConfig
    groups: tuple[GroupConfig, ...] | None = None
    scheduler: SchedulerConfig | None = None
    manual: ManualDecay | None = None
    edits: tuple[Edit, ...] = ()

    def ordered_edits(self, steps_per_epoch: int) -> list[Edit]:
        """Edits in the order the engine applies them: by step; at one step, epoch edits first."""
        indexed = sorted(enumerate(self.edits),
                         key=lambda ie: (ie[1].at_step(steps_per_epoch), ie[1].step is not None, ie[0]))
        return [edit for _, edit in indexed]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "optimizer": self.optimizer.to_dict()}
        if self.groups is not None:
            out["groups"] = [g.to_dict() for g in self.groups]
        if self.scheduler is not None:
            out["scheduler"] = self.scheduler.to_dict()
        if self.manual is not None:
            out["manual"] = self.manual.to_dict()
        if self.edits:
            out["edits"] = [e.to_dict() for e in self.edits]
        return out


@dataclass(frozen=True)
class Experiment:
    runs: tuple[RunConfig, ...]
    seed: int = 0
    epochs: int = 100
    model: str = "article"
    data: DataConfig = DataConfig()
    description: str = ""
    title: str = ""

    @property
    def steps_per_epoch(self) -> int:
        return self.data.steps_per_epoch

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.title:
            out["title"] = self.title
        if self.description:
            out["description"] = self.description
        out.update(seed=self.seed, epochs=self.epochs, model=self.model)
        out["data"] = {"samples": self.data.samples, "batch_size": self.data.batch_size,
                       "noise": self.data.noise, "val_fraction": self.data.val_fraction}
        out["runs"] = [r.to_dict() for r in self.runs]
        return out
