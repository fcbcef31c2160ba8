"""A training session: every run of an experiment, trained in lockstep one step at a time.

This is the loop both front ends drive. The CLI calls :meth:`TrainingSession.run` in its
own thread; the GUI calls it in a worker thread and talks to it from the main thread with
thread-safe methods only: :meth:`pause`, :meth:`resume`, :meth:`stop`, :meth:`submit`
(set a group's options, add a param group, stop one run). Commands wait in a queue and are
applied by the training thread at the next step boundary, so torch objects are only ever
touched by one thread. Results are read with :meth:`snapshot`, which copies from the
recorders without blocking the trainer.
"""

from __future__ import annotations

import copy
import queue
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from .commands import AddGroup, Command, check_command
from .config import Experiment
from .errors import ExperimentError, show_value
from .model import make_dataset
from .recorder import RunResults
from .run import RunTrainer
from .status import RunStatus

__all__ = ["TrainingSession", "Progress", "SavedState", "raw_with_edits"]


@dataclass(frozen=True)
class Progress:
    step: int          # optimizer steps done (per run)
    total_steps: int
    epoch: int         # epochs done
    epochs: int
    statuses: tuple[str, ...]


class SavedState(Protocol):
    """What ``state=`` takes: a training state that restores itself into a freshly built session
    (:class:`engine.checkpoint.TrainingState`, from ``load_state(path)``). The session calls it
    and imports nothing of the state files."""

    def restore(self, session: "TrainingSession") -> None: ...


class TrainingSession:
    """Trains all runs of ``experiment`` together; see the module docstring for threading.

    ``state`` (``load_state(path)``, :mod:`engine.checkpoint`) resumes a saved session: the
    runs are built from ``experiment``, then the state is checked against them and loaded
    (:class:`~engine.errors.StateFileError` if it does not fit).
    """

    def __init__(self, experiment: Experiment, *, state: SavedState | None = None):
        self.experiment = experiment
        self.dataset = make_dataset(experiment.model, experiment.seed, experiment.data)
        self.steps_per_epoch = experiment.steps_per_epoch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            self.runs = [RunTrainer(experiment, i, self.dataset) for i in range(len(experiment.runs))]
        self.position = 0  # the next optimizer step
        self.total_steps = experiment.total_steps
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._pending_lock = threading.Lock()
        self._pending_modules: dict[int, set[str]] = {}
        self._resumed = threading.Event()
        self._resumed.set()
        self._stop = threading.Event()
        self._epochs_per_second: float | None = None
        if state is not None:
            state.restore(self)

    # -- where it is ----------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        """Epochs completed (by the runs still training)."""
        return self.position // self.steps_per_epoch

    @property
    def finished(self) -> bool:
        return self.position >= self.total_steps or not any(r.status == RunStatus.RUNNING for r in self.runs)

    def progress(self) -> Progress:
        return Progress(self.position, self.total_steps, self.epoch, self.experiment.epochs,
                        tuple(r.status for r in self.runs))

    # -- control from any thread ------------------------------------------------------------
    def pause(self) -> None:
        self._resumed.clear()

    def resume(self) -> None:
        self._resumed.set()

    @property
    def paused(self) -> bool:
        return not self._resumed.is_set()

    def stop(self) -> None:
        """Ask :meth:`run` to return at the next step boundary (also when paused)."""
        self._stop.set()
        self._resumed.set()

    def set_speed(self, epochs_per_second: float | None) -> None:
        """Slow training down for a demonstration (``None``: as fast as possible)."""
        self._epochs_per_second = epochs_per_second

    def submit(self, command: Command) -> None:
        """Queue a command for the next step boundary; raises ExperimentError if it cannot apply."""
        if not 0 <= command.run < len(self.runs):
            raise ExperimentError("run", f"expected a run index from 0 to {len(self.runs) - 1}, "
                                         f"got {show_value(command.run)}")
        if self.finished:
            raise ExperimentError("run", "training has ended; start it again to change param_groups")
        with self._pending_lock:
            pending = self._pending_modules.setdefault(command.run, set())
            check_command(self.runs[command.run], command, pending)
            if isinstance(command, AddGroup):
                pending.add(command.group.module)
            self._commands.put(command)

    @property
    def pending_commands(self) -> int:
        """Commands waiting for the next step (they apply only when training goes on)."""
        return self._commands.qsize()

    def pending(self, run: int | None = None) -> list[Command]:
        """The commands waiting for the next step (of ``run`` only, if given), in order, left waiting."""
        with self._pending_lock:
            waiting = []
            while not self._commands.empty():
                waiting.append(self._commands.get_nowait())
            for command in waiting:
                self._commands.put(command)
        return [c for c in waiting if run is None or c.run == run]

    def discard_commands(self) -> int:
        """Drop the commands still waiting (training ended before they could apply); how many."""
        dropped = 0
        with self._pending_lock:
            while not self._commands.empty():
                self._commands.get_nowait()
                dropped += 1
            self._pending_modules.clear()
        return dropped

    def _take_commands(self) -> dict[int, list[Command]]:
        taken: dict[int, list[Command]] = {}
        with self._pending_lock:
            while not self._commands.empty():
                command = self._commands.get_nowait()
                taken.setdefault(command.run, []).append(command)
            self._pending_modules.clear()
        return taken

    def step(self) -> bool:
        """One optimizer step of every run still training; False when there is nothing left."""
        if self.position >= self.total_steps:
            return False
        commands = self._take_commands() if not self._commands.empty() else {}
        t = self.position
        running = False
        for i, run in enumerate(self.runs):
            if run.status == RunStatus.RUNNING:
                try:
                    run.step(t, commands.get(i))
                except Exception as error:  # torch or an expression failed: this run stops, others go on
                    run.fail(t, error)
                running = running or run.status == RunStatus.RUNNING
        self.position = t = t + 1
        if t >= self.total_steps:
            for run in self.runs:
                if run.status == RunStatus.RUNNING:
                    run.status = RunStatus.FINISHED
            return False
        return running

    def run(self, on_epoch: Callable[[Progress], None] | None = None, *, max_steps: int | None = None,
            until_epoch_end: bool = False, stop_requested: Callable[[], bool] | None = None) -> Progress:
        """Train until finished, stopped, ``max_steps`` more steps, or (optionally) the end of this epoch.

        Honours :meth:`pause` (waits between steps) and :meth:`stop` (returns). A stop
        requested before ``run`` begins ends it at once: the request is consumed when ``run``
        returns, so a stop sent just as another thread starts a run is never lost. ``on_epoch``
        is called in this thread after every epoch.

        ``stop_requested``, if given, is asked before every step (of the whole session: every
        run has done step t, or none has) and ends the run when it answers True. It suits a
        signal handler that only sets a flag (the CLI's Ctrl-C): :meth:`stop` takes a lock,
        which a handler interrupting this thread must not.
        """
        try:
            return self._run(on_epoch, max_steps, until_epoch_end, stop_requested)
        finally:
            self._stop.clear()

    def _run(self, on_epoch, max_steps, until_epoch_end, stop_requested) -> Progress:
        done = 0
        last_epoch_end = time.perf_counter()
        stop, resumed, steps_per_epoch = self._stop, self._resumed, self.steps_per_epoch
        more = not self.finished
        while more and not stop.is_set() and not (stop_requested is not None and stop_requested()):
            if not resumed.is_set():
                resumed.wait(0.05)
                continue
            more = self.step()
            done += 1
            if self.position % steps_per_epoch == 0:
                if on_epoch is not None:
                    on_epoch(self.progress())
                if self._epochs_per_second:
                    wait = last_epoch_end + 1 / self._epochs_per_second - time.perf_counter()
                    if wait > 0:
                        self._stop.wait(wait)
                    last_epoch_end = time.perf_counter()
                if until_epoch_end:
                    break
            if max_steps is not None and done >= max_steps:
                break
        return self.progress()

    # -- results ----------------------------------------------------------------------------
    def snapshot(self) -> list[RunResults]:
        """A consistent copy of every run's results so far (safe from any thread)."""
        return [run.recorder.snapshot() for run in self.runs]

    def experiment_with_edits(self) -> Experiment:
        """The experiment plus every edit that arrived as a command, for saving and headless replay."""
        runs = tuple(replace(cfg, edits=cfg.edits + tuple(run.recorded_edits))
                     for cfg, run in zip(self.experiment.runs, self.runs))
        return replace(self.experiment, runs=runs)

    @property
    def failed(self) -> bool:
        return any(r.status == RunStatus.FAILED for r in self.runs)


def raw_with_edits(raw: dict, recorded) -> tuple[dict, bool]:
    """``raw`` (an experiment as TOML gives it) with the edits a session recorded, and whether any
    was new: what :meth:`TrainingSession.experiment_with_edits` does to the checked experiment,
    for the form a person edits and saves.

    ``recorded`` holds, per run, ``(name, edit tables)`` as a session publishes them. Each edit
    appears once in its run's ``edits`` (one already there, e.g. after loading a training state
    saved with its experiment, is not added again); a run whose name no longer matches is left alone.
    """
    out = copy.deepcopy(raw)
    runs = out.get("runs") if isinstance(out, dict) else None
    changed = False
    if not isinstance(runs, list):
        return out, False
    for run, (name, edits) in zip(runs, recorded):
        if not isinstance(run, dict) or run.get("name") != name or not edits:
            continue
        existing = run.setdefault("edits", [])
        for table in edits:
            table = dict(table)
            if table not in existing:
                existing.append(table)
                changed = True
    return out, changed
