"""Repairs of fitting.py that change how many dimensions an input has, its channels, an RNN's
hidden state, or make it an adjacency matrix over the batch's nodes, from facts: forward's source (ranks.py) and the numbers a shape error
states (``Expected 3D (unbatched) or 4D (batched) input to conv2d``, ``expected input[3, 64,
32, 32] to have 12 channels``, ``Expected hidden size (1, 3, 32)``).

Each function yields changed copies of the argument list; fitting.repair takes the first one not
tried yet, so the surest comes first.
"""

from __future__ import annotations

import re
from dataclasses import replace

from torch import nn

from initlint.probe.inputs import GUESSED_WIDTH, SEQUENCE, ArgSpec
from initlint.probe.ranks import Rank
from initlint.probe.shape_errors import BROADCAST, CHANNELS, OUT_OF_BOUNDS
from initlint.probe.tracing import LeafCall

_GOT_NDIM = [  # (pattern, how to read the rank the op needs)
    (re.compile(r"Expected (\d)D \(unbatched\) or (\d)D \(batched\) input"), lambda m: int(m.group(2))),
    (re.compile(r"Padding size (\d+) is not supported for (\d)D input"), lambda m: int(m.group(1)) // 2 + 2),
    (re.compile(r"Only ([\dD, and]+) input Tensors supported \(got (\d)D\)"),
     lambda m: 4 if "4D" in m.group(1) else max(int(n) for n in re.findall(r"(\d)D", m.group(1)))),
    (re.compile(r"[Ee]xpected (\d)D or (\d)D (?:\(batch mode\) )?(?:tensor|input)"), lambda m: int(m.group(2))),
    (re.compile(r"expected (\d) dimensions, got \d"), lambda m: int(m.group(1))),
    (re.compile(r"(\d)D or (\d)D \(batch mode\) tensor expected"), lambda m: int(m.group(2))),
    (re.compile(r"Tensors must have same number of dimensions: got (\d) and (\d)"), lambda m: max(int(m.group(1)), int(m.group(2)))),
    (re.compile(r"tensor image of size \(\.\.\., C, H, W\)"), lambda m: 4),
    (re.compile(r"input\.dim\(\) = \d is not equal to len\(dims\) = (\d)"), lambda m: int(m.group(1))),
    (re.compile(r"Dimension out of range \(expected to be in range of \[-\d+, \d+\], but got (\d)\)"), lambda m: int(m.group(1)) + 1),
]
_VIEW = re.compile(r"shape '\[(-?\d+(?:, -?\d+)*)\]' is invalid for input of size (\d+)")
_HIDDEN = re.compile(r"Expected hidden size \((\d+), (\d+), (\d+)\)")


def rank_from_message(message: str) -> int | None:
    """The number of dimensions (batch included) a failing op says it needs, 2 to 5."""
    for pattern, read in _GOT_NDIM:
        match = pattern.search(message)
        if match:
            rank = read(match)
            return rank if 2 <= rank <= 5 else None
    return None


def with_rank(spec: ArgSpec, rank: int, why: str) -> ArgSpec:
    """``spec`` as a tensor of ``rank`` dimensions (the batch included), keeping its features:
    an image (C, 32, 32) for 4, a sequence (16, D) for 3."""
    features = spec.shape[0] if spec.shape else 64
    last = spec.shape[-1] if spec.shape else 64
    if rank == 5:
        shape: tuple[int, ...] = (features if features <= 512 else 3, 8, 16, 16)
    elif rank == 4:
        shape = (features if features <= 512 else 3, 32, 32)
    elif rank == 3:
        shape = (SEQUENCE // 2, last)
    else:
        shape = (last,)
    kind = spec.kind if spec.kind == "ids" else "float"
    return ArgSpec(spec.name, kind, shape, high=spec.high, dtype=spec.dtype if kind == "float" else "int64", why=why)


def _rank(spec: ArgSpec) -> int:
    return len(spec.shape) + 1


def rank_repairs(specs: list[ArgSpec], blamed: list[str], message: str, ranks: dict[str, Rank]):
    """Arguments with fewer dimensions than the source or the error says they need.

    A sequence (rank 3) is given to every 1-D argument of the same width at once, so that
    ``attention(q, k, v)`` gets three sequences of one length; an image (rank 4) is tried alone
    first (a style vector as wide as the image's channels stays a vector)."""
    by_name = {s.name: s for s in specs}
    open_specs = [s.name for s in specs if not s.fixed]
    if not blamed and len(open_specs) == 1:  # raised in library code that names no argument
        blamed = open_specs
    order = blamed + [s.name for s in specs if s.name not in blamed]
    needed = rank_from_message(message)
    for name in order:
        spec = by_name[name]
        if spec.fixed or spec.kind not in ("float", "ids"):
            continue
        want, why = 0, ""
        fact = ranks.get(name)
        if fact is not None and _rank(spec) < fact.need() <= 5:
            want, why = fact.need(), fact.why
        elif fact is not None and fact.exact and fact.exact != _rank(spec):
            want, why = fact.exact, fact.why
        elif needed and name in blamed and needed > _rank(spec):
            want, why = needed, f"the op needs {needed} dimensions"
        if not want and fact is not None and fact.iterated and needed and name in blamed:
            # ``[self.style(s) for s in styles]`` lost a dimension: a sequence of tensors
            yield [ArgSpec(name, "tuple", parts=(replace(spec, name=f"{name}[0]"),), why="forward iterates it") if s is spec else s for s in specs]
        if not want:
            continue
        changed = with_rank(spec, want, why)
        alone = [changed if s is spec else s for s in specs]
        if want == 4:  # an image: other arguments of its width are rarely images too (a style vector)
            yield alone
        if want in (3, 4) and spec.kind == "float" and len(spec.shape) == 1:
            siblings = [s for s in specs if s is not spec and not s.fixed and s.kind == "float" and s.shape == spec.shape]
            if siblings:
                yield [with_rank(s, want, "the same width as " + name) if s in siblings else changed if s is spec else s for s in specs]
        yield alone


def channel_repairs(specs: list[ArgSpec], blamed: list[str], message: str, batch: int):
    """``expected input[3, 64, 32, 32] to have 12 channels, but got 64``: an argument fed raw
    to that convolution takes 12 channels."""
    match = CHANNELS.search(message)
    if not match:
        return
    seen = tuple(int(n) for n in match.group(1).split(", "))
    want = int(match.group(2))
    for spec in specs:
        if spec.name not in blamed or spec.fixed or spec.kind != "float" or spec.batch_dim != 0:
            continue
        if (batch, *spec.shape) == seen:
            yield [replace(spec, shape=(want, *spec.shape[1:]), why="the channels its convolution expects") if s is spec else s for s in specs]
        elif len(spec.shape) == len(seen) - 1 and tuple(spec.shape[1:]) == seen[2:] and spec.shape[0] < seen[1]:
            # concatenated with other channels (``torch.cat([x, c], 1)``): x keeps their share out
            share = want - (seen[1] - spec.shape[0])
            if share >= 1:
                yield [replace(spec, shape=(share, *spec.shape[1:]), why="its share of the channels its convolution expects") if s is spec else s for s in specs]
    # several arguments concatenated (``torch.cat((d0, d1, d0 - d1), 1)``): each scaled alike
    images = [s for s in specs if s.name in blamed and not s.fixed and s.kind == "float" and s.batch_dim == 0
              and len(s.shape) == len(seen) - 1 and tuple(s.shape[1:]) == seen[2:]]
    if len(images) > 1 and all((s.shape[0] * want) % seen[1] == 0 for s in images):
        scaled = {s.name: replace(s, shape=(s.shape[0] * want // seen[1], *s.shape[1:]), why="its share of the channels its convolution expects") for s in images}
        if all(s.shape[0] >= 1 for s in scaled.values()):
            yield [scaled.get(s.name, s) for s in specs]


def hidden_repairs(specs: list[ArgSpec], blamed: list[str], message: str, call: LeafCall | None, batch: int):
    """An RNN's initial state: ``(layers * directions, B, hidden)``, a pair of them for an
    LSTM; the argument it was fed as is the one the error blames that is not the sequence."""
    if call is None or not isinstance(call.module, nn.RNNBase) or not re.search(r"hidden size|\bhx\b|\bcx\b", message):
        return
    layer = call.module
    directions = 2 if layer.bidirectional else 1
    size = layer.proj_size if getattr(layer, "proj_size", 0) else layer.hidden_size
    state = ArgSpec("", "float", (layer.num_layers * directions, size), batch_dim=1, why=f"{call.name}'s initial state", role="state")
    match = _HIDDEN.search(message)
    seen_batch = int(match.group(2)) if match else batch
    by_name = {s.name: s for s in specs}
    names = [n for n in blamed if by_name[n].kind in ("float", "tuple") and not by_name[n].fixed]
    names.sort(key=lambda n: not re.search(r"^h|hid|state|^hx|^hc", n))
    for name in names:
        if isinstance(layer, nn.LSTM):
            parts = (replace(state, name=f"{name}[0]"), replace(state, name=f"{name}[1]"))
            new = ArgSpec(name, "tuple", parts=parts, why=f"{call.name}'s initial (h, c)", role="state")
        else:
            new = replace(state, name=name)
        changed = [new if s.name == name else s for s in specs]
        if seen_batch != batch:  # the sequence was fed with its batch in the wrong place
            changed = [replace(s, batch_dim=0) if s.batch_dim == 1 and s.name != name and s.kind == "float" else s for s in changed]
        yield changed


def view_repairs(specs: list[ArgSpec], blamed: list[str], message: str):
    """``x.view(b, 1, c, 1, 1)`` with ``c`` read from another argument: ``shape '[3, 1, 64, 1, 1]'
    is invalid for input of size 9`` says that size is 3 (9 over the other sizes). A 1-D
    argument viewed as ``(b, len, heads, d)`` whose values lack just the ``len`` factor is a
    sequence (``len_q = q.size(1)`` of a 1-D q read its width as a length)."""
    match = _VIEW.search(message)
    if not match:
        return
    target = [int(n) for n in match.group(1).split(", ")]
    numel = int(match.group(2))
    by_name = {s.name: s for s in specs}
    order = [n for n in blamed if n in by_name] + [s.name for s in specs if s.name not in blamed]
    rest = 1
    for n in target[2:]:
        rest *= n
    for name in [n for n in order if n in blamed]:
        spec = by_name[name]
        if spec.fixed or spec.kind != "float" or len(spec.shape) != 1 or len(target) < 3 or min(target) < 1:
            continue
        if numel == target[0] * rest and target[1] > 1:
            length = target[1] if target[1] != spec.shape[0] else SEQUENCE // 2
            siblings = [s for s in specs if not s.fixed and s.kind == "float" and s.shape == spec.shape]
            yield [replace(s, shape=(length, s.shape[0]), why="forward reads a length from it") if s in siblings else s for s in specs]
    if -1 in target:
        return
    known = 1
    for n in target:
        known *= n
    # the size comes from another argument than the tensor being reshaped, when there is one
    for name in [n for n in order if n not in blamed] + [n for n in order if n in blamed]:
        spec = by_name[name]
        if spec.fixed or spec.kind != "float":
            continue
        for size in dict.fromkeys(spec.shape):
            if size in target and (numel * size) % known == 0:
                new = numel * size // known
                if 1 <= new <= 4096 and new != size:
                    shape = tuple(new if n == size else n for n in spec.shape)
                    yield [replace(spec, shape=shape, why="the size forward reshapes it to") if s is spec else s for s in specs]




def mask_broadcast_repairs(specs: list[ArgSpec], message: str, op) -> list:
    """A mask-named argument combined with data of another size takes the data's shape."""
    if op is None or not BROADCAST.search(message) or len(op.shapes) < 2:
        return
    by_name = {s.name: s for s in specs}
    for index, labels in enumerate(op.labels[:2]):
        other = op.shapes[1 - index]
        for name in sorted(labels):
            spec = by_name.get(name)
            if spec is None or spec.fixed or "mask" not in name.lower() or spec.kind != "float" or len(other) < 2:
                continue
            if tuple(other[1:]) != spec.shape:
                yield [replace(spec, shape=tuple(other[1:]), why="the shape of what it masks") if s is spec else s for s in specs]


_BOOL_MASK = re.compile(r"boolean mask|expected.*Bool|scalar type Bool")


def mask_repairs(specs: list[ArgSpec], blamed: list[str], message: str):
    """An op that needs a boolean mask: the blamed argument named like a mask becomes one (all
    False: nothing masked), before any other repair spends the trials."""
    if not _BOOL_MASK.search(message):
        return
    for spec in specs:
        if spec.name in blamed and "mask" in spec.name.lower() and spec.kind == "float" and spec.dtype != "bool" and not spec.fixed:
            yield [replace(spec, dtype="bool", why="a boolean mask (all False: nothing masked)") if s is spec else s for s in specs]


def consistent_repairs(specs: list[ArgSpec], message: str, op, batch: int):
    """Two raw arguments combined element-wise (``d0 - d1``, ``torch.cat((d0, d1), 1)``) with
    different ranks: the one with fewer dimensions takes the other's shape."""
    if op is None or len(op.shapes) < 2 or not re.search(r"must match the size|Sizes of tensors must match|same number of dimensions", message):
        return
    by_name = {s.name: s for s in specs}
    raw = []
    for shape, labels in zip(op.shapes, op.labels):
        if len(labels) == 1:
            spec = by_name.get(next(iter(labels)))
            if spec is not None and spec.kind == "float" and spec.batch_dim == 0 and tuple(shape) == (batch, *spec.shape):
                raw.append((spec, shape))
    for spec, shape in raw:
        for other, other_shape in raw:
            if other is not spec and not spec.fixed and len(spec.shape) < len(other.shape):
                yield [replace(other, name=spec.name, why=f"the shape of {other.name}", fixed=False) if s is spec else s for s in specs]


def adjacency_repairs(specs: list[ArgSpec], blamed: list[str], line: str, message: str, batch: int):
    """An adjacency matrix over the batch's nodes, fed as feature rows: ``torch.where(adj > 0,
    e, zero)`` against scores over node pairs (a broadcast of the batch size against its
    width, the argument named on the failing line), or ``adj.nonzero()`` indexing the nodes (an
    index past the batch, from an argument whose width is a guess). fitting.py tries these
    before the broadcast fixes, which would give it the batch's size as its width."""
    by_name = {s.name: s for s in specs}
    broadcast = BROADCAST.search(message)
    if broadcast is not None:
        sizes = {int(broadcast.group(1)), int(broadcast.group(2))}
        for name in blamed:
            spec = by_name[name]
            if (spec.kind == "float" and len(spec.shape) == 1 and sizes == {batch, spec.shape[-1]}
                    and re.search(rf"\b{re.escape(name)}\b", line)):
                yield [ArgSpec(name, "square", (), why="a matrix over the batch's nodes") if s is spec else s for s in specs]
    # ``edge = adj.nonzero().t()`` then ``h[edge[0]]``: a column of the matrix indexes the nodes
    bounds = OUT_OF_BOUNDS.search(message)
    if bounds is not None and int(bounds.group(2)) == batch:
        for name in blamed:  # of the values the failed op read, one whose width is still a guess
            spec = by_name[name]
            if (spec.kind == "float" and len(spec.shape) == 1 and spec.shape[-1] > int(bounds.group(1))
                    and not spec.fixed and spec.why.startswith(GUESSED_WIDTH)):
                yield [ArgSpec(name, "square", (), why="a matrix over the batch's nodes") if s is spec else s for s in specs]
