"""IL1xx symmetry: constant weights on a hidden layer keep its units identical.

If all weights of a layer share one value, every unit computes the same output and receives
the same gradient; with zeros the input's signal also stops there. Whether a constant is a bug
is decided by the layer's role in the evaluated forward (model/graph.py): zeros before a
residual sum, a gate, an attention product or the model's output are designs (zero-init
residual branches, adaLN-Zero, LoRA's B, output heads); only a layer whose output feeds
nothing but other layers is hidden. Frozen tensors have no symmetry to break.
"""

from __future__ import annotations

from typing import Iterable

from initlint import theory
from initlint.findings import Effect, Prediction
from initlint.model.effective import by_author, established, trainable
from initlint.model.facts import EntryFacts, FileFacts
from initlint.model.graph import tensor_role, terminals
from initlint.model.tensors import Tensor, Write
from initlint.model.values import FlowNode, Module, Sym, is_number
from initlint.model.tokens import INIT_TOKENS
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.support import anchor, layer_name, live, model_of, named, target_text

TOKENS = INIT_TOKENS
_FIX = (
    "draw the weights at random: nn.init.kaiming_uniform_(w, nonlinearity='relu') before ReLU, "
    "nn.init.xavier_uniform_(w) before tanh; zero only the last layer of a residual branch or head"
)
fmt = theory.format_number


def constant_weight(tensor: Tensor) -> tuple[Write, float] | None:
    """The author's write that leaves a trainable weight at one constant, if established."""
    if not trainable(tensor):
        return None
    write = established(tensor)
    if write is None or not by_author(write):
        return None
    value = write.dist.constant
    return (write, value) if value is not None else None


def zero_pairs(entry: EntryFacts) -> list[tuple[FlowNode, FlowNode]]:
    """(first, second): zero layers where the second reads the first's output directly (found
    once per entry: IL101 and IL103 ask)."""
    return entry.derive("zero_pairs", lambda: _zero_pairs(entry))


def _zero_pairs(entry: EntryFacts) -> list[tuple[FlowNode, FlowNode]]:
    pairs = []
    for first in entry.graph:
        if first.op != "layer" or first.tensor is None:
            continue
        found = constant_weight(first.tensor.root)
        if found is None or found[1] != 0:
            continue
        ends = terminals(first)
        if len(ends) != 1 or ends[0].op != "layer" or ends[0].tensor is None:
            continue
        second = ends[0]
        other = constant_weight(second.tensor.root)
        if other is not None and other[1] == 0 and second.tensor.root is not first.tensor.root:
            pairs.append((first, second))
    return pairs


def _every_parameter_write(entry: EntryFacts) -> dict[int, tuple[str, Module]]:
    """Writes that set every trainable parameter of a model to one constant (IL102's; found
    once per entry: IL101, IL102 and IL103 ask)."""
    return entry.derive("every_parameter", lambda: _every_parameter_write_of(entry))


def _every_parameter_write_of(entry: EntryFacts) -> dict[int, tuple[str, Module]]:
    found: dict[int, tuple[str, Module]] = {}
    for name, model in entry.models.items():
        write = _one_constant_write(_trainable_parameters(entry, model))
        if write is not None:
            found[id(write.place.node)] = (name, model)
    return found


def _one_constant_write(tensors: list[Tensor]) -> Write | None:
    """The one statement that set all of ``tensors`` (two or more) to one constant, if any."""
    if len(tensors) < 2:
        return None
    first: Write | None = None
    for tensor in tensors:
        write = established(tensor)
        if write is None or not by_author(write) or write.dist.constant is None:
            return None
        if first is None:
            first = write
        elif write.place.node is not first.place.node or not _same(write.dist.constant, first.dist.constant):
            return None
    return first


def _same(a: float, b: float) -> bool:
    return a is b or a == b  # as a set compares them


def _trainable_parameters(entry: EntryFacts, model: Module) -> list[Tensor]:
    return entry.derive(("trainable_parameters", id(model)), lambda: [t for t in _parameters(model) if trainable(t)])


def _parameters(model: Module, depth: int = 0) -> list[Tensor]:
    found = [t for t in model.params.values() if isinstance(t, Tensor)]
    if depth < 32:
        for child in model.modules.values():
            if isinstance(child, Module):
                found.extend(_parameters(child, depth + 1))
    return found


@rule(
    "IL101",
    "constant-weight-init",
    Effect.SYMMETRY,
    "a hidden layer's weight is set to a constant, so its units stay identical",
    TOKENS,
)
def constant_weight_init(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        paired = {id(n.tensor.root) for pair in zero_pairs(entry) for n in pair}
        whole = _every_parameter_write(entry)
        done: set[int] = set()
        for node in entry.graph:
            if node.op != "layer" or node.tensor is None:
                continue
            tensor = node.tensor.root
            if id(tensor) in done or id(tensor) in paired:
                continue
            done.add(id(tensor))
            found = constant_weight(tensor)
            if found is None:
                continue
            write, value = found
            if id(write.place.node) in whole or tensor_role(entry.graph, tensor) != "hidden":
                continue
            if node.module is not None and _unit_per_group(node.module):
                continue  # no two units share an input: each computes its own channel
            at = anchor(facts, write.drawn.frames)
            if at is None:
                continue
            yield _hit(facts, entry, node, tensor, write, value, at)


def _unit_per_group(layer: Module) -> bool:
    """A grouped convolution with one output channel per group (depthwise: ``groups`` equal to
    ``out_channels``): each unit reads only its own input channels, so a constant kernel (a
    learnable average pool) leaves no two units alike. Sizes left open count when they are
    the same value (``groups=dim, out_channels=dim``)."""
    groups, out = layer.args.get("groups"), layer.args.get("out_channels")
    return (
        layer.kind.startswith("Conv") and not layer.kind.startswith("ConvTranspose")
        and all(is_number(size) or isinstance(size, Sym) for size in (groups, out)) and groups == out
    )


def _hit(facts: FileFacts, entry: EntryFacts, node: FlowNode, tensor: Tensor, write: Write, value: float, at) -> Hit:
    shape = tensor.shape
    units = shape[0] if isinstance(shape, tuple) and shape and is_number(shape[0]) else None
    owner = layer_name(facts, entry, tensor)
    unit_text = f"all {fmt(units)} units" if units else "all units"
    fan = node.fan_in
    if value == 0:
        gain: float | None = 0.0
        effect = "the output carries no input signal (variance gain x0)"
    else:
        gain = fan * value * value if is_number(fan) else None
        effect = (
            f"variance gain {fmt(gain)} per layer" if gain is not None
            else f"variance gain fan-in x {fmt(value * value)}"
        )
    model, path = model_of(entry, tensor, facts)
    return Hit(
        at,
        f"{named(target_text(write), tensor)} is set to the constant {fmt(value)}: {unit_text} of "
        f"`{owner}` compute the same output and get the same gradient, and its output feeds "
        f"only other layers, so they stay (nearly) identical; {effect}",
        {"value": value, "units": units, "predicted_gain": gain, "layer": owner},
        _FIX,
        Prediction(model=model, layers=(path,) if path else (), gain=gain, symmetric=True),
    )


@rule(
    "IL102",
    "constant-all-parameters",
    Effect.SYMMETRY,
    "every parameter of a model is set to one constant",
    TOKENS,
)
def constant_all_parameters(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        for node_id, (name, model) in _every_parameter_write(entry).items():
            tensors = _trainable_parameters(entry, model)
            hidden = [t for t in tensors if tensor_role(entry.graph, t) == "hidden"]
            if not hidden:
                continue  # one layer at zero (a linear model) learns like any other
            write = established(tensors[0])
            at = anchor(facts, write.drawn.frames)
            if at is None:
                continue
            value = write.dist.constant
            yield Hit(
                at,
                f"every parameter of `{name}` ({len(tensors)} tensors) is set to {fmt(value)} "
                f"here: the units of every layer compute the same output and get the same "
                "gradient, so the model learns like one unit per layer"
                + ("; with zero weights the output carries no input signal (variance gain x0)" if value == 0 else ""),
                {"value": value, "predicted_gain": 0.0 if value == 0 else None, "every_layer": True},
                "loop over modules with isinstance checks and draw weights at random "
                "(kaiming/xavier); set only biases and norm parameters to constants",
                Prediction(model=name, gain=0.0 if value == 0 else None, symmetric=True, every_layer=True),
            )


@rule(
    "IL103",
    "zero-branch",
    Effect.SYMMETRY,
    "two consecutive layers both zero: neither gets a gradient, the branch stays dead",
    TOKENS,
)
def zero_branch(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        whole = _every_parameter_write(entry)
        for first, second in zero_pairs(entry):
            write = established(second.tensor.root)
            if id(write.place.node) in whole:
                continue  # every parameter constant: IL102
            at = anchor(facts, write.drawn.frames)
            if at is None:
                continue
            a, b = layer_name(facts, entry, first.tensor.root), layer_name(facts, entry, second.tensor.root)
            model, path_a = model_of(entry, first.tensor.root, facts)
            _, path_b = model_of(entry, second.tensor.root, facts)
            yield Hit(
                at,
                f"`{a}` and `{b}` are both zero and `{b}` reads `{a}`'s output: the gradient of "
                "each is a product with the other's zero weights, so neither ever moves and the "
                "branch stays dead (LoRA zeroes only B and draws A at random)",
                {"layers": [a, b]},
                f"draw `{a}` at random (kaiming_uniform_) and keep only `{b}` at zero",
                Prediction(model=model, layers=tuple(p for p in (path_a, path_b) if p), symmetric=True),
            )
