"""The open experiment, without widgets: what is in it, where it lives, whether it is saved.

The window's forms edit it, training adds the edits a person made mid-run (merged by the
engine's :func:`~engine.session.raw_with_edits`, the same rule a session applies to its own
experiment), and saving writes it through the engine's file functions. Views listen with
:meth:`subscribe`; nothing here imports Qt, so it is tested without a window.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

from engine.files import read_source, write_raw
from engine.session import raw_with_edits

__all__ = ["ExperimentDocument", "default_experiment", "NEW_RUN"]

NEW_RUN = {"optimizer": {"type": "Adam", "lr": 0.1}}

# What changed, for listeners: "loaded" (a new document), "edited" (the form), "merged" (edits
# recorded while training came in), "saved" (path, name or dirty flag).
LOADED, EDITED, MERGED, SAVED = "loaded", "edited", "merged", "saved"


def default_experiment() -> dict:
    return {"epochs": 50, "runs": [{"name": "Adam", **copy.deepcopy(NEW_RUN)}]}


class ExperimentDocument:
    def __init__(self):
        self.raw: dict = default_experiment()
        self.source: str | None = None  # the text of the file it came from (its layout is kept)
        self.path: Path | None = None
        self.name = "untitled"
        self.dirty = False
        self._listeners: list[Callable[[str], None]] = []

    def subscribe(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def _changed(self, what: str) -> None:
        for listener in list(self._listeners):
            listener(what)

    @property
    def title(self) -> str:
        return f"{'*' if self.dirty else ''}{self.name} - lrlab, a learning-rate laboratory"

    @property
    def run_names(self) -> list[str]:
        runs = self.raw.get("runs") if isinstance(self.raw, dict) else None
        return [str(r.get("name", f"run {i + 1}")) if isinstance(r, dict) else f"run {i + 1}"
                for i, r in enumerate(runs if isinstance(runs, list) else [])]

    def load(self, raw: dict, path: Path | None = None, name: str | None = None, source: str | None = None) -> None:
        """``source``: the text ``raw`` was read from; saving keeps its comments and layout."""
        self.raw, self.source = raw, source
        self.path = Path(path) if path is not None else None
        self.name = name or (self.path.name if self.path else "untitled")
        self.dirty = False
        self._changed(LOADED)

    def open(self, path: str | Path) -> None:
        """Read ``path`` (ExperimentError naming the file when it cannot be read as TOML)."""
        path = Path(path)
        raw, source = read_source(path)
        self.load(raw, path, path.name, source)

    def edit(self, raw: dict) -> None:
        """The form changed: this is the experiment now (checked or not)."""
        self.raw = raw
        self.dirty = True
        self._changed(EDITED)

    def merge_edits(self, recorded) -> bool:
        """Add the edits a session recorded (per run: ``(name, edit tables)``); True when any was new."""
        merged, changed = raw_with_edits(self.raw, recorded)
        if changed:
            self.raw = merged
            self.dirty = True
            self._changed(MERGED)
        return changed

    def save(self, path: str | Path | None = None) -> Path:
        """Write to ``path`` (or where it came from) atomically; OSError when it cannot be written."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("no path to save to")
        self.source = write_raw(self.raw, target, self.source)
        self.path, self.name, self.dirty = target, target.name, False
        self._changed(SAVED)
        return target
