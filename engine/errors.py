"""Errors a user can cause, with the field path that caused them.

Every message the CLI (exit code 2) and later the GUI (at the field) show comes from an
:class:`ExperimentError`: ``path`` names the field (``runs[1].scheduler.gamma``) and
``message`` says what is allowed, so a person can fix the file without reading a traceback.
"""

from __future__ import annotations

import json
import math

__all__ = ["ExperimentError", "StateFileError", "show_value", "join_path", "too_deep", "MAX_NESTING"]

# Lists and tables within each other: an experiment needs about ten (runs, a run, its scheduler,
# the schedulers nested in it, a per-group list). Deeper data is refused before anything walks
# it, since walking it recursively would hit Python's recursion limit.
MAX_NESTING = 32


class ExperimentError(ValueError):
    """An experiment (or a command) that cannot run, and which field is at fault."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message

    def under(self, prefix: str) -> "ExperimentError":
        """The same error, with its path placed under ``prefix``."""
        return ExperimentError(join_path(prefix, self.path), self.message)


class StateFileError(ValueError):
    """A training-state file that cannot be resumed (corrupt, foreign or mismatched)."""


def join_path(prefix: str, key: str | int) -> str:
    """``join_path("runs", 1) == "runs[1]"``, ``join_path("runs[1]", "gamma") == "runs[1].gamma"``."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if not prefix:
        return key
    if not key:
        return prefix
    if key.startswith("["):
        return prefix + key
    return f"{prefix}.{key}"


def show_value(value) -> str:
    """A value as a person wrote it in TOML: strings quoted, ``true``/``false``, lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + '..."'
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (list, tuple)):
        text = "[" + ", ".join(show_value(v) for v in value) + "]"
        return text if len(text) <= 60 else text[:56] + " ...]"
    if isinstance(value, dict):
        return "a table"
    if value is None:
        return "nothing"
    return repr(value)


def too_deep(raw) -> str | None:
    """The path of the first list or table nested more than :data:`MAX_NESTING` deep in ``raw``
    (the root counts as the first), or None. Iterative, so any depth is safe to ask about."""
    stack = [(raw, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if not isinstance(node, (dict, list, tuple)):
            continue
        if depth > MAX_NESTING:
            return path
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(child, (dict, list, tuple)):
                stack.append((child, join_path(path, key if isinstance(key, int) else str(key)), depth + 1))
    return None
