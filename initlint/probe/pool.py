"""Worker processes for the probe, watched from the parent: time limit, memory cap, crashes.

The parent never imports torch or user code. Each worker is a fresh ``python -m
initlint.probe.worker`` process that imports torch once and serves several tasks in turn. A task that runs past its time limit, a worker whose
resident memory passes the cap, and a worker that dies (segfault, ``os._exit``) become error
results for that task; the worker is replaced and the other tasks go on.

Workers never outlive initlint. Each runs in a process group of its own, which is killed as a
whole (the processes user code started with it); on Linux the kernel kills a worker whose parent
dies, even by SIGKILL (``PR_SET_PDEATHSIG``, set by the worker itself), and elsewhere the worker
watches its parent. SIGTERM to initlint while a pool is open kills the groups, then initlint
dies of that same SIGTERM.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any


#: seconds a new worker may take to import torch before its first task's time starts (a busy
#: machine takes tens of seconds; a model's --probe-timeout must not pay for it)
STARTUP_S = 300.0


def _rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _death(exitcode: int | None) -> str:
    if exitcode is None:
        return "the worker stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the worker process crashed ({name})"
    return f"the worker process exited with code {exitcode}"


@dataclass
class _Worker:
    process: subprocess.Popen
    answers: "queue.Queue[dict[str, Any] | None]"
    task: int | None = None
    started: float = 0.0
    #: the worker has imported torch and said so: from then on a task's time is its own
    ready: bool = False

    def send(self, task: dict[str, Any] | None) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(task) + "\n")
        self.process.stdin.flush()


def _read_answers(stream, answers: "queue.Queue[dict[str, Any] | None]") -> None:
    """Reader thread: one JSON object per line from the worker; None when the pipe closes."""
    for line in stream:
        try:
            answers.put(json.loads(line))
        except json.JSONDecodeError:
            continue
    answers.put(None)


@dataclass
class WorkerPool:
    size: int = 1
    timeout: float = 60.0
    memory_mb: float = 4096.0
    _workers: list[_Worker] = field(default_factory=list)
    _previous_term: Any = None

    def _start(self) -> _Worker:
        """``python -m initlint.probe.worker``: a fresh interpreter (no fork of this process,
        no re-import of the caller's __main__), JSON lines over stdin/stdout."""
        process = subprocess.Popen(
            [sys.executable, "-m", "initlint.probe.worker", str(os.getpid())],
            start_new_session=True,  # a group of its own: killed whole, and no terminal's ^C
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        answers: queue.Queue = queue.Queue()
        threading.Thread(target=_read_answers, args=(process.stdout, answers), daemon=True).start()
        return _Worker(process, answers)

    def run(self, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Results in task order."""
        results: list[dict[str, Any] | None] = [None] * len(tasks)
        pending = list(range(len(tasks)))
        while pending or any(w.task is not None for w in self._workers):
            while pending and len([w for w in self._workers if w.task is not None]) < self.size:
                idle = next((w for w in self._workers if w.task is None), None)
                if idle is None:
                    idle = self._start()
                    self._workers.append(idle)
                index = pending.pop(0)
                try:
                    idle.send(tasks[index])
                except (BrokenPipeError, OSError):
                    self._retire(idle)
                    pending.insert(0, index)
                    continue
                idle.task, idle.started = index, time.monotonic()
            for worker in list(self._workers):
                if worker.task is not None:
                    self._watch(worker, tasks, results)
            time.sleep(0.01)
        return [r if r is not None else {"ok": False, "error": "no result"} for r in results]

    def _watch(self, worker: _Worker, tasks, results) -> None:
        index = worker.task
        timeout = float(tasks[index].get("timeout", self.timeout))
        try:
            answer = worker.answers.get_nowait()
        except queue.Empty:
            answer = False
        if isinstance(answer, dict) and answer.get("ready"):
            worker.ready, worker.started = True, time.monotonic()  # start-up is not the model's time
            return
        if answer:
            results[index] = answer
            worker.task = None
            return
        if answer is None or worker.process.poll() is not None:
            try:
                worker.process.wait(2)
            except subprocess.TimeoutExpired:
                pass
            results[index] = {"ok": False, "stage": "worker", "error": _death(worker.process.returncode)}
            self._retire(worker)
            return
        elapsed = time.monotonic() - worker.started
        if elapsed > timeout + (0.0 if worker.ready else STARTUP_S):
            results[index] = {
                "ok": False,
                "stage": "timeout",
                "error": f"no result after {timeout:g} s (--probe-timeout); the worker was stopped",
            }
            self._retire(worker)
            return
        rss = _rss_mb(worker.process.pid)
        if rss is not None and rss > self.memory_mb:
            results[index] = {
                "ok": False,
                "stage": "memory",
                "error": f"the worker used {rss:.0f} MiB, above the {self.memory_mb:g} MiB cap "
                "(--probe-memory); it was stopped",
            }
            self._retire(worker)

    def _retire(self, worker: _Worker) -> None:
        _kill_group(worker.process)
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
        self._workers.remove(worker)

    def close(self) -> None:
        for worker in list(self._workers):
            try:
                worker.send(None)
            except (BrokenPipeError, OSError, ValueError):
                pass
            try:
                worker.process.wait(2)
            except subprocess.TimeoutExpired:
                pass
            self._retire(worker)

    def kill(self) -> None:
        """Stop every worker and its group now (initlint is being interrupted)."""
        for worker in list(self._workers):
            self._retire(worker)

    def __enter__(self) -> "WorkerPool":
        self._previous_term = _raise_on_sigterm()
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is None:
                self.close()
            else:  # ^C, SIGTERM or a bug: no time for goodbyes
                self.kill()
        finally:
            if self._previous_term is not None:
                signal.signal(signal.SIGTERM, self._previous_term)
        if kind is _Terminated:  # die of the signal, as without a pool
            os.kill(os.getpid(), signal.SIGTERM)


class _Terminated(BaseException):
    """SIGTERM arrived while a pool was open."""


def _raise_on_sigterm():
    """Turn SIGTERM into _Terminated (so the pool's exit runs); the previous handler, or None
    where handlers cannot be set (not the main thread)."""

    def handler(number, frame):
        raise _Terminated()

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return None


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the worker's process group (its pid: start_new_session), then the worker."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        pass
    if process.poll() is None:
        process.kill()
