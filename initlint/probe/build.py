"""Building a model and an input for it, inside the worker process (user code runs here only).

A model is a class of the file (built from its constructor defaults, inferred sizes for required
integer parameters, and the user's overrides), a module-level nn.Module instance, a list of
layers (probed as ``nn.Sequential`` of them), or whatever a user factory returns. The input comes
from the first layer that consumes it: Linear -> (B, in_features), ConvNd -> (B, C, 32, ...),
Embedding -> integer ids, RNN/LSTM/GRU -> (B, T, features).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn


class BuildError(Exception):
    """The model or its input cannot be built; the message says why and what would fix it."""


#: sizes for required parameters, by name: what a small model of that shape would use
_SIZE_PATTERNS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"(^|_)(in_)?chan(nel)?s?$|^in_ch|^channels?$|_chans$"), 3),
    (re.compile(r"vocab|num_embeddings|n_tokens|num_tokens"), 1000),
    (re.compile(r"(classes|labels|actions|act_dim|action_dim|outputs?)$|^n_out|^num_out"), 10),
    (re.compile(r"^(n|num)_(layers?|blocks?|heads?)|depth$|^n_layer$|^layers$"), 2),
    (re.compile(r"(dim|features|size|width|hidden|units|^d_model|^n_embd|^obs_dim|^input_dim)"), 64),
    (re.compile(r"^n_|^num_"), 4),
]


def load_module(path: str, name: str | None = None):
    """Import a file by path (its folder first on sys.path for sibling imports), or a dotted
    module name."""
    if name is None and not path.endswith(".py"):
        return importlib.import_module(path)
    file = Path(path).resolve()
    folder = str(file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_name = name or f"initlint_probe_{abs(hash(str(file)))}_{file.stem}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise BuildError(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def infer_size(param: str) -> int | None:
    lowered = param.lower()
    for pattern, size in _SIZE_PATTERNS:
        if pattern.search(lowered):
            return size
    return None


def build_model(module, name: str, overrides: dict[str, Any], factory: str | None = None) -> nn.Module:
    """The model called ``name`` in ``module`` (see the module docstring)."""
    if factory:
        module_name, _, function = factory.partition(":")
        maker = getattr(importlib.import_module(module_name) if module_name else module, function)
        return _as_module(maker(), name)
    if not hasattr(module, name):
        raise BuildError(f"`{name}` is not defined at the top level of the module")
    value = getattr(module, name)
    if inspect.isclass(value):
        if not issubclass(value, nn.Module):
            raise BuildError(f"`{name}` is not an nn.Module subclass")
        return value(**constructor_args(value, overrides))
    return _as_module(value, name)


def _as_module(value: Any, name: str) -> nn.Module:
    if isinstance(value, nn.Module):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, nn.Module) for v in value):
        return nn.Sequential(*value)
    raise BuildError(f"`{name}` is {type(value).__name__}, not an nn.Module or a list of them")


def constructor_args(cls: type, overrides: dict[str, Any]) -> dict[str, Any]:
    """Defaults stay; required parameters come from overrides or a size inferred by name."""
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return dict(overrides)
    args: dict[str, Any] = {}
    missing: list[str] = []
    for index, param in enumerate(signature.parameters.values()):
        if index == 0 or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name in overrides:
            args[param.name] = overrides[param.name]
        elif param.default is inspect.Parameter.empty:
            size = infer_size(param.name)
            if size is None:
                missing.append(param.name)
            else:
                args[param.name] = size
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        first = missing[0]
        raise BuildError(
            f"the constructor needs {names} and no size can be inferred from the name; pass "
            f"--probe-arg {cls.__name__}.{first}=VALUE or a factory in [tool.initlint.probe]"
        )
    return args


def build_input(model: nn.Module, batch: int, seed: int, shape: list[int] | None = None) -> Any:
    """A seeded input for the first layer that consumes one (see the module docstring)."""
    generator = torch.Generator().manual_seed(seed)
    if shape:
        return torch.randn([batch, *shape], generator=generator)
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            return torch.randint(0, module.num_embeddings, (batch, 16), generator=generator)
        if isinstance(module, (nn.Linear, nn.Bilinear)) and not isinstance(module, nn.LazyLinear):
            features = module.in1_features if isinstance(module, nn.Bilinear) else module.in_features
            return torch.randn(batch, features, generator=generator)
        if isinstance(module, nn.modules.conv._ConvNd):
            dims = len(module.kernel_size)
            channels = module.in_channels
            return torch.randn(batch, channels, *([32] * dims), generator=generator)
        if isinstance(module, nn.RNNBase):
            if module.batch_first:
                return torch.randn(batch, 16, module.input_size, generator=generator)
            return torch.randn(16, batch, module.input_size, generator=generator)
    raise BuildError(
        "no Linear, Conv, Embedding or RNN layer tells the input's shape; give one with "
        "input-shape in [tool.initlint.probe] or use a factory"
    )
