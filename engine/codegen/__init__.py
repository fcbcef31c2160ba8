"""A run of an experiment as a plain PyTorch script that reproduces it (``main.py code``).

:func:`generate` returns the script's text: it imports only torch and the standard library,
reads like the article (the ``Net`` class, the optimizer and its param groups, the scheduler,
the training loop in torch's order) and, run with ``--csv DIR``, writes the ``epochs.csv``
and ``steps.csv`` that ``main.py run`` writes for those runs, byte for byte (with the torch
that generated it). ``events.csv`` is not reproduced. A pure function of the experiment:
the CLI prints it, a view can show it.

>>> from engine.presets import preset_path
>>> from engine.files import load_experiment
>>> text = generate(load_experiment(preset_path("steplr")))
>>> "scheduler = lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)" in text
True
"""

from __future__ import annotations

from ..config import Experiment
from ..errors import ExperimentError, show_value
from .script import script

__all__ = ["generate", "run_index"]


def run_index(experiment: Experiment, run: str | int) -> int:
    """The index of ``run`` (a run's name, or its index); :class:`ExperimentError` naming ``run`` otherwise."""
    names = [r.name for r in experiment.runs]
    if isinstance(run, int) and not isinstance(run, bool):
        if 0 <= run < len(names):
            return run
        raise ExperimentError("run", f"expected a run index from 0 to {len(names) - 1}, got {run}")
    if run in names:
        return names.index(run)
    raise ExperimentError("run", f"no run is named {show_value(run)}; the runs: "
                                 + ", ".join(show_value(n) for n in names))


def generate(experiment: Experiment, run: str | int | None = None) -> str:
    """The script of ``experiment``'s run ``run`` (its name or index), or of every run, one after another."""
    indices = list(range(len(experiment.runs))) if run is None else [run_index(experiment, run)]
    return script(experiment, indices)
