"""What a few optimisation steps show: whether equal units stay equal, and the stable rate.

Symmetry: weights whose rows all start equal (constant or zero inits) are trained for a few
plain-SGD steps on a copy; the numerical rank of their rows afterwards says whether the units
stayed collapsed. The learning rate: 2 / lambda_max of the Hessian of a mean-squared loss to a
unit-variance random target, by power iteration on Hessian-vector products.
"""

from __future__ import annotations

import copy
import math

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


def symmetry_after_sgd(model, inputs, report: ModelReport, seed: int, steps: int) -> None:
    """Plain SGD on a copy: do rows of weights that start equal stay equal?"""
    clone = copy.deepcopy(model)
    modules = dict(clone.named_modules())
    optimizer = torch.optim.SGD(clone.parameters(), lr=0.1)
    torch.manual_seed(seed)
    target = None
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        out = first_tensor(clone(*inputs))
        if out is None or not out.requires_grad:
            return
        if target is None:
            generator = torch.Generator(device="cpu").manual_seed(seed + 3)
            target = torch.randn(out.shape, generator=generator).to(out.device, out.dtype)
        loss = (out - target).pow(2).mean()
        loss.backward()
        optimizer.step()
    report.sgd_steps = steps
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


def stable_learning_rate(model, inputs, report: ModelReport, seed: int, iterations: int = 20) -> None:
    """2 / lambda_max for plain SGD on a mean-squared loss to a unit-variance random target."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        return
    torch.manual_seed(seed)
    out = first_tensor(model(*inputs))
    if out is None:
        return
    generator = torch.Generator(device="cpu").manual_seed(seed + 4)
    target = torch.randn(out.shape, generator=generator).to(out.device, out.dtype)
    loss = 0.5 * (out - target).pow(2).mean()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    vector = [torch.randn_like(p) for p in params]
    eigen = 0.0
    previous = None
    for _ in range(iterations):
        norm = torch.sqrt(sum((v * v).sum() for v in vector))
        if not torch.isfinite(norm) or norm == 0:
            return
        vector = [v / norm for v in vector]
        product = torch.autograd.grad(grads, params, grad_outputs=vector, retain_graph=True)
        eigen = float(sum((h * v).sum() for h, v in zip(product, vector)))
        vector = [h.detach() for h in product]
        if previous is not None and abs(eigen - previous) <= 1e-3 * abs(eigen):
            break  # converged: the power iteration has found lambda_max to 0.1%
        previous = eigen
    if math.isfinite(eigen) and eigen > 0:
        report.hessian_max = eigen
        report.max_stable_lr = 2.0 / eigen
