"""The window says what the engine notes and offers: the interval "fractional" where the registry
has it, an optimizer's lr_note under its picker, and note events in the plots and the event list."""

from __future__ import annotations

from engine.recorder import Event
from engine.registry import OPTIMIZERS


def test_the_scheduler_form_offers_fractional_where_torch_documents_it(qtbot):
    from gui.forms.scheduler_editor import SchedulerEditor

    editor = SchedulerEditor()
    qtbot.addWidget(editor)
    table = {"type": "CosineAnnealingWarmRestarts", "T_0": 3, "interval": "fractional"}
    editor.set_value(table)
    assert editor.value() == table
    choices = editor.form("CosineAnnealingWarmRestarts").editors["interval"].options
    assert choices == ["epoch", "step", "fractional"]
    assert editor.form("StepLR").editors["interval"].options == ["epoch", "step"]


def test_the_optimizer_picker_says_what_the_lr_column_is(qtbot):
    from gui.forms.optimizer_editor import OptimizerEditor

    editor = OptimizerEditor()
    qtbot.addWidget(editor)
    editor.set_value({"type": "Rprop", "lr": 0.01})
    assert OPTIMIZERS["Rprop"].lr_note in editor.summary.text()
    editor.set_value({"type": "SGD", "lr": 0.01})
    assert "lr column" not in editor.summary.text()


def test_notes_are_drawn_and_listed(qtbot):
    from gui.plots import SHOWN_EVENTS
    from gui.state_panel import StatePanel

    assert "note" in SHOWN_EVENTS
    panel = StatePanel()
    qtbot.addWidget(panel)
    panel._fill_events([Event(20, 5, "note", 0, "lr -0.025 is negative: torch applies it as it is")])
    assert panel.events.item(0).text() == \
        "epoch 5, step 20: note group 0: lr -0.025 is negative: torch applies it as it is"
