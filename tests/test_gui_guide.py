"""The Guide's view (gui/guide_view.py): every page walked with Next, Back, the index and the keys a
presenter's remote sends; Load and run opens the page's experiment in the window and trains it;
every page legible at 1024x768 and in presentation mode; ``main.py gui --guide``."""

from __future__ import annotations

import html

import pytest
from PySide6.QtCore import Qt

from engine.guide import load_guide
from engine.status import SessionState
from gui.guide_view import BACK_KEYS, NEXT_KEYS, GuideView, install_guide, show_guide
from tests.cli_helpers import main_in_process
from tests.gui_checks import layout_problems, wait_for_layout

PAGES = load_guide()
PROJECTOR = (1024, 768)


def shows(guide: GuideView, index: int) -> bool:
    """Whether ``guide`` shows page ``index`` whole: title, explanation, watch line, code at its focus."""
    page = PAGES[index]
    selection = guide.code.extraSelections()
    return (guide.index == index and guide.title.text() == page.title
            and guide.code.toPlainText() == page.code
            and len(selection) == 1 and selection[0].cursor.blockNumber() == page.focus_line
            and guide.first_visible_line() <= page.focus_line
            and html.escape(page.watch, quote=False) in guide.watch.text()
            and all(" ".join(p.replace("`", "").split()[:4]) in guide.explanation.toPlainText()
                    for p in page.paragraphs)
            and guide.index_box.currentIndex() == index
            and guide.back_button.isEnabled() == (index > 0)
            and guide.next_button.isEnabled() == (index < len(PAGES) - 1))


def code_read_whole(guide: GuideView) -> bool:
    """Nothing of the code hides to the right, and the focus line is in sight, all of it."""
    from PySide6.QtGui import QTextCursor

    code = guide.code
    block = code.document().findBlockByNumber(guide.page.focus_line)
    start = code.cursorRect(QTextCursor(block))
    end_cursor = QTextCursor(block)
    end_cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
    end = code.cursorRect(end_cursor)
    viewport = code.viewport().rect()
    return (code.horizontalScrollBar().maximum() == 0
            and code.document().size().width() <= viewport.width() + 1
            and viewport.contains(start) and viewport.contains(end))


@pytest.fixture
def guide(qtbot):
    loaded = []
    view = GuideView(PAGES, load_and_run=loaded.append)
    view.loaded = loaded
    qtbot.addWidget(view)
    view.resize(420, 700)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_next_walks_every_page_in_order_and_back_walks_them_home(qtbot, guide):
    assert shows(guide, 0)
    for index in range(1, len(PAGES)):
        with qtbot.waitSignal(guide.page_changed) as signal:
            qtbot.mouseClick(guide.next_button, Qt.MouseButton.LeftButton)
        assert signal.args == [index] and shows(guide, index)
    guide.next_page()  # at the last page: nothing further
    assert shows(guide, len(PAGES) - 1)
    for index in reversed(range(len(PAGES) - 1)):
        qtbot.mouseClick(guide.back_button, Qt.MouseButton.LeftButton)
        assert shows(guide, index)


def test_the_index_opens_any_page(guide):
    assert guide.index_box.count() == len(PAGES)
    assert [guide.index_box.itemText(i) for i in range(3)] == [f"{i + 1}. {PAGES[i].title}" for i in range(3)]
    for index in (7, 2, len(PAGES) - 1, 0):
        guide.index_box.setCurrentIndex(index)
        guide.index_box.activated.emit(index)  # what choosing it in the list sends
        assert shows(guide, index)


@pytest.mark.parametrize("forward, back", list(zip(NEXT_KEYS, BACK_KEYS)))
def test_a_presenters_keys_turn_the_pages_wherever_the_focus_is(qtbot, guide, forward, back):
    from PySide6.QtGui import QKeySequence

    guide.activateWindow()
    qtbot.waitUntil(guide.isActiveWindow)
    combination = QKeySequence(forward)[0]
    for target in (guide.code, guide.explanation, guide.run_button):
        before = guide.index
        target.setFocus()
        qtbot.keyClick(target, combination.key(), combination.keyboardModifiers())
        assert shows(guide, before + 1)
    combination = QKeySequence(back)[0]
    qtbot.keyClick(guide.code, combination.key(), combination.keyboardModifiers())
    assert shows(guide, 2)
    guide.set_keys_active(False)  # another tab in front: the keys are theirs again
    qtbot.keyClick(guide.code, combination.key(), combination.keyboardModifiers())
    assert shows(guide, 2)


def test_load_and_run_hands_over_the_page_shown(qtbot, guide):
    guide.show_page(5)
    qtbot.mouseClick(guide.run_button, Qt.MouseButton.LeftButton)
    assert guide.loaded == [PAGES[5]]


def test_a_guide_without_usable_pages_says_why(qtbot, tmp_path, monkeypatch):
    (tmp_path / "01-bad.toml").write_text('title = "x"\n', encoding="utf-8")
    monkeypatch.setattr("engine.guide.guide_dir", lambda: tmp_path)
    view = GuideView()
    qtbot.addWidget(view)
    assert "guide page 01-bad.toml: explanation: missing" in view.title.text()
    assert not view.run_button.isEnabled() and not view.next_button.isEnabled()


# -- in the window ---------------------------------------------------------------------------------
def test_load_and_run_opens_the_pages_experiment_in_the_window_and_trains_it(qtbot, make_window):
    window = make_window()
    guide = install_guide(window)
    window.show()
    show_guide(window, "mistake-scheduler-first")
    page = guide.page
    assert page.name == PAGES[15].name and window.side.current() is window.guide_dock
    window.speed.setCurrentIndex(window.speed.count() - 1)  # 1 epoch/s: it is still training when looked at
    qtbot.mouseClick(guide.run_button, Qt.MouseButton.LeftButton)
    assert window.document.raw == page.raw and window.document.name == f"guide: {page.title}"
    qtbot.waitUntil(lambda: window.controller.state == SessionState.RUNNING, timeout=30_000)
    assert window.experiment == page.experiment  # as the forms hold it: step_order "scheduler_first" too
    assert window.side.current() is window.guide_dock  # the Guide stays in front of Live state
    guide.next_page()  # the next page's run replaces the one still training
    qtbot.mouseClick(guide.run_button, Qt.MouseButton.LeftButton)
    assert window.document.raw == PAGES[16].raw
    qtbot.waitUntil(lambda: window.controller.state == SessionState.RUNNING and window.controller.snapshot
                    is not None and [r.name for r in window.controller.snapshot.runs]
                    == [r.name for r in PAGES[16].experiment.runs], timeout=30_000)
    window.live.stop()
    qtbot.waitUntil(lambda: window.controller.state == SessionState.STOPPED, timeout=30_000)


def test_the_keys_work_only_while_the_guide_is_in_front(qtbot, make_window):
    window = make_window()
    guide = install_guide(window)
    window.show()
    assert not any(s.isEnabled() for s in guide.shortcuts)
    show_guide(window, "2")
    qtbot.waitUntil(lambda: all(s.isEnabled() for s in guide.shortcuts))
    window.setup_dock.raise_()
    qtbot.waitUntil(lambda: not any(s.isEnabled() for s in guide.shortcuts))
    assert guide.index == 1
    assert window.guide_dock in window.side_docks  # View lists it, presentation mode restores it
    assert install_guide(window) is guide and [d.windowTitle() for d in window.side_docks].count("Guide") == 1


@pytest.mark.parametrize("present", [False, True], ids=["window", "presentation"])
def test_every_page_is_legible_at_1024x768(qtbot, make_window, present):
    window = make_window()
    guide = install_guide(window)
    window.resize(*PROJECTOR)
    window.show()
    qtbot.waitExposed(window)
    if present:
        window.presentation.switch(True, 1.5, fullscreen=False)
    show_guide(window)
    wait_for_layout(qtbot, window)
    for index in range(len(PAGES)):
        guide.show_page(index)
        wait_for_layout(qtbot, window)
        assert layout_problems(window) == [], PAGES[index].name
        assert guide.code.font().pointSizeF() == pytest.approx(window.font().pointSizeF())
        assert guide.title.font().pointSizeF() > window.font().pointSizeF()
        assert guide.code.viewport().height() >= 4 * guide.code.fontMetrics().lineSpacing()
        assert code_read_whole(guide), PAGES[index].name
    if present:
        window.presentation.switch(False)


def test_an_unknown_guide_page_exits_2_before_a_window_opens():
    result = main_in_process("gui", "--guide", "99")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and lines[0].startswith('error: --guide: no page "99": a number from 1 to ')


def test_show_guide_can_open_the_pages_experiment_without_starting_it(qtbot, make_window):
    window = make_window()
    window.show()
    guide = show_guide(window, "14", load=True)  # installs the Guide when the window has none
    assert window.guide is guide and guide.page.name == PAGES[13].name
    assert window.document.raw == PAGES[13].raw and window.controller.state == SessionState.IDLE


def test_a_long_line_wraps_under_its_own_indent_and_the_focus_stays_in_sight(qtbot, guide):
    from PySide6.QtGui import QTextCursor

    guide.resize(300, 700)  # a narrow panel: lines wrap
    guide.show_page(15)  # the scheduler-first mistake: its focus line is a long comment
    qtbot.waitUntil(lambda: code_read_whole(guide))
    block = guide.code.document().findBlockByNumber(guide.page.focus_line)
    assert block.layout().lineCount() > 1  # wrapped, not cut
    indent = len(block.text()) - len(block.text().lstrip(" "))
    first = guide.code.cursorRect(QTextCursor(block))
    end = QTextCursor(block)
    end.movePosition(QTextCursor.MoveOperation.EndOfBlock)
    column = guide.code.fontMetrics().horizontalAdvance(" ")
    first_x = first.left() + indent * column
    assert guide.code.cursorRect(end).left() > first_x  # its last line goes on right of where it began
    guide.resize(700, 700)  # wider: fewer lines, the focus line still in sight
    qtbot.waitUntil(lambda: code_read_whole(guide))
    guide.code.verticalScrollBar().triggerAction(guide.code.verticalScrollBar().SliderAction.SliderToMinimum)
    guide.resize(320, 700)  # the person scrolled: the code stays where they put it
    qtbot.waitUntil(lambda: guide.code.verticalScrollBar().value() == 0)
    guide.next_page()  # a new page opens at its own focus line
    qtbot.waitUntil(lambda: code_read_whole(guide))
