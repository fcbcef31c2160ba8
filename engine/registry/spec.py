"""What the registry knows about one torch class and each of its parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..fieldtypes import FieldType

__all__ = ["REQUIRED", "ParamSpec", "ClassSpec", "EVERY_COUNT", "AFTER_INITIAL", "CYCLE_OR_COUNT",
           "SEQUENTIAL", "CHAINED", "INITIAL_LR", "GROUP_OPTION_KINDS", "GroupAdoption", "GroupRebase"]

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


# How a scheduler that nests others steps them (``ClassSpec.children_step``): SEQUENTIAL, only the
# active one, restarted at 0 at each milestone (SequentialLR); CHAINED, every one at every step
# (ChainedScheduler)
SEQUENTIAL = "sequential"
CHAINED = "chained"

# A new per-group entry taken from the new group's own initial lr (GroupAdoption.lists)
INITIAL_LR = "initial_lr"

# The kinds of an optimizer's per-group hyperparameters (numbers and tuples): what a param group
# may set, an edit may change, and the window shows as columns (ClassSpec.group_options)
GROUP_OPTION_KINDS = ("float", "int", "tuple")


@dataclass(frozen=True)
class GroupAdoption:
    """How a scheduler takes on a param group added mid-run (``optimizer.add_param_group``), which
    torch leaves to the caller (:func:`engine.schedulers.adopt_new_group` does it from this), in order:

    * ``group_keys``: ``(key, source, divisor)``, the keys its constructor writes into each group:
      the new group's ``key`` is ``source`` (the option's value for the new group when ``source`` is
      an option, else the group's key of that name, set before it) divided by option ``divisor``
      (``None``: not divided). OneCycleLR's initial_lr, max_lr and min_lr;
    * ``lists``: ``(attribute, source)``, the scheduler's per-group lists the new group needs an
      entry in: :data:`INITIAL_LR` (the group's initial lr, its own lr unless ``group_keys`` set it)
      or an option's value for the new group (an expression compiled);
    * ``cycles_momentum``: with the scheduler's ``cycle_momentum`` on, the group gets base_momentum
      and max_momentum from the options and its momentum (or beta1) set to max_momentum, as the
      constructor does, and the scheduler's ``momentum_lists`` an entry each, like ``lists``.

    Nested schedulers (SequentialLR's, ChainedScheduler's) each adopt the group themselves.
    """

    group_keys: tuple[tuple[str, str, str | None], ...] = ()
    lists: tuple[tuple[str, str], ...] = (("base_lrs", INITIAL_LR),)
    cycles_momentum: bool = False
    momentum_lists: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GroupRebase:
    """What an lr edit with ``rebase`` scales by the edit's ratio for the edited group, besides its
    ``initial_lr`` (:func:`engine.schedulers.rebase_group`): its entry in the scheduler's per-group
    ``lists`` (base_lrs; CyclicLR's max_lrs too) and the group's ``group_keys`` (OneCycleLR's max_lr
    and min_lr, from which it computes the lr). Nested schedulers each rebase themselves."""

    lists: tuple[str, ...] = ("base_lrs",)
    group_keys: tuple[str, ...] = ()


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
    # optimizers only: the group key a scheduler cycles as momentum and the momentum column records:
    # "betas" (its first entry, beta1), "momentum", or None when the optimizer has neither
    momentum_key: str | None = None
    # optimizers only: step() needs a closure that re-evaluates the loss (LBFGS's step(closure))
    needs_closure: bool = False
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
    # schedulers that nest others: how they step them (SEQUENTIAL or CHAINED); None: nests none
    children_step: str | None = None
    # how a group added mid-run joins it, and what rebasing an lr edit scales
    adopts_group: GroupAdoption = GroupAdoption()
    rebase: GroupRebase = GroupRebase()

    @property
    def torch_params(self) -> dict[str, ParamSpec]:
        """The parameters passed to the torch constructor (not the engine's own fields)."""
        return {n: p for n, p in self.params.items() if not p.engine}

    @property
    def trial_limits(self) -> dict[str, int]:
        """The options the trial step lowers (see :attr:`ParamSpec.trial_limit`)."""
        return {n: p.trial_limit for n, p in self.params.items() if p.trial_limit is not None}

    @property
    def group_options(self) -> list[str]:
        """An optimizer's per-group hyperparameters (see :data:`GROUP_OPTION_KINDS`), in signature order."""
        return [n for n, p in self.torch_params.items() if p.type.kind in GROUP_OPTION_KINDS]

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
