"""Where the lr in param_groups (the lr column) is not the step size, a note says so at step 0.

torch 2.13: ASGD steps with ``eta``, set after each step from that step's lr (one step behind);
Rprop reads lr only at a parameter's first step; Adagrad with ``lr_decay`` divides it by
``1 + (step - 1) * lr_decay``; Adafactor's relative step is ``min(lr, 1/sqrt(step))``. Each claim is
shown here on plain torch (tests/plain_torch.py, no engine code), and the engine's run of the same
thing equals it bit for bit and carries the registry's ``lr_note``, which ``describe`` prints too.
"""

from __future__ import annotations

import argparse

import pytest
import torch
from torch.optim import lr_scheduler as ls

from engine.cli import _describe
from engine.registry import OPTIMIZERS
from tests.engine_helpers import experiment, train
from tests.plain_torch import train as plain_train

SPE = 4  # 128 samples, batch 32, no validation set


def engine_run(optimizer: dict, scheduler: dict | None = None, epochs: int = 6, edits=()):
    table = {"optimizer": optimizer, "edits": list(edits)}
    if scheduler is not None:
        table["scheduler"] = scheduler
    return train(experiment([table], epochs=epochs))


def notes(result):
    return [e for e in result.events if e.kind == "note"]


def assert_noted(result, name: str) -> None:
    (note,) = notes(result)
    assert (note.step, note.epoch, note.group) == (0, 0, None)
    assert note.detail == f"the lr column is not {name}'s step size: {OPTIMIZERS[name].lr_note}"


def test_rprop_trains_the_same_with_or_without_a_schedule():
    def rprop(model):
        return torch.optim.Rprop(model.parameters(), lr=0.01)

    scheduled = plain_train(rprop, epochs=6, make_scheduler=lambda o: ls.StepLR(o, step_size=1, gamma=0.1))
    unscheduled = plain_train(rprop, epochs=6)
    assert scheduled.losses == unscheduled.losses  # bit for bit: lr was read once, at the first step
    assert scheduled.lrs[-1] != unscheduled.lrs[-1]
    _, (result,) = engine_run({"type": "Rprop", "lr": 0.01}, {"type": "StepLR", "step_size": 1})
    assert result.step_loss.tolist() == scheduled.losses
    assert result.step_lr[:, 0].tolist() == [lrs[0] for lrs in scheduled.lrs]
    assert_noted(result, "Rprop")


def test_asgd_takes_a_changed_lr_one_step_later():
    """An lr set before step 5 leaves that step as it was (the loss of step 6 is the same) and changes
    the next one; under SGD the same edit changes step 5 itself."""
    def edit(t, optimizer):
        if t == 5:
            optimizer.param_groups[0]["lr"] = 0.5

    for make, lag in ((lambda m: torch.optim.ASGD(m.parameters(), lr=0.05), 1),
                      (lambda m: torch.optim.SGD(m.parameters(), lr=0.05), 0)):
        edited, plain = plain_train(make, epochs=3, before=edit), plain_train(make, epochs=3)
        assert edited.losses[:6 + lag] == plain.losses[:6 + lag]
        assert edited.losses[6 + lag] != plain.losses[6 + lag]
    _, (result,) = engine_run({"type": "ASGD", "lr": 0.05}, epochs=3, edits=[{"step": 5, "lr": 0.5}])
    asgd = plain_train(lambda m: torch.optim.ASGD(m.parameters(), lr=0.05), epochs=3, before=edit)
    assert result.step_loss.tolist() == asgd.losses
    assert_noted(result, "ASGD")


def test_asgd_sets_eta_from_the_lr_of_the_step_just_taken():
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.ASGD(model.parameters(), lr=0.05, lambd=0.01, alpha=0.75)
    scheduler = ls.ExponentialLR(optimizer, gamma=0.5)
    for step in range(1, 5):
        lr = optimizer.param_groups[0]["lr"]
        model(torch.ones(3)).sum().backward()
        optimizer.step()
        eta = optimizer.state[model.weight]["eta"].item()
        assert eta == pytest.approx(lr / (1 + 0.01 * lr * step) ** 0.75, rel=1e-6)
        scheduler.step()


def test_adagrad_lr_decay_divides_the_lr_and_is_noted_only_when_set():
    decayed = plain_train(lambda m: torch.optim.Adagrad(m.parameters(), lr=0.1, lr_decay=0.5), epochs=3)
    # the same as lr / (1 + (step - 1) * lr_decay) by a schedule, up to rounding
    scheduled = plain_train(lambda m: torch.optim.Adagrad(m.parameters(), lr=0.1), epochs=3, interval="step",
                            make_scheduler=lambda o: ls.LambdaLR(o, lambda e: 1 / (1 + e * 0.5)))
    assert decayed.losses == pytest.approx(scheduled.losses, rel=1e-5)
    assert decayed.losses != plain_train(lambda m: torch.optim.Adagrad(m.parameters(), lr=0.1), epochs=3).losses
    _, (result,) = engine_run({"type": "Adagrad", "lr": 0.1, "lr_decay": 0.5}, epochs=3)
    assert result.step_loss.tolist() == decayed.losses
    assert result.step_lr[:, 0].tolist() == [0.1] * 3 * SPE  # the lr column stays at lr
    assert_noted(result, "Adagrad")
    _, (plain,) = engine_run({"type": "Adagrad", "lr": 0.1}, epochs=1)
    assert notes(plain) == []


def test_adafactor_lr_is_only_a_cap_on_its_relative_step():
    """With lr above 1/sqrt(step) (here always: lr >= 1.18 > 1), a schedule of lr changes nothing;
    below it (the default 0.01), it does."""
    def adafactor(lr):
        return lambda model: torch.optim.Adafactor(model.parameters(), lr=lr)

    def decay(optimizer):
        return ls.ExponentialLR(optimizer, gamma=0.9)

    assert plain_train(adafactor(2.0), epochs=6, make_scheduler=decay).losses == \
        plain_train(adafactor(2.0), epochs=6).losses
    assert plain_train(adafactor(0.01), epochs=6, make_scheduler=decay).losses != \
        plain_train(adafactor(0.01), epochs=6).losses
    _, (result,) = engine_run({"type": "Adafactor", "lr": 2.0}, {"type": "ExponentialLR", "gamma": 0.9})
    assert result.step_loss.tolist() == plain_train(adafactor(2.0), epochs=6, make_scheduler=decay).losses
    assert_noted(result, "Adafactor")


def test_sgd_and_adam_have_no_such_note():
    for optimizer in ({"type": "SGD", "lr": 0.1}, {"type": "Adam", "lr": 0.1}):
        _, (result,) = engine_run(optimizer, {"type": "StepLR", "step_size": 1}, epochs=2)
        assert notes(result) == []


@pytest.mark.parametrize("name", ["ASGD", "Rprop", "Adagrad", "Adafactor"])
def test_describe_says_it(name, capsys):
    assert _describe(argparse.Namespace(name=name)) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"The lr in param_groups (the lr column): {OPTIMIZERS[name].lr_note}." in out
