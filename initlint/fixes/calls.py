"""Reading an init call the way a fix needs it: its spelling, its arguments, its statement.

Deliberately small and independent of ``initlint.model`` (being rewritten): a fix only needs to
know how this file spells ``torch.nn.init`` and ``torch``, which argument is which, and whether the
call is a statement of its own.
"""

from __future__ import annotations


import libcst as cst

from initlint.lean import dataclass

#: torch.nn.init's parameters after the tensor (the tensor methods take the same, without it)
SIGNATURES: dict[str, tuple[str, ...]] = {
    "uniform_": ("a", "b"),
    "normal_": ("mean", "std"),
    "trunc_normal_": ("mean", "std", "a", "b"),
    "xavier_uniform_": ("gain",),
    "xavier_normal_": ("gain",),
    "kaiming_uniform_": ("a", "mode", "nonlinearity"),
    "kaiming_normal_": ("a", "mode", "nonlinearity"),
    "orthogonal_": ("gain",),
    "constant_": ("val",),
    "zeros_": (),
    "ones_": (),
}
#: spellings of torch.nn.init that snippets use without importing it
_BARE_INIT = frozenset({"init", "nn.init", "torch.nn.init"})
#: keyword spellings of the tensor methods (``w.uniform_(from=-1, to=1)``)
_METHOD_KEYWORDS = {"from": "a", "to": "b", "value": "val"}
#: modules whose functions take the tensor first, like torch.nn.init
_INIT_MODULE_ENDINGS = ("torch.nn.init", "initialization", "timm.layers", "timm.layers.weight_init",
                        "timm.models.layers", "timm.models.layers.weight_init")


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` of a Name/Attribute chain, None for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr.value}" if head is not None else None
    return None


class Imports:
    """The module-level bindings of imported modules and names: alias -> dotted origin."""

    def __init__(self, module: cst.Module) -> None:
        self.aliases: dict[str, str] = {}
        self.from_imports: list[cst.ImportFrom] = []
        for statement in module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        name = dotted(alias.name) or ""
                        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                            self.aliases[alias.asname.name.value] = name
                        else:
                            head = name.split(".", 1)[0]
                            self.aliases.setdefault(head, head)
                elif isinstance(small, cst.ImportFrom) and small.module is not None:
                    self.from_imports.append(small)
                    origin = "." * len(small.relative) + (dotted(small.module) or "")
                    if isinstance(small.names, cst.ImportStar):
                        continue
                    for alias in small.names:
                        name = dotted(alias.name) or ""
                        bound = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
                        self.aliases[bound] = f"{origin}.{name}"

    def resolve(self, spelled: str) -> str:
        head, _, rest = spelled.partition(".")
        origin = self.aliases.get(head, head)
        return f"{origin}.{rest}" if rest else origin

    def spelling_of(self, target: str) -> str | None:
        """How this file can spell module ``target`` (``torch.nn.init``), shortest first."""
        found = []
        for alias, origin in self.aliases.items():
            if origin == target:
                found.append(alias)
            elif target.startswith(origin + "."):
                found.append(alias + target[len(origin):])
        return min(found, key=len) if found else None

    def star_imports(self, module: str) -> bool:
        return any(
            isinstance(item.names, cst.ImportStar) and dotted(item.module) == module for item in self.from_imports
        )


@dataclass(frozen=True)
class InitCallView:
    """An init call as a fix reads it: the function's last name, where it comes from, the
    tensor and the bound arguments (name -> Arg)."""

    call: cst.Call
    name: str
    #: the module path as spelled (``nn.init``), None for a bare name or a tensor method
    path: str | None
    method: bool
    tensor: cst.BaseExpression | None
    args: dict[str, cst.Arg]


def view_call(call: cst.Call, imports: Imports) -> InitCallView | None:
    """Bind the call's arguments to torch.nn.init's names; None when the call is not readable
    (``*args``, an unknown function)."""
    func = call.func
    if isinstance(func, cst.Name):
        origin = imports.resolve(func.value)
        name = origin.rsplit(".", 1)[-1]
        path, method = None, False
    elif isinstance(func, cst.Attribute):
        name = func.attr.value
        spelled = dotted(func.value)
        origin = imports.resolve(spelled) if spelled is not None else None
        method = origin is None or not (origin.endswith(_INIT_MODULE_ENDINGS) or origin in _BARE_INIT)
        path = None if method else spelled
    else:
        return None
    base = name if name.endswith("_") else name + "_"
    if base not in SIGNATURES:
        return None
    names = SIGNATURES[base] if method else ("tensor", *SIGNATURES[base])
    bound: dict[str, cst.Arg] = {}
    position = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is not None:
            key = arg.keyword.value
            bound[_METHOD_KEYWORDS.get(key, key) if method else key] = arg
        elif position < len(names):
            bound[names[position]] = arg
            position += 1
        else:
            return None
    if method:
        tensor = func.value if isinstance(func, cst.Attribute) else None
    else:
        tensor_arg = bound.pop("tensor", None)
        tensor = tensor_arg.value if tensor_arg is not None else None
    return InitCallView(call, name, path, method, tensor, bound)


def code(module: cst.Module, node: cst.CSTNode) -> str:
    return module.code_for_node(node)


def statement_of(call: cst.CSTNode, ancestors: tuple[cst.CSTNode, ...]) -> tuple[cst.SimpleStatementLine, cst.CSTNode] | None:
    """The line ``call`` is the whole of (``nn.init.x(w)`` alone on its line) and the block
    that holds the line (an IndentedBlock or the Module); None otherwise."""
    if len(ancestors) < 3:
        return None
    expression, line, block = ancestors[-1], ancestors[-2], ancestors[-3]
    if not isinstance(expression, cst.Expr) or expression.value is not call:
        return None
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    if not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return None
    return line, block


def quote_of(module: cst.Module, call: cst.Call) -> str:
    """The quote character the call (or else the file) uses for strings."""
    text = module.code_for_node(call)
    for char in text:
        if char in "'\"":
            return char
    return '"'


def simple(expression_code: str) -> bool:
    """Whether ``expression_code`` can stand next to ``*`` without parentheses."""
    try:
        node = cst.parse_expression(expression_code)
    except cst.ParserSyntaxError:
        return False
    return isinstance(node, (cst.Name, cst.Attribute, cst.Integer, cst.Float, cst.Call, cst.Subscript))
