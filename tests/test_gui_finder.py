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
    assert len(view.lines) == len(answered)
    for line, s in zip(view.lines, answered):
        assert line.value() == pytest.approx(np.log10(s.lr))
        assert s.rule in line.label.toPlainText()
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
    assert len(runs) == 3 + len(answered) + 1
    steepest = next(s.lr for s in answered if s.rule == "steepest")
    assert [r["optimizer"]["lr"] for r in runs[3:]] == [s.lr for s in answered] + [10 * steepest]
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
