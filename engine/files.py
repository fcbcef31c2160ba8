"""Experiment files: TOML in, TOML out, and every way a file can be wrong as one message.

Reading and writing need no torch (the window reads a file before torch has loaded, to
refuse a bad one at once); only :func:`load_experiment` and :func:`loads_experiment`, which
check it, import the engine's parser (and through the registry, torch). They are validation
only, like :func:`~engine.parse.parse_experiment`: nothing is built or trained. Torch's own
verdict on the runs is the separate trial step, :func:`engine.trial.trial_experiment`.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path

import tomli_w

from .config import Experiment
from .errors import MAX_NESTING, ExperimentError, too_deep

__all__ = ["load_experiment", "loads_experiment", "read_raw", "read_source", "dumps_experiment", "save_experiment",
           "inline_toml", "write_raw", "write_atomically", "replace_atomically", "keep_layout", "too_deep",
           "MAX_FILE_BYTES", "MAX_NESTING"]

# An experiment file is a few kilobytes (the presets are under 2 KB); a file above this is
# not one, and reading it whole would only cost memory.
MAX_FILE_BYTES = 10 * 1024 * 1024


def _toml(text: str, source: str) -> dict:
    too_deep_text = (f"{source}: nested too deeply (lists or tables more than {MAX_NESTING} levels "
                     "within each other); an experiment needs about ten")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ExperimentError("", f"{source}: not valid TOML ({error})") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ExperimentError("", too_deep_text) from None
    except ValueError as error:  # an integer literal of more than 4300 digits
        reason = ("an integer of more than 4300 digits" if "digits" in str(error)
                  else str(error).splitlines()[0] if str(error) else type(error).__name__)
        raise ExperimentError("", f"{source}: not valid TOML ({reason})") from None
    if too_deep(data) is not None:  # dotted keys and table headers nest without recursing
        raise ExperimentError("", too_deep_text)
    return data


def loads_experiment(text: str, *, source: str = "experiment") -> Experiment:
    """Validate an experiment given as TOML text (:func:`load_experiment`)."""
    from .parse import parse_experiment  # here, not at the top: the parser imports torch (the registry)

    return parse_experiment(_toml(text, source))


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file; :class:`ExperimentError` for any problem. Nothing is
    built with torch: ``trial_experiment(load_experiment(path))`` (engine.trial) adds its verdict."""
    from .parse import parse_experiment  # here, not at the top: the parser imports torch (the registry)

    return parse_experiment(read_raw(path))


def read_raw(path: str | Path) -> dict:
    """An experiment file as TOML gives it, not yet checked (the window opens a file that does
    not validate, to show what is wrong at its fields); :class:`ExperimentError` naming the file
    when it cannot be read as TOML at all.

    Only a regular file of at most :data:`MAX_FILE_BYTES` is read: a device (``/dev/zero``)
    would be read until memory runs out, and a named pipe would block until someone writes to it.
    """
    return read_source(path)[0]


def read_source(path: str | Path) -> tuple[dict, str]:
    """:func:`read_raw`, and the file's text (which :func:`write_raw` keeps the layout of)."""
    path = Path(path)
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ExperimentError("", f"{path}: not a text file (TOML must be UTF-8)") from None
    return _toml(text, str(path)), text


def _refuse_kind(path: Path, mode: int, size: int) -> None:
    if stat.S_ISDIR(mode):
        raise ExperimentError("", f"{path}: is a directory, not an experiment file")
    if not stat.S_ISREG(mode):
        kind = ("a named pipe" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise ExperimentError("", f"{path}: is {kind}, not an experiment file (experiment files are TOML text "
                                  "files)")
    if size > MAX_FILE_BYTES:
        raise ExperimentError("", f"{path}: is {size / 2**20:.1f} MB; an experiment file is at most "
                                  f"{MAX_FILE_BYTES // 2**20} MB (they are a few KB)")


def _read_bytes(path: Path) -> bytes:
    def cannot(error: OSError | ValueError) -> ExperimentError:
        if isinstance(error, FileNotFoundError):
            return ExperimentError("", f"{path}: no such file")
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return ExperimentError("", f"{path}: cannot be read ({reason})")

    try:
        info = os.stat(path)  # before opening: opening a device can have effects of its own
    except (OSError, ValueError) as error:  # ValueError: a NUL in the path
        raise cannot(error) from None
    _refuse_kind(path, info.st_mode, info.st_size)
    try:
        # O_NONBLOCK: should the path have become a pipe since, opening it does not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except IsADirectoryError:
        raise ExperimentError("", f"{path}: is a directory, not an experiment file") from None
    except (OSError, ValueError) as error:
        raise cannot(error) from None
    try:
        info = os.fstat(fd)  # what was opened, whatever the path named a moment ago
        _refuse_kind(path, info.st_mode, info.st_size)
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:  # a file growing as it is read stops one byte past the limit
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise cannot(error) from None
    finally:
        os.close(fd)
    if size > MAX_FILE_BYTES:  # it grew since fstat
        raise ExperimentError("", f"{path}: is more than {MAX_FILE_BYTES // 2**20} MB; an experiment file is "
                                  "at most that (they are a few KB)")
    return b"".join(chunks)


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


def replace_atomically(path: str | Path, write: Callable[[Path], None]) -> None:
    """The one way this app writes a file: ``write(tmp)`` writes it whole to a temporary file of
    this process beside ``path``, which is then renamed into place. A crash, a full disk or a
    second process saving to the same path leaves the old file (or none), never half a file,
    and no partial file stays behind. A path that exists and is not a regular file (a device
    such as /dev/null, a FIFO, a directory) is refused, never replaced. OSError when it cannot
    be written (a writer's RuntimeError, e.g. torch's for a full disk, is said as one)."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_file():
        raise OSError(f"cannot write {path}: it exists and is not a regular file")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        write(tmp)
        tmp.replace(path)
    except RuntimeError as error:
        tmp.unlink(missing_ok=True)
        raise OSError(f"cannot write {path}: {str(error).strip().splitlines()[0] if str(error).strip() else error}") \
            from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (:func:`replace_atomically`)."""
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as file:
            file.write(text)

    replace_atomically(path, write)


def save_experiment(experiment: Experiment, path: str | Path) -> None:
    write_atomically(path, dumps_experiment(experiment))


def write_raw(raw: dict, path: str | Path, source: str | None = None) -> str:
    """An experiment as the window's form holds it (checked or not), as TOML, atomically; with
    ``source`` (the text it was read from) in that text's layout (:func:`keep_layout`). The
    text written is returned."""
    text = keep_layout(source, raw) if source is not None else None
    text = tomli_w.dumps(raw) if text is None else text
    write_atomically(path, text)
    return text


def keep_layout(source: str, raw: dict) -> str | None:
    """``raw`` written into the layout of ``source``: its comments, inline tables, key order and
    blank lines stay, and only what changed is rewritten (a preset saved unchanged is the
    preset as written). None when the result would not read back as exactly ``raw`` (then the
    caller writes plain TOML)."""
    import tomlkit

    try:
        document = tomlkit.parse(source)
        _merge(document, raw)
        text = tomlkit.dumps(document)
        return text if _same(tomllib.loads(text), raw) else None
    except (tomlkit.exceptions.TOMLKitError, tomllib.TOMLDecodeError, TypeError, ValueError, KeyError):
        return None


def _merge(table, new: dict) -> None:
    for key in [key for key in table if key not in new]:
        del table[key]
    for key, value in new.items():
        old = table.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            _merge(old, value)
        elif (isinstance(value, list) and isinstance(old, list) and len(old) == len(value)
              and all(isinstance(v, dict) and isinstance(o, dict) for v, o in zip(value, old))):
            for o, v in zip(old, value):  # [[runs]] tables, a list of inline tables: each in place
                _merge(o, v)
        elif old is None or not _same(old.unwrap() if hasattr(old, "unwrap") else old, value):
            table[key] = value


def _same(a, b) -> bool:
    """Equal with the same types all the way down (1 and 1.0 are different TOML)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b
