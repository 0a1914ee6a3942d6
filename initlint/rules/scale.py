"""IL2xx scale: weight ranges whose predicted per-layer variance gain is far from 1.

A layer with fan-in n and weights of second moment E[W^2] multiplies the second moment of its
input by G = n * E[W^2] (theory.py). U(-100, 100) has E[W^2] = 3.3e3, so at fan-in 128 the gain
is 4.3e5 per layer (std x650) where PyTorch's default gives 1/3. The fan-in comes from the
evaluated weight's shape; where it is a size the code leaves open, the rule fires only when the
gain exceeds the limit for every fan-in (E[W^2] alone does). Embeddings are looked up, not
multiplied with an input, so they have no gain.
"""

from __future__ import annotations

import math
from typing import Iterable

from initlint import theory
from initlint.findings import Effect, Prediction
from initlint.model.activations import BOUNDED
from initlint.model.dists import Dist, Normal, TruncNormal, Uniform, fans
from initlint.model.effective import by_author, established, second_moment, trainable
from initlint.model.facts import EntryFacts, FileFacts
from initlint.model.graph import following_activation, next_layer, right_after, right_before, role, tensor_nodes
from initlint.model.tensors import Tensor, Write
from initlint.model.values import describe, is_number
from initlint.model.tokens import INIT_TOKENS
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.gains import Stack, Step, layer_label, layer_patterns, model_name, names, stacks
from initlint.rules.support import anchor, fan_in_text, live, model_of, named, node_role, target_text

fmt = theory.format_number
_MULTIPLIED = frozenset({"dense", "conv", "recurrent"})
_TOKENS = INIT_TOKENS


def weights(entry: EntryFacts) -> list[tuple[Tensor, object | None]]:
    """Trainable tensors that multiply a signal: applied as a layer's weight in the graph, or
    the weight of a torch Linear/Conv/RNN (whose only use is that), with the node if any.
    Found once per entry: five rules ask."""
    return entry.derive("weights", lambda: _weights(entry))


def _weights(entry: EntryFacts) -> list[tuple[Tensor, object | None]]:
    found: list[tuple[Tensor, object | None]] = []
    seen: set[int] = set()
    for node in entry.graph:
        if node.op == "layer" and node.tensor is not None and id(node.tensor.root) not in seen:
            seen.add(id(node.tensor.root))
            found.append((node.tensor.root, node))
    for write in entry.writes:
        tensor = write.tensor
        if tensor is None or id(tensor) in seen:
            continue
        owner = tensor.owner
        if owner is not None and owner.family in _MULTIPLIED and tensor.name.startswith("weight"):
            seen.add(id(tensor))
            found.append((tensor, None))
    return found


def _unfollowed_layers(facts: FileFacts) -> set[int]:
    """The creation sites of weights some entry applied only where the evaluator cannot follow
    (see _scale_rule): an entry whose forward did not reach them knows no better."""
    found: set[int] = set()
    for entry in live(facts):
        for node in entry.graph:
            if node.op == "layer" and node.tensor is not None and node.tensor.made is not None and node_role(entry, node) == "unknown":
                found.add(id(node.tensor.made.node))
    return found


def _activation_details(node) -> dict:
    """The activation right after the layer, for the fan-in-scaled fix (fixes/unsafe.py); a
    layer that feeds the next without one is "linear"; nothing when the graph does not say."""
    if node is None:
        return {}
    activation = following_activation(node)
    if activation is not None:
        return {"activation": activation.name, "slope": activation.slope}
    feeds_output = len(node.consumers) == 1 and node.consumers[0].op == "output"
    return {"activation": "linear"} if feeds_output or next_layer(node) is not None else {}


def _explosion(facts: FileFacts, entry: EntryFacts, tensor: Tensor, node, write: Write, limits: Thresholds,
               spelled: str, dist: Dist) -> Hit | None:
    moment = second_moment(tensor, write)
    at = anchor(facts, write.drawn.frames)
    if moment is None or at is None or not math.isfinite(moment):
        return None
    fan = node.fan_in if node is not None else fans(tensor.shape)[0]
    target = named(target_text(write), tensor)
    model, path = model_of(entry, tensor, facts)
    scaled, normalized = _after(entry, tensor) if node is not None else (1.0, False)
    if normalized:
        return None  # a norm right after the layer undoes its weights' scale
    if is_number(fan) and fan > 0:
        gain = theory.layer_gain(fan, moment, scaled)
        if gain is None or gain <= limits.max_gain:  # None: beyond the float range
            return None
        source = fan_in_text(tensor)
        at_text = f"at fan-in {fmt(fan)}" + (f" ({source})" if source else "")
        details = {"second_moment": moment, "fan_in": fan, "predicted_gain": gain, **_activation_details(node)}
        chain = _exploding_chain(entry, tensor, limits) if node is not None else None
        depth = ""
        layers: tuple[str, ...] = (path,) if path else ()
        stack_gain = depth_count = None
        if chain is not None:
            depth = (
                f", x{fmt(chain.total)} over {chain.depth} layers ({names(facts, entry, chain.steps)}) "
                "with no normalization between them"
            )
            details.update(depth=chain.depth, stack_gain=chain.total)
            layers = layer_patterns(entry, chain.steps, facts)
            stack_gain, depth_count = chain.total, chain.depth
            model = model_name(entry, chain.steps, facts) or model
        message = (
            f"{spelled} on {target} gives E[W^2] = {fmt(moment)}; {at_text} the variance gain is "
            f"{fmt(gain)} per layer (std x{fmt(math.sqrt(gain))}){depth}; PyTorch's default gives {fmt(1 / 3)}"
        )
        fix = (
            "use nn.init.kaiming_uniform_(w, nonlinearity='relu') or U(-b, b) with "
            f"b = sqrt(3 / fan_in) = {fmt(math.sqrt(3.0 / fan))} for a gain of 1"
        )
        prediction = Prediction(model=model, layers=layers, gain=gain, depth=depth_count, stack_gain=stack_gain)
        return Hit(at, message, details, fix, prediction, weight=math.log10(gain))
    if moment <= limits.max_gain:
        return None
    size = f"fan-in `{describe(fan)}`" if fan is not None and describe(fan) != "?" else "any fan-in n"
    message = (
        f"{spelled} on {target} gives E[W^2] = {fmt(moment)}: the variance gain is {fmt(moment)} x n "
        f"per layer for {size}, above {fmt(limits.max_gain)} for every n >= 1 (a gain of 1 needs E[W^2] = 1/n)"
    )
    details = {"second_moment": moment, "fan_in": None, "predicted_gain": None, "gain_per_fan_in": moment,
               **_activation_details(node)}
    prediction = Prediction(model=model, layers=(path,) if path else (), gain_per_fan_in=moment)
    return Hit(at, message, details, "use nn.init.kaiming_uniform_(w, nonlinearity='relu'), or U(-b, b) with "
               "b = sqrt(3 / fan_in)", prediction, weight=math.log10(moment))


def _after(entry: EntryFacts, tensor: Tensor) -> tuple[float, bool]:
    """The smallest constant scaling around any use of the weight (its input scaled just
    before, its output just after), and whether every use goes straight into a norm."""
    uses = [(right_before(node), *right_after(node)) for node in tensor_nodes(entry.graph, tensor)]
    if not uses:
        return 1.0, False
    return min(before * after for before, after, _ in uses), all(normalized for _, _, normalized in uses)


def _exploding_chain(entry: EntryFacts, tensor: Tensor, limits: Thresholds) -> Stack | None:
    """The run of layers, each with a gain past the limit, that the tensor's layer is in, where
    each feeds the next unbounded: a tanh, sigmoid or softmax between two layers caps what the
    second one gets (the first saturates it instead), so the gains do not compound across it."""
    for stack in stacks(entry, lambda step: step.linear_gain > limits.max_gain):
        for part in _unbounded_runs(stack.steps):
            if any(step.tensor is tensor for step in part.steps) and part.depth >= 2:
                return part
    return None


def _unbounded_runs(steps: list[Step]) -> list[Stack]:
    """``steps`` cut after each step whose activation bounds its output."""
    runs: list[Stack] = []
    current: list[Step] = []
    for step in steps:
        current.append(step)
        if step.activation is not None and step.activation.name in BOUNDED:
            runs.append(Stack(current))
            current = []
    if current:
        runs.append(Stack(current))
    return runs


def _scale_rule(facts: FileFacts, limits: Thresholds, kind: type) -> Iterable[Hit]:
    unfollowed = _unfollowed_layers(facts)
    for entry in live(facts):
        for tensor, node in weights(entry):
            write = established(tensor)
            if write is None or not by_author(write) or not trainable(tensor):
                continue
            dist = write.dist
            if not isinstance(dist, kind):
                continue
            if node is not None and all(node_role(entry, n) == "unknown" for n in tensor_nodes(entry.graph, tensor)):
                continue  # its output goes only where the evaluator cannot follow (a gumbel
                # sampler, a library call): that the signal grows there is not established
            if node is None and id(tensor.made.node) in unfollowed:
                continue  # another entry ran the forward that applies it, into the unknown
            hit = _explosion(facts, entry, tensor, node, write, limits, dist.describe(), dist)
            if hit is not None:
                hit.details.update({"low": dist.low, "high": dist.high} if kind is Uniform else {"mean": dist.mean_, "std": dist.std})
                yield hit


@rule(
    "IL201",
    "extreme-uniform-range",
    Effect.EXPLODING,
    "uniform_ bounds so wide the variance grows by orders of magnitude per layer",
    _TOKENS,
)
def extreme_uniform_range(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    yield from _scale_rule(facts, limits, Uniform)


@rule(
    "IL202",
    "extreme-normal-std",
    Effect.EXPLODING,
    "normal_ std so large the variance grows by orders of magnitude per layer",
    _TOKENS,
)
def extreme_normal_std(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    yield from _scale_rule(facts, limits, Normal)


#: distributions whose size the author chose as a number (std, bounds), not from the fan-in
NUMERIC = (Normal, Uniform, TruncNormal)


def _small_head_only(stack: Stack, limits: Thresholds) -> bool:
    """The stack vanishes only because of its last layer, the model's output: a small output
    head (a policy head at std 0.01, DDPG's +-3e-3) is a design; the hidden layers before it
    keep the signal."""
    last = stack.steps[-1]
    if len(stack.steps) < 2 or last.repeat not in (None, 1) or role(last.node) != "output":
        return False
    hidden = Stack(stack.steps[:-1])
    return hidden.depth < limits.min_stack_depth or hidden.total >= limits.min_stack_gain


@rule(
    "IL203",
    "vanishing-stack",
    Effect.VANISHING,
    "a std or range too small for a stack of layers: the signal shrinks layer after layer",
    _TOKENS,
)
def vanishing_stack(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        for stack in stacks(entry, lambda step: isinstance(step.write.dist, NUMERIC) and step.gain < 1.0):
            if stack.depth < limits.min_stack_depth or stack.total >= limits.min_stack_gain:
                continue
            if _small_head_only(stack, limits):
                continue
            if role(stack.steps[-1].node) in ("residual", "unknown"):
                continue  # a residual branch that starts small (the skip path carries the signal),
                # or an end the evaluator cannot follow (timm's drop_path before the add)
            first = stack.steps[0]
            at = anchor(facts, first.write.drawn.frames)
            if at is None:
                continue
            fan = first.fan_in
            std = math.sqrt(1.0 / fan) if fan > 0 else None
            yield Hit(
                at,
                f"{first.write.dist.describe()} on {named(target_text(first.write), first.tensor)} gives "
                f"E[W^2] = {fmt(first.moment)}; at fan-in {fmt(fan)} the variance gain is "
                f"{stack.per_layer()} per layer, x{fmt(stack.total)} over {stack.depth} layers "
                f"({names(facts, entry, stack.steps)}) with no normalization or residual between "
                f"them: the signal vanishes (std x{fmt(math.sqrt(stack.total))})",
                {"second_moment": first.moment, "fan_in": fan, "predicted_gain": first.gain,
                 **_activation_details(first.node), "depth": stack.depth, "stack_gain": stack.total, "layer": layer_label(facts, entry, first.tensor)},
                "scale the std with the fan-in: nn.init.kaiming_normal_(w, nonlinearity='relu') "
                "before ReLU, nn.init.xavier_normal_(w) otherwise"
                + (f" (std = sqrt(1 / fan_in) = {fmt(std)} keeps the gain at 1)" if std else ""),
                Prediction(
                    model=model_name(entry, stack.steps, facts), layers=layer_patterns(entry, stack.steps, facts),
                    gain=first.gain, includes_activation=True, depth=stack.depth, stack_gain=stack.total,
                ),
                weight=stack.depth,
            )


__all__ = ["weights", "tensor_nodes"]
