"""What ``describe`` and the window say an lr edit does under ConstantLR, LinearLR and SequentialLR
(the registry's ``lr_edit_effect``), shown on plain torch (tests/plain_torch.py, no engine code),
and the engine's runs of the same edits equal to it bit for bit.

* ConstantLR multiplies the current lr by 1/factor at total_iters: an lr edited, or a group added,
  before then jumps to 1/factor times its value there.
* LinearLR multiplies the current lr by each step's change of factor: an lr edited, or a group
  added, during the warm-up ends at end_factor / (the factor then) times its value.
* SequentialLR restarts the next scheduler at its milestone from its base lrs: the edit is dropped
  (a MultiplicativeLR there multiplies the current lr, so it carries on), unless rebased.
"""

from __future__ import annotations

import pytest
import torch
from torch.optim import lr_scheduler as ls

from engine.registry import SCHEDULERS
from tests.engine_helpers import experiment, train
from tests.plain_torch import train as plain_train

SPE = 4  # 128 samples, batch 32, no validation set
EPOCHS = 8


def sgd_layer(model):
    return torch.optim.SGD([{"params": model.layer.parameters()}], lr=0.1)


def edit_at(epoch: int, lr: float, *, rebase: bool = False):
    """What a person does by hand before the first step of ``epoch`` (rebase: scale the schedule's base lrs)."""
    def before(t, optimizer):
        if t == epoch * SPE:
            group = optimizer.param_groups[0]
            ratio = lr / group["lr"]
            group["lr"] = lr
            if rebase:
                group["initial_lr"] *= ratio
                for child in optimizer.scheduler._schedulers:
                    child.base_lrs[0] *= ratio
    return before


def add_at(epoch: int, lr: float):
    """optimizer.add_param_group for layer2, joining the scheduler with its own lr as its base."""
    def before(t, optimizer):
        if t == epoch * SPE:
            optimizer.add_param_group({"params": optimizer.model.layer2.parameters(), "lr": lr, "initial_lr": lr})
            optimizer.scheduler.base_lrs.append(lr)
    return before


def plain(make_scheduler, before):
    def make_optimizer(model):
        optimizer = sgd_layer(model)
        optimizer.model = model
        return optimizer

    def scheduler(optimizer):
        optimizer.scheduler = make_scheduler(optimizer)
        return optimizer.scheduler

    return plain_train(make_optimizer, epochs=EPOCHS, make_scheduler=scheduler, before=before)


def engine(scheduler: dict, edits: list):
    _, (result,) = train(experiment([{"optimizer": {"type": "SGD", "lr": 0.1}, "groups": [{"module": "layer"}],
                                      "scheduler": scheduler, "edits": edits}], epochs=EPOCHS))
    return result


def per_epoch(reference, group=0):
    return [lrs[group] if group < len(lrs) else None for lrs in reference.lrs[::SPE]]


def test_constantlr_multiplies_an_edit_and_an_added_group_by_one_over_factor_at_total_iters():
    edited = plain(lambda o: ls.ConstantLR(o, factor=0.5, total_iters=4), edit_at(2, 0.03))
    assert per_epoch(edited) == [0.05, 0.05, 0.03, 0.03, 0.06, 0.06, 0.06, 0.06]
    added = plain(lambda o: ls.ConstantLR(o, factor=0.5, total_iters=4), add_at(1, 0.2))
    assert per_epoch(added, 1) == [None, 0.2, 0.2, 0.2, 0.4, 0.4, 0.4, 0.4]
    table = {"type": "ConstantLR", "factor": 0.5, "total_iters": 4}
    assert engine(table, [{"epoch": 2, "lr": 0.03}]).step_loss.tolist() == edited.losses
    result = engine(table, [{"epoch": 1, "add_group": {"module": "layer2", "lr": 0.2}}])
    assert result.step_lr[SPE:, 1].tolist() == [lrs[1] for lrs in added.lrs[SPE:]]
    assert "jumps to 1/factor times its value" in SCHEDULERS["ConstantLR"].lr_edit_effect


def test_linearlr_carries_an_edit_and_an_added_group_up_with_the_factor():
    edited = plain(lambda o: ls.LinearLR(o, start_factor=0.25, total_iters=4), edit_at(2, 0.03))
    factor_then = 0.25 + 2 * 0.75 / 4
    assert edited.lrs[4 * SPE][0] == pytest.approx(0.03 / factor_then, rel=1e-12)
    added = plain(lambda o: ls.LinearLR(o, start_factor=0.25, total_iters=4), add_at(1, 0.2))
    assert added.lrs[4 * SPE][1] == pytest.approx(0.2 / (0.25 + 0.75 / 4), rel=1e-12)
    assert added.lrs[-1][1] == added.lrs[4 * SPE][1]  # and stays there
    table = {"type": "LinearLR", "start_factor": 0.25, "total_iters": 4}
    assert engine(table, [{"epoch": 2, "lr": 0.03}]).step_loss.tolist() == edited.losses
    result = engine(table, [{"epoch": 1, "add_group": {"module": "layer2", "lr": 0.2}}])
    assert result.step_lr[SPE:, 1].tolist() == [lrs[1] for lrs in added.lrs[SPE:]]
    assert "end_factor / (the factor then) times its value" in SCHEDULERS["LinearLR"].lr_edit_effect


def sequential(second):
    return lambda o: ls.SequentialLR(o, [ls.ExponentialLR(o, gamma=0.9), second(o)], milestones=[5])


SEQUENTIAL = {"type": "SequentialLR", "milestones": [5],
              "schedulers": [{"type": "ExponentialLR", "gamma": 0.9}, {"type": "StepLR", "step_size": 2}]}


def test_sequentiallr_drops_an_edit_at_the_milestone_unless_rebased():
    steplr = sequential(lambda o: ls.StepLR(o, step_size=2, gamma=0.1))
    edited, untouched = plain(steplr, edit_at(2, 0.03)), plain(steplr, None)
    assert per_epoch(edited)[2:5] != per_epoch(untouched)[2:5]
    assert per_epoch(edited)[5:] == per_epoch(untouched)[5:] and per_epoch(edited)[5] == 0.1  # from base_lrs
    assert engine(SEQUENTIAL, [{"epoch": 2, "lr": 0.03}]).step_loss.tolist() == edited.losses
    rebased = plain(steplr, edit_at(2, 0.03, rebase=True))
    assert per_epoch(rebased)[5] == pytest.approx(0.1 * 0.03 / 0.081, rel=1e-12)
    result = engine(SEQUENTIAL, [{"epoch": 2, "lr": 0.03, "rebase": True}])
    assert result.step_lr[:, 0].tolist() == [lrs[0] for lrs in rebased.lrs]
    assert result.step_loss.tolist() == rebased.losses
    words = SCHEDULERS["SequentialLR"].lr_edit_effect
    assert "starts over from its base lrs and drops the edit" in words and "rebase" in words


def test_sequentiallr_with_multiplicativelr_after_the_milestone_carries_the_edit_on():
    multiplicative = sequential(lambda o: ls.MultiplicativeLR(o, lambda epoch: 0.5))
    edited, untouched = plain(multiplicative, edit_at(2, 0.03)), plain(multiplicative, None)
    assert per_epoch(edited)[5] == per_epoch(edited)[4] * 0.5 != per_epoch(untouched)[5]
    assert "a MultiplicativeLR there carries on from the current lr" in SCHEDULERS["SequentialLR"].lr_edit_effect
