"""A stand-in for a module a class is given and only stores and calls.

``PreNorm(dim, fn)``, ``Residual(fn)`` and an RL head given its ``body`` take a module their
forward calls (``self.fn(x)``); nothing in the class says which module. When no caller in the
project passes one either, the probe builds the class with a pass-through module: it returns its
first tensor input unchanged and answers attribute reads by name as a stand-in config does
(``body.feature_dim``: 64). What is measured is then the class's own layers, and the note says
so. Runs only in the task child (imports torch).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from initlint.probe.construct import field_by_name


PASS_THROUGH_NOTE = "a pass-through stand-in module (it returns its input; attributes get sizes by name): only the class's own layers are measured"


class PassThrough(nn.Module):
    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        for value in (*args, *kwargs.values()):
            if isinstance(value, torch.Tensor):
                return value
        return args[0] if args else None

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name.startswith("_"):
                raise
        return field_by_name(self.label, name)

    def extra_repr(self) -> str:
        return self.label
