"""An experiment's safe math expression (``lr_lambda``, ``scale_fn``) as a Python lambda.

The expression language (:mod:`engine.expressions`) is a subset of Python's: the text parses
as it is, and only names differ: ``exp``, ``log``, ``floor``, ... are ``math.``'s functions,
``pi`` and ``e`` its constants. One operator differs in what it computes: the engine raises
in floating point (``float(a) ** float(b)``), where Python raises two ints exactly. Wherever
neither side of ``**`` is known to be a float, one side is written as a float (``2 ** x``
becomes ``2.0 ** x``), so the lambda gives the engine's numbers bit for bit.

>>> python_lambda("0.95 ** epoch", "epoch")
'lambda epoch: 0.95 ** epoch'
>>> python_lambda("1 / (2 ** (x - 1))", "x")
'lambda x: 1 / 2.0 ** (x - 1)'
>>> python_lambda("exp(-epoch / 10) * max(0.1, cos(pi * epoch / 20))", "epoch")
'lambda epoch: math.exp(-epoch / 10) * max(0.1, math.cos(math.pi * epoch / 20))'
>>> python_lambda("epoch ** epoch", "epoch")
'lambda epoch: float(epoch) ** epoch'
"""

from __future__ import annotations

import ast

from ..expressions import CONSTANTS, FUNCTIONS

__all__ = ["python_lambda", "python_expression"]

# math's functions (FUNCTIONS also holds the builtins min, max and abs, which stay as they are)
MATH_FUNCTIONS = frozenset(name for name in FUNCTIONS if name not in ("min", "max", "abs"))
# the ones whose result is always a float (floor and ceil give ints)
FLOAT_FUNCTIONS = MATH_FUNCTIONS - {"floor", "ceil"}


def _math(name: str) -> ast.Attribute:
    return ast.Attribute(value=ast.Name(id="math", ctx=ast.Load()), attr=name, ctx=ast.Load())


def _is_float(node: ast.AST) -> bool:
    """Whether ``node`` always evaluates to a float (False: it may be an int)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, float)
    if isinstance(node, ast.Attribute):  # math.pi, math.e
        return True
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Attribute) and node.func.attr in FLOAT_FUNCTIONS
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.UAdd)) and _is_float(node.operand)
    if isinstance(node, ast.BinOp):
        return (isinstance(node.op, (ast.Div, ast.Pow)) or _is_float(node.left) or _is_float(node.right))
    return False


class _Translate(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.AST:
        return _math(node.id) if node.id in CONSTANTS else node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node.args = [self.visit(arg) for arg in node.args]
        if isinstance(node.func, ast.Name) and node.func.id in MATH_FUNCTIONS:
            node.func = _math(node.func.id)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow) and not (_is_float(node.left) or _is_float(node.right)):
            if _int_constant(node.left):
                node.left = ast.Constant(float(node.left.value))
            elif _int_constant(node.right):
                node.right = ast.Constant(float(node.right.value))
            else:
                node.left = ast.Call(func=ast.Name(id="float", ctx=ast.Load()), args=[node.left], keywords=[])
        return node


def _int_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int)


def python_expression(text: str) -> str:
    """``text`` (an expression the engine accepted) as Python source computing the same numbers."""
    tree = ast.parse(text.strip(), mode="eval")
    return ast.unparse(ast.fix_missing_locations(_Translate().visit(tree)))


def python_lambda(text: str, variable: str) -> str:
    """``lambda <variable>: <expression>`` for an expression the engine accepted."""
    return f"lambda {variable}: {python_expression(text)}"
