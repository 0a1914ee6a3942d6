"""Dynamic confirmation: the only part of initlint that imports torch, and only in workers.

``initlint.probe(model, example_input, **options)`` measures a model in this process (you pass
the model, so nothing foreign is imported) and returns a ``ModelReport``; the CLI's ``--probe``
and ``initlint probe`` run user code in worker processes instead (pool.py).
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    """Lets ``initlint.probe`` be both this package and the function of the Python API."""

    def __call__(self, model: Any, example_input: Any = None, **options: Any):
        from initlint.probe.measure import measure

        options.setdefault("learning_rate", True)

        if example_input is None:
            from initlint.probe.build import build_input

            example_input = build_input(model, options.pop("batch", 64), options.get("seed", 0))
        return measure(model, example_input, **options)


sys.modules[__name__].__class__ = _CallableModule
