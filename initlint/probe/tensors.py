"""Small tensor helpers shared by measure.py and training.py."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        for item in value.values():
            found = first_tensor(item)
            if found is not None:
                return found
    if hasattr(value, "last_hidden_state"):
        return value.last_hidden_state
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict) and not isinstance(value, type):
        # torch.distributions keep their parameters as attributes (Normal: loc, scale)
        for item in fields.values():
            if isinstance(item, torch.Tensor):
                return item
    return None


#: elements a layer's statistics are computed from (a seeded random sample of bigger tensors)
SAMPLE = 1 << 16
#: rows (samples x positions) of the unit matrix for dead, identical and correlated units
UNIT_ROWS = 2048


def sample_of(tensor: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A flat float32 sample of at most SAMPLE elements (all of a small tensor)."""
    flat = tensor.detach().reshape(-1)
    if flat.numel() > SAMPLE:
        index = torch.randint(flat.numel(), (SAMPLE,), generator=generator).to(flat.device)
        flat = flat[index]
    return flat.float()


def moment(tensor: torch.Tensor, generator: torch.Generator | None = None) -> float:
    """E[x^2] (of a sample for big tensors), in float32 with a scale so huge values stay finite."""
    x = sample_of(tensor, generator)
    if x.numel() == 0:
        return 0.0
    scale = float(x.abs().max())
    if scale == 0.0 or not torch.isfinite(torch.tensor(scale)):
        return scale
    return float((x / scale).square().mean()) * scale * scale


def weight_of(module: nn.Module) -> torch.Tensor | None:
    weight = getattr(module, "weight", None)
    if isinstance(weight, torch.Tensor) and weight.dim() >= 2:
        return weight
    weight = getattr(module, "weight_ih_l0", None)  # RNN, LSTM, GRU
    return weight if isinstance(weight, torch.Tensor) else None


def units_of(output: torch.Tensor, generator: torch.Generator | None = None, channels_first: bool | None = None,
             rows: int = UNIT_ROWS) -> torch.Tensor | None:
    """Output as (samples, units), at most ``rows`` sampled rows. Units are the channels
    (dim 1) of conv-like outputs (``channels_first``; by default for 4-D and 5-D outputs) and
    the last dimension otherwise; every position of every sample is a row."""
    if output.dim() < 2 or not output.is_floating_point():
        return None
    output = output.detach()
    if channels_first is None:
        channels_first = output.dim() >= 4
    if output.dim() == 2 or not channels_first:
        matrix = output.reshape(-1, output.shape[-1])
    else:
        per_sample = output.flatten(2)  # (B, C, positions)
        positions = per_sample.shape[2]
        count = per_sample.shape[0] * positions
        if count > rows:
            pick = torch.randint(count, (rows,), generator=generator).to(output.device)
            return per_sample[pick // positions, :, pick % positions]
        matrix = per_sample.transpose(1, 2).reshape(-1, per_sample.shape[1])
    if matrix.shape[0] > rows:
        pick = torch.randint(matrix.shape[0], (rows,), generator=generator).to(matrix.device)
        matrix = matrix[pick]
    return matrix


#: values a ReLU unit must see before "dead on the whole batch" means anything: after global
#: pooling (a squeeze-excitation block) a unit sees one value per sample, and on a batch of 2
#: half of healthy units are negative on both
MIN_DEAD_ROWS = 16


def dead_share(units: torch.Tensor | None) -> float | None:
    """The share of units never active on any row of ``units`` (samples, units); None when a
    unit sees fewer than ``MIN_DEAD_ROWS`` values."""
    if units is None or units.shape[0] < MIN_DEAD_ROWS:
        return None
    return float((units <= 0).all(dim=0).double().mean())

