"""The Code tab: the selected run as main.py code writes it, following the forms."""

from __future__ import annotations

from conftest import settle
from engine.codegen import generate
from engine.parse import parse_experiment


def raw(lr: float = 0.1) -> dict:
    return {"epochs": 4, "data": {"samples": 128, "batch_size": 32},
            "runs": [{"name": "adam", "optimizer": {"type": "Adam", "lr": lr}},
                     {"name": "steplr", "optimizer": {"type": "SGD", "lr": 0.1},
                      "scheduler": {"type": "StepLR", "step_size": 2, "gamma": 0.5}}]}


def test_the_code_tab_shows_the_selected_runs_script_and_follows_the_forms(qtbot, make_window, tmp_path):
    window = make_window(raw())
    settle(qtbot, window)
    window.show()
    window.code_dock.raise_()
    qtbot.waitUntil(lambda: window.code.isVisible())
    assert window.code.text.toPlainText() == generate(parse_experiment(raw()), 0)
    window.setup.select_run(1)
    qtbot.waitUntil(lambda: "StepLR" in window.code.text.toPlainText())
    assert window.code.text.toPlainText() == generate(parse_experiment(raw()), 1)
    window.setup.select_run(0)
    changed = raw(lr=0.0123)
    window.setup.set_value(changed)
    window._edited()
    settle(qtbot, window)
    qtbot.waitUntil(lambda: "0.0123" in window.code.text.toPlainText())
    assert window.code.text.toPlainText() == generate(parse_experiment(changed), 0)
    window.code.copy()
    from PySide6.QtWidgets import QApplication

    assert QApplication.clipboard().text() == window.code.script
    assert window.code.save(str(tmp_path / "run.py"))
    assert (tmp_path / "run.py").read_text() == window.code.script


def test_an_experiment_with_a_problem_says_so_instead_of_stale_code(qtbot, make_window):
    bad = raw()
    bad["runs"][0]["optimizer"]["lr"] = "fast"
    window = make_window(raw())
    window.show()
    window.code_dock.raise_()
    qtbot.waitUntil(lambda: window.code.isVisible() and window.code.script != "")
    window.setup.set_value(bad)
    window._edited()
    qtbot.waitUntil(lambda: window.code.script == "")  # once the quick checks have run
    assert "has a problem" in window.code.title.text()
    assert not window.code.copy_button.isEnabled() and not window.code.save_button.isEnabled()
