"""The engine in its own process: commands in, result rows and state snapshots out.

The window must not share an interpreter lock with training (every redraw would stall the
trainer, and every trial step or long preview would stall the window), so the window starts
this loop in a spawned process at launch and talks to it over one duplex pipe. The loop is a
single thread: torch objects are only ever touched here, between steps, and everything the
window sees leaves as plain data — new result rows (numpy), :class:`~engine.snapshot.SessionSnapshot`
s, predictions and short messages.

Between two training steps the loop takes every message waiting (a command applies at the
next step boundary, as in the CLI); while nothing trains it does background work: the trial
step of the experiment being typed and the previews of its runs, newest request first, a
request superseded by a newer one abandoned. While training, background work gets a short
slice between training slices. The CLI does not use this module: it runs the same
:class:`~engine.session.TrainingSession` in its own process.

Messages are tuples ``(kind, *args)``; see :data:`REQUESTS` and the ``_on_*`` methods for
what the window sends, and :meth:`Worker.send` calls for what comes back.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
import traceback
import warnings
from collections import OrderedDict
from dataclasses import replace

from .errors import ExperimentError, StateFileError
from .status import SessionState

__all__ = ["serve", "Worker", "experiment_key", "preview_key"]

PUBLISH_SECONDS = 0.05   # new rows go out at 20 Hz while training (the window redraws at that rate)
TRAIN_SLICE = 0.05       # training's share of the loop before background work gets a turn
JOB_SLICE = 0.02         # background work's turn (previews, trial steps) while training runs
PREVIEW_STEPS = 50_000   # longer schedules are previewed up to here (the note says so)
PROGRESS_SECONDS = 0.25  # a long preview shows what it has this often
POLL_SECONDS = 0.001     # while training, the pipe is looked at once a millisecond (a command waits at most that)
PREVIEW_SLICE = 500      # probe steps between two looks at the pipe (a newer request wins)
EARLY_PREVIEW_STEPS = 20_000  # a new experiment's previews this short come before torch's verdict (_check)
CACHE = 128              # previews and trial verdicts remembered


def experiment_key(raw) -> str:
    """What a trial verdict depends on: the whole experiment, canonically."""
    text = json.dumps(raw, sort_keys=True, default=repr)
    return hashlib.sha1(text.encode()).hexdigest()


def preview_key(experiment, index: int) -> str:
    """What run ``index``'s predicted schedule depends on (names and descriptions do not count)."""
    run = experiment.runs[index]
    run = replace(run, name="")
    return repr((run, experiment.epochs, experiment.data, experiment.model, experiment.seed))


class _Cache(OrderedDict):
    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > CACHE:
            self.popitem(last=False)


class Worker:
    """The loop (see the module docstring). ``conn`` is one end of ``multiprocessing.Pipe()``."""

    def __init__(self, conn):
        self.conn = conn
        self.session = None
        self.state = SessionState.IDLE
        self.until_epoch_end = False
        self.speed: float | None = None
        self.wake_at = 0.0           # a slowed-down run waits until then before its next epoch
        self.epoch_began = 0.0
        self.closing = False
        self.sent: list[tuple[int, int, int]] = []
        self.last_publish = 0.0
        self.published_position = -1
        self.jobs: dict[str, object] = {}  # background jobs by what they are about: generators,
        #                                    advanced a slice at a time; a newer request replaces one
        self.trials = _Cache()       # experiment_key -> None (fine) or (path, message)
        self.previews = _Cache()     # preview_key -> final Prediction
        self.find_stop: int | None = None  # the range test asked to stop (its request)

    # -- the loop -----------------------------------------------------------------------------
    def send(self, kind: str, *args) -> None:
        try:
            self.conn.send((kind, *args))
        except (BrokenPipeError, EOFError, OSError):
            self.closing = True  # the window is gone

    def run(self) -> None:
        import torch

        from .torch_setup import configure_torch

        configure_torch()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # The first optimizer imports torch._dynamo (about 1.6 s): here, not on the first Start.
            torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.1)
        self.send("ready", {"torch": torch.__version__, "pid": os.getpid()})
        while not self.closing:
            try:
                self._turn()
            except (EOFError, OSError):
                break  # the window closed its end
            except Exception as error:  # a bug of the engine: say it, keep serving
                self.send("failed", "".join(traceback.format_exception(type(error), error, error.__traceback__)))
                if self.state == SessionState.RUNNING:
                    self._set_state(SessionState.STOPPED)

    def _turn(self) -> None:
        now = time.perf_counter()
        training = self.state == SessionState.RUNNING
        if training and now < self.wake_at:
            timeout = 0 if self.jobs else self.wake_at - now
        elif training or self.jobs:
            timeout = 0
        else:
            timeout = None
        if self.conn.poll(timeout):
            self._receive()
        if self.state == SessionState.RUNNING and time.perf_counter() >= self.wake_at:
            self._train(TRAIN_SLICE)
        if self.jobs:
            self._work(JOB_SLICE if self.state == SessionState.RUNNING else TRAIN_SLICE)
        if self.state == SessionState.RUNNING and time.perf_counter() - self.last_publish >= PUBLISH_SECONDS:
            self.publish()

    def _receive(self) -> None:
        while not self.closing and self.conn.poll():
            kind, *args = self.conn.recv()
            handler = getattr(self, f"_on_{kind}", None)
            if handler is None:
                self.send("failed", f"the engine does not know the request {kind!r}")
                continue
            handler(*args)

    # -- training ----------------------------------------------------------------------------
    def _set_state(self, state: SessionState) -> None:
        self.state = state
        if self.session is not None:
            self.publish()
        self.send("state", state)

    def _train(self, budget: float) -> None:
        session, conn = self.session, self.conn
        spe = session.steps_per_epoch
        clock = time.perf_counter
        end = clock() + budget
        look = 0.0  # when to look at the pipe next (a look costs ~13 us: once a millisecond, not every step)
        while True:
            more = session.step()
            if not more:
                self._finished()
                return
            if session.position % spe == 0:
                if self.until_epoch_end:
                    self.until_epoch_end = False
                    self._set_state(SessionState.PAUSED)
                    return
                if self.speed:
                    self.wake_at = self.epoch_began + 1 / self.speed
                    self.epoch_began = max(self.wake_at, time.perf_counter())
                    return
            now = clock()
            if now >= look:
                if now >= end or conn.poll():
                    return  # a command waits: it applies at the next step, after the loop takes it
                look = now + POLL_SECONDS

    def _finished(self) -> None:
        self._end(SessionState.FINISHED)

    def _end(self, state: str) -> None:
        """Training ends (finished or stopped): edits still waiting for a step never apply; say so."""
        dropped = self.session.discard_commands()
        self._set_state(state)
        if dropped:
            self.send("notice", "Edits not applied", f"{dropped} edit(s) sent while paused never reached a step: "
                      "training ended first. They are not in the experiment.")

    def publish(self) -> None:
        """Send the rows recorded since the last publication and a snapshot of every run."""
        from .snapshot import SessionSnapshot, run_snapshot

        session = self.session
        chunks = []
        for i, run in enumerate(session.runs):
            steps, epochs, events = self.sent[i]
            part = run.recorder.snapshot(steps, epochs, events)
            self.sent[i] = (steps + len(part.step), epochs + len(part.epoch), events + len(part.events))
            chunks.append(part)
        snapshot = SessionSnapshot(position=session.position, total_steps=session.total_steps,
                                   steps_per_epoch=session.steps_per_epoch, epochs=session.experiment.epochs,
                                   runs=tuple(run_snapshot(run) for run in session.runs),
                                   pending_commands=session.pending_commands)
        self.send("published", snapshot, chunks)
        self.last_publish = time.perf_counter()

    def _on_start(self, raw, state_path: str | None = None, run: bool = True, start: int = 0) -> None:
        """Build a session for ``raw`` (from a training-state file if given) and train it; the
        answers ("started" or "refused") carry ``start``, the window's number for this request."""
        from .checkpoint import load_state
        from .parse import parse_experiment
        from .session import TrainingSession
        from .trial import trial_experiment

        key = experiment_key(raw)
        checked = key in self.trials and self.trials[key] is None  # fully checked already: not again
        try:
            experiment = parse_experiment(raw, quick=checked)
            if not checked:
                trial_experiment(experiment)
            self.trials.put(key, None)
            state = load_state(state_path) if state_path else None
            session = TrainingSession(experiment, state=state)
        except ExperimentError as error:
            self.send("refused", "Cannot start", error.path, error.message, start)
            return
        except StateFileError as error:
            self.send("refused", "Cannot load the training state", "", str(error), start)
            return
        self._drop_predictions()
        self.session = session
        self.sent = [(0, 0, 0)] * len(session.runs)
        self.until_epoch_end = False
        self.wake_at = 0.0
        self.epoch_began = time.perf_counter()
        self.send("started", state_path, start)
        if session.finished:
            self._set_state(SessionState.FINISHED)
        elif run:
            self._set_state(SessionState.RUNNING)
        else:
            self._set_state(SessionState.PAUSED)

    def _on_pause(self) -> None:
        if self.state == SessionState.RUNNING:
            self._set_state(SessionState.PAUSED)

    def _on_resume(self) -> None:
        if self.state == SessionState.PAUSED:
            self.until_epoch_end = False
            self.epoch_began = time.perf_counter()
            self._set_state(SessionState.RUNNING)

    def _on_step_epoch(self) -> None:
        if self.state == SessionState.PAUSED:
            self.until_epoch_end = True
            self._set_state(SessionState.RUNNING)

    def _on_stop(self) -> None:
        if self.state in (SessionState.RUNNING, SessionState.PAUSED):
            self._end(SessionState.STOPPED)

    def _drop_predictions(self) -> None:
        for name in [n for n in self.jobs if n.startswith("predict")]:
            del self.jobs[name]

    def _on_reset(self) -> None:
        self._drop_predictions()
        self.session = None
        self.sent = []
        self.state = SessionState.IDLE
        self.send("state", SessionState.IDLE)

    def _on_speed(self, epochs_per_second: float | None) -> None:
        self.speed = epochs_per_second
        self.wake_at = 0.0
        self.epoch_began = time.perf_counter()

    def _on_command(self, command) -> None:
        """A param_groups change for the next step; refused at once (with the field) if it cannot apply."""
        if self.session is None or self.state not in (SessionState.RUNNING, SessionState.PAUSED):
            self.send("command_refused", command, "run", "nothing is training")
            return
        try:
            self.session.submit(command)
        except ExperimentError as error:
            self.send("command_refused", command, error.path, error.message)
            return
        self.send("command_queued", command)
        if self.state == SessionState.PAUSED:
            self.publish()  # pending_commands changed

    def _on_save_state(self, path: str) -> None:
        from .checkpoint import save_state

        if self.session is None:
            self.send("notice", "Cannot save the training state", "nothing has trained yet")
            return
        try:
            save_state(self.session, path)
        except (OSError, RuntimeError) as error:
            self.send("notice", "Cannot save the training state", f"{path}: {error}")
            return
        self.send("saved_state", path, self.session.epoch)

    def _on_export(self, directory: str) -> None:
        from .results import write_results

        if self.session is None:
            return
        try:
            paths = write_results(self.session.snapshot(), directory)
        except OSError as error:
            self.send("notice", "Cannot export", str(error))
            return
        self.send("exported", directory, [p.name for p in paths])

    def _on_shutdown(self) -> None:
        self.closing = True

    # -- background work: trial steps and previews ------------------------------------------------
    def _on_check(self, request: int, raw) -> None:
        """Check ``raw`` with torch (one real step per run) and predict every run's schedule.

        A newer request supersedes this one: its remaining work is dropped.
        """
        self.jobs["check"] = self._check(request, raw)

    def _work(self, budget: float) -> None:
        """Advance the background jobs in turn until ``budget`` seconds are spent or a message waits."""
        end = time.perf_counter() + budget
        while self.jobs and time.perf_counter() < end:
            for name, job in list(self.jobs.items()):
                try:
                    next(job)
                except StopIteration:
                    if self.jobs.get(name) is job:
                        del self.jobs[name]
                if self.conn.poll():
                    return  # a newer request may supersede this one

    def _on_predict_from(self, request: int, index: int) -> None:
        """Predict run ``index``'s schedule from its state now (what torch will do with an edit),
        and say what becomes of its last edit by comparing with the prediction without it.

        An edit still waiting for the next step (sent while paused) is in the prediction, applied
        where the run will apply it; one already applied is in the run's state.
        """
        from .commands import SetGroupOptions

        session = self.session
        if session is None or not 0 <= index < len(session.runs):
            return
        run = session.runs[index]
        experiment, t, state = session.experiment, session.position, run.schedule_state()
        waiting = [c for c in session.pending(index) if isinstance(c, SetGroupOptions)]
        if waiting:  # compare the run with and without what waits, both from here
            job = self._predict_from(request, index, experiment, state, t, waiting, waiting[-1].group,
                                     (t, state), None)
        else:
            last_edit = run.recorded_edits[-1] if run.recorded_edits else None
            before = run.before_commands if last_edit is not None and last_edit.add_group is None \
                and run.before_commands is not None and run.before_commands[0] == last_edit.step else None
            recorded = run.recorder.snapshot(before[0]) if before is not None else None
            job = self._predict_from(request, index, experiment, state, t, None,
                                     last_edit.group if last_edit is not None else None, before, recorded)
        self.jobs[f"predict {index}"] = job

    def _predict_from(self, request, index, experiment, state, t, commands, group, before, recorded):
        from .edit_effect import edit_effect
        from .preview import predict_from_stages

        prediction = yield from predict_from_stages(experiment, index, state, t, PREVIEW_STEPS, commands,
                                                    slice_steps=PREVIEW_SLICE)
        effect = ""
        if before is not None:
            t_edit, state_before = before
            without = yield from predict_from_stages(experiment, index, state_before, t_edit, PREVIEW_STEPS,
                                                     slice_steps=PREVIEW_SLICE)
            group = group or 0
            after = prediction if commands else _joined(recorded, prediction)
            try:
                words = edit_effect(without, after, group, t_edit, experiment.runs[index].scheduler,
                                    experiment.steps_per_epoch)
                when = "waiting for the next step" if commands else f"at step {t_edit}"
                effect = f"The lr edit of group {group} ({when}): {words}."
            except (ValueError, IndexError):
                effect = ""
        self.send("predicted", request, index, prediction, effect)

    def _check(self, request: int, raw):
        """Torch's verdict (``checked``) and every run's preview (``preview``), a slice at a time.

        The verdict usually goes first: a long schedule's preview can take seconds, Start waits for
        the verdict only. An experiment checked for the first time whose previews are short
        (:data:`EARLY_PREVIEW_STEPS` probe steps in all: a person changing the epochs of a few
        runs) is previewed first, and a run whose preview stepped its scheduler through every
        step without a failure is not stepped again for the verdict (the preview has shown torch
        takes every step): the curves are on screen sooner, the verdict follows.
        """
        from .crosscheck import sweep_expressions
        from .parse import parse_experiment
        from .preview import preview_steps
        from .trial import step_schedules, trial_experiment

        try:
            experiment = parse_experiment(raw, quick=True)
        except ExperimentError as error:
            self.send("checked", request, error.path, error.message)
            return
        yield
        key = experiment_key(raw)
        early = key not in self.trials and sum(
            preview_steps(experiment, index, PREVIEW_STEPS) for index in range(len(experiment.runs))
            if preview_key(experiment, index) not in self.previews) <= EARLY_PREVIEW_STEPS
        stepped: set[int] = set()
        if early:
            yield from self._previews(request, experiment, stepped)
        if key not in self.trials:
            try:
                for _ in sweep_expressions(experiment):  # every value torch will pass, a slice at a time
                    yield
                for _ in step_schedules(experiment, frozenset(stepped)):  # every schedule to its end, in slices
                    yield
                trial_experiment(experiment, schedules=False)
                self.trials.put(key, None)
            except ExperimentError as error:
                self.trials.put(key, (error.path, error.message))
            yield
        verdict = self.trials[key]
        self.send("checked", request, *(verdict or ("", "")))
        if not early:
            yield from self._previews(request, experiment, stepped)

    def _previews(self, request: int, experiment, stepped: set[int]):
        """Send every run's preview (cached, or stepped a slice at a time); ``stepped`` gets the runs
        whose preview is complete (every step of the run, no failure)."""
        from .preview import SchedulePrediction

        for index in range(len(experiment.runs)):
            pkey = preview_key(experiment, index)
            prediction = self.previews.get(pkey)
            if prediction is None:
                stepping = SchedulePrediction(experiment, index, PREVIEW_STEPS)
                shown = time.perf_counter()
                while not stepping.advance(PREVIEW_SLICE):
                    yield
                    if time.perf_counter() - shown >= PROGRESS_SECONDS:  # a long one draws as it goes
                        self.send("preview", request, index, stepping.partial(), False)
                        shown = time.perf_counter()
                prediction = stepping.result()
                self.previews.put(pkey, prediction)
            if prediction.complete:
                stepped.add(index)
            self.send("preview", request, index, prediction, True)

    # -- the learning-rate range test (engine/range_test.py), a background job -------------------
    def _on_find(self, request: int, raw, index: int, options: dict) -> None:
        """A range test of run ``index`` of ``raw`` with ``options`` (RangeTestOptions' fields).

        Its rows stream back as ``("find_rows", request, rows)`` (a float64 array of
        range_test.COLUMNS) at most every PUBLISH_SECONDS, then ``("find_done", request, result)``
        (a RangeTestResult: the curve, the stop reason, the suggestions), or ``("find_failed",
        request, path, message)`` when it cannot run. A newer request supersedes it (nothing more
        comes of the older one); ``("find_stop", request)`` ends it with the curve so far.
        """
        self.find_stop = None
        self.jobs["find"] = self._find(request, raw, index, options)

    def _on_find_stop(self, request: int) -> None:
        self.find_stop = request

    def _find(self, request: int, raw, index: int, options: dict):
        from .parse import parse_experiment
        from .range_test import RangeTest, RangeTestOptions, range_test_trainer

        try:
            test = RangeTest(range_test_trainer(parse_experiment(raw), index), RangeTestOptions(**options))
        except ExperimentError as error:
            self.send("find_failed", request, error.path, error.message)
            return
        except Exception as error:  # torch refused to build the run
            self.send("find_failed", request, "", f"{type(error).__name__}: {error}")
            return
        sent, shown, stopped = 0, time.perf_counter(), None
        steps = test.steps()
        try:
            while True:
                yield
                if self.find_stop == request:
                    stopped = f"stopped at step {len(test)}"
                    break
                if next(steps, None) is None:
                    break
                if time.perf_counter() - shown >= PUBLISH_SECONDS:
                    self.send("find_rows", request, test.rows(sent))
                    sent, shown = len(test), time.perf_counter()
        except Exception as error:  # inside torch: the curve so far, and why it ended
            stopped = f"failed at step {len(test)}: {type(error).__name__}: {error}"
        finally:
            steps.close()  # (a superseded test ends here too)
        if len(test) > sent:
            self.send("find_rows", request, test.rows(sent))
        self.send("find_done", request, test.result(stopped))


def _joined(recorded, prediction):
    """The lrs a run used from an edit's step until now, followed by the prediction from now on."""
    import numpy as np

    from .preview import Prediction

    p = prediction.results
    width = max(recorded.step_lr.shape[1], p.step_lr.shape[1])

    def wide(a):
        return np.hstack([a, np.full((len(a), width - a.shape[1]), np.nan)]) if a.shape[1] < width else a

    results = replace(p, step=np.concatenate([recorded.step, p.step]),
                      step_lr=np.vstack([wide(recorded.step_lr), wide(p.step_lr)]))
    return Prediction(results, prediction.complete, prediction.note)


def serve(conn, *, worker: Worker | None = None) -> None:
    """The engine process's entry point (``multiprocessing`` spawn target), or (``worker`` given)
    a thread's in the window's own process."""
    if worker is None:
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the window's to handle
        except (ValueError, OSError):
            pass
    try:
        (worker or Worker(conn)).run()
    finally:
        try:
            conn.close()
        except OSError:
            pass
