"""The probe from the parent's side: which models to build, the worker pool, the verdicts.

Groups findings by the model they name, sends one task per model to the pool (pool.py), and
marks each finding ``confirmed``, ``refuted``, ``not probed`` or ``error`` with what was measured
(confirm.py). Nothing here imports torch or the user's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from initlint.findings import Finding
from initlint.probe.confirm import confirm, confirm_error, status
from initlint.probe.pool import WorkerPool
from initlint.probe.report import ModelReport


class ProbeError(Exception):
    """A problem with the probe's own options (exit 2), not with a user model."""


@dataclass
class ProbeOptions:
    device: str = "auto"
    timeout: float = 60.0
    memory_mb: float = 4096.0
    batch: int = 64
    seed: int = 0
    workers: int = 1
    sgd_steps: int = 3
    #: model -> constructor argument -> value (``--probe-arg Net.hidden=256``)
    args: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: model -> ``module:function`` that returns the model
    factories: dict[str, str] = field(default_factory=dict)
    #: model -> input shape without the batch dimension
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    #: folder put first on the worker's sys.path (the config's), for factories
    base: str | None = None

    def task(self, path: str, model: str, **extra: Any) -> dict[str, Any]:
        return {
            "path": path,
            "model": model,
            "overrides": self.args.get(model, {}),
            "factory": self.factories.get(model),
            "input_shape": self.input_shapes.get(model),
            "batch": self.batch,
            "seed": self.seed,
            "device": self.device,
            "sgd_steps": self.sgd_steps,
            "timeout": self.timeout,
            "thresholds": self.thresholds,
            "base": self.base,
            **extra,
        }


def parse_probe_arg(text: str) -> tuple[str, str, Any]:
    """``Class.name=value`` with value read as a Python literal when it is one."""
    import ast

    key, sep, raw = text.partition("=")
    model, dot, name = key.strip().rpartition(".")
    if not sep or not dot or not model or not name.isidentifier():
        raise ProbeError(f"--probe-arg expects Class.name=value, got {text!r}")
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        value = raw.strip()
    return model, name, value


def probe_findings(findings: list[Finding], options: ProbeOptions) -> None:
    """Build each model that has findings, measure it, and set ``finding.probe``."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        model = finding.prediction.model
        if finding.effect.value == "misuse" and finding.prediction.raises is None:
            finding.probe = status("not probed", reason="a misuse finding: nothing to measure")
            continue
        if not model:
            finding.probe = status(
                "not probed", reason="the file does not show which model this init belongs to"
            )
            continue
        groups.setdefault((finding.location.path, str(model)), []).append(finding)
    if not groups:
        return
    keys = list(groups)
    tasks = [options.task(path, model) for path, model in keys]
    with WorkerPool(options.workers, options.timeout, options.memory_mb) as pool:
        results = pool.run(tasks)
    for key, result in zip(keys, results):
        if result.get("fatal"):
            raise ProbeError(result["error"])
        for finding in groups[key]:
            if result.get("ok"):
                report = ModelReport.from_dict(result["report"])
                finding.probe = confirm(finding, report)
            elif result.get("unbuildable"):
                finding.probe = status("not probed", reason=result["error"])
            else:
                finding.probe = confirm_error(finding, result.get("stage", ""), result["error"])


def split_target(target: str) -> tuple[str, str]:
    """``path/to/file.py:Class`` or ``pkg.module:Class`` -> (path or module, name)."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise ProbeError(f"TARGET must be path.py:Class or package.module:Class, got {target!r}")
    if where.endswith(".py"):
        if not Path(where).is_file():
            raise ProbeError(f"{where}: no such file")
        return str(Path(where).resolve()), name
    return where, name


def probe_target(target: str, options: ProbeOptions) -> tuple[ModelReport | None, str | None]:
    """Measure one model, no lint: (report, None) or (None, a one-line reason)."""
    where, name = split_target(target)
    task = options.task(where, name, learning_rate=True, target=target)
    with WorkerPool(1, options.timeout, options.memory_mb) as pool:
        (result,) = pool.run([task])
    if result.get("fatal"):
        raise ProbeError(result["error"])
    if result.get("ok"):
        return ModelReport.from_dict(result["report"]), None
    stage = result.get("stage")
    return None, f"{stage}: {result['error']}" if stage else result["error"]
