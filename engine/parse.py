"""From a TOML-shaped dict to an :class:`~engine.config.Experiment`, or one clear error.

Everything a person can get wrong is caught here, before anything trains, as an
:class:`ExperimentError` naming the field path (``runs[1].scheduler.gamma``) and what is
allowed. Field types and ranges come from the registry; the checks that need the whole
experiment (group indices at the time of an edit, list lengths per group, milestones
against schedulers, OneCycleLR's step budget) follow the per-field ones
(:mod:`engine.crosscheck`).

This is validation only: no model, optimizer or scheduler is built, and nothing of the
training code is imported. What torch itself refuses (building each run with the real torch
classes, one step, each schedule stepped to its end) is the trial step, a separate call
that reports it the same way: ``trial_experiment(parse_experiment(raw))`` (:mod:`engine.trial`).
"""

from __future__ import annotations

import difflib
from typing import Any

from .config import DataConfig, Edit, Experiment, GroupConfig, ManualDecay, OptimizerConfig, RunConfig, SchedulerConfig
from .crosscheck import check_experiment
from .errors import MAX_NESTING, ExperimentError, join_path, show_value, too_deep
from .fields import DATA_FIELDS, EXPERIMENT_FIELDS, GROUP_MODULE, MANUAL_FIELDS, RUN_NAME
from .fieldtypes import Boolean, FieldType, Number
from .registry import REQUIRED, ClassSpec, optimizer_spec, scheduler_spec

__all__ = ["parse_experiment", "parse_run", "parse_scheduler", "parse_edit", "check_options"]



def _expect_table(raw, path: str) -> dict:
    if not isinstance(raw, dict):
        raise ExperimentError(path, f"expected a table, got {show_value(raw)}")
    return raw


def _refuse_unknown(raw: dict, allowed, path: str, owner: str) -> None:
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
            hint = f" (did you mean {show_value(close[0])}?)" if close else ""
            raise ExperimentError(join_path(path, str(key)),
                                  f"unknown key{hint}; {owner} accepts {', '.join(allowed)}")


def _field(raw: dict, spec, path: str, default=REQUIRED, owner: str = ""):
    """Read a field described by a :class:`ParamSpec` (its default unless ``default`` is given)."""
    return _read(raw, spec.name, spec.type, path, spec.default if default is REQUIRED else default, owner)


def _read(raw: dict, key: str, field_type: FieldType, path: str, default=REQUIRED, owner: str = ""):
    if key not in raw:
        if default is REQUIRED:
            who = f"{owner} needs it: " if owner else "expected "
            raise ExperimentError(join_path(path, key), f"missing; {who}{field_type.describe()}")
        return default
    return field_type.check(raw[key], join_path(path, key))


def check_options(raw: dict, spec: ClassSpec, path: str, *, skip=("type",), engine: bool = True) -> dict:
    """Check ``raw``'s keys against ``spec``'s parameters; return the checked options."""
    params = spec.params if engine else spec.torch_params
    _refuse_unknown(raw, [*skip, *params], path, spec.name)
    options = {}
    for name, param in params.items():
        if name in raw:
            options[name] = param.type.check(raw[name], join_path(path, name))
        elif param.required:
            raise ExperimentError(join_path(path, name),
                                  f"missing; {spec.name} needs it: {param.type.describe()}")
    return options


def parse_scheduler(raw, path: str, *, nested: bool = False) -> SchedulerConfig:
    raw = _expect_table(raw, path)
    if "type" not in raw:
        raise ExperimentError(join_path(path, "type"), "missing; name a scheduler, e.g. \"StepLR\"")
    spec = scheduler_spec(raw["type"], join_path(path, "type"))
    if nested:
        for name, param in spec.params.items():
            if param.engine and name in raw:
                raise ExperimentError(join_path(path, name), f"set {name} on the outer scheduler, "
                                      "which steps the ones nested in it")
    options = check_options(raw, spec, path, engine=not nested)
    interval = options.pop("interval", spec.default_interval)
    monitor = options.pop("monitor", "val_loss" if "monitor" in spec.params else None)
    step_order = options.pop("step_order", "optimizer_first")
    children: tuple[SchedulerConfig, ...] = ()
    if "schedulers" in options:
        child_path = join_path(path, "schedulers")
        children = tuple(parse_scheduler(c, join_path(child_path, i), nested=True)
                         for i, c in enumerate(options.pop("schedulers")))
        for i, child in enumerate(children):
            if not scheduler_spec(child.type).nestable:  # the registry's trait: steps with a metric
                raise ExperimentError(join_path(join_path(child_path, i), "type"),
                                      f"{child.type} cannot be nested in {spec.name}: it needs a loss "
                                      "at every step, which the outer scheduler does not pass on")
        if "milestones" in options and len(options["milestones"]) != len(children) - 1:
            raise ExperimentError(join_path(path, "milestones"),
                                  f"expected {len(children) - 1} milestone(s), one fewer than schedulers "
                                  f"({len(children)}), got {len(options['milestones'])}")
    return SchedulerConfig(type=spec.name, options=options, interval=interval, monitor=monitor,
                           children=children, step_order=step_order)


def _parse_optimizer(raw, path: str) -> OptimizerConfig:
    raw = _expect_table(raw, path)
    if "type" not in raw:
        raise ExperimentError(join_path(path, "type"), "missing; name an optimizer, e.g. \"Adam\"")
    spec = optimizer_spec(raw["type"], join_path(path, "type"))
    return OptimizerConfig(type=spec.name, options=check_options(raw, spec, path))


def _parse_group(raw, path: str, spec: ClassSpec) -> GroupConfig:
    raw = _expect_table(raw, path)
    module = _read(raw, "module", GROUP_MODULE.type, path)
    options = check_options(raw, spec, path, skip=("module",))
    return GroupConfig(module=module, options=options)


EDIT_KINDS = ("float", "int", "tuple")


def _parse_edit(raw, path: str, spec: ClassSpec) -> Edit:
    raw = _expect_table(raw, path)
    settable = {n: p for n, p in spec.torch_params.items() if p.type.kind in EDIT_KINDS}
    _refuse_unknown(raw, ["epoch", "step", "group", *settable, "add_group", "rebase"], path, "an edit")
    if ("epoch" in raw) == ("step" in raw):
        raise ExperimentError(path, "an edit needs exactly one of epoch or step (when it applies)")
    epoch = _read(raw, "epoch", Number(integer=True, ge=0), path, None)
    step = _read(raw, "step", Number(integer=True, ge=0), path, None)
    group = _read(raw, "group", Number(integer=True, ge=0), path, None)
    options = {n: p.type.check(raw[n], join_path(path, n)) for n, p in settable.items() if n in raw}
    add_group = _parse_group(raw["add_group"], join_path(path, "add_group"), spec) if "add_group" in raw else None
    rebase = _read(raw, "rebase", Boolean(), path, False)
    if add_group is not None and (options or group is not None or rebase):
        raise ExperimentError(path, "an add_group edit only adds a group; put its options inside add_group")
    if add_group is None and not options:
        raise ExperimentError(path, f"an edit needs something to set: lr (or another option of "
                                    f"{spec.name}: {', '.join(settable)}) or add_group")
    if rebase and "lr" not in options:
        raise ExperimentError(join_path(path, "rebase"), "rebase only applies to an lr edit")
    return Edit(epoch=epoch, step=step, group=group, options=options, add_group=add_group, rebase=rebase)


def parse_edit(raw, path: str, optimizer_type: str) -> Edit:
    """One edit table for a run whose optimizer is ``optimizer_type`` (also used for GUI commands)."""
    return _parse_edit(raw, path, optimizer_spec(optimizer_type))


def parse_run(raw, path: str, index: int = 0) -> RunConfig:
    raw = _expect_table(raw, path)
    _refuse_unknown(raw, ["name", "optimizer", "groups", "scheduler", "manual", "edits"], path, "a run")
    name = _field(raw, RUN_NAME, path, f"run {index + 1}").strip()
    if not name:
        raise ExperimentError(join_path(path, "name"), "expected a non-empty name")
    if "optimizer" not in raw:
        raise ExperimentError(join_path(path, "optimizer"),
                              'missing; e.g. optimizer = { type = "Adam", lr = 0.1 }')
    optimizer = _parse_optimizer(raw["optimizer"], join_path(path, "optimizer"))
    spec = optimizer_spec(optimizer.type)
    groups = None
    if "groups" in raw:
        groups_path = join_path(path, "groups")
        if not isinstance(raw["groups"], list):
            raise ExperimentError(groups_path, f"expected a list of tables such as "
                                  f'{{ module = "layer", lr = 0.1 }}, got {show_value(raw["groups"])}')
        if not raw["groups"]:
            raise ExperimentError(groups_path, 'no param group: list at least one module to train '
                                  '(e.g. { module = "layer", lr = 0.1 }), or leave groups out to train '
                                  'every parameter')
        groups = tuple(_parse_group(g, join_path(groups_path, i), spec) for i, g in enumerate(raw["groups"]))
    scheduler = parse_scheduler(raw["scheduler"], join_path(path, "scheduler")) if "scheduler" in raw else None
    manual = None
    if "manual" in raw:
        manual_path = join_path(path, "manual")
        table = _expect_table(raw["manual"], manual_path)
        _refuse_unknown(table, list(MANUAL_FIELDS), manual_path, "manual")
        every = _field(table, MANUAL_FIELDS["every"], manual_path, owner="manual decay")
        factor = _field(table, MANUAL_FIELDS["factor"], manual_path, owner="manual decay")
        start = _field(table, MANUAL_FIELDS["start"], manual_path, every)
        manual = ManualDecay(every=every, factor=factor, start=start)
    edits: tuple[Edit, ...] = ()
    if "edits" in raw:
        edits_path = join_path(path, "edits")
        if not isinstance(raw["edits"], list):
            raise ExperimentError(edits_path, f"expected a list of tables, got {show_value(raw['edits'])}")
        edits = tuple(_parse_edit(e, join_path(edits_path, i), spec) for i, e in enumerate(raw["edits"]))
    return RunConfig(name=name, optimizer=optimizer, groups=groups, scheduler=scheduler, manual=manual,
                     edits=edits)


def _parse_data(raw, path: str) -> DataConfig:
    raw = _expect_table(raw, path)
    _refuse_unknown(raw, list(DATA_FIELDS), path, "data")
    data = DataConfig(**{name: _field(raw, spec, path) for name, spec in DATA_FIELDS.items()})
    if data.n_train < 1:
        raise ExperimentError(join_path(path, "val_fraction"),
                              f"leaves no training samples out of {data.samples}; use a smaller fraction")
    return data


def parse_experiment(raw: Any, *, quick: bool = False) -> Experiment:
    """Validate a TOML-shaped dict; return the :class:`Experiment` or raise :class:`ExperimentError`.

    Nothing is built with torch (see the module docstring for the trial step). ``quick=True``
    evaluates expressions at a sample of their values only (for the checks while a person
    types: milliseconds; the engine then runs the full ones,
    :func:`~engine.crosscheck.sweep_expressions`, and the trial step).
    """
    raw = _expect_table(raw, "")
    deep = too_deep(raw)
    if deep is not None:  # before anything walks it (recursively: parse_scheduler, show_value)
        raise ExperimentError(deep, f"nested too deeply (lists or tables more than {MAX_NESTING} levels within "
                                    "each other); an experiment needs about ten")
    _refuse_unknown(raw, [*EXPERIMENT_FIELDS, "data", "runs"], "", "an experiment")
    title, description, seed, epochs, model = (_field(raw, EXPERIMENT_FIELDS[k], "")
                                               for k in ("title", "description", "seed", "epochs", "model"))
    data = _parse_data(raw.get("data", {}), "data")
    runs_raw = raw.get("runs")
    if not isinstance(runs_raw, list) or not runs_raw:
        raise ExperimentError("runs", "expected at least one [[runs]] table with an optimizer, e.g. "
                                      "runs = [ { optimizer = { type = \"Adam\", lr = 0.1 } } ]")
    runs = tuple(parse_run(r, join_path("runs", i), i) for i, r in enumerate(runs_raw))
    seen: dict[str, int] = {}
    for i, run in enumerate(runs):
        if run.name in seen:
            raise ExperimentError(join_path(join_path("runs", i), "name"),
                                  f"{show_value(run.name)} is already the name of runs[{seen[run.name]}]; "
                                  "run names must be unique")
        seen[run.name] = i
    experiment = Experiment(runs=runs, seed=seed, epochs=epochs, model=model, data=data, description=description,
                            title=title)
    check_experiment(experiment, quick=quick)
    return experiment
