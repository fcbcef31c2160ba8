"""The window's cost: training speed with the window open and plots live (vs headless), the
main thread's event latency while training at full speed, and a million-point redraw.

Runs offscreen (QT_QPA_PLATFORM=offscreen): the window is really built, laid out and painted.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from engine.parse import parse_experiment  # noqa: E402
from engine.recorder import Event, RunResults  # noqa: E402
from engine.session import TrainingSession  # noqa: E402

RAW = {"seed": 0, "epochs": 300, "model": "bottleneck", "data": {"samples": 1024, "batch_size": 32},
       "runs": [{"name": "manual", "optimizer": {"type": "Adam", "lr": 0.05}, "manual": {"every": 5, "factor": 0.9}},
                {"name": "StepLR", "optimizer": {"type": "Adam", "lr": 0.05},
                 "scheduler": {"type": "StepLR", "step_size": 5, "gamma": 0.9}}]}


def headless_steps_per_second(experiment) -> float:
    session = TrainingSession(experiment)
    began = time.perf_counter()
    session.run()
    return session.position * len(experiment.runs) / (time.perf_counter() - began)


def windowed(experiment, app, x_mode: str, probe_latency: bool) -> tuple[float, list[float]]:
    """Optimizer steps per second with the window open, or (``probe_latency``) the main thread's
    timer lateness in ms, measured in separate runs since the probe itself costs the trainer."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer

    from gui.main_window import MainWindow
    from gui.training import FINISHED, RUNNING

    settings = QSettings(os.devnull, QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.x_mode.setCurrentIndex(1 if x_mode == "step" else 0)
    window.load_raw(RAW, None, "bench")
    window.show()
    app.processEvents()
    lateness: list[float] = []
    clock = QElapsedTimer()
    probe = QTimer(interval=10)
    last = [0]

    def tick() -> None:
        now = clock.elapsed()
        lateness.append(max(0.0, now - last[0] - 10))
        last[0] = now

    probe.timeout.connect(tick)
    loop = QEventLoop()
    times = {}

    def on_state(state: str) -> None:  # time the training itself, as headless does
        times[state] = time.perf_counter()
        if state == FINISHED:
            loop.quit()

    window.controller.state_changed.connect(on_state)
    window.start()
    clock.start()
    if probe_latency:
        probe.start()
    loop.exec()  # the event loop as the app runs it: idle in C, not spinning in Python
    elapsed = times[FINISHED] - times[RUNNING]
    probe.stop()
    steps = window.controller.session.position * len(experiment.runs)
    window.dirty = False
    window.close()
    return steps / elapsed, lateness


def million_point_redraw(app) -> list[float]:
    """Milliseconds to hand a plot a million-step run and paint it (steps on the x axis)."""
    from gui.plots import PlotPanel

    n = 1_000_000
    step = np.arange(n)
    rng = np.random.default_rng(0)
    loss = np.abs(rng.standard_normal(n)).cumsum() / np.arange(1, n + 1)
    lr = (0.1 * 0.5 ** (step // 100_000)).reshape(-1, 1).astype(float)
    epochs = np.arange(n // 100)
    results = RunResults("million", step, step // 100, loss, lr, np.full((n, 1), np.nan), epochs,
                         loss[::100], loss[::100], lr[::100], [Event(500_000, 5000, "edit", 0, "x")])
    panel = PlotPanel()
    panel.resize(1000, 700)
    panel.set_runs(["million"], 100)
    panel.set_options(x_mode="step")
    panel.show()
    app.processEvents()
    times = []
    for _ in range(7):
        began = time.perf_counter()
        panel.set_results([results])
        panel.repaint()
        app.processEvents()
        times.append((time.perf_counter() - began) * 1000)
    panel.close()
    return times


def main() -> None:
    warnings.simplefilter("ignore")
    from PySide6.QtWidgets import QApplication

    from gui.app import warm_up_torch

    app = QApplication.instance() or QApplication([])
    warm_up_torch()
    experiment = parse_experiment(RAW)
    headless_steps_per_second(experiment)  # warm-up
    print(f"window vs headless: {experiment.epochs} epochs x {experiment.steps_per_epoch} steps x "
          f"{len(experiment.runs)} runs, offscreen")
    for x_mode in ("epoch", "step"):
        headless, windows, latencies = [], [], []
        for _ in range(5):
            headless.append(headless_steps_per_second(experiment))
            windows.append(windowed(experiment, app, x_mode, probe_latency=False)[0])
        latencies = windowed(experiment, app, x_mode, probe_latency=True)[1]
        h, w = statistics.median(headless), statistics.median(windows)
        p99 = float(np.percentile(latencies, 99)) if latencies else float("nan")
        ratio_ok = "ok" if w / h >= 0.8 else "BELOW the 0.8 target"
        latency_ok = "ok" if p99 <= 50 else "ABOVE the 50 ms target"
        print(f"  x in {x_mode}s: headless {h:7.0f} steps/s, window {w:7.0f} steps/s, ratio {w / h:5.3f} "
              f"({ratio_ok}); main-thread latency (10 ms timer) p50 {np.percentile(latencies, 50):4.1f} ms, "
              f"p99 {p99:4.1f} ms ({latency_ok})")
    times = million_point_redraw(app)
    print(f"  million-point plot: set data + paint {statistics.median(times):6.1f} ms (median of {len(times)}), "
          f"first {times[0]:.1f} ms")


if __name__ == "__main__":
    main()
