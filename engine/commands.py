"""Commands another thread (the GUI) sends a running session, checked before they are queued.

A command is validated twice: in the sender's thread when submitted, so the person gets
the error at once, and again in the training thread when applied (the run may have
stopped meanwhile), where a failure becomes a ``rejected`` event instead of an exception.
Validation is whole: each option by the registry, then the edit as a whole against the run
(:meth:`~engine.run.RunTrainer.check_edit`: torch's own checks of each edited group), so an
edit applies entirely or not at all, and is recorded only once it has applied.
Commands apply at the next step boundary *after* that step's manual decay and scheduled
edits, which is where their recorded ``{ step = t }`` edits apply on replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import MODULES, Edit, GroupConfig
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


def check_command(run, command: Command, pending_modules=()) -> Edit | None:
    """Raise :class:`ExperimentError` if ``command`` cannot apply to ``run`` (a RunTrainer) now;
    else return the edit it makes (``step`` 0: the run sets the step it applies at), with the
    options as checked, which is what a replay of the recorded edit applies (``None``: StopRun).

    ``pending_modules`` are modules that add-group commands already queued will take.
    """
    if run.status != RunStatus.RUNNING:
        raise ExperimentError("run", f"{show_value(run.name)} is not training any more ({run.status})")
    if isinstance(command, StopRun):
        return None
    if isinstance(command, SetGroupOptions):
        n = len(run.optimizer.param_groups)
        if command.group is not None and not 0 <= command.group < n:
            raise ExperimentError("group", f"expected a group index from 0 to {n - 1}, got {show_value(command.group)}")
        raw = {"step": 0, **command.options, **({"rebase": True} if command.rebase else {})}
        edit = parse_edit(raw, "edit", run.config.optimizer.type)
        edit = Edit(step=0, group=command.group, options=edit.options, rebase=edit.rebase)
        run.check_edit(edit)
        return edit
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
        options = check_options(command.group.options, spec, "add_group", skip=())
        edit = Edit(step=0, add_group=GroupConfig(module=module, options=options))
        run.check_edit(edit)
        return edit
    raise TypeError(f"not a command: {command!r}")
