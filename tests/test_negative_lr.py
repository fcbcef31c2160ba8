"""A negative lr trains on, as in torch (gradient ascent), with a note the step it turns negative.

torch's optimizers refuse a negative lr when built, but a scheduler may take a group's lr below
0 later and torch then applies it as it is. Only an lr that cannot be applied (not a number, or
beyond the range of float32 parameters, either sign) ends a run as diverged. Each test trains
the same thing in plain torch (tests/plain_torch.py, no engine code) and compares bit for bit.
"""

from __future__ import annotations

import math

import pytest
import torch

from engine.checkpoint import load_state, save_state
from engine.preview import predict_schedule
from engine.session import TrainingSession
from engine.status import RunStatus
from tests.engine_helpers import experiment, train
from tests.plain_torch import train as plain_train

SPE = 4  # 128 samples, batch 32, no validation set
LAMBDA = "1 - epoch / 4"  # 1, 0.75, 0.5, 0.25, 0, -0.25, -0.5, -0.75: SGD's lr 0.1 -> -0.025 at epoch 5


def sgd(lr=0.1):
    return lambda model: torch.optim.SGD(model.parameters(), lr=lr)


def test_lambdalr_below_zero_trains_on_as_torch_does():
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.1},
                       "scheduler": {"type": "LambdaLR", "lr_lambda": LAMBDA}}], epochs=8)
    session, (result,) = train(exp)
    reference = plain_train(sgd(), epochs=8,
                            make_scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 - e / 4))
    assert session.runs[0].status == RunStatus.FINISHED
    assert result.step_lr[:, 0].tolist() == [lrs[0] for lrs in reference.lrs]
    assert result.step_loss.tolist() == reference.losses
    assert result.step_lr[5 * SPE, 0] == -0.025
    # gradient ascent: from epoch 5 on, the loss grows
    assert reference.losses[-1] > reference.losses[5 * SPE] > reference.losses[4 * SPE]
    notes = [e for e in result.events if e.kind == "note"]
    assert [(e.step, e.epoch, e.group) for e in notes] == [(5 * SPE, 5, 0)]  # once, the step it turns negative
    assert notes[0].detail.startswith("lr -0.025 is negative: torch applies it as it is")
    assert not [e for e in result.events if e.kind == "diverged"]


def test_a_note_each_time_a_groups_lr_turns_negative():
    """cos(epoch) is negative at epochs 2-4 and from 8: a note at 2 and 8, per group."""
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.01},
                       "groups": [{"module": "layer", "lr": 0.01}, {"module": "layer2", "lr": 0.02}],
                       "scheduler": {"type": "LambdaLR", "lr_lambda": ["cos(epoch)", "1"]}}], epochs=10)
    session, (result,) = train(exp)

    def make(model):
        return torch.optim.SGD([{"params": model.layer.parameters(), "lr": 0.01},
                                {"params": model.layer2.parameters(), "lr": 0.02}], lr=0.01)

    reference = plain_train(make, epochs=10, make_scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(
        o, [lambda e: math.cos(e), lambda e: 1]))
    assert session.runs[0].status == RunStatus.FINISHED
    assert result.step_lr.tolist() == reference.lrs
    assert result.step_loss.tolist() == reference.losses
    notes = [e for e in result.events if e.kind == "note"]
    assert [(e.step, e.group) for e in notes] == [(2 * SPE, 0), (8 * SPE, 0)]


@pytest.mark.parametrize("factor", ["1e100", "-1e100"])
def test_an_lr_beyond_float32_diverges_either_sign(factor):
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 1e-3},
                       "scheduler": {"type": "MultiplicativeLR", "lr_lambda": factor}}], epochs=4)
    session, (result,) = train(exp)
    assert session.runs[0].status == RunStatus.DIVERGED
    assert result.events[-1].kind == "diverged" and "lr left the range" in result.events[-1].detail
    assert len(result.step) == SPE  # the first epoch trained; the lr of the second was never applied


def test_the_preview_goes_below_zero_too():
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.1},
                       "scheduler": {"type": "LambdaLR", "lr_lambda": LAMBDA}}], epochs=8)
    prediction = predict_schedule(exp, 0)
    reference = plain_train(sgd(), epochs=8,
                            make_scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 - e / 4))
    assert prediction.complete
    assert prediction.results.step_lr[:, 0].tolist() == [lrs[0] for lrs in reference.lrs]
    assert [(e.step, e.kind) for e in prediction.results.events] == [(5 * SPE, "note")]


@pytest.mark.parametrize("saved_at", [5 * SPE + 1, 6 * SPE])
def test_a_resumed_run_notes_nothing_twice(tmp_path, saved_at):
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.1},
                       "scheduler": {"type": "LambdaLR", "lr_lambda": LAMBDA}}], epochs=8)
    first = TrainingSession(exp)
    first.run(max_steps=saved_at)
    save_state(first, tmp_path / "s.pt")
    resumed = TrainingSession(exp, state=load_state(tmp_path / "s.pt"))
    resumed.run()
    _, (expected,) = train(exp)
    (result,) = resumed.snapshot()
    assert result.step_loss.tolist() == expected.step_loss.tolist()
    assert [e.as_tuple() for e in result.events] == [e.as_tuple() for e in expected.events]
