"""Inputs for a model's forward, from its signature and a few traced trial runs.

One value per required parameter of ``forward``. The first guess comes from, in order: the user's
``--probe-input NAME=SHAPE[:dtype]``; a timestep-like name (``t``, ``timesteps``, ``sigma``: a
batch of scalars); a tuple annotation; a constructor argument named after the parameter
(``forward(state, action)`` with ``state_dim``/``action_dim``); the first layer of the model
(Linear, Conv, Embedding, RNN, norm, MultiheadAttention, or a bare weight matrix). A trial forward
at batch 3 (eval mode, no grad) then runs under the tracer (tracing.py); when it fails, the layer
the failing value came from, the argument it carries and the numbers in the error fix the shape
(channels, features, token ids, a tuple, the image size the model asserts), and it runs again.
"""

from __future__ import annotations

import inspect
import math
import re
import typing
from dataclasses import field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from initlint.lean import dataclass
from initlint.probe.tracing import Trace

#: names that take a batch of scalars: integer steps, or positive noise levels
_STEP_NAMES = re.compile(r"^(t|ts|timesteps?|time_?steps?|steps?|time|times|diffusion_steps?)$")
_NOISE_NAMES = re.compile(r"^(sigmas?|noise_levels?|noise_scales?|log_snr|gammas?)$")
#: names that take one class id per sample
_LABEL_NAMES = re.compile(r"^(y|labels?|class_labels?|classes|class_ids?|cls|targets?)$")
#: image sizes tried in order after the ones the model or its errors name
IMAGE_SIZES = (32, 64, 224, 28, 128, 256, 96, 16, 299, 512)
SEQUENCE = 32
MAX_TRIALS = 14

#: the why of an argument whose width nothing told (the fitter may still change it)
GUESSED_WIDTH = "unknown"


class InputError(Exception):
    """No input could be fitted; the message names the argument and the fix."""


@dataclass
class ArgSpec:
    """How to make one forward argument (shapes exclude the batch dimension)."""

    name: str
    kind: str = "float"  # float, ids, steps, noise, tuple
    shape: tuple[int, ...] = (64,)
    high: int = 1000  # ids and steps: values in [0, high)
    dtype: str = "float32"
    parts: tuple["ArgSpec", ...] = ()
    batch_dim: int = 0  # 1 for sequence-first RNN input (T, B, F)
    fixed: bool = False  # the user's: never changed
    why: str = ""
    role: str = ""  # "state": an RNN's initial state, never where the measured signal starts

    def describe(self) -> str:
        if self.kind == "tuple":
            return "(" + ", ".join(p.describe() for p in self.parts) + ")"
        if self.kind in ("steps", "noise", "offsets"):
            return f"B {self.kind}"
        if self.kind == "square":
            return "BxB float32"
        if self.kind == "flat_ids":
            return f"B*{self.shape[0]} ids<{self.high}"
        shape = list(self.shape)
        shape.insert(self.batch_dim, "B")  # type: ignore[arg-type]
        text = "x".join(str(n) for n in shape)
        return f"{text} ids<{self.high}" if self.kind == "ids" else f"{text} {self.dtype}"

    @property
    def image_like(self) -> bool:
        return self.kind == "float" and len(self.shape) >= 3 and len(set(self.shape[1:])) == 1 and self.batch_dim == 0


@dataclass
class Fitted:
    specs: list[ArgSpec]
    keyword: set[str] = field(default_factory=set)  # keyword-only parameters
    trace: Trace | None = None
    notes: list[str] = field(default_factory=list)

    def data_arg(self) -> int:
        """The positional argument the measured signal starts from: the first that is no state."""
        positional = [s for s in self.specs if s.name not in self.keyword]
        return next((i for i, s in enumerate(positional) if s.role != "state"), 0)

    def make(self, batch: int, seed: int, device: str = "cpu") -> tuple[tuple, dict[str, Any]]:
        generator = torch.Generator().manual_seed(seed)
        values = [(spec.name, materialize(spec, batch, generator, device)) for spec in self.specs]
        args = tuple(v for n, v in values if n not in self.keyword)
        kwargs = {n: v for n, v in values if n in self.keyword}
        return args, kwargs


def structured_noise(shape: list[int] | tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Unit-variance noise shaped like a batch of images (``B, C, H, W...``): a third of the
    variance a per-sample, per-channel offset, a third smooth over space, a third per pixel.

    White noise is no image: global average pooling divides its variance by the number of
    positions, so every pooled head would look like a vanishing signal."""
    shape = list(shape)
    spatial = shape[2:]
    offset = torch.randn(shape[:2] + [1] * len(spatial), generator=generator)
    coarse = torch.randn(shape[:2] + [max(1, n // 8) for n in spatial], generator=generator)
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(spatial)]
    smooth = F.interpolate(coarse, size=spatial, mode=mode, align_corners=False)
    smooth = smooth / smooth.std().clamp_min(1e-6)
    pixel = torch.randn(shape, generator=generator)
    return (offset + smooth + pixel) / math.sqrt(3.0)


def materialize(spec: ArgSpec, batch: int, generator: torch.Generator, device: str = "cpu") -> Any:
    if spec.kind == "tuple":
        return tuple(materialize(part, batch, generator, device) for part in spec.parts)
    if spec.kind == "steps":
        return torch.randint(0, spec.high, (batch,), generator=generator).to(device)
    if spec.kind == "noise":
        return torch.rand(batch, generator=generator).mul(4).sub(2).exp().to(device)  # e^U(-2, 2)
    if spec.kind == "square":  # an adjacency matrix over the batch's nodes, row-normalised
        return torch.rand(batch, batch, generator=generator).softmax(-1).to(device)
    if spec.kind == "flat_ids":  # EmbeddingBag's 1-D text: the batch's bags one after another
        return torch.randint(0, max(1, spec.high), (batch * spec.shape[0],), generator=generator).to(device)
    if spec.kind == "offsets":
        return (torch.arange(batch) * spec.shape[0]).to(device)
    shape = list(spec.shape)
    shape.insert(spec.batch_dim, batch)
    if spec.kind == "ids":
        return torch.randint(0, max(1, spec.high), shape, generator=generator).to(device)
    dtype = getattr(torch, spec.dtype, torch.float32)
    if dtype is torch.bool:  # a mask: nothing masked, the model as it runs on full input
        return torch.zeros(shape, dtype=torch.bool, device=device)
    if spec.batch_dim == 0 and spec.image_like and not spec.fixed:
        return structured_noise(shape, generator).to(device=device, dtype=dtype)
    return torch.randn(shape, generator=generator).to(device=device, dtype=dtype)


def parse_input_option(text: str) -> tuple[str, ArgSpec]:
    """``NAME=SHAPE[:dtype]`` (options.parse_input_text) as an ArgSpec the probe never changes."""
    from initlint.probe.options import parse_input_text

    name, shape, dtype = parse_input_text(text)
    short = name.rsplit(".", 1)[-1]
    if dtype in ("long", "int"):
        return name, ArgSpec(short, "ids" if shape else "steps", shape, dtype="int64", fixed=True, why="--probe-input")
    return name, ArgSpec(short, "float", shape, dtype=dtype, fixed=True, why="--probe-input")


def required_parameters(model: nn.Module, given: set[str] = frozenset()) -> tuple[list[inspect.Parameter], set[str]]:
    """forward's parameters without defaults (positional first) and the optional ones the user
    gave an input for (``--probe-input attention_mask=16``, passed by keyword), and the names
    passed by keyword."""
    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return [], set()
    required = []
    keyword = set()
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is not inspect.Parameter.empty:
            if param.name in given:
                required.append(param)
                keyword.add(param.name)
            continue
        required.append(param)
        if param.kind == param.KEYWORD_ONLY:
            keyword.add(param.name)
    if not any(p.name not in keyword or p.kind == p.KEYWORD_ONLY for p in required):
        # ``forward(input_ids=None, ...)`` (Hugging Face): the first such parameter
        first = next((p for p in signature.parameters.values() if p.default is None and p.kind != p.VAR_KEYWORD), None)
        if first is not None and first not in required:
            required.insert(0, first)
            if first.kind == first.KEYWORD_ONLY:
                keyword.add(first.name)
    return required, keyword


def _leaves(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if not any(True for _ in m.children())] or [model]


def image_size_hint(model: nn.Module) -> int | None:
    """The image size a model says it expects (``img_size``, ``image_size``, timm's cfg)."""
    for owner in [model, *list(model.children())[:4]]:
        for attr in ("img_size", "image_size", "input_size", "resolution"):
            value = getattr(owner, attr, None)
            if isinstance(value, (tuple, list)) and value and isinstance(value[-1], int):
                value = value[-1]
            if isinstance(value, int) and 8 <= value <= 1024:
                return value
        config = getattr(owner, "pretrained_cfg", None) or getattr(owner, "default_cfg", None)
        if isinstance(config, dict) and isinstance(config.get("input_size"), (tuple, list)):
            return int(config["input_size"][-1])
        config = getattr(owner, "config", None)
        value = getattr(config, "image_size", None)
        if isinstance(value, int):
            return value
    return None


def spec_for_layer(name: str, layer: nn.Module, image: int) -> ArgSpec | None:
    """The input a layer takes, as the argument called ``name``."""
    why = f"the first layer it reaches ({type(layer).__name__})"
    if isinstance(layer, nn.Embedding):
        return ArgSpec(name, "ids", (SEQUENCE,), high=layer.num_embeddings, why=why)
    if isinstance(layer, nn.EmbeddingBag):
        return ArgSpec(name, "ids", (SEQUENCE,), high=layer.num_embeddings, why=why)
    if isinstance(layer, nn.Bilinear):
        return ArgSpec(name, "float", (layer.in1_features,), why=why)
    if isinstance(layer, nn.Linear) and not isinstance(layer, nn.LazyLinear):
        return ArgSpec(name, "float", (layer.in_features,), why=why)
    if isinstance(layer, nn.modules.conv._ConvNd) and layer.in_channels > 0:
        dims = len(layer.kernel_size)
        size = image if dims == 2 else (SEQUENCE * 4 if dims == 1 else 16)
        return ArgSpec(name, "float", (layer.in_channels, *([size] * dims)), why=why)
    if isinstance(layer, nn.RNNBase):
        if layer.batch_first:
            return ArgSpec(name, "float", (SEQUENCE, layer.input_size), why=why)
        return ArgSpec(name, "float", (SEQUENCE, layer.input_size), batch_dim=1, why=why)
    if isinstance(layer, (nn.RNNCellBase,)):
        return ArgSpec(name, "float", (layer.input_size,), why=why)
    if isinstance(layer, nn.LayerNorm):
        return ArgSpec(name, "float", (SEQUENCE // 2, *layer.normalized_shape), why=why)
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        spatial = {nn.BatchNorm1d: (), nn.BatchNorm2d: (image, image), nn.BatchNorm3d: (16, 16, 16)}.get(type(layer), (image, image))
        return ArgSpec(name, "float", (layer.num_features, *spatial), why=why)
    if isinstance(layer, nn.GroupNorm):
        return ArgSpec(name, "float", (layer.num_channels, image, image), why=why)
    if isinstance(layer, nn.MultiheadAttention):
        shape = (SEQUENCE // 2, layer.embed_dim)
        return ArgSpec(name, "float", shape, batch_dim=0 if layer.batch_first else 1, why=why)
    return None


def _first_guess(model: nn.Module, name: str, image: int) -> ArgSpec:
    for layer in _leaves(model):
        spec = spec_for_layer(name, layer, image)
        if spec is not None:
            return spec
    for parameter in model.parameters(recurse=False):
        if parameter.dim() == 2:  # ``x @ self.W``
            return ArgSpec(name, "float", (parameter.shape[0],), why="a bare weight matrix")
    return ArgSpec(name, "float", (64,), why="no layer tells its size: 64 features")


def _by_constructor(name: str, values: dict[str, Any]) -> ArgSpec | None:
    """``forward(state)`` when the model was built with ``state_dim``/``n_state``/..."""
    for pattern in (f"{name}_dim", f"{name}_size", f"{name}_features", f"n_{name}", f"{name}_channels", f"dim_{name}", f"{name}dim", f"num_{name}s"):
        value = values.get(pattern)
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 1 << 16:
            return ArgSpec(name, "float", (value,), why=f"the constructor's {pattern}")
    return None


def _tuple_length(annotation: Any) -> int | None:
    origin = typing.get_origin(annotation)
    if origin is tuple:
        items = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return len(items) if items and len(items) == len(typing.get_args(annotation)) else None
    return None


def initial_specs(model, params, user: dict[str, ArgSpec], built_with: dict[str, Any], model_name: str) -> list[ArgSpec]:
    image = image_size_hint(model) or 32
    specs = []
    for index, param in enumerate(params):
        name = param.name
        given = user.get(f"{model_name}.{name}") or user.get(name) or (user.get("__first__") if index == 0 else None)
        if given is not None:
            specs.append(replace(given, name=name))
        elif _STEP_NAMES.match(name):
            specs.append(ArgSpec(name, "steps", (), high=1000, why="a timestep"))
        elif _NOISE_NAMES.match(name):
            specs.append(ArgSpec(name, "noise", (), why="a noise level"))
        elif _LABEL_NAMES.match(name) and index > 0:
            specs.append(ArgSpec(name, "ids", (), high=10, why="a class label per sample"))
        elif _tuple_length(param.annotation):
            count = _tuple_length(param.annotation) or 2
            guess = _first_guess(model, name, image)
            specs.append(ArgSpec(name, "tuple", parts=tuple(replace(guess, name=f"{name}[{i}]") for i in range(count)), why="a tuple annotation"))
        else:
            by_name = _by_constructor(name, {**built_with, **_int_attributes(model)})
            specs.append(by_name or (_first_guess(model, name, image) if index == 0 else ArgSpec(name, "float", (64,), why=f"{GUESSED_WIDTH}: 64 features")))
    return specs


def _int_attributes(model: nn.Module) -> dict[str, int]:
    return {k: v for k, v in vars(model).items() if isinstance(v, int) and not isinstance(v, bool)}
