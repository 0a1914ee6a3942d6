"""One seeded forward and backward pass with hooks: what the init really does to the signal.

The only module besides build.py and worker.py that imports torch. Measures, per leaf module in
the order forward runs them: output std and mean, the second-moment gain of activations and of a
forward-mode JVP tangent (``torch.autograd.forward_ad``: biases cannot keep it alive), the weight
gradient relative to the weight, saturated and dead shares, and whether a layer's units are
identical and stay identical after a few SGD steps. Optionally the largest stable SGD learning
rate, 2 / lambda_max of the loss Hessian by power iteration on Hessian-vector products.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import torch
import torch.autograd.forward_ad as fwAD
from torch import nn
from torch.overrides import TorchFunctionMode

from initlint.probe.report import LayerStats, ModelReport
from initlint.probe.tensors import first_tensor, moment, sample_of, units_of, weight_of
from initlint.probe.training import mark_identical_rows, stable_learning_rate, symmetry_after_sgd
from initlint.probe.verdicts import ProbeThresholds, judge

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


class _ActivationSpy(TorchFunctionMode):
    """Sees functional activations (``torch.tanh(self.fc(x))``), which module hooks cannot:
    the saturated or dead share is credited to the layer whose output went in."""

    def __init__(self, recorder: "_Recorder") -> None:
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
                    units = units_of(out, self.recorder.generator)
                    if units is not None:
                        record["act_share"] = float((units <= 0).all(dim=0).double().mean())
        return out


_CHANNELS_FIRST = (nn.modules.conv._ConvNd, nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm)


def _channels_first(module: nn.Module, out: torch.Tensor) -> bool:
    return isinstance(module, _CHANNELS_FIRST) or out.dim() >= 4


class _Recorder:
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
            record["collapsed"] = _collapsed(inp) if inp is not None else None

        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _scale_free_loss(output: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """Sum of output x a fixed random direction, divided by the output's (detached) norm: the
    gradients then do not depend on the output's scale, only on how the layers pass it on."""
    norm = output.detach().norm().clamp_min(1e-30)
    return (output * direction).sum() / norm


def measure(
    model: nn.Module,
    example_input: Any,
    *,
    example_kwargs: dict[str, Any] | None = None,
    target: str = "model",
    device: str = "cpu",
    seed: int = 0,
    sgd_steps: int = 3,
    learning_rate: bool = False,
    thresholds: ProbeThresholds | None = None,
    deadline: float | None = None,
    norm_eval: bool = False,
    notes: list[str] | None = None,
) -> ModelReport:
    """Measure ``model`` on ``example_input`` (a tensor or a tuple of positional arguments) and
    ``example_kwargs``. The forward, JVP and backward pass are the measurement; the SGD steps and
    the learning rate are optional: when one fails or passes ``deadline`` (a
    ``time.monotonic()`` value) the report says why and keeps the rest. ``norm_eval`` measures
    BatchNorm with its running statistics (sizing.py decides)."""
    started = time.perf_counter()
    torch.manual_seed(seed)
    model = model.to(device)
    model.train()
    if norm_eval:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    inputs = tuple(_to(t, device) for t in inputs)
    kwargs = {k: _to(v, device) for k, v in (example_kwargs or {}).items()}
    report = ModelReport(target, device=str(device), seed=seed, sgd_steps=sgd_steps)
    report.notes.extend(notes or [])
    report.norm_eval = norm_eval
    first = first_tensor((inputs, kwargs))
    report.input_shape = list(first.shape) if first is not None else []
    report.batch = report.input_shape[0] if report.input_shape else 0
    call = _Call(model, inputs, kwargs)

    recorder = _Recorder(model)
    try:
        torch.manual_seed(seed)
        with _ActivationSpy(recorder):
            output = first_tensor(call())
        if output is None:
            raise RuntimeError("forward returned no tensor")
        _signal_pass(call, recorder, seed, report)
    finally:
        recorder.remove()
    _layer_stats(report, recorder, first, output, model)
    _gradients(call, output, recorder, report, seed)
    _optional(report, "SGD steps", lambda: _symmetry(model, call, report, seed, sgd_steps), deadline)
    if learning_rate:
        _optional(report, "learning rate", lambda: stable_learning_rate(call, report, seed, deadline), deadline)
    verdicts = judge(report, thresholds or ProbeThresholds())
    if norm_eval:  # a norm layer that saw too few values: a warning, never a verdict
        report.warnings = [v for v in verdicts if v.kind in ("exploding", "vanishing")]
        verdicts = [v for v in verdicts if v not in report.warnings]
    report.verdicts = verdicts
    report.seconds = time.perf_counter() - started
    return report


def _to(value: Any, device: str) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, tuple):
        return tuple(_to(v, device) for v in value)
    return value


class _Call:
    """The model with its arguments: ``call()`` runs forward, ``call(model=copy)`` a copy,
    ``call(args=duals)`` other positional arguments."""

    def __init__(self, model: nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
        self.model, self.args, self.kwargs = model, args, kwargs

    def __call__(self, model: nn.Module | None = None, args: tuple | None = None, kwargs: dict | None = None) -> Any:
        return (model or self.model)(*(self.args if args is None else args), **(self.kwargs if kwargs is None else kwargs))


def _optional(report: ModelReport, what: str, step, deadline: float | None) -> None:
    """Run a secondary measurement; a failure or the deadline becomes a one-line note."""
    if deadline is not None and time.monotonic() > deadline:
        report.notes.append(f"{what}: not measured (the time budget was spent)")
        return
    try:
        step()
    except Exception as error:  # noqa: BLE001 - user code and torch may raise anything here
        lines = str(error).strip().splitlines()
        reason = f"{type(error).__name__}: {lines[0][:120]}" if lines else type(error).__name__
        report.notes.append(f"{what}: not measured ({reason})")


def _symmetry(model: nn.Module, call: "_Call", report: ModelReport, seed: int, steps: int) -> None:
    if steps and mark_identical_rows(model, report):
        symmetry_after_sgd(model, call, report, seed, steps)


def _attention_with_jvp():
    """scaled_dot_product_attention's math kernel: the CPU flash kernel has no forward AD."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        return sdpa_kernel([SDPBackend.MATH])
    except (ImportError, AttributeError, TypeError):  # older torch: no choice to make
        import contextlib

        return contextlib.nullcontext()


def _signal_pass(call: "_Call", recorder: _Recorder, seed: int, report: ModelReport) -> None:
    """Forward again with a dual input: the JVP tangent through every layer. With token ids the
    tangent starts at the output of the first Embedding that runs."""
    first = first_tensor((call.args, call.kwargs))
    generator = torch.Generator(device="cpu").manual_seed(seed + 1)
    start: dict[str, float] = {}
    handle = None
    if first is not None and first.is_floating_point():
        if first.dim() >= 4 and len(set(first.shape[2:])) == 1 and first.shape[-1] > 1:
            from initlint.probe.inputs import structured_noise

            tangent = structured_noise(first.shape, generator).to(first.device, first.dtype)
        else:
            tangent = torch.randn(first.shape, generator=generator).to(first.device, first.dtype)
        start["t"] = moment(tangent)
    else:
        tangent = None
        embedding = next(
            (recorder.stats[n]["module"] for n in recorder.order if isinstance(recorder.stats[n]["module"], nn.Embedding)),
            None,
        )
        if embedding is None:
            report.notes.append("no floating-point input and no Embedding: signal gains omitted")
            return

        def seed_tangent(module, inputs, output):
            if not isinstance(output, torch.Tensor) or "t" in start:
                return None
            direction = torch.randn(output.shape, generator=generator).to(output.device, output.dtype)
            start["t"] = moment(direction)
            return fwAD.make_dual(output, direction)

        handle = embedding.register_forward_hook(seed_tangent)
        report.notes.append("token ids: signal gains are measured from the first Embedding's output")
    recorder.tangents = True
    try:
        with torch.no_grad(), fwAD.dual_level(), _attention_with_jvp():
            with warnings.catch_warnings():
                # torch's first make_dual loads its JVP decompositions through torch.jit.script,
                # deprecated in torch itself: a warning the user can do nothing about
                warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated")
                args = tuple(fwAD.make_dual(t, tangent) if t is first and tangent is not None else t for t in call.args)
                kwargs = {k: fwAD.make_dual(v, tangent) if v is first and tangent is not None else v for k, v in call.kwargs.items()}
            torch.manual_seed(seed)
            out = first_tensor(call(args=args, kwargs=kwargs))
            if out is not None and start.get("t"):
                t_out = fwAD.unpack_dual(out).tangent
                if t_out is not None:
                    report.signal_gain = moment(t_out) / start["t"]
                    recorder.stats.setdefault("__output__", {})["t_in"] = moment(t_out)
    except (RuntimeError, NotImplementedError, TypeError) as error:
        report.notes.append(f"forward-mode AD unsupported here ({str(error).splitlines()[0][:80] if str(error) else type(error).__name__})")
    finally:
        recorder.tangents = False
        if handle is not None:
            handle.remove()
    if start.get("t"):
        recorder.stats.setdefault("__input__", {})["t_in"] = start["t"]


def _layer_stats(report: ModelReport, recorder: _Recorder, first, output: torch.Tensor, model: nn.Module) -> None:
    weight_names = []
    for name in recorder.order:
        record = recorder.stats[name]
        module = record["module"]
        out = record.get("sample")
        weight = weight_of(module)
        layer = LayerStats(name, type(module).__name__, calls=record["calls"], has_weight=weight is not None)
        if out is not None:
            layer.nonfinite = record["nonfinite"]
            finite = out[torch.isfinite(out)]
            layer.out_std = float(finite.std()) if finite.numel() > 1 else 0.0
            layer.out_mean = float(finite.mean()) if finite.numel() else None
            if record.get("in"):
                layer.gain = record["out_m2"] / record["in"]
            if record.get("t_in"):
                layer.signal_gain = record["t_out"] / record["t_in"]
            units = record.get("units")
            if isinstance(module, _TANH):
                layer.saturated = float((out.abs() > 0.99).double().mean())
            elif isinstance(module, _SIGMOID):
                layer.saturated = float(((out < 0.01) | (out > 0.99)).double().mean())
            elif isinstance(module, _RELU) and units is not None:
                layer.dead = float((units <= 0).all(dim=0).double().mean())
            if weight is not None and units is not None:
                layer.pre_saturated = {
                    key: float((out.abs() > point).double().mean()) for key, point in SATURATION_POINT.items()
                }
                layer.pre_saturated["relu_dead"] = float((units <= 0).all(dim=0).double().mean())
                layer.unit_correlation = _mean_correlation(units)
                spread = (units - units[:, :1]).abs().max()
                layer.identical_units = bool(spread <= 1e-6 * (units.abs().max() + 1e-12)) and units.shape[1] > 1
        if "activation" in record:
            layer.activation = record["activation"]
            if record["activation"] == "relu":
                layer.dead = record.get("act_share")
            else:
                layer.saturated = record.get("act_share")
        if weight is not None:
            layer.fan_in = int(weight[0].numel())  # torch.nn.init's fan-in: size(1) x kernel
            layer.weight_std = float(weight.detach().double().std())
            layer.weight_mean = float(weight.detach().double().mean())
            layer.zero_weight = not bool(weight.detach().any())
            weight_names.append(name)
        report.layers.append(layer)
    report.nonfinite = any(layer.nonfinite for layer in report.layers) or not bool(
        torch.isfinite(output.detach()).all()
    )
    if first is not None and first.is_floating_point():
        report.output_gain = moment(output) / max(moment(first), 1e-30)
    # step gains: from this weight layer's input to the next weight layer's input
    inputs_m2 = [recorder.stats[n].get("in") for n in weight_names]
    tangents = [recorder.stats[n].get("t_in") for n in weight_names]
    final_t = recorder.stats.get("__output__", {}).get("t_in")
    final_m2 = moment(output)
    by_name = {layer.name: layer for layer in report.layers}
    for index, name in enumerate(weight_names):
        nxt_m2 = inputs_m2[index + 1] if index + 1 < len(weight_names) else final_m2
        nxt_t = tangents[index + 1] if index + 1 < len(weight_names) else final_t
        if inputs_m2[index] and nxt_m2 is not None:
            by_name[name].step_gain = nxt_m2 / inputs_m2[index]
        if tangents[index] and nxt_t is not None:
            by_name[name].step_signal_gain = nxt_t / tangents[index]
    _hidden_path(report, recorder, weight_names, by_name, first)


def _collapsed(tensor: torch.Tensor) -> bool:
    """Whether a batch has no positions left (``(B, F)``, ``(B, C, 1, 1)``): after global pooling."""
    shape = tuple(tensor.shape)
    if len(shape) <= 2:
        return True
    if len(shape) == 3:
        return 1 in shape[1:]
    return math.prod(shape[2:]) == 1


def _hidden_path(report: ModelReport, recorder: _Recorder, weight_names: list[str], by_name, first) -> None:
    """Gains from the input to the judged point: the input of the last weight layer that is not
    all zero (a zero output layer, ControlNet's zero conv, is a design judged by what feeds it)
    and still sees the input's layout (a head after global pooling sees averages of white noise,
    whose variance pooling divides by the positions: no signal loss of the model's making)."""
    start_t = recorder.stats.get("__input__", {}).get("t_in")
    live = [n for n in weight_names if not by_name[n].zero_weight and recorder.stats[n].get("t_in") is not None]
    if first is not None and first.is_floating_point() and not _collapsed(first):
        kept = [n for n in live if recorder.stats[n].get("collapsed") is False]
        live = kept if len(kept) >= 2 else live
    if start_t and len(live) >= 2:
        end = live[-1]
        report.judged_at = end
        report.hidden_signal_gain = recorder.stats[end]["t_in"] / start_t
        start_m2 = recorder.stats[live[0]].get("in")
        if start_m2 and recorder.stats[end].get("in") is not None and first is not None and first.is_floating_point():
            report.hidden_gain = recorder.stats[end]["in"] / start_m2
    report.normalized = any(
        "Norm" in type(recorder.stats[n]["module"]).__name__ for n in recorder.order
    )


def _mean_correlation(units: torch.Tensor, limit: int = 64) -> float | None:
    sample = units[:, :limit].double()
    if sample.shape[0] < 2 or sample.shape[1] < 2:
        return None
    centred = sample - sample.mean(dim=0, keepdim=True)
    std = centred.pow(2).mean(dim=0).sqrt()
    if bool((std < 1e-12).any()):
        return 1.0 if bool((std < 1e-12).all()) else None
    corr = (centred.t() @ centred) / sample.shape[0] / (std[:, None] * std[None, :])
    count = corr.shape[0]
    return float((corr.sum() - corr.diagonal().sum()) / (count * (count - 1)))


def _gradients(call: "_Call", output: torch.Tensor, recorder: _Recorder, report: ModelReport, seed: int) -> None:
    """Weight gradients of a scale-free loss; the first/last ratio along the signal path."""
    generator = torch.Generator(device="cpu").manual_seed(seed + 2)
    direction = torch.randn(output.shape, generator=generator).to(output.device, output.dtype)
    call.model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    out = first_tensor(call())
    if out is None or not out.requires_grad or not out.is_floating_point():
        report.notes.append("output does not require grad: no gradient measurements")
        return
    _scale_free_loss(out, direction).backward()
    by_name = {layer.name: layer for layer in report.layers}
    usable = []
    for name in recorder.order:
        weight = weight_of(recorder.stats[name]["module"])
        if weight is None or weight.grad is None:
            continue
        layer = by_name[name]
        layer.grad_norm = float(weight.grad.detach().double().norm())
        norm = float(weight.detach().double().norm())
        layer.grad_ratio = layer.grad_norm / norm if norm > 0 else None
        # only layers the input's signal reaches: a conditioning branch behind a zero gate
        # (adaLN-Zero) has no gradient at init by design
        if recorder.stats[name].get("t_in") is not None or report.signal_gain is None:
            usable.append((layer, norm, weight))
    while usable and usable[-1][1] == 0:  # a zeroed head: judge the hidden path
        usable.pop()
    if len(usable) >= 3 and _tiny_head(usable[-1][0], usable[-2][0]):
        usable.pop()  # a U(+-3e-3) policy head: its small weights are the design, not a collapse
    if len(usable) < 2 or not usable[-1][0].grad_norm:
        return
    last = usable[-1][2]
    shared = [m for m in call.model.modules() if weight_of(m) is last]
    if len(shared) > 1 or any(last is w for _, _, w in usable[:-1]):
        report.notes.append(
            f"{usable[-1][0].name} shares its weight with another layer (tied embeddings): "
            "the first/last gradient ratio is skipped"
        )
        return
    report.first_last_grad = usable[0][0].grad_norm / usable[-1][0].grad_norm


def _tiny_head(last: LayerStats, before: LayerStats) -> bool:
    return bool(last.weight_std and before.weight_std and last.weight_std < 0.1 * before.weight_std)
