"""What a few optimisation steps show: whether equal units stay equal, and the stable rate.

Symmetry: weights whose rows all start equal (constant or zero inits) are trained for a few
plain-SGD steps on a copy; the numerical rank of their rows afterwards says whether the units
stayed collapsed. The learning rate: 2 / lambda_max of the Hessian of a mean-squared loss to a
unit-variance random target, by power iteration on Hessian-vector products.
"""

from __future__ import annotations

import copy
import math
import time

import torch

from initlint.probe.tensors import first_tensor, weight_of
from initlint.probe.report import ModelReport


def _rows(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().reshape(weight.shape[0], -1).double()


def _identical(rows: torch.Tensor) -> bool:
    return rows.shape[0] > 1 and bool((rows - rows[:1]).abs().max() <= 1e-7 * (rows.abs().max() + 1e-12))


def mark_identical_rows(model, report: ModelReport) -> bool:
    """Which weights start with every row equal (constant or zero inits): only those need the
    SGD steps and a rank afterwards (an SVD of a 2048 x 8192 weight costs seconds)."""
    modules = dict(model.named_modules())
    found = False
    for layer in report.layers:
        weight = weight_of(modules[layer.name]) if layer.name in modules else None
        if weight is not None:
            layer.rows = weight.shape[0]
            layer.identical_rows_at_init = _identical(_rows(weight))
            found = found or layer.identical_rows_at_init
    return found


def symmetry_after_sgd(model, call, report: ModelReport, seed: int, steps: int,
                       deadline: float | None = None, step_seconds: float = 0.0) -> None:
    """Plain SGD on a copy: do rows of weights that start equal stay equal? A step that would
    end past ``deadline`` (``step_seconds``: the measured forward and backward) is not started;
    the steps done are judged, and none done leaves the question open."""
    if deadline is not None and time.monotonic() + step_seconds > deadline:
        raise RuntimeError("the time budget left no room for one step")
    clone = copy.deepcopy(model)
    modules = dict(clone.named_modules())
    optimizer = torch.optim.SGD(clone.parameters(), lr=0.1)
    torch.manual_seed(seed)
    target = None
    done = 0
    for _ in range(steps):
        if done and deadline is not None and time.monotonic() + step_seconds > deadline:
            report.notes.append(f"SGD steps: {done} of {steps} (the time budget was spent)")
            break
        started = time.monotonic()
        optimizer.zero_grad(set_to_none=True)
        out = first_tensor(call(model=clone))
        if out is None or not out.requires_grad:
            return
        if target is None:
            generator = torch.Generator(device="cpu").manual_seed(seed + 3)
            target = torch.randn(out.shape, generator=generator).to(out.device, out.dtype)
        loss = (out - target).pow(2).mean()
        loss.backward()
        optimizer.step()
        done += 1
        step_seconds = max(step_seconds, time.monotonic() - started)
    report.sgd_steps = done
    for layer in report.layers:
        weight = weight_of(modules.get(layer.name)) if layer.name in modules else None
        if weight is None or not layer.identical_rows_at_init:
            continue
        rows = _rows(weight)
        layer.identical_after_sgd = _identical(rows)
        if not bool(torch.isfinite(rows).all()):
            layer.identical_after_sgd = None  # SGD diverged (an exploding model): no answer
        elif rows.abs().max() == 0:
            layer.rank_after_sgd = 0
        else:
            layer.rank_after_sgd = int(torch.linalg.matrix_rank(rows.cpu(), rtol=1e-6))


#: samples the learning-rate estimate uses at most (lambda_max barely depends on the batch)
LR_SAMPLES = 4


def _subset(value, count: int):
    if isinstance(value, torch.Tensor) and value.dim() >= 1 and value.shape[0] > count:
        return value[:count]
    if isinstance(value, tuple):
        return tuple(_subset(v, count) for v in value)
    return value


def stable_learning_rate(call, report: ModelReport, seed: int, deadline: float | None = None, iterations: int = 12) -> None:
    """2 / lambda_max for plain SGD on a mean-squared loss to a unit-variance random target.

    lambda_max is the largest Ritz value of a Lanczos run on Hessian-vector products: exact
    (double backward) where torch has it, else central finite differences of gradients
    (hardsigmoid, CPU flash attention have no double backward). Lanczos finds the top of the
    spectrum in a few products, even where the Hessian at init has large negative eigenvalues
    (a power iteration then returns a negative number). Stops at ``deadline`` with what it has."""
    from initlint.probe.measure import _attention_with_jvp

    model = call.model
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise RuntimeError("the model has no trainable parameters")
    args = tuple(_subset(a, LR_SAMPLES) for a in call.args)
    kwargs = {k: _subset(v, LR_SAMPLES) for k, v in call.kwargs.items()}
    generator = torch.Generator(device="cpu").manual_seed(seed + 4)
    target: list[torch.Tensor] = []

    def loss_of() -> torch.Tensor:
        torch.manual_seed(seed)
        with _attention_with_jvp():
            out = first_tensor(call(args=inputs[0], kwargs=inputs[1]))
        if out is None or not out.is_floating_point():
            raise RuntimeError("forward returned no floating-point tensor")
        if not target:
            target.append(torch.randn(out.shape, generator=generator).to(out.device, out.dtype))
        return 0.5 * (out - target[0]).pow(2).mean()

    def gradients(loss: torch.Tensor, create_graph: bool) -> list[torch.Tensor]:
        found = torch.autograd.grad(loss, params, create_graph=create_graph, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g for p, g in zip(params, found)]

    inputs = [args, kwargs]
    try:
        loss_of()
    except (RuntimeError, ValueError, IndexError):  # inputs tied to the batch size (a B x B matrix)
        inputs[:] = [call.args, call.kwargs]
        target.clear()
    grads: list[torch.Tensor] = []

    def exact(vector):
        if not grads:
            grads.extend(gradients(loss_of(), create_graph=True))
        # a parameter the loss never reaches (an unused pooler) has a constant zero gradient
        pairs = [(g, v) for g, v in zip(grads, vector) if g.requires_grad]
        if not pairs:
            return [torch.zeros_like(p) for p in params]
        found = torch.autograd.grad([g for g, _ in pairs], params, grad_outputs=[v for _, v in pairs],
                                    retain_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if h is None else h.detach() for p, h in zip(params, found)]

    size = math.sqrt(sum(float(p.detach().double().pow(2).sum()) for p in params)) or 1.0

    def differences(vector):
        step = 1e-3 * size
        with torch.no_grad():
            for p, v in zip(params, vector):
                p.add_(v, alpha=step)
        plus = [g.detach() for g in gradients(loss_of(), create_graph=False)]
        with torch.no_grad():
            for p, v in zip(params, vector):
                p.add_(v, alpha=-2 * step)
        minus = [g.detach() for g in gradients(loss_of(), create_graph=False)]
        with torch.no_grad():
            for p, v in zip(params, vector):
                p.add_(v, alpha=step)
        return [(a - b) / (2 * step) for a, b in zip(plus, minus)]

    method = ["exact", exact]

    def product(vector):
        if method[1] is exact:
            try:
                return exact(vector)
            except (RuntimeError, NotImplementedError):
                grads.clear()
                method[:] = ["finite differences", differences]
        return differences(vector)

    def dot(a, b) -> float:
        return float(sum((x.double() * y.double()).sum() for x, y in zip(a, b)))

    vector = [torch.randn(p.shape, generator=generator).to(p.device, p.dtype) for p in params]
    norm = math.sqrt(dot(vector, vector))
    vector = [v / norm for v in vector]
    previous = None
    alphas: list[float] = []
    betas: list[float] = []
    top = None
    out_of_time = False
    settled = False
    step_seconds = 0.0  # the last product's cost: a step that cannot end by the deadline is not started
    for _ in range(iterations):
        if deadline is not None and alphas and time.monotonic() + step_seconds > deadline:
            out_of_time = True
            break
        step_started = time.monotonic()
        w = product(vector)
        step_seconds = time.monotonic() - step_started
        alpha = dot(w, vector)
        w = [a - alpha * v - (betas[-1] * p if previous is not None else 0) for a, v, p in zip(w, vector, previous or vector)]
        alphas.append(alpha)
        beta = math.sqrt(max(dot(w, w), 0.0))
        ritz = _top_ritz(alphas, betas)
        if not math.isfinite(ritz):
            raise RuntimeError("the Hessian-vector product is not finite")
        if top is not None and abs(ritz - top) <= 1e-3 * abs(ritz):
            top, settled = ritz, True
            break
        top = ritz
        if beta <= 1e-12 * max(1.0, abs(alpha)):  # the Krylov space is exhausted: exact
            settled = True
            break
        betas.append(beta)
        previous, vector = vector, [x / beta for x in w]
    if top is None or not top > 0:
        if out_of_time:
            raise RuntimeError(f"the time budget allowed {len(alphas)} Lanczos step(s), too few to find the top curvature")
        raise RuntimeError(f"the Hessian has no positive curvature in {len(alphas)} Lanczos steps (largest {top:g})")
    report.hessian_max = top
    report.max_stable_lr = 2.0 / top
    report.lr_upper_bound = not settled
    why = " (stopped by the time budget)" if out_of_time else ""
    if not settled:
        why += "; the top Ritz value had not settled, so lambda_max is at least this and the rate at most"
    report.lr_method = f"{method[0]} Hessian-vector products, {len(alphas)} Lanczos steps{why}"


def _top_ritz(alphas: list[float], betas: list[float]) -> float:
    """Largest eigenvalue of the Lanczos tridiagonal matrix."""
    size = len(alphas)
    matrix = torch.zeros(size, size, dtype=torch.float64)
    for i, alpha in enumerate(alphas):
        matrix[i, i] = alpha
        if i + 1 < size:
            matrix[i, i + 1] = matrix[i + 1, i] = betas[i]
    return float(torch.linalg.eigvalsh(matrix).max())
