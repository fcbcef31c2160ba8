"""Where the window keeps what it remembers (geometry, layout, recent files, view options).

A person's settings live in Qt's usual place. Anything that is not a person using the app (the
test suite, a ``--screenshot`` run, a demonstration script) must not write there, or a stranger's
``pytest-of-root/.../e.toml`` shows up in their Open Recent. So the store is chosen here, once:

1. an explicit file (``main.py gui --settings FILE``), else
2. the file named by the environment variable ``LRLAB_SETTINGS`` (the test suite sets it), else
3. a throw-away file when the caller asks for one (``--screenshot`` runs), else
4. the person's own settings.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings

__all__ = ["ENV_VAR", "APP", "open_settings", "restore_window", "save_window", "LAYOUT_VERSION"]

LAYOUT_VERSION = 5  # bump when docks or toolbars change, so an old saved layout is not applied

APP = "lrlab"
ENV_VAR = "LRLAB_SETTINGS"


def open_settings(path: str | os.PathLike | None = None, *, throwaway: bool = False) -> QSettings:
    """The settings store to use (see the module's docstring for the order)."""
    chosen = path or os.environ.get(ENV_VAR)
    if not chosen and throwaway:
        directory = tempfile.mkdtemp(prefix="lrlab-settings-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        chosen = os.path.join(directory, "settings.ini")
    if chosen:
        Path(chosen).parent.mkdir(parents=True, exist_ok=True)
        return QSettings(str(chosen), QSettings.Format.IniFormat)
    return QSettings(APP, APP)


def restore_window(window) -> None:
    """Put back what ``window`` (a MainWindow) remembered: geometry, docks, view options, speed,
    presentation scale. Values that do not fit (another layout, a bad number) are ignored."""
    from .presentation import SCALES

    s = window.settings
    if s.value("geometry") is not None:
        window.restoreGeometry(s.value("geometry"))
    if s.value("windowState") is not None:
        window.restoreState(s.value("windowState"), LAYOUT_VERSION)  # another layout's state is ignored
    window.plot_controls.restore(s)
    speed = s.value("speed")
    if speed is not None and 0 <= int(speed) < window.speed.count():
        window.speed.setCurrentIndex(int(speed))
    try:
        scale = float(s.value("presentation_scale", window.presentation.scale))
    except (TypeError, ValueError):
        scale = window.presentation.scale
    if SCALES[0] <= scale <= SCALES[-1]:
        window.presentation.scale = scale
        window.presentation.check_scale()


def save_window(window) -> None:
    """Remember ``window``'s normal (not full-screen) geometry, docks and view options."""
    if window.presentation.active:
        window.presentation.switch(False)
    s = window.settings
    s.setValue("geometry", window.saveGeometry())
    s.setValue("windowState", window.saveState(LAYOUT_VERSION))
    window.plot_controls.save(s)
    s.setValue("speed", window.speed.currentIndex())
    s.setValue("presentation_scale", window.presentation.scale)
