"""What a constructor's own ``assert`` statements say about its arguments (pure Python, ``ast``).

Two facts the probe's guesses would otherwise break:

- ``assert image_size is not None`` on a parameter that defaults to None: the parameter is
  required in practice, so it gets a value like any required one (``not_none_parameters``).
- ``assert (depth - 4) % 6 == 0`` failing on an assumed or default value: the smallest value
  the assertion allows (one where no term made from the parameter is zero first: ``depth - 4``
  at 4 builds no blocks), searched by evaluating the assert's own test with the constructor's
  locals at the failure, the parameter changed (``satisfying_value``). Only tests made of names,
  constants, arithmetic, comparisons, indexing and a few pure builtins are evaluated.
"""

from __future__ import annotations

import ast
import builtins
import textwrap
from types import CodeType, TracebackType
from typing import Any

from initlint.lean import dataclass

#: builtins an evaluated test may call (pure, no side effects)
_PURE_CALLS = {"len", "int", "float", "abs", "min", "max", "isinstance", "round", "bool", "sum"}
#: how far from the current value the search for an integer goes
_SEARCH_LIMIT = 512


def not_none_parameters(tree: ast.FunctionDef | ast.AsyncFunctionDef | None) -> set[str]:
    """Names the constructor asserts are not None (``assert x is not None``, ``assert x``) at
    the top level of its body."""
    found: set[str] = set()
    for statement in tree.body if tree is not None else ():
        if not isinstance(statement, ast.Assert):
            continue
        test = statement.test
        if isinstance(test, ast.Name):
            found.add(test.id)
        elif (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and len(test.ops) == 1
              and isinstance(test.ops[0], ast.IsNot) and isinstance(test.comparators[0], ast.Constant)
              and test.comparators[0].value is None):
            found.add(test.left.id)
    return found


@dataclass(frozen=True)
class FailedAssert:
    """An ``assert`` that failed in a given function: its test and the locals at the failure."""

    test: ast.expr
    text: str
    line: int
    local: dict[str, Any]
    scope: dict[str, Any]


def failed_assert(error: BaseException, code: CodeType | None) -> FailedAssert | None:
    """The assert statement whose failure raised ``error`` directly in the function whose code
    is ``code`` (the constructor built), or None."""
    if not isinstance(error, AssertionError) or code is None:
        return None
    tb: TracebackType | None = error.__traceback__
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    if last is None or last.tb_frame.f_code is not code:
        return None
    frame, line = last.tb_frame, last.tb_lineno
    try:
        import inspect

        lines, first = inspect.getsourcelines(code)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    offset = first - 1
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.lineno + offset <= line <= (node.end_lineno or node.lineno) + offset:
            if not _pure(node.test):
                return None
            return FailedAssert(node.test, ast.unparse(node.test), node.lineno + offset, dict(frame.f_locals), frame.f_globals)
    return None


def _pure(test: ast.expr) -> bool:
    for node in ast.walk(test):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _PURE_CALLS):
                return False
        elif isinstance(node, (ast.Attribute, ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom,
                               ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            return False
    return True


def _holds(failed: FailedAssert, local: dict[str, Any]) -> bool:
    scope = {name: getattr(builtins, name) for name in _PURE_CALLS}
    scope.update({k: v for k, v in failed.scope.items() if not k.startswith("__")})
    try:
        return bool(eval(compile(ast.Expression(failed.test), "<assert>", "eval"), scope, local))  # noqa: S307 - pure, checked above
    except Exception:  # noqa: BLE001 - a candidate the test cannot even evaluate does not hold
        return False


def satisfying_value(failed: FailedAssert, free: set[str]) -> tuple[str, Any] | None:
    """(parameter, value): the integer nearest above (then below) its current value that makes
    the failed test hold, changing one of the ``free`` parameters the test names."""
    names = sorted({n.id for n in ast.walk(failed.test) if isinstance(n, ast.Name)} & free)
    for name in names:
        current = failed.local.get(name)
        if not isinstance(current, int) or isinstance(current, bool):
            continue
        upward = range(current + 1, current + _SEARCH_LIMIT)
        downward = range(current - 1, 0, -1)
        first = None
        for candidate in (*upward, *downward):
            local = {**failed.local, name: candidate}
            if _holds(failed, local):
                if not _zero_term(failed, name, local):
                    return name, candidate
                first = first if first is not None else candidate
        if first is not None:
            return name, first
    return None


def _zero_term(failed: FailedAssert, name: str, local: dict[str, Any]) -> bool:
    """Whether a term of the test made from ``name`` is zero (``depth - 4`` in ``(depth - 4) %
    6 == 0`` at depth 4): the constructor then builds ``(depth - 4) // 6 == 0`` blocks, a model
    with its body missing, so a value further on is preferred."""
    test = failed.test
    operands = {id(test)} | ({id(n) for n in [test.left, *test.comparators]} if isinstance(test, ast.Compare) else set())
    for node in ast.walk(test):
        if not isinstance(node, ast.BinOp) or id(node) in operands:
            continue
        if not any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node)):
            continue
        zero = ast.fix_missing_locations(ast.copy_location(ast.Compare(node, [ast.Eq()], [ast.Constant(0)]), node))
        probe = FailedAssert(zero, failed.text, failed.line, local, failed.scope)
        if _holds(probe, local):
            return True
    return False
