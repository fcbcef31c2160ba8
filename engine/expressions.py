"""Safe math expressions for ``lr_lambda`` (LambdaLR, MultiplicativeLR) and CyclicLR's ``scale_fn``.

An experiment file is data, and may come from anyone: it must never run code. Expressions are
parsed as a single Python *expression* (no statements) and evaluated by simpleeval with
a whitelist: arithmetic, comparisons, ``a if cond else b``, a few math functions, the
constants ``pi`` and ``e``, and one variable. There is no attribute access, no subscripts,
no strings, no imports; powers are computed in floating point, so ``10 ** 10 ** 10`` is
refused as too large instead of building a gigantic integer.

The callables handed to torch are plain closures on purpose: ``LambdaLR.state_dict()``
stores callable *objects* by their ``__dict__`` but plain functions as ``None``, which
keeps training-state files loadable with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

import simpleeval

from .errors import ExperimentError, show_value

__all__ = ["compile_expression", "ExpressionFailure", "FUNCTIONS", "MAX_LENGTH"]

MAX_LENGTH = 300


class ExpressionFailure(ArithmeticError):
    """An expression that parsed but could not be evaluated at some value of its variable."""


def _power(base, exponent):
    try:
        result = float(base) ** float(exponent)
    except OverflowError:
        raise ExpressionFailure(f"{show_value(base)} ** {show_value(exponent)} is too large") from None
    except ZeroDivisionError:
        raise ExpressionFailure(f"{show_value(base)} ** {show_value(exponent)} divides by zero") from None
    if isinstance(result, complex):
        raise ExpressionFailure(f"{show_value(base)} ** {show_value(exponent)} is not a real number")
    if math.isinf(result):
        raise ExpressionFailure(f"{show_value(base)} ** {show_value(exponent)} is too large")
    return result


def _safe(fn):
    def call(*args):
        try:
            return fn(*args)
        except (ValueError, OverflowError) as error:
            raise ExpressionFailure(f"{fn.__name__}({', '.join(show_value(a) for a in args)}): {error}") from None
    call.__name__ = fn.__name__
    return call


FUNCTIONS: dict[str, Callable] = {
    name: _safe(getattr(math, name))
    for name in ("exp", "log", "log2", "log10", "sqrt", "sin", "cos", "tan", "tanh", "floor", "ceil")
}
FUNCTIONS.update(min=min, max=max, abs=abs)
CONSTANTS = {"pi": math.pi, "e": math.e}

OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: _power, ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_,
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}

# Node types an expression may contain; simpleeval's other handlers (attributes, subscripts,
# f-strings, assignments, imports) are removed from the evaluator.
_NODES = (ast.Name, ast.UnaryOp, ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Constant)
_REFUSED = {
    ast.Attribute: "attribute access (a.b) is not allowed",
    ast.Subscript: "indexing (a[b]) is not allowed",
    ast.Lambda: "write the expression itself, without lambda",
    ast.JoinedStr: "strings are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.NamedExpr: "assignments are not allowed",
}


def _evaluator(variable: str) -> simpleeval.SimpleEval:
    ev = simpleeval.SimpleEval(operators=OPERATORS, functions=dict(FUNCTIONS),
                               names={**CONSTANTS, variable: 0})
    ev.nodes = {node: handler for node, handler in ev.nodes.items() if node in _NODES}
    return ev


_OPERATOR_NAMES = {
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.Invert: "~", ast.MatMult: "@",
}


def _refuse_structure(tree: ast.AST, variable: str, path: str, text: str) -> None:
    """Refuse anything but a plain math expression, with the most telling reason first."""
    nodes = list(ast.walk(tree))

    def refuse(reason: str):
        raise ExperimentError(path, f"{show_value(text)}: {reason}")

    for node in nodes:
        for refused, reason in _REFUSED.items():
            if isinstance(node, refused):
                refuse(reason)
        if isinstance(node, (ast.operator, ast.unaryop, ast.cmpop)) and type(node) not in OPERATORS:
            symbol = _OPERATOR_NAMES.get(type(node), type(node).__name__)
            refuse(f"the operator {symbol} is not allowed; use + - * / // % ** and comparisons")
    for node in nodes:
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = node.func.id if isinstance(node.func, ast.Name) else "this call"
                refuse(f"unknown function {show_value(name)}; allowed: {', '.join(sorted(FUNCTIONS))}")
            if node.keywords:
                refuse("keyword arguments are not allowed")
    allowed_names = set(CONSTANTS) | {variable}
    for node in nodes:
        if isinstance(node, ast.Constant) and (isinstance(node.value, (str, bytes, complex)) or node.value is None):
            refuse(f"only numbers are allowed, not {show_value(node.value)}")
        if isinstance(node, ast.Name) and node.id not in allowed_names and not _is_call_target(tree, node):
            refuse(f"unknown name {show_value(node.id)}; use {variable} (and pi, e)")
        if not isinstance(node, (*_NODES, ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop,
                                 ast.Expression)):
            refuse(f"{type(node).__name__} is not allowed in an expression")


def _is_call_target(tree: ast.AST, name: ast.Name) -> bool:
    return any(isinstance(n, ast.Call) and n.func is name for n in ast.walk(tree))


def compile_expression(text: str, variable: str, path: str = "") -> Callable[[float], float]:
    """Check ``text`` and return ``f(value) -> float``.

    Raises :class:`ExperimentError` (naming ``path``) for anything that is not a plain math
    expression in ``variable``. The returned function raises :class:`ExpressionFailure`
    when evaluation fails or gives something other than a finite number.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExperimentError(path, f"expected a math expression in {variable}, got {show_value(text)}")
    if len(text) > MAX_LENGTH:
        raise ExperimentError(path, f"expression is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExperimentError(path, f"{show_value(text)} is not a valid expression ({error.msg})") from None
    _refuse_structure(tree, variable, path, text)
    evaluator = _evaluator(variable)
    body = tree.body
    names = evaluator.names

    def evaluate(value):
        names[variable] = value
        try:
            result = evaluator.eval(text, previously_parsed=body)
        except ExpressionFailure as failure:
            raise ExpressionFailure(f"{show_value(text)} at {variable} = {value}: {failure}") from None
        except (ArithmeticError, ValueError, TypeError, simpleeval.InvalidExpression) as error:
            raise ExpressionFailure(f"{show_value(text)} at {variable} = {value}: {error}") from None
        if isinstance(result, bool) or not isinstance(result, (int, float)):
            raise ExpressionFailure(f"{show_value(text)} at {variable} = {value} gave {show_value(result)}, "
                                    "not a number")
        try:
            result = float(result)
        except OverflowError:  # a whole number beyond the largest float: floor(1e308) * 10
            raise ExpressionFailure(f"{show_value(text)} at {variable} = {value} gave a number too large "
                                    "for a float (beyond about 1.8e308)") from None
        if not math.isfinite(result):
            raise ExpressionFailure(f"{show_value(text)} at {variable} = {value} gave {show_value(result)}")
        return result

    try:
        evaluate(0)
    except ExpressionFailure as failure:
        # A failure at 0 alone (1/epoch) is legitimate for scale_fn (called from 1 on);
        # anything structural already raised above, so only refuse what fails at 1 too.
        try:
            evaluate(1)
        except ExpressionFailure:
            raise ExperimentError(path, str(failure)) from None
    return evaluate
