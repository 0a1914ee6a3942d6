"""Per-layer gains over the evaluated flow graph, and the runs of layers they compound over.

A layer node's gain is ``fan_in * E[W^2] * c``: its fan-in from the weight it applies, E[W^2]
from that weight's established init, and c from the activation between it and the next layer
(theory.py). A Stack is a run of consecutive layer nodes (graph.chains) that all pass a test.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from initlint import theory
from initlint.lean import dataclass
from initlint.model.effective import by_author, established, second_moment
from initlint.model.facts import EntryFacts, FileFacts
from initlint.model.graph import chains, following_activation, next_layer, role
from initlint.model.tensors import Tensor, Write
from initlint.model.values import FlowNode, ListObj, Module, is_number

fmt = theory.format_number


@dataclass
class Step:
    """One layer node with what its gain is made of."""

    node: FlowNode
    tensor: Tensor
    write: Write
    moment: float
    fan_in: float
    factor: float  # activation (and scaling) factor up to the next layer's input
    activation: Any

    @property
    def gain(self) -> float:
        return theory.layer_gain(self.fan_in, self.moment, self.factor)

    @property
    def linear_gain(self) -> float:
        """fan_in * E[W^2]: the gain to the layer's own output, before any activation."""
        return theory.layer_gain(self.fan_in, self.moment)

    @property
    def repeat(self) -> int | None:
        return int(self.node.repeat) if is_number(self.node.repeat) else None


def scaled_down_branch(node: FlowNode, write: Write) -> bool:
    """``node`` starts a chain of layers, each feeding the next, whose last one ends a residual
    branch or a gate and was drawn by the same statement (``write``): the whole branch is scaled
    down so that it starts adding ~0 (a flow's coupling nets drawn at gain 0.01 so the flow
    starts as the identity), a design like a zero-initialised last layer."""
    current = node
    for _ in range(16):
        link = next_layer(current)
        if link is None:
            break
        current = link.node
    if current is node or current.tensor is None:
        return False
    last = established(current.tensor.root)
    return last is not None and last.place.node is write.place.node and role(current) in ("residual", "gate")


def step_of(node: FlowNode, authored: bool = True) -> Step | None:
    """The Step of a layer node whose weight, fan-in and init are all established."""
    if node.op != "layer" or node.tensor is None or not is_number(node.fan_in) or node.fan_in <= 0:
        return None
    tensor = node.tensor.root
    write = established(tensor)
    if write is None or (authored and not by_author(write)):
        return None
    moment = second_moment(tensor, write)
    if moment is None or not math.isfinite(moment):
        return None
    link = next_layer(node)
    if link is not None:
        factors = [link.factor, *(activation.factor for activation in link.activations)]
        factor = math.prod(factors) if all(is_number(f) for f in factors) else None
        activation = link.activations[0] if link.activations else None
    else:
        activation = following_activation(node)
        factor = activation.factor if activation is not None else 1.0
    step = Step(node, tensor, write, moment, float(node.fan_in), factor, activation)
    if not is_number(factor) or step.gain is None or step.linear_gain is None:
        return None  # a factor or gain beyond the float range (theory.py): nothing established
    return step


@dataclass
class Stack:
    """Consecutive steps of one run, their gains and the total."""

    steps: list[Step]

    @property
    def depth(self) -> int:
        return sum(step.repeat or 1 for step in self.steps)

    @property
    def total(self) -> float:
        return math.prod(theory.compound(step.gain, step.repeat or 1) for step in self.steps)

    def per_layer(self) -> str:
        gains = [step.gain for step in self.steps]
        low, high = min(gains), max(gains)
        if math.isclose(low, high, rel_tol=0.05):
            return fmt(low)
        return f"{fmt(low)} to {fmt(high)}"


def stacks(entry: EntryFacts, keep: Callable[[Step], bool], authored: bool = True) -> list[Stack]:
    """Maximal runs of steps, in flow order, for which ``keep`` holds."""
    found: list[Stack] = []
    # the same for every rule that asks: made once per entry
    runs = entry.derive(("steps", authored), lambda: [[step_of(node, authored) for node in run] for run in chains(entry.graph)])
    for run in runs:
        current: list[Step] = []
        for step in run:
            if step is not None and step.repeat is not None and keep(step):
                current.append(step)
                continue
            if current:
                found.append(Stack(current))
            current = []
        if current:
            found.append(Stack(current))
    return found


def names(facts: FileFacts, entry: EntryFacts, steps: list[Step]) -> str:
    """```fc1`, `fc2```, or ```blocks.*` x8`` for the copies of one repeated layer."""
    labels = [layer_label(facts, entry, step.tensor) for step in steps]
    prefixes = [re.fullmatch(r"(.*)\.(\d+)(\..*)?", label) for label in labels]
    if len(labels) > 2 and all(prefixes):
        heads = {(m.group(1), m.group(3) or "") for m in prefixes}
        numbers = [int(m.group(2)) for m in prefixes]
        if len(heads) == 1 and numbers == list(range(numbers[0], numbers[0] + len(numbers))):
            head, tail = heads.pop()
            return f"`{head}.*{tail}` x{len(labels)}"
    if len(labels) > 6:
        return ", ".join(f"`{label}`" for label in labels[:3]) + f", ... `{labels[-1]}` ({len(labels)} layers)"
    parts = []
    for step, label in zip(steps, labels):
        parts.append(f"`{label}`" + (f" x{step.repeat}" if step.repeat and step.repeat > 1 else ""))
    return ", ".join(parts)


def layer_label(facts: FileFacts, entry: EntryFacts, tensor: Tensor) -> str:
    """A layer's name in its model (``blocks.3``), or the module-level name that holds it
    (``mlp.2`` for a script's ``mlp = nn.Sequential(...)``, ``layers.3`` for a list)."""
    owner = tensor.owner
    if entry.kind != "class":
        for name, model in entry.models.items():
            if owner is model:
                return name
            if owner is not None and owner.path and _within(model, owner):
                return f"{name}.{owner.path}"
    if owner is not None and owner.path:
        return owner.path
    if owner is not None:
        names = facts.namespace.names
        for name, value in names.items():  # a list that holds it says more than a loop variable
            if isinstance(value, ListObj):
                for index, item in enumerate(value.items):
                    if item is owner:
                        return f"{name}.{index}"
        for name, value in names.items():
            if value is owner:
                return name
    return tensor.path or tensor.name or "?"


def layer_patterns(entry: EntryFacts, steps: list[Step], facts: FileFacts | None = None) -> tuple[str, ...]:
    """Attribute paths the probe matches (``blocks.*`` for the copies of a template)."""
    from initlint.rules.support import model_of

    paths: list[str] = []
    for step in steps:
        owner = step.tensor.owner
        path = owner.path if owner is not None and owner.path else step.tensor.name
        located = model_of(entry, step.tensor, facts)[1]
        if located:
            path = located
        if step.node.repeat != 1:
            base, _, last = path.rpartition(".")
            if last.isdigit():
                path = f"{base}.*" if base else "*"
        if path and path not in paths:
            paths.append(path)
    return tuple(paths)


def model_name(entry: EntryFacts, steps: list[Step], facts: FileFacts | None = None) -> str | None:
    from initlint.rules.support import model_of

    return model_of(entry, steps[0].tensor, facts)[0]


def _within(root: Module, target: Module, depth: int = 0) -> bool:
    if depth > 32:
        return False
    return any(
        child is target or isinstance(child, Module) and _within(child, target, depth + 1)
        for child in root.modules.values()
    )
