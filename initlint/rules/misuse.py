"""IL5xx misuse: init code that does not do what its author meant, or warns while doing it."""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from initlint.findings import Effect
from initlint.model.facts import FileFacts
from initlint.model.imports import dotted_name
from initlint.model.inits import DEPRECATED, INIT_SIGNATURES, TENSOR_METHODS, InitCall, call_tokens
from initlint.model.network import applied_function
from initlint.rules.base import Hit, Thresholds, rule


@rule(
    "IL501",
    "deprecated-init-alias",
    Effect.MISUSE,
    "a deprecated non-underscore torch.nn.init alias (warns on every call)",
    call_tokens(*sorted(DEPRECATED)),
)
def deprecated_init_alias(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if not init.deprecated:
            continue
        new = init.spelled + "_"
        yield Hit(
            init.node,
            f"`{init.spelled}` is deprecated in favour of `{new}` and warns on every call",
            {"replacement": new},
            f"call `{new}` (same arguments, in place)",
        )


#: the tokens of every init spelling: rules about init code in general
ANY_INIT = call_tokens(*INIT_SIGNATURES, *TENSOR_METHODS)
_INPLACE_TOKENS = (".normal_(", ".uniform_(", ".fill_(", ".zero_(")


def _parameter_target(facts: FileFacts, init: InitCall) -> str | None:
    """Why the target is a parameter (a leaf that requires grad), or None if not known to be."""
    target = init.target
    if target is None:
        return None
    if target.role in {"weight", "bias"} and facts.reach(init) and target.attribute in {"weight", "bias"}:
        return "a layer parameter"
    if target.base == "self" and len(target.path) == 1 and init.cls in facts.classes:
        member = facts.classes[init.cls].members.get(target.path[0], "")
        if member.endswith("Parameter"):
            return "an nn.Parameter"
    for loop in init.loops:
        if target.base in loop.names and loop.over in {"parameters", "named_parameters"} and not target.path:
            return "a parameter"
    return None


def _runs_under_no_grad(facts: FileFacts, init: InitCall) -> bool | None:
    """True/False when every caller in the file is (not) under no_grad; None when unknown."""
    if init.in_no_grad:
        return True
    info = facts.function_of(init)
    if info is None:
        return None
    if info.no_grad:
        return True
    if info.name == "__init__":
        return False
    sites = [c.in_no_grad for c in facts.calls if c.callee == info.name]
    sites += [a.in_no_grad for a in facts.applies if applied_function(a.fn) == info.name]
    if not sites:
        return None
    return all(sites)


@rule(
    "IL502",
    "inplace-init-with-grad",
    Effect.MISUSE,
    "an in-place tensor method on a parameter outside torch.no_grad(): RuntimeError",
    _INPLACE_TOKENS,
)
def inplace_init_with_grad(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if init.source != "tensor" or init.via_data:
            continue
        kind = _parameter_target(facts, init)
        if kind is None or _runs_under_no_grad(facts, init) is not False:
            continue
        method = init.spelled
        yield Hit(
            init.node,
            f"`{init.target.text}{method}(...)` writes in place to {kind}, a leaf tensor that "
            "requires grad, outside torch.no_grad(): PyTorch raises \"a leaf Variable that "
            "requires grad is being used in an in-place operation\" when this runs",
            {"method": method, "raises": "leaf Variable"},
            f"use nn.init (it runs under no_grad), wrap the code in `with torch.no_grad():`, "
            f"or write through `{init.target.text}.data{method}(...)`",
        )


@rule(
    "IL503",
    "apply-called-init",
    Effect.MISUSE,
    "model.apply(init_fn()) calls the init function instead of passing it",
    ANY_INIT,  # the function it calls initialises
)
def apply_called_init(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for site in facts.applies:
        fn = site.fn
        if not isinstance(fn, cst.Call) or not isinstance(fn.func, (cst.Name, cst.Attribute)):
            continue
        name = (dotted_name(fn.func) or "").rsplit(".", 1)[-1]
        info = facts.functions.get((site.cls, name)) or facts.functions.get((None, name))
        if info is None or info.returns_value:
            continue  # a factory that returns the function to apply is fine
        if not any(init.function == name for init in facts.inits):
            continue  # not an init function: apply() misuse is not ours to report
        yield Hit(
            site.node,
            f"`{site.receiver}.apply({facts.code(fn)})` calls `{name}` once and passes what it "
            f"returns (None) to apply: `{name}` returns nothing, so apply fails or, if the call "
            "raised first, never initialises anything",
            {"function": name},
            f"pass the function itself: `{site.receiver}.apply({facts.code(fn.func)})`",
        )


@rule(
    "IL504",
    "init-in-forward",
    Effect.MISUSE,
    "an init inside forward(): the weights are redrawn on every call and never learn",
    ANY_INIT,
)
def init_in_forward(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if init.function != "forward" or init.cls is None:
            continue
        if init.conditions:
            continue  # a reset under a condition (a quantizer's zero_point in symmetric mode)
        if _parameter_target(facts, init) is None:
            continue  # noise buffers (NoisyNet's epsilon) are meant to be resampled
        yield Hit(
            init.node,
            f"`{init.target.text}` is initialised inside `{init.cls}.forward`: every forward "
            "pass overwrites what the optimizer learned, so the layer never trains",
            {"class": init.cls},
            "move the init to __init__ (or a _init_weights method called from there)",
        )


#: methods that frameworks call for you: Hugging Face post_init, mmengine, torch's own convention
_FRAMEWORK_HOOKS = frozenset(
    {"_init_weights", "init_weights", "reset_parameters", "_reset_parameters", "_initialize_weights_hook"}
)


@rule(
    "IL505",
    "init-never-applied",
    Effect.MISUSE,
    "an init function or method that nothing in the file calls or applies",
    ANY_INIT,
)
def init_never_applied(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    script = "__main__" in facts.text
    seen: set[tuple[str | None, str]] = set()
    for init in facts.inits:
        info = facts.function_of(init)
        if info is None or (info.cls, info.name) in seen:
            continue
        seen.add((info.cls, info.name))
        if info.name in _FRAMEWORK_HOOKS or info.name == "forward" or info.name.startswith("__"):
            continue
        if not (script or (info.cls is not None and info.name.startswith("_"))):
            continue  # other modules may call public methods and any function, even _private
        if init.target is None:
            continue  # torch.empty(shape).normal_(): sampling a new tensor, not initialising one
        if info.cls is not None and info.cls not in facts.classes:
            continue
        if facts.mentions(info.name) > 1:
            continue
        where = f"`{info.cls}.{info.name}`" if info.cls else f"`{info.name}`"
        yield Hit(
            info.node.name,
            f"{where} initialises weights, but nothing in this file calls or applies it: the "
            "model keeps PyTorch's default init",
            {"function": info.name},
            "call it at the end of __init__ (`self." + info.name + "()`), or "
            f"`model.apply({info.name})`",
        )


@rule(
    "IL506",
    "init-overwritten",
    Effect.MISUSE,
    "the same tensor is initialised twice in a row: the first init is dead code",
    ANY_INIT,
)
def init_overwritten(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    previous: InitCall | None = None
    for init in facts.inits:
        if (
            previous is not None
            and init.statement is not None
            and previous.statement is not None
            and init.statement[0] == previous.statement[0]
            and init.statement[1] == previous.statement[1] + 1
            and init.target is not None
            and previous.target is not None
            and init.target.text == previous.target.text
            and init.guards == previous.guards
            and init.target.text not in facts.partial_writes
            and init.scheme not in {"sparse_"}
        ):
            yield Hit(
                previous.node,
                f"`{previous.target.text}` is initialised by {previous.spelled} and then at once "
                f"again by {init.spelled} on the next line: only the second one takes effect",
                {"overwritten_by": init.spelled},
                "delete the first init, or the second if the first was the one you meant",
            )
        previous = init


@rule(
    "IL507",
    "init-then-replaced",
    Effect.MISUSE,
    "a layer is initialised and then replaced by a new layer, which keeps the default init",
    ANY_INIT,
)
def init_then_replaced(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        target = init.target
        if target is None or target.base != "self" or not target.owner:
            continue
        owner = target.owner[0]
        for assignment in facts.assignments:
            if (
                assignment.cls == init.cls
                and assignment.function == init.function
                and assignment.name == owner
                and assignment.sequence > init.sequence
            ):
                yield Hit(
                    init.node,
                    f"`{target.text}` is initialised here, but `self.{owner}` is assigned a new "
                    f"module later in `{init.function}`: the new one has PyTorch's default init "
                    "and this init is lost",
                    {"layer": owner},
                    f"initialise `self.{owner}` after its last assignment",
                )
                break
