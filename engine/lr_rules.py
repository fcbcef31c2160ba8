"""The suggestion rules of a learning-rate range test: which lr its curve points at.

Each rule reads the swept lrs and the *smoothed* losses of :mod:`engine.range_test` and returns a
:class:`Suggestion`: the lr, the point of the curve it marks (the recorded step nearest to that
lr, and its smoothed loss), or, when it cannot answer (too few points, no descent), the reason
instead of a guess. The rules are those of the tools practitioners use; each keeps its tool's
conventions of which points to skip, since those are part of what the rule suggests:

* ``steepest`` (Lightning's ``_LRFinder.suggestion``, torch-lr-finder's ``plot(suggest_lr=True)``):
  the point where the smoothed loss falls fastest, the argmin of its gradient. Lightning skips
  the first 10 and the last point (``skip_begin=10, skip_end=1``) and drops points that are not
  finite; so does this rule. The gradient is taken against log10(lr), the plot's axis (numpy's
  second-order ``gradient`` with the lrs' spacing): torch-lr-finder and older Lightning take it
  against the step index, which in exponential mode is log lr up to a constant factor (the same
  argmin); Lightning 2.5 takes it against lr itself, which in exponential mode favours the
  high-lr end. Against log lr, the rule means the same in linear mode.
* ``minimum/10`` (fastai's ``minimum``): a tenth of the lr where the smoothed loss is lowest.
* ``steep`` (fastai's ``steep``): the lr where the slope between consecutive points,
  ``diff(loss) / diff(log lr)``, is most negative (the left point of that pair).
* ``valley`` (fastai's ``valley``, its default since 2.5, an algorithm by ESRI): in the longest
  run of decreasing losses (the longest decreasing subsequence ending at each point), the point
  about two thirds of the way down.

The fastai rules read fastai's window: the points from ``num_iter // 10`` up to the last five
(``lrs[num_it//10:-5]``), cut at the first that is not finite (fastai's ``lr_find``).

Sources: Lightning ``src/lightning/pytorch/tuner/lr_finder.py``; torch-lr-finder
``torch_lr_finder/lr_finder.py``; fastai ``fastai/callback/schedule.py`` (``valley``, ``minimum``,
``steep``, ``lr_find``). Written here from their descriptions, on numpy arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Suggestion", "suggest", "RULES", "steepest", "minimum_tenth", "steep", "valley"]

LIGHTNING_SKIP = (10, 1)  # Lightning's suggestion(skip_begin=10, skip_end=1)
FASTAI_SKIP_END = 5       # fastai's lr_find: lrs[num_it // 10:-5]


@dataclass(frozen=True)
class Suggestion:
    """What one rule suggests: ``lr`` and the curve's point it marks (``step``, its smoothed
    ``loss``), or ``reason`` (and ``lr`` None) when the rule cannot answer. ``note`` says how."""

    rule: str
    lr: float | None = None
    loss: float | None = None
    step: int | None = None
    reason: str = ""
    note: str = ""

    @property
    def answered(self) -> bool:
        return self.lr is not None


def _nearest(lrs: np.ndarray, lr: float) -> int:
    """The recorded step whose lr is nearest to ``lr`` on the log axis."""
    return int(np.argmin(np.abs(np.log10(lrs) - math.log10(lr))))


def _point(rule: str, lr: float, lrs: np.ndarray, smoothed: np.ndarray, note: str) -> Suggestion:
    step = _nearest(lrs, lr)
    return Suggestion(rule, float(lr), float(smoothed[step]), step, note=note)


def _fastai_window(smoothed: np.ndarray, num_iter: int) -> np.ndarray:
    """The indices fastai's rules read: ``[num_iter // 10:-5]``, cut at the first non-finite loss."""
    indices = np.arange(len(smoothed))[num_iter // 10:len(smoothed) - FASTAI_SKIP_END]
    bad = np.flatnonzero(~np.isfinite(smoothed[indices]))
    return indices[:bad[0]] if len(bad) else indices


def _too_few(rule: str, n: int, need: int, window: str) -> Suggestion:
    return Suggestion(rule, reason=f"too few points: it reads {window}, {n} of them here, and needs {need}; "
                                   "sweep more iterations")


def steepest(lrs: np.ndarray, smoothed: np.ndarray, num_iter: int) -> Suggestion:
    begin, end = LIGHTNING_SKIP
    indices = np.arange(len(smoothed))[begin:max(len(smoothed) - end, 0)]
    indices = indices[np.isfinite(smoothed[indices])]
    window = f"the finite points after the first {begin} and before the last {end} (Lightning's)"
    if len(indices) < 2:  # a gradient needs two points
        return _too_few("steepest", len(indices), 2, window)
    gradient = np.gradient(smoothed[indices], np.log10(lrs[indices]))
    at = int(np.argmin(gradient))
    if not gradient[at] < 0:
        return Suggestion("steepest", reason="the smoothed loss never falls in the points it reads (Lightning's "
                                             "window): no steepest descent to point at")
    step = int(indices[at])
    return Suggestion("steepest", float(lrs[step]), float(smoothed[step]), step,
                      note="where the smoothed loss falls fastest against log lr")


def minimum_tenth(lrs: np.ndarray, smoothed: np.ndarray, num_iter: int, start_lr: float | None = None) -> Suggestion:
    indices = _fastai_window(smoothed, num_iter)
    if len(indices) < 2:
        return _too_few("minimum/10", len(indices), 2, f"fastai's window (from step {num_iter // 10} to the last 5)")
    lowest = int(indices[np.argmin(smoothed[indices])])
    if lowest == indices[0]:
        return Suggestion("minimum/10", reason="the smoothed loss is lowest at the first point it reads: it never "
                                               "falls, so a tenth of that lr says nothing")
    lr = float(lrs[lowest]) / 10
    low = float(start_lr if start_lr is not None else lrs[0])
    if lr < low:
        return Suggestion("minimum/10", reason=f"the minimum is at lr {lrs[lowest]:.3g}, and a tenth of it "
                                               f"({lr:.3g}) is below the swept range (from {low:.3g})")
    return _point("minimum/10", lr, lrs, smoothed, f"a tenth of lr {lrs[lowest]:.3g}, where the smoothed loss is "
                                                   f"lowest ({smoothed[lowest]:.4g})")


def steep(lrs: np.ndarray, smoothed: np.ndarray, num_iter: int) -> Suggestion:
    indices = _fastai_window(smoothed, num_iter)
    if len(indices) < 2:
        return _too_few("steep", len(indices), 2, f"fastai's window (from step {num_iter // 10} to the last 5)")
    losses, logs = smoothed[indices], np.log(lrs[indices])
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = np.diff(losses) / np.diff(logs)
    slopes = np.where(np.isfinite(slopes), slopes, np.inf)
    at = int(np.argmin(slopes))
    if not slopes[at] < 0:
        return Suggestion("steep", reason="the smoothed loss never falls between two points of fastai's window")
    step = int(indices[at])
    return Suggestion("steep", float(lrs[step]), float(smoothed[step]), step,
                      note="the steepest slope between two consecutive points")


def valley(lrs: np.ndarray, smoothed: np.ndarray, num_iter: int) -> Suggestion:
    indices = _fastai_window(smoothed, num_iter)
    if len(indices) < 2:
        return _too_few("valley", len(indices), 2, f"fastai's window (from step {num_iter // 10} to the last 5)")
    losses = smoothed[indices]
    n = len(losses)
    # lds[i]: the longest strictly decreasing subsequence ending at i (fastai's double loop, vectorised)
    lds = np.ones(n, dtype=np.int64)
    for i in range(1, n):
        before = lds[:i][losses[:i] > losses[i]]
        if len(before):
            lds[i] = before.max() + 1
    end = int(np.argmax(lds))  # the first with the longest valley, as fastai's strict comparison keeps
    if lds[end] < 2:
        return Suggestion("valley", reason="the smoothed loss never falls in fastai's window: there is no valley")
    start = end - int(lds[end])
    sections = (end - start) / 3
    # fastai's index; at least the window's first point (with a valley from the first point, fastai's
    # start is -1, and a valley of two points would index the last point of the window)
    at = max(start + int(sections) + int(sections / 2), 0)
    step = int(indices[at])
    return Suggestion("valley", float(lrs[step]), float(smoothed[step]), step,
                      note=f"two thirds down the longest valley (steps {int(indices[max(start, 0)])} to "
                           f"{int(indices[end])})")


RULES = ("steepest", "minimum/10", "steep", "valley")


def suggest(lrs: np.ndarray, smoothed: np.ndarray, num_iter: int, start_lr: float | None = None
            ) -> tuple[Suggestion, ...]:
    """Every rule's suggestion from a curve, in :data:`RULES` order."""
    lrs, smoothed = np.asarray(lrs, dtype=np.float64), np.asarray(smoothed, dtype=np.float64)
    return (steepest(lrs, smoothed, num_iter), minimum_tenth(lrs, smoothed, num_iter, start_lr),
            steep(lrs, smoothed, num_iter), valley(lrs, smoothed, num_iter))
