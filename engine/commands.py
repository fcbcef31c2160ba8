"""Commands another thread (the GUI) sends a running session, checked before they are queued.

A command is validated twice: in the sender's thread when submitted, so the person gets
the error at once, and again in the training thread when applied (the run may have
stopped meanwhile), where a failure becomes a ``rejected`` event instead of an exception.
Commands apply at the next step boundary *after* that step's manual decay and scheduled
edits, which is where their recorded ``{ step = t }`` edits apply on replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import MODULES, GroupConfig
from .errors import ExperimentError, show_value
from .parse import check_options, parse_edit
from .registry import optimizer_spec
from .status import RunStatus

__all__ = ["Command", "SetGroupOptions", "AddGroup", "StopRun", "check_command"]


@dataclass(frozen=True)
class SetGroupOptions:
    """Set ``param_groups[group][key] = value`` for each option (``group=None``: every group)."""

    run: int
    group: int | None
    options: dict[str, Any] = field(default_factory=dict)
    rebase: bool = False


@dataclass(frozen=True)
class AddGroup:
    """``optimizer.add_param_group`` for a module not yet trained (the article's fine-tuning)."""

    run: int
    group: GroupConfig


@dataclass(frozen=True)
class StopRun:
    run: int


Command = SetGroupOptions | AddGroup | StopRun


def check_command(run, command: Command, pending_modules=()) -> None:
    """Raise :class:`ExperimentError` if ``command`` cannot apply to ``run`` (a RunTrainer) now.

    ``pending_modules`` are modules that add-group commands already queued will take.
    """
    if run.status != RunStatus.RUNNING:
        raise ExperimentError("run", f"{show_value(run.name)} is not training any more ({run.status})")
    if isinstance(command, StopRun):
        return
    if isinstance(command, SetGroupOptions):
        n = len(run.optimizer.param_groups)
        if command.group is not None and not 0 <= command.group < n:
            raise ExperimentError("group", f"expected a group index from 0 to {n - 1}, got {show_value(command.group)}")
        raw = {"step": 0, **command.options, **({"rebase": True} if command.rebase else {})}
        parse_edit(raw, "edit", run.config.optimizer.type)
        return
    if isinstance(command, AddGroup):
        spec = optimizer_spec(run.config.optimizer.type)
        module = command.group.module
        if module not in MODULES:
            raise ExperimentError("module", f"expected one of {', '.join(MODULES)}, got {show_value(module)}")
        if module in run.modules or "all" in run.modules or module in pending_modules:
            raise ExperimentError("module", f"{module} is already in a param group of {show_value(run.name)} "
                                            "(or about to be); a module can be in one group only")
        if spec.max_groups is not None and len(run.optimizer.param_groups) >= spec.max_groups:
            raise ExperimentError("add_group", f"{spec.name} takes a single param group")
        check_options(command.group.options, spec, "add_group", skip=())
        return
    raise TypeError(f"not a command: {command!r}")
