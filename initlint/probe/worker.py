"""The worker process: imports torch once, then forks one child per task.

Runs only as ``python -m initlint.probe.worker``, started by pool.py. It is a small fork server:
after ``import torch`` (and the pool's preloads) it says ``ready``; for each task (a JSON line on
stdin) it forks a child that builds and measures one model (tasks.py) and writes the result to a
pipe. User code runs only in those children, so each model starts from the same clean state (no
``os.chdir``, ``sys.path`` edit or monkeypatch of one model reaches the next), and a crash, hang
or memory blow-up costs only its child.

Messages to the pool, one JSON object per line on the real stdout: ``{"event": "ready"}``,
``{"event": "started", "id", "pid"}``, ``{"event": "result", "id", "result"}``, and
``{"event": "fatal", "error"}`` when this worker cannot work at all (no torch). The user's prints
go to /dev/null.

Nothing outlives the parent: the worker and each child ask Linux for SIGKILL when their parent
dies (``PR_SET_PDEATHSIG``), and check they were not orphaned before asking; elsewhere a
watchdog thread polls the parent.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import threading
import time
from typing import Any

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None) -> None:
    """SIGKILL this process when ``parent`` dies; exit now if it is already gone."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # orphaned before the signal was armed
    if not armed and parent is not None:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    try:
        os.killpg(os.getpgid(0), signal.SIGKILL)
    finally:
        os._exit(1)


def threads() -> int:
    """Threads for torch in a task child: the cores idle right now, shared with the pool's other
    workers, at most 4; one on a busy machine (OpenMP threads that wait for each other on shared
    cores made a ResNet-152 7x slower). Idle is sampled now, not the 1-minute load average: the
    previous task of this same worker kept that average at one busy core."""
    cores = os.cpu_count() or 1
    try:
        workers = max(1, int(os.environ.get("INITLINT_PROBE_WORKERS", "1")))
    except ValueError:
        workers = 1
    idle = _idle_cores(cores)
    return max(1, min(4, cores // workers, int(idle + 0.25)))


def _idle_cores(cores: int) -> float:
    """Idle cores over the next 0.1 s (/proc/stat), else from the load average."""
    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", encoding="ascii") as handle:
                fields = [int(v) for v in handle.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait

    first = sample()
    if first is not None:
        time.sleep(0.1)
        second = sample()
        if second is not None and second[0] > first[0]:
            return cores * (second[1] - first[1]) / (second[0] - first[0])
    try:
        return cores - os.getloadavg()[0]
    except OSError:
        return float(cores)


def _send(protocol, message: dict[str, Any]) -> None:
    protocol.write(json.dumps(message) + "\n")
    protocol.flush()


def _preload(specs: list[str]) -> None:
    """Run ``path.py:function`` or ``module:function`` hooks (the oracle warms torchvision)."""
    from initlint.probe.loading import load_callable

    for spec in specs:
        load_callable(spec)()


def _warm_up() -> None:
    """Pay the lazy imports of a measurement once, here, not in every task child: the first
    forward-mode JVP imports torch._dynamo (seconds). Tensors of one element: no thread pool."""
    import torch
    import torch.autograd.forward_ad as fwAD
    import torch.nn.functional as F

    with torch.no_grad(), fwAD.dual_level():
        x = fwAD.make_dual(torch.ones(2, 1, 1, 1), torch.ones(2, 1, 1, 1))
        y = F.conv2d(x, torch.ones(1, 1, 1, 1))
        y = F.batch_norm(y, None, None, training=True)
        y = F.layer_norm(y, (1,))
        F.linear(y.flatten(1), torch.ones(1, 1), torch.ones(1)).relu()
    weight = torch.ones(1, 1, requires_grad=True)
    F.linear(torch.ones(1, 1), weight).sum().backward()


def _read_until_exit(fd: int, pid: int) -> tuple[bytes, int]:
    """The child's result and its wait status. Reading stops at EOF or when the child has
    exited: a process the model forked (``multiprocessing``, a vectorised environment) keeps
    the pipe's write end open, and waiting for its EOF would turn a finished task into a timeout."""
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 1 << 16)
            except InterruptedError:
                continue
            if not chunk:
                return b"".join(chunks), os.waitpid(pid, 0)[1]
            chunks.append(chunk)
            continue
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:  # everything it wrote is in the pipe already
            os.set_blocking(fd, False)
            while True:
                try:
                    chunk = os.read(fd, 1 << 16)
                except (BlockingIOError, InterruptedError):
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks), status


def _status(status: int) -> int:
    """waitpid status as Popen's returncode: negative signal number, or the exit code."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _run_child(task: dict[str, Any], out: int, server: int, protocol_fd: int) -> None:
    """In the forked child: own process group, die with the server, run, write, exit."""
    code = 0
    try:
        os.setpgid(0, 0)
        die_with_parent(server)
        os.close(protocol_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # user code reading stdin must not eat the next task
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        # user modules that parse arguments at import see a script's argv, not the worker's
        sys.argv = [str(task.get("path") or "model")]
        import torch

        torch.set_num_threads(threads())
        from initlint.probe.tasks import run_task

        result = run_task(task)
        try:
            data = json.dumps(result)
        except (TypeError, ValueError) as error:
            data = json.dumps({"ok": False, "stage": "report", "error": f"result not serialisable: {error}"})
        view = memoryview(data.encode("utf-8"))
        while view:
            written = os.write(out, view)
            view = view[written:]
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        code = 70
    finally:
        os._exit(code)


def serve(protocol) -> None:
    """Fork one child per task line until "null" or the end of stdin."""
    server = os.getpid()
    for line in sys.stdin:
        try:
            task = json.loads(line)
        except json.JSONDecodeError:
            continue
        if task is None:
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _run_child(task, write_end, server, protocol.fileno())
        os.close(write_end)
        _send(protocol, {"event": "started", "id": task.get("id"), "pid": pid})
        data, status = _read_until_exit(read_end, pid)
        os.close(read_end)
        try:  # helpers the model started (its process group) end with its task
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass
        try:
            result = json.loads(data.decode("utf-8")) if data else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            result = None
        if result is None:
            from initlint.probe.pool import death

            result = {"ok": False, "stage": "worker", "error": death(_status(status))}
        _send(protocol, {"event": "result", "id": task.get("id"), "result": result})


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    parent = os.environ.get("INITLINT_PROBE_PARENT")
    die_with_parent(int(parent) if parent and parent.isdigit() else None)
    sys.dont_write_bytecode = True
    from initlint.probe.offline import go_offline

    go_offline()  # before the preloads import transformers
    import warnings

    warnings.filterwarnings("ignore")
    try:
        import torch
    except ImportError as error:
        _send(protocol, {"event": "fatal", "error": (
            f"the probe needs torch, which {sys.executable} cannot import ({error}); "
            "pip install 'initlint[probe]'"
        )})
        return
    # one thread here: an OpenMP team started in this process would hang the forked task
    # children that use OpenMP; each child sets its own thread count (threads())
    torch.set_num_threads(1)
    try:
        _warm_up()
        _preload(json.loads(os.environ.get("INITLINT_PROBE_PRELOAD", "[]")))
    except BaseException as error:  # noqa: BLE001 - a broken preload is the caller's error
        _send(protocol, {"event": "fatal", "error": f"probe worker start-up failed: {type(error).__name__}: {error}"})
        return
    _send(protocol, {"event": "ready", "pid": os.getpid(), "torch": torch.__version__})
    serve(protocol)


if __name__ == "__main__":
    main()
