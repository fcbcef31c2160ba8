"""Forms generated from the registry: one for every scheduler and optimizer, round-tripping files."""

from __future__ import annotations

import tomllib

import pytest

from engine.parse import parse_experiment
from engine.presets import PRESETS_DIR
from engine.registry import OPTIMIZERS, SCHEDULERS
from tests.test_schedules import EXTRA, GOLDEN


def test_a_form_for_every_scheduler(qtbot):
    from gui.forms.scheduler_editor import SchedulerEditor

    editor = SchedulerEditor()
    qtbot.addWidget(editor)
    names = [editor.combo.itemText(i) for i in range(1, editor.combo.count())]
    assert names == list(SCHEDULERS)
    for name, spec in SCHEDULERS.items():
        form = editor.form(name)
        assert set(form.editors) == set(spec.params) - {"schedulers"}
        for param, field in form.editors.items():
            assert spec.params[param].describe() in field.toolTip()  # tooltips from the registry and torch's docs
        if "schedulers" in spec.params:
            assert name in editor.nested_lists


def test_a_form_for_every_optimizer(qtbot):
    from gui.forms.optimizer_editor import OptimizerEditor

    editor = OptimizerEditor()
    qtbot.addWidget(editor)
    model = editor.combo.model()
    for i in range(editor.combo.count()):
        name = editor.combo.itemText(i)
        assert model.item(i).isEnabled() == (not OPTIMIZERS[name].unsupported)
        assert set(editor.form(name).editors) == set(OPTIMIZERS[name].params)


TABLES = {**{n: t for n, (t, _) in GOLDEN.items()}, **{n: t for n, (t, _) in EXTRA.items()},
          "ReduceLROnPlateau": {"type": "ReduceLROnPlateau", "mode": "max", "factor": 0.5, "patience": 3,
                                "min_lr": [0.0, 0.001], "monitor": "train_loss", "threshold_mode": "abs"},
          "LambdaLR per group": {"type": "LambdaLR", "lr_lambda": ["0.95 ** epoch", "max(0.1, 1 - epoch / 50)"]},
          "CyclicLR everything": {"type": "CyclicLR", "base_lr": [0.01, 0.02], "max_lr": 0.1, "step_size_up": 4,
                                  "step_size_down": 6, "mode": "exp_range", "gamma": 0.99, "cycle_momentum": False,
                                  "interval": "epoch"}}


@pytest.mark.parametrize("name", TABLES)
def test_scheduler_form_round_trips(qtbot, name):
    from gui.forms.scheduler_editor import SchedulerEditor

    editor = SchedulerEditor()
    qtbot.addWidget(editor)
    editor.set_value(TABLES[name])
    assert editor.value() == TABLES[name]


@pytest.mark.parametrize("preset", sorted(p.stem for p in PRESETS_DIR.glob("*.toml")))
def test_every_preset_round_trips_through_the_setup_panel(qtbot, preset):
    from gui.setup_panel import SetupPanel

    raw = tomllib.loads((PRESETS_DIR / f"{preset}.toml").read_text())
    panel = SetupPanel()
    qtbot.addWidget(panel)
    panel.set_value(raw)
    for i in range(len(raw["runs"])):  # visiting each run must not change it
        panel.select_run(i)
    assert panel.value() == raw
    assert parse_experiment(panel.value()) == parse_experiment(raw)


def test_typing_into_fields(qtbot):
    from gui.forms.scheduler_editor import SchedulerEditor

    editor = SchedulerEditor()
    qtbot.addWidget(editor)
    editor.combo.setCurrentText("MultiStepLR")
    form = editor.form("MultiStepLR")
    qtbot.keyClicks(form.editors["milestones"].edit, "20, 40, 60, 80")
    qtbot.keyClicks(form.editors["gamma"].edit, "5e-1")
    assert editor.value() == {"type": "MultiStepLR", "milestones": [20, 40, 60, 80], "gamma": 0.5}
    form.editors["gamma"].edit.setText("half")
    assert form.editors["gamma"].error == 'expected a number > 0, got "half"'
    assert "expected a number > 0" in form.editors["gamma"].edit.toolTip()


def test_expression_fields_are_checked_as_you_type(qtbot):
    from gui.forms.scheduler_editor import SchedulerEditor

    editor = SchedulerEditor()
    qtbot.addWidget(editor)
    editor.combo.setCurrentText("LambdaLR")
    field = editor.form("LambdaLR").editors["lr_lambda"]
    field.edit.setText("0.95 ** epoch")
    assert field.error is None
    field.edit.setText("__import__('os')")
    assert "unknown function" in field.error
    field.edit.setText("epoch.real")
    assert "attribute access" in field.error
    field.edit.setText("0.9 ** epoch; 0.5 ** epoch")
    assert field.error is None and field.value() == ["0.9 ** epoch", "0.5 ** epoch"]


def test_nested_schedulers(qtbot):
    from gui.forms.scheduler_editor import SchedulerEditor

    editor = SchedulerEditor()
    qtbot.addWidget(editor)
    editor.combo.setCurrentText("SequentialLR")
    nested = editor.nested_lists["SequentialLR"]
    nested.add({"type": "LinearLR", "start_factor": 0.1, "total_iters": 5})
    nested.add({"type": "CosineAnnealingLR", "T_max": 45})
    editor.form("SequentialLR").editors["milestones"].edit.setText("5")
    assert editor.value() == {"type": "SequentialLR", "milestones": [5], "schedulers": [
        {"type": "LinearLR", "start_factor": 0.1, "total_iters": 5}, {"type": "CosineAnnealingLR", "T_max": 45}]}
    child = nested.children_editors[0]
    assert "ReduceLROnPlateau" not in [child.combo.itemText(i) for i in range(child.combo.count())]
    assert "interval" not in child.form("StepLR").editors  # the outer scheduler steps them


def test_groups_table_follows_the_optimizer(qtbot):
    from gui.forms.run_editor import RunEditor

    editor = RunEditor()
    qtbot.addWidget(editor)
    run = {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
           "groups": [{"module": "layer2", "lr": 0.2, "momentum": 0.5}, {"module": "layer", "lr": 0.1}]}
    editor.set_value(run)
    assert editor.value() == run  # group order (indices) is kept
    assert "momentum" in editor.groups.columns and "betas" not in editor.groups.columns
    editor.optimizer.combo.setCurrentText("Adam")
    assert "betas" in editor.groups.columns


def test_one_runs_values_never_show_in_another_run(qtbot):
    from gui.forms.run_editor import RunEditor

    editor = RunEditor()
    qtbot.addWidget(editor)
    editor.set_value({"optimizer": {"type": "SGD", "lr": 0.3, "momentum": 0.9},
                      "scheduler": {"type": "StepLR", "step_size": 3, "gamma": 0.2}})
    editor.set_value({"optimizer": {"type": "Adam", "lr": 0.01}})
    editor.optimizer.combo.setCurrentText("SGD")  # a person switches run b to SGD
    editor.scheduler.combo.setCurrentText("StepLR")
    assert editor.value() == {"optimizer": {"type": "SGD", "lr": 0.01}, "scheduler": {"type": "StepLR"}}


def test_switching_the_class_carries_shared_options(qtbot):
    from gui.forms.optimizer_editor import OptimizerEditor

    editor = OptimizerEditor()
    qtbot.addWidget(editor)
    editor.set_value({"type": "Adam", "lr": 0.02, "weight_decay": 0.01, "amsgrad": True})
    editor.combo.setCurrentText("SGD")
    assert editor.value() == {"type": "SGD", "lr": 0.02, "weight_decay": 0.01}


def test_what_a_form_cannot_show_is_kept_for_validation_to_name(qtbot):
    from engine.errors import ExperimentError
    from engine.parse import parse_experiment
    from gui.forms.scheduler_editor import SchedulerEditor

    editor = SchedulerEditor()
    qtbot.addWidget(editor)
    editor.set_value({"type": "StepLr", "step_size": 5})
    assert editor.value() == {"type": "StepLr", "step_size": 5}
    with pytest.raises(ExperimentError, match='did you mean "StepLR"'):
        parse_experiment({"runs": [{"optimizer": {"type": "Adam"}, "scheduler": editor.value()}]})
    editor.set_value({"type": "StepLR", "step_size": 5, "step_sise": 7})
    assert editor.value() == {"type": "StepLR", "step_size": 5, "step_sise": 7}
    assert "step_sise = 7" in editor.extras_label.text()
    editor.remove_extras.click()
    assert editor.value() == {"type": "StepLR", "step_size": 5}
    editor.combo.setCurrentText("ExponentialLR")  # a real choice replaces an unknown one
    assert editor.value() == {"type": "ExponentialLR"}
