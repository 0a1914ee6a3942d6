"""How many dimensions forward's source says each argument has (pure Python, ``ast``).

The input fitter (fitting.py) reads these facts after a trial fails: ``x.shape[3]``,
``x.size(2)``, ``x.transpose(2, 3)``, ``x[:, :, 0]`` need at least that many dimensions;
``b, c, h, w = x.shape``, ``x.permute(0, 2, 3, 1)`` and an einops pattern
(``rearrange(x, "b c h w -> ...")``) say exactly how many. Only uses before the argument's
name is bound again count (after ``x = self.conv(x)`` the name is another tensor).
"""

from __future__ import annotations

import ast
import re

from initlint.lean import dataclass
from initlint.probe.usage import function_tree

#: methods whose first int argument (or ``dim=``) is a dimension of the tensor they are called on
_DIM_FIRST = {
    "size", "flatten", "softmax", "log_softmax", "mean", "sum", "amax", "amin", "std", "var", "cumsum",
    "squeeze", "unbind", "argmax", "argmin", "norm", "max", "min", "prod", "logsumexp", "narrow", "select",
}
#: methods whose every int argument is a dimension
_DIM_ALL = {"transpose", "swapaxes", "swapdims", "movedim"}
#: methods whose second positional argument is a dimension
_DIM_SECOND = {"chunk", "split", "roll", "gather", "index_select", "repeat_interleave"}
_EINOPS = {"rearrange", "reduce", "repeat", "einops.rearrange", "einops.reduce", "einops.repeat"}


@dataclass
class Rank:
    """What the source says about one argument's number of dimensions (the batch included)."""

    least: int = 0
    exact: int = 0
    why: str = ""
    #: ``for s in styles``: forward iterates it (a sequence of tensors, or a tensor's rows)
    iterated: bool = False

    def need(self) -> int:
        return self.exact or self.least


def forward_ranks(model) -> dict[str, Rank]:
    """argument name -> Rank, for forward's arguments that the source says something about."""
    # forward itself, or the method method_forward.py made the forward of a model without one
    tree = function_tree(getattr(model.forward, "__func__", type(model).forward))
    if tree is None:
        return {}
    names = {a.arg for a in [*tree.args.posonlyargs, *tree.args.args, *tree.args.kwonlyargs]} - {"self"}
    rebound = _first_rebinding(tree, names)
    found: dict[str, Rank] = {}
    for node in ast.walk(tree):
        for name, least, exact, why in _facts(node, names):
            if getattr(node, "lineno", 0) > rebound.get(name, 1 << 30):
                continue
            rank = found.setdefault(name, Rank())
            if exact and not rank.exact:
                rank.exact, rank.why = exact, why
            if least > rank.least:
                rank.least = least
                rank.why = rank.why if rank.exact else why
    for node in ast.walk(tree):
        iterable = node.iter if isinstance(node, (ast.For, ast.comprehension)) else None
        name = _name(iterable, names) if iterable is not None else None
        if name is not None and getattr(iterable, "lineno", 0) <= rebound.get(name, 1 << 30):
            found.setdefault(name, Rank()).iterated = True
    return {k: v for k, v in found.items() if v.need() > 0 or v.iterated}


def _first_rebinding(tree: ast.FunctionDef, names: set[str]) -> dict[str, int]:
    """name -> the line where it is first assigned again (its uses on that line still count)."""
    lines: dict[str, int] = {}
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
            targets = [node.target]
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Name) and leaf.id in names:
                    lines[leaf.id] = min(lines.get(leaf.id, 1 << 30), node.lineno)
    return lines


def _int(node: ast.AST | None) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int(node.operand)
        return -inner if inner is not None else None
    return None


def _least_for(dim: int | None) -> int:
    if dim is None:
        return 0
    return dim + 1 if dim >= 0 else -dim


def _name(node: ast.AST, names: set[str]) -> str | None:
    return node.id if isinstance(node, ast.Name) and node.id in names else None


def _shape_of(node: ast.AST, names: set[str]) -> str | None:
    """``x.shape`` or ``x.size()``: the name ``x``."""
    if isinstance(node, ast.Attribute) and node.attr == "shape":
        return _name(node.value, names)
    if isinstance(node, ast.Call) and not node.args and isinstance(node.func, ast.Attribute) and node.func.attr == "size":
        return _name(node.func.value, names)
    return None


def _facts(node: ast.AST, names: set[str]):
    """(name, least, exact, why) for the rank facts ``node`` states."""
    if isinstance(node, ast.Subscript):
        shape_owner = _shape_of(node.value, names)
        if shape_owner is not None:  # x.shape[2], x.size()[2]
            index = _int(node.slice)
            if index is not None:
                yield shape_owner, _least_for(index), 0, f"forward reads {ast.unparse(node)}"
        owner = _name(node.value, names)
        if owner is not None and isinstance(node.slice, ast.Tuple):  # x[:, :, 0]
            items = node.slice.elts
            if not any(isinstance(i, ast.Constant) and i.value in (None, Ellipsis) for i in items):
                yield owner, len(items), 0, f"forward indexes {ast.unparse(node)}"
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Tuple):
        owner = _shape_of(node.value, names)
        targets = node.targets[0].elts
        if owner is not None and not any(isinstance(t, ast.Starred) for t in targets):  # b, c, h, w = x.shape
            yield owner, 0, len(targets), f"forward unpacks {owner}'s shape into {len(targets)}"
        value = node.value
        if isinstance(value, ast.Tuple) and not any(isinstance(t, ast.Starred) for t in targets):
            starred = [e for e in value.elts if isinstance(e, ast.Starred)]
            if len(starred) == 1 and _shape_of(starred[0].value, names) is not None:  # b, n, d, device = *x.shape, x.device
                owner = _shape_of(starred[0].value, names)
                count = len(targets) - (len(value.elts) - 1)
                if count > 0:
                    yield owner, 0, count, f"forward unpacks {owner}'s shape into {count}"
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = _name(func.value, names)
            if owner is not None:
                yield from _method_facts(owner, func.attr, node)
        callee = ast.unparse(func) if isinstance(func, (ast.Name, ast.Attribute)) else ""
        if callee in _EINOPS and len(node.args) >= 2:
            owner = _name(node.args[0], names)
            pattern = node.args[1]
            if owner is not None and isinstance(pattern, ast.Constant) and isinstance(pattern.value, str):
                count = _einops_rank(pattern.value)
                if count:
                    yield owner, 0, count, f"its einops pattern {pattern.value.split('->')[0].strip()!r}"


def _method_facts(owner: str, method: str, node: ast.Call):
    ints = [_int(a) for a in node.args]
    keyword = {k.arg: _int(k.value) for k in node.keywords if k.arg}
    why = f"forward calls {owner}.{method}({', '.join(ast.unparse(a) for a in node.args)})"
    if method in ("permute",) and ints and all(i is not None for i in ints):
        yield owner, 0, len(ints), why
    elif method in _DIM_ALL:
        yield owner, max((_least_for(i) for i in ints), default=0), 0, why
    elif method in _DIM_FIRST:
        dim = keyword.get("dim", ints[0] if ints else None)
        if method in ("narrow", "select") and ints:
            dim = ints[0]
        yield owner, _least_for(dim), 0, why
    elif method in _DIM_SECOND:
        dim = keyword.get("dim", ints[1] if len(ints) > 1 else None)
        yield owner, _least_for(dim), 0, why


def _einops_rank(pattern: str) -> int:
    """Dimensions on the left of ``->`` (a parenthesised group is one); 0 with ``...``."""
    left = pattern.split("->")[0]
    if "..." in left or "->" not in pattern:
        return 0
    return len(re.findall(r"\([^)]*\)|[^\s()]+", left))
