"""Process-wide settings for processes that are initlint's own (the command line and its
workers; never the Python API), kept free of libcst: a run whose files all come from the cache
never imports it (0.16 s of a 0.8 s cached run)."""

from __future__ import annotations

import sys

#: the cyclic GC's thresholds in initlint's own processes. libcst allocates a node object per
#: token and its trees hold no cycles, and every tree parsed stays alive for the run (a file is a
#: dependency of others), so each collection rescans trees that can never be garbage. Linting an
#: eighth of transformers' model folders in one process, collecting took 26% of the CPU time
#: with (10,000, 10, 10) and takes 16% with these, at the same peak memory (310 and 314 MB).
#: The evaluator's cyclic garbage (modules and their tensors point at each other) is still
#: collected; the oldest generation keeps CPython's threshold.
_GC_YOUNG = 100_000
_GC_MIDDLE = 20

#: whether tune_own_process ran: this process is initlint's own, its GC is ours to steer
_TUNED = False


def tune_own_process() -> None:
    """Make parsing cheaper in this process: a cyclic GC that runs less often, and no node
    validation of libcst's parser output (parsing.trust_parser_output, applied now if libcst
    is loaded, else when fixes first need it)."""
    import gc

    global _TUNED
    _TUNED = True
    if "libcst" in sys.modules:
        from initlint.parsing import trust_parser_output

        trust_parser_output()
    gc.freeze()  # what start-up allocated stays alive: no need to scan it again and again
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, _GC_YOUNG), max(middle, _GC_MIDDLE), old)


def is_own_process() -> bool:
    return _TUNED
