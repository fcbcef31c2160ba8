"""Training-state files: torch's own ``state_dict()`` of every model, optimizer and scheduler.

A file holds, per run, the model, optimizer and scheduler state dicts, the batch-order
generator's state, the current epoch's permutation and loss sum, and the results so far,
plus the experiment it came from. Resuming rebuilds each run from the experiment, replays
the structure of param groups added since (``add_param_group``), then loads the state
dicts, so a resumed run continues bit for bit where the saved one stopped.

Files are read with ``torch.load(weights_only=True)``: no code runs while loading, and
anything that is not one of our files is refused with a message, never a traceback.
"""

from __future__ import annotations

import json
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .errors import StateFileError

if TYPE_CHECKING:
    from .session import TrainingSession

__all__ = ["save_state", "load_state", "restore_session", "FORMAT", "VERSION"]

FORMAT = "lrlab-training-state"
VERSION = 1

# What must match between the saved experiment and the one resumed (epochs may grow,
# and edits may be added for the part still to come).
_RUN_KEYS = ("name", "optimizer", "groups", "scheduler", "manual")


def session_state(session: "TrainingSession") -> dict:
    return {
        "format": FORMAT, "version": VERSION, "torch": str(torch.__version__),
        "experiment": json.dumps(session.experiment.to_dict()),
        "position": session.position,
        "runs": [run.state_dict() for run in session.runs],
    }


def save_state(session: "TrainingSession", path: str | Path) -> None:
    """Write the session's state to ``path`` (atomically: a crash never leaves half a file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    torch.save(session_state(session), tmp)
    tmp.replace(path)


def load_state(path: str | Path) -> dict:
    """Read a state file; :class:`StateFileError` with a plain reason if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise StateFileError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": we refuse it anyway
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError, TypeError,
            AttributeError, ImportError, IndexError, KeyError, OSError) as error:
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
    return state


def _compare(saved: dict, current: dict) -> str | None:
    """The first difference that makes ``saved`` unresumable under ``current``, in words."""
    for key in ("seed", "model", "data"):
        if saved.get(key) != current.get(key):
            return f"{key} is {json.dumps(saved.get(key))} in the state, {json.dumps(current.get(key))} in the experiment"
    names_saved = [r["name"] for r in saved["runs"]]
    names_now = [r["name"] for r in current["runs"]]
    if names_saved != names_now:
        return f"the state holds runs {names_saved}, the experiment {names_now}"
    for i, (a, b) in enumerate(zip(saved["runs"], current["runs"])):
        for key in _RUN_KEYS:
            if a.get(key) != b.get(key):
                return (f"runs[{i}].{key} is {json.dumps(a.get(key))} in the state, "
                        f"{json.dumps(b.get(key))} in the experiment")
    return None


def restore_session(session: "TrainingSession", state: dict) -> None:
    """Load ``state`` into a freshly built ``session`` (raises :class:`StateFileError` on mismatch)."""
    try:
        saved = json.loads(state["experiment"])
        difference = _compare(saved, session.experiment.to_dict())
        if difference:
            raise StateFileError(f"the state was saved from a different experiment: {difference}")
        position = int(state["position"])
        if position > session.total_steps:
            raise StateFileError(
                f"the state is at step {position} (epoch {position // session.steps_per_epoch}), past this "
                f"experiment's end (epochs = {session.experiment.epochs}); raise epochs to continue")
        for run, run_state in zip(session.runs, state["runs"]):
            run.load_state_dict(run_state, position)
        session.position = position
        if session.position >= session.total_steps:
            for run in session.runs:
                if run.status == "running":
                    run.status = "finished"
        elif any(run.status == "finished" for run in session.runs):
            for run in session.runs:
                if run.status == "finished":
                    run.status = "running"
    except StateFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as error:
        raise StateFileError(f"the state file does not fit this experiment ({type(error).__name__}: "
                             f"{str(error).splitlines()[0] if str(error) else ''})") from None
