"""Small pieces of Python source: values, calls that wrap, comment text."""

from __future__ import annotations

__all__ = ["literal", "call", "comment_text", "WIDTH"]

WIDTH = 100  # the longest line the script is given where it can be wrapped


def literal(value) -> str:
    """``value`` (an option as the engine passes it to torch) as Python source."""
    if isinstance(value, tuple):
        return "(" + ", ".join(map(literal, value)) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(map(literal, value)) + "]"
    return repr(value)  # floats round-trip through repr; str, bool, int and None read as written


def call(head: str, args: list[str], indent: int = 4) -> list[str]:
    """``head(args)`` on one line, or its arguments filled onto the lines after it when too long
    (``indent``: where the lines will stand, for the width)."""
    width = WIDTH - indent
    line = f"{head}({', '.join(args)})"
    if len(line) <= width:
        return [line]
    lines, current = [f"{head}("], ""
    for i, arg in enumerate(args):
        text = arg + ("," if i < len(args) - 1 else ")")
        if current and len(current) + 1 + len(text) > width:
            lines.append(current)
            current = ""
        current = f"{current} {text}" if current else f"    {text}"
    return [*lines, current]


def comment_text(text: str) -> str:
    """``text`` fit for a ``#`` comment: on one line, without control characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())
