"""Small builders shared by the engine tests (no Qt)."""

from __future__ import annotations

import warnings

import torch

from engine.parse import parse_experiment
from engine.session import TrainingSession


def experiment(runs, *, epochs=30, samples=128, batch_size=32, val_fraction=0.0, model="article", seed=0,
               noise=0.1):
    """An Experiment from a list of run dicts (TOML-shaped)."""
    runs = [dict({"name": f"run {i}"}, **r) for i, r in enumerate(runs)]
    return parse_experiment({"seed": seed, "epochs": epochs, "model": model,
                             "data": {"samples": samples, "batch_size": batch_size,
                                      "val_fraction": val_fraction, "noise": noise},
                             "runs": runs})


def train(exp):
    session = TrainingSession(exp)
    session.run()
    return session, session.snapshot()


def torch_lrs(make_scheduler, n_steps, *, lr=0.1, interval_steps=1, momentum=0.9, groups=1, edits=None):
    """The lr (and momentum) of each optimizer step when a real scheduler is stepped by hand.

    ``interval_steps`` is how many optimizer steps pass between scheduler steps; ``edits``
    maps a step to the lr every group is set to just before that optimizer step.
    """
    edits = edits or {}
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(groups)]
    optimizer = torch.optim.SGD([{"params": [p]} for p in params], lr=lr, momentum=momentum)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make_scheduler(optimizer)
        lrs, momenta = [], []
        for step in range(n_steps):
            if step in edits:
                for group in optimizer.param_groups:
                    group["lr"] = edits[step]
            lrs.append([g["lr"] for g in optimizer.param_groups])
            momenta.append([g["momentum"] for g in optimizer.param_groups])
            optimizer.step()
            if (step + 1) % interval_steps == 0:
                scheduler.step()
    return lrs, momenta
