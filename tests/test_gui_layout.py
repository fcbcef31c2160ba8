"""The window on a 1024x768 projector and a 1920x1080 screen: nothing cut, nothing outside, no
control behind a toolbar's overflow button, the plots own the window, text a room can read."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.gui_checks import (
    hidden_toolbar_controls,
    layout_problems,
    plot_share,
    text_that_does_not_fit,
    wait_for_layout,
    widgets_outside,
)

ROOT = Path(__file__).resolve().parent.parent
PROJECTOR, FULL_HD = (1024, 768), (1920, 1080)


def preset(name: str) -> dict:
    return tomllib.loads((ROOT / "resources" / "presets" / f"{name}.toml").read_text())


def settle(qtbot, window):
    wait_for_layout(qtbot, window)


def shown(qtbot, window, size):
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    settle(qtbot, window)
    return window


def every_view(qtbot, window):
    """Yield a name for each state of the side panel a person can look at."""
    for dock in window.side_docks:
        dock.raise_()
        settle(qtbot, window)
        yield dock.windowTitle()
    window.setup_dock.raise_()
    for tab in range(window.setup.editor.count()):
        window.setup.editor.setCurrentIndex(tab)
        settle(qtbot, window)
        yield f"Setup > {window.setup.editor.tabText(tab)}"


# -- the checks themselves can fail ------------------------------------------------------------
def test_the_checks_see_a_cut_label_a_stray_widget_and_a_hidden_tool(qtbot):
    from PySide6.QtWidgets import QLabel, QMainWindow, QToolBar, QWidget

    window = QMainWindow()
    qtbot.addWidget(window)
    central = QWidget()
    window.setCentralWidget(central)
    label = QLabel("a label far too long for the forty pixels it gets", central)
    label.setGeometry(0, 0, 40, 20)
    stray = QLabel("x", central)
    stray.setGeometry(900, 0, 30, 20)
    bar = QToolBar("tools", window)
    for i in range(30):
        bar.addAction(f"action number {i}")
    window.addToolBar(bar)
    window.resize(400, 300)
    window.show()
    qtbot.waitExposed(window)
    assert any("a label far too long" in p for p in text_that_does_not_fit(window))
    assert any("QLabel 'x'" in p for p in widgets_outside(window))
    assert any("action number 29" in p for p in hidden_toolbar_controls(window))


# -- fits ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["manual-vs-steplr", "reducelronplateau", "fine-tune-add-param-group",
                                  "optimizer-attributes"])
def test_nothing_is_cut_or_outside_at_1024x768(qtbot, make_window, name):
    window = shown(qtbot, make_window(preset(name)), PROJECTOR)
    assert window.minimumSizeHint().width() <= PROJECTOR[0]
    for view in every_view(qtbot, window):
        assert layout_problems(window) == [], view


def test_nothing_is_cut_in_the_live_state_of_a_training_run(qtbot, make_window):
    from conftest import step_epoch

    raw = preset("fine-tune-add-param-group")
    raw["epochs"] = 40
    window = shown(qtbot, make_window(raw), PROJECTOR)
    step_epoch(qtbot, window)
    window.live.refresh_state()
    window.state_dock.raise_()
    settle(qtbot, window)
    assert window.state.add_row.isVisibleTo(window.state)
    assert layout_problems(window) == []


def test_long_forms_fit_a_narrow_side_panel(qtbot, make_window):
    """The longest option names (initial_accumulator_value, decoupled_weight_decay, ...)."""
    raw = {"epochs": 5, "runs": [{"name": "a", "optimizer": {"type": "Adagrad", "lr": 0.1},
                                  "scheduler": {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1}}]}
    window = shown(qtbot, make_window(raw), PROJECTOR)
    for view in every_view(qtbot, window):
        assert layout_problems(window) == [], view


def test_tab_into_a_field_never_scrolls_the_setup_sideways(qtbot, make_window):
    window = shown(qtbot, make_window(preset("optimizer-attributes")), PROJECTOR)
    window.setup_dock.raise_()
    settle(qtbot, window)
    epochs = window.setup.settings["epochs"].edit
    epochs.setFocus()
    for _ in range(12):
        qtbot.keyClick(window.focusWidget(), "\t")
    area = window.setup_scroll
    assert area.horizontalScrollBar().value() == 0
    assert area.widget().width() <= area.viewport().width()
    assert widgets_outside(window) == []


@pytest.mark.parametrize("size", [PROJECTOR, FULL_HD])
def test_the_plots_take_at_least_half_the_window(qtbot, make_window, size):
    window = shown(qtbot, make_window(preset("manual-vs-steplr")), size)
    assert plot_share(window) >= 0.5  # the plot area: legend, verdict and plots
    assert window.plots.width() * window.plots.height() >= 0.45 * size[0] * size[1]  # the plots alone


def test_the_side_panel_folds_away_with_one_key_and_comes_back(qtbot, make_window):
    window = shown(qtbot, make_window(preset("steplr")), PROJECTOR)
    before = plot_share(window)
    window.activateWindow()
    qtbot.keyClick(window.plots, Qt.Key.Key_F9)
    settle(qtbot, window)
    assert not window.side.shown() and plot_share(window) > before + 0.2
    window.side_action.trigger()
    settle(qtbot, window)
    assert window.side.shown() and layout_problems(window) == []


def test_toolbars_wrap_instead_of_hiding_controls(qtbot, make_window):
    window = shown(qtbot, make_window(preset("manual-vs-steplr")), PROJECTOR)
    assert hidden_toolbar_controls(window) == []
    rows = {bar.geometry().top() for bar in window.toolbars}
    assert len(rows) == 2  # at 1024 px: two rows
    window.resize(*FULL_HD)
    settle(qtbot, window)
    assert len({bar.geometry().top() for bar in window.toolbars}) == 1 and hidden_toolbar_controls(window) == []


# -- presentation mode ---------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1.5, 2.0])
def test_presentation_mode_fits_1024x768(qtbot, make_window, scale):
    window = shown(qtbot, make_window(preset("manual-vs-steplr")), PROJECTOR)
    window.presentation.switch(True, scale, fullscreen=False)
    settle(qtbot, window)
    assert window.presentation.active and not window.side.shown()
    assert layout_problems(window) == []
    assert plot_share(window) >= 0.6  # big controls take their rows; the rest is plots
    # big controls: the training buttons' icons and text grew with the scale
    start = window.training_bar.widgetForAction(window.start_action)
    assert window.training_bar.iconSize().width() >= 24 * scale and start.height() >= 24 * scale + 6
    assert start.font().pointSizeF() >= 9 * scale
    assert window.plots.lr_plot.getAxis("bottom").style["tickFont"].pointSizeF() == pytest.approx(10 * scale)
    window.side_action.trigger()  # the teacher opens the panel mid-lesson: it still fits
    for view in every_view(qtbot, window):
        assert layout_problems(window) == [], view


def test_presentation_mode_comes_and_goes_and_remembers_its_scale(qtbot, make_window):
    from PySide6.QtWidgets import QApplication

    window = shown(qtbot, make_window(preset("steplr")), PROJECTOR)
    font = QApplication.font().pointSizeF()
    window.state_dock.raise_()
    window.resizeDocks([window.state_dock], [400], Qt.Orientation.Horizontal)
    settle(qtbot, window)
    width = window.state_dock.width()
    assert window.side.current() is window.state_dock
    window.presentation.choose_scale(1.75)
    window.presentation.switch(True, fullscreen=False)
    settle(qtbot, window)
    assert QApplication.font().pointSizeF() == pytest.approx(font * 1.75)
    assert window.present_action.isChecked() and window.leave_present_action.isEnabled()
    window.activateWindow()
    qtbot.keyClick(window.plots, Qt.Key.Key_Escape)
    settle(qtbot, window)
    assert not window.presentation.active and QApplication.font().pointSizeF() == pytest.approx(font)
    assert window.side.shown() and window.side.current() is window.state_dock  # the same tab
    assert window.state_dock.width() == width  # as wide as it was
    assert window.settings.value("presentation_scale") in (1.75, "1.75")
    window.close()
    again = make_window(settings=window.settings)
    assert again.presentation.scale == 1.75 and [a.isChecked() for a in again.scale_group.actions()] == \
        [False, False, True, False]


def test_presentation_mode_leaves_no_big_font_behind_when_closed(qtbot, make_window):
    from PySide6.QtWidgets import QApplication

    window = shown(qtbot, make_window(preset("steplr")), PROJECTOR)
    font = QApplication.font().pointSizeF()
    window.presentation.switch(True, 2.0, fullscreen=False)
    window.close()
    assert QApplication.font().pointSizeF() == pytest.approx(font)


# -- legibility ----------------------------------------------------------------------------------
def test_every_plot_text_colour_has_aa_contrast(qtbot, make_window):
    from gui.plot_style import TEXT_COLOURS, contrast_ratio

    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#969696", "#ffffff") < 4.5  # the grey the plots used to have
    for foreground, background in TEXT_COLOURS:
        assert contrast_ratio(foreground, background) >= 4.5, (foreground, background)
    window = make_window(preset("manual-vs-steplr"))
    window.plots.set_options(compare=(0, 1))
    texts = list(window.plots.text_items())
    assert len(texts) >= 9  # titles, tick labels and axis labels of the plots shown
    background = window.plots.backgroundBrush().color().name()
    for what, colour in texts:
        assert contrast_ratio(colour, background) >= 4.5, what


def test_axes_are_labelled_and_follow_the_x_mode(qtbot, make_window):
    window = make_window(preset("steplr"))
    plots = window.plots
    assert plots.lr_plot.getAxis("left").labelText == "lr"
    assert plots.loss_plot.getAxis("left").labelText == "loss"
    assert plots.lr_plot.getAxis("bottom").labelText == "epoch"
    window.x_mode.setCurrentIndex(1)
    assert all(p.getAxis("bottom").labelText == "step" for p in plots.plots)


def test_lines_are_at_least_two_pixels_and_grow_with_the_scale(qtbot, make_window):
    window = make_window(preset("steplr"))
    curve = window.plots.runs[0].train
    assert curve.opts["pen"].widthF() >= 2
    window.plot_area.set_scale(1.5)
    assert window.plots.runs[0].train.opts["pen"].widthF() == pytest.approx(3)


def test_the_palette_is_colour_blind_safe_and_runs_also_differ_by_shape():
    from gui.plot_style import PALETTE, RUN_SYMBOLS

    okabe_ito = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}
    assert set(PALETTE[:7]) == okabe_ito
    assert len(set(RUN_SYMBOLS)) == len(RUN_SYMBOLS)
