"""Batch and image size for the measurement: realistic for the model, within time and memory.

From the fitted trial (batch 3): the time of one forward, the activation memory per sample, and
the values each BatchNorm channel sees per sample. The batch is the requested one (64 by
default) unless that would not fit the time budget or half the memory cap; the image grows
(32 -> 64 -> 128 -> 224) while the model pools it below a 4x4 feature map (the pooling depth:
a ResNet wants 128 or more) or a BatchNorm would see fewer than ``MIN_NORM_VALUES`` values per
channel in train mode. When neither fixes that, BatchNorm is measured in eval mode (its initial
running statistics: mean 0, variance 1) and the report says so; its verdicts become warnings.
"""

from __future__ import annotations

import math
import time
from dataclasses import field, replace

import torch
from torch import nn

from initlint.lean import dataclass
from initlint.probe.inputs import Fitted
from initlint.probe.tracing import traced_forward

#: values per BatchNorm channel below which train-mode statistics are noise (2 at 1x1 and batch 2)
MIN_NORM_VALUES = 32
#: forward passes the core measurement costs (hooks, JVP, forward + backward), as a multiple
CORE_PASSES = 10
#: share of the budget the core measurement may take
CORE_SHARE = 0.35
DEFAULT_BATCH = 64
_LARGER_IMAGES = (64, 128, 224)


@dataclass
class Sizing:
    batch: int
    fitted: Fitted
    norm_eval: bool = False
    notes: list[str] = field(default_factory=list)


def _norm_values(fitted: Fitted) -> float | None:
    """The fewest values per channel per sample that a BatchNorm saw in the trial (batch 2)."""
    counts = []
    for call in fitted.trace.calls if fitted.trace else []:
        if isinstance(call.module, nn.modules.batchnorm._BatchNorm) and call.shape and len(call.shape) >= 2:
            counts.append(math.prod(call.shape) / call.shape[1] / call.shape[0])  # per sample
    return min(counts) if counts else None


def _trunk_size(fitted: Fitted) -> int | None:
    """The smallest feature map a spatial conv (kernel > 1) or BatchNorm of the trunk sees: how
    deep the model pools (1 means the image is too small for its downsampling)."""
    sizes = []
    for call in fitted.trace.calls if fitted.trace else []:
        layer = call.module
        spatial = isinstance(layer, nn.modules.conv._ConvNd) and max(layer.kernel_size) > 1
        if (spatial or isinstance(layer, nn.modules.batchnorm._BatchNorm)) and call.shape and len(call.shape) >= 4:
            sizes.append(min(call.shape[2:]))
    return min(sizes) if sizes else None


#: the smallest feature map a realistic input leaves (resnet at 224: 7x7; at 128: 4x4)
MIN_FEATURE_MAP = 4


def _timed(model: nn.Module, fitted: Fitted, seed: int, device: str) -> float:
    """Seconds of one forward at the trial batch, per two samples."""
    from initlint.probe.input_repairs import TRIAL_BATCH

    args, kwargs = fitted.make(TRIAL_BATCH, seed, device)
    started = time.perf_counter()
    with torch.no_grad():
        model(*args, **kwargs)
    return (time.perf_counter() - started) * 2 / TRIAL_BATCH


def _per_sample_bytes(fitted: Fitted) -> float:
    total = sum(call.out_numel for call in fitted.trace.calls) if fitted.trace else 0
    return 4.0 * total / 2


def _feasible(forward: float, fitted: Fitted, budget: float, memory_mb: float) -> tuple[int, str]:
    """The largest batch whose core measurement fits the time budget and half the memory cap."""
    per_sample = max(forward / 2, 1e-6)
    by_time = int(CORE_SHARE * budget / (CORE_PASSES * per_sample))
    by_memory = int(0.4 * memory_mb * 2**20 / max(3 * _per_sample_bytes(fitted), 1.0))
    return max(2, min(by_time, by_memory)), ("time" if by_time <= by_memory else "memory")


def _grown(model: nn.Module, fitted: Fitted, seed: int, device: str) -> Fitted | None:
    """The fitted input with a larger image, if the model takes one."""
    image = next((s for s in fitted.specs if s.image_like and not s.fixed), None)
    larger = next((s for s in _LARGER_IMAGES if image is not None and s > image.shape[-1]), None)
    if image is None or larger is None:
        return None
    bigger = replace(image, shape=(image.shape[0], *([larger] * (len(image.shape) - 1))), why=f"image size {larger}")
    trial = Fitted([bigger if s is image else s for s in fitted.specs], fitted.keyword, notes=fitted.notes)
    from initlint.probe.input_repairs import TRIAL_BATCH

    args, kwargs = trial.make(TRIAL_BATCH, seed, device)
    model.eval()
    try:
        with torch.no_grad():
            _, trial.trace = traced_forward(model, args, kwargs, {})
    except Exception:  # noqa: BLE001 - the model does not take that size: keep the last one
        return None
    finally:
        model.train()
    return trial


def choose(model: nn.Module, fitted: Fitted, requested: int | None, budget: float, memory_mb: float,
           seed: int, device: str, deadline: float) -> Sizing:
    """The batch and input to measure with (see the module docstring)."""
    forward = _timed(model, fitted, seed, device)
    values = _norm_values(fitted)
    feasible, limit = _feasible(forward, fitted, budget, memory_mb)
    batch = requested or min(DEFAULT_BATCH, feasible)
    sizing = Sizing(batch, fitted)
    start = next((s.shape[-1] for s in fitted.specs if s.image_like and not s.fixed), None)
    while time.monotonic() < deadline and (
        (values is not None and batch * values < MIN_NORM_VALUES)
        or (_trunk_size(fitted) or MIN_FEATURE_MAP) < MIN_FEATURE_MAP
    ):
        grown = _grown(model, fitted, seed, device)
        if grown is None:
            break
        fitted = sizing.fitted = grown
        values = _norm_values(fitted)
        forward = _timed(model, fitted, seed, device)
        feasible, limit = _feasible(forward, fitted, budget, memory_mb)
        batch = requested or min(DEFAULT_BATCH, feasible)
    size = next((s.shape[-1] for s in fitted.specs if s.image_like and not s.fixed), None)
    if size != start:
        sizing.notes.append(
            f"input {size}x{size} (not {start}x{start}): the model pools it to a {_trunk_size(fitted)}x"
            f"{_trunk_size(fitted)} feature map and BatchNorm sees enough values per channel"
        )
    if requested is None and values is not None and batch * values < MIN_NORM_VALUES:
        needed = math.ceil(MIN_NORM_VALUES / values)
        if needed <= feasible:
            batch = needed
    if requested is None and batch < DEFAULT_BATCH:
        sizing.notes.append(f"batch {batch} (not {DEFAULT_BATCH}) to fit the {limit} budget")
    sizing.batch = batch
    if values is not None and batch * values < MIN_NORM_VALUES:
        sizing.norm_eval = True
        sizing.notes.append(
            f"BatchNorm measured in eval mode (its initial statistics): in train mode it would see "
            f"{batch * values:g} values per channel (fewer than {MIN_NORM_VALUES}); "
            "verdicts on this input are warnings"
        )
    return sizing
