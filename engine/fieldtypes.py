"""The small type system every optimizer and scheduler parameter is described with.

A field type checks a value read from TOML (or typed into a form), returns it normalised
(ints to floats where a float is meant, lists to tuples where torch wants a tuple) and raises
:class:`ExperimentError` with a message that says what is allowed. ``describe()`` is that
same "what is allowed" in words, for messages, ``describe`` in the CLI and GUI tooltips;
``kind`` tells a form which widget to draw.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from .errors import ExperimentError, join_path, show_value
from .expressions import compile_expression

__all__ = [
    "FieldType", "Number", "Boolean", "Choice", "NumberTuple", "NumberList", "PerGroup",
    "Expression", "SchedulerList", "Unavailable", "Text", "INTEGER_LIMIT", "shown",
]

# Every whole-number field counts something (epochs, steps, samples, iterations): when its
# declaration sets no upper (lower) bound, it takes at most INTEGER_LIMIT (at least its
# negative). Torch keeps such counts in Python ints, but they reach C ints, int64 arrays and
# float arithmetic on the way, and 10**30 scheduler steps cannot happen anyway: 2**31 - 1 steps
# at 10,000 steps a second is close to a week. ``describe()`` leaves it out (every count's tooltip
# would repeat it); a value beyond it is refused with the limit named.
INTEGER_LIMIT = 2**31 - 1


class FieldType:
    kind = "value"

    def check(self, value, path: str):  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def fail(self, value, path: str):
        raise ExperimentError(path, f"expected {self.describe()}, got {shown(value)}")


def _fmt(x: float) -> str:
    return repr(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


def shown(value) -> str:
    """:func:`show_value`, except that an integer too long to read is described, not written out
    (a 400-digit literal hides the message; beyond 4300 digits Python refuses to write it at all)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        sign = "a negative" if value < 0 else "an"
        if abs(value).bit_length() > 14_000:
            return f"{sign} integer of more than 4000 digits"
        return f"{sign} integer of {len(str(abs(value)))} digits"
    if isinstance(value, (list, tuple)):
        text = "[" + ", ".join(shown(v) for v in value[:20]) + (", ...]" if len(value) > 20 else "]")
        return text if len(text) <= 60 else text[:56] + " ...]"
    return show_value(value)


@dataclass(frozen=True)
class Number(FieldType):
    """A finite int or float with optional bounds (``gt``/``ge``/``lt``/``le``)."""

    integer: bool = False
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    @property
    def kind(self) -> str:
        return "int" if self.integer else "float"

    def bounds_text(self) -> str:
        parts = []
        for op, bound in ((">", self.gt), (">=", self.ge), ("<", self.lt), ("<=", self.le)):
            if bound is not None:
                parts.append(f"{op} {_fmt(bound)}")
        return " and ".join(parts)

    def describe(self) -> str:
        noun = "a whole number" if self.integer else "a number"
        bounds = self.bounds_text()
        return f"{noun} {bounds}" if bounds else noun

    def check(self, value, path: str):
        written = value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(written, path)
        if self.integer:
            if not isinstance(value, int):
                self.fail(written, path)
            self._check_limit(value, path)
        else:
            try:
                value = float(value)
            except OverflowError:  # an integer literal beyond the largest float (about 1.8e308)
                raise ExperimentError(path, f"expected {self.describe()}, got {shown(written)}, "
                                            "beyond the range of a float (about 1.8e308)") from None
            if not math.isfinite(value):
                self.fail(written, path)
        if ((self.gt is not None and not value > self.gt)
                or (self.ge is not None and not value >= self.ge)
                or (self.lt is not None and not value < self.lt)
                or (self.le is not None and not value <= self.le)):
            self.fail(written, path)
        return value

    def _check_limit(self, value: int, path: str) -> None:
        """The :data:`INTEGER_LIMIT` of a whole number whose declaration sets no bound on that side."""
        above = self.lt is None and self.le is None and value > INTEGER_LIMIT
        below = self.gt is None and self.ge is None and value < -INTEGER_LIMIT
        if above or below:
            limit = f"<= {INTEGER_LIMIT}" if above else f">= {-INTEGER_LIMIT}"
            bounds = self.bounds_text()
            raise ExperimentError(path, f"expected a whole number {bounds + ' and ' if bounds else ''}{limit}, "
                                        f"got {shown(value)}")


@dataclass(frozen=True)
class Boolean(FieldType):
    kind = "bool"

    def describe(self) -> str:
        return "true or false"

    def check(self, value, path: str):
        if not isinstance(value, bool):
            self.fail(value, path)
        return value


# Characters a name must not contain: controls (NUL, newline, escape: Cc), format characters
# (among them the bidi controls U+200E/F, U+202A-202E, U+2066-2069 that reorder what the
# terminal shows after them: Cf), line and paragraph separators (Zl, Zp), surrogates (Cs) and
# private or unassigned code points (Co, Cn). str.isprintable() also refuses the other
# separators but the space (e.g. U+00A0 NO-BREAK SPACE).
_UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def _unprintable(text: str) -> tuple[int, str] | None:
    if text.isprintable() and not any(unicodedata.category(c) in _UNPRINTABLE for c in text):
        return None
    for i, char in enumerate(text):
        if not char.isprintable() or unicodedata.category(char) in _UNPRINTABLE:
            return i, char
    return None  # pragma: no cover - the first test found one


@dataclass(frozen=True)
class Text(FieldType):
    """A string; ``printable`` ones (run names: they go into CSVs, legends and the terminal as
    they are) have no control, bidi or separator characters and at most ``max_length`` characters."""

    printable: bool = False
    max_length: int | None = None
    kind = "str"

    def describe(self) -> str:
        if not self.printable and self.max_length is None:
            return "a string"
        text = "a printable string (no control or bidi characters)" if self.printable else "a string"
        return text + (f", at most {self.max_length} characters" if self.max_length is not None else "")

    def check(self, value, path: str):
        if not isinstance(value, str):
            self.fail(value, path)
        if self.max_length is not None and len(value) > self.max_length:
            raise ExperimentError(path, f"expected {self.describe()}; this one is {len(value)} characters long")
        found = _unprintable(value) if self.printable else None
        if found is not None:
            i, char = found
            name = unicodedata.name(char, "a control character" if unicodedata.category(char) == "Cc"
                                    else "unnamed")
            raise ExperimentError(path, f"expected {self.describe()}; this one has U+{ord(char):04X} "
                                        f"({name}) at position {i}")
        return value


@dataclass(frozen=True)
class Choice(FieldType):
    options: tuple[str, ...] = ()
    kind = "choice"

    def describe(self) -> str:
        return "one of " + ", ".join(show_value(o) for o in self.options)

    def check(self, value, path: str):
        if not isinstance(value, str) or value not in self.options:
            self.fail(value, path)
        return value


@dataclass(frozen=True)
class NumberTuple(FieldType):
    """A fixed-length tuple such as Adam's ``betas``; torch wants a tuple, TOML gives a list."""

    items: tuple[Number, ...] = ()
    kind = "tuple"

    def describe(self) -> str:
        if len(set(self.items)) == 1:
            item = self.items[0]
            bounds = item.bounds_text()
            noun = "whole numbers" if item.integer else "numbers"
            return f"a list of {len(self.items)} {noun}" + (f", each {bounds}" if bounds else "")
        return "a list of " + ", ".join(i.describe() for i in self.items)

    def check(self, value, path: str):
        if not isinstance(value, (list, tuple)) or len(value) != len(self.items):
            self.fail(value, path)
        return tuple(item.check(v, join_path(path, i)) for i, (item, v) in enumerate(zip(self.items, value)))


@dataclass(frozen=True)
class NumberList(FieldType):
    """A list such as MultiStepLR's ``milestones``."""

    item: Number = Number(integer=True)
    min_length: int = 1
    increasing: bool = False
    kind = "list"

    def describe(self) -> str:
        noun = "whole numbers" if self.item.integer else "numbers"
        bounds = self.item.bounds_text()
        text = f"a list of {noun}" + (f" {bounds}" if bounds else "")
        if self.increasing:
            text += ", strictly increasing"
        if self.min_length > 1:
            text += f", at least {self.min_length}"
        return text

    def check(self, value, path: str):
        if not isinstance(value, (list, tuple)) or len(value) < self.min_length:
            self.fail(value, path)
        checked = [self.item.check(v, join_path(path, i)) for i, v in enumerate(value)]
        if self.increasing and any(b <= a for a, b in zip(checked, checked[1:])):
            self.fail(value, path)
        return checked


@dataclass(frozen=True)
class PerGroup(FieldType):
    """One value for every param group, or a list with one per group (torch's ``float | list[float]``).

    The list length is checked against the run's groups later, where they are known.
    """

    item: FieldType = Number()
    kind = "per_group"

    def describe(self) -> str:
        return f"{self.item.describe()}, or a list of them (one per param group)"

    def check(self, value, path: str):
        if isinstance(value, (list, tuple)):
            if not value:
                self.fail(value, path)
            return [self.item.check(v, join_path(path, i)) for i, v in enumerate(value)]
        try:
            return self.item.check(value, path)
        except ExperimentError as error:
            # "expected a number > 0, got ..." -> "expected a number > 0, or a list of them ..., got ..."
            item = f"expected {self.item.describe()}"
            if error.message.startswith(item):
                raise ExperimentError(path, f"expected {self.describe()}{error.message[len(item):]}") from None
            if error.message.startswith("expected "):
                self.fail(value, path)
            raise


@dataclass(frozen=True)
class Expression(FieldType):
    """A math expression in one variable (``"0.95 ** epoch"``), evaluated safely."""

    variable: str = "epoch"
    example: str = "0.95 ** epoch"
    kind = "expression"

    def describe(self) -> str:
        return f'a math expression in {self.variable}, e.g. "{self.example}"'

    def check(self, value, path: str):
        if not isinstance(value, str):
            self.fail(value, path)
        compile_expression(value, self.variable, path)
        return value


@dataclass(frozen=True)
class SchedulerList(FieldType):
    """The ``schedulers`` of SequentialLR / ChainedScheduler; parsed by the experiment parser."""

    kind = "schedulers"

    def describe(self) -> str:
        return "a list of scheduler tables, each with a type"

    def check(self, value, path: str):
        if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, dict) for v in value):
            self.fail(value, path)
        return value


@dataclass(frozen=True)
class Unavailable(FieldType):
    """A constructor option this lab cannot honour; setting it is refused with the reason."""

    reason: str = ""
    kind = "unavailable"

    def describe(self) -> str:
        return f"not available here: {self.reason}"

    def check(self, value, path: str):
        raise ExperimentError(path, self.describe())

