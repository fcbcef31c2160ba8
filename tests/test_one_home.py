"""One home per rule (issue 9): what is special about an optimizer or scheduler class is a trait in
the registry (``engine/registry/``), and every other module asks for the trait instead of naming
the class. This reads the source of the engine, the window and ``main.py`` and fails on any
comparison with a class name: ``== "ReduceLROnPlateau"``, ``in ("CyclicLR", "OneCycleLR")``,
``isinstance(s, ls.StepLR)``, ``spec.cls is ls.ChainedScheduler``, or a table keyed by class names.
Docstrings and comments may name classes (they are not code), and so may the registry's own tables.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.registry import OPTIMIZERS, SCHEDULERS

ROOT = Path(__file__).resolve().parents[1]
CLASS_NAMES = frozenset(OPTIMIZERS) | frozenset(SCHEDULERS)
REGISTRY = ROOT / "engine" / "registry"


def sources() -> list[Path]:
    files = [*sorted((ROOT / "engine").rglob("*.py")), *sorted((ROOT / "gui").rglob("*.py")), ROOT / "main.py"]
    return [f for f in files if REGISTRY not in f.parents and f.exists()]


def _names(node: ast.AST) -> list[str]:
    """The class names ``node`` spells as a value: "StepLR", ls.StepLR, StepLR, or a tuple/list/set of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in CLASS_NAMES:
        return [node.value]
    if isinstance(node, ast.Attribute) and node.attr in CLASS_NAMES:
        return [node.attr]
    if isinstance(node, ast.Name) and node.id in CLASS_NAMES:
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [n for item in node.elts for n in _names(item)]
    return []


def class_name_rules(text: str) -> list[tuple[int, str]]:
    """``(line, what)`` for each place ``text`` (Python source) decides something by a class name."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                found += [(node.lineno, f"compares with {n}") for n in _names(operand)]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("isinstance", "issubclass") and len(node.args) == 2):
            found += [(node.lineno, f"{node.func.id}(..., {n})") for n in _names(node.args[1])]
        elif isinstance(node, ast.Dict):
            found += [(node.lineno, f"a table keyed by {n}") for key in node.keys if key is not None
                      for n in _names(key)]
        elif isinstance(node, ast.match_case):
            found += [(node.pattern.lineno, f"case {n}") for sub in ast.walk(node.pattern)
                      if isinstance(sub, ast.MatchValue) for n in _names(sub.value)]
    return found


@pytest.mark.parametrize("code", [
    'if cfg.type == "ReduceLROnPlateau": pass',
    'if "SequentialLR" != cfg.type: pass',
    'ok = name in ("CyclicLR", "OneCycleLR")',
    "ok = isinstance(s, ls.StepLR)",
    "ok = isinstance(s, (ls.LambdaLR, torch.optim.lr_scheduler.MultiplicativeLR))",
    "ok = isinstance(opt, LBFGS)",
    "ok = issubclass(cls, torch.optim.Adam)",
    "ok = spec.cls is ls.ChainedScheduler",
    'ok = type(o).__name__ == "SGD"',
    'RULES = {"OneCycleLR": 1}',
    'match t:\n    case "CyclicLR": pass',
])
def test_the_check_finds_class_names_in_rules(code):
    assert class_name_rules(code), code


@pytest.mark.parametrize("code", [
    '"""Docstrings name ReduceLROnPlateau, isinstance(s, ls.StepLR) and == "SGD" freely."""',
    '# comments too: cfg.type == "SequentialLR"',
    'NEW_RUN = {"optimizer": {"type": "Adam", "lr": 0.1}}',  # a default value, not a rule
    "ok = isinstance(optimizer, torch.optim.Optimizer)",  # the base class: every optimizer
    'ok = spec.steps_with_metric and cfg.type != name',
])
def test_the_check_leaves_the_rest_alone(code):
    assert class_name_rules(code) == []


def test_no_module_outside_the_registry_decides_by_a_class_name():
    found = [f"{path.relative_to(ROOT)}:{line}: {what}" for path in sources()
             for line, what in class_name_rules(path.read_text(encoding="utf-8"))]
    assert len(sources()) > 40  # engine/, gui/ and main.py were read
    assert found == [], "ask the registry for a trait instead:\n" + "\n".join(found)


# -- the traits are true of the installed torch ------------------------------------------------------
def _every_scheduler_on_two_groups():
    """``(cfg, scheduler)`` for every scheduler class (nested ones too), built by the engine on an
    optimizer with two param groups."""
    from engine.model import make_dataset
    from engine.run import RunTrainer
    from tests.engine_helpers import experiment
    from tests.test_edits import SCHEDULER_TABLES

    tables = [t for n, t in SCHEDULER_TABLES.items() if n in SCHEDULERS]
    runs = [{"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
             "groups": [{"module": "layer", "lr": 0.1}, {"module": "layer2", "lr": 0.05}], "scheduler": t}
            for t in tables]
    exp = experiment(runs, epochs=30, model="bottleneck")
    dataset = make_dataset(exp.model, exp.seed, exp.data)
    pairs = []

    def walk(cfg, scheduler):
        pairs.append((cfg, scheduler))
        for child_cfg, child in zip(cfg.children, getattr(scheduler, "_schedulers", ())):
            walk(child_cfg, child)

    for i in range(len(runs)):
        run = RunTrainer(exp, i, dataset)
        walk(run.config.scheduler, run.scheduler)
    return pairs


def test_each_scheduler_has_the_per_group_lists_and_keys_its_traits_name():
    seen = set()
    for cfg, scheduler in _every_scheduler_on_two_groups():
        spec = SCHEDULERS[cfg.type]
        seen.add(spec.name)
        groups = scheduler.optimizer.param_groups
        adopt, rebase = spec.adopts_group, spec.rebase
        cycles = adopt.cycles_momentum and scheduler.cycle_momentum
        for attribute, _ in (*adopt.lists, *(adopt.momentum_lists if cycles else ())):
            assert len(getattr(scheduler, attribute)) == 2, (spec.name, attribute)  # one entry per group
        for attribute in rebase.lists:
            assert len(getattr(scheduler, attribute)) == 2, (spec.name, attribute)
        for key in (*(k for k, _, _ in adopt.group_keys), *rebase.group_keys,
                    *(("base_momentum", "max_momentum") if cycles else ())):
            assert all(key in g for g in groups), (spec.name, key)  # its constructor wrote them
        assert (spec.children_step is not None) == hasattr(scheduler, "_schedulers"), spec.name
    assert seen == set(SCHEDULERS)


def test_an_optimizers_momentum_key_is_the_one_torch_cycles():
    import torch
    from torch.optim import lr_scheduler as ls

    for spec in OPTIMIZERS.values():
        if spec.unsupported or spec.momentum_key is None:
            continue
        optimizer = spec.cls([torch.zeros(1, requires_grad=True)], lr=0.1)
        scheduler = ls.CyclicLR(optimizer, base_lr=0.01, max_lr=0.1, base_momentum=0.5, max_momentum=0.7)
        value = optimizer.param_groups[0][spec.momentum_key]
        assert (value[0] if spec.momentum_key == "betas" else value) == 0.7, spec.name  # torch set it there
        assert scheduler.use_beta1 == (spec.momentum_key == "betas"), spec.name
