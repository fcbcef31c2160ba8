"""What the registry knows about one torch class and each of its parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..fieldtypes import FieldType

__all__ = ["REQUIRED", "ParamSpec", "ClassSpec", "EVERY_COUNT", "AFTER_INITIAL", "CYCLE_OR_COUNT"]

# What torch passes a scheduler's expression option (``ClassSpec.expression_calls``) while the
# scheduler counts (its ``last_epoch``) from 0, when it is built, to its last step ``n``:
# 0 to n: the initial step at construction calls it too (LambdaLR's lr_lambda)
EVERY_COUNT = "every_count"
# 1 to n: the initial step keeps the lrs without calling it (MultiplicativeLR's get_lr while
# _is_initial); 0 too when a SequentialLR restarts the scheduler at its milestone (_update_lr(0))
AFTER_INITIAL = "after_initial"
# CyclicLR's scale_fn, by scale_mode: "cycle", the cycle number floor(1 + count / (step_size_up +
# step_size_down)) from 1; "iterations", the count itself, 0 to n
CYCLE_OR_COUNT = "cycle_or_count"


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class ParamSpec:
    """One constructor parameter (or engine field such as ``interval``) and how to check it.

    ``default`` is torch's own default (``REQUIRED`` when torch has none, ``None`` when it
    is optional); ``doc`` comes from torch's docstring so that help and tooltips say exactly
    what the class documents. ``engine`` marks fields the engine consumes itself instead of
    passing them to the constructor. ``trial_limit`` is the most the option is in the trial
    step before training (:mod:`engine.trial`), where a higher value only costs more time
    (LBFGS's iterations per step).
    """

    name: str
    type: FieldType
    default: Any = REQUIRED
    doc: str = ""
    engine: bool = False
    trial_limit: int | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def describe(self) -> str:
        text = self.type.describe()
        if self.required:
            return f"{text} (required)"
        if self.default is None:
            return f"{text} (optional)"
        from ..errors import show_value

        return f"{text} (default {show_value(self.default)})"


@dataclass(frozen=True)
class ClassSpec:
    """An optimizer or scheduler class of the installed torch, as the whole app sees it.

    ``unsupported`` holds the reason when the class exists in torch but cannot train this
    lab's model (e.g. SparseAdam needs sparse gradients): it stays listed so a person
    learns why instead of wondering where it went.

    ``summary`` is what the app shows under a class picker: the ``summary`` override of
    ``overrides.py`` where torch's first paragraph misleads or says nothing a learner can
    use (LambdaLR's "Sets the initial learning rate."), else torch's own. ``torch_summary``
    always holds torch's first paragraph.
    """

    name: str
    cls: type
    params: dict[str, ParamSpec]
    summary: str = ""
    torch_summary: str = ""
    unsupported: str | None = None
    # optimizers only: torch's LBFGS takes exactly one param group
    max_groups: int | None = None
    # optimizers only: what the lr in param_groups (the lr column) really does when it is not
    # the step size (ASGD, Rprop, Adafactor, Adagrad with lr_decay); ``lr_note_if`` names the
    # option that must be set (not 0, not None) in some group for it to hold (None: always)
    lr_note: str = ""
    lr_note_if: str | None = None
    # schedulers only
    default_interval: str = "epoch"
    # step() takes an epoch (torch documents scheduler.step(epoch + i / iters) after batch i):
    # the class offers interval = "fractional"
    steps_with_epoch: bool = False
    lr_edit_effect: str = ""
    # the option the engine derives from the run's length (its scheduler steps: epochs x steps
    # per epoch, or epochs) when the experiment leaves it out, e.g. OneCycleLR's total_steps
    length_option: str | None = None
    # options whose product gives that length instead (OneCycleLR: epochs x steps_per_epoch)
    length_factors: tuple[str, ...] = ()
    # stepped with a metric (scheduler.step(loss): ReduceLROnPlateau), so it cannot be nested in
    # SequentialLR or ChainedScheduler, which step theirs without one (torch refuses it)
    steps_with_metric: bool = False
    # what torch passes each expression option (EVERY_COUNT when not listed), see expression_values
    expression_calls: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def torch_params(self) -> dict[str, ParamSpec]:
        """The parameters passed to the torch constructor (not the engine's own fields)."""
        return {n: p for n, p in self.params.items() if not p.engine}

    @property
    def trial_limits(self) -> dict[str, int]:
        """The options the trial step lowers (see :attr:`ParamSpec.trial_limit`)."""
        return {n: p.trial_limit for n, p in self.params.items() if p.trial_limit is not None}

    @property
    def nestable(self) -> bool:
        """Whether it can be one of SequentialLR's or ChainedScheduler's schedulers."""
        return not self.steps_with_metric

    def expression_values(self, name: str, options: dict, last: int, restarted: bool = False) -> range:
        """The values torch passes expression option ``name`` of this scheduler (set to ``options``,
        torch's defaults for the rest) while its count goes from 0 to ``last``; ``restarted``: a
        SequentialLR restarts it at 0 at its milestone (a step at 0 outside the initial one)."""
        calls = self.expression_calls.get(name, EVERY_COUNT)
        if calls == AFTER_INITIAL:
            return range(0 if restarted else 1, last + 1)
        if calls == CYCLE_OR_COUNT:
            def get(key: str):
                return options[key] if options.get(key) is not None else self.params[key].default

            if get("scale_mode") == "cycle":
                up = get("step_size_up")
                size = up + (get("step_size_down") or up)
                return range(1, int(1 + last / size) + 1)
        return range(0, last + 1)
