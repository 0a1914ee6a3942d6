"""How much of a file's init code the engine evaluated: init calls whose target is known.

An init call (``nn.init.*``, timm's and transformers' wrappers, an in-place init method on a
``.weight`` or ``.bias``; not ``torch.zeros(n).fill_(x)`` in a loss) counts as covered when some
entry evaluated it with an established tensor as its target, and that tensor's fan-in (its own,
or its layer's weight's for a bias) is a number. A tensor with no fan-in (torch defines none
below two dimensions: a norm layer's per-unit scale and shift, a layer scale, a 1-D parameter of
a user module) counts when its size is a number. An init function that is evaluated code (timm's
own ``trunc_normal_``) counts through the writes its evaluation made. The rest is init code the
rules cannot judge: never run (a helper no entry calls), or run on sizes the code leaves open
(``config.hidden_size``).
"""

from __future__ import annotations


from initlint.lean import dataclass
from initlint.model.dists import fans
from initlint.model.facts import FileFacts
from initlint.model.tensors import Tensor
from initlint.model.values import is_number


@dataclass(frozen=True)
class Coverage:
    """Init calls in a file, and how many of them reached a known tensor of known fan-in."""

    calls: int
    known: int


def fan_in_known(tensor: Tensor) -> bool:
    shape = tensor.root.shape
    fan_in = fans(shape)[0]
    if is_number(fan_in):
        return True
    owner = tensor.owner
    if owner is not None and owner.family == "norm":
        # a norm layer's scale and shift act per unit: no fan-in, its size is what rules read
        return _sized(shape)
    weight = owner.params.get("weight") if owner is not None else None
    if isinstance(weight, Tensor) and weight.root is not tensor.root and isinstance(weight.shape, tuple) and len(weight.shape) >= 2:
        # a bias (or another vector) of a layer with a weight matrix: the layer's fan-in decides
        return is_number(fans(weight.shape)[0])
    # a vector or scalar of its own (a layer scale, an RMSNorm weight, a Mamba ``dt_bias``):
    # torch defines no fan-in for it; its size is what rules read
    return isinstance(shape, tuple) and len(shape) < 2 and _sized(shape)


def _sized(shape: object) -> bool:
    return isinstance(shape, tuple) and all(is_number(size) for size in shape)


def coverage(facts: FileFacts) -> Coverage:
    calls = {id(node) for node in facts.syntax.weight_inits}
    known: set[int] = set()
    for entry in facts.entries:
        if entry.failed is not None:
            continue
        for record in entry.init_calls:
            if record.tensor is None or not fan_in_known(record.tensor):
                continue
            # the call itself, or an init call of the file whose evaluation reached it: timm's
            # ``trunc_normal_(w, std=.02)`` is a function of the evaluated code that writes ``w``
            # with ``uniform_`` and ``erfinv_``; the record is that write's, its caller the frame
            for place in (record.place, *record.frames):
                if id(place.node) in calls:
                    known.add(id(place.node))
    return Coverage(len(calls), len(known))
