"""Worker processes for the probe, watched from the parent: start-up, time limit, memory, crashes.

The parent never imports torch or user code. Each worker is a ``python -m initlint.probe.worker``
process that imports torch once, says "ready", and then forks one child per task (worker.py), so
every model starts from the same clean state. The clocks are honest under load: a worker gets
``startup_timeout`` to import torch, and a task's ``timeout`` starts when it is handed to a ready
worker. A task that runs past its limit, a child whose resident memory passes the cap, and a child
that dies (segfault, ``os._exit``) become error results for that task; the worker stays.

Nothing outlives initlint: each worker leads its own process group and dies with its parent
(``PR_SET_PDEATHSIG`` on Linux, a watchdog elsewhere; see worker.py), its task child does the
same, and SIGTERM, SIGHUP or Ctrl-C of initlint kills every group before initlint exits.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import field
from typing import Any, Callable

from initlint.lean import dataclass

#: how long the worker has to report its task child after the pool killed that child
_SETTLE_SECONDS = 10.0
#: consecutive workers that may fail to start before the probe gives up
_START_ATTEMPTS = 2


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        return None
    return None


def death(status: int | None) -> str:
    """A dead process's exit status in words (negative: killed by that signal)."""
    if status is None:
        return "the worker stopped answering"
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"the worker process crashed ({name})"
    return f"the worker process exited with code {status}"


def _kill_group(pid: int | None) -> None:
    """SIGKILL the process group that ``pid`` leads, or the process alone if it leads none."""
    if not pid:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass


@dataclass(eq=False)
class _Worker:
    process: subprocess.Popen
    launched: float
    ready: bool = False
    task: int | None = None
    sent: float = 0.0
    child: int | None = None
    #: the task's result was decided here (timeout, memory); the worker's own report is ignored
    settled_at: float | None = None

    def send(self, task: dict[str, Any] | None) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(task) + "\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        _kill_group(self.child)
        _kill_group(self.process.pid)


def _read_answers(worker: _Worker, answers: "queue.Queue[tuple[_Worker, dict | None]]") -> None:
    """Reader thread: one JSON object per line from the worker; None when the pipe closes."""
    assert worker.process.stdout is not None
    try:
        for line in worker.process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(message, dict):
                answers.put((worker, message))
    except (OSError, ValueError):  # the pool closed the pipe while retiring the worker
        pass
    answers.put((worker, None))


#: every live worker of every pool in this process, for the signal handlers and atexit
_LIVE: set[_Worker] = set()


def _kill_all() -> None:
    for worker in list(_LIVE):
        worker.kill()


atexit.register(_kill_all)


class _Signals:
    """While a pool runs in the main thread: SIGTERM and SIGHUP kill every worker group, then
    initlint dies of the same signal (SIGINT raises KeyboardInterrupt, and run() cleans up)."""

    names = ("SIGTERM", "SIGHUP")

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> "_Signals":
        if threading.current_thread() is threading.main_thread():
            for name in self.names:
                number = getattr(signal, name, None)
                if number is not None:
                    self.previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, number: int, frame) -> None:
        _kill_all()
        previous = self.previous.get(number)
        self.__exit__()
        if callable(previous):
            previous(number, frame)
            return
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)

    def __exit__(self, *exc) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        self.previous = {}


@dataclass
class WorkerPool:
    """``run(tasks)`` returns one result dict per task, in task order."""

    size: int = 1
    timeout: float = 60.0
    memory_mb: float = 4096.0
    #: seconds a new worker may take to import torch (and the preloads) before it counts as failed
    startup_timeout: float = 180.0
    #: ``path.py:function`` or ``module:function`` run by each worker before it says ready
    preload: tuple[str, ...] = ()
    #: ``with pool:`` leaves idle workers running for the next run (shared())
    keep_warm: bool = False
    _workers: list[_Worker] = field(default_factory=list)
    _answers: "queue.Queue[tuple[_Worker, dict | None]]" = field(default_factory=queue.Queue)
    _failed_starts: int = 0

    def _start(self) -> _Worker:
        """A fresh interpreter in a new session (its own process group; Ctrl-C in a terminal
        reaches initlint only, which then stops the workers itself)."""
        env = dict(os.environ)
        env["INITLINT_PROBE_PARENT"] = str(os.getpid())
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # never a __pycache__ in the user's tree
        env["INITLINT_PROBE_WORKERS"] = str(self.size)  # the cores a task may use are shared
        if self.preload:
            env["INITLINT_PROBE_PRELOAD"] = json.dumps(list(self.preload))
        process = subprocess.Popen(
            [sys.executable, "-m", "initlint.probe.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            env=env,
            start_new_session=True,
        )
        worker = _Worker(process, time.monotonic())
        _LIVE.add(worker)
        self._workers.append(worker)
        threading.Thread(target=_read_answers, args=(worker, self._answers), daemon=True).start()
        return worker

    def run(
        self,
        tasks: list[dict[str, Any]],
        on_result: Callable[[int, dict[str, Any]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Results in task order; ``on_result(index, result)`` as each one arrives."""
        results: list[dict[str, Any] | None] = [None] * len(tasks)
        pending = list(range(len(tasks)))

        def settle(index: int, result: dict[str, Any]) -> None:
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        try:
            with _Signals():
                self._loop(tasks, pending, results, settle)
        except BaseException:
            self.kill()
            raise
        return [r if r is not None else {"ok": False, "stage": "worker", "error": "no result"} for r in results]

    def _loop(self, tasks, pending: list[int], results, settle) -> None:
        while pending or any(w.task is not None for w in self._workers):
            waiting = [w for w in self._workers if w.task is None]
            while pending and len(self._workers) < self.size and len(waiting) < len(pending):
                waiting.append(self._start())
            for worker in [w for w in self._workers if w.ready and w.task is None]:
                if not pending:
                    break
                index = pending.pop(0)
                try:
                    worker.send({**tasks[index], "id": index})
                except (BrokenPipeError, OSError, ValueError):
                    pending.insert(0, index)
                    self._retire(worker)
                    continue
                worker.task, worker.sent, worker.child, worker.settled_at = index, time.monotonic(), None, None
            try:
                worker, message = self._answers.get(timeout=0.05)
            except queue.Empty:
                worker, message = None, None
            else:
                fatal = self._receive(worker, message, settle)
                if fatal is not None:
                    for index in pending:
                        settle(index, fatal)
                    pending.clear()
            self._watch(tasks, pending, settle)

    def _receive(self, worker: _Worker, message: dict | None, settle) -> dict[str, Any] | None:
        """One message from a worker; a result dict for every pending task when fatal."""
        if worker not in self._workers:
            return None
        if message is None:  # the worker itself is gone
            try:
                worker.process.wait(2)
            except subprocess.TimeoutExpired:
                pass
            if worker.task is not None and worker.settled_at is None:
                settle(worker.task, {"ok": False, "stage": "worker", "error": death(worker.process.returncode)})
            self._retire(worker)
            if not worker.ready:
                return self._failed_start(f"the probe worker exited while starting ({death(worker.process.returncode)})")
            return None
        event = message.get("event")
        if event == "ready":
            worker.ready = True
            self._failed_starts = 0
        elif event == "fatal":
            self._retire(worker)
            result = {"ok": False, "stage": "worker", "error": message.get("error", "worker failed"), "fatal": True}
            if worker.task is not None:
                settle(worker.task, result)
            return result
        elif event == "started" and message.get("id") == worker.task:
            worker.child = message.get("pid")
        elif event == "result" and message.get("id") == worker.task and worker.task is not None:
            if worker.settled_at is None:
                settle(worker.task, message.get("result") or {"ok": False, "error": "empty result"})
            worker.task, worker.child, worker.settled_at = None, None, None
        return None

    def _failed_start(self, why: str) -> dict[str, Any] | None:
        """Count a worker that never became ready; after a few, every pending task fails."""
        self._failed_starts += 1
        if self._failed_starts < _START_ATTEMPTS:
            return None
        return {"ok": False, "stage": "worker", "error": f"{why}, {self._failed_starts} times", "fatal": True}

    def _watch(self, tasks, pending: list[int], settle) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            if not worker.ready:
                if now - worker.launched > self.startup_timeout:
                    self._retire(worker)
                    failed = self._failed_start(
                        f"the probe worker did not start within {self.startup_timeout:g} s "
                        "(importing torch and the preloads)"
                    )
                    if failed is not None:
                        for index in pending:
                            settle(index, failed)
                        pending.clear()
                continue
            if worker.task is None:
                continue
            if worker.settled_at is not None:
                if now - worker.settled_at > _SETTLE_SECONDS:
                    self._retire(worker)  # the worker never reported the killed child
                continue
            limit = float(tasks[worker.task].get("timeout", self.timeout))
            if now - worker.sent > limit:
                self._stop_task(worker, settle, {
                    "ok": False, "stage": "timeout",
                    "error": f"no result after {limit:g} s (--probe-timeout); the model was stopped",
                })
                continue
            rss = rss_mb(worker.child) if worker.child else None
            cap = float(tasks[worker.task].get("memory_mb", self.memory_mb))
            if rss is not None and rss > cap:
                self._stop_task(worker, settle, {
                    "ok": False, "stage": "memory",
                    "error": f"the model used {rss:.0f} MiB, above the {cap:g} MiB cap "
                    "(--probe-memory); it was stopped",
                })

    def _stop_task(self, worker: _Worker, settle, result: dict[str, Any]) -> None:
        settle(worker.task, result)
        worker.settled_at = time.monotonic()
        if worker.child:
            _kill_group(worker.child)
        else:
            self._retire(worker)  # no child known yet: stop the whole worker

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        try:
            worker.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (worker.process.stdin, worker.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        _LIVE.discard(worker)
        if worker in self._workers:
            self._workers.remove(worker)

    def kill(self) -> None:
        """Stop every worker and task child now (after an interrupt or an error)."""
        for worker in list(self._workers):
            self._retire(worker)

    def close(self) -> None:
        """Ask idle workers to finish, then make sure nothing is left."""
        for worker in list(self._workers):
            try:
                worker.send(None)
            except (BrokenPipeError, OSError, ValueError):
                pass
        deadline = time.monotonic() + 2
        for worker in list(self._workers):
            try:
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        if self.keep_warm and exc[0] is None:
            return  # idle workers wait for the next run of this process (see shared())
        self.close()


_SHARED: dict[tuple, WorkerPool] = {}


def shared(size: int, timeout: float, memory_mb: float, startup_timeout: float, preload: tuple[str, ...] = ()) -> WorkerPool:
    """This process's warm pool for these workers and preloads: a second probe run in the same
    process (the Python API, an editor server, a test session) skips starting torch again.
    Time and memory limits travel with each task; workers end with the process (atexit)."""
    key = (size, preload)
    pool = _SHARED.get(key)
    if pool is None:
        pool = _SHARED[key] = WorkerPool(size, timeout, memory_mb, startup_timeout, preload, keep_warm=True)
    pool.timeout, pool.memory_mb, pool.startup_timeout = timeout, memory_mb, startup_timeout
    return pool


def close_shared() -> None:
    for pool in _SHARED.values():
        pool.close()
    _SHARED.clear()
