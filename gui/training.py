"""The engine thread: a TrainingSession run in a QThread, controlled from the window.

The session's own loop does the work; this only starts and ends *jobs* (one call of
``session.run``) on a worker thread. Pause ends the job at the next step boundary and keeps
the session; Resume and Step start a new job on it. Widgets are never touched off the main
thread: the job's end arrives as Qt's ``finished`` signal, queued to the main thread, and
the window reads results itself on a timer.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, QThread, Signal

from engine.commands import Command
from engine.session import TrainingSession

__all__ = ["TrainingController", "IDLE", "RUNNING", "PAUSED", "FINISHED", "STOPPED"]

IDLE, RUNNING, PAUSED, FINISHED, STOPPED = "idle", "running", "paused", "finished", "stopped"


class _Job(QThread):
    def __init__(self, session: TrainingSession, kwargs: dict, parent=None):
        super().__init__(parent)
        self.session, self.kwargs, self.error = session, kwargs, None

    def run(self) -> None:
        try:
            self.session.run(**self.kwargs)
        except Exception as error:  # the session catches torch errors per run; this is anything else
            self.error = "".join(traceback.format_exception_only(type(error), error)).strip()


class TrainingController(QObject):
    state_changed = Signal(str)
    job_failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.session: TrainingSession | None = None
        self.job: _Job | None = None
        self.state = IDLE
        self.speed: float | None = None
        self._ending: str | None = None  # the state a stop request should end in

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.isRunning()

    def start(self, session: TrainingSession, *, run: bool = True) -> None:
        """Take over ``session`` (built by the caller, so a state file that does not fit fails
        before the current session is touched); ``run=False`` leaves it paused."""
        self.shutdown()
        self.job = None
        self.session = session
        self.session.set_speed(self.speed)
        if run:
            self._launch()
        else:
            self._set_state(FINISHED if self.session.finished else PAUSED)

    def _launch(self, **kwargs) -> None:
        if self.session is None or self.busy or self.session.finished:
            return
        self._ending = None
        self.job = _Job(self.session, kwargs, self)
        self.job.finished.connect(self._job_done)
        self._set_state(RUNNING)
        self.job.start()

    def _job_done(self) -> None:
        job = self.sender() if isinstance(self.sender(), _Job) else self.job
        if job is not self.job or self.session is None:
            return  # a job of a session already replaced or reset
        if job.error:
            self.job_failed.emit(job.error)
        if self.session.finished:
            self._set_state(FINISHED)
        else:
            self._set_state(self._ending or PAUSED)

    def pause(self) -> None:
        if self.busy:
            self._ending = PAUSED
            self.session.stop()

    def resume(self) -> None:
        if self.state == PAUSED:
            self._launch()

    def step_epoch(self) -> None:
        """Train to the end of the current epoch, then pause."""
        if self.state == PAUSED:
            self._launch(until_epoch_end=True)

    def stop(self) -> None:
        """End training; results stay, Start begins anew."""
        if self.busy:
            self._ending = STOPPED
            self.session.stop()
        elif self.state == PAUSED:
            self._set_state(STOPPED)

    def reset(self) -> None:
        self.shutdown()
        self.session = None
        self.job = None
        self._set_state(IDLE)

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop the job and wait for its thread; True when nothing is left running.

        Only a running job is asked to stop: a stop request left on an idle session would end
        its next run at once.
        """
        if self.busy:
            self.session.stop()
            self.job.wait(timeout_ms)
        return not self.busy

    def set_speed(self, epochs_per_second: float | None) -> None:
        self.speed = epochs_per_second
        if self.session is not None:
            self.session.set_speed(epochs_per_second)

    def submit(self, command: Command) -> None:
        """Send a command to the training thread (raises ExperimentError if it cannot apply)."""
        if self.session is None:
            raise RuntimeError("nothing is training")
        self.session.submit(command)
