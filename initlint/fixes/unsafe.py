"""Unsafe fixes: they change how the model starts, so they are shown and applied only with
``--unsafe-fixes``.

- IL201/IL202/IL203/IL301/IL302: the scheme becomes the fan-in-scaled one for the activation
  that follows (``details["activation"]``): kaiming with ``nonlinearity=`` for the ReLU family,
  xavier with ``gain=calculate_gain(...)`` for tanh and sigmoid, kaiming with
  ``nonlinearity='linear'`` when nothing follows. Without a known activation: no fix.
- IL303: ``nonlinearity=`` / ``calculate_gain(...)`` names the activation that follows.
- IL401: the bias is initialised (to zero) right after the weight, in the same branch.
- IL205, IL209: trunc_normal_'s bounds become ``mean +- k * std``.
- IL506: the dead first init is removed (its comments move to the init that wins).
"""

from __future__ import annotations

import libcst as cst

from initlint.fixes.base import Change, FixContext
from initlint.fixes.calls import Imports, code, quote_of, simple, statement_of, view_call

_RELU = frozenset({"relu", "leaky_relu"})
_SATURATING = frozenset({"tanh", "sigmoid"})
_LINEAR = frozenset({"identity", "linear"})
#: canonical activation -> the name torch.nn.init.calculate_gain takes
GAIN_NAMES = {"relu": "relu", "leaky_relu": "leaky_relu", "tanh": "tanh", "sigmoid": "sigmoid",
              "selu": "selu", "identity": "linear", "linear": "linear"}
_TORCH_INIT = "torch.nn.init"


def _init_path(view, imports: Imports) -> str | None:
    """How to spell the module of the new init function: the call's own module when it is
    torch.nn.init (or transformers' wrapper of it), else this file's spelling of torch.nn.init."""
    if view.path is not None:
        origin = imports.resolve(view.path)
        if origin in (_TORCH_INIT, "init", "nn.init") or origin.endswith("initialization"):
            return view.path
    return imports.spelling_of(_TORCH_INIT)


def fan_in_scheme(ctx: FixContext) -> Change | None:
    """IL201/IL202/IL203/IL301/IL302: the fan-in-scaled init for the activation that follows."""
    activation = ctx.details.get("activation")
    call = ctx.node
    if not isinstance(call, cst.Call) or not isinstance(activation, str):
        return None
    imports = Imports(ctx.module)
    view = view_call(call, imports)
    if view is None or view.tensor is None:
        return None
    path = _init_path(view, imports)
    torch_init = imports.spelling_of(_TORCH_INIT) or path
    if path is None:
        return None
    tensor = code(ctx.module, view.tensor)
    family = "uniform" if "uniform" in view.name else "normal"
    quote = quote_of(ctx.module, call)
    if activation in _RELU:
        slope = ctx.details.get("slope")
        a = f"a={slope!r}, " if activation == "leaky_relu" and isinstance(slope, (int, float)) else ""
        new = f"{path}.kaiming_{family}_({tensor}, {a}nonlinearity={quote}{activation}{quote})"
        message = f"use He init for the `{activation}` that follows: kaiming_{family}_(..., nonlinearity={quote}{activation}{quote})"
    elif activation in _SATURATING:
        if torch_init is None:
            return None
        new = f"{path}.xavier_{family}_({tensor}, gain={torch_init}.calculate_gain({quote}{activation}{quote}))"
        message = f"use Glorot init with the gain of the `{activation}` that follows"
    elif activation in _LINEAR:
        new = f"{path}.kaiming_{family}_({tensor}, nonlinearity={quote}linear{quote})"
        message = "use a fan-in-scaled init (variance 1 / fan_in): nothing non-linear follows"
    else:
        return None  # no standard fan-in-scaled scheme for this activation: no guess
    replacement = cst.parse_expression(new).with_changes(lpar=call.lpar, rpar=call.rpar)
    return Change(message, {call: replacement})


def matching_nonlinearity(ctx: FixContext) -> Change | None:
    """IL303: name the activation that follows in ``nonlinearity=`` or ``calculate_gain()``."""
    used = GAIN_NAMES.get(ctx.details.get("activation"))  # type: ignore[arg-type]
    call = ctx.node
    if used is None or not isinstance(call, cst.Call):
        return None
    view = view_call(call, Imports(ctx.module))
    if view is None:
        return None
    if "nonlinearity" in view.args:
        string = view.args["nonlinearity"].value
    elif "gain" in view.args:
        string = _gain_name_string(view.args["gain"].value)
    else:
        return None
    if not isinstance(string, cst.SimpleString):
        return None
    quote = string.quote
    new = cst.SimpleString(f"{string.prefix}{quote}{used}{quote}")
    return Change(f"name the activation that follows: {quote}{used}{quote}", {string: new})


def _gain_name_string(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """The string argument of ``...calculate_gain('relu')``."""
    if isinstance(node, cst.Call) and node.args:
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
        if name == "calculate_gain":
            return node.args[0].value
    return None


def add_bias_init(ctx: FixContext) -> Change | None:
    """IL401: ``if m.bias is not None: init.zeros_(m.bias)`` right after the weight's init."""
    call = ctx.node
    if not isinstance(call, cst.Call):
        return None
    imports = Imports(ctx.module)
    view = view_call(call, imports)
    placed = statement_of(call, ctx.ancestors)
    if view is None or view.tensor is None or placed is None:
        return None
    tensor = view.tensor
    if isinstance(tensor, cst.Attribute) and tensor.attr.value == "data":
        tensor = tensor.value
    if not (isinstance(tensor, cst.Attribute) and tensor.attr.value == "weight"):
        return None
    owner = code(ctx.module, tensor.value)
    path = _init_path(view, imports)
    zero = f"{path}.zeros_({owner}.bias)" if path is not None else f"{owner}.bias.data.zero_()"
    line, _ = placed
    statement = cst.parse_statement(f"if {owner}.bias is not None:\n    {zero}\n")
    return Change(f"initialise the bias too: `{zero}`", {line: cst.FlattenSentinel([line, statement])})


def scale_truncation(ctx: FixContext) -> Change | None:
    """IL205, IL209: bounds meant in std units become absolute: ``a=-2 * std`` (around the mean)."""
    call = ctx.node
    if not isinstance(call, cst.Call):
        return None
    view = view_call(call, Imports(ctx.module))
    if view is None or view.name != "trunc_normal_" or "std" not in view.args:
        return None
    std = code(ctx.module, view.args["std"].value).strip()
    std = std if simple(std) else f"({std})"
    mean_arg = view.args.get("mean")
    mean = code(ctx.module, mean_arg.value).strip() if mean_arg is not None else None
    if mean in ("0", "0.0", "0."):
        mean = None
    scaled = {}
    for key, default in (("a", "-2.0"), ("b", "2.0")):
        bound = code(ctx.module, view.args[key].value).strip() if key in view.args else default
        scaled[key] = _scaled_bound(bound, std, mean)
    args = list(call.args)
    for key in ("a", "b"):
        arg = view.args.get(key)
        if arg is not None:
            position = next(i for i, item in enumerate(args) if item is arg)
            args[position] = arg.with_changes(value=cst.parse_expression(scaled[key]))
    for key in ("a", "b"):
        if key not in view.args:
            if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
                args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(cst.Arg(
                value=cst.parse_expression(scaled[key]),
                keyword=cst.Name(key),
                equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
            ))
    return Change(f"bounds in absolute units: a={scaled['a']}, b={scaled['b']}", {call: call.with_changes(args=args)})


def _scaled_bound(bound: str, std: str, mean: str | None) -> str:
    negative = bound.startswith("-")
    magnitude = bound[1:].strip() if negative else bound
    if not simple(magnitude):
        magnitude = f"({magnitude})"
    term = f"{magnitude} * {std}"
    if mean is not None:
        return f"{mean} {'-' if negative else '+'} {term}"
    return f"-{term}" if negative else term


def remove_dead_init(ctx: FixContext) -> Change | None:
    """IL506: delete the first of two inits of the same tensor; the comments above it stay."""
    call = ctx.node
    placed = statement_of(call, ctx.ancestors)
    if placed is None:
        return None
    line, block = placed
    body = list(block.body)
    index = next(i for i, item in enumerate(body) if item is line)
    if index + 1 >= len(body):
        return None
    following = body[index + 1]
    moved = following.with_changes(leading_lines=[*line.leading_lines, *following.leading_lines])
    return Change("delete the first init, which the next line overwrites", {line: cst.RemovalSentinel.REMOVE, following: moved})
