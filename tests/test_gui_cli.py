"""``main.py gui`` as a script uses it: errors like ``run``'s, screenshots, presentation mode, and
settings that never land in a person's own store.

What is refused before any window opens runs in this process (tests/cli_helpers.py
main_in_process); a window that opens, takes its screenshot and quits is a process of its own
(forked by tests/cli_zygote.py, which has imported torch but never Qt; test_wheel.py starts the
installed ``lrlab-gui`` as a fresh interpreter).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.cli_helpers import finish, main_in_process
from tests.cli_zygote import Forked


def gui(*args, env=None, unset=()) -> subprocess.CompletedProcess:
    """``python main.py gui ARGS`` in a process of its own (forked from tests/cli_zygote.py), with
    ``env`` added to this process's environment and the variables ``unset`` removed from it."""
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    environment.update({"QT_QPA_PLATFORM": "offscreen", **(env or {})})
    process = Forked(["gui", *args], env=environment)
    code, out, err = finish(process)
    return subprocess.CompletedProcess(process.args, code, out, err)


def gui_in_process(*args):
    return main_in_process("gui", *args)


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    return lines[0]


def test_an_unknown_preset_exits_2_with_one_line():
    result = gui_in_process("--preset", "nosuch")
    assert result.returncode == 2
    assert one_error_line(result).startswith('error: --preset: unknown preset "nosuch"; available: ')


@pytest.mark.parametrize("content, words", [("x = [1, 2", "not valid TOML"), (b"\xff\xfe", "not a text file")])
def test_a_file_that_cannot_be_read_exits_2_naming_it(tmp_path, content, words):
    path = tmp_path / "broken.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = gui_in_process(path, "--screenshot", tmp_path / "x.png", "--quit")
    assert result.returncode == 2
    assert one_error_line(result).startswith(f"error: {path}: {words}")
    assert not (tmp_path / "x.png").exists()
    missing = gui_in_process(tmp_path / "none.toml")
    assert missing.returncode == 2 and one_error_line(missing) == f"error: {tmp_path / 'none.toml'}: no such file"
    # the same words as `run` for the same file
    run = main_in_process("run", path, "--out", tmp_path / "o")
    assert run.returncode == 2 and one_error_line(run) == one_error_line(result)


def test_an_experiment_that_cannot_start_exits_2_under_quit(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('epochs = 3\n[[runs]]\noptimizer = { type = "Adam", lr = "fast" }\n')
    for extra in (["--autorun"], []):
        result = gui(path, *extra, "--screenshot", tmp_path / "bad.png", "--quit")
        assert result.returncode == 2, result.stderr
        assert one_error_line(result) == 'error: runs[0].optimizer.lr: expected a number >= 0, got "fast"'
        assert (tmp_path / "bad.png").stat().st_size > 10_000  # the screenshot shows the marked field


def test_bad_options_exit_2(tmp_path):
    assert one_error_line(gui_in_process("--size", "huge")).startswith("error: --size: expected WIDTHxHEIGHT")
    assert one_error_line(gui_in_process("--scale", "5")).startswith("error: --scale: expected a number from 1.25 to 2")


def test_screenshots_at_a_projectors_size_in_presentation_mode(tmp_path):
    from PySide6.QtGui import QImage

    shot = tmp_path / "present.png"
    result = gui("--preset", "steplr", "--present", "--scale", "1.5", "--size", "1024x768", "--autorun",
                 "--screenshot", shot, "--quit")
    assert result.returncode == 0, result.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1024, 768)


def test_a_screenshot_run_and_the_tests_never_touch_a_persons_settings(tmp_path):
    """Run as a person would, with a fresh home: only the throw-away store is written."""
    home = tmp_path / "home"
    experiment = tmp_path / "e.toml"
    experiment.write_text('epochs = 2\n[[runs]]\noptimizer = { type = "SGD", lr = 0.1 }\n')
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    result = gui(experiment, "--autorun", "--screenshot", tmp_path / "s.png", "--quit", env=env,
                 unset=["LRLAB_SETTINGS"])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "s.png").stat().st_size > 10_000  # the window after training, as a picture
    written = [p for p in home.rglob("*") if p.is_file()] if home.exists() else []
    assert not [p for p in written if "lrlab" in str(p)], written
    # --settings FILE: that file, and nothing else, holds what the window remembers
    store = tmp_path / "store.ini"
    result = gui(experiment, "--settings", store, "--quit", env=env, unset=["LRLAB_SETTINGS"])
    assert result.returncode == 0, result.stderr
    assert str(experiment) in store.read_text()  # its Open Recent
    assert not [p for p in home.rglob("*") if p.is_file() and "lrlab" in str(p)] if home.exists() else True


def test_the_test_suite_itself_uses_a_throw_away_store(qtbot):
    from gui.main_window import MainWindow
    from gui.settings import ENV_VAR

    assert "lrlab-test-settings-" in os.environ[ENV_VAR]  # set by tests/conftest.py before Qt loads
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.settings.fileName() == os.environ[ENV_VAR]
    window.dirty = False
