"""Wall time of the probe on CPU: the seeds' models, a 25M-parameter CNN, and healthy models.

    python benchmarks/probe_time.py             # everything
    python benchmarks/probe_time.py --healthy   # only the well-known healthy models

Part 1 times whole ``initlint`` processes (start-up, worker start, torch import, build,
measure): ``initlint --probe FILE`` and ``initlint probe FILE:Class``.

Part 2 measures the healthy models the probe must call healthy, each as ``initlint probe`` does
(learning rate included), in one worker that is already ready: torchvision's resnet18/50, vgg11,
mobilenet_v3_small, vit_b_16, convnext_tiny (model code without the compiled extension, see
oracle.py), a small BERT and GPT-2 built from their configs, and timm's small variants. It prints
the seconds each model took after the worker was ready (the goal is 10 s), its verdicts (none
expected), its learning rate or the reason there is none, and the sizes the probe chose.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

RUNS = [
    ["--no-cache", "--probe", "--device", "cpu", "examples/seed_models.py"],
    ["--no-cache", "--probe", "--device", "cpu", "examples/zero_init.py"],
    ["--no-cache", "--probe", "--device", "cpu", "tests/fixtures/seeds_signal.py"],
    ["probe", "--device", "cpu", "examples/seed_models.py:UnstableModel"],
    ["--no-cache", "--probe", "--device", "cpu", "--probe-batch", "16", "benchmarks/probe_cnn.py"],
    ["probe", "--device", "cpu", "--probe-batch", "16", "benchmarks/probe_cnn.py:CNN25M"],
]
HEALTHY = [
    ("torchvision.models", "resnet18", None), ("torchvision.models", "resnet50", None),
    ("torchvision.models", "vgg11", None), ("torchvision.models", "mobilenet_v3_small", None),
    ("torchvision.models", "vit_b_16", None), ("torchvision.models", "convnext_tiny", None),
    ("transformers", "BertModel", None), ("transformers", "GPT2LMHeadModel", None),
    ("timm", "create_model", "resnet18"), ("timm", "create_model", "vit_tiny_patch16_224"),
    ("timm", "create_model", "convnext_atto"), ("timm", "create_model", "efficientnet_b0"),
    ("timm", "create_model", "mobilenetv3_small_100"), ("timm", "create_model", "deit_tiny_patch16_224"),
]


def processes() -> None:
    for args in RUNS:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "initlint", *args], cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        status = [line.strip() for line in done.stdout.splitlines() if "probe:" in line or "verdict" in line]
        print(f"{seconds:6.1f} s  exit {done.returncode}  initlint {' '.join(args)}")
        for line in status[:4]:
            print(f"          {line[:150]}")


def healthy() -> None:
    import oracle

    from initlint.probe.pool import WorkerPool
    from initlint.probe.report import ModelReport
    from initlint.probe.runner import ProbeOptions

    oracle.fetch_torchvision()
    options = ProbeOptions(device="cpu", timeout=120)
    tasks = []
    for where, name, model_name in HEALTHY:
        extra = {"factory_kwargs": {"model_name": model_name}, "target": model_name} if model_name else {}
        tasks.append(options.task(where, name, learning_rate=True, **extra))
    pool = WorkerPool(1, 120, 4096, 300, (f"{oracle.__file__}:preload_torchvision",))
    sent: dict[int, float] = {}
    print(f"{'model':28s} {'seconds':>7s}  verdicts  learning rate / reason; sizes")
    rows = []
    with pool:
        # the clock starts once the worker is ready (torch imported, torchvision preloaded): a
        # first task waits for that, so a tiny one goes first and is not timed
        pool.run([options.task("torch.nn", "Identity")])
        # one task at a time, so that each one's wall time is its own
        for index, task in enumerate(tasks):
            sent[index] = time.perf_counter()
            (result,) = pool.run([task])
            wall = time.perf_counter() - sent[index]
            label = task.get("target") or task["model"]
            if not result.get("ok"):
                error = f"{result.get('stage')}: {result.get('error', '')[:150]}"
                print(f"{label:28s} {wall:7.1f}  error: {error}")
                rows.append(f"| {label} | {wall:.1f} | ERROR | {error} | |")
                continue
            report = ModelReport.from_dict(result["report"])
            lr = f"lr {report.max_stable_lr:.3g} ({report.lr_method})" if report.max_stable_lr else next(
                (n for n in report.notes if n.startswith("learning rate")), "no learning rate"
            )
            sizes = "; ".join(n for n in report.notes if n.startswith(("batch", "input", "BatchNorm", "built from")))
            kinds = ",".join(v.kind for v in report.verdicts) or "none"
            print(f"{label:28s} {wall:7.1f}  {kinds:8s}  {lr}; {report.inputs}; {sizes}")
            inputs = ", ".join(f"{k}: {v}" for k, v in report.inputs.items())
            rows.append(f"| {label} | {wall:.1f} | {kinds} | {lr} | {inputs}; {sizes} |")
    walls = sorted(float(r.split(" | ")[1]) for r in rows)
    header = (
        f"Each model in one ready worker, learning rate included, default budget (10 s); wall seconds from "
        f"hand-over to result on this {os.cpu_count()}-core machine under its usual load. "
        f"Median {walls[len(walls) // 2]:.1f} s, max {walls[-1]:.1f} s.\n\n"
        "| model | seconds | verdicts | learning rate or reason | input; sizes chosen |\n|---|---:|---|---|---|\n"
    )
    oracle.WORK.mkdir(parents=True, exist_ok=True)
    oracle.HEALTHY.write_text(header + "\n".join(rows) + "\n")


def main() -> None:
    if "--healthy" not in sys.argv:
        processes()
    healthy()


if __name__ == "__main__":
    main()
