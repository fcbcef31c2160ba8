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

__all__ = ["ENV_VAR", "APP", "open_settings"]

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
