"""The trial loop of inputs.py: run forward at batch 3, read the failure, fix the shape, again.

Each failure is read by input_repairs.py, which proposes the surest change to one argument not
tried yet; the loop stops at the first input that runs, or says which argument to pass.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from typing import Any

import torch
from torch import nn

from initlint.probe.inputs import (
    IMAGE_SIZES, MAX_TRIALS, ArgSpec, Fitted, InputError, image_size_hint, initial_specs,
    required_parameters,
)
from initlint.probe.ranks import Rank, forward_ranks
from initlint.probe.reshaping import (
    with_rank,
)
from initlint.probe.input_repairs import TRIAL_BATCH, blamed_arguments, repair
from initlint.probe.tracing import Trace, traced_forward

_UNPACK = re.compile(r"(?:not enough|too many) values to unpack \(expected (\d+)")


def _names_of(fitted: Fitted, args: tuple, kwargs: dict[str, Any]) -> dict[int, str]:
    names: dict[int, str] = {}
    values = list(zip([s for s in fitted.specs if s.name not in fitted.keyword], args))
    values += [(s, kwargs[s.name]) for s in fitted.specs if s.name in kwargs]
    for spec, value in values:
        if isinstance(value, tuple):
            for part, item in zip(spec.parts, value):
                names[id(item)] = part.name
        elif isinstance(value, torch.Tensor):
            names[id(value)] = spec.name
    return names


def fit_inputs(
    model: nn.Module, user: dict[str, ArgSpec], built_with: dict[str, Any], model_name: str,
    seed: int, deadline: float,
) -> Fitted:
    params, keyword = required_parameters(model, {name.rsplit(".", 1)[-1] for name in user if not name.startswith("__")})
    fitted = Fitted(initial_specs(model, params, user, built_with, model_name), keyword)
    sizes = [s for s in [image_size_hint(model)] if s] + [s for s in IMAGE_SIZES]
    ranks = forward_ranks(model)
    tried: set[str] = set()
    error: BaseException | None = None
    training = model.training
    model.eval()
    #: the specs and trace of an input that ran with attention over one key, while a longer
    #: sequence is tried: the fallback
    degenerate: tuple[list[ArgSpec], Trace] | None = None
    try:
        for _ in range(MAX_TRIALS):
            key = repr([s.describe() for s in fitted.specs])
            if key in tried or (tried and time.monotonic() > deadline):
                break
            tried.add(key)
            args, kwargs = fitted.make(TRIAL_BATCH, seed)
            fed = _names_of(fitted, args, kwargs)
            try:
                with torch.no_grad():
                    _, trace = traced_forward(model, args, kwargs, fed)
                fitted.trace = trace
                longer = sequences_for(fitted.specs, trace.one_way_softmax) if degenerate is None else None
                if longer is None:
                    return _with_source_ranks(model, fitted, ranks, seed)
                degenerate, fitted.specs = (fitted.specs, trace), longer
            except Exception as failure:  # noqa: BLE001 - user code: read it, then retry or report
                error = failure
                repaired = repair(fitted.specs, failure, getattr(failure, "trace", None), sizes, tried, ranks, fed)
                if repaired is None:
                    break
                fitted.specs = repaired
        if degenerate is not None:
            fitted.specs, fitted.trace = degenerate
            return _with_source_ranks(model, fitted, ranks, seed)
    finally:
        model.train(training)
    raise InputError(_hint(error, fitted.specs))


def sequences_for(specs: list[ArgSpec], one_way: frozenset[str]) -> list[ArgSpec] | None:
    """The flat arguments (B x D) whose values reached a softmax over one element, as sequences
    (B x L x D): forward's ``view(batch, -1, heads, d)`` read a flat input as one token, and
    attention over one key measures nothing. None when no such argument is ours to change."""
    flat = [s for s in specs if s.name in one_way and not s.fixed and s.kind == "float" and len(s.shape) == 1 and s.batch_dim == 0]
    if not flat:
        return None
    widths = {s.shape for s in flat}  # ``attn @ V``: the values of the same width are the same sequence
    flat += [s for s in specs if s not in flat and not s.fixed and s.kind == "float" and s.shape in widths and s.batch_dim == 0]
    return [with_rank(s, 3, "a sequence: as one token, its softmax ran over a single element") if s in flat else s for s in specs]


def _with_source_ranks(model: nn.Module, fitted: Fitted, ranks: dict[str, Rank], seed: int) -> Fitted:
    """An input that ran in eval mode with fewer dimensions than forward's source reads from it
    (``x.size(2)`` in a branch that only runs in training, as locked dropout does): the input
    with those dimensions, when it runs too; else the one that ran."""
    low = [s for s in fitted.specs if not s.fixed and s.kind == "float" and s.name in ranks
           and ranks[s.name].need() > len(s.shape) + 1 and ranks[s.name].need() <= 5]
    if not low:
        return fitted
    raised = Fitted([with_rank(s, ranks[s.name].need(), ranks[s.name].why) if s in low else s for s in fitted.specs], fitted.keyword)
    buffers = {name: value.clone() for name, value in model.named_buffers()}  # train mode moves BatchNorm's statistics
    try:
        for mode in (False, True):  # the branch the source describes may run in either mode
            model.train(mode)
            args, kwargs = raised.make(TRIAL_BATCH, seed)
            with torch.no_grad():
                _, trace = traced_forward(model, args, kwargs, _names_of(raised, args, kwargs))
    except Exception:  # noqa: BLE001 - user code: the input that ran stays
        return fitted
    finally:
        model.eval()
        with torch.no_grad():
            for name, value in model.named_buffers():
                if name in buffers and buffers[name].shape == value.shape:
                    value.copy_(buffers[name])
    raised.trace = trace
    return raised


def _hint(error: BaseException | None, specs: list[ArgSpec]) -> str:
    fed = ", ".join(f"{s.name}={s.describe()}" for s in specs) or "no arguments"
    blamed = blamed_arguments(specs, error, getattr(error, "trace", None)) if error is not None else []
    target = blamed[0] if blamed else (specs[0].name if specs else "NAME")
    if error is None:
        return f"no input could be fitted in time (fed {fed}); pass --probe-input {target}=SHAPE[:dtype]"
    lines = str(error).strip().splitlines()
    message = f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__
    return f"{message}{_user_frame(error)}; the probe fed {fed}; pass --probe-input {target}=SHAPE[:dtype]"


def _user_frame(error: BaseException) -> str:
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        name = frame.filename.replace(os.sep, "/")
        if "/torch/" not in name and "/initlint/" not in name and not name.startswith("<"):
            return f" (at {os.path.basename(name)}:{frame.lineno})"
    return ""
