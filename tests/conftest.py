"""Shared fixtures. Qt runs offscreen: set before any Qt module loads (pytest-qt's qapp aborts otherwise)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

# Nothing the tests do may show up in a person's Open Recent or window layout: every window
# (and every `main.py gui` the tests start, which inherits the environment) keeps its settings
# in a throw-away file. gui/settings.py reads this variable.
_SETTINGS_DIR = tempfile.mkdtemp(prefix="lrlab-test-settings-")
atexit.register(shutil.rmtree, _SETTINGS_DIR, ignore_errors=True)
os.environ["LRLAB_SETTINGS"] = os.path.join(_SETTINGS_DIR, "settings.ini")
# The window's engine runs in a thread of the test process (the same loop and pipe messages as
# the process the app spawns, without importing torch again per window); tests of the process
# itself ask for it explicitly.
os.environ.setdefault("LRLAB_ENGINE", "thread")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import gc  # noqa: E402

import pytest  # noqa: E402

from engine.torch_setup import configure_torch  # noqa: E402


def pytest_configure(config):
    """The whole suite runs torch as the app does (one intra-op thread: the CLI, the window and its
    engine call the same function), set before any test module is imported. With torch's default
    threads a busy 2-core machine makes OpenMP's threads wait on each other: one bit-identity test
    took 23.8 s instead of 2.9 s. (pytest-xdist's controller runs no test: it does not import torch.)"""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    configure_torch()


# Widget tests leave Qt objects for the garbage collector, and engine tests train in worker
# threads: an automatic collection there could destroy Qt objects off the GUI thread, which
# deadlocks PySide. As in the app (gui/main_window.py), collect only in the main thread.
gc.disable()


_tests_since_full_collection = 0


def pytest_collection_finish(session):
    """Once every test module is imported (torch, Qt, pyqtgraph, the engine, the window): what
    exists now lives to the end, so the collections below need not look through it again (a full
    collection took 0.13 s with the 200,000 objects of those imports, about 40 s of the suite)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _collect_in_the_main_thread(request):
    """Full collections after widget tests (Qt garbage) and every 20 tests; cheap ones otherwise."""
    global _tests_since_full_collection
    yield
    _tests_since_full_collection += 1
    if "qtbot" in request.fixturenames or _tests_since_full_collection >= 20:
        gc.collect()
        _tests_since_full_collection = 0
    else:
        gc.collect(0)


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """The CLI tests' uninterrupted run (tests/cli_helpers.py): its experiment file and CSV files."""
    from tests.cli_helpers import SHORT, reference_run

    return reference_run(tmp_path_factory, SHORT)


@pytest.fixture
def experiment_dict():
    """A small valid experiment as TOML would give it; tests change one thing each."""
    def make(**runs_overrides):
        run = {"name": "r", "optimizer": {"type": "Adam", "lr": 0.1}}
        run.update(runs_overrides)
        return {"seed": 0, "epochs": 6, "model": "article",
                "data": {"samples": 128, "batch_size": 32}, "runs": [run]}
    return make


def settle(qtbot, window, timeout=30_000):
    """Wait until the engine has answered the window's newest check: torch's verdict and, for an
    experiment that passes, every run's preview."""
    qtbot.waitUntil(lambda: not window.validator.waiting and (
        window.experiment is None or window.error is not None or len(window.validator.final) == len(window.predictions))
        and not window.prediction_timer.isActive(),  # and drawn (previews arriving together are drawn together)
        timeout=timeout)


def step_epoch(qtbot, window, timeout=30_000):
    """Step Epoch, and wait until the engine has trained that epoch and paused (the window's
    state says PAUSED before the request arrives, when it was paused already)."""
    snapshot = window.controller.snapshot
    before = snapshot.position if snapshot is not None and window.controller.state == "paused" else 0
    window.live.step_epoch()
    qtbot.waitUntil(lambda: window.controller.state == "paused" and window.controller.snapshot is not None
                    and window.controller.snapshot.position > before, timeout=timeout)


def engine_session(window):
    """The engine's own TrainingSession (tests only: the engine runs in a thread of the test
    process; the window itself never reads it)."""
    return window.controller.client.worker.session


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Open main windows with isolated settings; each is closed (its engine thread stopped) after the test.

    Not registered with qtbot: qtbot would close it first, and a window with unsaved changes
    would then ask about them in a modal dialog.
    """
    from PySide6.QtCore import QSettings

    from gui.main_window import MainWindow

    windows = []

    def make(raw: dict | None = None, settings: QSettings | None = None):
        if settings is None:
            settings = QSettings(str(tmp_path / f"settings{len(windows)}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings)
        windows.append(window)
        qtbot.waitUntil(lambda: window.controller.ready, timeout=30_000)
        if raw is not None:
            window.load_raw(raw, None, "test")
        settle(qtbot, window)
        return window

    yield make
    for window in windows:
        window.dirty = False
        window.controller.shutdown(2000)
        assert not window.controller.busy
        window.close()
        window.deleteLater()
