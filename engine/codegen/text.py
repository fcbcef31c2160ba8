"""Small pieces of Python source: values, calls that wrap, comment text."""

from __future__ import annotations

__all__ = ["literal", "call", "comment_text", "WIDTH"]

WIDTH = 100  # a line longer than this is wrapped, one argument a line


def literal(value) -> str:
    """``value`` (an option as the engine passes it to torch) as Python source."""
    if isinstance(value, tuple):
        return "(" + ", ".join(map(literal, value)) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(map(literal, value)) + "]"
    return repr(value)  # floats round-trip through repr; str, bool, int and None read as written


def call(head: str, args: list[str], indent: str = "") -> list[str]:
    """``head(args)`` on one line, or wrapped with one argument a line when it is too long."""
    line = f"{indent}{head}({', '.join(args)})"
    if len(line) <= WIDTH:
        return [line]
    return [f"{indent}{head}(", *(f"{indent}    {arg}," for arg in args), f"{indent})"]


def comment_text(text: str) -> str:
    """``text`` fit for a ``#`` comment: on one line, without control characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())
