"""Experiment files: TOML in, TOML out, and every way a file can be wrong as one message."""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w

from .config import Experiment
from .errors import ExperimentError
from .parse import parse_experiment

__all__ = ["load_experiment", "loads_experiment", "dumps_experiment", "save_experiment", "inline_toml"]


def loads_experiment(text: str, *, source: str = "experiment", trial: bool = True) -> Experiment:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ExperimentError("", f"{source}: not valid TOML ({error})") from None
    return parse_experiment(raw, trial=trial)


def load_experiment(path: str | Path, *, trial: bool = True) -> Experiment:
    """Read and validate an experiment file; :class:`ExperimentError` for any problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ExperimentError("", f"{path}: no such file") from None
    except IsADirectoryError:
        raise ExperimentError("", f"{path}: is a directory, not an experiment file") from None
    except OSError as error:
        raise ExperimentError("", f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ExperimentError("", f"{path}: not a text file (TOML must be UTF-8)") from None
    return loads_experiment(text, source=str(path), trial=trial)


def dumps_experiment(experiment: Experiment) -> str:
    return tomli_w.dumps(experiment.to_dict())


def inline_toml(value) -> str:
    """A value as TOML writes it inline: ``{ epoch = 30, group = 0, lr = 0.05 }``."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {inline_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(inline_toml(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else tomli_w.dumps({key: 0}).split("=")[0].strip()


def save_experiment(experiment: Experiment, path: str | Path) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(dumps_experiment(experiment), encoding="utf-8")
    tmp.replace(path)
