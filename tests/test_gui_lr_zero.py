"""An lr of 0 (a paused group, torch accepts 0.0 <= lr) on the plots, a log lr axis included."""

from __future__ import annotations

import math

import pytest

from engine.preview import predict_schedule
from tests.engine_helpers import experiment, train

pytest.importorskip("PySide6")


@pytest.fixture
def panel(qtbot):
    from gui.plots import PlotPanel

    panel = PlotPanel()
    panel.resize(900, 700)
    qtbot.addWidget(panel)
    panel.show()
    return panel


# pyqtgraph warns computing the bounds of an all-zero curve on a log axis (all NaN there); harmless
@pytest.mark.filterwarnings("ignore:All-NaN slice encountered:RuntimeWarning")
@pytest.mark.parametrize("x_mode", ["epoch", "step"])
def test_a_group_at_lr_zero_draws_on_a_log_lr_axis(panel, qtbot, x_mode):
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
                       "groups": [{"module": "layer", "lr": 0}, {"module": "layer2", "lr": 0.1}],
                       "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5},
                       "edits": [{"epoch": 3, "group": 1, "lr": 0}]}], epochs=6, model="bottleneck")
    _, (result,) = train(exp)
    assert result.step_lr[:, 0].max() == 0 and result.step_lr[-1, 1] == 0
    panel.set_runs(["paused"], exp.steps_per_epoch)
    panel.set_options(x_mode=x_mode, log_lr=True)
    panel.set_results([result])
    panel.set_predictions([predict_schedule(exp, 0)])
    image = panel.grab()
    assert not image.isNull()

    def lr_range_holds(*values) -> bool:
        low, high = panel.lr_plot.viewRange()[1]
        return math.isfinite(low) and math.isfinite(high) and low <= min(values) and max(values) <= high

    qtbot.waitUntil(lambda: lr_range_holds(math.log10(0.1) - 1e-9, math.log10(0.1) + 1e-9))  # the log axis
    panel.set_options(log_lr=False)
    qtbot.waitUntil(lambda: lr_range_holds(0, 0.1))  # linear: lr 0 is drawn
