"""What the engine's runs use as lr is exactly what torch's own schedulers compute."""

from __future__ import annotations

import numpy as np
import pytest
from torch.optim import lr_scheduler as ls

from engine.registry import SCHEDULERS
from tests.engine_helpers import experiment, torch_lrs, train

EPOCHS, STEPS_PER_EPOCH = 30, 4  # samples 128, batch 32, no validation set

# (engine scheduler table, the same scheduler built by hand)
GOLDEN = {
    "LambdaLR": ({"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"},
                 lambda o: ls.LambdaLR(o, lambda epoch: 0.95 ** epoch)),
    "MultiplicativeLR": ({"type": "MultiplicativeLR", "lr_lambda": "0.9 if epoch % 2 else 1"},
                         lambda o: ls.MultiplicativeLR(o, lambda epoch: 0.9 if epoch % 2 else 1)),
    "StepLR": ({"type": "StepLR", "step_size": 5, "gamma": 0.5}, lambda o: ls.StepLR(o, 5, 0.5)),
    "MultiStepLR": ({"type": "MultiStepLR", "milestones": [3, 7, 20], "gamma": 0.5},
                    lambda o: ls.MultiStepLR(o, [3, 7, 20], 0.5)),
    "ConstantLR": ({"type": "ConstantLR", "factor": 0.5, "total_iters": 4},
                   lambda o: ls.ConstantLR(o, factor=0.5, total_iters=4)),
    "LinearLR": ({"type": "LinearLR", "start_factor": 0.25, "total_iters": 10},
                 lambda o: ls.LinearLR(o, start_factor=0.25, total_iters=10)),
    "ExponentialLR": ({"type": "ExponentialLR", "gamma": 0.9}, lambda o: ls.ExponentialLR(o, 0.9)),
    "PolynomialLR": ({"type": "PolynomialLR", "total_iters": 20, "power": 2},
                     lambda o: ls.PolynomialLR(o, total_iters=20, power=2.0)),
    "CosineAnnealingLR": ({"type": "CosineAnnealingLR", "T_max": 10, "eta_min": 0.001},
                          lambda o: ls.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    "CosineAnnealingWarmRestarts": ({"type": "CosineAnnealingWarmRestarts", "T_0": 5, "T_mult": 2, "eta_min": 0.001},
                                    lambda o: ls.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.001)),
    "CyclicLR": ({"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 7, "mode": "triangular2"},
                 lambda o: ls.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=7, mode="triangular2")),
    "OneCycleLR": ({"type": "OneCycleLR", "max_lr": 0.5},
                   lambda o: ls.OneCycleLR(o, max_lr=0.5, total_steps=EPOCHS * STEPS_PER_EPOCH)),
    "SequentialLR": ({"type": "SequentialLR", "milestones": [5], "schedulers": [
                        {"type": "LinearLR", "start_factor": 0.1, "total_iters": 5},
                        {"type": "ExponentialLR", "gamma": 0.9}]},
                     lambda o: ls.SequentialLR(o, [ls.LinearLR(o, start_factor=0.1, total_iters=5),
                                                   ls.ExponentialLR(o, 0.9)], milestones=[5])),
    "ChainedScheduler": ({"type": "ChainedScheduler", "schedulers": [
                            {"type": "ConstantLR", "factor": 0.5, "total_iters": 3},
                            {"type": "ExponentialLR", "gamma": 0.9}]},
                         lambda o: ls.ChainedScheduler([ls.ConstantLR(o, factor=0.5, total_iters=3),
                                                        ls.ExponentialLR(o, 0.9)], optimizer=o)),
}

# More shapes of the same classes: step interval, custom scale_fn, per-group lists.
EXTRA = {
    "StepLR per step": ({"type": "StepLR", "step_size": 9, "gamma": 0.7, "interval": "step"},
                        lambda o: ls.StepLR(o, 9, 0.7)),
    "CyclicLR scale_fn": ({"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5,
                           "scale_fn": "1 / (2 ** (x - 1))", "scale_mode": "cycle"},
                          lambda o: ls.CyclicLR(o, 0.01, 0.1, step_size_up=5, scale_fn=lambda x: 1 / (2. ** (x - 1)),
                                                scale_mode="cycle")),
    "OneCycleLR per epoch": ({"type": "OneCycleLR", "max_lr": 0.5, "interval": "epoch", "three_phase": True,
                              "anneal_strategy": "linear"},
                             lambda o: ls.OneCycleLR(o, max_lr=0.5, total_steps=EPOCHS, three_phase=True,
                                                     anneal_strategy="linear")),
}


def test_the_golden_table_covers_every_scheduler():
    assert set(GOLDEN) | {"ReduceLROnPlateau"} == set(SCHEDULERS)


@pytest.mark.parametrize("name", [*GOLDEN, *EXTRA])
def test_engine_lrs_equal_torch(name):
    table, make = {**GOLDEN, **EXTRA}[name]
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}, "scheduler": table}],
                     epochs=EPOCHS)
    run = exp.runs[0]
    assert run.scheduler.type == table["type"]
    interval = 1 if run.scheduler.interval == "step" else STEPS_PER_EPOCH
    expected_lrs, expected_momenta = torch_lrs(make, EPOCHS * STEPS_PER_EPOCH, interval_steps=interval)
    _, (result,) = train(exp)
    assert result.step_lr.tolist() == expected_lrs  # exact, not approximate
    assert result.step_momentum.tolist() == expected_momenta
    assert result.epoch_lr.tolist() == expected_lrs[::STEPS_PER_EPOCH]


def test_article_steplr_values():
    exp = experiment([{"optimizer": {"type": "Adam", "lr": 0.1},
                       "scheduler": {"type": "StepLR", "step_size": 5, "gamma": 0.5}}], epochs=20)
    _, (result,) = train(exp)
    assert result.epoch_lr[:, 0].tolist() == [0.1] * 5 + [0.05] * 5 + [0.025] * 5 + [0.0125] * 5


def test_article_manual_loop_fires_at_epoch_zero():
    """`if epoch % 5 == 0: lr *= 0.9` before training in that epoch, as the article's loop."""
    exp = experiment([{"optimizer": {"type": "Adam", "lr": 0.1},
                       "manual": {"every": 5, "factor": 0.9, "start": 0}}], epochs=30)
    expected, lr = [], 0.1
    for epoch in range(30):
        if epoch % 5 == 0:
            lr *= 0.9
        expected.append(lr)
    _, (result,) = train(exp)
    assert result.epoch_lr[:, 0].tolist() == expected
    kinds = [e.kind for e in result.events]
    assert kinds.count("manual_decay") == 6


def test_manual_decay_and_steplr_are_bit_identical():
    """The fair comparison: same weights, same batches, same lrs -> the same losses, to the bit."""
    exp = experiment([
        {"name": "manual", "optimizer": {"type": "Adam", "lr": 0.1}, "manual": {"every": 5, "factor": 0.9}},
        {"name": "StepLR", "optimizer": {"type": "Adam", "lr": 0.1},
         "scheduler": {"type": "StepLR", "step_size": 5, "gamma": 0.9}},
    ], epochs=20, samples=256, val_fraction=0.2)
    _, (manual, step) = train(exp)
    assert manual.step_lr.tolist() == step.step_lr.tolist()
    assert manual.step_loss.tobytes() == step.step_loss.tobytes()
    assert manual.train_loss.tobytes() == step.train_loss.tobytes()
    assert manual.val_loss.tobytes() == step.val_loss.tobytes()
    assert len(set(manual.epoch_lr[:, 0].tolist())) == 4  # it did decay


def test_reduce_lr_on_plateau_follows_validation_loss():
    """The engine feeds the epoch's val_loss to a real ReduceLROnPlateau; replaying it by hand agrees."""
    table = {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 2, "threshold": 0.01}
    exp = experiment([{"optimizer": {"type": "Adam", "lr": 0.1}, "scheduler": table}],
                     epochs=40, samples=256, val_fraction=0.25, noise=0.5)
    _, (result,) = train(exp)
    import torch

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    plateau = ls.ReduceLROnPlateau(optimizer, factor=0.5, patience=2, threshold=0.01)
    expected = []
    for val in result.val_loss.tolist():
        expected.append(optimizer.param_groups[0]["lr"])
        plateau.step(val)
    assert result.epoch_lr[:, 0].tolist() == expected
    reductions = [e for e in result.events if e.kind == "plateau"]
    within_run = [e for e in reductions if e.epoch < 40]  # the last may come after the final epoch
    assert within_run and len(within_run) == len(set(expected)) - 1
    assert all("val_loss" in e.detail for e in reductions)


def test_plateau_can_monitor_train_loss():
    table = {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 1, "monitor": "train_loss"}
    exp = experiment([{"optimizer": {"type": "Adam", "lr": 0.1}, "scheduler": table}], epochs=30, noise=0.5)
    _, (result,) = train(exp)
    import torch

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    plateau = ls.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    expected = []
    for loss in result.train_loss.tolist():
        expected.append(optimizer.param_groups[0]["lr"])
        plateau.step(loss)
    assert result.epoch_lr[:, 0].tolist() == expected
    assert np.isnan(result.val_loss).all()
