"""The predicted schedule equals what training then uses (for every lr that does not depend on losses)."""

from __future__ import annotations

import pytest

from engine.preview import predict_schedule
from tests.engine_helpers import experiment, train
from tests.test_edits import ADD_LAYER2
from tests.test_schedules import GOLDEN


@pytest.mark.parametrize("name", GOLDEN)
def test_prediction_equals_training(name):
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}, "scheduler": GOLDEN[name][0],
                       "groups": [{"module": "layer", "lr": 0.1}], "manual": {"every": 7, "factor": 0.5},
                       "edits": [*ADD_LAYER2, {"step": 50, "group": 0, "lr": 0.03}]}], epochs=30)
    prediction = predict_schedule(exp, 0)
    _, (trained,) = train(exp)
    assert prediction.complete and prediction.note == ""
    assert prediction.results.step_lr.tobytes() == trained.step_lr.tobytes()
    assert prediction.results.step_momentum.tobytes() == trained.step_momentum.tobytes()
    assert [e.kind for e in prediction.results.events] == [e.kind for e in trained.events
                                                           if e.kind != "no_gradient"]


@pytest.mark.parametrize("name", [n for n, (t, _) in GOLDEN.items() if t.get("interval", "epoch") == "epoch"
                                  and n not in ("CyclicLR", "OneCycleLR")])
def test_per_epoch_prediction_is_the_same_curve(name):
    """One probe step per epoch, spread over the epoch: bit for bit what stepping every batch gives."""
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}, "scheduler": GOLDEN[name][0],
                       "manual": {"every": 7, "factor": 0.5}, "edits": [{"epoch": 9, "lr": 0.03}]}], epochs=30)
    fast = predict_schedule(exp, 0)
    _, (trained,) = train(exp)
    assert fast.complete
    assert fast.results.step_lr.tobytes() == trained.step_lr.tobytes()
    assert fast.results.epoch_lr.tobytes() == trained.epoch_lr.tobytes()
    assert [(e.step, e.kind) for e in fast.results.events] == [(e.step, e.kind) for e in trained.events
                                                               if e.kind != "no_gradient"]


def test_what_torch_refuses_gives_no_preview_and_says_why():
    from engine.parse import parse_experiment

    exp = parse_experiment({"epochs": 3, "runs": [{"optimizer": {"type": "SGD", "lr": 0.1, "nesterov": True}}]})
    prediction = predict_schedule(exp, 0)
    assert not prediction.complete and "Nesterov" in prediction.note


def test_plateau_is_left_to_training_and_said_so():
    exp = experiment([{"optimizer": {"type": "Adam", "lr": 0.1},
                       "scheduler": {"type": "ReduceLROnPlateau", "patience": 0, "monitor": "train_loss"}}])
    prediction = predict_schedule(exp, 0)
    assert set(prediction.results.epoch_lr[:, 0].tolist()) == {0.1}
    assert "only training shows" in prediction.note


def test_a_long_run_is_cut_and_said_so():
    exp = experiment([{"optimizer": {"type": "Adam", "lr": 0.1}, "scheduler": {"type": "StepLR", "step_size": 2}}],
                     epochs=1000)
    prediction = predict_schedule(exp, 0, max_steps=100)  # one probe step per epoch: 100 epochs
    assert len(prediction.results.step) == 400 and not prediction.complete
    assert "stops at step 400 of 4000" in prediction.note


def test_a_failure_is_located():
    exp = experiment([{"optimizer": {"type": "Adam", "lr": 0.1},
                       "scheduler": {"type": "MultiplicativeLR", "lr_lambda": "1e30"}}], epochs=10)
    prediction = predict_schedule(exp, 0)
    assert not prediction.complete and "lr left the range" in prediction.note
