"""What a mid-run lr edit does, in a short phrase derived from two predictions.

The phrase is not looked up per scheduler class: it compares, for one param group, the
lr the run was going to use without the edit (``before``, predicted from
``RunTrainer.before_commands`` without the commands) with the lr it will use with it
(``after``), step by step and exactly (bit equality):

* ``"kept"``: the two differ to the end of the run (chainable schedulers multiply the
  current lr: StepLR, ExponentialLR, MultiStepLR, MultiplicativeLR, manual decay, ...);
* ``"overwritten at the next step"``: the very next scheduler step puts the lr back on
  the original schedule (closed forms from base lrs: LambdaLR, CyclicLR, OneCycleLR,
  CosineAnnealingWarmRestarts);
* ``"dropped at epoch N (T_max)"``: the difference stays large, then the lr snaps back to
  the original schedule (CosineAnnealingLR at T_max, PolynomialLR at total_iters, a
  SequentialLR milestone); the scheduler option whose value is N is named when there is one;
* ``"fades: rejoins the original schedule at epoch N"``: the difference shrinks to under
  a tenth of its largest before the two meet (CosineAnnealingLR with an eta_min close to
  the lr: its recurrence pulls both towards eta_min). The one tolerance of this module
  is the one that tells fading from dropping;
* ``"overwritten by the scheduled edit at epoch N"``, ``"no effect: ..."``,
  ``"the run ends before the next step"``, and, under ReduceLROnPlateau, a sentence
  saying what no prediction can know.
"""

from __future__ import annotations

import numpy as np

from .config import SchedulerConfig
from .fieldtypes import Number, NumberList
from .preview import Prediction
from .registry import SEQUENTIAL, scheduler_spec
from .scheduling import option

__all__ = ["edit_effect", "FADED", "PLATEAU_EFFECT"]

# "fades" when the relative difference just before the two schedules meet is below this
# fraction of its largest since the edit; otherwise the edit is "dropped".
FADED = 0.1

PLATEAU_EFFECT = ("kept as far as a prediction can tell: ReduceLROnPlateau reduces the lr only when "
                  "the loss stalls, which only training shows")


def _lrs(prediction: Prediction, group: int) -> tuple[np.ndarray, np.ndarray]:
    results = prediction.results
    if group < results.step_lr.shape[1]:
        lrs = results.step_lr[:, group]
    else:
        lrs = np.full(len(results.step), np.nan)
    return results.step, lrs


def _counts(cfg: SchedulerConfig, offset: int = 0):
    """``(steps, name, value, offset)`` of every count option of ``cfg`` (and its children).

    ``steps`` is when the count runs out, in scheduler steps from the run's start: a child of
    SequentialLR counts from its milestone (``offset``).
    """
    spec = scheduler_spec(cfg.type)
    for name, param in spec.params.items():
        if param.engine or name == "schedulers":
            continue
        kind = param.type
        try:
            value = option(cfg, name)
        except Exception:  # noqa: BLE001 - a default the registry does not know: not a count
            continue
        if isinstance(kind, Number) and kind.integer and isinstance(value, int) and not isinstance(value, bool):
            yield offset + value, name, value, offset
        elif isinstance(kind, NumberList) and kind.item.integer and isinstance(value, (list, tuple)):
            for v in value:
                yield offset + v, name, v, offset
    if spec.children_step == SEQUENTIAL:  # each nested scheduler counts from its milestone
        starts = [0, *option(cfg, "milestones")]
        for child, start in zip(cfg.children, starts):
            yield from _counts(child, offset + start)
    else:
        for child in cfg.children:
            yield from _counts(child, offset)


def _option_named(cfg: SchedulerConfig | None, count: int, multiples: bool = False) -> str:
    """``"T_max"`` when an option of the schedule counts exactly ``count`` scheduler steps.

    Failing that (and with ``multiples``), a whole multiple of one (``"3 × T_max"``: CosineAnnealingLR is at eta_min
    at every odd multiple of T_max); ``""`` when nothing matches.
    """
    if cfg is None:
        return ""
    counts = list(_counts(cfg))
    for total, name, value, offset in counts:
        if total == count:
            return name if offset == 0 else f"{name} = {value} after the milestone at {offset}"
    for _, name, value, offset in counts if multiples else ():
        if name != "milestones" and value > 0 and count > offset and (count - offset) % value == 0:
            times = f"{(count - offset) // value} × {name}"
            return times if offset == 0 else f"{times} = {value} after the milestone at {offset}"
    return ""


def edit_effect(before: Prediction, after: Prediction, group: int, t: int, scheduler: SchedulerConfig | None,
                steps_per_epoch: int, *, edited_lr: float | None = None) -> str:
    """A short phrase saying what becomes of an lr edit of ``group`` applied before optimizer step ``t``.

    ``before``: :func:`~engine.preview.predict_from` the run's ``before_commands`` state at
    ``t`` without the commands (its steps start at ``t``). ``after``: the prediction with
    the edit, either from the same state with the commands (steps from ``t``) or from the
    run's :meth:`~engine.run.RunTrainer.schedule_state` at the boundary after step ``t``
    (steps from ``t + 1``), in which case ``edited_lr`` is the lr the group used at step
    ``t`` (the run's recorded ``step_lr[t, group]``). ``scheduler`` is the run's scheduler
    config (``None`` without one).
    """
    b_steps, b = _lrs(before, group)
    a_steps, a = _lrs(after, group)
    if not len(b_steps) or b_steps[0] != t:
        raise ValueError(f"before must be predicted from step {t}")
    if not len(a_steps) or a_steps[0] != t:
        if edited_lr is None or (len(a_steps) and a_steps[0] != t + 1):
            raise ValueError(f"after must be predicted from step {t}, or from {t + 1} with edited_lr given")
        a = np.concatenate(([edited_lr], a))
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    differs = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    if not differs.any():
        return "no effect: the lr already had that value"
    complete = before.complete and after.complete and len(a) == len(b)
    stops = [e for e in after.results.events if e.kind in ("diverged", "error", "stopped")]
    if stops and not after.complete:  # e.g. an lr driven beyond what float32 parameters can take
        return f"the run stops at step {stops[-1].step}: {stops[-1].detail}"
    if complete and n == 1:
        return "the run ends before the next step"
    if scheduler is not None and any(scheduler_spec(s.type).steps_with_metric for s in scheduler.walk()):
        return PLATEAU_EFFECT
    last = int(np.flatnonzero(differs)[-1])
    if last == n - 1:
        return "kept" if complete else f"kept as far as the prediction goes (step {t + n - 1})"
    rejoin = t + last + 1  # the first step from which both are equal to the end
    step_interval = scheduler is not None and scheduler.interval == "step"
    # stepped after every optimizer step too, with epoch + i / steps_per_epoch: its counts (T_0)
    # are epochs, and an epoch's start is not where they run out (one step behind), so none is named
    fractional = scheduler is not None and scheduler.interval == "fractional"

    def at(step: int) -> str:
        return f"epoch {step // steps_per_epoch}" if step % steps_per_epoch == 0 else f"step {step}"

    for event in after.results.events:
        if (event.step == rejoin and event.kind == "edit" and event.group == group
                and any(part.startswith("lr ") for part in event.detail.split("; "))):
            return f"overwritten by the scheduled edit at {at(rejoin)}"
    if scheduler is None:  # nothing but the manual decay and edits, and neither rejoined
        return f"dropped at {at(rejoin)}"
    if step_interval:
        next_step, count, where = t + 1, rejoin, f"step {rejoin}"
    elif fractional:
        next_step, count, where = t + 1, -1, at(rejoin)
    else:
        next_step = (t // steps_per_epoch + 1) * steps_per_epoch
        count, where = rejoin // steps_per_epoch, at(rejoin)
    named = _option_named(scheduler, count)
    if rejoin <= next_step:
        if step_interval or fractional:
            return f"overwritten at the next step ({where}: {named})" if named else "overwritten at the next step"
        return f"overwritten at the next scheduler step ({where}{': ' + named if named else ''})"
    with np.errstate(invalid="ignore", divide="ignore"):
        size = np.maximum(np.abs(a[:last + 1]), np.abs(b[:last + 1]))
        relative = np.where(size > 0, np.abs(a[:last + 1] - b[:last + 1]) / size, 0.0)
    named = _option_named(scheduler, count, multiples=True)
    named = f" ({named})" if named else ""
    if relative[last] < FADED * np.nanmax(relative):
        return f"fades: rejoins the original schedule at {where}{named}"
    return f"dropped at {where}{named}"
