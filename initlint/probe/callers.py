"""Constructor arguments from the calls a project makes: what its own code passes.

A required parameter that neither its name nor its use can size (a block class, an activation:
``mlp(sizes, activation)``) is often given by another class of the same module: ``MLPActor(...,
activation)`` inside ``MLPActorCritic.__init__(..., activation=nn.Tanh)``, ``ResNet(BasicBlock,
...)`` in a factory. Each call of the target in its module's source is read; an argument counts
when it evaluates without running anything: a literal, a module-level name or an attribute of
one (``nn.Tanh``, ``BasicBlock``), or a parameter of the calling function whose default is such
a value. The first call that gives a value wins; the note names the caller and its line.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any, Callable

from initlint.lean import dataclass

_UNKNOWN = object()


@dataclass(frozen=True)
class CallerValue:
    """A value a call in the module passes, and where."""

    value: Any
    caller: str
    line: int


def values_from_callers(function: Callable[..., Any], wanted: list[str]) -> dict[str, CallerValue]:
    """For each name in ``wanted``: the value the first call of ``function`` in its module that
    gives one passes (see the module docstring)."""
    module = inspect.getmodule(function)
    name = getattr(function, "__name__", "")
    try:
        tree = ast.parse(inspect.getsource(module)) if module is not None else None
        signature = inspect.signature(function)
    except (OSError, TypeError, ValueError, SyntaxError):
        return {}
    if tree is None or not name:
        return {}
    positional = [p.name for p in signature.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    scope = vars(module)
    found: dict[str, CallerValue] = {}
    for caller, label, call in _calls_of(tree, name):
        passed: dict[str, ast.expr] = {}
        for index, argument in enumerate(call.args):
            if isinstance(argument, ast.Starred):
                break
            if index < len(positional):
                passed[positional[index]] = argument
        passed.update({k.arg: k.value for k in call.keywords if k.arg})
        for parameter in wanted:
            if parameter in found or parameter not in passed:
                continue
            value = _evaluate(passed[parameter], caller, scope)
            if value is not _UNKNOWN:
                found[parameter] = CallerValue(value, label, call.lineno)
    return found


def _calls_of(tree: ast.Module, name: str):
    """(enclosing function or None, its qualified name, call) for each ``name(...)`` /
    ``x.name(...)`` call."""
    def visit(node: ast.AST, function, prefix: str):
        for child in ast.iter_child_nodes(node):
            inner, inner_prefix = function, prefix
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner_prefix = f"{prefix}{child.name}."
                if not isinstance(child, ast.ClassDef):
                    inner = child
            if isinstance(child, ast.Call):
                callee = child.func
                if isinstance(callee, ast.Name) and callee.id == name or isinstance(callee, ast.Attribute) and callee.attr == name:
                    yield function, prefix.rstrip(".") or "the module", child
            yield from visit(child, inner, inner_prefix)

    yield from visit(tree, None, "")


def _evaluate(node: ast.expr, caller, scope: dict[str, Any], depth: int = 0) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    parts = []
    current = node
    while isinstance(current, ast.Attribute):
        parts.insert(0, current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return _UNKNOWN
    if caller is not None and depth == 0 and not parts:
        default = _default_of(caller, current.id)
        if default is not None:
            return _evaluate(default, None, scope, depth + 1)
        if _binds(caller, current.id):
            return _UNKNOWN  # a local or a parameter without a default: the caller decides
    if current.id not in scope:
        return _UNKNOWN
    value = scope[current.id]
    for part in parts:
        if not hasattr(value, part):
            return _UNKNOWN
        value = getattr(value, part)
    return value


def _default_of(function: ast.FunctionDef, name: str) -> ast.expr | None:
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults = dict(zip([a.arg for a in positional[len(positional) - len(arguments.defaults):]], arguments.defaults))
    defaults.update({a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None})
    return defaults.get(name)


def _binds(function: ast.FunctionDef, name: str) -> bool:
    arguments = function.args
    names = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    names |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    return name in names or any(
        isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id == name for n in ast.walk(function)
    )
