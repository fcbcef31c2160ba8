"""The Find lr tab (gui/finder_view.py): a range test drawn as it runs, stopped, and its suggestions used.

The view talks to a real engine loop (LRLAB_ENGINE=thread, tests/conftest.py) over its pipe, and
edits a real ExperimentDocument; every wait is on a condition, never a fixed time.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from engine.parse import parse_experiment
from engine.range_test import RangeTestOptions, find_lr
from gui.document import ExperimentDocument
from gui.engine_client import EngineClient
from gui.finder_view import FinderView, install_finder

TIMEOUT = 60_000

RAW = {"seed": 0, "epochs": 3, "model": "bottleneck", "data": {"samples": 256},
       "runs": [{"name": "adam", "optimizer": {"type": "Adam", "lr": 0.05}},
                {"name": "onecycle", "optimizer": {"type": "AdamW", "lr": 0.01},
                 "scheduler": {"type": "OneCycleLR", "max_lr": 0.05}},
                {"name": "cyclic", "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9},
                 "scheduler": {"type": "CyclicLR", "base_lr": 0.001, "max_lr": 0.01}}]}


@pytest.fixture
def engine(qtbot):
    client = EngineClient()
    client.start()
    qtbot.waitUntil(lambda: client.is_ready, timeout=TIMEOUT)
    yield client
    client.shutdown(2000)


@pytest.fixture
def view(qtbot, engine):
    document = ExperimentDocument()
    document.load(copy.deepcopy(RAW), name="test")
    widget = FinderView(engine, document)
    qtbot.addWidget(widget)
    widget.resize(600, 700)
    widget.show()
    return widget


def drawn(view) -> int:
    x, _ = view.smoothed_curve.getData()
    return 0 if x is None else len(x)


def find_and_wait(qtbot, view, run: int = 0, iters: int = 100) -> None:
    view.select_run(run)
    view.iters.setValue(iters)
    assert view.find()
    qtbot.waitUntil(lambda: not view.running, timeout=TIMEOUT)
    assert view.result is not None, view.status.text()


def test_find_draws_the_rows_as_they_arrive_and_stop_stops_it(qtbot, view):
    view.start_field.setText("1e-6")
    view.end_field.setText("1e-5")  # a gentle sweep that does not diverge: it would run 10,000 steps
    view.iters.setValue(10_000)
    assert view.find()
    assert not view.find_button.isEnabled() and view.stop_button.isEnabled()
    qtbot.waitUntil(lambda: drawn(view) > 0, timeout=TIMEOUT)
    assert view.running  # drawn while it runs
    first = drawn(view)
    view.stop()
    qtbot.waitUntil(lambda: not view.running, timeout=TIMEOUT)
    assert view.result.stop_reason.startswith("stopped at step")
    assert first <= len(view.result.lr) < 10_000
    assert drawn(view) == len(view.result.lr)
    assert view.find_button.isEnabled() and not view.stop_button.isEnabled()
    assert "stopped at step" in view.status.text()


def test_the_curve_and_suggestions_are_the_engines(qtbot, view):
    find_and_wait(qtbot, view)
    expected = find_lr(parse_experiment(RAW), 0, RangeTestOptions())
    assert view.result.rows().tobytes() == expected.rows().tobytes()
    x, y = view.smoothed_curve.getData()
    assert np.array_equal(10 ** x, expected.lr) or np.allclose(10 ** x, expected.lr, rtol=1e-12)
    answered = [s for s in expected.suggestions if s.answered]
    assert len(view.lines) == len(answered)  # a line each, in the rule's colour ...
    assert sorted(line.value() for line in view.lines) == pytest.approx(sorted(np.log10(s.lr) for s in answered))
    texts = [label.toPlainText() for label in view.labels()]  # ... and each rule named in one label
    for s in answered:
        assert sum(s.rule in t.split(":")[0].split(", ") for t in texts) == 1, texts
    assert view.table.rowCount() == 4
    assert [view.table.item(r, 0).text() for r in range(4)] == ["steepest", "minimum/10", "steep", "valley"]


def test_use_sets_the_runs_lr_in_the_document(qtbot, view):
    find_and_wait(qtbot, view)
    changed = []
    view.experiment_changed.connect(lambda: changed.append(True))
    row, s = next((r, s) for r, s in enumerate(view.result.suggestions) if s.answered)
    view.table.cellWidget(row, 3).click()
    assert view.document.raw["runs"][0]["optimizer"]["lr"] == s.lr
    assert view.document.dirty and changed == [True]


def test_use_sets_onecycles_max_lr_and_asks_which_of_cycliclrs_bounds(qtbot, view):
    find_and_wait(qtbot, view, run=1, iters=40)
    row, s = next((r, s) for r, s in enumerate(view.result.suggestions) if s.answered)
    assert view.use(row)
    assert view.document.raw["runs"][1]["scheduler"]["max_lr"] == s.lr
    assert view.document.raw["runs"][1]["optimizer"]["lr"] == 0.01  # what OneCycleLR ignores stays
    find_and_wait(qtbot, view, run=2, iters=40)
    asked = []
    view.ask_target = lambda targets: asked.append([t.label for t in targets]) or targets[1]
    row, s = next((r, s) for r, s in enumerate(view.result.suggestions) if s.answered)
    assert view.use(row)
    assert asked == [["CyclicLR base_lr", "CyclicLR max_lr"]]
    assert view.document.raw["runs"][2]["scheduler"]["max_lr"] == s.lr
    assert view.document.raw["runs"][2]["scheduler"]["base_lr"] == 0.001
    view.ask_target = lambda targets: None  # cancelled: nothing changes
    before = copy.deepcopy(view.document.raw)
    assert not view.use(row)
    assert view.document.raw == before


def test_try_all_adds_a_run_per_suggestion_and_one_too_high(qtbot, view):
    find_and_wait(qtbot, view)
    answered = [s for s in view.result.suggestions if s.answered]
    view.try_all_button.click()
    runs = view.document.raw["runs"]
    steepest = next(s.lr for s in answered if s.rule == "steepest")
    lrs = list(dict.fromkeys([s.lr for s in answered] + [10 * steepest]))  # rules at one lr share a run
    assert [r["optimizer"]["lr"] for r in runs[3:]] == lrs
    assert view.run.count() == len(runs)  # the run picker follows the document
    parse_experiment(view.document.raw)


def test_bad_options_say_which_field_and_send_nothing(qtbot, view):
    view.start_field.setText("10")
    view.end_field.setText("1")
    request = view.request
    assert not view.find()
    assert view.status.text().startswith("Cannot find: start:")
    assert view.request == request and not view.running
    view.start_field.setText("fast")
    assert not view.find() and "start: expected a number" in view.status.text()


def test_the_engine_refusing_the_experiment_is_said(qtbot, view):
    raw = copy.deepcopy(RAW)
    raw["runs"][0]["optimizer"]["lr"] = -1
    view.document.edit(raw)
    assert view.find()
    qtbot.waitUntil(lambda: not view.running, timeout=TIMEOUT)
    assert view.status.text().startswith("Cannot find: runs[0].optimizer.lr")


def test_the_curve_exports_as_png_and_svg(qtbot, view, tmp_path):
    find_and_wait(qtbot, view, iters=30)
    assert view.export(str(tmp_path / "curve.png"), 1.0)
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert view.export(str(tmp_path / "curve.svg"))
    assert b"<svg" in (tmp_path / "curve.svg").read_bytes()


def test_installed_in_the_window_the_forms_follow_use(qtbot, make_window):
    window = make_window(copy.deepcopy(RAW))
    finder = install_finder(window)
    assert window.finder is finder and window.finder_dock in window.side_docks
    window.setup.select_run(1)
    assert finder.run.currentIndex() == 1
    window.setup.select_run(0)
    find_and_wait(qtbot, finder, run=0, iters=60)
    row, s = next((r, s) for r, s in enumerate(finder.result.suggestions) if s.answered)
    assert finder.use(row)
    assert window.setup.value()["runs"][0]["optimizer"]["lr"] == s.lr
    assert window.document.raw["runs"][0]["optimizer"]["lr"] == s.lr


def test_a_new_test_replaces_the_last_ones_suggestions_and_text_follows_the_font(qtbot, view):
    from PySide6.QtGui import QFont

    view.start_field.setText("1e-6")
    view.end_field.setText("2e-6")
    find_and_wait(qtbot, view, iters=6)  # too few points for every rule: reasons across the row
    assert all(not s.answered for s in view.result.suggestions)
    assert view.table.columnSpan(0, 1) == 3 and not view.try_all_button.isEnabled()
    view.start_field.setText("1e-7")
    view.end_field.setText("10")
    find_and_wait(qtbot, view)
    assert view.table.columnSpan(0, 1) == 1 and view.table.cellWidget(0, 3) is not None
    assert view.try_all_button.isEnabled()
    big = QFont(view.font())
    big.setPointSizeF(view.font().pointSizeF() * 2)
    view.setFont(big)  # as presentation mode's application font reaches it
    assert view.plot.getAxis("bottom").style["tickFont"].pointSizeF() == pytest.approx(big.pointSizeF())
    assert view.lines[0].label.textItem.font().pointSizeF() == pytest.approx(big.pointSizeF())


def _scene_rects(view):
    return [label.mapRectToScene(label.boundingRect()) for label in view.shown_labels()]


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_the_labels_never_cover_each_other_and_one_lr_has_one_label(qtbot, view, scale):
    from PySide6.QtGui import QFont

    if scale != 1.0:
        big = QFont(view.font())
        big.setPointSizeF(view.font().pointSizeF() * scale)
        view.setFont(big)
    find_and_wait(qtbot, view)
    answered = [s for s in view.result.suggestions if s.answered]
    lrs = sorted(s.lr for s in answered)
    distinct = 1 + sum(np.log10(b) - np.log10(a) >= 0.02 for a, b in zip(lrs, lrs[1:]))
    assert len(view.labels()) == distinct  # suggestions at the same lr (steepest = steep here) share one
    assert view.shown_labels() == view.labels()  # a tall enough plot shows them all
    box = view.plot.getPlotItem().getViewBox()

    def placed_inside() -> bool:  # (re-placed once the plot has its range and size after the last rows)
        rects, plot = _scene_rects(view), box.sceneBoundingRect()
        return all(plot.adjusted(-1, -1, 1, 1).contains(a) for a in rects) and all(  # none cut at an edge
            not a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])

    qtbot.waitUntil(placed_inside)
    plot = box.sceneBoundingRect()
    view.resize(600, 900)  # a taller plot: the labels stay stacked under its top
    taller = view.plot.getPlotItem().getViewBox()

    def stacked_under_the_top() -> bool:
        rects = _scene_rects(view)
        return (taller.sceneBoundingRect().height() > plot.height()
                and all(taller.sceneBoundingRect().contains(r) for r in rects)
                and all(not a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:]))

    qtbot.waitUntil(stacked_under_the_top)


def test_the_options_are_refused_in_the_words_of_the_fields(qtbot, view):
    for start, end, said in (("10", "1", "start: expected a number below end (1)"),
                             ("0", "10", "start: expected a finite number > 0"),
                             ("1e-7", "inf", "end: expected a finite number > 0"),
                             ("1e-7", "ten", "end: expected a number such as 1e-7 or 0.01, got 'ten'")):
        view.start_field.setText(start)
        view.end_field.setText(end)
        assert not view.find()
        assert view.status.text().startswith(f"Cannot find: {said}"), view.status.text()
        assert "_lr" not in view.status.text()


def test_another_experiment_clears_the_last_tests_suggestions(qtbot, view):
    find_and_wait(qtbot, view, run=2, iters=40)
    assert view.try_all_button.isEnabled()
    view.document.load({"epochs": 3, "runs": [{"name": "only", "optimizer": {"type": "SGD", "lr": 0.1}}]})
    assert view.result is None and view.table.rowCount() == 0 and not view.lines
    assert not view.try_all_button.isEnabled() and not view.try_all() and not view.use(0)
    assert drawn(view) == 0 and "new experiment" in view.status.text()
    assert view.document.raw["runs"][0]["optimizer"]["lr"] == 0.1


def test_a_test_running_when_another_experiment_opens_is_stopped_and_ignored(qtbot, view):
    view.start_field.setText("1e-6")
    view.end_field.setText("1e-5")
    view.iters.setValue(10_000)
    assert view.find()
    qtbot.waitUntil(lambda: drawn(view) > 0, timeout=TIMEOUT)
    old = view.request
    view.document.load(copy.deepcopy(RAW), name="again")
    assert not view.running and view.request != old and view.find_button.isEnabled()
    view.iters.setValue(20)
    assert view.find()  # a new test, whose rows alone are drawn
    qtbot.waitUntil(lambda: view.result is not None, timeout=TIMEOUT)
    view.stop()


def test_use_follows_the_tested_run_when_runs_move_and_stops_when_it_is_gone(qtbot, view):
    find_and_wait(qtbot, view, run=0, iters=40)
    row, s = next((r, s) for r, s in enumerate(view.result.suggestions) if s.answered)
    raw = copy.deepcopy(view.document.raw)
    raw["runs"] = raw["runs"][1:] + raw["runs"][:1]  # "adam" is now the last run
    view.document.edit(raw)
    assert view.use(row)
    assert view.document.raw["runs"][2]["name"] == "adam" and view.document.raw["runs"][2]["optimizer"]["lr"] == s.lr
    assert view.document.raw["runs"][0]["optimizer"]["lr"] == 0.01  # onecycle untouched
    raw = copy.deepcopy(view.document.raw)
    del raw["runs"][2]
    view.document.edit(raw)
    before = copy.deepcopy(view.document.raw)
    assert not view.use(row) and not view.try_all()
    assert view.document.raw == before
    assert not view.try_all_button.isEnabled() and not view.table.cellWidget(row, 3).isEnabled()
    assert "no longer in the experiment" in view.status.text()


@pytest.mark.parametrize("present", [None, 1.5, 2.0], ids=["window", "presentation-1.5", "presentation-2"])
def test_on_a_projector_the_fields_and_every_suggestion_row_are_read_whole(qtbot, make_window, present):
    from tests.gui_checks import layout_problems, wait_for_layout

    window = make_window(copy.deepcopy(RAW))
    window.resize(1024, 768)
    window.show()
    qtbot.waitExposed(window)
    if present:
        window.presentation.switch(True, present, fullscreen=False)
        window.resize(1024, 768)
    window.set_side_panel(True)
    window.finder_dock.raise_()
    finder = window.finder
    find_and_wait(qtbot, finder, run=0, iters=60)
    wait_for_layout(qtbot, window)
    assert layout_problems(window) == []
    assert window.minimumSizeHint().height() <= 768 and window.minimumSizeHint().width() <= 1024
    assert "grey" in finder.caption.text().lower() and "blue" in finder.caption.text()  # what the curves are
    rects = _scene_rects(finder)  # however short the plot, no label over another
    assert rects and all(not a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    for field in (finder.start_field, finder.end_field):
        assert field.width() - 8 >= field.fontMetrics().horizontalAdvance(field.text()), field.text()
    table = finder.table
    assert table.horizontalScrollBar().maximum() == 0
    # every row in sight up to 1.5x; at 2x, 768 px hold the plot and two rows (the rest scroll)
    rows = range(table.rowCount()) if present != 2.0 else range(2)
    if present != 2.0:
        assert table.verticalScrollBar().maximum() == 0
    for row in rows:  # each Use button inside the table, whole
        button = table.cellWidget(row, 3)
        assert table.viewport().rect().contains(button.geometry()), row
    if present:
        window.presentation.switch(False)
