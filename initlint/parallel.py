"""Many files through worker processes: same order as given, largest first, none lost to a crash.

Workers take the most expensive items first (longest-processing-time-first), so they finish
together instead of one waiting on a big model file at the end; results come back in the order
of the input. Items of one group (the files of one folder) go to the same worker, largest group
first: a file's imports are mostly its neighbours (a model's configuration and modeling files),
and a worker parses each file it reads once, so neighbours split across workers would be parsed
once in each. A worker can die on a file: a parser crash the deep-code guard did not foresee, the
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
from functools import partial
from typing import Callable, Hashable, Sequence, TypeVar

from initlint.tuning import tune_own_process

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_workers(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    jobs: int,
    cost: Callable[[Item], int],
    lost: Callable[[Item], Result],
    group: Callable[[Item], Hashable] | None = None,
) -> list[Result]:
    """``[function(item) for item in items]``, computed by ``jobs`` worker processes.

    ``function`` must pickle (a module-level function or a ``functools.partial`` of one);
    ``cost(item)`` orders the work; ``lost(item)`` is the result for an item whose worker died;
    items with the same ``group(item)`` are run by one worker, one after the other.
    """
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    costs = [cost(item) for item in items]
    batches = _batches(items, costs, jobs, group)
    results: dict[int, Result] = {}
    try:
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=tune_own_process) as pool:
            work = pool.map(partial(_run_batch, function), [[items[i] for i in batch] for batch in batches])
            for batch, outcome in zip(batches, work):
                results.update(zip(batch, outcome))
    except BrokenProcessPool:
        left = [i for batch in batches for i in batch if i not in results]
        for index, result in zip(left, _one_at_a_time(function, [items[i] for i in left], context, lost)):
            results[index] = result
    return [results[i] for i in range(len(items))]


def _batches(items: Sequence[Item], costs: list[int], jobs: int, group) -> list[list[int]]:
    """Indices of ``items`` in the batches a worker takes whole, the costliest batch first.

    Without ``group``, up to 16 items of similar cost per batch (fewer round trips). With it,
    one batch per group, largest item first inside it; a group costing more than an eighth of
    a worker's share is cut into such pieces, so that no batch keeps one worker busy long after
    the others are done."""
    order = sorted(range(len(items)), key=lambda i: -costs[i])
    if group is None:
        chunk = max(1, min(16, len(items) // (jobs * 8)))
        return [order[start:start + chunk] for start in range(0, len(order), chunk)]
    limit = max(1, sum(costs) // (jobs * 8))
    groups: dict[Hashable, list[int]] = {}
    for index in order:
        groups.setdefault(group(items[index]), []).append(index)
    batches: list[list[int]] = []
    for members in groups.values():
        batch: list[int] = []
        total = 0
        for index in members:
            if batch and total + costs[index] > limit:
                batches.append(batch)
                batch, total = [], 0
            batch.append(index)
            total += costs[index]
        batches.append(batch)
    batches.sort(key=lambda batch: -sum(costs[i] for i in batch))
    return batches


def _run_batch(function: Callable[[Item], Result], batch: list[Item]) -> list[Result]:
    return [function(item) for item in batch]


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
