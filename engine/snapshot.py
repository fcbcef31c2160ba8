"""What a running session publishes at a step boundary: immutable, plain-data snapshots.

The window never touches live torch objects (they belong to the engine's process, or thread,
and change under any reader). At a step boundary the trainer copies what a person watches —
each param group's options, the scheduler's counters and lrs, ReduceLROnPlateau's patience
state, the run's status and the edits it recorded — into a :class:`RunSnapshot` of plain
Python values, which crosses a process pipe as it is and never changes afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .registry import HIDDEN_GROUP_KEYS  # switches of torch's implementation, not part of the lesson
from .status import RunStatus

__all__ = ["RunSnapshot", "SessionSnapshot", "run_snapshot", "plain", "HIDDEN_GROUP_KEYS"]


def plain(value: Any) -> Any:
    """``value`` as plain Python data (tensors become numbers or lists; anything else its text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if hasattr(value, "tolist"):  # a tensor or a numpy value
        return plain(value.tolist())
    return str(value)


@dataclass(frozen=True)
class RunSnapshot:
    """One run at a step boundary (see the module docstring)."""

    name: str
    status: RunStatus
    optimizer: str                       # torch class name
    modules: tuple[str, ...]             # the model part of each param group
    groups: tuple[dict, ...]             # each group's options (plain values), without params
    scheduler: str | None = None         # torch class name
    last_epoch: int | None = None
    base_lrs: tuple | None = None
    last_lr: tuple | None = None
    plateau: dict | None = None          # ReduceLROnPlateau: best, num_bad_epochs, cooldown_counter
    recorded_edits: tuple[dict, ...] = ()
    events: int = 0                      # events recorded so far

    @property
    def training(self) -> bool:
        return self.status == RunStatus.RUNNING


@dataclass(frozen=True)
class SessionSnapshot:
    """The whole session at a step boundary: where it is and every run's snapshot."""

    position: int
    total_steps: int
    steps_per_epoch: int
    epochs: int
    runs: tuple[RunSnapshot, ...] = field(default_factory=tuple)
    pending_commands: int = 0

    @property
    def epoch(self) -> int:
        return self.position // self.steps_per_epoch

    @property
    def finished(self) -> bool:
        return self.position >= self.total_steps or not any(r.training for r in self.runs)


def run_snapshot(run) -> RunSnapshot:
    """Copy what a person sees of ``run`` (a RunTrainer); call it only between steps."""
    groups = tuple({k: plain(v) for k, v in g.items() if k not in HIDDEN_GROUP_KEYS}
                   for g in run.optimizer.param_groups)
    s = run.scheduler
    kwargs: dict[str, Any] = {}
    if s is not None:
        kwargs["scheduler"] = type(s).__name__
        kwargs["last_epoch"] = getattr(s, "last_epoch", None)
        if hasattr(s, "base_lrs"):
            kwargs["base_lrs"] = plain(list(s.base_lrs))
        last = getattr(s, "_last_lr", None)
        if last is not None:
            kwargs["last_lr"] = plain(list(last))
        if hasattr(s, "num_bad_epochs"):
            kwargs["plateau"] = {"best": plain(s.best), "num_bad_epochs": s.num_bad_epochs,
                                 "cooldown_counter": s.cooldown_counter}
    return RunSnapshot(name=run.name, status=run.status, optimizer=type(run.optimizer).__name__,
                       modules=tuple(run.modules), groups=groups,
                       recorded_edits=tuple(e.to_dict() for e in run.recorded_edits),
                       events=len(run.recorder.events), **kwargs)
