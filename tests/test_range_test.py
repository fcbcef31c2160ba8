"""The learning-rate range test on the engine (engine/range_test.py, engine/lr_rules.py): no Qt."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.errors import ExperimentError
from engine.files import load_experiment
from engine.lr_rules import RULES, suggest
from engine.parse import parse_experiment
from engine.presets import preset_path
from engine.range_test import (
    RangeTest,
    RangeTestOptions,
    find_lr,
    lr_targets,
    range_test_trainer,
    with_lr,
    with_trial_runs,
)
from engine.session import TrainingSession
from tests import plain_torch
from tests.engine_helpers import experiment


def article():
    """The article's model (optimizer-attributes preset: Adam, lr 0.1)."""
    return load_experiment(preset_path("optimizer-attributes"))


def bottleneck():
    """The bottleneck model with two param groups at lr 0.1 and 0.2 (per-layer-lr preset)."""
    return load_experiment(preset_path("per-layer-lr"))


@pytest.mark.parametrize("make", [article, bottleneck], ids=["article", "bottleneck"])
def test_the_curve_descends_then_rises_and_every_rule_answers_inside_the_range(make):
    options = RangeTestOptions()
    result = find_lr(make(), 0, options)
    smoothed = result.smoothed
    lowest = int(np.argmin(smoothed))
    assert smoothed[lowest] < 0.95 * smoothed[0]          # it descends...
    assert smoothed[-1] > 1.05 * smoothed[lowest]          # ...then rises
    assert 0 < lowest < len(smoothed) - 1
    assert [s.rule for s in result.suggestions] == list(RULES)
    for s in result.suggestions:
        assert s.answered, s.reason
        assert options.start_lr <= s.lr <= options.end_lr
        assert s.loss == smoothed[s.step]                  # the point it marks is on the curve
        if s.rule != "minimum/10":
            assert s.lr == result.lr[s.step]


def test_the_test_stops_early_when_the_smoothed_loss_diverges():
    result = find_lr(article(), 0)  # Adam up to lr 10 on the article's model
    assert len(result.lr) < 100
    assert result.stop_reason.startswith("diverged at step")
    best = np.minimum.accumulate(result.smoothed)
    assert result.smoothed[-1] > 4 * best[-1]
    assert np.all(result.smoothed[:-1] <= 4 * best[:-1])  # and not before


def test_a_loss_that_is_not_finite_stops_it_too():
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.1}}], model="bottleneck")
    options = RangeTestOptions(start_lr=1e-3, end_lr=1e30, num_iter=200, diverge_threshold=1e300)
    result = find_lr(exp, 0, options)
    assert len(result.lr) < 200
    assert not math.isfinite(result.loss[-1]) or not math.isfinite(result.smoothed[-1])
    assert result.stop_reason.startswith("the loss became")
    for s in result.suggestions:  # the rules read finite points only
        assert s.lr is None or (math.isfinite(s.lr) and math.isfinite(s.loss))


def _assert_same_results(a: TrainingSession, b: TrainingSession) -> None:
    for ra, rb in zip(a.snapshot(), b.snapshot()):
        for name in ("step_lr", "step_loss", "epoch_lr", "train_loss", "val_loss"):
            x, y = getattr(ra, name), getattr(rb, name)
            assert x.tobytes() == y.tobytes(), name
    for ta, tb in zip(a.runs, b.runs):
        for pa, pb in zip(ta.model.parameters(), tb.model.parameters()):
            assert pa.detach().numpy().tobytes() == pb.detach().numpy().tobytes()
        assert repr(ta.optimizer.state_dict()) == repr(tb.optimizer.state_dict())
        assert "step" not in ta.optimizer.__dict__ or ta.scheduler is not None


RESTORE_RUNS = [
    {"optimizer": {"type": "Adam", "lr": 0.05}, "scheduler": {"type": "StepLR", "step_size": 5, "gamma": 0.5}},
    {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
     "groups": [{"module": "layer", "lr": 0.1}, {"module": "layer2", "lr": 0.2}]},
    {"optimizer": {"type": "AdamW", "lr": 0.01}, "scheduler": {"type": "OneCycleLR", "max_lr": 0.05}},
    {"optimizer": {"type": "LBFGS", "lr": 0.5, "max_iter": 3}},
]


@pytest.mark.parametrize("at_epoch", [0, 3])
def test_training_after_a_range_test_equals_training_without_one_bit_for_bit(at_epoch):
    exp = experiment(RESTORE_RUNS, epochs=20, model="bottleneck", val_fraction=0.2)
    plain, tested = TrainingSession(exp), TrainingSession(exp)
    for session in (plain, tested):
        for _ in range(at_epoch * exp.steps_per_epoch):
            session.step()
    for run in tested.runs:
        before = repr(run.optimizer.state_dict())
        test = RangeTest(run, RangeTestOptions(num_iter=30))
        assert len(test.run().lr) >= 2
        assert repr(run.optimizer.state_dict()) == before
    plain.run()
    tested.run()
    assert tested.position == plain.position == exp.total_steps
    _assert_same_results(plain, tested)


def test_a_range_test_stopped_mid_way_restores_the_run_too():
    exp = experiment(RESTORE_RUNS[:2], epochs=20, model="bottleneck")
    plain, tested = TrainingSession(exp), TrainingSession(exp)
    for run in tested.runs:
        steps = RangeTest(run).steps()
        for i in steps:
            if i == 12:
                steps.close()
    plain.run()
    tested.run()
    _assert_same_results(plain, tested)


def test_the_same_experiment_and_options_give_the_same_curve_to_the_bit():
    first, second = find_lr(bottleneck(), 0), find_lr(bottleneck(), 0)
    for name in ("lr", "loss", "smoothed"):
        assert getattr(first, name).tobytes() == getattr(second, name).tobytes()
    assert first.suggestions == second.suggestions


def test_linear_mode_sweeps_in_equal_steps():
    options = RangeTestOptions(start_lr=1e-4, end_lr=0.5, num_iter=50, mode="linear")
    result = find_lr(bottleneck(), 0, options)
    assert len(result.lr) == 50 and result.lr[0] == 1e-4
    assert result.lr[-1] == pytest.approx(0.5, rel=1e-12)
    assert np.allclose(np.diff(result.lr), (0.5 - 1e-4) / 49, rtol=1e-9)
    assert all(s.lr is None or options.start_lr <= s.lr <= options.end_lr for s in result.suggestions)


def test_groups_keep_their_ratio_while_the_lr_sweeps():
    trainer = range_test_trainer(bottleneck(), 0)  # layer 0.1, layer2 0.2
    test = RangeTest(trainer, RangeTestOptions(num_iter=40))
    assert test.reference_group == 1
    for _ in test.steps():
        lrs = [g["lr"] for g in trainer.optimizer.param_groups]
        assert lrs[0] / lrs[1] == pytest.approx(0.5, rel=1e-12)
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [0.1, 0.2]


def test_the_lrs_and_losses_equal_a_plain_torch_sweep():
    """SGD on the article's model, a LambdaLR written here stepped after every batch: the same lrs
    and losses bit for bit, and the lrs of torch's ExponentialLR to rounding."""
    start, end, n = 1e-5, 1.0, 40  # 4 batches an epoch: 10 epochs
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.3}}], samples=128, batch_size=32)
    result = find_lr(exp, 0, RangeTestOptions(start_lr=start, end_lr=end, num_iter=n, diverge_threshold=1e300))
    trained = plain_torch.train(
        lambda model: torch.optim.SGD(model.parameters(), lr=start), epochs=10, interval="step",
        make_scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda i: (end / start) ** (i / (n - 1))))
    assert result.lr.tolist() == [lrs[0] for lrs in trained.lrs]
    assert result.loss.tolist() == trained.losses
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=start)
    exponential = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=(end / start) ** (1 / (n - 1)))
    chained = []
    for _ in range(n):
        chained.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        exponential.step()
    assert np.allclose(result.lr, chained, rtol=1e-12, atol=0)
    beta, average = 0.98, 0.0
    for i, loss in enumerate(trained.losses):
        average = beta * average + (1 - beta) * loss
        assert result.smoothed[i] == pytest.approx(average / (1 - beta ** (i + 1)), rel=1e-15)


@pytest.mark.parametrize("options, path", [
    ({"start_lr": 0.0}, "start_lr"), ({"start_lr": -1.0}, "start_lr"), ({"end_lr": math.inf}, "end_lr"),
    ({"start_lr": 1.0, "end_lr": 1.0}, "start_lr"), ({"num_iter": 1}, "num_iter"), ({"num_iter": 2.5}, "num_iter"),
    ({"mode": "cubic"}, "mode"), ({"beta": 1.0}, "beta"), ({"diverge_threshold": 1.0}, "diverge_threshold"),
    ({"start_lr": "small"}, "start_lr"),
])
def test_invalid_options_name_the_option(options, path):
    with pytest.raises(ExperimentError) as caught:
        RangeTestOptions(**options)
    assert caught.value.path == path


def test_rules_say_why_they_cannot_answer():
    lrs = np.logspace(-7, 1, 100)
    rising = np.linspace(1.0, 2.0, 100)
    for s in suggest(lrs, rising, 100):
        assert s.lr is None and s.reason, s
    few = suggest(lrs[:3], rising[:3], 3)
    assert all(s.lr is None and "too few points" in s.reason for s in few)
    # a tenth of a minimum near the start falls outside the swept range
    dip = np.concatenate([np.linspace(2.0, 1.0, 12), np.linspace(1.1, 3.0, 88)])
    (minimum,) = [s for s in suggest(lrs, dip, 100, 1e-7) if s.rule == "minimum/10"]
    assert minimum.lr is None and "below the swept range" in minimum.reason


def test_valley_is_two_thirds_down_the_longest_valley():
    lrs = np.logspace(-7, 1, 100)
    # fastai's window is [10:95]; the losses fall from 10 to 70, then rise
    losses = np.concatenate([np.full(10, 5.0), np.linspace(4.0, 1.0, 61), np.linspace(1.1, 4.0, 29)])
    (valley,) = [s for s in suggest(lrs, losses, 100) if s.rule == "valley"]
    # fastai: start = end - lds = 70 - 61 = 9 (window indices 0..60 -> steps 10..70), then 2/3 down
    sections = 61 / 3
    assert valley.step == 10 + (60 - 61) + int(sections) + int(sections / 2)


def test_use_sets_the_optimizers_lr_or_the_schedulers_own_lr_options():
    run = {"optimizer": {"type": "SGD", "lr": 0.1}, "scheduler": {"type": "StepLR", "step_size": 5}}
    assert [t.path for t in lr_targets(run)] == [("optimizer", "lr")]
    one_cycle = {"optimizer": {"type": "AdamW", "lr": 0.01}, "scheduler": {"type": "OneCycleLR", "max_lr": 0.05}}
    assert [t.path for t in lr_targets(one_cycle)] == [("scheduler", "max_lr")]
    cyclic = {"optimizer": {"type": "SGD", "lr": 0.01},
              "scheduler": {"type": "CyclicLR", "base_lr": 0.001, "max_lr": 0.01}}
    assert [t.path for t in lr_targets(cyclic)] == [("scheduler", "base_lr"), ("scheduler", "max_lr")]
    nested = {"optimizer": {"type": "SGD", "lr": 0.01},
              "scheduler": {"type": "SequentialLR", "milestones": [5],
                            "schedulers": [{"type": "LinearLR"}, {"type": "OneCycleLR", "max_lr": 0.1}]}}
    assert [t.path for t in lr_targets(nested)] == [("scheduler", "schedulers", 1, "max_lr")]
    assert lr_targets({"optimizer": {"type": "Adam"}, "scheduler": {"type": "ReduceLROnPlateau"}})[0].path == \
        ("optimizer", "lr")

    raw = {"epochs": 3, "runs": [one_cycle, {"optimizer": {"type": "SGD", "lr": 0.1},
                                             "groups": [{"module": "layer", "lr": 0.1}, {"module": "layer2"}]}]}
    assert with_lr(raw, 0, 0.3)["runs"][0]["scheduler"]["max_lr"] == 0.3
    grouped = with_lr(raw, 1, 0.02, reference_group=0)["runs"][1]
    assert grouped["groups"][0]["lr"] == 0.02 and grouped["optimizer"]["lr"] == pytest.approx(0.02)
    grouped = with_lr(raw, 1, 0.5, reference_group=1)["runs"][1]  # layer2 trains at the optimizer's lr
    assert grouped["optimizer"]["lr"] == 0.5 and grouped["groups"][0]["lr"] == pytest.approx(0.5)
    per_group = {"runs": [{"optimizer": {"type": "SGD", "lr": 0.1},
                           "scheduler": {"type": "OneCycleLR", "max_lr": [0.1, 0.4]}}]}
    assert with_lr(per_group, 0, 0.8, reference_group=1)["runs"][0]["scheduler"]["max_lr"] == [0.2, 0.8]
    assert raw["runs"][0]["scheduler"]["max_lr"] == 0.05  # copies: the original is unchanged


def test_try_all_adds_a_run_per_suggestion_and_one_at_ten_times_the_steepest():
    raw = {"epochs": 3, "data": {"samples": 128}, "runs": [{"name": "adam", "optimizer": {"type": "Adam", "lr": 0.1}}]}
    result = find_lr(parse_experiment(raw), 0)
    tried = with_trial_runs(raw, 0, result.suggestions, result.reference_group)
    answered = [s for s in result.suggestions if s.answered]
    steepest = next(s.lr for s in answered if s.rule == "steepest")
    lrs = list(dict.fromkeys([s.lr for s in answered] + [10 * steepest]))  # one run per lr, in order
    assert [r["optimizer"]["lr"] for r in tried["runs"][1:]] == lrs
    assert len({r["name"] for r in tried["runs"]}) == len(tried["runs"])
    parse_experiment(tried)  # a valid experiment


def test_rules_that_answer_one_lr_share_one_run_named_after_them_all():
    from engine.lr_rules import Suggestion

    raw = {"epochs": 3, "runs": [{"name": "adam", "optimizer": {"type": "Adam", "lr": 0.1}}]}
    suggestions = [Suggestion("steepest", 0.05), Suggestion("minimum/10", None, reason="too few points"),
                   Suggestion("steep", 0.05), Suggestion("valley", 0.01)]
    tried = with_trial_runs(raw, 0, suggestions)
    assert [(r["name"], r["optimizer"]["lr"]) for r in tried["runs"][1:]] == [
        ("adam @ steepest, steep 0.05", 0.05), ("adam @ valley 0.01", 0.01), ("adam @ 10 x steepest 0.5", 0.5)]


# -- in the engine's loop (engine/worker.py), as the window asks for it ------------------------------
class _Engine:
    """A Worker in a daemon thread and the test's end of its pipe (waits on messages, never on time)."""

    def __init__(self):
        import multiprocessing
        import threading

        from engine.worker import Worker, serve

        self.conn, child = multiprocessing.Pipe()
        self.thread = threading.Thread(target=serve, args=(child,), kwargs={"worker": Worker(child)}, daemon=True)
        self.thread.start()
        assert self.recv()[0] == "ready"

    def recv(self) -> tuple:
        assert self.conn.poll(120), "the engine sent nothing"
        return self.conn.recv()

    def until(self, kinds: set[str], request: int) -> tuple[list, tuple]:
        """The find_rows of ``request`` until its message of one of ``kinds``."""
        rows = []
        while True:
            message = self.recv()
            if message[0] in kinds and message[1] == request:
                return rows, message
            if message[0] == "find_rows" and message[1] == request:
                rows.append(message[2])

    def close(self) -> None:
        self.conn.send(("shutdown",))
        self.thread.join(30)


@pytest.fixture
def engine_loop():
    engine = _Engine()
    yield engine
    engine.close()


RAW = {"seed": 0, "epochs": 3, "model": "bottleneck", "data": {"samples": 256},
       "runs": [{"name": "adam", "optimizer": {"type": "Adam", "lr": 0.05}}]}


def test_the_engine_streams_the_curve_then_the_result(engine_loop):
    engine_loop.conn.send(("find", 7, RAW, 0, {"num_iter": 80}))
    rows, (_, _, result) = engine_loop.until({"find_done"}, 7)
    expected = find_lr(parse_experiment(RAW), 0, RangeTestOptions(num_iter=80))
    assert np.vstack(rows).tobytes() == expected.rows().tobytes() == result.rows().tobytes()
    assert result.suggestions == expected.suggestions


def test_the_engine_stops_a_test_and_a_newer_one_supersedes_it(engine_loop):
    slow = {"start_lr": 1e-6, "end_lr": 1e-5, "num_iter": 10_000}
    engine_loop.conn.send(("find", 1, RAW, 0, slow))
    engine_loop.until({"find_rows"}, 1)
    engine_loop.conn.send(("find_stop", 1))
    rows, (_, _, result) = engine_loop.until({"find_done"}, 1)
    assert result.stop_reason.startswith("stopped at step") and len(result.lr) < 10_000
    engine_loop.conn.send(("find", 2, RAW, 0, slow))
    engine_loop.until({"find_rows"}, 2)
    engine_loop.conn.send(("find", 3, RAW, 0, {"num_iter": 20}))
    while True:  # request 2 says no more once 3 arrived: 3's result comes, never 2's
        message = engine_loop.recv()
        assert not (message[0] == "find_done" and message[1] == 2)
        if message[0] == "find_done" and message[1] == 3:
            break
    assert len(message[2].lr) == 20


def test_the_engine_says_why_a_test_cannot_run(engine_loop):
    engine_loop.conn.send(("find", 4, RAW, 0, {"num_iter": 1}))
    _, message = engine_loop.until({"find_failed", "find_done"}, 4)
    assert message[:3] == ("find_failed", 4, "num_iter")
    bad = {**RAW, "runs": [{"optimizer": {"type": "Adam", "lr": "fast"}}]}
    engine_loop.conn.send(("find", 5, bad, 0, {}))
    _, message = engine_loop.until({"find_failed", "find_done"}, 5)
    assert message[:3] == ("find_failed", 5, "runs[0].optimizer.lr")


def test_the_module_examples_run():
    import doctest

    import engine.range_test

    assert doctest.testmod(engine.range_test).failed == 0
