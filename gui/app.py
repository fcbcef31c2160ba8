"""Opening the window: ``python main.py gui [EXPERIMENT.toml | --preset NAME] [--guide [PAGE]] [--present]
[--autorun] [--screenshot PNG] [--quit] [--size WxH] [--settings FILE]``.

Errors are reported like ``run``'s: an unknown preset or a file that cannot be read prints one
``error: path: message`` line and exits 2 before any window opens. An experiment that cannot
start opens with its fields marked (that is how a person fixes it), but with ``--quit`` (a
script, not a person) it prints the same line and exits 2, after the screenshot if one was asked.
"""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

__all__ = ["run_app", "warm_up_torch", "read_experiment", "parse_size"]

EXIT_INVALID = 2
SCREENSHOT_SIZE = (1440, 920)


def warm_up_torch() -> None:
    """torch in the window's process reads the registry (forms) and runs the quick checks; it
    trains nothing (the engine process does). One intra-op thread all the same: with
    ``LRLAB_ENGINE=thread`` the engine shares this process, and this network's tensors are far
    too small to gain from more."""
    from engine.torch_setup import configure_torch

    configure_torch()


def _splash(app):
    """A window on screen at once, while torch loads (about 3 s in this process, and beside it in
    the engine's): the name, and what is happening."""
    from PySide6.QtCore import QElapsedTimer, QRect, Qt
    from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
    from PySide6.QtWidgets import QWidget

    class Splash(QWidget):
        """A splash screen's window (not ``QSplashScreen``: its ``show()`` waits up to a second for
        the window system to say the window is exposed, which offscreen and some X servers never
        say, and that second was most of the time to the first paint)."""

        def __init__(self, picture: QPixmap):
            super().__init__(None, Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint
                             | Qt.WindowType.WindowStaysOnTopHint)
            self.picture, self.text = picture, ""
            self.setFixedSize(picture.size())
            screen = app.primaryScreen()
            if screen is not None:
                self.move(screen.availableGeometry().center() - self.rect().center())

        def showMessage(self, text: str) -> None:  # noqa: N802 - QSplashScreen's name
            self.text = text
            self.update()

        def finish(self, window) -> None:
            self.close()

        def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
            painter = QPainter(self)
            painter.drawPixmap(0, 0, self.picture)
            painter.setPen(QColor("#444444"))
            painter.drawText(QRect(24, 0, self.width() - 48, self.height() - 18),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom), self.text)

    pixmap = QPixmap(520, 220)
    pixmap.fill(QColor("#ffffff"))
    painter = QPainter(pixmap)
    painter.setPen(QColor("#1a1a1a"))
    font = QFont(app.font())
    font.setPixelSize(34)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(pixmap.rect().adjusted(24, 30, -24, 0), Qt.AlignmentFlag.AlignLeft, "lrlab")
    font.setPixelSize(17)
    font.setBold(False)
    painter.setFont(font)
    painter.drawText(pixmap.rect().adjusted(24, 86, -24, 0), Qt.AlignmentFlag.AlignLeft,
                     "a learning-rate laboratory for PyTorch")
    painter.setPen(QColor("#0072b2"))
    painter.drawRect(0, 0, pixmap.width() - 1, pixmap.height() - 1)
    painter.end()
    splash = Splash(pixmap)
    splash.show()
    # Painted only once the window system has mapped it: wait for that (a few ms), not longer.
    clock = QElapsedTimer()
    clock.start()
    while clock.elapsed() < 300 and app.platformName() != "offscreen" and not (
            splash.windowHandle() and splash.windowHandle().isExposed()):
        app.processEvents()
    _say(app, splash, "Loading PyTorch...")
    return splash


def _say(app, splash, text: str) -> None:
    splash.showMessage(text)
    splash.repaint()
    app.processEvents()


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_INVALID


def read_experiment(args) -> tuple[dict | None, Path | None, str | None]:
    """``(raw, path, error)`` of what the command line asks to open (``raw`` None: nothing); the
    file is read as ``run`` reads it, with the same words when it cannot be."""
    from engine.errors import ExperimentError
    from engine.files import read_raw
    from engine.presets import preset_path

    try:
        if getattr(args, "preset", None):
            return read_raw(preset_path(args.preset)), None, None
        if getattr(args, "experiment", None):
            return read_raw(args.experiment), Path(args.experiment), None
    except ExperimentError as error:
        return None, None, str(error)
    except RecursionError:
        return None, None, f"{args.experiment}: nested too deeply to read"
    return None, None, None


def parse_size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d{2,5})\s*[xX\u00d7]\s*(\d{2,5})\s*", text)
    if not match:
        raise ValueError(f"--size: expected WIDTHxHEIGHT such as 1024x768, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def run_app(args) -> int:
    try:
        size = parse_size(getattr(args, "size", None))
    except ValueError as error:
        return _error(str(error))
    scale = getattr(args, "scale", None)
    from .presentation import SCALES

    if scale is not None and not SCALES[0] <= scale <= SCALES[-1]:
        return _error(f"--scale: expected a number from {SCALES[0]:g} to {SCALES[-1]:g} "
                      f"(e.g. {', '.join(f'{s:g}' for s in SCALES)}), got {scale:g}")
    raw, path, problem = read_experiment(args)
    if problem is not None:
        return _error(problem)
    guide_page = getattr(args, "guide", None)
    if guide_page:  # an unknown page is refused before any window opens, as an unknown preset is
        from engine.errors import ExperimentError
        from engine.guide import find_page, load_guide

        try:
            find_page(load_guide(), guide_page)
        except ExperimentError as error:
            return _error(str(error))
    from engine.errors import ExperimentError
    from engine.presets import list_presets

    try:
        list_presets()  # the Examples panel shows them: an install without them says so here
    except ExperimentError as error:
        return _error(str(error))

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .engine_client import EngineClient

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("lrlab")
    app.setOrganizationName("lrlab")
    splash = _splash(app)
    # The engine's process starts now: it loads torch and warms up the first optimizer while
    # this one loads torch for the forms and builds the window.
    engine = EngineClient()
    engine.start()
    warm_up_torch()
    _say(app, splash, "Building the window...")
    from engine.status import SessionState

    from .main_window import MainWindow
    from .settings import open_settings

    screenshot = getattr(args, "screenshot", None)
    # A screenshot run is a demonstration, not a person's session: its settings are thrown away
    # and it always shows the default layout.
    settings = open_settings(getattr(args, "settings", None), throwaway=bool(screenshot))
    window = MainWindow(settings, restore=not screenshot, engine=engine)
    if raw is not None:
        if path is not None:
            window.open_raw_file(raw, path)
        else:
            window.open_preset(args.preset)
    if size is None and screenshot and not getattr(args, "present", False):
        size = _screenshot_size(app)
    if size is not None:
        window.resize(*size)
    window.show()
    splash.finish(window)
    if getattr(args, "present", False):
        window.presentation.switch(True, scale, fullscreen=size is None)
    elif scale is not None:
        window.presentation.choose_scale(scale)
    if guide_page is not None:
        from .guide_view import show_guide

        # with nothing else to open, the page's experiment is opened (the plots match the page), and
        # --autorun runs it, as its Load and run does
        show_guide(window, guide_page or None, load=raw is None)
    outcome = {"code": 0}

    def cannot_start() -> str | None:
        return None if window.error is None else str(window.error)

    def finish() -> None:
        if screenshot:
            window.live.refresh()
            app.processEvents()
            if not window.grab().save(screenshot):
                print(f"error: cannot write {screenshot}", file=sys.stderr)
                outcome["code"] = 1
        if args.quit:
            if cannot_start() is not None:  # a scripted run must not pass an experiment that cannot run
                print(f"error: {cannot_start()}", file=sys.stderr)
                outcome["code"] = outcome["code"] or EXIT_INVALID
            window.dirty = False  # a demonstration run: nothing to ask about
            window.close()
            app.quit()

    def when_checked(then) -> None:
        """Call ``then`` once torch's verdict and the previews are in (a picture shows them), or the
        quick checks refused the experiment; at most a minute later in any case."""
        waited = {"ms": 0}

        def look() -> None:
            v = window.validator
            done = window.experiment is None or window.error is not None or (
                not v.waiting and len(v.final) == len(window.predictions))
            waited["ms"] += 100
            if done or waited["ms"] >= 60_000:
                then()
            else:
                QTimer.singleShot(100, look)

        QTimer.singleShot(100, look)

    if getattr(args, "autorun", False):
        def on_state(state: str) -> None:
            if state in (SessionState.FINISHED, SessionState.STOPPED):
                QTimer.singleShot(100, finish)

        def refused(*_) -> None:  # torch refused it at Start (the quick checks could not see it)
            if args.quit:
                QTimer.singleShot(100, finish)
            else:
                print(f"error: {cannot_start()}", file=sys.stderr)

        def start() -> None:
            if cannot_start() is not None:
                refused()
            else:
                window.start()

        window.controller.state_changed.connect(on_state)
        window.controller.refused.connect(refused)
        QTimer.singleShot(0, start)
    elif screenshot or args.quit:
        when_checked(finish)
    _close_on_signals(window)
    code = app.exec()
    return outcome["code"] or code


def _screenshot_size(app) -> tuple[int, int]:
    """The usual picture size, but never larger than the screen (a 1024x768 projector)."""
    screen = app.primaryScreen()
    if screen is None or app.platformName() == "offscreen":
        return SCREENSHOT_SIZE
    available = screen.availableGeometry()
    return min(SCREENSHOT_SIZE[0], available.width()), min(SCREENSHOT_SIZE[1], available.height())


def _close_on_signals(window) -> None:
    """Ctrl-C or SIGTERM in the terminal closes the window as its close button would: training stops
    between steps and unsaved changes are asked about (never a traceback, never lost work)."""
    from PySide6.QtCore import QTimer

    def handler(signum, frame) -> None:
        QTimer.singleShot(0, window.close)

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(signum, handler)
        except (ValueError, OSError):  # not the main thread, or not supported here
            pass
