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
    return None


def moment(tensor: torch.Tensor) -> float:
    return float(tensor.detach().double().pow(2).mean())


def weight_of(module: nn.Module) -> torch.Tensor | None:
    weight = getattr(module, "weight", None)
    if isinstance(weight, torch.Tensor) and weight.dim() >= 2:
        return weight
    weight = getattr(module, "weight_ih_l0", None)  # RNN, LSTM, GRU
    return weight if isinstance(weight, torch.Tensor) else None


def units_of(output: torch.Tensor) -> torch.Tensor | None:
    """Output as (samples, units): features last for Linear, channels for convs."""
    if output.dim() < 2 or not output.is_floating_point():
        return None
    if output.dim() == 2:
        return output
    if output.dim() >= 3 and output.shape[1] > 1 and output.dim() in (3, 4, 5):
        return output.transpose(0, 1).reshape(output.shape[1], -1).t()
    return output.reshape(-1, output.shape[-1])
