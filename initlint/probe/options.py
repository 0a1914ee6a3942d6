"""``[tool.initlint.probe]`` and the probe's command-line options, checked before anything runs.

```toml
[tool.initlint.probe]
device = "auto"            # cpu, cuda, auto
timeout = 60               # seconds per model
memory-mb = 4096           # resident memory cap per worker
batch = 64                 # default: as large as the time budget allows, up to 64
budget = 10                # seconds one model's measurement aims at (sizes adapt)
seed = 0
workers = 1
args = { "Net.hidden" = 256, "Encoder.config" = "small" }
factory = { "Net" = "mypkg.models:make_net" }
input-shape = { "Encoder" = [3, 224, 224] }   # the first forward argument, no batch
inputs = { "x" = "3x224x224", "Net.t" = ":long" }  # any argument, as --probe-input
max-signal-gain = 1e4      # verdict thresholds, see probe/verdicts.py
min-signal-gain = 1e-4
max-grad-ratio = 70
min-grad-ratio = 1e-3
max-saturated = 0.5
max-dead = 0.5
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from initlint.limits import is_positive_finite
from initlint.probe.runner import ProbeError, ProbeOptions, parse_probe_arg

#: verdict thresholds (probe/verdicts.py): key -> ProbeThresholds field
THRESHOLDS = {
    "max-signal-gain": "max_signal_gain", "min-signal-gain": "min_signal_gain",
    "max-grad-ratio": "max_grad_ratio", "min-grad-ratio": "min_grad_ratio",
    "max-saturated": "max_saturated", "max-dead": "max_dead",
}
KEYS = (
    "device", "timeout", "memory-mb", "batch", "budget", "seed", "workers", "args", "factory",
    "input-shape", "inputs", *THRESHOLDS,
)
#: dtypes of --probe-input
DTYPES = ("float32", "float16", "bfloat16", "float64", "long", "int")


def parse_input_text(text: str) -> tuple[str, tuple[int, ...], str]:
    """``NAME=SHAPE[:dtype]`` -> (name, shape without the batch, dtype); ValueError names the
    problem. SHAPE is ``3x224x224`` or ``3,224,224``, empty for a batch of scalars."""
    name, sep, rest = text.partition("=")
    shape_text, _, dtype = rest.partition(":")
    name = name.strip()
    if not sep or not all(part.isidentifier() for part in name.split(".")) or name.count(".") > 1:
        raise ValueError(f"--probe-input expects NAME=SHAPE[:dtype] (or Model.NAME=...), got {text!r}")
    dims = [d for d in re.split(r"[x,\s]+", shape_text.strip()) if d]
    if not all(d.isdigit() and int(d) > 0 for d in dims):
        raise ValueError(f"--probe-input {text!r}: SHAPE must be positive integers like 3x224x224")
    dtype = dtype.strip() or "float32"
    if dtype not in DTYPES:
        raise ValueError(f"--probe-input {text!r}: dtype must be one of {', '.join(DTYPES)}")
    return name, tuple(int(d) for d in dims), dtype


DEVICES = ("cpu", "cuda", "auto")


def _error(path: Path | None, message: str) -> ProbeError:
    from initlint.config import ConfigError

    return ConfigError(f"{path}: [tool.initlint.probe] {message}") if path else ProbeError(message)


def check_probe_table(table: dict[str, Any], path: Path | None = None) -> None:
    for key, value in table.items():
        if key == "__base__":
            continue
        if key not in KEYS:
            raise _error(path, f"unknown key '{key}'; known keys: {', '.join(KEYS)}")
        if key == "device" and (not isinstance(value, str) or value.split(":")[0] not in DEVICES):
            raise _error(path, f"'device' must be one of {', '.join(DEVICES)}, got {value!r}")
        if key in (*THRESHOLDS, "timeout", "memory-mb", "budget") and not is_positive_finite(value):
            raise _error(path, f"'{key}' must be a finite number above 0, got {value!r}")
        if key in ("batch", "seed", "workers") and (isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "seed" else 1)):
            raise _error(path, f"'{key}' must be a {'non-negative' if key == 'seed' else 'positive'} integer, got {value!r}")
        if key in ("args", "factory", "input-shape", "inputs") and not isinstance(value, dict):
            raise _error(path, f"'{key}' must be a table, got {value!r}")
        if key == "factory" and not all(isinstance(v, str) and ":" in v for v in value.values()):
            raise _error(path, "'factory' values must be 'module:function' strings")
        if key == "input-shape" and not all(
            isinstance(v, list) and all(isinstance(n, int) and n > 0 for n in v) for v in value.values()
        ):
            raise _error(path, "'input-shape' values must be lists of positive integers (no batch)")
        if key == "inputs":
            for name, shape in value.items():
                try:
                    parse_input_text(f"{name}={shape}")
                except ValueError as problem:
                    raise _error(path, f"'inputs': {problem}") from None
        if key == "args":
            for name in value:
                if "." not in name:
                    raise _error(path, f"'args' keys are Class.parameter, got {name!r}")


def build_options(table: dict[str, Any], **cli: Any) -> ProbeOptions:
    """Config first, command-line options over it (None means not given)."""
    options = ProbeOptions()
    mapping = {"device": "device", "timeout": "timeout", "memory-mb": "memory_mb", "batch": "batch",
               "seed": "seed", "workers": "workers", "budget": "budget"}
    for key, attribute in mapping.items():
        if key in table:
            setattr(options, attribute, table[key])
    for name, value in table.get("args", {}).items():
        model, _, parameter = name.rpartition(".")
        options.args.setdefault(model, {})[parameter] = value
    options.factories.update(table.get("factory", {}))
    options.base = table.get("__base__")
    options.thresholds = {field: float(table[key]) for key, field in THRESHOLDS.items() if key in table}
    options.input_shapes.update(table.get("input-shape", {}))
    options.inputs.extend(f"{name}={shape}" for name, shape in table.get("inputs", {}).items())
    for attribute, value in cli.items():
        if attribute == "probe_args":
            for text in value or ():
                model, parameter, parsed = parse_probe_arg(text)
                options.args.setdefault(model, {})[parameter] = parsed
        elif attribute == "probe_inputs":
            for text in value or ():
                try:
                    parse_input_text(text)
                except ValueError as problem:
                    raise ProbeError(str(problem)) from None
                options.inputs.append(text)
        elif value is not None:
            setattr(options, attribute, value)
    return options
