"""A script's definitions, for the probe: the file's classes without its training code.

Importing a script runs its top level: data downloads, training loops, plots, ``sys.exit``.
When that code fails (or runs past the time limit; sweep.py then asks again), the probe runs
only the file's definitions, as it does for a notebook: imports, ``def``, ``class``, constants
(assignments that call nothing), and ``try`` blocks made only of those. Every other line is
blanked, so line numbers, tracebacks and ``inspect`` still point into the file as it is on disk.
Pure Python (no torch); the file is only read.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from initlint.notebook import _defines, top_level_kept


@dataclass(frozen=True)
class ScriptDefinitions:
    """The runnable text and the first lines of the top-level statements left out."""

    text: str
    skipped: tuple[int, ...]


def _keeps(statement: ast.stmt) -> bool:
    if _defines(statement):
        return True
    if isinstance(statement, ast.Try):  # ``try: import apex`` / ``except ImportError: ...``
        blocks = [statement.body, statement.orelse, statement.finalbody, *(h.body for h in statement.handlers)]
        return all(_keeps(s) or isinstance(s, ast.Pass) for block in blocks for s in block)
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)  # a docstring


def script_definitions(text: str) -> ScriptDefinitions:
    """``text`` with every top-level statement that is not a definition blanked (see above).
    Raises SyntaxError when the text does not parse."""
    kept, skipped = top_level_kept(text, _keeps)
    return ScriptDefinitions(kept, tuple(skipped))


def failed_in_top_level(text: str, line: int | None) -> bool:
    """Whether ``line`` (the file's innermost ``<module>`` frame of a failed import) lies in a
    top-level statement the definitions leave out: then running only the definitions avoids it."""
    if line is None:
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    for statement in tree.body:
        first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
        if first <= line <= (statement.end_lineno or statement.lineno):
            return not _keeps(statement)
    return False


#: calls a main-block constant may make: builtins without side effects, and methods of str,
#: list and dict values (``" ".join(sentences).split()``)
_PURE_CALLS = frozenset({
    "len", "int", "float", "str", "bool", "min", "max", "abs", "round", "sum", "range", "enumerate",
    "list", "dict", "tuple", "set", "sorted", "zip", "reversed",
})
_VALUE_METHODS = frozenset({"split", "join", "lower", "upper", "strip", "replace", "keys", "values", "items", "index", "count"})


def _pure(value: ast.expr) -> bool:
    for node in ast.walk(value):
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda)):
            return False
        if isinstance(node, ast.Call):
            func = node.func
            if not (isinstance(func, ast.Name) and func.id in _PURE_CALLS
                    or isinstance(func, ast.Attribute) and func.attr in _VALUE_METHODS):
                return False
    return True


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
        and len(test.comparators) == 1 and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__" and isinstance(test.ops[0], ast.Eq)
    )


def main_constants(text: str) -> list[tuple[tuple[str, ...], str]]:
    """The assignments of a script's ``if __name__ == "__main__":`` block that compute values
    without side effects (``d_model = 512``, ``n_class = len(word_dict)``): (names, source), in
    order. A class that reads such a global is built with the value its script gives it."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    found = []
    for statement in tree.body:
        if not (isinstance(statement, ast.If) and _is_main_guard(statement.test)):
            continue
        for inner in statement.body:
            if isinstance(inner, ast.Assign) and _pure(inner.value):
                targets = [t for target in inner.targets for t in ast.walk(target) if isinstance(t, ast.Name)]
                if all(isinstance(target, (ast.Name, ast.Tuple)) for target in inner.targets) and targets:
                    found.append((tuple(t.id for t in targets), ast.unparse(inner)))
    return found
