"""What the registry knows about one torch class and each of its parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..fieldtypes import FieldType

__all__ = ["REQUIRED", "ParamSpec", "ClassSpec"]


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
    # schedulers only
    default_interval: str = "epoch"
    lr_edit_effect: str = ""
    # the option the engine derives from the run's length (its scheduler steps: epochs x steps
    # per epoch, or epochs) when the experiment leaves it out, e.g. OneCycleLR's total_steps
    length_option: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def torch_params(self) -> dict[str, ParamSpec]:
        """The parameters passed to the torch constructor (not the engine's own fields)."""
        return {n: p for n, p in self.params.items() if not p.engine}

    @property
    def trial_limits(self) -> dict[str, int]:
        """The options the trial step lowers (see :attr:`ParamSpec.trial_limit`)."""
        return {n: p.trial_limit for n, p in self.params.items() if p.trial_limit is not None}
