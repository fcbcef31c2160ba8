"""Training itself: every optimizer, reproducibility, what the results tell a learner, divergence."""

from __future__ import annotations

import math

import pytest
import torch

from engine.registry import OPTIMIZERS
from engine.status import RunStatus
from tests.engine_helpers import experiment, train

SUPPORTED = [name for name, spec in OPTIMIZERS.items() if not spec.unsupported]
LR = {"Adadelta": 1.0, "LBFGS": 0.5, "Rprop": 0.01, "ASGD": 0.05, "SGD": 0.05}


@pytest.mark.parametrize("name", SUPPORTED)
def test_every_supported_optimizer_trains(name):
    options = {"type": name, "lr": LR.get(name, 0.02), **({"max_iter": 4} if name == "LBFGS" else {})}
    exp = experiment([{"optimizer": options}], epochs=15, samples=256, val_fraction=0.25)
    session, (result,) = train(exp)
    assert session.runs[0].status == RunStatus.FINISHED
    assert isinstance(session.runs[0].optimizer, OPTIMIZERS[name].cls)
    assert result.train_loss[-1] < result.train_loss[0]
    assert all(math.isfinite(x) for x in result.val_loss)


def test_lbfgs_steps_with_a_closure():
    exp = experiment([{"optimizer": {"type": "LBFGS", "lr": 0.5, "max_iter": 4, "line_search_fn": "strong_wolfe"}}],
                     epochs=3)
    session, (result,) = train(exp)
    assert session.runs[0].closure_step and session.runs[0].status == RunStatus.FINISHED


def test_two_sessions_of_one_experiment_are_identical_and_leave_the_global_rng_alone():
    exp = experiment([{"optimizer": {"type": "Adam", "lr": 0.05}}], epochs=5, val_fraction=0.2)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    _, (a,) = train(exp)
    assert torch.equal(torch.rand(3), expected_next)
    torch.manual_seed(999)
    _, (b,) = train(exp)
    assert a.step_loss.tobytes() == b.step_loss.tobytes() and a.val_loss.tobytes() == b.val_loss.tobytes()


def test_runs_start_from_the_same_weights_and_see_the_same_batches():
    exp = experiment([{"name": "x", "optimizer": {"type": "SGD", "lr": 0.05}},
                      {"name": "y", "optimizer": {"type": "SGD", "lr": 0.05}}], epochs=4)
    session, (x, y) = train(exp)
    assert x.step_loss.tobytes() == y.step_loss.tobytes()
    for p, q in zip(session.runs[0].model.parameters(), session.runs[1].model.parameters()):
        assert torch.equal(p, q)


def test_different_seeds_differ():
    a = train(experiment([{"optimizer": {"type": "Adam", "lr": 0.05}}], epochs=2, seed=1))[1][0]
    b = train(experiment([{"optimizer": {"type": "Adam", "lr": 0.05}}], epochs=2, seed=2))[1][0]
    assert a.step_loss.tolist() != b.step_loss.tolist()


def test_article_model_says_layer2_gets_no_gradient():
    exp = experiment([{"optimizer": {"type": "Adam"}, "groups": [{"module": "layer", "lr": 0.1},
                                                                 {"module": "layer2", "lr": 0.2}]}], epochs=2)
    session, (result,) = train(exp)
    (event,) = [e for e in result.events if e.kind == "no_gradient"]
    assert event.group == 1 and "layer2" in event.detail and "bottleneck" in event.detail
    untouched = session.runs[0].model.layer2.weight
    assert torch.equal(untouched, train(exp)[0].runs[0].model.layer2.weight)


def test_bottleneck_model_trains_both_layers():
    exp = experiment([{"optimizer": {"type": "Adam"}, "groups": [{"module": "layer", "lr": 0.1},
                                                                 {"module": "layer2", "lr": 0.2}]}],
                     epochs=2, model="bottleneck")
    session, (result,) = train(exp)
    assert not [e for e in result.events if e.kind == "no_gradient"]
    assert session.runs[0].model(torch.zeros(1, 10)).shape == (1, 10)


def test_training_only_layer_leaves_layer2_as_it_was():
    from engine.model import build_model

    exp = experiment([{"optimizer": {"type": "Adam"}, "groups": [{"module": "layer", "lr": 0.1}]}],
                     epochs=3, model="bottleneck")
    session, (result,) = train(exp)
    initial = build_model("bottleneck", 0)
    assert torch.equal(session.runs[0].model.layer2.weight, initial.layer2.weight)
    assert not torch.equal(session.runs[0].model.layer.weight, initial.layer.weight)
    assert [e.kind for e in result.events] == ["frozen"]


def test_a_diverging_run_stops_and_keeps_its_rows_while_the_other_finishes():
    exp = experiment([{"name": "calm", "optimizer": {"type": "SGD", "lr": 0.05}},
                      {"name": "wild", "optimizer": {"type": "SGD", "lr": 50.0}}], epochs=30, val_fraction=0.2)
    session, (calm, wild) = train(exp)
    assert [r.status for r in session.runs] == [RunStatus.FINISHED, RunStatus.DIVERGED]
    assert len(calm.epoch) == 30
    event = wild.events[-1]
    assert event.kind == "diverged" and "loss became" in event.detail
    assert len(wild.step) == event.step + 1  # every step up to the blow-up is kept
    assert not math.isfinite(wild.step_loss[-1]) and all(math.isfinite(x) for x in wild.step_loss[:-1])
    assert len(wild.epoch) == event.epoch  # whole epochs only


def test_an_lr_that_overflows_is_reported_as_divergence():
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 1e-3},
                       "scheduler": {"type": "MultiplicativeLR", "lr_lambda": "1e100"}}], epochs=6)
    session, (result,) = train(exp)
    assert session.runs[0].status == RunStatus.DIVERGED
    assert "lr left the range" in result.events[-1].detail and "1e+97" in result.events[-1].detail
    assert len(result.step) == 4  # the first epoch trained; the overflowing lr was never applied
