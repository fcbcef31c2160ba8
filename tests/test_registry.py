"""The registry covers the installed torch, and its overrides cannot silently stop applying."""

from __future__ import annotations

import inspect

import pytest
import torch

from engine.errors import ExperimentError
from engine.fieldtypes import Number, Unavailable
from engine.registry import (
    OPTIMIZERS,
    SCHEDULERS,
    optimizer_spec,
    overrides,
    scheduler_spec,
)
from engine.registry.signatures import UnmappedParameter, build_class_spec

ISSUE_SCHEDULERS = {"LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
                    "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
                    "CyclicLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler"}
ISSUE_OPTIMIZERS = {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
                    "ASGD", "Rprop", "Adafactor", "LBFGS"}


def test_every_public_torch_scheduler_is_in_the_registry():
    """Found here another way than the registry finds them (every public LRScheduler subclass in the
    module's namespace, not its ``__all__``), and named: torch 2.13's fifteen."""
    module = torch.optim.lr_scheduler
    found = {name for name, obj in vars(module).items() if inspect.isclass(obj) and not name.startswith("_")
             and issubclass(obj, module.LRScheduler) and obj is not module.LRScheduler}
    assert set(SCHEDULERS) == found == ISSUE_SCHEDULERS
    assert all(SCHEDULERS[name].cls is getattr(module, name) for name in found)


def test_every_torch_optimizer_is_in_the_registry():
    """Found from ``torch.optim.__all__`` (the registry scans the namespace); all of the issue's
    train this model, and the two that cannot are there to be refused with a reason."""
    found = {name for name in torch.optim.__all__ if inspect.isclass(getattr(torch.optim, name))
             and issubclass(getattr(torch.optim, name), torch.optim.Optimizer) and name != "Optimizer"}
    assert set(OPTIMIZERS) == found == ISSUE_OPTIMIZERS | {"SparseAdam", "Muon"}
    assert {n for n, s in OPTIMIZERS.items() if not s.unsupported} == ISSUE_OPTIMIZERS
    assert all(OPTIMIZERS[name].cls is getattr(torch.optim, name) for name in found)


def test_unsupported_optimizers_are_refused_with_a_reason():
    for name in ("SparseAdam", "Muon"):
        assert OPTIMIZERS[name].unsupported
        with pytest.raises(ExperimentError, match=f"{name} cannot train this model"):
            optimizer_spec(name)


def test_override_tables_name_only_real_classes_and_parameters():
    assert set(overrides.SCHEDULERS) <= set(SCHEDULERS)
    assert set(overrides.OPTIMIZERS) <= set(OPTIMIZERS)
    for name, table in overrides.SCHEDULERS.items():
        signature = inspect.signature(SCHEDULERS[name].cls.__init__).parameters
        assert set(table.get("params", {})) <= set(signature), name
    for name, table in overrides.OPTIMIZERS.items():
        signature = inspect.signature(OPTIMIZERS[name].cls.__init__).parameters
        assert set(table.get("params", {})) <= set(signature), name
    used = {p for spec in OPTIMIZERS.values() for p in spec.params}
    assert set(overrides.OPTIMIZER_COMMON) <= used


def test_an_override_naming_a_missing_parameter_is_an_error():
    with pytest.raises(UnmappedParameter, match="gamma_typo"):
        build_class_spec(torch.optim.lr_scheduler.StepLR, bound=overrides.SCHEDULER_BOUND,
                         overrides={"gamma_typo": Number()})


def test_a_parameter_with_no_mapping_needs_an_override():
    class Odd(torch.optim.lr_scheduler.LRScheduler):
        def __init__(self, optimizer, fn: "Callable[[int], float]", last_epoch=-1):  # noqa: F821
            super().__init__(optimizer, last_epoch)

    with pytest.raises(UnmappedParameter, match="Odd.fn"):
        build_class_spec(Odd, bound=overrides.SCHEDULER_BOUND, overrides={})


def test_every_constructor_parameter_is_described():
    for table, bound in ((SCHEDULERS, overrides.SCHEDULER_BOUND), (OPTIMIZERS, overrides.OPTIMIZER_BOUND)):
        for name, spec in table.items():
            params = set(inspect.signature(spec.cls.__init__).parameters) - {"self"} - bound
            assert params == set(spec.torch_params), name


def test_step_intervals_and_monitor():
    assert SCHEDULERS["OneCycleLR"].params["interval"].default == "step"
    assert SCHEDULERS["CyclicLR"].params["interval"].default == "step"
    assert SCHEDULERS["StepLR"].params["interval"].default == "epoch"
    assert SCHEDULERS["ReduceLROnPlateau"].params["monitor"].default == "val_loss"
    assert "monitor" not in SCHEDULERS["StepLR"].params


def test_docs_come_from_torch():
    assert "Period of learning rate decay" in SCHEDULERS["StepLR"].params["step_size"].doc
    assert "learning rate" in OPTIMIZERS["Adam"].params["lr"].doc
    assert SCHEDULERS["StepLR"].summary.startswith("Decays the learning rate")


def test_capturable_and_differentiable_are_listed_but_unavailable():
    assert isinstance(OPTIMIZERS["Adam"].params["capturable"].type, Unavailable)
    assert isinstance(OPTIMIZERS["Adam"].params["differentiable"].type, Unavailable)


def test_did_you_mean():
    with pytest.raises(ExperimentError, match='did you mean "StepLR"'):
        scheduler_spec("StepLr")
