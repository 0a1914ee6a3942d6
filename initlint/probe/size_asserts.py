"""Repairs of fitting.py from an ``assert`` in forward that ties an input's size to the model
(pure Python ``ast`` plus the failing frame's locals).

``B, L, C = x.shape; assert L == H * W`` (``H, W = self.input_resolution``): the token count
``L`` must equal a number the built model states. The assert's other side is evaluated with the
failing frame's own locals (only names, constants and arithmetic), and the input argument that
tensor came from takes that size in that dimension. The tensor is found by identity (the fed
argument itself, passed down through containers), never by a name.

``mask.unsqueeze(1).repeat(1, heads, 1, 1)`` failing with "Number of dimensions of repeat dims can
not be smaller than number of dimensions of tensor": the argument has as many dimensions as the
repeat lists, less the ones added on the way (here 3); its last sizes are kept.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import replace
from types import FrameType
from typing import Any, Iterator

import torch

from initlint.probe.inputs import ArgSpec

#: node types an evaluated size expression may hold (arithmetic on names and constants)
_ARITHMETIC = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Load, ast.operator, ast.unaryop)
#: the largest size a repair may ask for (a bigger number is no input size)
_MAX_SIZE = 65536


def _innermost(error: BaseException) -> tuple[FrameType, int] | None:
    """The innermost frame of the user's code (not torch's, not the probe's) and its line."""
    tb = error.__traceback__
    last = None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename.replace("\\", "/")
        if "/torch/" not in name and "/initlint/" not in name and not name.startswith("<"):
            last = tb
        tb = tb.tb_next
    return (last.tb_frame, last.tb_lineno) if last is not None else None


def _function_tree(frame: FrameType) -> tuple[ast.AST, int] | None:
    try:
        lines, first = inspect.getsourcelines(frame.f_code)
        return ast.parse(textwrap.dedent("".join(lines))), first - 1
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None


def _dimension_of(node: ast.expr, tree: ast.AST) -> tuple[str, int] | None:
    """(tensor name, dimension) that ``node`` reads: ``x.shape[1]``, ``x.size(1)``, or a name
    bound by ``B, L, C = x.shape`` / ``L = x.shape[1]`` in the same function."""
    direct = _read_dimension(node)
    if direct is not None:
        return direct
    if not isinstance(node, ast.Name):
        return None
    for statement in ast.walk(tree):
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        target = statement.targets[0]
        if isinstance(target, ast.Name) and target.id == node.id:
            return _read_dimension(statement.value)
        if isinstance(target, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in target.elts):
            names = [e.id if isinstance(e, ast.Name) else None for e in target.elts]
            tensor = _whole_shape(statement.value)
            if node.id in names and tensor is not None:
                return tensor, names.index(node.id)
    return None


def _whole_shape(node: ast.expr) -> str | None:
    """``x.shape`` or ``x.size()``: the tensor's name."""
    if isinstance(node, ast.Attribute) and node.attr == "shape" and isinstance(node.value, ast.Name):
        return node.value.id
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "size"
            and not node.args and not node.keywords and isinstance(node.func.value, ast.Name)):
        return node.func.value.id
    return None


def _read_dimension(node: ast.expr) -> tuple[str, int] | None:
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int):
        tensor = _whole_shape(node.value)
        return (tensor, node.slice.value) if tensor is not None else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "size"
            and len(node.args) == 1 and not node.keywords and isinstance(node.func.value, ast.Name)
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, int)):
        return node.func.value.id, node.args[0].value
    return None


def _evaluate(node: ast.expr, local: dict[str, Any]) -> int | None:
    """``node`` as an int, when it is arithmetic on names the frame holds as ints."""
    expression = ast.Expression(node)
    if not all(isinstance(n, _ARITHMETIC) for n in ast.walk(expression)):
        return None
    names = {n.id for n in ast.walk(expression) if isinstance(n, ast.Name)}
    values = {name: local.get(name) for name in names}
    if any(not isinstance(v, int) or isinstance(v, bool) for v in values.values()):
        return None
    try:
        value = eval(compile(expression, "<size>", "eval"), {"__builtins__": {}}, values)  # noqa: S307 - arithmetic only, checked above
    except Exception:  # noqa: BLE001 - a division by zero says nothing
        return None
    return int(value) if isinstance(value, int) and 0 < value <= _MAX_SIZE else None


def _equalities(test: ast.expr) -> Iterator[tuple[ast.expr, ast.expr]]:
    """(left, right) of each ``a == b`` the test requires (``and`` of them too)."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        for value in test.values:
            yield from _equalities(value)
    elif isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        yield test.left, test.comparators[0]
        yield test.comparators[0], test.left


def assert_size_repairs(specs: list[ArgSpec], error: BaseException, fed: dict[int, str]) -> Iterator[list[ArgSpec]]:
    """Changed copies of ``specs`` whose one input dimension takes the size a failed
    ``assert DIM == EXPR`` in forward asks for. ``fed`` maps id(tensor) to the argument's name
    for the tensors the failing trial passed."""
    if not isinstance(error, AssertionError):
        return
    found = _innermost(error)
    if found is None:
        return
    frame, line = found
    parsed = _function_tree(frame)
    if parsed is None:
        return
    tree, offset = parsed
    local = dict(frame.f_locals)
    by_name = {s.name: s for s in specs}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assert) and node.lineno + offset <= line <= (node.end_lineno or node.lineno) + offset):
            continue
        for side, other in _equalities(node.test):
            read = _dimension_of(side, tree)
            size = _evaluate(other, local)
            if read is None or size is None:
                continue
            tensor_name, dim = read
            tensor = local.get(tensor_name)
            spec = by_name.get(fed.get(id(tensor), "")) if isinstance(tensor, torch.Tensor) else None
            if spec is None or spec.fixed or spec.kind != "float" or tensor.dim() != len(spec.shape) + 1:
                continue
            dim = dim if dim >= 0 else tensor.dim() + dim
            if dim == spec.batch_dim or not 0 <= dim < tensor.dim():
                continue
            index = dim - (1 if dim > spec.batch_dim else 0)
            shape = list(spec.shape)
            if shape[index] == size:
                continue
            shape[index] = size
            why = f"forward asserts {ast.unparse(node.test)} ({ast.unparse(other)} = {size})"
            yield [replace(s, shape=tuple(shape), why=why) if s is spec else s for s in specs]


_REPEAT_ERROR = "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
#: methods that keep a tensor's dimensions (``mask.float().unsqueeze(1)``)
_SAME_RANK = {"float", "bool", "long", "int", "half", "to", "type", "clone", "contiguous", "detach", "type_as"}


def _repeat_base(call: ast.Call) -> tuple[str, int] | None:
    """(name, dimensions added) for ``name.unsqueeze(1).repeat(...)``: the tensor repeated."""
    node, added = call.func.value, 0  # type: ignore[attr-defined]
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "unsqueeze":
            added += 1
        elif node.func.attr not in _SAME_RANK:
            return None
        node = node.func.value
    return (node.id, added) if isinstance(node, ast.Name) else None


def repeat_rank_repairs(specs: list[ArgSpec], error: BaseException, fed: dict[int, str]) -> Iterator[list[ArgSpec]]:
    """The argument a failing ``.repeat(...)`` starts from, with the rank the repeat lists."""
    if _REPEAT_ERROR not in str(error):
        return
    found = _innermost(error)
    parsed = _function_tree(found[0]) if found is not None else None
    if found is None or parsed is None:
        return
    (frame, line), (tree, offset) = found, parsed
    local = dict(frame.f_locals)
    by_name = {s.name: s for s in specs}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "repeat"
                and node.lineno + offset <= line <= (node.end_lineno or node.lineno) + offset):
            continue
        if node.keywords or any(isinstance(a, (ast.Starred, ast.Tuple, ast.List)) for a in node.args):
            continue
        base = _repeat_base(node)
        tensor = local.get(base[0]) if base is not None else None
        spec = by_name.get(fed.get(id(tensor), "")) if isinstance(tensor, torch.Tensor) else None
        if base is None or spec is None or spec.fixed or spec.kind != "float" or spec.batch_dim != 0:
            continue
        rank = len(node.args) - base[1]
        if 2 <= rank < tensor.dim():
            why = f"forward repeats it over {len(node.args)} dimensions ({ast.unparse(node)})"
            yield [replace(s, shape=spec.shape[len(spec.shape) - (rank - 1):], why=why) if s is spec else s for s in specs]
