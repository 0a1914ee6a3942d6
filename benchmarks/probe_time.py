"""Wall time of the probe on CPU: the seeds' models and a 25M-parameter CNN.

    python benchmarks/probe_time.py

Times whole ``initlint`` processes (start-up, worker start, torch import, build, measure):
``initlint --probe FILE`` (lint + probe of every model with findings) and ``initlint probe
FILE:Class`` (one model, with the Hessian power iteration for the learning rate).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = [
    ["--no-cache", "--probe", "--device", "cpu", "examples/seed_models.py"],
    ["--no-cache", "--probe", "--device", "cpu", "examples/zero_init.py"],
    ["--no-cache", "--probe", "--device", "cpu", "tests/fixtures/seeds_signal.py"],
    ["probe", "--device", "cpu", "examples/seed_models.py:UnstableModel"],
    ["--no-cache", "--probe", "--device", "cpu", "--probe-batch", "16", "benchmarks/probe_cnn.py"],
    ["probe", "--device", "cpu", "--probe-batch", "16", "benchmarks/probe_cnn.py:CNN25M"],
]


def main() -> None:
    for args in RUNS:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "initlint", *args], cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        status = [line.strip() for line in done.stdout.splitlines() if "probe:" in line or "verdict" in line]
        print(f"{seconds:6.1f} s  exit {done.returncode}  initlint {' '.join(args)}")
        for line in status[:4]:
            print(f"          {line[:150]}")


if __name__ == "__main__":
    main()
