"""What to change in an input after a failed trial (fitting.py's loop), surest repair first.

A repair changes one argument that the failing value carries (tracing.py), and only an argument
the user did not give. What it can fix: features, channels and ranks a layer demands, token ids
an Embedding needs, a tuple that forward unpacks, the image size a model asserts or its layers
imply (numbers in the error first, then common sizes), a sequence length. reshaping.py adds the
repairs from forward's source (ranks.py) and from the sizes a shape error states: ranks,
channels (also of concatenated arguments), RNN initial states, reshape sizes, masks.
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import replace

from torch import nn

from initlint.probe.inputs import SEQUENCE, ArgSpec
from initlint.probe.ranks import Rank
from initlint.probe.reshaping import (
    adjacency_repairs, channel_repairs, consistent_repairs, hidden_repairs, mask_broadcast_repairs, mask_repairs, rank_repairs,
    view_repairs,
)
from initlint.probe.shape_errors import BROADCAST, MATMUL
from initlint.probe.size_asserts import assert_size_repairs, repeat_rank_repairs
from initlint.probe.tracing import LeafCall, Trace

_UNPACK = re.compile(r"(?:not enough|too many) values to unpack \(expected (\d+)")
#: trial batch: 3, so that ``a, b = x`` of a tensor fails instead of splitting the batch in two
TRIAL_BATCH = 3


def _labels(specs: list[ArgSpec]) -> dict[str, str]:
    """label -> argument name (tuple parts carry ``name[i]``)."""
    out = {}
    for spec in specs:
        out[spec.name] = spec.name
        for part in spec.parts:
            out[part.name] = spec.name
    return out


def blamed_arguments(specs: list[ArgSpec], error: BaseException, trace: Trace | None) -> list[str]:
    """Arguments the failing value carries (unfixed ones first)."""
    owners = _labels(specs)
    found: list[str] = []
    labels: frozenset[str] = frozenset()
    if trace is not None and trace.failed_op is not None:
        for item in trace.failed_op.labels:
            labels |= item
    if trace is not None and trace.failed_in is not None:
        labels |= trace.failed_in.labels
    for label in sorted(labels):
        owner = owners.get(label)
        if owner and owner not in found:
            found.append(owner)
    if not found:
        line = failing_line(error)
        found = [s.name for s in specs if line and re.search(rf"\b{re.escape(s.name)}\b", line)]
    by_name = {s.name: s for s in specs}
    return sorted(found, key=lambda n: by_name[n].fixed if n in by_name else True)


def failing_line(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        name = frame.filename.replace(os.sep, "/")
        if "/torch/" not in name and "/initlint/" not in name:
            return frame.line or ""
    return ""


def repair(specs: list[ArgSpec], error: BaseException, trace: Trace | None, sizes: list[int], tried: set[str],
           ranks: dict[str, Rank] | None = None, fed: dict[int, str] | None = None) -> list[ArgSpec] | None:
    """A changed copy of ``specs`` that may get past ``error``, or None. ``fed``: id(tensor) ->
    argument name for the tensors the failing trial passed."""
    message = str(error)
    for candidate in _candidates(specs, error, trace, message, sizes, ranks or {}, fed or {}):
        if candidate is not None and repr([s.describe() for s in candidate]) not in tried:
            return candidate
    return None


def _candidates(specs: list[ArgSpec], error: BaseException, trace: Trace | None, message: str, sizes: list[int],
                ranks: dict[str, Rank], fed: dict[int, str]):
    """Repairs in order of how sure they are; repair() takes the first one not tried yet."""
    yield from assert_size_repairs(specs, error, fed)
    yield from repeat_rank_repairs(specs, error, fed)
    by_name = {s.name: s for s in specs}
    line = failing_line(error)
    blamed_all = blamed_arguments(specs, error, trace)
    call = trace.failed_in if trace is not None else None
    yield from mask_repairs(specs, blamed_all, message)
    yield from mask_broadcast_repairs(specs, message, trace.failed_op if trace is not None else None)
    yield from hidden_repairs(specs, blamed_all, message, call, TRIAL_BATCH)
    yield from channel_repairs(specs, blamed_all, message, TRIAL_BATCH)
    yield from rank_repairs(specs, blamed_all, message, ranks)
    yield from view_repairs(specs, blamed_all, message)
    yield from consistent_repairs(specs, message, trace.failed_op if trace is not None else None, TRIAL_BATCH)
    unpack = _UNPACK.search(message)
    if unpack:
        count = int(unpack.group(1))
        for spec in specs:
            if spec.fixed:
                continue
            name = re.escape(spec.name)
            if re.search(rf"=\s*{name}\s*\.\s*(size\(\s*\)|shape)\s*$", line):
                yield _swap(specs, _with_rank(spec, count))  # ``B, C, H, W = x.size()``
            elif re.search(rf"=\s*{name}\s*$", line):
                part = spec.parts[0] if spec.parts else spec
                parts = tuple(replace(part, name=f"{spec.name}[{i}]", parts=()) for i in range(count))
                yield _swap(specs, ArgSpec(spec.name, "tuple", parts=parts, why="forward unpacks it"))
    if "offsets" in message:
        bags = [s for s in specs if s.kind in ("ids", "flat_ids")]
        rest = [s for s in specs if s not in bags and not s.fixed]
        if bags and rest:
            text = bags[0]
            yield _swap(_swap(specs, ArgSpec(text.name, "flat_ids", (SEQUENCE,), high=text.high, why="EmbeddingBag's flat text")),
                        ArgSpec(rest[0].name, "offsets", (SEQUENCE,), why="EmbeddingBag's offsets"))
    if re.search(r"tuple of Tensors, not Tensor|expected a sequence|object is not iterable", message):
        for name in blamed_arguments(specs, error, trace) or [s.name for s in specs]:
            spec = by_name[name]
            if not spec.fixed and spec.kind != "tuple":
                yield _swap(specs, ArgSpec(name, "tuple", parts=(replace(spec, name=f"{name}[0]"), replace(spec, name=f"{name}[1]")), why="a sequence of tensors"))
    blamed = [n for n in blamed_arguments(specs, error, trace) if not by_name[n].fixed]
    call = trace.failed_in if trace is not None else None
    for name in blamed:
        spec = by_name[name]
        if call is not None and spec.kind != "tuple":
            fixed = _fix_for_layer(spec, call)
            if fixed is not None and fixed.describe() != spec.describe():
                yield _swap(specs, fixed)
        if spec.kind == "tuple" and call is not None:
            labelled = [i for i, part in enumerate(spec.parts) if f"{name}[{i}]" in call.labels]
            for index in labelled:
                fixed = _fix_for_layer(spec.parts[index], call)
                if fixed is not None and len(labelled) > 1 and isinstance(call.module, nn.modules.conv._ConvNd):
                    share = call.module.in_channels // len(labelled)  # parts concatenated into one conv
                    fixed = replace(spec.parts[index], shape=(max(1, share), *spec.parts[index].shape[1:]))
                if fixed is not None and fixed.describe() != spec.parts[index].describe():
                    parts = list(spec.parts)
                    parts[index] = replace(fixed, name=spec.parts[index].name)
                    yield _swap(specs, replace(spec, parts=tuple(parts)))
    yield from adjacency_repairs(specs, blamed, line, message, TRIAL_BATCH)
    yield from _broadcast_fixes(specs, trace, message)
    mat = MATMUL.search(message)
    for name in blamed:
        spec = by_name[name]
        if mat and spec.kind == "float" and len(spec.shape) == 1:
            rows, inner, other_rows, _ = (int(g) for g in mat.groups())
            if spec.shape[-1] == inner and other_rows != TRIAL_BATCH:  # a weight's width first: it is a fact
                yield _swap(specs, replace(spec, shape=(other_rows,), why="the matrix it is multiplied with"))
            if TRIAL_BATCH in (rows, other_rows) and spec.shape[-1] in (rows, inner):
                yield _swap(specs, ArgSpec(name, "square", (), why="a matrix over the batch's nodes"))
        on_line = [n for n in blamed if re.search(rf"\b{re.escape(n)}\b", line)] or blamed
        on_line.sort(key=lambda n: "mask" not in n.lower())  # a mask-named argument is the mask
        if (re.search(r"boolean mask|expected.*Bool|scalar type Bool", message) and name == on_line[0]
                and spec.kind == "float" and spec.dtype != "bool"):
            yield _swap(specs, replace(spec, dtype="bool", why="a boolean mask (all False: nothing masked)"))
        if re.search(r"scalar type Long|argument #\d+ 'indices'|Long, Int|expected.*Long", message) and spec.kind == "float":
            yield _swap(specs, ArgSpec(name, "ids", (SEQUENCE,) if len(spec.shape) <= 1 else spec.shape, high=1000, why="integer ids"))
        if spec.kind == "ids":
            lengths = [n for n in _numbers(message) if 1 <= n <= 4096 and (not spec.shape or n != spec.shape[-1])]
            for length in lengths:
                yield _swap(specs, replace(spec, shape=(*spec.shape[:-1], length) if spec.shape else (length,)))
            if spec.shape:
                yield _swap(specs, replace(spec, shape=()))  # one id per sample
            for length in (16, 8, 64):
                yield _swap(specs, replace(spec, shape=(length,)))
    images = [s.name for s in specs if s.image_like and not s.fixed]
    if images:
        yield from _image_sizes(specs, images, message, sizes)


def _with_rank(spec: ArgSpec, rank: int) -> ArgSpec:
    """``spec`` as a tensor of ``rank`` dimensions (the batch included), keeping its features."""
    features = spec.shape[0] if spec.shape else 64
    if rank == 4:
        return ArgSpec(spec.name, "float", (features if features <= 512 else 3, 32, 32), why="forward unpacks 4 dimensions")
    if rank == 3:
        return ArgSpec(spec.name, "float", (SEQUENCE // 2, spec.shape[-1] if spec.shape else 64), why="forward unpacks 3 dimensions")
    if rank == 2:
        return ArgSpec(spec.name, "float", (spec.shape[-1] if spec.shape else 64,), why="forward unpacks 2 dimensions")
    return ArgSpec(spec.name, "float", tuple([16] * (rank - 1)), why=f"forward unpacks {rank} dimensions")


def _broadcast_fixes(specs: list[ArgSpec], trace: Trace | None, message: str):
    """``x + self.zero_in(hint)``: a raw argument whose one dimension differs from the other
    operand's takes that size (channels, lengths)."""
    op = trace.failed_op if trace is not None else None
    match = BROADCAST.search(message)
    if op is None or not match or len(op.shapes) < 2:
        return
    by_name = {s.name: s for s in specs}
    for index, (shape, labels) in enumerate(zip(op.shapes, op.labels)):
        other = op.shapes[1 - index] if index < 2 else None
        if other is None or len(labels) != 1:
            continue
        (name,) = labels
        spec = by_name.get(name)
        if spec is None or spec.fixed or spec.kind != "float" or len(shape) != len(spec.shape) + 1 or len(other) != len(shape):
            continue
        dim = int(match.group(3))
        if dim < 1 or dim >= len(shape):
            continue
        if shape[dim] != other[dim] and other[dim] > 1:
            changed = list(spec.shape)
            changed[dim - 1] = other[dim]
            if spec.image_like and dim >= 2:  # a spatial size: every image argument takes it
                yield _resize_images(specs, [s.name for s in specs if s.image_like and not s.fixed], other[dim])
            yield _swap(specs, replace(spec, shape=tuple(changed), why="the tensor it is combined with"))


def _resize_images(specs: list[ArgSpec], names: list[str], size: int) -> list[ArgSpec]:
    return [
        replace(s, shape=(s.shape[0], *([size] * (len(s.shape) - 1))), why=f"image size {size}") if s.name in names else s
        for s in specs
    ]


def _image_sizes(specs: list[ArgSpec], names: list[str], message: str, sizes: list[int]):
    """Image sizes to try, for every image argument at once: numbers the error names first,
    then the model's own hint and common sizes."""
    named = [n for n in _numbers(message) if 8 <= n <= 1024]
    for size in [*named, *sizes]:
        yield _resize_images(specs, names, size)


def _key(specs: list[ArgSpec], changed: ArgSpec) -> str:
    return repr([(changed if s.name == changed.name else s).describe() for s in specs])


def _swap(specs: list[ArgSpec], changed: ArgSpec) -> list[ArgSpec]:
    return [changed if s.name == changed.name else s for s in specs]


def _numbers(message: str) -> list[int]:
    return [int(n) for n in re.findall(r"(?<![\w.])(\d{1,4})(?![\w.])", message)]


def _fix_for_layer(spec: ArgSpec, call: LeafCall) -> ArgSpec | None:
    """What ``spec`` must be for the leaf layer that failed on it."""
    layer, shape = call.module, call.shape or ()
    raw = len(shape) == len(spec.shape) + 1
    if isinstance(layer, (nn.Embedding, nn.EmbeddingBag)):
        if spec.kind in ("ids", "flat_ids"):
            return replace(spec, high=min(spec.high, layer.num_embeddings), why=f"ids for {call.name}")
        return ArgSpec(spec.name, "ids", (SEQUENCE,), high=layer.num_embeddings, why=f"token ids for {call.name}")
    if isinstance(layer, nn.Linear) and not isinstance(layer, nn.LazyLinear):
        if shape and spec.shape and (raw or shape[-1] == spec.shape[-1]) and not spec.image_like and spec.shape[-1] != layer.in_features:
            return replace(spec, kind="float", shape=(*spec.shape[:-1], layer.in_features), why=f"{call.name}'s in_features")
        return _scaled_features(spec, shape, layer.in_features, f"{call.name}'s in_features")
    if isinstance(layer, nn.modules.conv._ConvNd) and layer.in_channels > 0:
        dims = len(layer.kernel_size)
        if raw and len(shape) != dims + 2 or spec.kind != "float":
            size = 32 if dims == 2 else (SEQUENCE * 4 if dims == 1 else 16)
            return ArgSpec(spec.name, "float", (layer.in_channels, *([size] * dims)), why=f"{call.name}'s in_channels")
        if len(shape) >= 2 and spec.shape and shape[1] == spec.shape[0] and shape[1] != layer.in_channels:
            return replace(spec, shape=(layer.in_channels, *spec.shape[1:]), why=f"{call.name}'s in_channels")
        return None
    if isinstance(layer, nn.RNNBase):
        batch_dim = 0 if layer.batch_first else 1
        return ArgSpec(spec.name, "float", (SEQUENCE, layer.input_size), batch_dim=batch_dim, why=f"{call.name}'s input_size")
    if isinstance(layer, nn.LayerNorm):
        normalized = tuple(layer.normalized_shape)
        scaled = _scaled_features(spec, shape, normalized[-1], f"{call.name}'s normalized_shape") if len(normalized) == 1 else None
        if scaled is not None:
            return scaled
        lead = spec.shape[: max(0, len(spec.shape) - len(normalized))] or (SEQUENCE // 2,)
        return replace(spec, kind="float", shape=(*lead, *normalized), why=f"{call.name}'s normalized_shape")
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        spatial = {nn.BatchNorm1d: (), nn.BatchNorm3d: (16, 16, 16)}.get(type(layer), (32, 32))
        if raw and len(shape) == 2 + len(spatial):
            return replace(spec, shape=(layer.num_features, *spec.shape[1:]), why=f"{call.name}'s num_features")
        return ArgSpec(spec.name, "float", (layer.num_features, *spatial), why=f"{call.name}'s num_features")
    if isinstance(layer, nn.GroupNorm) and raw:
        return replace(spec, shape=(layer.num_channels, *spec.shape[1:]), why=f"{call.name}'s channels")
    if isinstance(layer, nn.MultiheadAttention):
        return ArgSpec(spec.name, "float", (SEQUENCE // 2, layer.embed_dim), batch_dim=0 if layer.batch_first else 1, why=f"{call.name}'s embed_dim")
    return None


def _scaled_features(spec: ArgSpec, shape: tuple[int, ...] | list[int], need: int, why: str) -> ArgSpec | None:
    """The layer got ``m`` times the input's features in its last dimension (forward merged
    ``m`` neighbours into one, as patch merging concatenates four): the input takes ``need / m``
    so that the merged width is ``need``."""
    if spec.kind != "float" or not spec.shape or not shape or spec.image_like:
        return None
    got, have = shape[-1], spec.shape[-1]
    if got == have or have <= 0 or got % have or need % (got // have):
        return None
    return replace(spec, shape=(*spec.shape[:-1], need // (got // have)), why=f"{why} over {got // have} merged features")
