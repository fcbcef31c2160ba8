"""Opening windows for widget tests: isolated settings, closed (and their threads stopped) after each test."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture
def make_window(qtbot, tmp_path):
    from gui.main_window import MainWindow

    windows = []

    def make(raw: dict | None = None):
        settings = QSettings(str(tmp_path / f"settings{len(windows)}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings)
        windows.append(window)  # closed below, not by qtbot: first say there is nothing to save
        if raw is not None:
            window.load_raw(raw, None, "test")
        return window

    yield make
    for window in windows:
        window.dirty = False
        window.controller.shutdown(2000)
        assert not window.controller.busy
        window.close()
        window.deleteLater()
