"""Mid-run edits of param_groups, and groups added mid-run, under real schedulers."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler as ls

from engine.status import RunStatus
from tests.engine_helpers import experiment, torch_lrs, train
from tests.test_schedules import GOLDEN

SPE = 4  # steps per epoch in these experiments


def run_one(scheduler=None, edits=(), epochs=30, **run):
    table = {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}, **run}
    if scheduler:
        table["scheduler"] = scheduler
    if edits:
        table["edits"] = list(edits)
    session, (result,) = train(experiment([table], epochs=epochs))
    return session.runs[0], result


def test_edit_under_steplr_carries_on_from_the_new_lr():
    run, result = run_one({"type": "StepLR", "step_size": 5, "gamma": 0.9}, [{"epoch": 12, "group": 0, "lr": 0.05}])
    expected, _ = torch_lrs(lambda o: ls.StepLR(o, 5, 0.9), 30 * SPE, interval_steps=SPE, edits={12 * SPE: 0.05})
    assert result.step_lr.tolist() == expected
    assert result.epoch_lr[12, 0] == 0.05
    assert result.epoch_lr[15, 0] == 0.05 * 0.9  # StepLR multiplied the edited value
    (edit,) = [e for e in result.events if e.kind == "edit"]
    assert (edit.epoch, edit.step, edit.group) == (12, 12 * SPE, 0) and "0.05" in edit.detail


def test_edit_under_lambdalr_is_overwritten_at_the_next_step():
    run, result = run_one({"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"}, [{"epoch": 12, "lr": 0.05}])
    expected, _ = torch_lrs(lambda o: ls.LambdaLR(o, lambda e: 0.95 ** e), 30 * SPE, interval_steps=SPE,
                            edits={12 * SPE: 0.05})
    assert result.step_lr.tolist() == expected
    assert result.epoch_lr[12, 0] == 0.05
    assert result.epoch_lr[13, 0] == 0.1 * 0.95 ** 13  # LambdaLR recomputed it from base_lrs


def test_rebase_makes_a_closed_form_schedule_continue_from_the_edit():
    run, result = run_one({"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"},
                          [{"epoch": 12, "lr": 0.05, "rebase": True}])
    assert result.epoch_lr[12, 0] == 0.05
    assert math.isclose(result.epoch_lr[13, 0], 0.05 * 0.95, rel_tol=1e-12)
    assert math.isclose(result.epoch_lr[20, 0], 0.05 * 0.95 ** 8, rel_tol=1e-12)
    assert "rebased" in [e for e in result.events if e.kind == "edit"][0].detail


def test_step_edit_applies_before_that_optimizer_step():
    run, result = run_one(None, [{"step": 13, "lr": 0.02}])
    lrs = result.step_lr[:, 0].tolist()
    assert lrs[12] == 0.1 and lrs[13] == 0.02 and lrs[-1] == 0.02
    assert result.epoch_lr[3, 0] == 0.1  # the epoch's first step still had the old lr


def test_edit_of_another_option():
    run, result = run_one(None, [{"epoch": 5, "momentum": 0.5}])
    assert result.step_momentum[5 * SPE - 1, 0] == 0.9
    assert result.step_momentum[5 * SPE, 0] == 0.5


def test_edit_without_group_sets_every_group():
    run, result = run_one(None, [{"epoch": 3, "lr": 0.07}],
                          groups=[{"module": "layer", "lr": 0.1}, {"module": "layer2", "lr": 0.2}])
    assert result.epoch_lr[3].tolist() == [0.07, 0.07]
    assert len([e for e in result.events if e.kind == "edit"]) == 2


def test_torch_alone_breaks_when_a_group_is_added_under_a_scheduler():
    """Why the engine adopts new groups: torch 2.13's schedulers fail on the next step."""
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([a], lr=0.1)
    scheduler = ls.LambdaLR(optimizer, lambda e: 0.9 ** e)
    optimizer.add_param_group({"params": [b], "lr": 0.01})
    assert "initial_lr" not in optimizer.param_groups[1]
    with pytest.raises(ValueError):
        optimizer.step()
        scheduler.step()


ADD_LAYER2 = [{"epoch": 10, "add_group": {"module": "layer2", "lr": 0.01}}]
SCHEDULER_TABLES = {**{n: t for n, (t, _) in GOLDEN.items()},
                    "ReduceLROnPlateau": {"type": "ReduceLROnPlateau", "patience": 1, "monitor": "train_loss",
                                          "min_lr": [0.0, 0.001]},
                    "LambdaLR per group": {"type": "LambdaLR", "lr_lambda": ["0.95 ** epoch", "0.5 ** epoch"]}}


@pytest.mark.parametrize("name", SCHEDULER_TABLES)
def test_add_group_under_every_scheduler(name):
    run, result = run_one(SCHEDULER_TABLES[name], ADD_LAYER2, groups=[{"module": "layer", "lr": 0.1}])
    assert run.status == RunStatus.FINISHED, result.events[-1]
    assert len(run.optimizer.param_groups) == 2
    new = result.epoch_lr[:, 1]
    assert all(math.isnan(x) for x in new[:10]) and all(math.isfinite(x) and x >= 0 for x in new[10:])
    (added,) = [e for e in result.events if e.kind == "add_group"]
    assert (added.epoch, added.group) == (10, 1)


def test_added_group_follows_a_chainable_scheduler_from_its_own_lr():
    run, result = run_one({"type": "StepLR", "step_size": 5, "gamma": 0.5}, ADD_LAYER2,
                          groups=[{"module": "layer", "lr": 0.1}])
    assert result.epoch_lr[10:, 1].tolist() == [0.01 * 0.5 ** (e // 5 - 2) for e in range(10, 30)]


def test_added_group_joins_a_closed_form_schedule_with_its_lr_as_base():
    run, result = run_one({"type": "LambdaLR", "lr_lambda": ["0.95 ** epoch", "0.5 ** epoch"]}, ADD_LAYER2,
                          groups=[{"module": "layer", "lr": 0.1}])
    assert result.epoch_lr[10, 1] == 0.01
    assert result.epoch_lr[11:, 1].tolist() == [0.01 * 0.5 ** e for e in range(11, 30)]
    assert run.scheduler.base_lrs == [0.1, 0.01]
    assert run.optimizer.param_groups[1]["initial_lr"] == 0.01


def test_added_group_gets_the_bounds_of_a_bounded_schedule():
    run, result = run_one({"type": "OneCycleLR", "max_lr": 0.5}, ADD_LAYER2, groups=[{"module": "layer", "lr": 0.1}])
    start = 10 * SPE
    assert result.step_lr[start, 1] == 0.01  # its own lr until OneCycleLR's next step
    assert result.step_lr[start + 1:, 1].tolist() == result.step_lr[start + 1:, 0].tolist()


def test_added_group_rows_start_at_its_epoch_in_the_csv(tmp_path):
    from engine.results import write_results

    run, result = run_one({"type": "StepLR", "step_size": 5}, ADD_LAYER2, groups=[{"module": "layer", "lr": 0.1}])
    write_results([result], tmp_path)
    rows = (tmp_path / "epochs.csv").read_text().splitlines()[1:]
    group1 = [r.split(",") for r in rows if r.split(",")[2] == "1"]
    assert len(group1) == 20 and group1[0][1] == "10"
    steps = [r.split(",") for r in (tmp_path / "steps.csv").read_text().splitlines()[1:]]
    assert min(int(r[1]) for r in steps if r[3] == "1") == 10 * SPE
