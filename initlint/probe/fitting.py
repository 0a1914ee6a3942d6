"""The trial loop of inputs.py: run forward at batch 2, read the failure, fix the shape, again.

A repair changes one argument that the failing value carries (tracing.py), and only an argument
the user did not give. What it can fix: features, channels and ranks a layer demands, token ids
an Embedding needs, a tuple that forward unpacks, the image size a model asserts or its layers
imply (numbers in the error first, then common sizes), a sequence length.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from initlint.probe.inputs import (
    IMAGE_SIZES, MAX_TRIALS, SEQUENCE, ArgSpec, Fitted, InputError, image_size_hint, initial_specs,
    required_parameters,
)
from initlint.probe.tracing import LeafCall, Trace, traced_forward

_UNPACK = re.compile(r"(?:not enough|too many) values to unpack \(expected (\d+)")
_MAT = re.compile(r"shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")


def _labels(specs: list[ArgSpec]) -> dict[str, str]:
    """label -> argument name (tuple parts carry ``name[i]``)."""
    out = {}
    for spec in specs:
        out[spec.name] = spec.name
        for part in spec.parts:
            out[part.name] = spec.name
    return out


def _names_of(fitted: Fitted, args: tuple, kwargs: dict[str, Any]) -> dict[int, str]:
    names: dict[int, str] = {}
    values = list(zip([s for s in fitted.specs if s.name not in fitted.keyword], args))
    values += [(s, kwargs[s.name]) for s in fitted.specs if s.name in kwargs]
    for spec, value in values:
        if isinstance(value, tuple):
            for part, item in zip(spec.parts, value):
                names[id(item)] = part.name
        elif isinstance(value, torch.Tensor):
            names[id(value)] = spec.name
    return names


def fit_inputs(
    model: nn.Module, user: dict[str, ArgSpec], built_with: dict[str, Any], model_name: str,
    seed: int, deadline: float,
) -> Fitted:
    params, keyword = required_parameters(model)
    fitted = Fitted(initial_specs(model, params, user, built_with, model_name), keyword)
    sizes = [s for s in [image_size_hint(model)] if s] + [s for s in IMAGE_SIZES]
    tried: set[str] = set()
    error: BaseException | None = None
    training = model.training
    model.eval()
    try:
        for _ in range(MAX_TRIALS):
            key = repr([s.describe() for s in fitted.specs])
            if key in tried or (tried and time.monotonic() > deadline):
                break
            tried.add(key)
            args, kwargs = fitted.make(2, seed)
            try:
                with torch.no_grad():
                    _, trace = traced_forward(model, args, kwargs, _names_of(fitted, args, kwargs))
                fitted.trace = trace
                return fitted
            except Exception as failure:  # noqa: BLE001 - user code: read it, then retry or report
                error = failure
                repaired = repair(fitted.specs, failure, getattr(failure, "trace", None), sizes, tried)
                if repaired is None:
                    break
                fitted.specs = repaired
    finally:
        model.train(training)
    raise InputError(_hint(error, fitted.specs))


def _hint(error: BaseException | None, specs: list[ArgSpec]) -> str:
    fed = ", ".join(f"{s.name}={s.describe()}" for s in specs) or "no arguments"
    blamed = _blamed(specs, error, getattr(error, "trace", None)) if error is not None else []
    target = blamed[0] if blamed else (specs[0].name if specs else "NAME")
    if error is None:
        return f"no input could be fitted in time (fed {fed}); pass --probe-input {target}=SHAPE[:dtype]"
    lines = str(error).strip().splitlines()
    message = f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__
    return f"{message}{_user_frame(error)}; the probe fed {fed}; pass --probe-input {target}=SHAPE[:dtype]"


def _user_frame(error: BaseException) -> str:
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        name = frame.filename.replace(os.sep, "/")
        if "/torch/" not in name and "/initlint/" not in name and not name.startswith("<"):
            return f" (at {os.path.basename(name)}:{frame.lineno})"
    return ""


def _blamed(specs: list[ArgSpec], error: BaseException, trace: Trace | None) -> list[str]:
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
        line = _failing_line(error)
        found = [s.name for s in specs if line and re.search(rf"\b{re.escape(s.name)}\b", line)]
    by_name = {s.name: s for s in specs}
    return sorted(found, key=lambda n: by_name[n].fixed if n in by_name else True)


def _failing_line(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        name = frame.filename.replace(os.sep, "/")
        if "/torch/" not in name and "/initlint/" not in name:
            return frame.line or ""
    return ""


def repair(specs: list[ArgSpec], error: BaseException, trace: Trace | None, sizes: list[int], tried: set[str]) -> list[ArgSpec] | None:
    """A changed copy of ``specs`` that may get past ``error``, or None."""
    message = str(error)
    by_name = {s.name: s for s in specs}
    blamed = [n for n in _blamed(specs, error, trace) if not by_name[n].fixed]
    unpack = _UNPACK.search(message)
    if unpack:
        count = int(unpack.group(1))
        line = _failing_line(error)
        for spec in specs:
            if not spec.fixed and re.search(rf"=\s*{re.escape(spec.name)}\b|\b{re.escape(spec.name)}\s*$", line):
                part = spec.parts[0] if spec.parts else spec
                parts = tuple(replace(part, name=f"{spec.name}[{i}]", parts=()) for i in range(count))
                return _swap(specs, ArgSpec(spec.name, "tuple", parts=parts, why="forward unpacks it"))
    if not blamed:
        return _next_image(specs, [s.name for s in specs if s.image_like and not s.fixed], message, sizes, tried)
    name = blamed[0]
    spec = by_name[name]
    call = trace.failed_in if trace is not None else None
    if call is not None and spec.kind != "tuple":
        fixed = _fix_for_layer(spec, call)
        if fixed is not None and fixed.describe() != spec.describe():
            return _swap(specs, fixed)
    if spec.kind == "tuple" and call is not None:
        for index, part in enumerate(spec.parts):
            if f"{name}[{index}]" in call.labels:
                fixed = _fix_for_layer(part, call)
                if fixed is not None and fixed.describe() != part.describe():
                    parts = list(spec.parts)
                    parts[index] = fixed
                    return _swap(specs, replace(spec, parts=tuple(parts)))
    mat = _MAT.search(message)
    if mat and spec.kind == "float" and spec.shape and spec.shape[-1] == int(mat.group(2)):
        return _swap(specs, replace(spec, shape=(*spec.shape[:-1], int(mat.group(3))), why="the matrix it is multiplied with"))
    if re.search(r"scalar type Long|indices|Long, Int|IntTensor|LongTensor", message) and spec.kind == "float":
        return _swap(specs, ArgSpec(name, "ids", (SEQUENCE,) if len(spec.shape) <= 1 else spec.shape, high=1000, why="integer ids"))
    if spec.kind == "ids":
        lengths = [n for n in _numbers(message) if 1 <= n <= 4096 and n != spec.shape[-1]]
        for length in [*lengths, 16, 8, 64, 1]:
            changed = replace(spec, shape=(*spec.shape[:-1], length))
            if _key(specs, changed) not in tried:
                return _swap(specs, changed)
    return _next_image(specs, [n for n in blamed if by_name[n].image_like], message, sizes, tried)


def _key(specs: list[ArgSpec], changed: ArgSpec) -> str:
    return repr([(changed if s.name == changed.name else s).describe() for s in specs])


def _swap(specs: list[ArgSpec], changed: ArgSpec) -> list[ArgSpec]:
    return [changed if s.name == changed.name else s for s in specs]


def _numbers(message: str) -> list[int]:
    return [int(n) for n in re.findall(r"(?<![\w.])(\d{1,4})(?![\w.])", message)]


def _next_image(specs, names: list[str], message: str, sizes: list[int], tried: set[str]) -> list[ArgSpec] | None:
    """The next image size to try for an image-like argument: numbers the error names, then
    the model's own hint and common sizes."""
    by_name = {s.name: s for s in specs}
    for name in names:
        spec = by_name[name]
        named = [n for n in _numbers(message) if 8 <= n <= 1024]
        for size in [*named, *sizes]:
            changed = replace(spec, shape=(spec.shape[0], *([size] * (len(spec.shape) - 1))), why=f"image size {size}")
            if _key(specs, changed) not in tried:
                return _swap(specs, changed)
    return None


def _fix_for_layer(spec: ArgSpec, call: LeafCall) -> ArgSpec | None:
    """What ``spec`` must be for the leaf layer that failed on it."""
    layer, shape = call.module, call.shape or ()
    raw = len(shape) == len(spec.shape) + 1
    if isinstance(layer, (nn.Embedding, nn.EmbeddingBag)):
        length = spec.shape[-1] if spec.kind == "ids" and spec.shape else SEQUENCE
        return ArgSpec(spec.name, "ids", (length,), high=layer.num_embeddings, why=f"token ids for {call.name}")
    if isinstance(layer, nn.Linear) and not isinstance(layer, nn.LazyLinear):
        if shape and spec.shape and (raw or shape[-1] == spec.shape[-1]) and not spec.image_like:
            return replace(spec, kind="float", shape=(*spec.shape[:-1], layer.in_features), why=f"{call.name}'s in_features")
        return None
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
