"""``python main.py gui`` with stopwatches: when its window first painted, and when Start became enabled.

Run by :func:`benchmarks.bench_gui.startup` in a fresh interpreter, which sets
``LRLAB_BENCH_LAUNCHED_AT`` to ``time.time()`` just before it starts this process; every
figure printed is seconds since then (interpreter start-up included). The app runs exactly as
``main.main(["gui", ...])`` runs it, with three hooks that do not touch the app's code:

* the ``QApplication`` is created here first (``run_app`` takes the existing instance), so
  that an event filter can be installed; creating it here instead of inside ``run_app`` moves
  the same work earlier, it does not add any;
* an application event filter notes the first ``Paint`` event of any widget
  (``first_paint_any_widget``: a splash screen, if the app shows one before its window) and the
  first of a widget inside a ``QMainWindow`` (``first_paint_event``), then removes itself; the
  whole first frame is painted when the event loop next turns (``painted``). The filter costs
  one Python call per event until then (milliseconds over a start-up);
* ``gui.app.warm_up_torch`` (where the window's process imports torch) and
  ``EngineClient.start`` (the engine process spawned) are wrapped to note when they run;
* from the first paint on, ``start_action.changed`` and ``controller.engine_ready`` note when
  Start became enabled and when the engine said it is ready (if Start was enabled before the
  window painted, ``start_enabled`` is the paint's time: what a person can first see).

Prints one JSON line (``{"marks": {...}}``) and exits; the window closes as its close button
would (the engine process is shut down).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

LAUNCHED_AT = float(os.environ.get("LRLAB_BENCH_LAUNCHED_AT", time.time()))
marks: dict[str, float] = {"interpreter_started": time.time() - LAUNCHED_AT}


def mark(name: str) -> None:
    if name not in marks:
        marks[name] = time.time() - LAUNCHED_AT


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)


def main() -> int:
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(sys.argv[:1])
    mark("qapplication")
    state: dict = {}

    def finish() -> None:
        window = state.get("window")
        client = window.controller.client if window is not None else None
        print(json.dumps({"marks": marks, "platform": app.platformName(),
                          "engine_ready_after_spawn": getattr(client, "ready_after", None)}), flush=True)
        if window is not None:
            window.dirty = False
            window.close()
        app.quit()

    def maybe_done() -> None:
        if "painted" in marks and "start_enabled" in marks and not state.get("done"):
            state["done"] = True
            QTimer.singleShot(0, finish)

    def start_changed() -> None:
        if state["window"].start_action.isEnabled():
            mark("start_enabled")
            maybe_done()

    class FirstPaint(QObject):
        """The first Paint event of any widget (a splash, if the app shows one first), and the first
        of a widget of the main window; then it removes itself."""

        def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint and obj.isWidgetType():
                mark("first_paint_any_widget")
                window = obj.window()
                if isinstance(window, QMainWindow):
                    mark("first_paint_event")
                    app.removeEventFilter(self)
                    state["window"] = window
                    window.start_action.changed.connect(start_changed)
                    window.controller.engine_ready.connect(lambda ok: mark("engine_ready") if ok else None)
                    if window.controller.ready:
                        mark("engine_ready")
                    QTimer.singleShot(0, frame_done)  # the rest of the frame paints in the same pass
            return False

    def frame_done() -> None:
        mark("painted")
        start_changed()
        maybe_done()

    watcher = FirstPaint()
    app.installEventFilter(watcher)

    # Cheap modules (Qt and the standard library only): wrapping them changes no import order.
    import gui.app as gui_app
    from gui.engine_client import EngineClient

    original_warm_up, original_start = gui_app.warm_up_torch, EngineClient.start

    def warm_up() -> None:
        mark("warm_up_torch_began")  # `import torch` in the window's process, unless done before
        marks["torch_imported_before_warm_up"] = float("torch" in sys.modules)
        original_warm_up()
        mark("warm_up_torch_ended")

    def start(self) -> None:
        mark("engine_spawned")
        original_start(self)

    gui_app.warm_up_torch = warm_up
    EngineClient.start = start
    QTimer.singleShot(60_000, finish)  # never hang a benchmark
    import main

    return main.main(["gui", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
