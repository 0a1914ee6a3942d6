"""Many files through worker processes: same order as given, largest first, none lost to a crash.

Workers take the most expensive items first (longest-processing-time-first), so they finish
together instead of one waiting on a big model file at the end; results come back in the order
of the input. A worker can die on a file: a parser crash the deep-code guard did not foresee, the
kernel's OOM killer. The pool then fails for every file in flight. The files that did finish keep
their results; the others are run again one at a time, each in a fresh single worker, so the file
that kills its worker is named (``lost``) and every other file is still linted. The engine
imports this module only when it starts workers (start-up matters for the one-file case).
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Sequence, TypeVar

from initlint.parsing import tune_own_process

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_workers(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    jobs: int,
    cost: Callable[[Item], int],
    lost: Callable[[Item], Result],
) -> list[Result]:
    """``[function(item) for item in items]``, computed by ``jobs`` worker processes.

    ``function`` must pickle (a module-level function or a ``functools.partial`` of one);
    ``cost(item)`` orders the work; ``lost(item)`` is the result for an item whose worker died.
    """
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    order = sorted(range(len(items)), key=lambda i: -cost(items[i]))
    chunk = max(1, min(16, len(items) // (jobs * 8)))
    results: dict[int, Result] = {}
    try:
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=tune_own_process) as pool:
            for index, result in zip(order, pool.map(function, [items[i] for i in order], chunksize=chunk)):
                results[index] = result
    except BrokenProcessPool:
        left = [i for i in order if i not in results]
        for index, result in zip(left, _one_at_a_time(function, [items[i] for i in left], context, lost)):
            results[index] = result
    return [results[i] for i in range(len(items))]


def _one_at_a_time(function, items, context, lost) -> list:
    """Each item in a single worker; a worker that dies takes only its own item with it."""
    results = []
    pool = None
    try:
        for item in items:
            if pool is None:
                pool = ProcessPoolExecutor(1, mp_context=context, initializer=tune_own_process)
            try:
                results.append(pool.submit(function, item).result())
            except BrokenProcessPool:
                results.append(lost(item))
                pool.shutdown(wait=True)
                pool = None
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return results
