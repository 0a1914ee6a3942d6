"""Recording one forward pass: hooks on every leaf module and a spy on functional activations.

The recorder keeps, per leaf module in the order forward ran it, the first call's statistics from
seeded samples (tensors.py): moments of input and output, a unit matrix, non-finite values, and in
the JVP pass the tangent's moments. The spy (a ``TorchFunctionMode``) sees ``torch.tanh(self.fc(x))``
and ``F.relu`` calls, which module hooks cannot, and credits their saturated or dead share to the
layer whose output went in.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.autograd.forward_ad as fwAD
from torch import nn
from torch.overrides import TorchFunctionMode

from initlint.probe.tensors import dead_share, first_tensor, moment, sample_of, units_of, weight_of

#: |pre-activation| beyond which tanh is above 0.99 and sigmoid outside [0.01, 0.99]
SATURATION_POINT = {"tanh": math.atanh(0.99), "sigmoid": math.log(99.0)}
_TANH = (nn.Tanh, nn.Hardtanh, nn.Softsign)
_SIGMOID = (nn.Sigmoid, nn.Hardsigmoid)
_RELU = (nn.ReLU, nn.ReLU6)


def _activation_functions() -> dict[Any, str]:
    import torch.nn.functional as F

    found = {}
    for name, kind in (("tanh", "tanh"), ("sigmoid", "sigmoid"), ("relu", "relu")):
        for owner in (torch, torch.Tensor, F):
            function = getattr(owner, name, None)
            if function is not None:
                found[function] = kind
    return found


class ActivationSpy(TorchFunctionMode):
    """Sees functional activations (``torch.tanh(self.fc(x))``), which module hooks cannot:
    the saturated or dead share is credited to the layer whose output went in."""

    def __init__(self, recorder: "Recorder") -> None:
        super().__init__()
        self.recorder = recorder
        self.functions = _activation_functions()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.recorder.in_hook:
            return out  # the recorder's own statistics
        kind = self.functions.get(func)
        if kind and args and isinstance(args[0], torch.Tensor) and isinstance(out, torch.Tensor):
            name = self.recorder.producer.get(id(args[0]))
            record = self.recorder.stats.get(name) if name else None
            if record is not None and "activation" not in record:
                record["activation"] = kind
                y = sample_of(out, self.recorder.generator)
                if kind == "tanh":
                    record["act_share"] = float((y.abs() > 0.99).double().mean())
                elif kind == "sigmoid":
                    record["act_share"] = float(((y < 0.01) | (y > 0.99)).double().mean())
                else:
                    record["act_share"] = dead_share(units_of(out, self.recorder.generator))
        return out


_CHANNELS_FIRST = (nn.modules.conv._ConvNd, nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm)


def _channels_first(module: nn.Module, out: torch.Tensor) -> bool:
    return isinstance(module, _CHANNELS_FIRST) or out.dim() >= 4


class Recorder:
    """Forward hooks on every leaf module; collects per-call statistics."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.order: list[str] = []
        self.stats: dict[str, dict[str, Any]] = {}
        self.handles = []
        self.producer: dict[int, str] = {}
        for name, module in model.named_modules():
            if name and not any(True for _ in module.children()):
                self.handles.append(module.register_forward_hook(self._hook(name, module)))
        self.tangents = False
        self.generator = torch.Generator().manual_seed(12345)
        self.in_hook = False

    def _hook(self, name: str, module: nn.Module):
        def hook(mod, inputs, output):
            self.in_hook = True
            try:
                record_call(mod, inputs, output)
            finally:
                self.in_hook = False

        def record_call(mod, inputs, output):
            out = first_tensor(output)
            inp = first_tensor(inputs)
            if out is None:
                return
            record = self.stats.get(name)
            if record is None:
                record = self.stats[name] = {"module": module, "calls": 0}
                self.order.append(name)
            if self.tangents:
                primal_out, tangent_out = fwAD.unpack_dual(out)
                tangent_in = fwAD.unpack_dual(inp).tangent if inp is not None else None
                if tangent_out is not None and tangent_in is not None and "t_in" not in record:
                    record["t_in"] = moment(tangent_in, self.generator)
                    record["t_out"] = moment(tangent_out, self.generator)
                return
            record["calls"] += 1
            if weight_of(module) is not None:
                self.producer[id(out)] = name
            if "in" in record:
                return  # the first call describes the layer; repeats are counted
            out = out.detach()
            if out.is_floating_point():
                record["nonfinite"] = not bool(torch.isfinite(out).all())
                record["sample"] = sample_of(out, self.generator).double()
                record["units"] = units_of(out, self.generator, _channels_first(mod, out))
                record["out_m2"] = moment(out, self.generator)
            record["in"] = moment(inp, self.generator) if inp is not None and inp.is_floating_point() else None
            record["collapsed"] = collapsed(inp) if inp is not None else None
            record["tap_share"] = tap_share(mod, inp)

        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def tap_share(module: nn.Module, inp: torch.Tensor | None) -> float:
    """For a (non-transposed) convolution whose input is shorter than its kernel in some spatial
    dimension, the share of its kernel taps that can see data (the rest see padding): its
    measured gain is about that much below what the init gives at the size it is used at.
    1.0 otherwise."""
    if not isinstance(module, nn.modules.conv._ConvNd) or module.transposed or inp is None:
        return 1.0
    dims = len(module.kernel_size)
    if inp.dim() < dims + 1:
        return 1.0
    share = 1.0
    for size, kernel, dilation in zip(tuple(inp.shape[-dims:]), module.kernel_size, module.dilation):
        span = dilation * (kernel - 1) + 1
        if size < span:
            share *= max(1, math.ceil(size / dilation)) / kernel
    return share


def collapsed(tensor: torch.Tensor) -> bool:
    """Whether a batch has no positions left (``(B, F)``, ``(B, C, 1, 1)``): after global pooling."""
    shape = tuple(tensor.shape)
    if len(shape) <= 2:
        return True
    if len(shape) == 3:
        return 1 in shape[1:]
    return math.prod(shape[2:]) == 1
