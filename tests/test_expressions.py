"""The safe evaluator behind lr_lambda and scale_fn: exact results, and refusals that name the field."""

from __future__ import annotations

import math

import pytest
from torch.optim.lr_scheduler import CyclicLR, LambdaLR

from engine.errors import ExperimentError
from engine.expressions import MAX_LENGTH, ExpressionFailure, compile_expression
from engine.parse import parse_experiment
from tests.engine_helpers import torch_lrs, train

PATH = "runs[0].scheduler.lr_lambda"

# (expression, the same as Python), compared for epoch = 0..200 with ==.
EQUIVALENT = [
    ("0.95 ** epoch", lambda e: 0.95 ** e),
    ("1 / (1 + epoch)", lambda e: 1 / (1 + e)),
    ("1 - epoch / 200", lambda e: 1 - e / 200),
    ("max(0.1, 1 - epoch / 50)", lambda e: max(0.1, 1 - e / 50)),
    ("min(1, (epoch + 1) / 10)", lambda e: min(1, (e + 1) / 10)),
    ("0.5 * (1 + cos(pi * epoch / 200))", lambda e: 0.5 * (1 + math.cos(math.pi * e / 200))),
    ("exp(-0.01 * epoch)", lambda e: math.exp(-0.01 * e)),
    ("e ** (-epoch / 100)", lambda e: math.e ** (-e / 100)),
    ("0.5 ** (epoch // 30)", lambda e: 0.5 ** (e // 30)),
    ("0.1 if epoch >= 100 else 1", lambda e: 0.1 if e >= 100 else 1),
    ("1 if epoch % 10 < 5 else 0.5", lambda e: 1 if e % 10 < 5 else 0.5),
    ("sqrt(epoch + 1) / 15", lambda e: math.sqrt(e + 1) / 15),
    ("log(epoch + 2) / log(202)", lambda e: math.log(e + 2) / math.log(202)),
    ("tanh(epoch / 50)", lambda e: math.tanh(e / 50)),
    ("abs(sin(epoch / 7)) + 0.01", lambda e: abs(math.sin(e / 7)) + 0.01),
    ("floor(epoch / 3) * 0.01 + ceil(epoch / 7) * 0.001 + 1",
     lambda e: math.floor(e / 3) * 0.01 + math.ceil(e / 7) * 0.001 + 1),
    ("-epoch ** 0.5 + 20", lambda e: -e ** 0.5 + 20),
    ("(epoch - 100) ** 2 / 10000 + 0.01", lambda e: (e - 100) ** 2 / 10000 + 0.01),
    ("2 ** -epoch", lambda e: 2.0 ** -e),
    ("   0.9 ** epoch   ", lambda e: 0.9 ** e),
]


@pytest.mark.parametrize("text, python", EQUIVALENT, ids=[t for t, _ in EQUIVALENT])
def test_same_floats_as_python(text, python):
    f = compile_expression(text, "epoch", PATH)
    for epoch in range(201):
        got = f(epoch)
        assert type(got) is float
        assert got == float(python(epoch)), (text, epoch)


def test_other_variable_name():
    f = compile_expression("1 / (2 ** (x - 1))", "x", "runs[0].scheduler.scale_fn")
    assert [f(x) for x in range(1, 6)] == [1 / (2.0 ** (x - 1)) for x in range(1, 6)]
    with pytest.raises(ExperimentError) as info:
        compile_expression("0.9 ** epoch", "x", "runs[0].scheduler.scale_fn")
    assert info.value.path == "runs[0].scheduler.scale_fn"
    assert 'unknown name "epoch"' in info.value.message


def test_each_compile_is_independent():
    f = compile_expression("0.5 ** epoch", "epoch", PATH)
    g = compile_expression("0.25 ** epoch", "epoch", PATH)
    assert (f(2), g(2), f(3)) == (0.25, 0.0625, 0.125)


# (text, part of the message); every one must be refused at compile time, naming the path.
REFUSED = [
    ('__import__("os")', 'unknown function "__import__"'),
    ("__import__('os').system('true')", "attribute access"),
    ("().__class__", "attribute access (a.b) is not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "attribute access"),
    ("epoch.real", "attribute access (a.b) is not allowed"),
    ("exp.__globals__", "attribute access"),
    ("epoch[0]", "indexing (a[b]) is not allowed"),
    ('"abc"', "only numbers are allowed"),
    ("'a' * 3", "only numbers are allowed"),
    ('f"{epoch}"', "strings are not allowed"),
    ("lambda e: e", "without lambda"),
    ("(lambda: 1)()", "lambda"),
    ("a = 1", "is not a valid expression"),
    ("import os", "is not a valid expression"),
    ("(epoch := 1)", "assignments are not allowed"),
    ('open("x")', 'unknown function "open"'),
    ("eval('1')", 'unknown function "eval"'),
    ("getattr(epoch, 'real')", 'unknown function "getattr"'),
    ("foo", 'unknown name "foo"'),
    ("lr * epoch", 'unknown name "lr"'),
    ("exp", 'unknown name "exp"'),
    ("[epoch for epoch in (1, 2)]", "not allowed"),
    ("[epoch]", "not allowed"),
    ("{epoch: 1}", "not allowed"),
    ("min(epoch, 1, key=abs)", "keyword arguments are not allowed"),
    ("10 ** 10 ** 10", "too large"),
    ("2 ** 100000", "too large"),
    ("9 ** 9 ** 9", "too large"),
    ("10.0 ** 400", "too large"),
    ("1e308 * 10", "gave inf"),
    ("epoch is 1", "epoch is 1"),  # comparisons simpleeval has no operator for
    ("epoch in 1", "epoch in 1"),  # comparisons simpleeval has no operator for
    ("epoch not in 1", "epoch not in 1"),  # comparisons simpleeval has no operator for
    ("epoch is not 1", "epoch is not 1"),  # comparisons simpleeval has no operator for
    ("x" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH} are allowed"),
    ("1 + " * 100 + "epoch", f"at most {MAX_LENGTH} are allowed"),
    ("", "expected a math expression in epoch"),
    ("   ", "expected a math expression in epoch"),
    ("epoch > 3", "not a number"),
    ("None", "only numbers are allowed"),
    ("1j", "only numbers are allowed"),
    ("1 / 0", "division by zero"),
    ("log(0)", "math domain error"),
]


@pytest.mark.parametrize("text, part", REFUSED, ids=[t[:40] for t, _ in REFUSED])
def test_refused_naming_the_path(text, part):
    with pytest.raises(ExperimentError) as info:
        compile_expression(text, "epoch", PATH)
    assert info.value.path == PATH
    assert part in info.value.message
    assert str(info.value).startswith(PATH + ": ")


@pytest.mark.parametrize("text", ["1 << 10", "~epoch", "epoch | 1", "epoch ^ 1", "epoch @ 1"])
def test_operators_without_a_handler_are_refused_in_plain_words(text):
    with pytest.raises(ExperimentError) as info:
        compile_expression(text, "epoch", PATH)
    assert info.value.path == PATH
    assert "object at 0x" not in info.value.message and "<ast." not in info.value.message


def test_at_most_max_length_is_accepted():
    text = "1" + " + 0" * ((MAX_LENGTH - 1) // 4)
    assert len(text) <= MAX_LENGTH
    assert compile_expression(text, "epoch", PATH)(5) == 1.0


def test_non_string_refused():
    for value in (0.9, 1, None, ["0.9 ** epoch"]):
        with pytest.raises(ExperimentError) as info:
            compile_expression(value, "epoch", PATH)
        assert info.value.path == PATH


def test_no_side_effects_through_refused_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in ('open("pwned", "w")', '__import__("os").mkdir("pwned")'):
        with pytest.raises(ExperimentError):
            compile_expression(text, "epoch", PATH)
    assert not (tmp_path / "pwned").exists()


# -- failures at run time: ExpressionFailure, never a Python error ---------------------------

@pytest.mark.parametrize("text, bad", [
    ("1 / (epoch - 10)", 10),
    ("1 / (epoch % 7)", 7),
    ("epoch // (epoch - 5)", 5),
    ("log(21 - epoch)", 21),
    ("sqrt(5 - epoch)", 6),
    ("epoch ** 1000", 3),
    ("exp(epoch)", 710),
    ("(epoch - 10) ** -1", 10),
    ("(10 - epoch) ** 0.5", 11),
    ("1 if epoch < 8 else epoch > 9", 8),
])
def test_runtime_failure(text, bad):
    f = compile_expression(text, "epoch", PATH)
    f(bad - 1 if bad > 0 else 1)  # fine just before
    with pytest.raises(ExpressionFailure) as info:
        f(bad)
    assert f"at epoch = {bad}" in str(info.value)
    assert isinstance(info.value, ArithmeticError)


# -- through a whole experiment ---------------------------------------------------------------

def _lambda_experiment(lr_lambda, epochs=6, **scheduler):
    return {"epochs": epochs, "data": {"samples": 64, "batch_size": 32},
            "runs": [{"name": "r", "optimizer": {"type": "SGD", "lr": 0.1},
                      "scheduler": {"type": "LambdaLR", "lr_lambda": lr_lambda, **scheduler}}]}


def assert_trains_as_torch(experiment, make_scheduler, per_step=False):
    """The run trains to its end, its lrs those of ``make_scheduler`` stepped by hand in torch."""
    session, (result,) = train(experiment)
    assert session.runs[0].status == "finished", result.events
    expected, _ = torch_lrs(make_scheduler, session.total_steps, lr=0.1,
                            interval_steps=1 if per_step else session.steps_per_epoch)
    assert result.step_lr[:, 0].tolist() == [lrs[0] for lrs in expected]


def test_experiment_refuses_failure_at_epoch_3():
    with pytest.raises(ExperimentError) as info:
        parse_experiment(_lambda_experiment("1 / (epoch - 3)"))
    assert info.value.path == PATH
    assert "epoch = 3" in info.value.message
    assert "division by zero" in info.value.message


def test_experiment_checks_every_epoch_it_will_pass():
    with pytest.raises(ExperimentError) as info:
        parse_experiment(_lambda_experiment("1 / (epoch - 40)", epochs=50))
    assert "epoch = 40" in info.value.message
    # beyond the run's steps it is never called, so it is fine
    experiment = parse_experiment(_lambda_experiment("1 / (epoch - 40)", epochs=30))
    assert_trains_as_torch(experiment, lambda o: LambdaLR(o, lambda epoch: 1 / (epoch - 40)))


def test_experiment_step_interval_checks_steps():
    # 64 samples, 52 train, batch 32 -> 2 steps per epoch; 6 epochs -> 12 scheduler steps.
    with pytest.raises(ExperimentError) as info:
        parse_experiment(_lambda_experiment("1 / (epoch - 11)", interval="step"))
    assert "epoch = 11" in info.value.message
    experiment = parse_experiment(_lambda_experiment("1 / (epoch - 11)"))  # per epoch: called up to 5
    assert_trains_as_torch(experiment, lambda o: LambdaLR(o, lambda epoch: 1 / (epoch - 11)))


def test_experiment_per_group_list_item_path():
    raw = _lambda_experiment(["0.9 ** epoch", "epoch.real"])
    raw["runs"][0]["groups"] = [{"module": "layer"}, {"module": "layer2"}]
    with pytest.raises(ExperimentError) as info:
        parse_experiment(raw)
    assert info.value.path == PATH + "[1]"
    assert "attribute access" in info.value.message


@pytest.mark.parametrize("text", ["epoch in 1", "epoch is 1", '__import__("os")', "2 ** 100000"])
def test_experiment_refuses_unsafe_expression(text):
    with pytest.raises(ExperimentError) as info:
        parse_experiment(_lambda_experiment(text))
    assert info.value.path == PATH


def test_cyclic_scale_fn_checked_over_cycles():
    raw = {"epochs": 6, "data": {"samples": 64, "batch_size": 32},
           "runs": [{"name": "r", "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
                     "scheduler": {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2,
                                   "scale_fn": "1 / (x - 1)", "scale_mode": "cycle"}}]}
    with pytest.raises(ExperimentError) as info:
        parse_experiment(raw)
    assert info.value.path == "runs[0].scheduler.scale_fn"
    assert "x = 1" in info.value.message
    raw["runs"][0]["scheduler"]["scale_fn"] = "1 / x"  # called from x = 1 on in cycle mode: fine
    experiment = parse_experiment(raw)
    assert_trains_as_torch(experiment, lambda o: CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                                          scale_fn=lambda x: 1 / x, scale_mode="cycle"),
                           per_step=True)
