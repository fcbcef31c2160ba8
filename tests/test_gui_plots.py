"""The plot panel on its own: readout, smoothing, markers, ranges, a million points."""

from __future__ import annotations

import numpy as np
import pytest

from engine.preview import predict_schedule
from engine.recorder import Event, RunResults
from tests.engine_helpers import experiment, train


@pytest.fixture
def panel(qtbot):
    from gui.plots import PlotPanel

    panel = PlotPanel()
    panel.resize(900, 700)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def trained(**run):
    exp = experiment([{"optimizer": {"type": "Adam", "lr": 0.1},
                       "scheduler": {"type": "StepLR", "step_size": 3, "gamma": 0.5}, **run}], epochs=9)
    session, results = train(exp)
    return exp, results


def test_readout_gives_exact_values(panel):
    exp, (r,) = trained(edits=[{"epoch": 4, "lr": 0.07}])
    panel.set_runs(["a"], exp.steps_per_epoch)
    panel.set_results([r])
    text = panel.readout_text(4.2)
    assert "epoch 4" in text and "lr 0.07" in text and f"loss {r.train_loss[4]:.6g}" in text
    panel.set_options(x_mode="step")
    assert f"lr {r.step_lr[5, 0]:.6g}" in panel.readout_text(5)


def test_event_markers_sit_on_their_epoch(panel):
    exp, (r,) = trained(manual={"every": 2, "factor": 0.5})
    panel.set_runs(["a"], exp.steps_per_epoch)
    panel.set_results([r])
    xs = sorted(p.pos().x() for p in panel.runs[0].events.points())
    assert xs == [e.epoch for e in r.events if e.kind == "manual_decay"]


def test_smoothing_is_an_exponential_moving_average(panel):
    from gui.plots import ema

    values = np.array([1.0, 0.0, 0.0, 1.0])
    assert ema(values, 0.5).tolist() == [1.0, 0.5, 0.25, 0.625]
    exp, (r,) = trained()
    panel.set_runs(["a"], exp.steps_per_epoch)
    panel.set_results([r])
    panel.set_options(smoothing=0.9)
    assert np.allclose(panel.runs[0].train.yData, ema(r.train_loss, 0.1))


def test_smoothing_a_growing_curve_equals_smoothing_it_whole(panel):
    from gui.plots import ema

    values = np.random.default_rng(0).random(5000)
    panel.set_options(smoothing=0.9)
    for n in (1, 2, 700, 701, 4096, 5000):  # as the rows arrive, frame after frame
        got = panel._smoothed(("run", "step"), values[:n])
    alpha = 1.0 - 0.9  # the weight of the newest value, as the panel computes it
    assert np.array_equal(got, ema(values, alpha))
    assert np.array_equal(panel._smoothed(("run", "step"), values[:10]), ema(values[:10], alpha))  # a new run


def test_prediction_and_log_axes(panel):
    exp, (r,) = trained()
    panel.set_runs(["a"], exp.steps_per_epoch)
    panel.set_predictions([predict_schedule(exp, 0)])
    # drawn as stairs, by the points where it changes: the last epoch's lr holds to the end of the run
    curve = panel.runs[0].predicted[0]
    shown = [float(curve.yData[np.searchsorted(curve.xData, e, side="right") - 1]) for e in range(len(r.epoch))]
    assert shown == r.epoch_lr[:, 0].tolist() and curve.xData[-1] == len(r.epoch)
    assert curve.xData.tolist() == [0, 3, 6, 9]  # StepLR(3, 0.5) over 9 epochs: changes at 3 and 6, ends at 9
    panel.set_options(log_lr=True)
    assert panel.lr_plot.getAxis("left").logMode


def test_momentum_plot_only_when_cycled(panel):
    exp = experiment([{"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
                       "scheduler": {"type": "OneCycleLR", "max_lr": 0.5}}], epochs=4)
    panel.set_runs(["a"], exp.steps_per_epoch)
    panel.set_predictions([predict_schedule(exp, 0)])
    assert panel.momentum_plot in panel.shown
    exp2, _ = trained()
    panel.set_runs(["b"], exp2.steps_per_epoch)
    panel.set_predictions([predict_schedule(exp2, 0)])
    assert panel.momentum_plot not in panel.shown


def test_a_million_points_are_downsampled_for_drawing(panel, qtbot):
    n = 1_000_000
    step = np.arange(n)
    lr = np.full((n, 1), 0.1)
    r = RunResults("big", step, step // 1000, np.linspace(1, 0.1, n), lr, np.full((n, 1), np.nan),
                   np.arange(1000), np.ones(1000), np.ones(1000), lr[::1000], [Event(5, 0, "edit", 0, "x")])
    panel.set_runs(["big"], 1000)
    panel.set_options(x_mode="step")
    panel.set_results([r])
    # about two points per pixel column, not a million, with the extremes kept (peak mode)
    train = panel.runs[0].train
    width = panel.lr_plot.getViewBox().width()
    assert 100 < len(train.xData) <= 4 * max(width, 200) + 2
    assert train.yData.max() == 1.0 and train.yData.min() == r.step_loss[-1] and train.xData[-1] <= n
    lr = panel.runs[0].lr[0]  # a constant lr: its first row and its end
    assert lr.xData.tolist() == [0, n] and lr.yData.tolist() == [0.1, 0.1]


def test_zooming_in_draws_the_rows_in_view_as_they_are(panel, qtbot):
    n = 1_000_000
    step = np.arange(n)
    loss = np.random.default_rng(0).random(n)
    lr = np.full((n, 1), 0.1)
    r = RunResults("big", step, step // 1000, loss, lr, np.full((n, 1), np.nan),
                   np.arange(1000), np.ones(1000), np.ones(1000), lr[::1000], [])
    panel.set_runs(["big"], 1000)
    panel.set_options(x_mode="step")
    panel.set_results([r])
    train = panel.runs[0].train
    assert len(train.xData) < 10_000  # the whole run: peaks
    view = panel.lr_plot.getViewBox()
    view.setXRange(500_000, 500_300, padding=0)
    view.sigRangeChangedManually.emit(view.state["mouseEnabled"])  # as a person's wheel or drag says it
    qtbot.waitUntil(lambda: train.xData is not None and train.xData[0] >= 499_000)
    # every row in view, exactly as recorded (and one beyond each edge, so the line reaches the frame)
    assert train.xData.tolist() == list(range(499_999, 500_302))
    assert train.yData.tolist() == loss[499_999:500_302].tolist()
