"""Reading the installed torch: constructor signatures to field types, docstrings to help.

Nothing here knows a particular optimizer or scheduler; what cannot be inferred from the
annotation and default (ranges, choices, expressions) comes from ``overrides.py``. A
parameter whose annotation maps to no field type and has no override raises at import,
so a torch upgrade that adds one fails the test suite instead of silently losing a field.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from ..fieldtypes import Boolean, FieldType, Number, NumberList, NumberTuple, PerGroup, SchedulerList
from .spec import REQUIRED, ClassSpec, ParamSpec

__all__ = ["field_type_from_annotation", "parse_arg_docs", "build_class_spec", "UnmappedParameter"]


class UnmappedParameter(TypeError):
    """A constructor parameter the registry cannot describe (needs an override)."""


def _annotation_text(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    for prefix in ("torch.", "typing.", "collections.abc.", "optim.", "lr_scheduler."):
        text = text.replace(prefix, "")
    return text.replace(" ", "").replace('"', "'")


def field_type_from_annotation(annotation: Any, default: Any) -> tuple[FieldType, bool] | None:
    """Map ``(annotation, default)`` to ``(field type, optional)``; ``None`` if unknown."""
    text = _annotation_text(annotation) if annotation is not inspect.Parameter.empty else ""
    parts = set(text.split("|")) if text else set()
    optional = "None" in parts or "Optional" in text
    parts.discard("None")
    parts.discard("Tensor")
    if parts == {"bool"} or (not parts and isinstance(default, bool)):
        return Boolean(), optional
    if text.startswith("Literal["):
        from ..fieldtypes import Choice

        return Choice(tuple(re.findall(r"'([^']*)'", text))), optional
    if parts in ({"float", "list[float]"},):
        return PerGroup(Number()), optional
    if parts & {"float"} or (not parts and isinstance(default, float)):
        return Number(), optional
    if parts == {"int"} or (not parts and isinstance(default, int)):
        return Number(integer=True), optional
    if text.startswith("tuple[") and isinstance(default, tuple):
        return NumberTuple(tuple(Number() for _ in default)), optional
    if parts & {"Iterable[int]", "list[int]"}:
        return NumberList(Number(integer=True)), optional
    if parts & {"list[LRScheduler]", "Sequence[LRScheduler]"}:
        return SchedulerList(), optional
    return None


_ENTRY = re.compile(r"^(\s*)(\*{0,2}\w+)\s*\(([^)]*)\)\s*:\s*(.*)$")


def parse_arg_docs(doc: str | None) -> dict[str, str]:
    """The ``Args:`` section of a torch docstring as ``{name: one-paragraph text}``."""
    if not doc:
        return {}
    lines = inspect.cleandoc(doc).splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() in ("Args:", "Arguments:"))
    except StopIteration:
        return {}
    docs: dict[str, list[str]] = {}
    current: str | None = None
    indent = None
    for line in lines[start + 1:]:
        if not line.strip():
            if current is not None and indent is not None:
                continue
            break
        match = _ENTRY.match(line)
        if match and (indent is None or len(match.group(1)) == indent):
            indent = len(match.group(1))
            current = match.group(2).lstrip("*")
            docs[current] = [match.group(4).strip()]
        elif current is not None and indent is not None and len(line) - len(line.lstrip()) > indent:
            docs[current].append(line.strip())
        else:
            break
    return {name: " ".join(" ".join(parts).split()) for name, parts in docs.items()}


def _summary(doc: str | None) -> str:
    if not doc:
        return ""
    text = inspect.cleandoc(doc).strip().split("\n\n")[0]
    return " ".join(text.split())


def build_class_spec(cls: type, *, bound: set[str], overrides: dict[str, Any],
                     engine_params: dict[str, ParamSpec] | None = None, summary: str | None = None,
                     **spec_fields) -> ClassSpec:
    """A :class:`ClassSpec` for ``cls`` from its signature, its docstring and ``overrides``.

    ``summary`` replaces torch's first docstring paragraph as the class's description (which
    stays in ``torch_summary``).

    ``overrides`` maps parameter names to a :class:`FieldType` (replacing the inferred one)
    or to a dict with ``type``, ``default`` and/or ``trial_limit``. Naming a parameter the
    class does not have, or another key, is an error: an override must never silently stop
    applying.
    """
    signature = inspect.signature(cls.__init__)
    arg_docs = parse_arg_docs(cls.__doc__) or parse_arg_docs(cls.__init__.__doc__)
    names = [n for n in signature.parameters if n != "self"]
    unknown = set(overrides) - set(names)
    if unknown:
        raise UnmappedParameter(f"override for {cls.__name__} names unknown parameter(s) {sorted(unknown)}")
    params: dict[str, ParamSpec] = {}
    for name in names:
        parameter = signature.parameters[name]
        if name in bound or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        default = REQUIRED if parameter.default is inspect.Parameter.empty else parameter.default
        override = overrides.get(name)
        trial_limit = None
        if isinstance(override, dict):
            if set(override) - {"type", "default", "trial_limit"}:
                raise UnmappedParameter(f"override for {cls.__name__}.{name} has unknown key(s) "
                                        f"{sorted(set(override) - {'type', 'default', 'trial_limit'})}")
            default = override.get("default", default)
            trial_limit = override.get("trial_limit")
            override = override.get("type")
        if override is not None:
            field_type = override
        else:
            mapped = field_type_from_annotation(parameter.annotation, parameter.default)
            if mapped is None:
                raise UnmappedParameter(
                    f"{cls.__name__}.{name}: annotation {parameter.annotation!r} maps to no field type; "
                    "add an override")
            field_type, optional = mapped
            if optional and default is REQUIRED:
                default = None
        params[name] = ParamSpec(name, field_type, default, arg_docs.get(name, ""), trial_limit=trial_limit)
    for name, param in (engine_params or {}).items():
        params[name] = param
    torch_summary = _summary(cls.__doc__)
    return ClassSpec(name=cls.__name__, cls=cls, params=params, summary=summary or torch_summary,
                     torch_summary=torch_summary, **spec_fields)
