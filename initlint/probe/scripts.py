"""A script's definitions, for the probe: the file's classes without its training code.

Importing a script runs its top level: data downloads, training loops, plots, ``sys.exit``.
When that code fails (or runs past the time limit; sweep.py then asks again), the probe runs
only the file's definitions, as it does for a notebook: imports, ``def``, ``class``, constants
(assignments that call nothing), and ``try`` blocks made only of those. Every other line is
blanked, so line numbers, tracebacks and ``inspect`` still point into the file as it is on disk.

The definitions may read values the script computes with a call (``env = gym.make(...)``
before ``n_state = env.observation_space.shape[0]``, ``args = parser.parse_args()`` read by a
class). Those assignments are kept as *setup*: each top-level assignment of a name a class or a
kept assignment reads (free names only, not a method's locals), transitively, and the calls and
attribute writes that configure such a value (``parser.add_argument(...)``, ``env.seed(0)``).
loading.py runs each setup statement and each constant on its own and leaves out one that
raises (a constant that reads a failed setup value, too). Loops,
conditions and other calls stay out. Pure Python (no torch); the file is only read.
"""

from __future__ import annotations

import ast
from typing import Any

from initlint.lean import dataclass
from initlint.notebook import _defines, top_level_kept


@dataclass(frozen=True)
class ScriptDefinitions:
    """The runnable text and the first lines of the top-level statements left out."""

    text: str
    skipped: tuple[int, ...]
    #: first lines of the kept statements that are setup (see the module docstring)
    setup: tuple[int, ...] = ()
    #: first lines of the kept constant assignments (``n_state = env.observation_space.shape[0]``):
    #: one that fails (its setup did) leaves its name undefined, not the whole file unloaded
    assignments: tuple[int, ...] = ()


def _keeps(statement: ast.stmt) -> bool:
    if _defines(statement):
        return True
    if isinstance(statement, ast.Try):  # ``try: import apex`` / ``except ImportError: ...``
        blocks = [statement.body, statement.orelse, statement.finalbody, *(h.body for h in statement.handlers)]
        return all(_keeps(s) or isinstance(s, ast.Pass) for block in blocks for s in block)
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)  # a docstring


def script_definitions(text: str) -> ScriptDefinitions:
    """``text`` with every top-level statement that is neither a definition nor setup blanked
    (see above). Raises SyntaxError when the text does not parse."""
    body = ast.parse(text).body
    setup = _setup(body)
    firsts = {_first_line(body[i]) for i in setup}
    kept, skipped = top_level_kept(text, lambda statement: _keeps(statement) or _first_line(statement) in firsts)
    return ScriptDefinitions(kept, tuple(skipped), tuple(sorted(firsts)), _constant_lines(body))


def kept_definitions(text: str) -> ScriptDefinitions:
    """Text whose statements are all definitions already (a notebook's kept cells), as
    setup.py runs it: its constant assignments may fail alone; no setup statements."""
    return ScriptDefinitions(text, (), (), _constant_lines(ast.parse(text).body))


def _constant_lines(body: list[ast.stmt]) -> tuple[int, ...]:
    return tuple(s.lineno for s in body if isinstance(s, (ast.Assign, ast.AnnAssign)) and _keeps(s))


def _first_line(statement: ast.stmt) -> int:
    return min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])


def _setup(body: list[ast.stmt]) -> set[int]:
    """Indices of the top-level statements that are setup (the module docstring)."""
    kept = {i for i, statement in enumerate(body) if _keeps(statement)}
    readers = {i for i in kept if isinstance(body[i], (ast.ClassDef, ast.Assign, ast.AnnAssign))}
    assigners: dict[str, list[int]] = {}
    for i, statement in enumerate(body):
        if i not in kept:
            for name in _assigned_names(statement):
                assigners.setdefault(name, []).append(i)
    setup: set[int] = set()
    while True:
        needed = set().union(*(_free_reads(body[i]) for i in readers | setup))
        values = set().union(*(_assigned_names(body[i]) for i in setup))
        grown = {i for name in needed for i in assigners.get(name, [])}
        grown |= {i for i, statement in enumerate(body) if i not in kept and _configures(statement, values)}
        if grown <= setup:
            return setup
        setup |= grown


def _assigned_names(statement: ast.stmt) -> set[str]:
    """The names a top-level ``a = ...`` / ``a, b = ...`` binds; empty for anything else."""
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets = [statement.target]
    else:
        return set()
    names = set()
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, (ast.Attribute, ast.Subscript)):
                return set()
            if isinstance(node, ast.Name):
                names.add(node.id)
    return names


def _root(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _configures(statement: ast.stmt, values: set[str]) -> bool:
    """``parser.add_argument(...)``, ``env.seed(0)``, ``args.cuda = ...`` on a setup value."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return isinstance(statement.value.func, ast.Attribute) and _root(statement.value.func) in values
    if isinstance(statement, ast.Assign):
        return all(isinstance(t, (ast.Attribute, ast.Subscript)) and _root(t) in values for t in statement.targets)
    return False


def _free_reads(node: ast.AST) -> set[str]:
    """Names ``node`` reads that no function inside it binds itself (parameters, locals)."""
    found: set[str] = set()

    def visit(current: ast.AST, local: frozenset[str]) -> None:
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = current.args
            bound = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
            bound |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
            for inner in ast.walk(current):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    bound.add(inner.id)
                elif isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and inner is not current:
                    bound.add(inner.name)
            for default in [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]:
                visit(default, local)
            for decorator in getattr(current, "decorator_list", []):
                visit(decorator, local)
            inner_local = local | bound
            for child in (current.body if isinstance(current.body, list) else [current.body]):
                visit(child, inner_local)
            return
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Load) and current.id not in local:
            found.add(current.id)
        for child in ast.iter_child_nodes(current):
            visit(child, local)

    visit(node, frozenset())
    return found


def _statement_at(text: str, line: int | None) -> ast.stmt | None:
    """The top-level statement of ``text`` that holds ``line`` (decorators included)."""
    if line is None:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    return next((s for s in tree.body if _first_line(s) <= line <= (s.end_lineno or s.lineno)), None)


def failed_in_top_level(text: str, line: int | None) -> bool:
    """Whether ``line`` (the file's innermost ``<module>`` frame of a failed import) lies in a
    top-level statement the definitions leave out: then running only the definitions avoids it."""
    statement = _statement_at(text, line)
    return statement is not None and not _keeps(statement)


def failed_in_definition(text: str, line: int | None) -> str | None:
    """The name of the top-level class or function whose definition holds ``line`` (a default
    or decorator that raised while the file was imported: ``def __init__(self, dim=
    get_encoded_dim(NAME))`` downloading a config), else None. Running the definitions one by
    one (setup.py) leaves only that one out."""
    statement = _statement_at(text, line)
    return statement.name if isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) else None


def imported_names(text: str, line: int | None) -> set[str]:
    """The names the top-level ``from M import a, b`` holding ``line`` imports (empty for any
    other statement)."""
    statement = _statement_at(text, line)
    return {alias.name for alias in statement.names} if isinstance(statement, ast.ImportFrom) else set()


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


def main_block_constants(module: Any, text: str, file: str) -> list[str]:
    """Run in ``module`` the ``main_constants`` of ``text`` that bind names it does not define
    itself (each alone; one that reads another missing name is left out); the names taken."""
    taken: list[str] = []
    for names, source in main_constants(text):
        if any(name in vars(module) for name in names):
            continue
        try:
            exec(compile(source, file, "exec"), vars(module))  # noqa: S102 - pure: builtins and str/dict methods only
        except Exception:  # noqa: BLE001 - a constant that reads another missing name: left out
            continue
        taken.extend(names)
    return taken
