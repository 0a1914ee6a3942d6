"""A handful of files in one forked child, so a crash costs only the file it hit.

Linting a few files (pre-commit) is not worth a worker pool, but a parser crash there must not
take the other files' results with it. The child lints them one by one and sends each result
back through a pipe as soon as it is done; if it dies, the file it was on is ``lost`` and a new
child takes the rest. Only os and pickle: no pool machinery is imported for one file.
"""

from __future__ import annotations

import os
import pickle
from typing import BinaryIO, Callable, Sequence, TypeVar

from initlint import prefork

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_child(
    function: Callable[[Item], Result], items: Sequence[Item], lost: Callable[[Item], Result]
) -> list[Result]:
    """``[function(item) for item in items]`` in a forked child process, one result at a time
    through a pipe; if the child dies, the item it was on gets ``lost(item)`` and the rest go
    on in a new child. The first child is the one forked at start-up (prefork.py) when there
    is one; where there is no fork, simply in this process."""
    if not hasattr(os, "fork"):
        return [function(item) for item in items]
    results: list[Result] = []
    ready = prefork.take()
    while len(results) < len(items):
        start = len(results)
        if ready is not None:
            child, ready = ready, None
            stream = _started(child, function, items)
            if stream is None:
                continue  # it never started: a fresh child takes every item
            pid = child.pid
        else:
            pid, read_end = _fork(function, items[start:])
            stream = os.fdopen(read_end, "rb")
        with stream:
            while len(results) < len(items):
                try:
                    results.append(pickle.load(stream))
                except Exception:  # EOF or a result cut short: the child died
                    break
        os.waitpid(pid, 0)
        if len(results) < len(items):
            results.append(lost(items[len(results)]))
    return results


def _started(child: prefork.ReadyChild, function: Callable[[Item], Result], items: Sequence[Item]) -> BinaryIO | None:
    """Hand the start-up child all the work: the stream of its results once it says it has
    started on it; else None, the child reaped and nothing it was given lost."""
    if child.send((function, items)):
        stream = os.fdopen(child.results, "rb")
        child.results = -1  # the stream's now
        try:
            if pickle.load(stream) == prefork.STARTED:
                return stream
        except Exception:  # EOF: it died before it read its work (or could not unpickle it)
            pass
        stream.close()
    child.close()
    return None


def _fork(function: Callable[[Item], Result], items: Sequence[Item]) -> tuple[int, int]:
    """A child that sends back ``function(item)`` for each item: its pid and the pipe's read end."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        os.close(read_end)
        prefork.send_results(function, items, write_end)
    os.close(write_end)
    return pid, read_end
