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
        """Measure ``model`` here; without ``example_input`` the input is fitted as the CLI's."""
        from initlint.probe.measure import measure

        options.setdefault("learning_rate", True)
        batch = options.pop("batch", 64)
        if example_input is None:
            import time

            from initlint.probe.fitting import fit_inputs

            seed = options.get("seed", 0)
            fitted = fit_inputs(model, {}, {}, type(model).__name__, seed, time.monotonic() + 30)
            example_input, kwargs = fitted.make(batch, seed, options.get("device", "cpu"))
            options.setdefault("example_kwargs", kwargs)
        return measure(model, example_input, **options)


sys.modules[__name__].__class__ = _CallableModule
