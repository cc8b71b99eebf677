"""Formulas of the operation model, written once and used twice.

Each line of an investment plan or a running account is a small arithmetic expression over named
inputs and earlier lines (``logements * loyer_mensuel * 12``). Python evaluates the compiled
expression; :func:`to_excel` translates the same expression into a spreadsheet formula whose
names become cell references (``=C5*C9*12``). The finance officer's workbook and the app's
figures therefore cannot drift apart.

Allowed syntax: numbers, names, ``+ - * / **``, unary minus, comparisons, ``a if test else b``
and the functions ``min`` and ``max`` (two or more arguments). The expressions are the
project's own (never user text): users only change the numbers.
"""

from __future__ import annotations

import ast
from functools import cache
from types import CodeType

FUNCTIONS = {"min": "MIN", "max": "MAX"}
OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}
COMPARISONS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "=", ast.NotEq: "<>"}
ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.Compare, ast.IfExp,
                 ast.Call, ast.Name, ast.Load, ast.Constant, *OPERATORS, *COMPARISONS)
GLOBALS = {"__builtins__": {}, "min": min, "max": max}


class FormulaError(ValueError):
    """An expression uses syntax outside the allowed subset (French message)."""


@cache
def parse(expression: str) -> ast.Expression:
    tree = ast.parse(expression, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED_NODES):
            raise FormulaError(f"Formule « {expression} » : élément non permis ({type(node).__name__}).")
        if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name)
                                           or node.func.id not in FUNCTIONS):
            raise FormulaError(f"Formule « {expression} » : seules min et max sont permises.")
    return tree


@cache
def compiled(expression: str) -> CodeType:
    return compile(parse(expression), "<formule>", "eval")


@cache
def names(expression: str) -> frozenset[str]:
    """The input and line names an expression reads."""
    return frozenset(n.id for n in ast.walk(parse(expression))
                     if isinstance(n, ast.Name) and n.id not in FUNCTIONS)


def evaluate(expression: str, values: dict[str, float]) -> float:
    return float(eval(compiled(expression), GLOBALS, values))  # own expressions only (see module doc)


def to_excel(expression: str, refs: dict[str, str]) -> str:
    """The spreadsheet formula of ``expression`` (``refs`` maps each name to a cell)."""
    return "=" + _excel(parse(expression).body, refs)


def _excel(node: ast.AST, refs: dict[str, str]) -> str:
    if isinstance(node, ast.Constant):
        return repr(node.value) if not isinstance(node.value, bool) else str(int(node.value))
    if isinstance(node, ast.Name):
        if node.id not in refs:
            raise FormulaError(f"Nom « {node.id} » sans cellule dans le classeur.")
        return refs[node.id]
    if isinstance(node, ast.BinOp):
        return f"({_excel(node.left, refs)}{OPERATORS[type(node.op)]}{_excel(node.right, refs)})"
    if isinstance(node, ast.UnaryOp):
        return f"(-{_excel(node.operand, refs)})"
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            raise FormulaError("Une seule comparaison par test.")
        return f"{_excel(node.left, refs)}{COMPARISONS[type(node.ops[0])]}{_excel(node.comparators[0], refs)}"
    if isinstance(node, ast.IfExp):
        return f"IF({_excel(node.test, refs)},{_excel(node.body, refs)},{_excel(node.orelse, refs)})"
    if isinstance(node, ast.Call):
        args = ",".join(_excel(a, refs) for a in node.args)
        return f"{FUNCTIONS[node.func.id]}({args})"
    raise FormulaError(f"Élément non traduit : {type(node).__name__}.")
