"""The worker process: imports torch once, then builds and measures one model per task.

Runs only as ``python -m initlint.probe.worker``, started by pool.py. Every failure of user code becomes a result
``{"ok": False, "stage": ..., "error": ...}``; only a hard crash, hang or memory blow-up ends the
process, and the pool reports those.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import warnings
from typing import Any


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    return f"{type(error).__name__}: {message}"[:300] if message else type(error).__name__


def resolve_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"--device {requested} was asked for, but torch {torch.__version__} sees no CUDA "
            "device (torch.cuda.is_available() is False)"
        )
    return requested


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Build the model of ``task`` and measure it; never raises."""
    import torch

    from initlint.probe.build import BuildError, build_input, build_model, load_module
    from initlint.probe.measure import measure
    from initlint.probe.verdicts import ProbeThresholds

    try:
        device = resolve_device(task.get("device", "auto"))
    except RuntimeError as error:
        return {"ok": False, "stage": "device", "error": str(error), "fatal": True}
    stage = "import"
    if task.get("base") and task["base"] not in sys.path:
        sys.path.insert(0, task["base"])
    try:
        module = load_module(task["path"], task.get("module_name"))
        stage = "build"
        torch.manual_seed(task.get("seed", 0))
        model = build_model(module, task["model"], task.get("overrides", {}), task.get("factory"))
        stage = "input"
        example = build_input(model, task.get("batch", 64), task.get("seed", 0), task.get("input_shape"))
        stage = "forward"
        report = measure(
            model,
            example,
            target=task.get("target", task["model"]),
            device=device,
            seed=task.get("seed", 0),
            sgd_steps=task.get("sgd_steps", 3),
            learning_rate=task.get("learning_rate", False),
            thresholds=ProbeThresholds(**task.get("thresholds", {})),
        )
        return {"ok": True, "report": report.to_dict()}
    except BuildError as error:
        return {"ok": False, "stage": stage, "error": str(error), "unbuildable": True}
    except BaseException as error:  # noqa: BLE001 - user code may raise anything, SystemExit too
        if isinstance(error, KeyboardInterrupt):
            raise
        where = _user_frame(error)
        return {"ok": False, "stage": stage, "error": _one_line(error) + where}


def _user_frame(error: BaseException) -> str:
    """`` at model.py:12`` for the innermost frame outside torch and initlint."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        name = frame.filename.replace(os.sep, "/")
        if "/torch/" not in name and "/initlint/" not in name and not name.startswith("<"):
            return f" (at {os.path.basename(name)}:{frame.lineno})"
    return ""


def _die_with(parent: int) -> None:
    """End this worker when ``parent`` (initlint) dies, however it dies: the kernel's
    parent-death signal on Linux, and a thread that watches the parent pid everywhere (also
    for the moment before the signal was set). A worker stuck in user code cannot outlive it."""
    import threading
    import time

    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(70)

    if os.getppid() != parent:
        os._exit(70)
    threading.Thread(target=watch, name="initlint-parent-watch", daemon=True).start()


def main() -> None:
    """Serve JSON-line tasks from stdin until "null" or end of input; answers go to the real
    stdout, while the user's prints (fd 1 and 2) go to /dev/null. The argument, if any, is the
    pid of initlint, whose death ends this worker."""
    if len(sys.argv) > 1:
        _die_with(int(sys.argv[1]))
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    warnings.filterwarnings("ignore")
    import torch  # noqa: F401  - once per worker, before the first task

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    from initlint.probe.measure import measure  # noqa: F401  - part of the clean state
    from initlint.probe.state import CleanState

    clean = CleanState.take()
    protocol.write(json.dumps({"ready": True}) + "\n")  # the pool starts the task's clock now
    protocol.flush()
    for line in sys.stdin:
        task = json.loads(line)
        if task is None:
            return
        result = run_task(task)
        clean.restore()  # the next model starts where this one started (state.py)
        protocol.write(json.dumps(result) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
