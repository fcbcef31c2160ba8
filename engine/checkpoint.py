"""Training-state files: torch's own ``state_dict()`` of every model, optimizer and scheduler.

A file holds, per run, the model, optimizer and scheduler state dicts, the batch-order
generator's state, the current epoch's permutation and loss sum, and the results so far,
plus the experiment it came from. Resuming rebuilds each run from the experiment, replays
the structure of param groups added since (``add_param_group``), then loads the state
dicts, so a resumed run continues bit for bit where the saved one stopped.

Files are read with ``torch.load(weights_only=True)``: no code runs while loading, and
anything that is not one of our files is refused with a message, never a traceback. The
zip's checksums are verified first (torch does not), so a damaged file is refused too.

A file is trusted no further than that: before anything of it is loaded, every field is
checked against what the experiment builds (:class:`_StateCheck`): the runs and their
statuses, the modules of the param groups, the model's tensors, the optimizer's groups and
per-parameter state, the scheduler's state, the generator, the permutation, the results so
far; and the experiment must not have changed what the state was already trained with (an
edit before the saved position) or a length derived from ``epochs`` (OneCycleLR without
``total_steps``). A state that does not fit is refused with :class:`StateFileError`,
saying why, and nothing of it is loaded.
"""

from __future__ import annotations

import json
import math
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from .config import MODULES, GroupConfig
from .errors import ExperimentError, StateFileError, join_path, show_value
from .files import replace_atomically
from .model import build_model
from .optimizers import build_optimizer, group_dict
from .parse import EDIT_KINDS, parse_edit
from .registry import optimizer_spec, scheduler_spec
from .status import RunStatus

if TYPE_CHECKING:
    from .run import RunTrainer
    from .session import TrainingSession

__all__ = ["save_state", "load_state", "restore_session", "TrainingState", "FORMAT", "VERSION"]

FORMAT = "lrlab-training-state"
VERSION = 1

# What must match between the saved experiment and the one resumed (epochs may grow,
# and edits may be added for the part still to come).
_RUN_KEYS = ("name", "optimizer", "groups", "scheduler", "manual")
_TOP_KEYS = ("format", "version", "torch", "experiment", "position", "runs")


def session_state(session: "TrainingSession") -> dict:
    return {
        "format": FORMAT, "version": VERSION, "torch": str(torch.__version__),
        "experiment": json.dumps(session.experiment.to_dict()),
        "position": session.position,
        "runs": [run.state_dict() for run in session.runs],
    }


def save_state(session: "TrainingSession", path: str | Path) -> None:
    """Write the session's state to ``path`` atomically: through a temporary file of this process
    beside it, renamed into place, so a crash, a full disk or a second process saving to the
    same path never leaves half a file or a stray partial one. OSError when it cannot be
    written (torch reports a full disk as a RuntimeError: said as an OSError here)."""
    state = session_state(session)
    replace_atomically(path, lambda tmp: torch.save(state, tmp))


def _verify_checksums(path: Path) -> None:
    """Refuse a file whose zip checksums (CRC-32 of every member) do not match its data."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except Exception as error:  # noqa: BLE001 - any failure to read the zip is a damaged or foreign file
        text = str(error).strip().splitlines()
        reason = text[0][:200] if text else type(error).__name__
        raise StateFileError(f"{path}: not a training-state file of this app, or a damaged one ({reason})") \
            from None
    if bad is not None:
        raise StateFileError(f"{path} is damaged: the data of {bad!r} does not fit its checksum (CRC-32), "
                             "so nothing in it can be trusted; save the state again")


class TrainingState(dict):
    """A state file's contents (the dict :func:`save_state` wrote), as :func:`load_state` returns
    them. ``TrainingSession(experiment, state=load_state(path))`` resumes it: the session calls
    :meth:`restore`, so the session needs nothing of this module (which imports the session's
    types, never the other way round)."""

    def restore(self, session: "TrainingSession") -> None:
        """:func:`restore_session` into a freshly built ``session``."""
        restore_session(session, self)


def load_state(path: str | Path) -> TrainingState:
    """Read a state file; :class:`StateFileError` with a plain reason if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise StateFileError(f"{path}: no such file")
    _verify_checksums(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": we refuse it anyway
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError, TypeError,
            AttributeError, ImportError, IndexError, KeyError, OSError, RecursionError) as error:
        text = str(error)
        if "Weights only load failed" in text:
            reason = "it holds objects other than tensors and plain data, which are never loaded, for safety"
        else:
            reason = text.strip().splitlines()[0][:200] if text.strip() else type(error).__name__
        raise StateFileError(f"{path}: not a training-state file of this app, or a damaged one ({reason})") \
            from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise StateFileError(f"{path}: not a training-state file of this app")
    if state.get("version") != VERSION:
        raise StateFileError(f"{path}: state format version {state.get('version')!r}; this app reads {VERSION}")
    return TrainingState(state)


# -- checking a state against the experiment ---------------------------------------------------

class _Unfit(Exception):
    """A reason the state does not fit (becomes a :class:`StateFileError`)."""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show(value) -> str:
    """A value of a state, short: tensors by shape and dtype, long lists by length."""
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)) and (len(value) > 8 or any(
            isinstance(v, (torch.Tensor, dict, list, tuple)) for v in value)):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return f"a table of {len(value)} entr{'ies' if len(value) != 1 else 'y'}"
    if isinstance(value, (str, bool, int, float, list, tuple)) or value is None:
        return show_value(value)
    return f"a {type(value).__name__}"


def _inline(value) -> str:
    """An edit table as a person writes it: ``{epoch = 3, lr = 0.1}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + "}"
    return show_value(value)


def _edit_step(edit: dict, steps_per_epoch: int) -> int:
    return edit["step"] if "step" in edit else edit["epoch"] * steps_per_epoch


def _edit_when(edit: dict) -> str:
    return f"epoch {edit['epoch']}" if "epoch" in edit else f"step {edit['step']}"


def _plain(value):
    """``value`` as the state's JSON holds it (tuples become lists)."""
    return json.loads(json.dumps(value))


def _tensor(value, path: str, *, shape=None, dtype=None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.layout != torch.strided or value.is_quantized \
            or value.device.type != "cpu":
        raise _Unfit(f"its {path} is {_show(value)}: expected a plain tensor")
    if dtype is not None and value.dtype != dtype:
        raise _Unfit(f"its {path} is {_show(value)}: expected a {str(dtype).removeprefix('torch.')} tensor")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise _Unfit(f"its {path} is {_show(value)}: expected shape {tuple(shape)}")
    return value


def _keys(value, expected, path: str) -> dict:
    """``value`` as a dict with exactly the keys ``expected``."""
    if not isinstance(value, dict):
        raise _Unfit(f"its {path} is {_show(value)}: expected a table")
    missing = [k for k in expected if k not in value]
    if missing:
        raise _Unfit(f"its {path} lacks {', '.join(map(str, missing))}")
    unknown = [k for k in value if k not in expected]
    if unknown:
        raise _Unfit(f"its {path} holds {', '.join(map(repr, unknown[:5]))}, which a state of this run never has")
    return value


def _like(value, template, path: str, *, finite: bool = False, whole: bool = True) -> None:
    """``value`` has ``template``'s structure: the same keys, lengths, tensor shapes and dtypes,
    and values of the same kind (numbers for numbers, equal strings, booleans and Nones; with
    ``whole=False`` any number where the template has a whole one: a scheduler stepped with
    fractional epochs keeps fractions, e.g. CosineAnnealingWarmRestarts' T_cur)."""
    if isinstance(template, dict):
        _keys(value, list(template), path)
        for key, item in template.items():
            _like(value[key], item, join_path(path, key) if isinstance(key, str) else f"{path}[{key}]",
                  finite=finite, whole=whole)
    elif isinstance(template, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(template):
            raise _Unfit(f"its {path} is {_show(value)}: expected a list of {len(template)}")
        for i, (item, item_template) in enumerate(zip(value, template)):
            _like(item, item_template, f"{path}[{i}]", finite=finite, whole=whole)
    elif isinstance(template, torch.Tensor):
        _tensor(value, path, shape=template.shape, dtype=template.dtype)
    elif isinstance(template, bool) or template is None or isinstance(template, str):
        if type(value) is not type(template) or value != template:
            raise _Unfit(f"its {path} is {_show(value)}, where this experiment has {_show(template)}")
    elif _is_int(template):
        if not (_is_int(value) or (isinstance(value, float) and (value.is_integer() or not whole))):
            raise _Unfit(f"its {path} is {_show(value)}: expected a whole number")
    elif isinstance(template, float):
        if not _is_number(value) or (finite and not math.isfinite(value)):
            raise _Unfit(f"its {path} is {_show(value)}: expected a {'finite ' if finite else ''}number")
    elif type(value) is not type(template) or value != template:
        raise _Unfit(f"its {path} is {_show(value)}, where this experiment has {_show(template)}")


class _StateCheck:
    """Every field of a state checked against the freshly built ``session``, before any is loaded.

    :meth:`check` raises :class:`_Unfit` with the reason. Its one change to the session is to
    add the param groups the state's runs added mid-run (as loading does first), so that the
    fresh runs' optimizers, schedulers and recorders are the templates the state must match.
    """

    def __init__(self, session: "TrainingSession", state: dict):
        self.session, self.state = session, state
        self.spe = session.steps_per_epoch
        self.statuses = tuple(RunStatus)
        self.running, self.finished = RunStatus.RUNNING, RunStatus.FINISHED
        # runs that (may) train on: FINISHED resumes when epochs grow
        self.training = (RunStatus.RUNNING, RunStatus.FINISHED)

    def check(self) -> None:
        state, session = self.state, self.session
        _keys(state, _TOP_KEYS, "top level")
        self.saved = self._saved_experiment()
        difference = _compare(self.saved, _plain(session.experiment.to_dict()))
        if difference:
            raise _Unfit(f"it was saved from a different experiment: {difference}")
        position = state["position"]
        if not _is_int(position) or position < 0:
            raise _Unfit(f"its position is {_show(position)}: expected a whole number of steps >= 0")
        self.position = position
        saved_epochs = self.saved.get("epochs")
        if not _is_int(saved_epochs) or saved_epochs < 1:
            raise _Unfit(f"the experiment it holds has epochs = {_show(saved_epochs)}")
        self.saved_epochs, self.saved_total = saved_epochs, saved_epochs * self.spe
        if position > self.saved_total:
            raise _Unfit(f"it is at step {position}, past the end of the experiment it was saved from "
                         f"({saved_epochs} epochs x {self.spe} steps)")
        if position > session.total_steps:
            raise _Unfit(f"it is at step {position} (epoch {position // self.spe}), past this experiment's end "
                         f"(epochs = {session.experiment.epochs}); raise epochs to continue")
        runs = state["runs"]
        if not isinstance(runs, list) or len(runs) != len(session.runs):
            raise _Unfit(f"its runs is {_show(runs)}, but the experiment has {len(session.runs)} "
                         f"run{'s' if len(session.runs) != 1 else ''}: every run needs its state")
        for i, (run, run_state) in enumerate(zip(session.runs, runs)):
            self._check_run(i, run, run_state)

    def _saved_experiment(self) -> dict:
        text = self.state["experiment"]
        try:
            saved = json.loads(text) if isinstance(text, str) else None
        except (ValueError, RecursionError):
            saved = None
        if not isinstance(saved, dict) or not isinstance(saved.get("runs"), list) \
                or not all(isinstance(r, dict) for r in saved["runs"]):
            raise _Unfit("the experiment it holds is not readable")
        return saved

    def _where(self) -> str:
        p = self.position
        return f"epoch {p // self.spe}" if p % self.spe == 0 else f"step {p}, in epoch {p // self.spe}"

    # -- one run ------------------------------------------------------------------------------
    def _check_run(self, i: int, run: "RunTrainer", s) -> None:
        path = join_path("runs", i)
        template = run.state_dict()  # the fresh run: the keys every run state has
        _keys(s, list(template), path)
        if s["name"] != run.name:
            raise _Unfit(f"its {path}.name is {_show(s['name'])}, where the experiment has {_show(run.name)}")
        status = s["status"]
        if not isinstance(status, str) or status not in self.statuses:
            raise _Unfit(f"its {path}.status is {_show(status)}, not one of {', '.join(self.statuses)}")
        if status == self.running and self.position >= self.saved_total:
            raise _Unfit(f"its {path}.status is running at the end of its experiment (step {self.position})")
        if status == self.finished and self.position != self.saved_total:
            raise _Unfit(f"its {path}.status is finished at step {self.position}, before the end of its "
                         f"experiment (step {self.saved_total})")
        trains = status in self.training
        recorded = self._check_recorded_edits(path, run, s["recorded_edits"])
        self._check_edits(i, path, run, recorded)
        modules = self._check_modules(path, run, s["modules"], recorded, trains)
        self._check_derived_length(path, run, s["scheduler"])
        # The groups the run added mid-run, as loading adds them: the fresh run is now the template.
        for module in modules[len(run.modules):]:
            run._add_group(GroupConfig(module=module))
        template = run.state_dict()
        _like(s["model"], template["model"], f"{path}.model")
        self._check_optimizer(path, run, s["optimizer"], template["optimizer"], trains)
        if (template["scheduler"] is None) != (s["scheduler"] is None):
            raise _Unfit(f"its {path}.scheduler is {_show(s['scheduler'])}, where the experiment "
                         f"{'has no scheduler' if template['scheduler'] is None else 'has one'}")
        if template["scheduler"] is not None:
            _like(s["scheduler"], template["scheduler"], f"{path}.scheduler", whole=not run.fractional)
            last = s["scheduler"].get("last_epoch")
            if trains and last is not None:
                # fractional: step(epoch + i / steps_per_epoch) after step i sets last_epoch to its floor
                # (before step i with step_order "scheduler_first": the same values, one call earlier)
                expected = self.position if run.step_interval else \
                    max(self.position - 1, 0) // self.spe if run.fractional else self.position // self.spe
                if run.first_each_epoch:  # step_order "scheduler_first": stepped as each epoch begins
                    expected = -(-self.position // self.spe)
                if last != expected:
                    raise _Unfit(f"its {path}.scheduler.last_epoch is {_show(last)}, but a run at the saved "
                                 f"position ({self._where()}) has stepped its scheduler {expected} times")
        _tensor(s["generator"], f"{path}.generator", shape=template["generator"].shape,
                dtype=template["generator"].dtype)
        self._check_perm(path, run, s["perm"], trains)
        loss_sum = s["loss_sum"]
        if not _is_number(loss_sum) or (trains and not math.isfinite(loss_sum)):
            raise _Unfit(f"its {path}.loss_sum is {_show(loss_sum)}: expected a finite number")
        lrs = s["epoch_lrs"]
        if not isinstance(lrs, list) or len(lrs) > len(modules) or not all(_is_number(x) for x in lrs):
            raise _Unfit(f"its {path}.epoch_lrs is {_show(lrs)}: expected at most {len(modules)} numbers "
                         "(one per param group)")
        checked = s["gradient_checked"]
        if not isinstance(checked, list) or not all(_is_int(g) and 0 <= g < len(modules) for g in checked) \
                or len(set(checked)) != len(checked):
            raise _Unfit(f"its {path}.gradient_checked is {_show(checked)}: expected distinct group "
                         f"indices from 0 to {len(modules) - 1}")
        self._check_recorder(path, run, s["recorder"], template["recorder"], len(modules), trains)

    def _check_recorded_edits(self, path: str, run: "RunTrainer", edits) -> list[dict]:
        """The edits that arrived as commands (``step = t``, before the saved position), as dicts."""
        path = f"{path}.recorded_edits"
        if not isinstance(edits, list):
            raise _Unfit(f"its {path} is {_show(edits)}: expected a list of edits")
        out = []
        for k, raw in enumerate(edits):
            try:
                edit = parse_edit(raw, f"{path}[{k}]", run.config.optimizer.type)
            except ExperimentError as error:
                raise _Unfit(f"its {error}") from None
            except (TypeError, ValueError, RecursionError):
                raise _Unfit(f"its {path}[{k}] is {_show(raw)}: not an edit") from None
            if edit.step is None or edit.step >= self.position:
                raise _Unfit(f"its {path}[{k}] applies at {_edit_when(edit.to_dict())}, but a command is "
                             f"recorded at a step before the saved position (step {self.position})")
            out.append(_plain(edit.to_dict()))
        return out

    def _check_edits(self, i: int, path: str, run: "RunTrainer", recorded: list[dict]) -> None:
        """The experiment's edits before the saved position are the ones the state was trained with."""
        saved_edits = self.saved["runs"][i].get("edits", [])
        if not isinstance(saved_edits, list) or not all(
                isinstance(e, dict) and (_is_int(e.get("epoch")) or _is_int(e.get("step"))) for e in saved_edits):
            raise _Unfit(f"the experiment it holds has unreadable edits in {path}")
        p, spe = self.position, self.spe
        trained = [e for e in saved_edits if _edit_step(e, spe) < p]
        commands = list(recorded)
        for k, edit in enumerate(run.config.edits):
            table = _plain(edit.to_dict())
            if edit.at_step(spe) >= p:
                continue
            if table in trained:
                trained.remove(table)
            elif table in commands:  # a command saved into the experiment: the state has it too
                commands.remove(table)
            else:
                there = [e for e in trained if _edit_step(e, spe) == edit.at_step(spe)]
                instead = f" (it was trained with {_inline(there[0])} there)" if there else ""
                raise _Unfit(f"{path}.edits[{k}] ({_edit_when(table)}) lies before the saved position "
                             f"({self._where()}): the state was trained without it{instead}")
        if trained:
            edit = trained[0]
            raise _Unfit(f"{path}.edits lacks {_inline(edit)}, which lies before the saved position "
                         f"({self._where()}): the state was trained with it")

    def _check_modules(self, path: str, run: "RunTrainer", modules, recorded: list[dict],
                       trains: bool) -> list[str]:
        """The modules of the state's param groups: the experiment's groups, then one per add_group
        edit or command applied before the saved position, in the order they applied."""
        mpath = f"{path}.modules"
        if not isinstance(modules, list) or not 1 <= len(modules) <= len(MODULES):
            raise _Unfit(f"its {mpath} is {_show(modules)}: expected a list of 1 to {len(MODULES)} modules "
                         "(one per param group)")
        for k, module in enumerate(modules):
            if not isinstance(module, str) or module not in (*MODULES, "all"):
                raise _Unfit(f"its {mpath}[{k}] is {_show(module)}, not a module of the model "
                             f"({', '.join(MODULES)})")
        spe, p = self.spe, self.position
        # In the order the run applied them: by step; at one step the experiment's edits (epoch
        # edits first), then the commands. An edit that is also a command (a command saved into
        # the experiment) is the same group, counted once.
        edits = [_plain(e.to_dict()) for e in run.config.edits]
        applied = [(_edit_step(e, spe), 0, "step" in e, j, e) for j, e in enumerate(edits) if _edit_step(e, spe) < p]
        applied += [(e["step"], 1, True, j, e) for j, e in enumerate(recorded)]
        added = [e["add_group"]["module"] for *_, e in sorted(applied, key=lambda a: a[:4]) if "add_group" in e]
        expected: list[str] = list(run.modules)
        for module in added:
            if module not in expected:
                expected.append(module)
        fits = modules == expected if trains else modules == expected[:len(modules)] and \
            len(modules) >= len(run.modules)
        if not fits:
            raise _Unfit(f"its {mpath} is {_show(modules)}, but the experiment's groups and the add_group "
                         f"edits before the saved position ({self._where()}) give {_show(expected)}")
        for k, edit in enumerate(run.config.edits):
            if edit.add_group is not None and edit.at_step(spe) >= p and edit.add_group.module in modules:
                raise _Unfit(f"{path}.edits[{k}] ({_edit_when(edit.to_dict())}) adds a param group for "
                             f"{edit.add_group.module}, which the state already trains (a group added by a "
                             "command before the saved position)")
        return modules

    def _check_derived_length(self, path: str, run: "RunTrainer", saved) -> None:
        """A scheduler whose length the engine derives from the run's length (the registry's
        ``length_option``, left out of the experiment) must have the same length as when saved."""
        if run.scheduler is None or not isinstance(saved, dict):
            return
        def walk(cfg, fresh: dict, old: dict, where: str) -> None:
            name = scheduler_spec(cfg.type).length_option
            if name is not None and name in fresh and name in old and old[name] != fresh[name]:
                epochs = self.session.experiment.epochs
                if cfg.options.get(name) is not None or epochs == self.saved_epochs:
                    raise _Unfit(f"its {where}.{name} is {_show(old[name])}, where this experiment gives "
                                 f"{_show(fresh[name])}")
                raise _Unfit(
                    f"{where}: {cfg.type}'s {name} was derived from epochs = {self.saved_epochs} "
                    f"({name} = {_show(old[name])}); resuming with epochs = {epochs} ({name} = {fresh[name]}) "
                    f"would not equal a straight run: keep epochs = {self.saved_epochs} to resume this state, "
                    f"or set {name} explicitly and train from the start")
            children_fresh, children_old = fresh.get("_schedulers"), old.get("_schedulers")
            if cfg.children and isinstance(children_old, list) and isinstance(children_fresh, list):
                for k, (child, f, o) in enumerate(zip(cfg.children, children_fresh, children_old)):
                    if isinstance(f, dict) and isinstance(o, dict):
                        walk(child, f, o, f"{where}.schedulers[{k}]")

        walk(run.config.scheduler, run.scheduler.state_dict(), saved, f"{path}.scheduler")

    def _check_optimizer(self, path: str, run: "RunTrainer", saved, template: dict, trains: bool) -> None:
        opath = f"{path}.optimizer"
        _keys(saved, list(template), opath)
        groups, fresh_groups = saved["param_groups"], template["param_groups"]
        if not isinstance(groups, list) or len(groups) != len(fresh_groups):
            raise _Unfit(f"its {opath}.param_groups is {_show(groups)}: expected {len(fresh_groups)} groups "
                         "(one per module in modules)")
        spec = optimizer_spec(run.config.optimizer.type)
        scheduled = ("lr", run.momentum_key)  # a scheduler may move them anywhere (divergence is a result)
        for g, (group, fresh) in enumerate(zip(groups, fresh_groups)):
            gpath = f"{opath}.param_groups[{g}]"
            _keys(group, list(fresh), gpath)
            for key, value in fresh.items():
                kpath = join_path(gpath, key)
                param = spec.params.get(key)
                saved_value = group[key]
                if key == "params":
                    if saved_value != value or not all(_is_int(x) for x in saved_value):
                        raise _Unfit(f"its {kpath} is {_show(saved_value)}, where the model gives {_show(value)}")
                elif type(saved_value) is type(value) and saved_value == value:
                    continue  # as the experiment builds it
                elif param is not None and param.type.kind in EDIT_KINDS and key not in scheduled:
                    try:  # an option only an edit changes: within the registry's range, as the edit was
                        param.type.check(saved_value, kpath)
                    except ExperimentError as error:
                        raise _Unfit(f"its {error}") from None
                elif _is_number(value):  # numbers alike: an edit may make an int option (0) a float
                    if not _is_number(saved_value):
                        raise _Unfit(f"its {kpath} is {_show(saved_value)}: expected a number")
                else:
                    _like(saved_value, value, kpath)
        # Per-parameter state: what one step of torch with these options keeps for each parameter.
        params = [p for g in run.optimizer.param_groups for p in g["params"]]
        per_param = saved["state"]
        if not isinstance(per_param, dict):
            raise _Unfit(f"its {opath}.state is {_show(per_param)}: expected a table")
        for pid in per_param:
            if not _is_int(pid) or not 0 <= pid < len(params):
                raise _Unfit(f"its {opath}.state has an entry for parameter {_show(pid)}; the optimizer has "
                             f"parameters 0 to {len(params) - 1}")
        expected = self._optimizer_template(path, run, groups if trains else fresh_groups)
        took_last_step = trains and self.position > 0
        if took_last_step:
            missing = sorted(set(expected) - set(per_param))
            if missing:
                raise _Unfit(f"its {opath}.state has nothing for parameter {missing[0]}, which the optimizer "
                             f"stepped before the saved position ({self._where()})")
        for pid, entry in per_param.items():
            self._check_param_state(f"{opath}.state[{pid}]", entry, expected.get(pid, {}),
                                    tuple(params[pid].shape), params[pid].dtype, took_last_step)

    def _optimizer_template(self, path: str, run: "RunTrainer", groups: list) -> dict:
        """The per-parameter state torch keeps after one step with ``groups``' options, on a scratch
        copy of the run's model and optimizer (nothing of the session changes)."""
        experiment = self.session.experiment
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = build_model(experiment.model, experiment.seed)
                optimizer = build_optimizer(run.config, model)
                for module in run.modules[len(optimizer.param_groups):]:
                    optimizer.add_param_group(group_dict(model, GroupConfig(module=module)))
                optimizer.load_state_dict({"state": {}, "param_groups": groups})
                data = self.session.dataset
                x, y = data.x_train[:run.batch_size], data.y_train[:run.batch_size]

                def closure():
                    optimizer.zero_grad()
                    loss = F.mse_loss(model(x), y)
                    loss.backward()
                    return loss

                if run.closure_step:
                    optimizer.step(closure)
                else:
                    closure()
                    optimizer.step()
                return optimizer.state_dict()["state"]
        except Exception as error:  # noqa: BLE001 - whatever torch says about these options
            text = str(error).strip().splitlines()
            raise _Unfit(f"torch cannot take a step with its {path}.optimizer.param_groups "
                         f"({text[0][:200] if text else type(error).__name__})") from None

    @staticmethod
    def _check_param_state(path: str, entry, expected: dict, shape: tuple, dtype, complete: bool) -> None:
        if not isinstance(entry, dict):
            raise _Unfit(f"its {path} is {_show(entry)}: expected a table")
        shapes = {shape, ()}
        for value in expected.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, torch.Tensor):
                    shapes.add(tuple(item.shape))
        if complete:
            missing = [k for k in expected if k not in entry]
            if missing:
                raise _Unfit(f"its {path} lacks {', '.join(map(str, missing))}, which the optimizer keeps "
                             "for each parameter it steps")
        for key, value in entry.items():
            kpath = join_path(path, key) if isinstance(key, str) else f"{path}[{key!r}]"
            template = expected.get(key) if isinstance(key, str) else None
            if isinstance(template, torch.Tensor):
                _tensor(value, kpath, shape=template.shape, dtype=template.dtype)
            elif isinstance(template, list):
                if not isinstance(value, list):
                    raise _Unfit(f"its {kpath} is {_show(value)}: expected a list")
                for k, item in enumerate(value):
                    if item is None or _is_number(item):
                        continue
                    _tensor(item, f"{kpath}[{k}]")
                    if tuple(item.shape) not in shapes or not item.is_floating_point():
                        raise _Unfit(f"its {kpath}[{k}] is {_show(item)}: not a shape this optimizer keeps "
                                     f"for a parameter of shape {shape}")
            elif _is_int(template):
                if not _is_int(value):
                    raise _Unfit(f"its {kpath} is {_show(value)}: expected a whole number")
            elif isinstance(template, float):
                if not _is_number(value):
                    raise _Unfit(f"its {kpath} is {_show(value)}: expected a number")
            elif key in expected and template is not None:
                _like(value, template, kpath)
            elif value is not None and not _is_number(value):
                # Not kept with the current options (e.g. a momentum buffer before momentum was
                # edited to 0): only the parameter's own shape fits, and it is never read.
                _tensor(value, kpath)
                if tuple(value.shape) not in shapes or value.dtype != dtype:
                    raise _Unfit(f"its {kpath} is {_show(value)}: expected shape {shape} "
                                 f"({str(dtype).removeprefix('torch.')}), the parameter's")

    def _check_perm(self, path: str, run: "RunTrainer", perm, trains: bool) -> None:
        if perm is None:
            if trains and self.position % self.spe:
                raise _Unfit(f"its {path}.perm is missing: a run in the middle of an epoch ({self._where()}) "
                             "needs the epoch's batch order")
            return
        _tensor(perm, f"{path}.perm", shape=(run.n_train,), dtype=torch.int64)
        if not torch.equal(torch.sort(perm).values, torch.arange(run.n_train)):
            raise _Unfit(f"its {path}.perm is not an order of the {run.n_train} training samples")

    def _check_recorder(self, path: str, run: "RunTrainer", saved, template: dict, groups: int,
                        trains: bool) -> None:
        rpath = f"{path}.recorder"
        _keys(saved, list(template), rpath)
        if saved["name"] != run.name:
            raise _Unfit(f"its {rpath}.name is {_show(saved['name'])}, where the experiment has {_show(run.name)}")
        if not _is_int(saved["groups"]) or saved["groups"] != groups:
            raise _Unfit(f"its {rpath}.groups is {_show(saved['groups'])}, but the run has {groups} param "
                         f"group{'s' if groups != 1 else ''}")
        steps = _tensor(saved["steps"], f"{rpath}.steps", dtype=torch.float64)
        epochs = _tensor(saved["epochs"], f"{rpath}.epochs", dtype=torch.float64)
        if steps.dim() != 2 or steps.shape[1] != 3:
            raise _Unfit(f"its {rpath}.steps is {_show(steps)}: expected 3 columns (step, epoch, loss)")
        if epochs.dim() != 2 or epochs.shape[1] != 3:
            raise _Unfit(f"its {rpath}.epochs is {_show(epochs)}: expected 3 columns (epoch, train_loss, val_loss)")
        n, m, p = steps.shape[0], epochs.shape[0], self.position
        if trains and n != p:
            raise _Unfit(f"its {rpath}.steps has {n} rows, but a run training at the saved position "
                         f"({self._where()}) has recorded {p}, one per step")
        if n > p:
            raise _Unfit(f"its {rpath}.steps has {n} rows, more than the {p} steps taken")
        if (trains and m != n // self.spe) or m > n // self.spe:
            raise _Unfit(f"its {rpath}.epochs has {m} rows, but the run has recorded {n} steps "
                         f"({n // self.spe} whole epochs of {self.spe} steps)")
        for name, rows in (("step_lr", n), ("step_momentum", n), ("epoch_lr", m)):
            _tensor(saved[name], f"{rpath}.{name}", shape=(rows, groups), dtype=torch.float64)
        index = torch.arange(n, dtype=torch.float64)
        if not (torch.equal(steps[:, 0], index) and torch.equal(steps[:, 1], torch.div(index, self.spe,
                                                                                        rounding_mode="floor"))):
            raise _Unfit(f"its {rpath}.steps does not number the steps 0 to {n - 1} with their epochs")
        if not torch.equal(epochs[:, 0], torch.arange(m, dtype=torch.float64)):
            raise _Unfit(f"its {rpath}.epochs does not number the epochs 0 to {m - 1}")
        events = saved["events"]
        if not isinstance(events, list):
            raise _Unfit(f"its {rpath}.events is {_show(events)}: expected a list")
        for k, event in enumerate(events):
            if not (isinstance(event, (list, tuple)) and len(event) == 5 and _is_int(event[0])
                    and 0 <= event[0] <= p and _is_int(event[1]) and 0 <= event[1] <= p // self.spe + 1
                    and isinstance(event[2], str) and (event[3] is None or (_is_int(event[3])
                                                                            and 0 <= event[3] < groups))
                    and isinstance(event[4], str)):
                raise _Unfit(f"its {rpath}.events[{k}] is {_show(event)}: expected [step, epoch, kind, group, "
                             f"detail] at or before the saved position (step {p})")


def _json(value, limit: int = 300) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _compare(saved: dict, current: dict) -> str | None:
    """The first difference that makes ``saved`` unresumable under ``current``, in words."""
    for key in ("seed", "model", "data"):
        if saved.get(key) != current.get(key):
            return f"{key} is {_json(saved.get(key))} in the state, {_json(current.get(key))} in the experiment"
    names_saved = [r.get("name") for r in saved["runs"]]
    names_now = [r["name"] for r in current["runs"]]
    if names_saved != names_now:
        return f"the state holds runs {_json(names_saved)}, the experiment {_json(names_now)}"
    for i, (a, b) in enumerate(zip(saved["runs"], current["runs"])):
        for key in _RUN_KEYS:
            if a.get(key) != b.get(key):
                return f"runs[{i}].{key} is {_json(a.get(key))} in the state, {_json(b.get(key))} in the experiment"
    return None


def restore_session(session: "TrainingSession", state: dict) -> None:
    """Load ``state`` into a freshly built ``session`` (raises :class:`StateFileError` on mismatch).

    Every field is checked first (:class:`_StateCheck`); nothing is loaded from a state that
    does not fit, and the message says why.
    """
    try:
        _StateCheck(session, state).check()
    except _Unfit as reason:
        raise StateFileError(f"the state does not fit this experiment: {reason}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError, RecursionError,
            OverflowError) as error:  # a case the checks above do not name: still never a traceback
        raise StateFileError(f"the state does not fit this experiment ({type(error).__name__}: "
                             f"{str(error).splitlines()[0][:200] if str(error) else ''})") from None
    position = state["position"]
    try:
        for run, run_state in zip(session.runs, state["runs"]):
            run.load_state_dict(run_state, position)
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as error:
        raise StateFileError(f"the state does not fit this experiment ({type(error).__name__}: "
                             f"{str(error).splitlines()[0][:200] if str(error) else ''})") from None
    session.position = position
    if session.position >= session.total_steps:
        for run in session.runs:
            if run.status == RunStatus.RUNNING:
                run.status = RunStatus.FINISHED
    elif any(run.status == RunStatus.FINISHED for run in session.runs):
        for run in session.runs:
            if run.status == RunStatus.FINISHED:
                run.status = RunStatus.RUNNING
