"""Training as the window sees it: the engine's state, its latest snapshot, and the results so far.

The engine (another process, see :mod:`gui.engine_client`) trains; this object mirrors what
it publishes. The state (idle, running, paused, finished, stopped) is the engine's, changed
only by its ``state`` messages: there is one pause mechanism, the engine loop's. Results
arrive as new rows and go into one :class:`~gui.series.RunSeries` per run; the param groups
and scheduler state arrive as an immutable :class:`~engine.snapshot.SessionSnapshot`. Nothing
here holds a torch object.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, Signal

from engine.commands import Command
from engine.snapshot import SessionSnapshot
from engine.status import SessionState

from .engine_client import EngineClient
from .series import RunSeries

__all__ = ["TrainingController"]

_settled = False


def _settle_startup_objects() -> None:
    """Once, when the first engine is ready (the window built and shown): collect, then move every
    object that exists to Python's permanent generation (``gc.freeze``). The window's process holds
    about 220,000 objects from startup (torch's registry introspection, Qt's wrappers) that live as
    long as it does; a full collection walked them all, 100-160 ms on the GUI thread now and then
    (a key press waited). Objects made later are collected as before; reference counting still
    frees frozen ones."""
    global _settled
    if not _settled:
        _settled = True
        gc.collect()
        gc.freeze()


class TrainingController(QObject):
    state_changed = Signal(str)
    published = Signal()                  # new rows and a new snapshot
    started = Signal()                    # a session was built: results start from nothing
    refused = Signal(str, str, str)       # title, field path, message (Start or a state file refused)
    command_done = Signal(object, str, str)  # command, field path, message ("" when queued)
    notice = Signal(str, str)             # title, text: something a person must know
    saved_state = Signal(str, int)        # path, epoch
    exported = Signal(str, list)          # directory, file names
    job_failed = Signal(str)              # the engine itself failed (a bug, or its process died)
    engine_ready = Signal(bool)

    def __init__(self, parent: QObject | None = None, client: EngineClient | None = None):
        super().__init__(parent)
        self.client = client or EngineClient(self)
        self.client.setParent(self)
        self.client.received.connect(self._received)
        self.client.crashed.connect(self._crashed)
        self.state = SessionState.IDLE
        self.snapshot: SessionSnapshot | None = None
        self.series: list[RunSeries] = []
        self.speed: float | None = None
        self.starting = False          # Start sent, the engine has not answered yet
        # Whether the engine's results and states are about the session this window shows: after
        # Start or Reset, what is still in the pipe is about the session before, until "started".
        self.accepting = False
        self.start_request = 0         # the number of the newest Start; an answer to an older one is stale
        self.engine_has_session = False  # False after a crash: the results shown are the window's only copy

    # -- the engine's life ---------------------------------------------------------------------
    def launch(self) -> None:
        """Start the engine unless it runs already (the app starts it before building the window)."""
        if not self.client.alive:
            self.client.start()

    @property
    def ready(self) -> bool:
        return self.client.is_ready

    @property
    def busy(self) -> bool:
        return self.state == SessionState.RUNNING or self.starting

    @property
    def has_session(self) -> bool:
        return self.snapshot is not None

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """End the engine (training stops between steps); True when nothing is left running."""
        gone = self.client.shutdown(timeout_ms)
        self.starting = False
        if self.state in (SessionState.RUNNING, SessionState.PAUSED):
            self.state = SessionState.STOPPED
        return gone

    # -- requests -------------------------------------------------------------------------------
    def start(self, raw: dict, *, state_path: str | None = None, run: bool = True) -> bool:
        """Train ``raw`` (a checked experiment) from the start, or from a training-state file."""
        if not self._ensure_engine():
            return False
        self.start_request += 1
        self.starting = self.client.send("start", raw, state_path, run, self.start_request)
        self.accepting = False
        return self.starting

    def pause(self) -> None:
        self.client.send("pause")

    def resume(self) -> None:
        self.client.send("resume")

    def step_epoch(self) -> None:
        self.client.send("step_epoch")

    def stop(self) -> None:
        self.client.send("stop")

    def reset(self) -> None:
        """Forget the session and its results (at once here; the engine follows)."""
        self.client.send("reset")
        self.accepting = self.starting = self.engine_has_session = False
        self.start_request += 1  # a Start still unanswered is dropped with the session
        self.snapshot = None
        self.series = []
        self._set_state(SessionState.IDLE)

    def set_speed(self, epochs_per_second: float | None) -> None:
        self.speed = epochs_per_second
        self.client.send("speed", epochs_per_second)

    def submit(self, command: Command) -> bool:
        """Send a command for the next step; the answer comes as :attr:`command_done`."""
        return self.client.send("command", command)

    def save_state(self, path: str) -> bool:
        return self.client.send("save_state", path)

    def export(self, directory: str) -> bool:
        """Write the results as CSV files: by the engine (its own copy), or, when the engine that
        trained them is gone (a crash), from the window's copy."""
        if self.engine_has_session:
            return self.client.send("export", directory)
        from engine.results import write_results

        try:
            paths = write_results([s.exact() for s in self.series], directory)
        except OSError as error:
            self.notice.emit("Cannot export", str(error))
            return False
        self.exported.emit(str(directory), [p.name for p in paths])
        return True

    def check(self, request: int, raw: dict) -> bool:
        return self.client.send("check", request, raw)

    def _ensure_engine(self) -> bool:
        if not self.client.alive:
            self.client.restart()
            if self.speed is not None:
                self.client.send("speed", self.speed)
        return self.client.alive

    # -- what the engine says ---------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)

    def _received(self, kind: str, args: tuple) -> None:
        if kind in ("published", "state") and not self.accepting:
            return  # about a session this window has let go of (reset, or replaced by Start)
        if kind == "published":
            snapshot, chunks = args
            if self.snapshot is None or len(self.series) != len(chunks):
                self.series = [RunSeries(part.name, snapshot.steps_per_epoch) for part in chunks]
            self.snapshot = snapshot
            for series, part in zip(self.series, chunks):
                series.append(part)
            self.published.emit()
        elif kind == "state":
            self.starting = False if args[0] != SessionState.IDLE else self.starting
            if args[0] != self.state:
                self._set_state(args[0])
        elif kind == "started":
            if args[-1] != self.start_request:
                return  # a Start dropped since (Reset, another Start)
            self.accepting = self.engine_has_session = True
            self.snapshot = None
            self.series = []
            self.started.emit()
        elif kind == "refused":
            if args[-1] != self.start_request:
                return
            args = args[:-1]
            self.starting = False
            self.accepting = self.snapshot is not None  # the session before goes on
            self.refused.emit(*args)
        elif kind == "command_queued":
            self.command_done.emit(args[0], "", "")
        elif kind == "command_refused":
            self.command_done.emit(*args)
        elif kind == "notice":
            self.notice.emit(*args)
        elif kind == "saved_state":
            self.saved_state.emit(*args)
        elif kind == "exported":
            self.exported.emit(*args)
        elif kind == "failed":
            self.job_failed.emit(args[0].strip().splitlines()[-1])
        elif kind == "ready":
            if self.speed is not None:
                self.client.send("speed", self.speed)
            _settle_startup_objects()
            self.engine_ready.emit(True)

    def _crashed(self, reason: str) -> None:
        """The engine died (a torch abort, a kill): say so, keep what was published, and start a
        new engine at once, so Start is possible again as soon as it is ready."""
        self.starting = self.accepting = self.engine_has_session = False
        self.engine_ready.emit(False)
        if self.state in (SessionState.RUNNING, SessionState.PAUSED):
            self._set_state(SessionState.STOPPED)
        if self.client.ready_after is None:  # it never started: a new one would fail the same way
            self.job_failed.emit(f"{reason} before it was ready: training is not possible (is torch installed?)")
            return
        self.job_failed.emit(f"{reason}. The results so far are kept; a new engine is starting, then Start "
                             "trains again.")
        self.client.restart()
