"""Low-rank updates in the evaluated forward: ``base(x) + B(A(x))`` (LoRA and its kin).

A low-rank update is two layers applied one after the other with nothing but shape-only ops
between them (no activation, no norm), where the first maps to fewer features than it reads
and than the second writes (the rank), and whose result, through shape-only ops and known
non-zero scalings, is added to the output of another layer that reads the same input. That is
what LoRA computes, whatever its factors are called. Models whose forward the evaluator could
not follow have no updates here; ``named_pairs`` finds the pairs that a documented naming
convention marks instead.
"""

from __future__ import annotations

from typing import Any

from initlint.lean import dataclass
from initlint.model.graph import depends_on
from initlint.model.tensors import Tensor
from initlint.model.values import FlowNode, Module, is_number

#: the names LoRA and adapter code gives the down (A) and up (B) factor, as (A, B) pairs
#: (peft: lora_A/lora_B; diffusers and kohya: lora_down/lora_up; adapters: adapter_down/_up)
CONVENTIONAL_NAMES: tuple[tuple[str, str], ...] = (
    ("lora_A", "lora_B"),
    ("lora_a", "lora_b"),
    ("lora_down", "lora_up"),
    ("adapter_down", "adapter_up"),
)
_THROUGH = frozenset({"pass"})


@dataclass
class LowRankUpdate:
    """``down`` then ``up`` (the factors A and B), of rank ``rank``, added to ``base``'s output."""

    down: Tensor
    up: Tensor
    rank: int
    n_in: int
    n_out: int
    base: Tensor | None  # None for a pair found by name only
    node: FlowNode | None = None  # the up factor's layer node (None: by name)


def low_rank_updates(graph: list[FlowNode]) -> list[LowRankUpdate]:
    """Every ``base(x) + B(A(x))`` in the evaluated forward."""
    found: list[LowRankUpdate] = []
    seen: set[tuple[int, int]] = set()
    for down in graph:
        if down.op != "layer" or down.tensor is None:
            continue
        up = _single_next(down, _THROUGH)
        if up is None or up.op != "layer" or up.tensor is None or up.tensor.root is down.tensor.root:
            continue
        sizes = _sizes(down, up)
        if sizes is None:
            continue
        total = _single_next(up, _THROUGH | {"scale"}, scaled=True)
        if total is None or total.op != "add":
            continue
        base = _base_layer(total, up, _source(down))
        key = (id(down.tensor.root), id(up.tensor.root))
        if base is None or key in seen:
            continue
        seen.add(key)
        rank, n_in, n_out = sizes
        found.append(LowRankUpdate(down.tensor.root, up.tensor.root, rank, n_in, n_out, base, up))
    return found


def chained(graph: list[FlowNode], down: Tensor, up: Tensor) -> bool:
    """``up`` reads ``down``'s output directly (shape-only ops between) somewhere in forward."""
    for node in graph:
        if node.op == "layer" and node.tensor is not None and node.tensor.root is down.root:
            following = _single_next(node, _THROUGH)
            if following is not None and following.tensor is not None and following.tensor.root is up.root:
                return True
    return False


def named_pairs(module: Module) -> list[tuple[str, str, Tensor, Tensor]]:
    """(A name, B name, A weight, B weight) for each conventional pair a module holds."""
    found = []
    for name_a, name_b in CONVENTIONAL_NAMES:
        a, b = _weight(module, name_a), _weight(module, name_b)
        if a is not None and b is not None:
            found.append((name_a, name_b, a, b))
    return found


def pair_sizes(down: Tensor, up: Tensor) -> tuple[int, int, int] | None:
    """(rank, in, out) of two 2-D weights in torch's (out, in) layout that chain, when the
    shared size is smaller than the other two."""
    da, db = down.root.shape, up.root.shape
    if not (isinstance(da, tuple) and isinstance(db, tuple) and len(da) == 2 and len(db) == 2):
        return None
    if not all(is_number(v) for v in (*da, *db)):
        return None
    rank, n_in = da
    n_out, shared = db
    if shared != rank or not rank < min(n_in, n_out):
        return None
    return int(rank), int(n_in), int(n_out)


def _weight(module: Module, name: str) -> Tensor | None:
    value: Any = module.params.get(name)
    if value is None:
        child = module.modules.get(name)
        if isinstance(child, Module) and child.family == "dense":
            value = child.params.get("weight")
    return value if isinstance(value, Tensor) else None


def _single_next(node: FlowNode, through: frozenset[str], scaled: bool = False) -> FlowNode | None:
    """The one op ``node``'s output reaches past ``through`` ops (each with one consumer)."""
    current = node
    for _ in range(16):
        if len(current.consumers) != 1:
            return None
        current = current.consumers[0]
        if current.op not in through:
            return current
        if current.op == "scale" and not (scaled and is_number(current.factor) and current.factor != 0):
            return None
    return None


def _sizes(down: FlowNode, up: FlowNode) -> tuple[int, int, int] | None:
    """(rank, in, out) from the two layers' fan-ins and the up factor's size."""
    n_in, rank = down.fan_in, up.fan_in
    shape = up.tensor.root.shape if up.tensor is not None else None
    if not (is_number(n_in) and is_number(rank) and isinstance(shape, tuple) and shape and rank):
        return None
    total = 1
    for size in shape:
        if not is_number(size):
            return None
        total *= size
    n_out = total // rank
    if not rank < min(n_in, n_out):
        return None
    return int(rank), int(n_in), int(n_out)


def _source(node: FlowNode) -> FlowNode | None:
    """The signal a layer reads, before shape-only ops (dropout on x is still x)."""
    current = node.inputs[0] if node.inputs else None
    while current is not None and current.op in _THROUGH and current.inputs:
        current = current.inputs[0]
    return current


def _base_layer(total: FlowNode, update: FlowNode, source: FlowNode | None) -> Tensor | None:
    """The layer on the sum's other side that reads the same input as the update."""
    if source is None:
        return None
    for other in total.inputs:
        if depends_on(other, update) is not False:
            continue
        current = other
        while current.op in _THROUGH | {"scale"} and current.inputs:
            current = current.inputs[0]
        if current.op == "layer" and current.tensor is not None and current.inputs and _source(current) is source:
            return current.tensor.root
    return None
