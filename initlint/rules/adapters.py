"""IL509: a low-rank adapter whose two factors both start random.

LoRA adds ``B(A(x))`` to a frozen layer's output and initialises one factor to zero (B, in the
paper and peft; diffusers zeroes ``lora_up``) and the other at random, so the adapted model
starts exactly as the base model and the update grows from there. With both factors random the
adapter adds a random low-rank perturbation to every adapted layer before any training: the
fine-tune starts from a damaged model. The pair is found in the evaluated forward (model/
adapters.py: two layers with nothing but shape-only ops between them, the first narrower than
the input and the output, the result added to a layer that reads the same input), or, where
the forward does not show it, by the documented names (``lora_A``/``lora_B``,
``lora_down``/``lora_up``, ``adapter_down``/``adapter_up``). Both factors zero is IL103.
"""

from __future__ import annotations

from typing import Iterable

from initlint.findings import Effect
from initlint.model.adapters import LowRankUpdate, chained, low_rank_updates, named_pairs, pair_sizes
from initlint.model.effective import established, second_moment, trainable
from initlint.model.facts import EntryFacts, FileFacts
from initlint.model.graph import tensor_nodes
from initlint.model.tensors import Tensor, Write
from initlint.model.values import module_tree
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.support import anchor, layer_path, live


def random_start(tensor: Tensor) -> Write | None:
    """The established write when it leaves the trainable tensor random with E[W^2] > 0."""
    if not trainable(tensor):
        return None
    write = established(tensor)
    if write is None or not write.dist.random or write.dist.constant is not None:
        return None
    moment = second_moment(tensor, write)
    return write if moment is not None and moment > 0 else None


@rule(
    "IL509",
    "adapter-starts-nonzero",
    Effect.MISUSE,
    "both factors of a low-rank adapter (LoRA's A and B) start random, so it changes the base model before training",
    ("lora_", "adapter_", "requires_grad_(False)", "requires_grad = False", "requires_grad=False"),
)
def adapter_starts_nonzero(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    done: set[tuple[int, int]] = set()
    for entry in live(facts):
        named = _by_name(entry)
        conventional = {(id(u.down), id(u.up)) for u in named}
        for update in [*low_rank_updates(entry.graph), *named]:
            key = (id(update.down), id(update.up))
            if key in done:
                continue
            if update.base is not None and key not in conventional and update.base.root.requires_grad is True:
                continue  # a factorised path next to a trained layer: a design, unless named an adapter
            done.add(key)
            down, up = random_start(update.down), random_start(update.up)
            if down is None or up is None:
                continue
            at = anchor(facts, up.drawn.frames)
            if at is None:
                continue
            yield Hit(at, _message(update, down, up), {
                "down": update.down.path, "up": update.up.path, "rank": update.rank,
                "in_features": update.n_in, "out_features": update.n_out,
                "base": update.base.path if update.base is not None else None,
            }, f"zero the up factor: nn.init.zeros_({_name(update.up)}) (keep {_name(update.down)} random)")


def _by_name(entry: EntryFacts) -> list[LowRankUpdate]:
    """Pairs the naming convention marks, unless forward puts more than shape-only ops between
    the factors (an activation makes it another design)."""
    found = []
    for model in entry.models.values():
        for module in module_tree(model):
            for _, _, a, b in named_pairs(module):
                shown = tensor_nodes(entry.graph, a.root) and tensor_nodes(entry.graph, b.root)
                if shown and not chained(entry.graph, a, b):
                    continue  # the forward shows something else between them
                sizes = pair_sizes(a, b)
                if sizes is not None:
                    found.append(LowRankUpdate(a.root, b.root, *sizes, base=None))
    return found


def _name(tensor: Tensor) -> str:
    return tensor.path or tensor.name or "?"


def _layer(tensor: Tensor) -> str:
    return layer_path(tensor)


def _message(update: LowRankUpdate, down: Write, up: Write) -> str:
    a, b = _layer(update.down), _layer(update.up)
    shape = f"rank {update.rank}: {update.n_in} -> {update.rank} -> {update.n_out}"
    if update.base is not None:
        frozen = " (frozen)" if update.base.root.requires_grad is False else ""
        how = f"the forward adds {b}({a}(x)) ({shape}) to `{_layer(update.base)}`'s output{frozen}"
    else:
        how = f"named as a low-rank adapter's factors ({shape})"
    return (
        f"`{a}` ({down.dist.describe()}) and `{b}` ({up.dist.describe()}) both start random; {how}, so the "
        "adapter changes the base model's output before any training (LoRA's standard: B = 0, A random)"
    )
