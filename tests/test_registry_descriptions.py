"""Class descriptions: where torch's first docstring line misleads, the registry says it plainly.

The window shows ``ClassSpec.summary`` under each optimizer and scheduler picker, and
``python main.py describe NAME`` prints it before torch's own words (``torch_summary``).
No Qt here.
"""

from __future__ import annotations

import inspect

import pytest

from engine.registry import OPTIMIZERS, SCHEDULERS, overrides, torch_optimizer_classes, torch_scheduler_classes
from main import main

ALL = {**OPTIMIZERS, **SCHEDULERS}
# The keys each per-class table may use: a typo ("sumary") must not silently stop applying.
OPTIMIZER_KEYS = {"summary", "params", "unsupported", "max_groups", "lr_note", "lr_note_if"}
SCHEDULER_KEYS = {"summary", "params", "interval", "effect", "monitor", "children", "length", "fractional",
                  "length_factors", "calls", "adopt", "rebase"}


def test_every_override_names_a_real_class_and_known_keys():
    assert set(overrides.OPTIMIZERS) <= set(torch_optimizer_classes())
    assert set(overrides.SCHEDULERS) <= set(torch_scheduler_classes())
    for name, table in overrides.OPTIMIZERS.items():
        assert set(table) <= OPTIMIZER_KEYS, name
    for name, table in overrides.SCHEDULERS.items():
        assert set(table) <= SCHEDULER_KEYS, name
        # a length trait names an option of the class (the one the engine derives when left out)
        assert table.get("length") is None or table["length"] in SCHEDULERS[name].params, name
        # and its factors too; "calls" names expression options, with a known kind
        assert set(table.get("length_factors", ())) <= set(SCHEDULERS[name].params), name
        for option, kind in table.get("calls", {}).items():
            assert option in SCHEDULERS[name].params and kind in {"every_count", "after_initial", "cycle_or_count"}
        # a scheduler that nests others says how it steps them, and one that does has a schedulers option
        assert table.get("children") in (None, "sequential", "chained"), name
        assert (table.get("children") is not None) == ("schedulers" in SCHEDULERS[name].params), name


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_class_has_a_summary_short_enough_to_show(name):
    spec = ALL[name]
    assert spec.summary.strip()
    assert spec.torch_summary.strip()
    assert len(spec.summary) <= 300  # the window shows at most 300 characters under a picker
    assert "\n" not in spec.summary


def test_torch_summary_is_the_first_paragraph_of_torchs_docstring():
    """Read here from torch's docstrings, not through the registry's code."""
    for name, spec in ALL.items():
        assert spec.torch_summary == " ".join(inspect.getdoc(spec.cls).split("\n\n")[0].split()), name
    assert SCHEDULERS["LambdaLR"].torch_summary == "Sets the initial learning rate."
    assert SCHEDULERS["StepLR"].summary == SCHEDULERS["StepLR"].torch_summary  # torch's is right: kept


def test_no_summary_is_torchs_misleading_lambdalr_line():
    assert all(spec.summary != "Sets the initial learning rate." for spec in ALL.values())


def test_the_summaries_the_issue_names():
    assert "lr_lambda" in SCHEDULERS["LambdaLR"].summary
    assert "restart" in SCHEDULERS["CosineAnnealingWarmRestarts"].summary
    assert SCHEDULERS["CosineAnnealingWarmRestarts"].summary != SCHEDULERS["CosineAnnealingLR"].summary
    assert "no restarts" in SCHEDULERS["CosineAnnealingLR"].summary
    assert "total_iters" in SCHEDULERS["ConstantLR"].summary
    assert "compound" in SCHEDULERS["MultiplicativeLR"].summary


def test_no_optimizer_summary_just_names_its_algorithm():
    for name, spec in OPTIMIZERS.items():
        assert not spec.summary.startswith("Implements"), name


def test_every_summary_is_distinct():
    summaries = [spec.summary for spec in ALL.values()]
    assert len(set(summaries)) == len(summaries)


def test_describe_prints_the_summary_then_torchs_words(capsys):
    assert main(["describe", "LambdaLR"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("LambdaLR: " + SCHEDULERS["LambdaLR"].summary)
    assert "torch's docs: Sets the initial learning rate." in out
