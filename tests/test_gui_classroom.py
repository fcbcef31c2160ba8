"""What a class would have seen go wrong, one test each: stale text and state, plots that hid a
run or misplaced a drop, modal boxes mid-demo, a wheel that changed a field, the first screen."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from conftest import settle, step_epoch
from engine.status import SessionState
from tests.gui_checks import wait_for_layout

ROOT = Path(__file__).resolve().parent.parent


def preset(name: str, **changes) -> dict:
    raw = tomllib.loads((ROOT / "resources" / "presets" / f"{name}.toml").read_text())
    raw.update(changes)
    return raw


def small(epochs=8, **run):
    table = {"name": "a", "optimizer": {"type": "Adam", "lr": 0.05},
             "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5}}
    table.update(run)
    return {"epochs": epochs, "data": {"samples": 256, "batch_size": 32}, "runs": [table]}


def wait_state(qtbot, window, *states, timeout=30_000):
    qtbot.waitUntil(lambda: window.controller.state in states, timeout=timeout)


def paused_after_one_epoch(qtbot, window):
    step_epoch(qtbot, window)


def no_box_shown():
    return not any(isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets())


# -- stale text and state ----------------------------------------------------------------------
def test_the_edit_note_names_the_scheduler_of_the_experiment_just_opened(qtbot, make_window):
    window = make_window()
    window.open_preset("steplr")
    assert "StepLR" in window.state.effect.text() and "carries on" in window.state.effect.text()
    window.open_preset("lambdalr")  # before any Start
    assert "LambdaLR" in window.state.effect.text() and "overwrites" in window.state.effect.text()
    assert "StepLR" not in window.state.effect.text()


def test_cannot_start_leaves_the_status_bar_once_the_field_is_fixed(qtbot, make_window):
    window = make_window(small())
    epochs = window.setup.settings["epochs"]
    epochs.edit.setText("abc")
    window.validate()
    assert window.status_label.text().startswith("Cannot start")
    epochs.edit.setText("8")
    window.validate()
    assert "Cannot start" not in window.status_label.text() and window.start_action.isEnabled()


def test_new_and_another_preset_forget_the_readout_and_the_live_columns(qtbot, make_window, tmp_path):
    window = make_window(preset("per-layer-lr", epochs=3))
    window.start()
    wait_state(qtbot, window, SessionState.FINISHED)
    window.live.refresh_state()
    assert window.state.columns[:2] == ["module", "lr"] and window.state.table.rowCount() == 2
    window.plots.hover_at(2)
    assert "layer 0.1, layer2 0.2" in window.plots.readout and window.plot_area.readout.isVisibleTo(window)
    window.dirty = False
    window.files.new()
    assert window.plots.readout == "" and not window.plot_area.readout.isVisibleTo(window)
    assert window.state.table.columnCount() == 0 and window.state.columns == []
    assert window.state.events.count() == 0
    window.plots.hover_at(2)
    window.open_preset("steplr")
    assert window.plots.readout == ""
    assert window.plot_controls.export(str(tmp_path / "p.png"))  # and no readout is in the picture anyway
    assert not window.plot_area.readout.isVisible()


def test_the_live_state_header_says_paused_and_stopped(qtbot, make_window):
    window = make_window(small(epochs=200))
    paused_after_one_epoch(qtbot, window)
    window.live.refresh_state()
    assert "(paused)" in window.state.title.text() and "running" not in window.state.title.text()
    window.live.stop()
    wait_state(qtbot, window, SessionState.STOPPED)
    window.live.refresh_state()
    assert "(stopped)" in window.state.title.text()


def test_another_experiment_opens_its_forms_at_the_top(qtbot, make_window):
    window = make_window(preset("reducelronplateau"))
    window.resize(1024, 768)
    window.show()
    window.setup_dock.raise_()
    window.setup.editor.setCurrentIndex(2)
    bar = window.setup_scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)
    bar.setValue(bar.maximum())
    assert bar.value() > 0
    window.open_preset("steplr")
    assert bar.value() == 0 and window.setup.editor.currentIndex() == 0


def test_an_experiment_that_cannot_run_leaves_nothing_of_the_previous_one(qtbot, make_window):
    window = make_window(preset("manual-vs-steplr"))
    assert [r.name for r in window.plots.runs] == ["manual x0.9 every 5", "StepLR(5, 0.9)"]
    window.load_raw({"epochs": "x", "runs": [{"name": "only", "optimizer": {"type": "Adam", "lr": 0.1}}]},
                    None, "broken")
    assert window.error is not None and not window.start_action.isEnabled()
    assert [r.name for r in window.plots.runs] == ["only"] and window.plots.predictions == [None]
    assert "manual" not in window.plots.legend_html


def test_start_is_not_offered_while_paused(qtbot, make_window):
    window = make_window(small(epochs=200))
    paused_after_one_epoch(qtbot, window)
    assert not window.start_action.isEnabled()  # F5 next to F6 would throw the paused run away
    assert "Resume" in window.start_action.toolTip() or "paused" in window.start_action.toolTip()
    window.live.stop()
    wait_state(qtbot, window, SessionState.STOPPED)
    assert window.start_action.isEnabled()


# -- the prediction follows what happened ------------------------------------------------------
def test_the_prediction_is_redrawn_after_an_edit_after_stop_and_after_reset(qtbot, make_window):
    window = make_window(small(epochs=400))
    before = window.plots.predictions[0].results.epoch_lr[:, 0].copy()
    paused_after_one_epoch(qtbot, window)
    window.live.edit_lr(0, 0, 0.0123, False)
    step_epoch(qtbot, window)
    spe = window.controller.snapshot.steps_per_epoch
    # Predicted from the run's state now: it starts where the run is and goes on from the edit.
    qtbot.waitUntil(lambda: window.plots.predictions[0] is not None
                    and window.plots.predictions[0].results.step[0] == 2 * spe, timeout=10_000)
    after_edit = window.plots.predictions[0].results
    # StepLR keeps the edit: it halves the edited lr at epoch 2, where the prediction begins
    assert after_edit.step_lr[0, 0] == 0.0123 * 0.5 and before[2] != 0.0123 * 0.5
    qtbot.waitUntil(lambda: "kept" in window.state.effect.text(), timeout=10_000)
    drawn = window.plots.runs[0].predicted[0]
    assert 0.0123 * 0.5 in drawn.yData
    window.plots.set_predictions([None])  # as if nothing were drawn: Stop must draw it again
    window.live.stop()
    wait_state(qtbot, window, SessionState.STOPPED)
    settle(qtbot, window)
    assert window.plots.predictions[0].results.epoch_lr[1, 0] == 0.0123
    assert window.plots.runs[0].predicted[0].xData is not None
    window.live.reset()
    assert window.controller.state == SessionState.IDLE
    settle(qtbot, window)
    assert window.plots.predictions[0].results.epoch_lr[1, 0] == 0.0123  # the recorded edit stays in it
    assert window.plots.runs[0].predicted[0].xData is not None and window.plots.runs[0].lr[0].xData is None


# -- plots a room can read ---------------------------------------------------------------------
def test_an_lr_drop_is_a_step_at_its_epoch_and_its_marker_sits_on_it(qtbot, make_window):
    window = make_window(preset("article-manual-decay", epochs=12))
    window.start()
    wait_state(qtbot, window, SessionState.FINISHED)
    window.live.refresh()
    curve = window.plots.runs[0].lr[0]
    x, y = curve.xData, curve.yData
    assert curve.opts["stepMode"] == "right"  # y[i] holds from x[i] to x[i + 1]
    five = int(np.flatnonzero(x == 5)[0])
    assert y[five - 1] == pytest.approx(0.09) and y[five] == pytest.approx(0.081)  # the drop is at x = 5
    marks = sorted(p.pos().x() for p in window.plots.runs[0].events.points())
    assert marks == [0.0, 5.0, 10.0]
    spot = next(p for p in window.plots.runs[0].events.points() if p.pos().x() == 5.0)
    assert spot.pos().y() == pytest.approx(0.081)


def test_two_runs_identical_to_the_bit_both_stay_visible(qtbot, make_window):
    window = make_window(preset("manual-vs-steplr", epochs=20))
    window.start()
    wait_state(qtbot, window, SessionState.FINISHED)
    window.live.refresh()
    a, b = (window.plots.runs[i] for i in (0, 1))
    assert a.lr[0].yData.tobytes() == b.lr[0].yData.tobytes()  # the lines coincide exactly...
    xa, xb = set(a.lr_marks.xData.tolist()), set(b.loss_marks.xData.tolist())
    assert xa and xb and not xa & set(b.lr_marks.xData.tolist())  # ...but their markers never do
    assert a.lr_marks.opts["symbol"] != b.lr_marks.opts["symbol"] and a.color != b.color
    assert a.lr_marks.zValue() > b.lr[0].zValue()  # markers are drawn above every line
    text, kind = window.plots.verdict
    assert kind == "same" and text.endswith("identical to the bit (lr and loss, all 520 steps)")
    badge = window.plot_area.badge
    assert badge.isVisibleTo(window) and "identical to the bit" in badge.text()


def test_the_verdict_names_the_first_epoch_and_step_that_differ(qtbot, make_window):
    raw = small(epochs=6)
    raw["runs"].append({**raw["runs"][0], "name": "b", "edits": [{"epoch": 3, "lr": 0.001}]})
    window = make_window(raw)
    window.compare_a.setCurrentIndex(1)
    window.compare_b.setCurrentIndex(2)
    window.start()
    wait_state(qtbot, window, SessionState.FINISHED)
    window.live.refresh()
    spe = window.controller.snapshot.steps_per_epoch
    text, kind = window.plots.verdict
    assert kind == "different" and text.endswith(f"first differs at epoch 3, step {3 * spe}")
    assert "first differs at epoch 3" in window.plot_area.badge.text()


def test_the_legend_lists_every_run_outside_the_plots(qtbot, make_window):
    raw = small(epochs=3)
    raw["runs"] += [{**raw["runs"][0], "name": f"run number {i} with a long name"} for i in range(2, 6)]
    window = make_window(raw)
    for name in ["a", *(f"run number {i} with a long name" for i in range(2, 6))]:
        assert name in window.plot_area.legend.text()
    assert all(plot.legend is None for plot in window.plots.plots)  # no legend box over any curve
    assert window.plot_area.legend.parent() is window.plot_area.canvas


def test_the_readout_never_moves_a_plot(qtbot, make_window):
    raw = small(epochs=5)
    raw["runs"] += [{**raw["runs"][0], "name": "a rather long run name, to push things " * 2 + str(i)}
                    for i in range(3)]
    window = make_window(raw)
    window.resize(1024, 768)
    window.show()
    qtbot.waitExposed(window)
    window.start()
    wait_state(qtbot, window, SessionState.FINISHED)
    window.live.refresh()
    wait_for_layout(qtbot, window)
    geometry = [p.sceneBoundingRect() for p in window.plots.plots if p in window.plots.shown]
    canvas = window.plot_area.canvas.geometry()
    window.plots.hover_at(3, mouse_x=600)
    overlay = window.plot_area.readout
    qtbot.waitUntil(overlay.isVisible, timeout=5000)
    wait_for_layout(qtbot, window)
    assert overlay.isVisible() and overlay.text().count("<br>") == 4  # a line for the epoch, one per run
    assert [p.sceneBoundingRect() for p in window.plots.plots if p in window.plots.shown] == geometry
    assert window.plot_area.canvas.geometry() == canvas and window.width() == 1024
    assert window.plots.rect().contains(overlay.geometry())
    assert overlay.geometry().right() < 600  # on the side away from the mouse
    assert all(c.isVisible() and c.value() == 3 for c in window.plots.cursors.values())


def test_flat_lines_sit_clear_of_the_frame_with_a_tick(qtbot, make_window):
    from gui.plots import StickyRange

    low, high = StickyRange.bounds(0.1, 0.2, log=False)  # per-layer 0.1 and 0.2
    assert low < 0.1 - 0.01 and high > 0.2 + 0.01
    low, high = StickyRange.bounds(0.0007, 0.1, log=False)  # a decay from the usual 0.1
    assert high > 0.1 + 0.002
    low, high = StickyRange.bounds(-1.0, -1.0, log=True)  # a flat 0.1 on a log axis
    assert low < -1.05 and high > -0.95
    window = make_window(preset("per-layer-lr", epochs=5))
    window.resize(1024, 768)
    window.show()
    qtbot.waitExposed(window)
    (low, high) = window.plots.lr_plot.getViewBox().viewRange()[1]
    assert low < 0.1 < 0.2 < high and min(0.1 - low, high - 0.2) > 0.02 * (high - low)
    axis = window.plots.lr_plot.getAxis("left")
    ticks = [v for spacing, values in axis.tickValues(low, high, axis.height()) for v in values]
    assert any(abs(v - 0.1) < 1e-9 for v in ticks) and any(abs(v - 0.2) < 1e-9 for v in ticks)  # a tick on each


# -- no modal box, no wheel accident -------------------------------------------------------------
def test_a_refused_lr_edit_is_said_inline_and_the_cell_shows_the_lr_in_effect(qtbot, make_window):
    window = make_window(small(epochs=200))
    paused_after_one_epoch(qtbot, window)
    window.live.refresh_state()
    state = window.state
    lr = state.columns.index("lr")
    for typed, words in (("-1", "expected a number"), ("abc", "not a number: 'abc'")):
        state.table.item(0, lr).setText(typed)  # as typed into the cell
        assert no_box_shown()
        assert state.message.isVisibleTo(state) and words in state.message.text()
        qtbot.waitUntil(lambda: state.table.item(0, lr).text() == "0.05", timeout=5000)
    window.live.edit_lr(0, 0, 0.02, False)
    qtbot.waitUntil(lambda: not state.message.isVisibleTo(state))  # a good edit clears it (once the engine took it)


def test_wheel_over_a_combo_box_without_focus_changes_nothing(qtbot, make_window):
    window = make_window(preset("reducelronplateau"))
    window.resize(1024, 768)
    window.show()
    qtbot.waitExposed(window)
    window.setup_dock.raise_()
    window.setup.editor.setCurrentIndex(2)
    combo = window.setup.editor.scheduler.form("ReduceLROnPlateau").editors["threshold_mode"].combo
    before = combo.currentIndex()
    assert combo.focusPolicy() == Qt.FocusPolicy.StrongFocus

    def wheel(widget, steps):
        center = QPointF(widget.width() / 2, widget.height() / 2)
        event = QWheelEvent(center, QPointF(widget.mapToGlobal(center.toPoint())), QPoint(0, 0),
                            QPoint(0, -120 * steps), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(widget, event)

    wheel(combo, 1)
    assert combo.currentIndex() == before and not combo.hasFocus()
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    wheel(combo, 1)
    assert combo.currentIndex() != before  # a field a person chose still takes the wheel


def test_the_groups_table_gives_an_lr_room_and_per_layer_starts_with_every_module(qtbot, make_window):
    window = make_window(small())
    groups = window.setup.editor.groups
    groups.enabled.setChecked(True)
    window.validate()
    assert window.error is None and [g["module"] for g in window.setup.runs[0]["groups"]] == ["layer", "layer2"]
    lr = groups.columns.index("lr")
    groups.table.item(0, lr).setText("0.00125")
    metrics = groups.table.fontMetrics()
    assert groups.table.columnWidth(lr) >= metrics.horizontalAdvance("0.00125") + 8
    for row in range(groups.table.rowCount()):
        groups.table.item(row, 0).setCheckState(Qt.CheckState.Unchecked)
    window.validate()
    assert "no param group: list at least one module" in str(window.error)
    assert "expected a list of tables" not in str(window.error)


# -- the first screen ----------------------------------------------------------------------------
def test_the_first_screen_offers_the_articles_examples_in_order(qtbot, make_window):
    from engine.presets import list_presets

    window = make_window()
    window.resize(1024, 768)
    window.show()
    qtbot.waitExposed(window)
    assert window.examples_dock.isVisible() and not window.examples_dock.visibleRegion().isEmpty()
    presets = list_presets()
    cards = list(window.examples.buttons.items())
    assert [name for name, _ in cards] == [p.name for p in presets]
    for (_, card), p in zip(cards, presets):
        assert p.title in card.title.text() and card.description.text() == p.description
    menu = [a.text() for a in window.presets_menu.actions()]
    assert [m.split(". ", 1)[1] for m in menu] == [p.title for p in presets]
    qtbot.mouseClick(window.examples.buttons["cosineannealinglr"], Qt.MouseButton.LeftButton)  # one click
    assert [r["name"] for r in window.setup.runs] == ["CosineAnnealingLR(25, 0)"]
    assert "CosineAnnealingLR" in window.windowTitle()


def test_descriptions_in_the_forms_are_right(qtbot, make_window):
    window = make_window(preset("lambdalr"))
    summary = window.setup.editor.scheduler.summary.text()
    assert "lr_lambda" in summary and not summary.startswith("Sets the initial learning rate")


def test_duplicating_a_copy_does_not_say_copy_twice(qtbot, make_window):
    window = make_window(small())
    window.setup.duplicate_run()
    window.setup.duplicate_run()
    assert [r["name"] for r in window.setup.runs] == ["a", "a copy", "a copy (2)"]


def test_a_long_status_message_ends_in_an_ellipsis_and_says_all_on_hover(qtbot, make_window):
    window = make_window(small())
    window.resize(1024, 768)
    window.show()
    long = "Opened the example " + "with a very long name " * 20
    window.show_status(long)
    assert window.status_label.toolTip() == long and window.status_label.property("elides")
    assert window.status_label.width() < window.status_label.fontMetrics().horizontalAdvance(long)


# -- pictures for slides -----------------------------------------------------------------------
def test_a_plot_is_exported_at_twice_the_screens_pixels_with_its_legend_and_titles(qtbot, make_window, tmp_path):
    from PySide6.QtGui import QImage

    from gui.export_dialog import ExportDialog

    window = make_window(preset("manual-vs-steplr", epochs=4))
    window.resize(1024, 768)
    window.show()
    qtbot.waitExposed(window)
    window.start()
    wait_state(qtbot, window, SessionState.FINISHED)
    window.plots.hover_at(2)  # a readout on screen never gets into the picture
    canvas = window.plot_area.canvas.size()
    assert window.plot_controls.export(str(tmp_path / "twice.png"))
    image = QImage(str(tmp_path / "twice.png"))
    assert (image.width(), image.height()) == (2 * canvas.width(), 2 * canvas.height())
    assert not window.plot_area.readout.isVisible() and not list(tmp_path.glob("*.partial"))
    # the legend and the verdict badge are the picture's top: not white there
    top = [image.pixelColor(x, y).name() for x in range(0, image.width(), 7) for y in range(4, 80, 3)]
    assert sum(c != "#ffffff" for c in top) > 50
    assert window.plot_controls.export(str(tmp_path / "four.png"), scale=4.0)
    assert QImage(str(tmp_path / "four.png")).width() == 4 * canvas.width()
    dialog = ExportDialog(window, str(tmp_path / "slide"), canvas, 2.0)
    qtbot.addWidget(dialog)
    assert dialog.scale() == 2.0 and dialog.path().endswith("slide.png")
    assert f"{2 * canvas.width()} \u00d7 {2 * canvas.height()} px" in dialog.resolution.currentText()
