"""Training as it happens: the plots, the progress counters and the Live state panel, fed from
what the engine publishes, and the edits a person makes mid-run sent back to it.

Nothing here reads a torch object: results are the rows in the controller's series, the
param groups and scheduler state its latest snapshot. Redraws run on a 25 Hz timer, never per
message: the lr plots, the loss plots and the Live state table take turns. After an edit, at a
pause and when another run is selected, the faint predicted curve is asked again of the engine
*from the run's current state*, so it shows what torch will now do with the edit, and the edit's
note says it in words.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer

from engine.commands import AddGroup, SetGroupOptions
from engine.config import MODULES, GroupConfig
from engine.errors import ExperimentError
from engine.parse import parse_edit
from engine.status import RunStatus, SessionState

__all__ = ["LiveView", "REFRESH_MS"]

# The plots' rate, whatever the training rate: a redraw costs the window, never the trainer.
REFRESH_MS = 40  # ticks: lr plots, loss plots and the Live state table take turns (see _tick)
STATE_SECONDS = 0.2  # the Live state panel's rate while training
SLOW_STEP_MS = 400   # a Pause or Stop not answered by then waits for a slow step: say so


class LiveView(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = w = window
        self.controller = c = window.controller
        self.reported: set[int] = set()
        self.started_at = 0.0
        self.started_position = 0
        self.behind: set[str] = set()   # plots ("lr", "loss") not yet redrawn with the newest rows
        self.last_part: str | None = None
        self.recorded_seen: list[int] = []
        self.state_shown = 0.0
        self.effects: dict[int, str] = {}        # run index -> what torch does with its last edit
        self.predict_request = 0
        self.refresh_timer = QTimer(self, interval=REFRESH_MS)
        self.refresh_timer.timeout.connect(self._tick)
        c.published.connect(self._published)
        c.started.connect(self._started)
        c.command_done.connect(self._command_done)
        c.client.received.connect(self._received)
        c.job_failed.connect(lambda message: w.notify("The engine stopped", message))
        c.notice.connect(w.notify)
        c.saved_state.connect(lambda path, epoch: w.show_status(f"Saved the training state at epoch {epoch} to {path}"))
        c.exported.connect(lambda directory, names: w.show_status("Wrote " + ", ".join(names) + f" to {directory}"))
        w.state.refresh_requested.connect(self.refresh_state)
        w.state.lr_edited.connect(self.edit_lr)
        w.state.group_added.connect(self.submit_group)

    # -- the training controls --------------------------------------------------------------------------
    def pause_resume(self) -> None:
        if self.controller.state == SessionState.RUNNING:
            self.controller.pause()
            self._say_if_slow("Pausing")
        elif self.controller.state == SessionState.PAUSED:
            self.controller.resume()

    def step_epoch(self) -> None:
        """Train one epoch, then pause (from the start when nothing is training)."""
        idle = self.controller.state in (SessionState.IDLE, SessionState.FINISHED, SessionState.STOPPED)
        if idle and not self.window.start(run=False):
            return
        self.controller.step_epoch()

    def stop(self) -> None:
        self.controller.stop()
        self._say_if_slow("Stopping")

    def _say_if_slow(self, doing: str) -> None:
        """Pause and Stop take effect between steps (one optimizer step is one torch call, never
        cut in half); when a step is slow (full-batch LBFGS on a big data set), say that the
        request waits for it instead of looking as if it was ignored. The new state's own words
        replace this when it comes."""
        def check() -> None:
            if self.controller.state == SessionState.RUNNING:
                self.window.show_status(f"{doing} when the step in progress ends (a step is never cut in half)…")
        QTimer.singleShot(SLOW_STEP_MS, self, check)

    def reset(self) -> None:
        w = self.window
        w._warned = False  # the results a warning was about are gone
        self.merge_recorded_edits()
        self.controller.reset()
        w.state.reset_events()
        w.state.clear_message()
        w.validate()  # the form (with any edits recorded while training) and its prediction

    def load_training_state(self, path: str | None = None) -> None:
        path = path or self.window.files.ask_state_file()
        if path and self.window.start(run=False, state_path=str(path)):
            self.window.show_status(f"Loading the training state {path}: Resume (F6) continues it.")

    # -- results -------------------------------------------------------------------------------------
    def _started(self) -> None:
        self.reported = set()
        self.recorded_seen = []
        self.effects = {}
        self.started_at, self.started_position = time.perf_counter(), 0
        self.window.plots.new_session()  # the rows that come are another session's
        self.window.state.reset_events()
        self.window.state.clear_message()

    def _published(self) -> None:
        self.behind = {"lr", "loss"}
        if not self.refresh_timer.isActive():
            self.refresh()  # paused, stopped, finished: what changed is shown at once

    def _tick(self) -> None:
        """While training, each tick does one of three things: the lr plots, the loss plots, or
        (5 times a second) the Live state table; each plot is redrawn 10 times a second, and no
        tick holds the event loop (a click, a key) for more than a third of a frame's work."""
        if self.controller.state == SessionState.RUNNING and time.perf_counter() - self.state_shown >= STATE_SECONDS:
            self.refresh_state()
        elif self.behind:
            part = "lr" if "lr" in self.behind and (self.last_part != "lr" or "loss" not in self.behind) else "loss"
            self.refresh(part)

    def running(self, on: bool) -> None:
        if on:
            snapshot = self.controller.snapshot
            self.started_at = time.perf_counter()
            self.started_position = snapshot.position if snapshot is not None else 0
            self.refresh_timer.start()
        else:
            self.refresh_timer.stop()
            self.refresh()

    def refresh(self, part: str | None = None) -> None:
        """Draw what the engine published since the last redraw (``part``: only the "lr" or the
        "loss" plots, and the Live state table is left to :meth:`_tick`)."""
        w, snapshot = self.window, self.controller.snapshot
        if part is None:
            self.behind.clear()
        else:
            self.behind.discard(part)
        self.last_part = part
        if snapshot is None:
            w.progress.setValue(0)
            w.counts.setText("")
            return
        w.plots.set_results([s.results() for s in self.controller.series], part)
        self._report_failures(snapshot)
        self._show_progress(snapshot)
        for index in self.merge_recorded_edits():
            self.predict_from_here(index)  # what torch now does with the edit, from the run's state
        if part is None:
            self.refresh_state()

    def _show_progress(self, snapshot) -> None:
        w = self.window
        total, position = snapshot.total_steps, snapshot.position
        percent = int(100 * position / max(total, 1))
        if w.progress.value() != percent:  # at most a hundred repaints a run
            w.progress.setValue(percent)
        text = f"epoch {min(snapshot.epoch, snapshot.epochs)}/{snapshot.epochs} · step {position}/{total}"
        elapsed, done = time.perf_counter() - self.started_at, position - self.started_position
        if self.controller.state == SessionState.RUNNING and done > 0 and elapsed > 0.5:
            left = (total - position) * elapsed / done
            text += f" · {int(left // 60)}:{int(left % 60):02d} left"
        if w.counts.text() != text:
            w.counts.setText(text)

    def _report_failures(self, snapshot) -> None:
        for i, (run, series) in enumerate(zip(snapshot.runs, self.controller.series)):
            if run.status in (RunStatus.FAILED, RunStatus.DIVERGED) and i not in self.reported and series.events:
                self.reported.add(i)
                event = series.events[-1]
                where = f"{run.name!r} at epoch {event.epoch}, step {event.step}"
                if run.status == RunStatus.FAILED:
                    self.window.notify("A run failed inside torch", f"Run {where} stopped: {event.detail}. "
                                       "The other runs go on; its results up to there are kept.")
                else:
                    self.window.show_status(f"Run {where} diverged: {event.detail}", warning=True)

    # -- the Live state panel ----------------------------------------------------------------------------
    def free_modules(self, index: int) -> list[str]:
        """Modules a param group could be added for in run ``index`` now (none unless training)."""
        snapshot = self.controller.snapshot
        if (snapshot is None or self.controller.state not in (SessionState.RUNNING, SessionState.PAUSED)
                or index >= len(snapshot.runs)):
            return []
        run = snapshot.runs[index]
        if not run.training or "all" in run.modules:
            return []
        return [m for m in MODULES if m not in run.modules]

    def refresh_state(self) -> None:
        self.state_shown = time.perf_counter()
        w, snapshot = self.window, self.controller.snapshot
        index = w.setup.current
        w.state.set_run_names([r.get("name", "") for r in w.setup.runs], index)
        if snapshot is None or index >= len(snapshot.runs):
            scheduler = w.setup.runs[index].get("scheduler") if index < len(w.setup.runs) else None
            w.state.show_run(None, index, scheduler.get("type") if isinstance(scheduler, dict) else None)
            return
        run = snapshot.runs[index]
        events = self.controller.series[index].events if index < len(self.controller.series) else []
        editable = self.controller.state in (SessionState.RUNNING, SessionState.PAUSED) and run.training
        w.state.show_run(run, index, run.scheduler, editable, state=self.controller.state,
                         free_modules=self.free_modules(index), events=events, effect=self.effects.get(index))
        w.add_group_action.setEnabled(bool(self.free_modules(index)))

    # -- edits -----------------------------------------------------------------------------------------
    def _precheck(self, run: int, group: int | None, options: dict) -> str | None:
        """What the window can say at once about an edit (the engine checks again at the step)."""
        snapshot = self.controller.snapshot
        if snapshot is None or self.controller.state not in (SessionState.RUNNING, SessionState.PAUSED):
            return "nothing is training"
        if not snapshot.runs[run].training:
            return f"{snapshot.runs[run].name!r} is not training any more ({snapshot.runs[run].status})"
        try:
            parse_edit({"step": 0, **options}, "edit", self.window.experiment.runs[run].optimizer.type)
        except (ExperimentError, AttributeError, IndexError) as error:
            return getattr(error, "message", str(error))
        return None

    def edit_lr(self, run: int, group: int, lr: float, rebase: bool) -> None:
        problem = self._precheck(run, group, {"lr": lr})
        if problem is None and self.controller.submit(
                SetGroupOptions(run=run, group=group, options={"lr": lr}, rebase=rebase)):
            return  # the answer comes as command_done
        self._refused(f"param_groups[{group}]['lr'] not set", "This lr cannot be set",
                      problem or "the engine is not running")

    def submit_group(self, run: int, module: str, lr: float) -> None:
        problem = self._precheck(run, None, {"lr": lr})
        if problem is None and self.controller.submit(AddGroup(run=run, group=GroupConfig(module, {"lr": lr}))):
            return
        self._refused("add_param_group not done", "Add param group", problem or "the engine is not running")

    def _refused(self, what: str, title: str, reason: str) -> None:
        w = self.window
        w.state.show_message(f"{what}: {reason}")
        w.last_message = (title, f"{what}: {reason}")
        QTimer.singleShot(0, w.state, w.state.forget_typed)  # the cell shows the lr in effect again

    def _command_done(self, command, path: str, message: str) -> None:
        w = self.window
        if isinstance(command, AddGroup):
            what = f"add_param_group({command.group.module}, lr {command.group.options.get('lr', 0):g})"
        else:
            what = f"param_groups[{command.group}]['lr']"
        if message:
            self._refused(f"{what} not done" if isinstance(command, AddGroup) else f"{what} not set",
                          "This lr cannot be set", message)
            return
        w.state.clear_message()
        w.document.dirty = True
        w.update_title()
        w.show_status(f"{what}: applies at the next step, then is recorded in the run's edits.")
        if self.controller.state == SessionState.PAUSED:
            self.predict_from_here(command.run)  # what torch will do with it, before it applies

    def offer_add_group(self) -> None:
        """Runs > Add Param Group: show the Live state's add row (it is there while a module is left)."""
        w = self.window
        w.set_side_panel(True)
        w.state_dock.raise_()
        self.refresh_state()
        if w.state.add_row.isVisibleTo(w.state):
            w.state.add_lr.setFocus()
            w.state.add_lr.selectAll()

    def merge_recorded_edits(self) -> list[int]:
        """Edits made while training go into the document, so saving replays them exactly; the
        runs that have new ones."""
        snapshot = self.controller.snapshot
        if snapshot is None:
            return []
        counts = [len(r.recorded_edits) for r in snapshot.runs]
        if counts == self.recorded_seen:
            return []
        new = [i for i, n in enumerate(counts) if n != (self.recorded_seen[i] if i < len(self.recorded_seen) else 0)]
        self.recorded_seen = counts
        self.window.document.merge_edits([(r.name, r.recorded_edits) for r in snapshot.runs])
        return new

    # -- predict from here ---------------------------------------------------------------------------------
    def predict_from_here(self, index: int | None = None) -> None:
        """Ask the engine for run ``index``'s schedule from its current state (every run when None)."""
        if self.controller.snapshot is None or self.controller.state not in (SessionState.RUNNING, SessionState.PAUSED):
            return
        self.predict_request += 1
        runs = range(len(self.controller.snapshot.runs)) if index is None else [index]
        for i in runs:
            self.controller.client.send("predict_from", self.predict_request, i)

    def _received(self, kind: str, args: tuple) -> None:
        if kind != "predicted":
            return
        request, index, prediction, effect = args
        if request != self.predict_request or self.controller.snapshot is None:
            return  # an older question, or the session it was about is gone
        self.window.show_prediction(index, prediction)
        if effect:
            self.effects[index] = effect
            if index == self.window.setup.current:
                self.refresh_state()
