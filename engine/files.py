"""Experiment files: TOML in, TOML out, and every way a file can be wrong as one message.

Reading and writing need no torch (the window reads a file before torch has loaded, to
refuse a bad one at once); only :func:`load_experiment` and :func:`loads_experiment`, which
check it, import the engine's parser.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w

from .config import Experiment
from .errors import ExperimentError

__all__ = ["load_experiment", "loads_experiment", "read_raw", "dumps_experiment", "save_experiment",
           "inline_toml", "write_raw", "write_atomically"]


def _toml(text: str, source: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ExperimentError("", f"{source}: not valid TOML ({error})") from None


def loads_experiment(text: str, *, source: str = "experiment", trial: bool = True) -> Experiment:
    from .parse import parse_experiment

    return parse_experiment(_toml(text, source), trial=trial)


def load_experiment(path: str | Path, *, trial: bool = True) -> Experiment:
    """Read and validate an experiment file; :class:`ExperimentError` for any problem."""
    from .parse import parse_experiment

    return parse_experiment(read_raw(path), trial=trial)


def read_raw(path: str | Path) -> dict:
    """An experiment file as TOML gives it, not yet checked (the window opens a file that does
    not validate, to show what is wrong at its fields); :class:`ExperimentError` naming the file
    when it cannot be read as TOML at all."""
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
    return _toml(text, str(path))


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


def write_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory, renamed into
    place: a crash or a full disk leaves the old file (or none), never half a file. OSError
    when it cannot be written (no partial file is left behind)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_experiment(experiment: Experiment, path: str | Path) -> None:
    write_atomically(path, dumps_experiment(experiment))


def write_raw(raw: dict, path: str | Path) -> None:
    """An experiment as the window's form holds it (checked or not), as TOML, atomically."""
    write_atomically(path, tomli_w.dumps(raw))
