"""interval = "fractional": torch's documented per-batch idiom for CosineAnnealingWarmRestarts,
``scheduler.step(epoch + i / iters)`` after batch ``i``, one step behind included.

Each test trains the same thing in plain torch (tests/plain_torch.py, no engine code) and
compares bit for bit. Schedulers whose ``step()`` takes no epoch refuse the interval with the
reason (the registry's ``steps_with_epoch`` trait).
"""

from __future__ import annotations

import pytest
import torch

from engine.checkpoint import load_state, save_state
from engine.errors import ExperimentError
from engine.preview import SchedulePrediction, predict_schedule
from engine.registry import SCHEDULERS
from engine.session import TrainingSession
from engine.status import RunStatus
from tests.engine_helpers import experiment, train
from tests.plain_torch import train as plain_train

SPE = 4  # 128 samples, batch 32, no validation set
EPOCHS = 10
WARM = {"type": "CosineAnnealingWarmRestarts", "T_0": 3, "T_mult": 2, "eta_min": 0.001, "interval": "fractional"}


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def warm_restarts(optimizer):
    return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=3, T_mult=2, eta_min=0.001)


def run(scheduler=WARM, epochs=EPOCHS):
    return experiment([{"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}, "scheduler": scheduler}],
                      epochs=epochs)


def test_warm_restarts_stepped_per_batch_as_torch_documents():
    session, (result,) = train(run())
    reference = plain_train(sgd, epochs=EPOCHS, make_scheduler=warm_restarts, interval="fractional")
    assert session.runs[0].status == RunStatus.FINISHED
    assert result.step_lr[:, 0].tolist() == [lrs[0] for lrs in reference.lrs]
    assert result.step_momentum[:, 0].tolist() == [0.9] * EPOCHS * SPE
    assert result.step_loss.tolist() == reference.losses
    lrs = result.step_lr[:, 0]
    # one step behind: step 1 still has the initial lr (step(0.0) after batch 0), and the lr moves
    # inside each epoch; the restarts (epochs 3 and 9) reach the lr the step after the epoch begins
    assert lrs[0] == lrs[1] == 0.1 and lrs[2] < lrs[1]
    assert lrs[3 * SPE] < 0.1 == lrs[3 * SPE + 1] and lrs[9 * SPE] < 0.1 == lrs[9 * SPE + 1]
    assert len(set(lrs[SPE:2 * SPE].tolist())) == SPE


def test_fractional_is_not_epoch_or_step():
    """The same class and options stepped per epoch or per step (counting steps) train differently."""
    fractional = train(run())[1][0].step_lr[:, 0].tolist()
    for interval in ("epoch", "step"):
        assert train(run({**WARM, "interval": interval}))[1][0].step_lr[:, 0].tolist() != fractional


def test_the_preview_steps_every_batch_and_equals_the_run():
    exp = run()
    assert not SchedulePrediction(exp, 0).coarse  # the one-step-per-epoch shortcut would be wrong here
    prediction = predict_schedule(exp, 0)
    reference = plain_train(sgd, epochs=EPOCHS, make_scheduler=warm_restarts, interval="fractional")
    assert prediction.complete
    assert prediction.results.step_lr[:, 0].tolist() == [lrs[0] for lrs in reference.lrs]


# engine/checkpoint.py checks a state against a fresh run's: under "fractional" CosineAnnealingWarmRestarts'
# T_cur is epoch + i / steps_per_epoch minus the cycles before (not whole), and last_epoch is the floor of
# the epoch passed at the step before: (position - 1) // steps_per_epoch.
@pytest.mark.parametrize("saved_at", [2 * SPE + 1, 3 * SPE,
                                      3 * SPE + 2])
def test_a_fractional_run_resumes_exactly(tmp_path, saved_at):
    exp = run()
    first = TrainingSession(exp)
    first.run(max_steps=saved_at)
    save_state(first, tmp_path / "s.pt")
    resumed = TrainingSession(exp, state=load_state(tmp_path / "s.pt"))
    resumed.run()
    (result,) = resumed.snapshot()
    reference = plain_train(sgd, epochs=EPOCHS, make_scheduler=warm_restarts, interval="fractional")
    assert result.step_loss.tolist() == reference.losses


def test_only_schedulers_whose_step_takes_an_epoch_offer_it():
    offered = [name for name, spec in SCHEDULERS.items() if "fractional" in spec.params["interval"].type.options]
    assert offered == [name for name, spec in SCHEDULERS.items() if spec.steps_with_epoch]
    assert offered == ["CosineAnnealingWarmRestarts"]
    assert "fractional" in SCHEDULERS["CosineAnnealingWarmRestarts"].params["interval"].doc


@pytest.mark.parametrize("scheduler, words", [
    ({"type": "StepLR", "step_size": 2},
     'StepLR.step() takes no epoch (passing one is deprecated), so "fractional" is not available'),
    ({"type": "SequentialLR", "schedulers": [{"type": "CosineAnnealingWarmRestarts", "T_0": 3}], "milestones": []},
     'SequentialLR.step() takes no epoch (it takes no argument), so "fractional" is not available'),
    ({"type": "ReduceLROnPlateau"}, "ReduceLROnPlateau is stepped with an epoch's loss"),
])
def test_the_others_refuse_it_with_the_reason(scheduler, words):
    with pytest.raises(ExperimentError) as caught:
        run({**scheduler, "interval": "fractional"})
    assert caught.value.path == "runs[0].scheduler.interval"
    assert words in str(caught.value) and 'use "epoch"' in str(caught.value)
