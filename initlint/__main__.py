"""``python -m initlint`` and the ``initlint`` script: the command line, in a process of its own.

The process is tuned (tuning.py) before the command line's modules are imported: start-up
allocates tens of thousands of objects, none of them garbage, and with CPython's GC thresholds
the young generation is collected ~50 times while they import (1.5% of a one-file run's
instructions)."""

from __future__ import annotations


def main() -> None:
    import sys

    from initlint import prefork
    from initlint.tuning import tune_own_process

    tune_own_process()
    prefork.start(sys.argv[1:])  # the lint child imports the engine while click loads here
    from initlint.cli import run

    run()


if __name__ == "__main__":
    main()
