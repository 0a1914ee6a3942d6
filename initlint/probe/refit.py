"""A guessed constructor size that forward's own error contradicts: build once more with the
size the error states (pure Python; the worker rebuilds).

No input can fit a residual block built with ``in_channels=3, out_channels=64`` (``out +=
x`` needs one width), nor a bottleneck whose ``inplanes`` must be ``planes * expansion``. The
shape error then names two sizes, the one a layer needs and the one it got; when a value the
probe guessed (never the user's, never a default) is one of them, the other is tried for it.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

#: (pattern, group of the size needed, group of the size got)
_MISMATCHES = [
    (re.compile(r"to have (\d+) channels, but got (\d+) channels"), 1, 2),
    (re.compile(r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)"), 1, 2),
    (re.compile(r"should contain (\d+) elements not (\d+)"), 1, 2),
    (re.compile(r"shapes cannot be multiplied \(\d+x(\d+) and (\d+)x\d+\)"), 2, 1),
]
#: rebuilds tried at most (each builds the model and fits its input again)
MAX_REBUILDS = 2


def contradicted(message: str, assumed: dict[str, Any]) -> Iterator[tuple[str, int, int, str]]:
    """(parameter, guessed value, value to try, the error's words) for each guessed integer
    size that one side of a size mismatch in ``message`` equals."""
    seen: set[tuple[str, int]] = set()
    for pattern, need_group, got_group in _MISMATCHES:
        match = pattern.search(message)
        if not match:
            continue
        need, got = int(match.group(need_group)), int(match.group(got_group))
        if need == got:
            continue
        for name, value in assumed.items():
            if not isinstance(value, int) or isinstance(value, bool) or value not in (need, got):
                continue
            other = got if value == need else need
            if 1 <= other <= 4096 and (name, other) not in seen:
                seen.add((name, other))
                yield name, value, other, match.group(0)


def fit_rebuilding(module: Any, task: dict[str, Any], built: Any, model: Any, device: str, user: dict[str, Any],
                   seed: int, deadline: float) -> tuple[Any, Any, Any]:
    """(built, model, fitted): the input fitted to the model as built, or, when forward's error
    contradicts a guessed size, to the model built once more with the size the error states."""
    import torch

    from initlint.probe.build import build_model
    from initlint.probe.fitting import fit_inputs
    from initlint.probe.inputs import InputError

    try:
        return built, model, fit_inputs(model, user, built.values, task["model"], seed, deadline)
    except InputError as error:
        first = error
    overrides = dict(task.get("overrides") or {})
    for name, old, new, words in list(contradicted(str(first), built.assumed))[:MAX_REBUILDS]:
        try:
            torch.manual_seed(seed)
            again = build_model(module, task["model"], {**overrides, name: new}, task.get("factory"), task.get("factory_kwargs"))
            rebuilt = again.model.to(device)
            fitted = fit_inputs(rebuilt, user, again.values, task["model"], seed, deadline)
        except Exception:  # noqa: BLE001 - user code: this size does not build or fit either
            continue
        again.assumed[name] = new
        again.notes.append(f"`{name}` {old}->{new}: forward's error with {old} said `{words}`")
        return again, rebuilt, fitted
    raise first
