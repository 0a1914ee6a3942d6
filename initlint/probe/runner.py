"""The probe from the parent's side: which models to build, the worker pool, the verdicts.

``--probe`` (``findings``) builds each model that has static findings and marks each finding
``confirmed``, ``refuted``, ``not probed`` or ``error`` (confirm.py). ``--probe=all`` lists every
model of every file in a worker (listing.py), measures each one, confirms the static findings the
same way, and turns a measured problem no finding explains into a finding of its own (IL9xx,
probe/measured.py); a model it cannot build is one ``not probed`` line. Nothing here imports torch
or the user's code.
"""

from __future__ import annotations

import math
import os
from dataclasses import field
from pathlib import Path
from typing import Any

from initlint.findings import Finding
from initlint.lean import dataclass
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
    #: None: adapt the batch to the time and memory budget (at most 64)
    batch: int | None = None
    seed: int = 0
    workers: int = 1
    sgd_steps: int = 3
    #: seconds one model's measurement aims at (sizes adapt to it); --probe-timeout is the hard limit
    budget: float = 10.0
    #: seconds a worker may take to start (import torch) before it counts as failed
    startup_timeout: float = 180.0
    #: model -> constructor argument -> value (``--probe-arg Net.hidden=256``)
    args: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: model -> ``module:function`` that returns the model
    factories: dict[str, str] = field(default_factory=dict)
    #: model -> input shape without the batch dimension (``input-shape``, first argument)
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    #: ``NAME=SHAPE[:dtype]`` or ``Model.NAME=SHAPE[:dtype]`` (``--probe-input``)
    inputs: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)
    #: folder put first on the worker's sys.path (the config's), for factories
    base: str | None = None

    def task(self, path: str, model: str, **extra: Any) -> dict[str, Any]:
        if path.endswith((".py", ".ipynb")):
            path = str(Path(path).resolve())  # workers outlive this run's working directory
        return {
            "op": "probe",
            "path": path,
            "model": model,
            "overrides": self.args.get(model, {}),
            "factory": self.factories.get(model),
            "input_shape": self.input_shapes.get(model),
            "inputs": list(self.inputs),
            "batch": self.batch,
            "seed": self.seed,
            "device": self.device,
            "sgd_steps": self.sgd_steps,
            "timeout": self.timeout,
            "budget": self.budget,
            "memory_mb": self.memory_mb,
            "thresholds": self.thresholds,
            "search": [p for p in (self.base,) if p],
            "cwd": os.getcwd(),
            **extra,
        }

    def pool(self) -> WorkerPool:
        from initlint.probe.pool import shared

        return shared(self.workers, self.timeout, self.memory_mb, self.startup_timeout)


def check_limits(options: ProbeOptions) -> None:
    """Limits must be finite and positive: ``nan`` would switch the time or memory cap off."""
    for name, value in (("--probe-timeout", options.timeout), ("--probe-memory", options.memory_mb)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ProbeError(f"{name} must be a finite positive number, got {value!r}")


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


def _results(tasks: list[dict[str, Any]], options: ProbeOptions, pool: WorkerPool | None = None) -> list[dict[str, Any]]:
    if not tasks:
        return []
    if pool is not None:
        results = pool.run(tasks)
    else:
        with options.pool() as own:
            results = own.run(tasks)
    for result in results:
        if result.get("fatal"):
            raise ProbeError(result["error"])
    return results


def _apply(findings: list[Finding], result: dict[str, Any]) -> ModelReport | None:
    """Mark each finding of one model from its result; the report when the model ran."""
    report = ModelReport.from_dict(result["report"]) if result.get("ok") else None
    for finding in findings:
        if report is not None:
            finding.probe = confirm(finding, report)
        elif result.get("unbuildable"):
            finding.probe = status("not probed", reason=result["error"])
        else:
            finding.probe = confirm_error(finding, result.get("stage", ""), result["error"])
    return report


def group_findings(findings: list[Finding]) -> dict[tuple[str, str], list[Finding]]:
    """Findings by the (file, model) they name; the others get their ``not probed`` reason."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        model = finding.prediction.model
        if finding.effect.value == "misuse" and finding.prediction.raises is None:
            finding.probe = status("not probed", reason="a misuse finding: nothing to measure")
            continue
        if not model:
            finding.probe = status("not probed", reason="the file does not show which model this init belongs to")
            continue
        groups.setdefault((finding.location.path, str(model)), []).append(finding)
    return groups


def probe_findings(findings: list[Finding], options: ProbeOptions) -> None:
    """Build each model that has findings, measure it, and set ``finding.probe``."""
    check_limits(options)
    groups = group_findings(findings)
    keys = list(groups)
    results = _results([options.task(path, model) for path, model in keys], options)
    for key, result in zip(keys, results):
        _apply(groups[key], result)


def split_target(target: str) -> tuple[str, str]:
    """``path/to/file.py:Class`` or ``pkg.module:Class`` -> (path or module, name)."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise ProbeError(f"TARGET must be path.py:Class, notebook.ipynb:Class or package.module:Class, got {target!r}")
    if where.endswith((".py", ".ipynb")):
        if not Path(where).is_file():
            raise ProbeError(f"{where}: no such file")
        return str(Path(where).resolve()), name
    return where, name


def probe_target(target: str, options: ProbeOptions) -> tuple[ModelReport | None, str | None]:
    """Measure one model, no lint: (report, None) or (None, a one-line reason)."""
    check_limits(options)
    where, name = split_target(target)
    task = options.task(where, name, learning_rate=True, target=target)
    (result,) = _results([task], options)
    if result.get("ok"):
        return ModelReport.from_dict(result["report"]), None
    stage = result.get("stage")
    return None, f"{stage}: {result['error']}" if stage else result["error"]
