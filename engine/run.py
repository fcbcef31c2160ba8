"""One run of an experiment: a model, the real torch optimizer and scheduler, and its results.

The training step is the article's loop, in the order torch documents:
``zero_grad -> forward -> loss.backward() -> optimizer.step() -> scheduler.step()``
(``step(closure)`` for LBFGS). A scheduler with ``step_order = "scheduler_first"`` is
stepped before instead, as the common mistake does (torch warns, recorded as a ``note``).
Around it the run applies, at step boundaries, what a
person would do by hand: the manual decay at the start of an epoch, scheduled edits of
``param_groups``, and commands arriving from the GUI. Everything random comes from the
experiment's seed through the run's own generator, so two runs with equal lrs are
bit-identical.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.optim import lr_scheduler as ls

from .config import MODULES, Edit, Experiment, GroupConfig
from .errors import ExperimentError
from .model import Dataset, build_model
from .optimizers import build_optimizer, group_dict, group_modules
from .recorder import Event, RunRecorder
from .registry import OPTIMIZERS, ClassSpec, scheduler_spec
from .schedulers import adopt_new_group, build_scheduler, rebase_group, rebase_targets, scheduler_steps
from .status import RunStatus

__all__ = ["RunTrainer", "ScheduleProbe", "shuffle_seed"]

# torch multiplies float32 parameters by the lr: a larger one (either sign), or one that is not a
# number, cannot be applied. A negative lr within range trains on as in torch (up the gradient).
FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def shuffle_seed(seed: int) -> int:
    """The seed of every run's batch-order generator (distinct from the data's stream)."""
    return (seed * 6364136223846793005 + 1442695040888963407) % 2**63


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def constructor_refusal(spec: ClassSpec, options: dict) -> str:
    """What torch's constructor of the class says of ``options`` as a group's ("" when it takes
    them; e.g. SGD's "Nesterov momentum requires a momentum and zero dampening"): they are given
    to a throwaway optimizer on a parameter of its own. Nothing of the run is touched.

    Only the constructor checks this: a value set in ``param_groups`` (an edit, or
    ``add_param_group``) is not checked by torch, which steps with it as it is (SGD with
    nesterov and momentum 0 steps as plain SGD). So an edit is not refused for it; the run
    records a note saying so.
    """
    kwargs = {k: v for k, v in options.items() if k in spec.torch_params}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec.cls([torch.zeros(1, requires_grad=True)], **kwargs)
    except Exception as error:
        text = str(error).strip().splitlines()
        return text[0] if text else type(error).__name__
    return ""


class RunTrainer:
    """Trains one :class:`~engine.config.RunConfig` one optimizer step at a time."""

    trains = True  # False in ScheduleProbe: the schedule alone, without a model to fit

    def __init__(self, experiment: Experiment, index: int, dataset: Dataset | None):
        cfg = experiment.runs[index]
        self.experiment, self.index, self.config, self.name = experiment, index, cfg, cfg.name
        self.dataset = dataset
        self.steps_per_epoch = experiment.steps_per_epoch
        self.batch_size = experiment.data.batch_size
        self.n_train, self.n_val = experiment.data.n_train, experiment.data.n_val
        self.model = build_model(experiment.model, experiment.seed)
        self.optimizer = build_optimizer(cfg, self.model)
        self.modules = group_modules(cfg)
        self.scheduler: ls.LRScheduler | None = None
        # when scheduler.step() is called: after every step (step_interval), after every step with
        # epoch + i / steps_per_epoch (fractional: torch's per-batch idiom), else after every epoch
        self.step_interval = self.fractional = False
        # step_order "scheduler_first": scheduler.step() before the optimizer steps it should follow,
        # at the top of each epoch (first_each_epoch) or of each step (first_each_step), never after
        self.first_each_epoch = self.first_each_step = self.step_after = False
        if cfg.scheduler is not None:
            steps = scheduler_steps(cfg.scheduler, experiment.epochs, self.steps_per_epoch)
            self.scheduler = build_scheduler(cfg.scheduler, self.optimizer, steps)
            self.step_interval = cfg.scheduler.interval == "step"
            self.fractional = cfg.scheduler.interval == "fractional"
            per_step = self.step_interval or self.fractional
            self.first_each_step = per_step and cfg.scheduler.scheduler_first
            self.first_each_epoch = not per_step and cfg.scheduler.scheduler_first
            self.step_after = per_step and not cfg.scheduler.scheduler_first
        spec = OPTIMIZERS[cfg.optimizer.type]
        self.closure_step = spec.needs_closure  # LBFGS: step(closure)
        self.momentum_key = spec.momentum_key   # what the momentum column records ("betas": beta1)
        # stepped with the epoch's loss (ReduceLROnPlateau)
        self.metric_step = cfg.scheduler is not None and scheduler_spec(cfg.scheduler.type).steps_with_metric
        self.generator = torch.Generator().manual_seed(shuffle_seed(experiment.seed))
        self.edits = cfg.ordered_edits(self.steps_per_epoch)
        self.edit_position = 0
        self._sync_next_edit()
        self.recorded_edits: list[Edit] = []
        self.recorder = RunRecorder(cfg.name, len(self.optimizer.param_groups), self.steps_per_epoch)
        self.status = RunStatus.RUNNING
        self.perm: torch.Tensor | None = None
        self.epoch_x = self.epoch_y = None
        self.loss_sum = 0.0
        self.epoch_lrs: list[float] = []
        self.negative_groups: set[int] = set()  # groups whose lr was negative at the last step
        self.gradient_checked: set[int] = set()
        # (t, schedule_state()) taken at the top of the last step that received commands:
        # what the schedule would have done without them is predicted from it.
        self.before_commands: tuple[int, dict] | None = None

    # -- the training step ----------------------------------------------------------------
    def step(self, t: int, commands=None) -> None:
        """Optimizer step ``t`` (global, from 0), with everything due before and after it.

        Order before the step: the epoch's manual decay, scheduled edits, then ``commands``
        from another thread (recorded as ``step = t`` edits, which replay in the same place).
        ``step_order = "scheduler_first"`` steps the scheduler first of all at the top of an
        epoch (interval "epoch"), or at every step after the epoch's manual decay and edits and
        before the step's own edits ("step", "fractional"): where the script's loop has it.
        This is the hot path (thousands of calls a second): keep it to plain lookups.
        With commands, the schedule's state before anything of step ``t`` (manual decay,
        scheduled edits, the commands) is kept in :attr:`before_commands` first.
        """
        if commands:
            self.before_commands = (t, self.schedule_state())
        epoch, i = divmod(t, self.steps_per_epoch)
        if i == 0:
            if self.first_each_epoch:
                self._step_scheduler_first(t, epoch, i)
            self._begin_epoch(epoch, t)
        if self.first_each_step:
            if self._next_edit_step <= t:
                self._apply_due_edits(t, epoch_edits_only=True)
            self._step_scheduler_first(t, epoch, i)
        if self._next_edit_step <= t:  # the step of the next scheduled edit (inf: none left)
            self._apply_due_edits(t)
        if commands:
            self._apply_commands(commands, t)
            if self.status != RunStatus.RUNNING:
                return
        groups = self.optimizer.param_groups
        lrs = [g["lr"] for g in groups]
        for lr in lrs:
            if not 0 <= lr <= FLOAT32_MAX:  # rare: negative, out of range or not a number
                if not self._check_lrs(t, epoch, lrs):
                    return
                break
        else:
            if self.negative_groups:
                self.negative_groups = set()
        if len(self.epoch_lrs) < len(lrs):
            self.epoch_lrs.extend(lrs[len(self.epoch_lrs):])
        key = self.momentum_key
        momenta = [g[key][0] if key == "betas" else g[key] for g in groups] if key else ()
        start = i * self.batch_size
        x = self.epoch_x[start:start + self.batch_size]
        loss = self.train_batch(x, self.epoch_y[start:start + self.batch_size])
        self.recorder.record_step(t, epoch, loss, lrs, momenta)
        if len(self.gradient_checked) < len(groups):
            self._check_gradients(t, epoch)
        if not math.isfinite(loss):
            self._diverge(t, epoch, f"loss became {loss} at step {t}")
            return
        self.loss_sum += loss * len(x)
        if self.step_after:
            if self.fractional:
                self.scheduler.step(epoch + i / self.steps_per_epoch)
            else:
                self.scheduler.step()
        if i == self.steps_per_epoch - 1:
            self._end_epoch(epoch, t)

    def _check_lrs(self, t: int, epoch: int, lrs: list[float]) -> bool:
        """Lrs outside ``[0, FLOAT32_MAX]``: False (the run has diverged) when one cannot be applied;
        a negative one trains on as in torch, with a note the step a group's lr turns negative."""
        for lr in lrs:
            if not -FLOAT32_MAX <= lr <= FLOAT32_MAX:
                self._diverge(t, epoch, "an lr left the range float32 parameters can take")
                return False
        negative = {gi for gi, lr in enumerate(lrs) if lr < 0}
        for gi in sorted(negative - self.negative_groups):
            self._event(t, epoch, "note", gi, f"lr {_fmt(lrs[gi])} is negative: torch applies it as it is, "
                        "so this group steps up the gradient (gradient ascent: the loss can grow)")
        self.negative_groups = negative
        return True

    def _step_scheduler_first(self, t: int, epoch: int, i: int) -> None:
        """``scheduler.step()`` before the optimizer step ``t`` (``step_order = "scheduler_first"``).

        At the run's first step torch warns that the order is reversed (and skips the schedule's
        first value): each warning is recorded as a ``note`` event, as torch words it. A scheduler
        whose ``step()`` is its own (CosineAnnealingWarmRestarts) skips it without a warning.
        """
        def call():
            if self.fractional:
                self.scheduler.step(epoch + i / self.steps_per_epoch)
            else:
                self.scheduler.step()

        if t > 0:
            call()
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        said = list(dict.fromkeys(str(w.message) for w in caught))  # ChainedScheduler: once per scheduler
        for text in said:
            self._event(t, epoch, "note", None, f"torch warns: {text}")
        kind = self.config.scheduler.type
        if said:
            return
        if self.fractional:
            self._event(t, epoch, "note", None, f"scheduler.step(epoch + i / steps_per_epoch) before each "
                        f"optimizer.step(): {kind} is told the epoch, so torch does not warn and nothing is "
                        "skipped; each batch trains at its own point of the schedule (not one batch behind)")
        else:
            self._event(t, epoch, "note", None, f"scheduler.step() before the first optimizer.step(): {kind}'s "
                        "own step() does not warn, but the schedule's first lr is skipped all the same")

    def _apply_due_edits(self, t: int, epoch_edits_only: bool = False) -> None:
        """Apply the edits due at or before step ``t``; ``epoch_edits_only``: stop at the first edit
        set at a step (at one step, epoch edits come first)."""
        while self.edit_position < len(self.edits) and \
                self.edits[self.edit_position].at_step(self.steps_per_epoch) <= t and \
                not (epoch_edits_only and self.edits[self.edit_position].step is not None):
            self.edit_position += 1
            self.apply_edit(self.edits[self.edit_position - 1], t)
        self._sync_next_edit()

    def _sync_next_edit(self) -> None:
        self._next_edit_step = (self.edits[self.edit_position].at_step(self.steps_per_epoch)
                                if self.edit_position < len(self.edits) else math.inf)

    def train_batch(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """One optimizer step on a batch, the run's own way (a closure for LBFGS); its loss. (The
        range test steps the run with it too: engine/range_test.py.)"""
        optimizer, model = self.optimizer, self.model
        if self.closure_step:
            def closure():
                optimizer.zero_grad()
                loss = F.mse_loss(model(x), y)
                loss.backward()
                return loss

            return float(optimizer.step(closure).detach())  # LBFGS returns the first loss, still in the graph
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        value = loss.item()
        if math.isfinite(value):
            optimizer.step()
        return value

    def shuffle(self, perm: torch.Tensor) -> None:
        """This epoch's order: the training set gathered once, so each batch is a cheap slice."""
        self.perm = perm
        self.epoch_x = self.dataset.x_train[perm]
        self.epoch_y = self.dataset.y_train[perm]

    def _begin_epoch(self, epoch: int, t: int) -> None:
        self.shuffle(torch.randperm(self.n_train, generator=self.generator))
        self.loss_sum = 0.0
        self.epoch_lrs = []
        if t == 0:
            for module in MODULES:
                if module not in self.modules and "all" not in self.modules:
                    self._event(t, epoch, "frozen", None,
                                f"{module} is in no param group: the optimizer never updates it")
            self._note_step_size(t)
        manual = self.config.manual
        if manual is not None and manual.fires_at(epoch):
            for group in self.optimizer.param_groups:
                group["lr"] *= manual.factor
            lrs = ", ".join(_fmt(g["lr"]) for g in self.optimizer.param_groups)
            self._event(t, epoch, "manual_decay", None, f"every lr x {manual.factor}: now {lrs}")

    def _note_step_size(self, t: int) -> None:
        """A note at the run's first step where the lr in param_groups is not the step size
        (the registry's ``lr_note``: ASGD, Rprop, Adafactor, Adagrad with lr_decay)."""
        spec = OPTIMIZERS[self.config.optimizer.type]
        if spec.lr_note and (spec.lr_note_if is None
                             or any(g.get(spec.lr_note_if) for g in self.optimizer.param_groups)):
            self._event(t, 0, "note", None, f"the lr column is not {spec.name}'s step size: {spec.lr_note}")

    def _end_epoch(self, epoch: int, t: int) -> None:
        train_loss = self.loss_sum / self.n_train
        val_loss = self.validate() if self.n_val else math.nan
        self.recorder.record_epoch(epoch, train_loss, val_loss, self.epoch_lrs)
        if self.n_val and not math.isfinite(val_loss):
            self._diverge(t, epoch, f"validation loss became {val_loss} at epoch {epoch}")
            return
        if self.scheduler is not None and not (self.step_interval or self.fractional or self.first_each_epoch):
            if self.metric_step:
                if self.trains:
                    monitor = self.config.scheduler.monitor
                    self._plateau_step(t, epoch, val_loss if monitor == "val_loss" else train_loss)
            else:
                self.scheduler.step()

    def _plateau_step(self, t: int, epoch: int, metric: float) -> None:
        before = [g["lr"] for g in self.optimizer.param_groups]
        self.scheduler.step(metric)
        for gi, (old, group) in enumerate(zip(before, self.optimizer.param_groups)):
            if group["lr"] != old:
                monitor = self.config.scheduler.monitor
                # Marked where the reduced lr is first used: the next step and epoch.
                self._event(t + 1, epoch + 1, "plateau", gi, f"lr {_fmt(old)} -> {_fmt(group['lr'])}: {monitor} "
                            f"did not improve for more than {self.scheduler.patience} epochs")

    def validate(self) -> float:
        with torch.no_grad():
            return F.mse_loss(self.model(self.dataset.x_val), self.dataset.y_val).item()

    def _check_gradients(self, t: int, epoch: int) -> None:
        for gi in range(len(self.optimizer.param_groups)):
            if gi in self.gradient_checked:
                continue
            self.gradient_checked.add(gi)
            module = self.modules[gi]
            names = MODULES if module == "all" else (module,)
            for name in names:
                params = list(getattr(self.model, name).parameters())
                if all(p.grad is None for p in params):
                    self._event(t, epoch, "no_gradient", gi,
                                f'{name} gets no gradient: model "{self.experiment.model}" returns '
                                "self.layer(input), so this lr changes nothing; "
                                'use model = "bottleneck" to train layer2 too')

    def _diverge(self, t: int, epoch: int, detail: str) -> None:
        lrs = ", ".join(_fmt(g["lr"]) for g in self.optimizer.param_groups)
        self.status = RunStatus.DIVERGED
        self._event(t, epoch, "diverged", None, f"{detail} (lr {lrs})")

    def fail(self, t: int, error: BaseException) -> None:
        """Stop this run after an exception inside torch (or an expression), keeping its results."""
        self.status = RunStatus.FAILED
        self._event(t, t // self.steps_per_epoch, "error", None, f"{type(error).__name__}: {error}")

    def _event(self, t: int, epoch: int, kind: str, group: int | None, detail: str) -> None:
        self.recorder.record_event(Event(t, epoch, kind, group, detail))

    # -- edits: scheduled ones and commands from another thread ----------------------------
    def check_edit(self, edit: Edit) -> None:
        """Raise :class:`ExperimentError` if ``edit`` cannot apply to this run now; changes nothing.

        Each option's type and range is the registry's (checked when the edit was parsed); this
        checks the edit whole against the run as it is: the group exists and has every option,
        and what a rebase scales is all there. What only torch's constructor refuses (SGD's
        nesterov without momentum) is not refused: torch does not check ``param_groups``
        (:func:`constructor_refusal`), and :meth:`apply_edit` says so in a note.
        """
        spec = OPTIMIZERS[self.config.optimizer.type]
        if edit.add_group is not None:
            return
        groups = self.optimizer.param_groups
        if edit.group is not None and not 0 <= edit.group < len(groups):
            raise ExperimentError("group", f"expected a group index from 0 to {len(groups) - 1}, got {edit.group}")
        for gi in range(len(groups)) if edit.group is None else (edit.group,):
            group = groups[gi]
            for key in edit.options:
                if key not in group:
                    raise ExperimentError(key, f"param_groups[{gi}] has no {key!r}: not an option of {spec.name}")
            if edit.rebase and self.scheduler is not None:
                try:
                    rebase_targets(self.scheduler, self.config.scheduler, gi)
                except (KeyError, IndexError, AttributeError) as error:
                    raise ExperimentError("rebase", f"{self.config.scheduler.type} has nothing to rebase for "
                                                    f"param_groups[{gi}] ({type(error).__name__}: {error})") from None

    def apply_edit(self, edit: Edit, t: int) -> None:
        """Apply ``edit`` now (before optimizer step ``t``): all of it, or, when :meth:`check_edit`
        refuses it (:class:`ExperimentError`), none of it."""
        self.check_edit(edit)
        epoch = t // self.steps_per_epoch
        if edit.add_group is not None:
            self._add_group(edit.add_group)
            gi = len(self.optimizer.param_groups) - 1
            self._event(t, epoch, "add_group", gi, f"added param group {gi}: {edit.add_group.module}, "
                        f"lr {_fmt(self.optimizer.param_groups[gi]['lr'])}")
            self._note_unchecked(t, epoch, gi, edit.add_group.options)
            return
        groups = self.optimizer.param_groups
        targets = range(len(groups)) if edit.group is None else (edit.group,)
        for gi in targets:
            group = groups[gi]
            old_lr = group["lr"]
            changes = [f"{key} {_fmt(group[key]) if key == 'lr' else group[key]} -> "
                       f"{_fmt(value) if key == 'lr' else value}" for key, value in edit.options.items()]
            group.update(edit.options)
            if edit.rebase and self.scheduler is not None and old_lr > 0:
                rebase_group(self.scheduler, self.config.scheduler, gi, group["lr"] / old_lr)
                changes.append("scheduler rebased")
            self._event(t, epoch, "edit", gi, "; ".join(changes))
            self._note_unchecked(t, epoch, gi, edit.options)

    def _note_unchecked(self, t: int, epoch: int, gi: int, edited: dict) -> None:
        """A note when torch's constructor would refuse group ``gi`` as edited (torch steps with it)."""
        spec = OPTIMIZERS[self.config.optimizer.type]
        group = self.optimizer.param_groups[gi]
        # what a schedule moves (a negative lr trains on) is taken as configured: the edit is in question
        options = {**group, **{k: self.optimizer.defaults[k] for k in ("lr", spec.momentum_key)
                               if k and k in self.optimizer.defaults and k not in edited}}
        refusal = constructor_refusal(spec, options)
        if refusal:
            self._event(t, epoch, "note", gi, f"torch's {spec.name}(...) would refuse param_groups[{gi}] as "
                        f"edited ({refusal}); set in param_groups it is not checked, and torch steps with it")

    def _add_group(self, group: GroupConfig) -> None:
        self.optimizer.add_param_group(group_dict(self.model, group))
        if self.scheduler is not None:
            try:
                adopt_new_group(self.scheduler, self.config.scheduler, len(self.optimizer.param_groups) - 1)
            except Exception:  # nothing of the scheduler changed (it plans first): neither does the optimizer
                self.optimizer.param_groups.pop()
                raise
        self.modules.append(group.module)
        self.recorder.add_group()

    def _apply_commands(self, commands, t: int) -> None:
        """Commands from another thread, in the order they were sent (invalid ones: ``rejected``)."""
        from .commands import check_command

        epoch = t // self.steps_per_epoch
        for command in commands:
            try:
                edit = check_command(self, command)
                if edit is None:  # StopRun
                    self.status = RunStatus.STOPPED
                    self._event(t, epoch, "stopped", None, "stopped by a command")
                    return
                edit = replace(edit, step=t)  # as checked (what a replay of the recorded edit applies)
                self.apply_edit(edit, t)  # all of it or none of it
                self.recorded_edits.append(edit)  # recorded once applied: it replays as it applied
            except Exception as error:  # a command that became invalid is reported, not fatal
                self._event(t, epoch, "rejected", None, f"{type(error).__name__}: {error}")

    # -- the schedule's state, for predicting the rest of the run -----------------------
    def schedule_state(self) -> dict:
        """Everything the lr schedule depends on, taken at a step boundary (before some step ``t``).

        Plain Python data (picklable, copied: later steps of this run never change it):

        * ``groups``: each param group's options except ``params`` (``lr``, ``initial_lr``,
          ``momentum``/``betas``, OneCycleLR's ``max_lr``/``min_lr``, ...);
        * ``modules``: the module of each group (groups beyond the config were added mid-run);
        * ``scheduler``: the scheduler's own ``state_dict()`` (``None`` without one). Lambdas
          are not in it (LambdaLR and MultiplicativeLR store plain functions as ``None``), and
          need not be: they come from the config, like the rest of the scheduler's structure;
        * ``edit_position``: how many of the config's scheduled edits have been applied;
        * ``status``, and ``epoch_lrs`` (the lrs of the current epoch's first step, recorded
          at the epoch's end).
        * ``negative_groups``: the groups whose lr was negative at the last step (a group's lr
          turning negative is noted once, the step it does).

        The manual decay needs nothing: whether it fires is a function of the epoch alone.
        :meth:`ScheduleProbe.load_schedule_state` continues a schedule from this record.
        """
        groups = [{k: (v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v))
                   for k, v in g.items() if k != "params"} for g in self.optimizer.param_groups]
        return {
            "groups": groups, "modules": list(self.modules),
            "scheduler": copy.deepcopy(self.scheduler.state_dict()) if self.scheduler is not None else None,
            "edit_position": self.edit_position, "status": self.status.value, "epoch_lrs": list(self.epoch_lrs),
            "negative_groups": sorted(self.negative_groups),
        }

    # -- training-state files -------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "name": self.name, "status": self.status.value, "modules": list(self.modules),
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "generator": self.generator.get_state(), "perm": self.perm, "loss_sum": self.loss_sum,
            "epoch_lrs": list(self.epoch_lrs), "gradient_checked": sorted(self.gradient_checked),
            "recorded_edits": [e.to_dict() for e in self.recorded_edits],
            "recorder": self.recorder.state_dict(),
        }

    def load_state_dict(self, state: dict, t: int) -> None:
        """Continue from ``state`` saved before optimizer step ``t``."""
        from .parse import parse_edit

        for module in state["modules"][len(self.modules):]:
            self._add_group(GroupConfig(module=module))
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        if state["perm"] is not None:
            self.shuffle(state["perm"])
        self.loss_sum = state["loss_sum"]
        self.epoch_lrs = list(state["epoch_lrs"])
        self.gradient_checked = set(state["gradient_checked"])
        self.recorded_edits = [parse_edit(e, "recorded_edits", self.config.optimizer.type)
                               for e in state["recorded_edits"]]
        self.recorder.load_state_dict(state["recorder"])
        if self.recorder.n_steps:  # the groups whose lr was negative at the step before t
            last = self.recorder.snapshot(steps_from=self.recorder.n_steps - 1).step_lr[0]
            self.negative_groups = {gi for gi, lr in enumerate(last) if lr < 0}
        self.status = RunStatus(state["status"])
        self.edit_position = sum(1 for e in self.edits if e.at_step(self.steps_per_epoch) < t)
        self._sync_next_edit()


class ScheduleProbe(RunTrainer):
    """A run's schedule without training: the same optimizer and scheduler classes, manual decay
    and edits, stepped in the same order, on a model that is never fitted.

    What a schedule does to the lr does not depend on the losses, except for
    ReduceLROnPlateau, which the probe leaves unstepped (it cannot know the losses).
    """

    trains = False

    def __init__(self, experiment: Experiment, index: int):
        super().__init__(experiment, index, dataset=None)
        # what the step slices its batch from: a range (a torch tensor's slice costs a dispatch,
        # twice a step, and a per-step schedule's preview takes thousands of steps)
        self._batches = range(self.n_train)

    def shuffle(self, perm: torch.Tensor) -> None:
        self.perm, self.epoch_x, self.epoch_y = perm, self._batches, self._batches

    def train_batch(self, x: torch.Tensor, y: torch.Tensor) -> float:
        return 0.0

    def validate(self) -> float:
        return 0.0

    def _check_gradients(self, t: int, epoch: int) -> None:
        self.gradient_checked.update(range(len(self.optimizer.param_groups)))

    def load_schedule_state(self, state: dict) -> None:
        """Continue from a :meth:`RunTrainer.schedule_state` of a run of the same experiment.

        Groups the run added are added here the same way (``_add_group``, so the scheduler
        adopts them), then the group options and the scheduler's state are loaded over them.
        ``state`` is copied, never changed.
        """
        state = copy.deepcopy(state)
        for module in state["modules"][len(self.modules):]:
            self._add_group(GroupConfig(module=module))
        if len(state["groups"]) != len(self.optimizer.param_groups):
            raise ValueError(f"the state has {len(state['groups'])} param groups, this run "
                             f"{len(self.optimizer.param_groups)}: not a state of this run")
        for group, options in zip(self.optimizer.param_groups, state["groups"]):
            params = group["params"]
            group.clear()
            group.update(options, params=params)
        if (self.scheduler is None) != (state["scheduler"] is None):
            raise ValueError("the state and this run disagree on having a scheduler: not a state of this run")
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.edit_position = state["edit_position"]
        self._sync_next_edit()
        self.status = RunStatus(state["status"])
        self.epoch_lrs = list(state["epoch_lrs"])
        self.negative_groups = set(state.get("negative_groups", ()))
        self.shuffle(torch.arange(self.n_train))  # mid-epoch, the probe's (empty) batches must exist
