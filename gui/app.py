"""Opening the window: ``python main.py gui [EXPERIMENT.toml] [--autorun] [--screenshot PNG] [--quit]``."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["run_app", "warm_up_torch"]



def warm_up_torch() -> None:
    """Prepare torch for training beside the window, on the main thread, before the first run.

    * One intra-op thread: this network's tensors are far too small to gain from more, and
      torch's OpenMP pool driven from a worker thread costs about 3x in throughput here.
    * A throw-away optimizer: the first one imports torch._dynamo (about 1.6 s, hundreds of
      modules); done first in the training thread it would freeze the window through the GIL.
    """
    import torch

    torch.set_num_threads(1)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.1)


def run_app(args) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .training import FINISHED, STOPPED

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("lrlab")
    app.setOrganizationName("lrlab")
    warm_up_torch()
    window = MainWindow(restore=not args.screenshot)  # screenshots: the default layout, every time
    if getattr(args, "preset", None):
        window.open_preset(args.preset)
    elif getattr(args, "experiment", None):
        if not Path(args.experiment).is_file():
            print(f"error: {args.experiment}: no such file", file=sys.stderr)
            return 2
        window.open_file(args.experiment)
    if args.screenshot:
        window.resize(1440, 920)
    window.show()
    outcome = {"code": 0}

    def finish() -> None:
        if args.screenshot:
            window.refresh()
            app.processEvents()
            if not window.grab().save(args.screenshot):
                print(f"error: cannot write {args.screenshot}", file=sys.stderr)
                outcome["code"] = 1
        if args.quit:
            window.dirty = False  # a demonstration run: nothing to ask about
            window.close()
            app.quit()

    if args.autorun:
        def on_state(state: str) -> None:
            if state in (FINISHED, STOPPED):
                QTimer.singleShot(100, finish)

        window.controller.state_changed.connect(on_state)
        QTimer.singleShot(0, window.start)
        if window.error is not None:
            print(f"error: {window.error}", file=sys.stderr)
            return 2
    elif args.screenshot or args.quit:
        QTimer.singleShot(500, finish)
    code = app.exec()
    return outcome["code"] or code
