"""One seeded forward and backward pass with hooks: what the init really does to the signal.

The only module besides build.py and worker.py that imports torch. Measures, per leaf module in
the order forward runs them: output std and mean, the second-moment gain of activations and of a
forward-mode JVP tangent (``torch.autograd.forward_ad``: biases cannot keep it alive), the weight
gradient relative to the weight, saturated and dead shares, and whether a layer's units are
identical and stay identical after a few SGD steps. Optionally the largest stable SGD learning
rate (training.py). Recording is recording.py, the per-layer statistics stats.py.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from typing import Any

import torch
import torch.autograd.forward_ad as fwAD
from torch import nn

from initlint.probe.classes_run import forwards_seen
from initlint.probe.recording import ActivationSpy, Recorder
from initlint.probe.report import LayerStats, ModelReport
from initlint.probe.stats import layer_stats
from initlint.probe.tensors import first_tensor, moment, weight_of
from initlint.probe.training import mark_identical_rows, stable_learning_rate, symmetry_after_sgd
from initlint.probe.verdicts import ProbeThresholds, judge
from initlint.theory import format_number as fmt

#: verdicts that BatchNorm's initial statistics (mean 0, variance 1) distort in eval mode: they
#: neither center nor scale a channel, so gains differ and a channel whose mean is negative is
#: off on every input (dead), where train mode would center it
NORM_STATISTICS_KINDS = ("exploding", "vanishing", "dead", "saturation")


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
    memory_mb: float | None = None,
    thresholds: ProbeThresholds | None = None,
    deadline: float | None = None,
    norm_eval: bool = False,
    notes: list[str] | None = None,
    data_arg: int = 0,
    called: set[type] | None = None,
) -> ModelReport:
    """Measure ``model`` on ``example_input`` (a tensor or a tuple of positional arguments) and
    ``example_kwargs``. The forward, JVP and backward pass are the measurement; the SGD steps and
    the learning rate are optional: when one fails or passes ``deadline`` (a
    ``time.monotonic()`` value) the report says why and keeps the rest. ``norm_eval`` measures
    BatchNorm with its running statistics (sizing.py decides). ``data_arg``: the positional
    argument the signal starts from (not an RNN's initial state that comes first). ``called``
    receives the class of every module the first forward ran (classes_run.py)."""
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
    first = first_tensor((inputs[data_arg:], kwargs)) if 0 < data_arg < len(inputs) else first_tensor((inputs, kwargs))
    report.input_shape = list(first.shape) if first is not None else []
    report.batch = report.input_shape[0] if report.input_shape else 0
    call = _Call(model, inputs, kwargs)

    recorder = Recorder(model)
    forward_started = time.monotonic()
    try:
        torch.manual_seed(seed)
        with ActivationSpy(recorder), forwards_seen(called if called is not None else set()):
            output = first_tensor(call())
        if output is None:
            raise RuntimeError("forward returned no tensor")
        _signal_pass(call, recorder, seed, report, first)
        others = _other_data_arguments(call, first, data_arg)
        limit = (thresholds or ProbeThresholds()).min_signal_gain
        # an exact 0 is a cut (the forward's math or a zero weight), which stats.py explains
        if others and report.signal_gain is not None and 0 < report.signal_gain < limit:
            alone = report.signal_gain
            for record in recorder.stats.values():  # the tangents of the first pass
                record.pop("t_in", None), record.pop("t_out", None)
            _signal_pass(call, recorder, seed, report, first, others)
            report.notes.append(
                f"the first argument's signal alone reaches the output at x{fmt(alone)}; measured from all "
                f"{len(others) + 1} floating-point arguments together, as they enter the model"
            )
    finally:
        recorder.remove()
    forward_seconds = time.monotonic() - forward_started  # the forward and the JVP pass
    layer_stats(report, recorder, first, output, model)
    backward_started = time.monotonic()
    _gradients(call, output, recorder, report, seed)
    # one SGD step costs about a forward (half the two passes above) and this backward
    step_seconds = forward_seconds / 2 + time.monotonic() - backward_started
    _optional(report, "SGD steps", lambda: _symmetry(model, call, report, seed, sgd_steps, deadline, step_seconds), deadline)
    if learning_rate:
        room = _lr_memory_room(model, memory_mb)
        if room is not None:
            report.notes.append(f"learning rate: not measured ({room})")
        else:
            _optional(report, "learning rate", lambda: stable_learning_rate(call, report, seed, deadline), deadline)
    verdicts = judge(report, thresholds or ProbeThresholds())
    short = _padded_vanishing(report, recorder, verdicts, thresholds or ProbeThresholds())
    if norm_eval:  # a norm layer that saw too few values: a warning, never a verdict
        report.warnings = [v for v in verdicts if v.kind in NORM_STATISTICS_KINDS]
        verdicts = [v for v in verdicts if v not in report.warnings]
    elif short:  # convolutions longer than their input explain the collapse: a warning
        report.warnings = [v for v in verdicts if v.kind == "vanishing"]
        verdicts = [v for v in verdicts if v not in report.warnings]
    if verdicts and not any(True for _ in model.parameters()):
        reasons = "; ".join(v.reason for v in verdicts)
        report.notes.append(f"no parameters, so no initialization to judge (measured: {reasons})")
        verdicts = []
    report.verdicts = verdicts
    report.seconds = time.perf_counter() - started
    return report


#: Hessian-vector products keep the gradients with their graph, the product and three Lanczos
#: vectors: about this many copies of the parameters
LR_PARAMETER_COPIES = 8


def _lr_memory_room(model: nn.Module, memory_mb: float | None) -> str | None:
    """Why the learning-rate step would not fit the memory cap (a stopped model loses every
    measurement, not only this one), or None when it fits or no cap is known."""
    if not memory_mb:
        return None
    parameters = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            resident = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
    needed = resident + LR_PARAMETER_COPIES * parameters
    if needed <= 0.9 * memory_mb * 2**20:
        return None
    return (f"it needs about {needed / 2**20:.0f} MiB ({LR_PARAMETER_COPIES} copies of "
            f"{parameters / 2**20:.0f} MiB of parameters), above 90% of the {memory_mb:.0f} MiB cap (--probe-memory)")


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


def _symmetry(model: nn.Module, call: "_Call", report: ModelReport, seed: int, steps: int,
              deadline: float | None = None, step_seconds: float = 0.0) -> None:
    if steps and mark_identical_rows(model, report):
        symmetry_after_sgd(model, call, report, seed, steps, deadline, step_seconds)


def _attention_with_jvp():
    """scaled_dot_product_attention's math kernel: the CPU flash kernel has no forward AD."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        return sdpa_kernel([SDPBackend.MATH])
    except (ImportError, AttributeError, TypeError):  # older torch: no choice to make
        import contextlib

        return contextlib.nullcontext()


def _other_data_arguments(call: "_Call", first: torch.Tensor | None, data_arg: int) -> list[torch.Tensor]:
    """The floating-point data arguments besides ``first`` (RNN initial states before
    ``data_arg`` are not data)."""
    if first is None or not first.is_floating_point():
        return []
    return [t for t in (*call.args[data_arg:], *call.kwargs.values())
            if isinstance(t, torch.Tensor) and t.is_floating_point() and t is not first]


def _signal_pass(call: "_Call", recorder: Recorder, seed: int, report: ModelReport, first: torch.Tensor | None,
                 others: list[torch.Tensor] = ()) -> None:
    """Forward again with a dual input (``first``, and ``others`` when the first's signal alone
    vanished: a block fed ``(x, x_cls)`` whose output is ``x_cls`` plus a LayerScale-gated branch
    of ``x``): the JVP tangent through every layer. With token ids the tangent starts at the
    output of the first Embedding that runs."""
    generator = torch.Generator(device="cpu").manual_seed(seed + 1)
    start: dict[str, float] = {}
    handle = None
    tangents: dict[int, torch.Tensor] = {}
    if first is not None and first.is_floating_point():
        for value in [first, *others]:
            tangents[id(value)] = _tangent_for(value, generator)
        count = sum(t.numel() for t in tangents.values())
        start["t"] = sum(moment(t) * t.numel() for t in tangents.values()) / max(count, 1)
    else:
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
                args = tuple(_dual(t, tangents) for t in call.args)
                kwargs = {k: _dual(v, tangents) for k, v in call.kwargs.items()}
            torch.manual_seed(seed)
            out = first_tensor(call(args=args, kwargs=kwargs))
            if out is not None and start.get("t"):
                t_out = fwAD.unpack_dual(out).tangent
                if t_out is not None and t_out.numel() == 0:
                    report.notes.append("the output is empty: signal gain omitted")
                elif t_out is not None:
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


def _tangent_for(value: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Unit-variance noise shaped like ``value``; spatially structured for square images."""
    if value.dim() >= 4 and len(set(value.shape[2:])) == 1 and value.shape[-1] > 1:
        from initlint.probe.inputs import structured_noise

        return structured_noise(value.shape, generator).to(value.device, value.dtype)
    return torch.randn(value.shape, generator=generator).to(value.device, value.dtype)


def _dual(value: Any, tangents: dict[int, torch.Tensor]) -> Any:
    tangent = tangents.get(id(value)) if isinstance(value, torch.Tensor) else None
    return fwAD.make_dual(value, tangent) if tangent is not None else value


def _gradients(call: "_Call", output: torch.Tensor, recorder: Recorder, report: ModelReport, seed: int) -> None:
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
    if report.signal_cut is not None and usable[0][0].grad_norm == 0.0 and all(norm > 0 for _, norm, _ in usable):
        report.notes.append(
            f"{usable[0][0].name} gets a gradient of exactly 0 with no zero weight after it: the output "
            "does not depend on it (the forward's math, not an init scale); the first/last gradient ratio is skipped"
        )
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


def _padded_vanishing(report: ModelReport, recorder: Recorder, verdicts, limits: ProbeThresholds) -> bool:
    """Whether a vanishing signal is explained by convolutions longer than their input (their
    taps see padding): measured gain / the product of their tap shares is above the threshold.
    Then it is a warning with a note; a collapse beyond that stays a verdict."""
    signal = report.hidden_signal_gain if report.hidden_signal_gain is not None else report.signal_gain
    if signal is None or not any(v.kind == "vanishing" for v in verdicts):
        return False
    short = [n for n in recorder.order if recorder.stats[n].get("tap_share", 1.0) < 1.0]
    share = math.prod(recorder.stats[n]["tap_share"] for n in short)
    if not short or signal / share < limits.min_signal_gain:
        return False
    module = recorder.stats[short[0]]["module"]
    more = f" and {len(short) - 1} more" if len(short) > 1 else ""
    report.notes.append(
        f"the input reached {short[0]}{more} shorter than its kernel {tuple(module.kernel_size)}: only "
        f"x{share:.2g} of their taps see data, which explains the signal's x{signal:.2g}; a warning, not a verdict "
        "(pass --probe-input with the size the model is used at)"
    )
    return True


def _tiny_head(last: LayerStats, before: LayerStats) -> bool:
    return bool(last.weight_std and before.weight_std and last.weight_std < 0.1 * before.weight_std)
