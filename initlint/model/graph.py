"""Reading the flow graph: the role of each layer, and the chains of layers gains multiply over.

A layer's role is what its output reaches, following shape-only ops, activations, norms and
scalings: another layer only (``hidden``), a residual sum (``residual``), a product with another
signal (``gate``), an attention product, the model's output, code the evaluator does not model
(``unknown``), or nothing (``unused``). Zero weights are a symmetry problem only on a hidden
layer; the same zeros before a residual sum, a gate or the output are a design.

A concatenation with a signal that does not come from the layer is a residual sum too: the next
layer sums the projections of the parts, so zeros in one part cut nothing while the other part
carries the input (ControlNet-XS concatenates its zero convolutions' output to the control
stream; DenseNet and U-Net concatenate a layer's output to the features it skips over).

A chain is a run of layers each feeding the next through activations and scalings only; its
gain is the product of the per-layer gains ``fan_in * E[W^2] * c`` (theory.py).
"""

from __future__ import annotations

from typing import Any

from initlint.lean import dataclass
from initlint.model.tensors import Tensor
from initlint.model.values import UNKNOWN, FlowNode, is_number

#: ops a role looks through
TRANSPARENT = frozenset({"act", "pass", "norm", "scale", "shift", "mulparam", "pool", "other", "join"})
#: ops that combine the layer's output with other signals: looked through only when each of
#: their inputs comes from the layer (``x`` and ``f(x)``), else the place the output reaches
COMBINING = frozenset({"add", "mul", "cat"})
#: ops a chain of gains passes through (anything else renormalizes or mixes the signal)
CHAIN_THROUGH = frozenset({"act", "scale"})
_MAX_VISIT = 512

ROLE_OF_OP = {
    "layer": "hidden", "lookup": "hidden", "add": "residual", "cat": "residual", "mul": "gate",
    "attention": "attention", "output": "output", "unknown": "unknown",
}


def terminals(node: FlowNode) -> list[FlowNode]:
    """The first non-transparent ops the output of ``node`` reaches.

    A sum, product or concatenation whose other inputs depend on ``node`` too does not rescue a
    zero (``x`` and ``f(x)`` both come from it): it is looked through like any other op.
    """
    found: list[FlowNode] = []
    seen: set[int] = set()
    stack = list(node.consumers)
    while stack and len(seen) < _MAX_VISIT:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.op in TRANSPARENT or current.op in COMBINING and _all_from(current, node):
            if not current.consumers:
                found.append(current)  # a dangling op: its value goes nowhere known
            stack.extend(current.consumers)
        else:
            found.append(current)
    if stack:
        found.append(FlowNode("unknown"))
    return found


def depends_on(node: FlowNode, source: FlowNode) -> bool | None:
    """Whether ``node`` is computed from ``source`` (None when the graph is too large to say)."""
    seen: set[int] = set()
    stack = [node]
    first = source.order  # nodes made before the source cannot be computed from it
    while stack:
        if len(seen) > _MAX_VISIT:
            return None
        current = stack.pop()
        if current is source:
            return True
        if id(current) in seen or current.order < first:
            continue
        seen.add(id(current))
        stack.extend(current.inputs)
    return False


def _all_from(combine: FlowNode, source: FlowNode) -> bool:
    """Every input of a sum, product or concatenation depends on ``source`` (unknown counts as
    depending)."""
    return all(depends_on(item, source) is not False for item in combine.inputs)


def role(node: FlowNode) -> str:
    """hidden, residual, gate, attention, output, unknown or unused (see the module docstring).

    Where the output goes to more than one kind of place, the one that makes zeros a design
    wins; "hidden" needs every path to end in another layer.
    """
    ends = terminals(node)
    if not ends:
        return "unused"
    roles = {ROLE_OF_OP.get(end.op, "unknown") if end.op not in TRANSPARENT else "unknown" for end in ends}
    for name in ("unknown", "output", "residual", "gate", "attention"):
        if name in roles:
            return name
    return "hidden"


def gates_block_output(node: FlowNode) -> bool:
    """The output of ``node`` only gates other signals, and each gated product is a block's
    output: summed with a signal it does not come from (a residual branch), or the output of
    the model (a block built alone). A gate that starts closed makes such a block add ~0 and
    start as the identity, as a zero-initialised last layer or ReZero's gate does."""
    ends = terminals(node)
    return bool(ends) and all(end.op == "mul" and role(end) in ("residual", "output") for end in ends)


def tensor_nodes(graph: list[FlowNode], tensor: Tensor) -> list[FlowNode]:
    """The layer nodes that apply ``tensor`` as their weight."""
    return [n for n in graph if n.op in ("layer", "lookup") and n.tensor is not None and n.tensor.root is tensor]


def tensor_role(graph: list[FlowNode], tensor: Tensor) -> str | None:
    """The role of a weight over every application of it; None when it is never applied."""
    nodes = tensor_nodes(graph, tensor)
    if not nodes:
        return None
    roles = {role(node) for node in nodes}
    if roles == {"hidden"}:
        return "hidden"
    for name in ("unknown", "output", "residual", "gate", "attention", "unused"):
        if name in roles:
            return name
    return "unknown"


@dataclass
class Link:
    """From one layer to the next: the activations between them, and a constant scaling."""

    node: FlowNode
    activations: list[Any]
    factor: float


def onward(node: FlowNode) -> list[FlowNode]:
    """The consumers that compute on with ``node``'s value: a copy returned to the caller as
    well (``pre_activations.append(x)``, returned for plotting) leaves the forward path as is."""
    return [c for c in node.consumers if c.op != "output"] if len(node.consumers) > 1 else list(node.consumers)


def next_layer(node: FlowNode) -> Link | None:
    """The one layer ``node`` feeds through activations and scalings alone, if there is one."""
    activations: list[Any] = []
    factor = 1.0
    current = node
    for _ in range(16):
        consumers = onward(current)
        if len(consumers) != 1:
            return None
        following = consumers[0]
        if following.op == "layer":
            return Link(following, activations, factor)
        if following.op not in CHAIN_THROUGH:
            return None
        if following.op == "act":
            if following.activation is None:
                return None
            activations.append(following.activation)
        elif following.op == "scale":
            if not is_number(following.factor):
                return None
            factor *= float(following.factor) ** 2
        current = following
    return None


def right_after(node: FlowNode) -> tuple[float, bool]:
    """(variance factor of the constant scalings applied right after ``node``, whether a norm
    follows them): ``x @ self.w_g * scale`` is scaled before anything reads it, and a norm right
    after a layer undoes whatever scale its weights have."""
    factor = 1.0
    current = node
    for _ in range(8):
        if len(current.consumers) != 1:
            return factor, False
        following = current.consumers[0]
        if following.op == "scale" and is_number(following.factor):
            factor *= float(following.factor) ** 2
            current = following
            continue
        return factor, following.op == "norm"
    return factor, False


def right_before(node: FlowNode) -> float:
    """The variance factor of the constant scalings applied to ``node``'s input just before it:
    ``self.lm_head(h * d_model ** -0.5)`` (T5's convention for an N(0, 1) output projection).
    Scalings right after another layer are that layer's (right_after), not counted again."""
    factor = 1.0
    current = node
    for _ in range(8):
        if len(current.inputs) != 1:
            return 1.0  # not one path in: which one the scaling is on is not established
        before = current.inputs[0]
        if before.op == "scale" and is_number(before.factor):
            factor *= float(before.factor) ** 2
            current = before
            continue
        return 1.0 if before.op == "layer" else factor
    return 1.0


def following_activation(node: FlowNode) -> Any:
    """The activation applied right after ``node`` (through scalings), or None."""
    current = node
    for _ in range(8):
        if len(current.consumers) != 1:
            return None
        following = current.consumers[0]
        if following.op == "act":
            return following.activation
        if following.op != "scale":
            return None
        current = following
    return None


def chains(graph: list[FlowNode]) -> list[list[FlowNode]]:
    """Maximal runs of layer nodes, each feeding the next (see next_layer)."""
    layers = [n for n in graph if n.op == "layer"]
    successor: dict[int, FlowNode] = {}
    has_predecessor: set[int] = set()
    for node in layers:
        link = next_layer(node)
        if link is not None:
            successor[id(node)] = link.node
            has_predecessor.add(id(link.node))
    runs: list[list[FlowNode]] = []
    for node in layers:
        if id(node) in has_predecessor:
            continue
        run = [node]
        while id(run[-1]) in successor and len(run) < 4096:
            following = successor[id(run[-1])]
            if any(following is seen for seen in run):
                break
            run.append(following)
        runs.append(run)
    return runs


def repeat_count(node: FlowNode) -> Any:
    """How many times a node applies (a layer in a loop with an open count: UNKNOWN)."""
    return node.repeat if is_number(node.repeat) else UNKNOWN
