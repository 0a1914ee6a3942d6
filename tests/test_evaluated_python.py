"""Python the engine evaluates as Python would, where a model's sizes depend on it: a value it
decides gives per-layer numbers, so a bad init there is flagged with them."""

from __future__ import annotations

from initlint import check_source

CONFIGURED = '''
from collections.abc import Sequence
from typing import cast

import torch.nn as nn


class Config:
    def __init__(self, dims):
        self.dims = dims

    @classmethod
    def default(cls):
        return cls(dims=[512, 512, 512, 512])


class MLP(nn.Module):
    def __init__(self, dims=None):
        super().__init__()
        dims = Config.default().dims if dims is None else dims
        sizes = list(dims) if isinstance(dims, Sequence) else [dims] * 4
        self.layers = nn.ModuleList(
            [nn.Linear(cast(int, a), cast(int, b)) for a, b in zip(sizes[:-1], sizes[1:])]
        )
        for layer in self.layers:
            nn.init.normal_(layer.weight, std=1.0)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x).relu()
        return x
'''


def test_a_classmethod_an_abstract_isinstance_and_a_cast_are_evaluated():
    # Config.default() binds the class as ``cls``; isinstance(list, Sequence) is True; cast(int, a)
    # is a: the three Linear(512, 512) layers are known, and N(0, 1) on them explodes
    (finding,) = check_source(CONFIGURED, "mlp.py")
    assert (finding.code, finding.location.line) == ("IL202", 26)
    assert finding.message == (
        "N(0, 1^2) on `layer.weight` (`layers.0.weight`) gives E[W^2] = 1; "
        "at fan-in 512 (cast(int, a)) the variance gain is 512 per layer (std x23), x1.7e7 over 3 layers (`layers.*` x3) with "
        "no normalization between them; PyTorch's default gives 0.33"
    )


def test_an_isinstance_the_engine_cannot_decide_stays_unknown():
    # a value from outside (an argument with no default) is no list the engine knows: no sizes
    text = CONFIGURED.replace("def __init__(self, dims=None):", "def __init__(self, dims):")
    assert check_source(text, "mlp.py") == []


GUARDED_IMPORT = '''
import torch.nn as nn
from somewhere import is_accelerate_available

if is_accelerate_available():
    from accelerate.hooks import add_hook_to_module

SIZE = 512


class MLP(nn.Module):
    def __init__(self, dim=SIZE):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)
        nn.init.normal_(self.fc1.weight, std=1.0)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
'''


def test_definitions_after_an_undecided_module_level_if_are_evaluated():
    # the ``if`` cannot be decided (a function from outside), so both branches run and their
    # names are joined; the module's namespace keeps what follows (SIZE, MLP)
    (finding,) = check_source(GUARDED_IMPORT, "mlp.py")
    assert (finding.code, finding.location.line) == ("IL202", 16)
    assert finding.message == (
        "N(0, 1^2) on `self.fc1.weight` gives E[W^2] = 1; at fan-in 512 (dim) the variance gain is 512 per layer "
        "(std x23); PyTorch's default gives 0.33"
    )


def test_a_name_bound_in_one_branch_of_an_undecided_module_level_if_is_unknown():
    # SIZE exists only if the condition held: its value is not known, so neither is the fan-in
    text = GUARDED_IMPORT.replace("    from accelerate.hooks import add_hook_to_module\n\nSIZE = 512",
                                  "    SIZE = 512")
    assert check_source(text, "mlp.py") == []
