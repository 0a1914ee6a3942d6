"""How a constructor uses each of its parameters, read from its source (pure Python, ``ast``).

A required parameter gets a value from how it is used, never from nothing: passed into a layer as
``in_features`` or ``kernel_size`` (the callee's own parameter name then says what size it is), a
count in ``range(n)``, a config object read as ``config.hidden_size``, a constant it is compared
with, or only stored (a seed: 0). See construct.py for the values.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import field
from typing import Any, Callable

from initlint.lean import dataclass

#: methods of a list (a config object has none of these fields)
_LIST_METHODS = {"append", "extend", "insert", "reverse", "sort", "copy", "index", "count", "remove"}
#: calls that iterate their one argument (``min(x)`` of a number is a TypeError)
_REDUCES = {"min", "max", "sum", "any", "all", "np.prod", "numpy.prod", "math.prod", "np.sum"}
#: calls that pass a size through unchanged (``int(d * 4)``, ``max(1, d // 2)``)
_PASS_THROUGH = {"int", "round", "max", "min", "abs", "math.ceil", "math.floor", "ceil", "floor"}


@dataclass
class ParamUse:
    """Every way one parameter is used in a function body."""

    name: str
    #: ``param.attr`` reads (a config object); ``get`` and item keys land in ``keys``
    attributes: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    #: ``range(param)``, ``[layer] * param``: a repeat count
    as_count: bool = False
    #: (callee source, position or keyword) for each call it flows into, maybe through arithmetic
    passed_to: list[tuple[str, int | str]] = field(default_factory=list)
    #: the entries of ``passed_to`` where the value itself is the argument (not an item of a
    #: list, not a term of a sum): the callee's use of it tells its kind
    passed_whole: list[tuple[str, int | str]] = field(default_factory=list)
    #: ``param(...)``: a class or function is needed
    called: bool = False
    #: constants it is compared with (``activation == "relu"``)
    compared_to: list[Any] = field(default_factory=list)
    #: iterated, measured with len(), sliced, indexed, unpacked: a sequence
    as_sequence: bool = False
    #: the least length those uses need (``x[3]``: 4; ``h, w = x``: 2), 0 when none says
    length: int = 0
    #: read in a way none of the above describes
    other: bool = False
    #: ``self.x`` attributes it is stored in (``self.fn = fn``), for uses in other methods
    stored_as: set[str] = field(default_factory=set)

    @property
    def config_like(self) -> bool:
        return bool(self.attributes or self.keys)

    @property
    def stored_only(self) -> bool:
        """Only assigned somewhere, tested for truth, or not used at all (a seed, a name)."""
        return not (
            self.config_like or self.as_count or self.passed_to or self.called
            or self.compared_to or self.as_sequence or self.other
        )


def function_tree(function: Callable[..., Any]) -> ast.FunctionDef | None:
    """The ``def`` of ``function`` from its source, or None when the source is not available."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    node = tree.body[0] if tree.body else None
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def parameter_uses(tree: ast.FunctionDef) -> dict[str, ParamUse]:
    """Each parameter's uses in the body of ``tree``, also through local names and ``self.x``
    attributes it was stored in (``self.dim = dim; nn.Linear(self.dim, 10)``)."""
    args = tree.args
    names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    uses = {name: ParamUse(name) for name in names}
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    loads = [n for n in ast.walk(tree) if _loaded_name(n) is not None]
    aliases = {name: name for name in names}
    #: aliases that hold more than the value (``sizes = [dim] + hidden``): not the value itself
    derived: set[str] = set()
    for _ in range(4):  # names stored into other names, a few levels deep
        grown = False
        for node in loads:
            owner = aliases.get(_loaded_name(node) or "")
            if owner is None:
                continue
            consumer, child = _consumer(node, parents)
            if isinstance(consumer, ast.Assign) and len(consumer.targets) == 1:
                target = _stored_name(consumer.targets[0])
                if target and target not in aliases:
                    aliases[target] = owner
                    if child is not node or _loaded_name(node) in derived:
                        derived.add(target)
                    grown = True
                    if target.startswith("self."):
                        uses[owner].stored_as.add(target[5:])
        if not grown:
            break
    for node in loads:
        owner = aliases.get(_loaded_name(node) or "")
        if owner is not None:
            whole = uses[owner].passed_whole[:]
            _classify(node, parents, uses[owner])
            if _loaded_name(node) in derived:
                uses[owner].passed_whole[:] = whole  # a list built around it is passed, not it
    return uses


def _loaded_name(node: ast.AST) -> str | None:
    """``x`` or ``self.x`` when read."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        return node.id
    if (
        isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Name) and node.value.id == "self"
    ):
        return f"self.{node.attr}"
    return None


def _stored_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return f"self.{node.attr}"
    return None


def _source(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except (AttributeError, ValueError):  # pragma: no cover - ast.unparse handles every node
        return ""


def _classify(node: ast.AST, parents: dict[int, ast.AST], use: ParamUse) -> None:
    parent = parents.get(id(node))
    if isinstance(parent, ast.Attribute):
        if parent.attr in ("get", "__getitem__", "pop", "setdefault"):
            call = parents.get(id(parent))
            if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant):
                use.keys.add(str(call.args[0].value))
            return
        if parent.attr in _LIST_METHODS:
            use.as_sequence = True  # ``hidden_dims.reverse()``: a list, not a config
            return
        use.attributes.add(parent.attr)
        return
    if isinstance(parent, ast.Subscript) and parent.value is node:
        key = parent.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            use.keys.add(key.value)
        else:
            use.as_sequence = True
            if isinstance(key, ast.Constant) and isinstance(key.value, int) and not isinstance(key.value, bool):
                use.length = max(use.length, key.value + 1 if key.value >= 0 else -key.value)
        return
    if isinstance(parent, ast.Call) and parent.func is node:
        use.called = True
        return
    if isinstance(parent, ast.Compare):
        constants = [c.value for c in [parent.left, *parent.comparators] if isinstance(c, ast.Constant)]
        for c in parent.comparators:
            if isinstance(c, (ast.Tuple, ast.List, ast.Set)):
                constants.extend(e.value for e in c.elts if isinstance(e, ast.Constant))
        if constants:
            use.compared_to.extend(constants)
        elif not all(isinstance(op, (ast.Is, ast.IsNot)) for op in parent.ops):
            use.other = True
        return
    if isinstance(parent, (ast.If, ast.While, ast.IfExp, ast.BoolOp, ast.UnaryOp)) and _is_test(node, parent):
        return  # truth tests: a flag
    if isinstance(parent, ast.Assign) and parent.value is node and isinstance(parent.targets[0], (ast.Tuple, ast.List)):
        use.as_sequence = True  # ``h, w = resolution``
        use.length = max(use.length, len(parent.targets[0].elts))
        return
    if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and getattr(parent, "value", None) is node:
        return  # stored (``self.seed = seed``)
    if isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is node:
        use.as_sequence = True
        return
    if (isinstance(parent, ast.Call) and _source(parent.func) in _REDUCES and len(parent.args) == 1
            and parent.args[0] is node and not parent.keywords):
        use.as_sequence = True  # ``min(resolution)``, ``np.prod(shape)``: iterated
        return
    consumer, child = _consumer(node, parents)
    if isinstance(consumer, ast.Call):
        callee = _source(consumer.func)
        if callee in ("range",):
            use.as_count = True
        elif callee in ("len", "list", "tuple", "sorted", "reversed", "enumerate", "zip"):
            use.as_sequence = True
        elif callee in ("print", "str", "repr", "bool", "isinstance", "id", "hash", "setattr", "getattr"):
            return
        else:
            position = next((i for i, a in enumerate(consumer.args) if a is child), None)
            keyword = next((k.arg for k in consumer.keywords if k is child and k.arg), None)
            if position is not None or keyword is not None:
                use.passed_to.append((callee, keyword if keyword is not None else position))
                if child is node or (isinstance(child, ast.keyword) and child.value is node):
                    use.passed_whole.append(use.passed_to[-1])
            else:
                use.other = True
        return
    if isinstance(consumer, ast.BinOp) and isinstance(consumer.op, ast.Mult):
        other = consumer.right if consumer.left is child else consumer.left
        if isinstance(other, (ast.List, ast.Tuple, ast.ListComp)):
            use.as_count = True
            return
    if isinstance(consumer, (ast.Compare, ast.Assert, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return)):
        return  # checked, stored or returned after arithmetic: says nothing about the kind
    use.other = True


def _is_test(node: ast.AST, parent: ast.AST) -> bool:
    if isinstance(parent, (ast.If, ast.While, ast.IfExp)):
        return parent.test is node
    if isinstance(parent, ast.UnaryOp):
        return isinstance(parent.op, ast.Not)
    return isinstance(parent, ast.BoolOp)


def _consumer(node: ast.AST, parents: dict[int, ast.AST]) -> tuple[ast.AST | None, ast.AST]:
    """Climb through arithmetic, tuples and size-preserving calls to what consumes the value."""
    child = node
    parent = parents.get(id(child))
    while parent is not None:
        if isinstance(parent, ast.BinOp):
            other = parent.right if parent.left is child else parent.left
            if isinstance(parent.op, ast.Mult) and isinstance(other, (ast.List, ast.Tuple, ast.ListComp)):
                return parent, child
        elif isinstance(parent, ast.Call) and _source(parent.func) in _PASS_THROUGH:
            pass
        elif not isinstance(parent, (ast.UnaryOp, ast.Tuple, ast.List, ast.IfExp, ast.Starred, ast.keyword)):
            return parent, child
        child, parent = parent, parents.get(id(parent))
    return None, child


def attributes_called(cls: type, only: str | None = None) -> set[str]:
    """``self.x`` attributes some method of ``cls`` (or only the method named ``only``) calls
    (``self.fn(x)`` in ``forward``): a constructor argument stored there must be a callable,
    never a number."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return set()
    if only is not None:
        methods = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == only]
        tree = ast.Module(body=methods, type_ignores=[])
    return {
        node.func.attr for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"
    }


def attribute_uses(cls: type, attributes: set[str]) -> ParamUse:
    """How the methods of ``cls`` use the ``self.x`` attributes a constructor argument is stored
    in (``H, W = self.input_resolution`` in ``forward``): one ParamUse for all of them."""
    use = ParamUse("self")
    if not attributes:
        return use
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return use
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    for node in ast.walk(tree):
        name = _loaded_name(node)
        if name and name.startswith("self.") and name[5:] in attributes:
            _classify(node, parents, use)
    return use
