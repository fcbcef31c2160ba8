"""The engine's losses equal a plain torch loop's bit for bit, for a table of optimizers x schedulers.

The reference (tests/plain_torch.py) is written without any engine code: torch's documented
loop on the article's data and model, ``optimizer.step(closure)`` for LBFGS, OneCycleLR stepped
after every batch, ReduceLROnPlateau after every epoch with the validation loss. For each pair
the engine trains the same thing from an experiment table (as a TOML file would give it), and
every recorded step loss, epoch train and validation loss and step lr must be the reference's.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler as ls

from tests.engine_helpers import experiment, train
from tests.plain_torch import train as plain_train

EPOCHS, SAMPLES, VAL_FRACTION = 8, 128, 0.25  # 96 training samples, batch 32: 3 steps an epoch
STEPS = EPOCHS * 3

# name -> (the experiment's optimizer table, the same optimizer in plain torch, steps with a closure)
OPTIMIZERS = {
    "SGD-momentum": ({"type": "SGD", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.001},
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.001), False),
    "SGD-nesterov": ({"type": "SGD", "lr": 0.05, "momentum": 0.8, "nesterov": True},
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True), False),
    "Adam": ({"type": "Adam", "lr": 0.02},
             lambda p: torch.optim.Adam(p, lr=0.02), False),
    "AdamW": ({"type": "AdamW", "lr": 0.02, "weight_decay": 0.1},
              lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.1), False),
    "RMSprop": ({"type": "RMSprop", "lr": 0.01, "momentum": 0.5},
                lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5), False),
    "Adagrad": ({"type": "Adagrad", "lr": 0.1},
                lambda p: torch.optim.Adagrad(p, lr=0.1), False),
    "LBFGS": ({"type": "LBFGS", "lr": 0.5, "max_iter": 4, "history_size": 5},
              lambda p: torch.optim.LBFGS(p, lr=0.5, max_iter=4, history_size=5), True),
}
# Optimizers whose groups have a momentum or betas for OneCycleLR to cycle.
CYCLES_MOMENTUM = {"SGD-momentum", "SGD-nesterov", "Adam", "AdamW", "RMSprop"}


def one_cycle(optimizer_name: str):
    cycle = optimizer_name in CYCLES_MOMENTUM
    return ({"type": "OneCycleLR", "max_lr": 0.05, "cycle_momentum": cycle},  # interval "step" by default
            lambda o: ls.OneCycleLR(o, max_lr=0.05, total_steps=STEPS, cycle_momentum=cycle), "step")


# name -> (optimizer name -> (the experiment's scheduler table, the same in plain torch, interval))
SCHEDULERS = {
    "StepLR": lambda _: ({"type": "StepLR", "step_size": 2, "gamma": 0.5},
                         lambda o: ls.StepLR(o, step_size=2, gamma=0.5), "epoch"),
    "OneCycleLR": one_cycle,
    "CosineAnnealingLR": lambda _: ({"type": "CosineAnnealingLR", "T_max": 5, "eta_min": 0.001},
                                    lambda o: ls.CosineAnnealingLR(o, T_max=5, eta_min=0.001), "epoch"),
    # less than 30 % better in an epoch or the lr halves: every optimizer of the table reaches a plateau
    "ReduceLROnPlateau": lambda _: ({"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 0, "threshold": 0.3},
                                    lambda o: ls.ReduceLROnPlateau(o, factor=0.5, patience=0, threshold=0.3),
                                    "epoch"),
    "LambdaLR": lambda _: ({"type": "LambdaLR", "lr_lambda": "0.8 ** epoch + 0.1 * (epoch % 2)"},
                           lambda o: ls.LambdaLR(o, lambda epoch: 0.8 ** epoch + 0.1 * (epoch % 2)), "epoch"),
}


def plain_and_engine(optimizer_name: str, scheduler_name: str):
    table, make_optimizer, closure = OPTIMIZERS[optimizer_name]
    scheduler_table, make_scheduler, interval = SCHEDULERS[scheduler_name](optimizer_name)
    reference = plain_train(lambda model: make_optimizer(model.parameters()), epochs=EPOCHS,
                            make_scheduler=make_scheduler, interval=interval, samples=SAMPLES,
                            val_fraction=VAL_FRACTION, closure=closure)
    exp = experiment([{"optimizer": table, "scheduler": scheduler_table}], epochs=EPOCHS, samples=SAMPLES,
                     val_fraction=VAL_FRACTION)
    session, (result,) = train(exp)
    return reference, session, result


@pytest.mark.parametrize("scheduler_name", list(SCHEDULERS))
@pytest.mark.parametrize("optimizer_name", list(OPTIMIZERS))
def test_losses_equal_a_plain_torch_loop(optimizer_name, scheduler_name):
    reference, session, result = plain_and_engine(optimizer_name, scheduler_name)
    assert session.runs[0].status == "finished", result.events
    assert len(reference.losses) == STEPS and all(map(math.isfinite, reference.losses))
    assert result.step_loss.tolist() == reference.losses
    assert result.step_lr[:, 0].tolist() == [lrs[0] for lrs in reference.lrs]
    assert result.train_loss.tolist() == reference.train_losses
    assert result.val_loss.tolist() == reference.val_losses
    assert [e.kind for e in result.events if e.kind in ("diverged", "error", "rejected")] == []
    if scheduler_name == "ReduceLROnPlateau":  # each reduction marked where the reduced lr is first used
        lrs = [lrs[0] for lrs in reference.lrs] + [reference.optimizer.param_groups[0]["lr"]]  # and after the end
        reduced = [t for t in range(1, STEPS + 1) if lrs[t] < lrs[t - 1]]
        assert reduced and [e.step for e in result.events if e.kind == "plateau"] == reduced


def test_the_table_exercises_what_it_claims():
    """The lambda's lr goes up and down in these short runs, and LBFGS really evaluates its closure
    more than once a step."""
    lambda_lrs = [lrs[0] for lrs in plain_and_engine("SGD-momentum", "LambdaLR")[0].lrs[::3]]
    assert any(a < b for a, b in zip(lambda_lrs, lambda_lrs[1:]))
    assert any(a > b for a, b in zip(lambda_lrs, lambda_lrs[1:]))
    lbfgs = plain_and_engine("LBFGS", "StepLR")[0]
    assert lbfgs.optimizer.state[lbfgs.optimizer._params[0]]["func_evals"] > STEPS
