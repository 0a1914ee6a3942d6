"""Recognising an init call: which scheme, spelled how, on which tensor, with which arguments.

``nn.init.uniform_(w, -1, 1)``, ``init.normal_(w, std=0.02)`` (transformers' wrapper),
``trunc_normal_(w, std=.02)`` (timm), ``w.data.normal_(0, 0.02)``, ``w.fill_(0)`` and the
deprecated ``nn.init.normal(w)`` all become one InitCall with the arguments bound to the names
torch.nn.init gives them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from initlint.model.fold import UNKNOWN
from initlint.model.imports import ImportTable, dotted_name

#: torch.nn.init functions and the names of their parameters after the tensor
INIT_SIGNATURES: dict[str, tuple[str, ...]] = {
    "uniform_": ("a", "b"),
    "normal_": ("mean", "std"),
    "trunc_normal_": ("mean", "std", "a", "b"),
    "constant_": ("val",),
    "ones_": (),
    "zeros_": (),
    "eye_": (),
    "dirac_": ("groups",),
    "xavier_uniform_": ("gain",),
    "xavier_normal_": ("gain",),
    "kaiming_uniform_": ("a", "mode", "nonlinearity"),
    "kaiming_normal_": ("a", "mode", "nonlinearity"),
    "orthogonal_": ("gain",),
    "sparse_": ("sparsity", "std"),
}
#: timm.layers.weight_init helpers (trunc_normal_tf_ takes its bounds in std units)
TIMM_SIGNATURES: dict[str, tuple[str, ...]] = {
    "trunc_normal_": ("mean", "std", "a", "b"),
    "trunc_normal_tf_": ("mean", "std", "a", "b"),
    "lecun_normal_": (),
    "variance_scaling_": ("scale", "mode", "distribution"),
}
#: what torch.nn.init (and the tensor methods, and timm) use for an argument a call leaves out
DEFAULTS: dict[str, dict[str, Any]] = {
    "uniform_": {"a": 0.0, "b": 1.0},
    "normal_": {"mean": 0.0, "std": 1.0},
    "trunc_normal_": {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0},
    "trunc_normal_tf_": {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0},
    "xavier_uniform_": {"gain": 1.0},
    "xavier_normal_": {"gain": 1.0},
    "orthogonal_": {"gain": 1.0},
    "kaiming_uniform_": {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"},
    "kaiming_normal_": {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"},
}
#: the non-underscore aliases torch deprecated in 0.4 (torch/nn/init.py: they warn on every call)
DEPRECATED = frozenset(
    {
        "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
        "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
    }
)
#: in-place tensor methods that initialise: method -> (scheme, parameter names)
TENSOR_METHODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "uniform_": ("uniform_", ("a", "b")),
    "normal_": ("normal_", ("mean", "std")),
    "fill_": ("constant_", ("val",)),
    "zero_": ("zeros_", ()),
}
#: how torch.nn.init is reached; the bare spellings cover snippets that never import it
_INIT_MODULES = frozenset({"torch.nn.init", "nn.init", "init"})
#: the last name of every call that can initialise: most calls in a file end in another name
#: and are dismissed by one set lookup (an alias like ``normal_ as nrm`` is resolved first)
_INIT_NAMES = frozenset(INIT_SIGNATURES) | DEPRECATED | frozenset(TIMM_SIGNATURES) | frozenset(TENSOR_METHODS)
_TENSOR_KEYWORDS = {"from": "a", "to": "b", "value": "val"}

#: a file that imports init functions by name can call them under any alias; this token
#: keeps such files in every rule's prefilter (``from torch.nn.init import constant as c``)
IMPORT_TOKEN = "nn.init import"


def call_tokens(*names: str) -> tuple[str, ...]:
    """Prefilter tokens for init functions: ``name(`` (also ``name_`` forms) and IMPORT_TOKEN.

    Sound for every spelling the facts recognise: ``nn.init.normal_(``, ``init.normal(``,
    ``w.normal_(``, an aliased module (``I.normal(``) and names imported from torch.nn.init.
    """
    return (*(f"{name}(" for name in names), IMPORT_TOKEN)


@dataclass(frozen=True)
class Target:
    """The tensor an init writes to: ``self.fc1.weight`` is base ``self``, path ``(fc1, weight)``."""

    base: str
    path: tuple[str, ...]
    text: str

    @property
    def attribute(self) -> str:
        return self.path[-1] if self.path else self.base

    @property
    def role(self) -> str:
        """weight, bias or other, from the attribute name torch or the author gave it."""
        name = self.attribute.lower()
        if "bias" in name:
            return "bias"
        if "weight" in name or name in {"w", "kernel"}:
            return "weight"
        return "other"

    @property
    def owner(self) -> tuple[str, ...]:
        """The path of the module that holds the tensor: ``(fc1,)`` for ``self.fc1.weight``."""
        return self.path[:-1]


@dataclass
class InitCall:
    """One init site, with the context the walk saw around it."""

    scheme: str
    source: str  # torch, timm, transformers or tensor
    spelled: str
    target: Target | None
    arg_nodes: dict[str, cst.BaseExpression]
    node: cst.Call
    deprecated: bool = False
    cls: str | None = None
    function: str | None = None
    narrowed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    loops: tuple[Any, ...] = ()
    conditions: int = 0
    guards: tuple[cst.BaseExpression, ...] = ()  # tests of the ``if`` bodies around the call
    in_no_grad: bool = False
    args: dict[str, Any] = field(default_factory=dict)
    sequence: int = 0  # order of the call in the file, among inits and layer assignments
    statement: tuple[int, int] | None = None  # (block id, index) when the call is a statement
    via_data: bool = False  # written through ``.data`` or ``.detach()``: autograd never sees it

    def value(self, name: str) -> Any:
        """The folded argument ``name`` (UNKNOWN if it does not fold), or torch's default when
        the call leaves it out."""
        if name in self.arg_nodes:
            return self.args.get(name, UNKNOWN)
        return DEFAULTS.get(self.scheme, {}).get(name, UNKNOWN)


def parse_target(node: cst.BaseExpression) -> Target | None:
    """A Name/Attribute/Subscript chain, with ``.data`` and ``.detach()`` dropped."""
    parts: list[str] = []
    current = node
    while True:
        if isinstance(current, cst.Attribute):
            parts.append(current.attr.value)
            current = current.value
        elif isinstance(current, cst.Subscript) and len(current.slice) == 1:
            index = current.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(index.value, (cst.Integer, cst.UnaryOperation)):
                text = _index_text(index.value)
                if text is None:
                    return None
                parts.append(text)
                current = current.value
            else:
                return None
        elif isinstance(current, cst.Name):
            path = tuple(p for p in reversed(parts) if p != "data")
            text = ".".join((current.value, *path))
            return Target(current.value, path, text)
        else:
            return None


def _through_data(node: cst.BaseExpression) -> bool:
    """``w.data.normal_()``, ``w.detach().zero_()``: an in-place write autograd does not track."""
    while isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)):
        if isinstance(node, cst.Attribute) and node.attr.value == "data":
            return True
        if isinstance(node, cst.Call):
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "detach":
                return True
            node = node.func
        else:
            node = node.value
    return False


def _index_text(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Integer):
        return node.value
    if (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    ):
        return "-" + node.expression.value
    return None


def classify(call: cst.Call, imports: ImportTable) -> InitCall | None:
    """The InitCall this call is, or None when it initialises nothing."""
    func = call.func
    kind = type(func)
    if kind is cst.Attribute:
        last = func.attr.value
    elif kind is cst.Name:
        last = imports.names.get(func.value, func.value).rpartition(".")[2]
    else:
        return None
    if last not in _INIT_NAMES:
        return None
    qualified = imports.qualify(func)
    if qualified is not None:
        module, _, name = qualified.rpartition(".")
        head = (dotted_name(func) or "").split(".", 1)[0]
        known_head = head in imports.names or module.startswith("torch")
        found = _library_init(module, name)
        if found is not None:
            scheme, source, names, deprecated = found
            spelled = dotted_name(func) or qualified
            return _bind(call, scheme, source, names, deprecated, spelled, call.args)
        if known_head and module:
            return None
    if isinstance(func, cst.Attribute) and func.attr.value in TENSOR_METHODS:
        scheme, names = TENSOR_METHODS[func.attr.value]
        spelled = "." + func.attr.value
        init = InitCall(scheme, "tensor", spelled, parse_target(func.value), {}, call)
        init.via_data = _through_data(func.value)
        _bind_args(init, names, call.args)
        return init
    return None


def _library_init(module: str, name: str) -> tuple[str, str, tuple[str, ...], bool] | None:
    if module in _INIT_MODULES:
        if name in INIT_SIGNATURES:
            return name, "torch", INIT_SIGNATURES[name], False
        if name in DEPRECATED:
            return name + "_", "torch", INIT_SIGNATURES[name + "_"], True
        return None
    last = module.rsplit(".", 1)[-1]
    if last == "initialization" and name in INIT_SIGNATURES:
        return name, "transformers", INIT_SIGNATURES[name], False
    if name in TIMM_SIGNATURES and ("timm" in module or last in {"weight_init", "layers"}):
        return name, "timm", TIMM_SIGNATURES[name], False
    return None


def _bind(
    call: cst.Call,
    scheme: str,
    source: str,
    names: tuple[str, ...],
    deprecated: bool,
    spelled: str,
    args: Any,
) -> InitCall:
    init = InitCall(scheme, source, spelled, None, {}, call, deprecated=deprecated)
    _bind_args(init, ("tensor", *names), args)
    tensor = init.arg_nodes.pop("tensor", None)
    init.target = parse_target(tensor) if tensor is not None else None
    return init


def _bind_args(init: InitCall, names: tuple[str, ...], args: Any) -> None:
    position = 0
    for arg in args:
        if arg.star:
            return
        if arg.keyword is not None:
            key = arg.keyword.value
            init.arg_nodes[_TENSOR_KEYWORDS.get(key, key)] = arg.value
        elif position < len(names):
            init.arg_nodes[names[position]] = arg.value
            position += 1
