"""The window's end of the engine: a spawned process (or, for tests, a thread) and one pipe.

The engine (:mod:`engine.worker`) starts at launch, beside the window: it imports torch and
warms up the first optimizer while the window is already on screen. Everything goes over the
pipe as plain data; what comes back is read when the pipe has something (a socket notifier,
no polling) and handed on as Qt signals in the GUI thread. If the process dies (a torch
abort, a crash), :attr:`EngineClient.crashed` says so and :meth:`restart` starts a new one.

``LRLAB_ENGINE=thread`` runs the same loop in a thread of this process (same pipe, same
messages): the test suite uses it so that each of its windows does not import torch again.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

__all__ = ["EngineClient"]

MAX_MESSAGES_PER_TURN = 200  # then the event loop gets a turn (painting, input) before the rest


class EngineClient(QObject):
    """Sends requests to the engine and emits :attr:`received` ``(kind, args)`` for each reply
    (:attr:`is_ready` once the engine said "ready")."""

    received = Signal(str, tuple)
    crashed = Signal(str)

    def __init__(self, parent: QObject | None = None, mode: str | None = None):
        super().__init__(parent)
        self.mode = mode or os.environ.get("LRLAB_ENGINE", "process")
        self.conn = None
        self.process = None
        self.thread: threading.Thread | None = None
        self.notifier: QSocketNotifier | None = None
        self.worker = None
        self.is_ready = False
        self.info: dict = {}
        self.started_at = 0.0
        self.ready_after: float | None = None  # seconds from start() to "ready"
        self._alive = False

    # -- the engine's life ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the engine (returns at once; a "ready" message follows when torch is loaded)."""
        from engine.worker import Worker, serve

        self.started_at = time.perf_counter()
        self.ready_after = None
        if self.mode == "thread":
            self.conn, child = multiprocessing.Pipe()
            # Tests may look at the engine's own objects through self.worker (the window never does).
            self.worker = Worker(child)
            self.thread = threading.Thread(target=serve, args=(child,), kwargs={"worker": self.worker},
                                           name="lrlab-engine", daemon=True)
            self.thread.start()
        else:
            context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt
            self.conn, child = context.Pipe()
            self.process = context.Process(target=serve, args=(child,), name="lrlab-engine", daemon=True)
            self.process.start()
            child.close()
        self.is_ready = False
        self._alive = True
        self.notifier = QSocketNotifier(self.conn.fileno(), QSocketNotifier.Type.Read, self)
        self.notifier.activated.connect(self._read)

    def restart(self) -> None:
        self.shutdown(500)
        self.start()

    @property
    def alive(self) -> bool:
        return self._alive

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Ask the engine to end, wait for it, and end it if it does not; True when it is gone."""
        if self.conn is None:
            return True
        if self.notifier is not None:
            self.notifier.setEnabled(False)
            self.notifier.deleteLater()
            self.notifier = None
        try:
            self.conn.send(("shutdown",))
        except OSError:
            pass
        gone = True
        if self.process is not None:
            self.process.join(timeout_ms / 1000)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(1)
            gone = not self.process.is_alive()
        if self.thread is not None:
            self.thread.join(timeout_ms / 1000)
            gone = not self.thread.is_alive()
        try:
            self.conn.close()
        except OSError:
            pass
        self.conn = self.process = self.thread = self.worker = None
        self._alive = False
        self.is_ready = False
        return gone

    # -- talking to it ---------------------------------------------------------------------------
    def send(self, kind: str, *args) -> bool:
        """Send a request; False when there is no engine to take it (it crashed, or is restarting)."""
        if self.conn is None or not self._alive:
            return False
        try:
            self.conn.send((kind, *args))
        except (OSError, ValueError):
            self._lost("the connection to the engine broke")
            return False
        return True

    def _read(self, *_) -> None:
        for _ in range(MAX_MESSAGES_PER_TURN):
            conn = self.conn
            if conn is None:
                return
            try:
                if not conn.poll():
                    return
                kind, *args = conn.recv()
            except (EOFError, OSError):
                self._lost(self._exit_words())
                return
            if kind == "ready":
                self.is_ready = True
                self.info = args[0]
                self.ready_after = time.perf_counter() - self.started_at
            self.received.emit(kind, tuple(args))
        QTimer.singleShot(0, self, self._read)  # more waiting: after the event loop's turn

    def _exit_words(self) -> str:
        if self.process is not None:
            self.process.join(0.5)
            code = self.process.exitcode
            if code is not None and code < 0:
                import signal

                try:
                    return f"the engine process was ended by {signal.Signals(-code).name}"
                except ValueError:
                    return f"the engine process was ended by signal {-code}"
            if code is not None:
                return f"the engine process exited with code {code}"
        return "the engine stopped answering"

    def _lost(self, reason: str) -> None:
        if not self._alive:
            return
        self._alive = False
        self.is_ready = False
        if self.notifier is not None:
            self.notifier.setEnabled(False)
        self.crashed.emit(reason)
