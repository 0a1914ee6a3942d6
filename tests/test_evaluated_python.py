"""Python the engine evaluates as Python would, where a model's sizes depend on it: a value it
decides gives per-layer numbers, so a bad init there is flagged with them."""

from __future__ import annotations

from pathlib import Path

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


CAST_AND_WRAPPED = '''
import torch
import torch.nn as nn


class Registry(nn.Module):
    def register_parameter(self, name, parameter):
        super().register_parameter(name, parameter)

    def check(self, name):
        if name not in self._parameters:
            raise RuntimeError("no such parameter")


class Wrapped(Registry):
    def __init__(self, dim=512):
        super().__init__()
        self.register_parameter("weight", nn.Parameter(torch.randn(dim, dim)))
        self.check("weight")

    def forward(self, x):
        return torch.tanh(x @ self.weight)


class Cast(nn.Module):
    def __init__(self, d_in=64, d_out=1024):
        super().__init__()
        self.w = nn.Parameter(torch.randn(d_in, d_out))

    def forward(self, x):
        return x @ self.w.to(x.dtype)
'''


def test_torchs_own_method_reached_through_super_registers_the_parameter():
    # Registry.register_parameter calls torch's through super(): the parameter exists, so the
    # check passes, the model builds, and N(0, 1) at fan-in 512 is flagged on the made tensor
    findings = check_source(CAST_AND_WRAPPED, "m.py")
    assert [(f.code, f.location.line) for f in findings] == [("IL202", 18), ("IL202", 28)]
    assert findings[0].message == (
        "N(0, 1^2) on `torch.randn(dim, dim)` (`weight`) gives E[W^2] = 1; at fan-in 512 the variance "
        "gain is 512 per layer (std x23); PyTorch's default gives 0.33"
    )


def test_a_cast_weight_keeps_its_shape_in_a_matmul():
    # ``x @ w.to(dtype)`` multiplies by w of shape (64, 1024): fan-in 64 (a transposed shape
    # would say 1024)
    finding = check_source(CAST_AND_WRAPPED, "m.py")[1]
    assert finding.message == (
        "N(0, 1^2) on `torch.randn(d_in, d_out)` (`w`) gives E[W^2] = 1; at fan-in 64 the variance "
        "gain is 64 per layer (std x8); PyTorch's default gives 0.33"
    )


CONTIGUOUS = '''
import torch
import torch.nn as nn


class Mean(nn.Module):
    def __init__(self, batch=4, dim=8):
        super().__init__()
        self.constant = nn.Parameter(torch.zeros(batch, 1))
        self.table = nn.Parameter(torch.randn(dim, dim) * 0.02)
        with torch.no_grad():
            self.table.contiguous()[0] = 0.0

    def forward(self, x):
        mean = self.constant.unsqueeze(-1).expand(4, 3, 2).contiguous()
        mean[..., 1:] = 0
        row = self.table.contiguous()
        row[0] = 1.0
        return mean.sum() + x @ self.table
'''


def test_contiguous_of_a_view_may_copy_and_of_a_parameter_returns_it():
    # after expand, contiguous() may be a copy: the write into it is no established in-place
    # write to the parameter; a parameter is contiguous, so its contiguous() is the parameter
    (finding,) = check_source(CONTIGUOUS, "m.py")
    assert (finding.code, finding.location.line) == ("IL502", 18)
    assert finding.message == (
        "`row[0]` writes in place to `row[0]` (`table`), a parameter (a leaf tensor that requires grad), "
        "outside torch.no_grad(): PyTorch raises \"a leaf Variable that requires grad is being used in an "
        "in-place operation\" when this runs"
    )


SIGMOID_MLP = '''
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self, dims=(64, 64, 64), activation=nn.Sigmoid, init_func=nn.init.normal_):
        super().__init__()
        layers = []
        for a, b in zip(dims[:-1], dims[1:]):
            layer = nn.Linear(a, b)
            init_func(layer.weight)
            layers += [layer, activation()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)
'''


def test_gains_do_not_compound_across_a_bounded_activation():
    # N(0, 1) at fan-in 64 explodes each layer's pre-activation, but a sigmoid's output lies in
    # (0, 1): the next layer gets a bounded input, so no "x4096 over 2 layers"
    findings = check_source(SIGMOID_MLP, "mlp.py")
    assert [(f.code, f.location.line) for f in findings] == [("IL202", 11)]
    assert findings[0].message == (
        "N(0, 1^2) on `layer.weight` (`model.0.weight`) gives E[W^2] = 1; at fan-in 64 (a) the variance gain "
        "is 64 per layer (std x8); PyTorch's default gives 0.33"
    )
    relu = check_source(SIGMOID_MLP.replace("activation=nn.Sigmoid", "activation=nn.ReLU"), "mlp.py")
    assert [(f.code, f.location.line) for f in relu] == [("IL202", 11)]
    assert "x1024 over 2 layers (`model.0`, `model.2`) with no normalization between them" in relu[0].message


def test_a_library_base_imported_before_a_class_cannot_derive_from_it():
    # Block's base comes from a library outside the project; the import ran before Gate existed,
    # so a Block is no Gate and the walk's Gate branch does not run on it: std 1 at fan-in 512
    # is flagged. LateBlock's base was imported after LateGate existed: that stays open.
    from conftest import FIXTURES

    text = (FIXTURES / "library_base_guards.py").read_text(encoding="utf-8")
    (finding,) = check_source(text, "library_base_guards.py")
    assert (finding.code, finding.location.line) == ("IL202", 41)
    assert finding.message == (
        "N(0, 1^2) on `m.proj.weight` (`blocks.0.proj.weight`) gives E[W^2] = 1; at fan-in 512 (dim) "
        "the variance gain is 512 per layer (std x23); PyTorch's default gives 0.33"
    )


LIBRARY_SUBCLASS = '''
import torch.nn as nn
from fancylib import Layer


class Norm(nn.Module):
    pass


class Block(Layer):
    pass


ORDER = (issubclass(Block, Norm), issubclass(Block, Layer))
if ORDER == (False, True):
    WIDTH = 512
else:
    WIDTH = 8


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(WIDTH, WIDTH)
        nn.init.normal_(self.fc.weight, std=1.0)

    def forward(self, x):
        return self.fc(x)
'''


def test_issubclass_of_a_class_made_after_the_library_base_is_decided():
    # issubclass(Block, Norm) is False for the same reason: WIDTH is 512, and N(0, 1) there explodes
    (finding,) = check_source(LIBRARY_SUBCLASS, "m.py")
    assert finding.message == (
        "N(0, 1^2) on `self.fc.weight` gives E[W^2] = 1; at fan-in 512 (WIDTH) the variance gain is 512 "
        "per layer (std x23); PyTorch's default gives 0.33"
    )
    late = LIBRARY_SUBCLASS.replace("from fancylib import Layer\n", "").replace(
        "class Block(Layer):", "from fancylib import Layer\n\n\nclass Block(Layer):"
    )
    # imported after Norm exists, the library's Layer may derive from Norm: WIDTH is open
    assert check_source(late, "m.py") == []


UNSCALED_HEAD = '''
import torch.nn as nn


class Head(nn.Module):
    def __init__(self, dim=512, vocab=1000):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        nn.init.normal_(self.lm_head.weight, std=1.0)

    def forward(self, x):
        return self.lm_head(self.norm(x) * SCALE)
'''


def test_a_constant_scaling_of_the_input_counts_in_the_layers_gain():
    # d_model ** -0.5 before an N(0, 1) projection of fan-in 512 gives a gain of 1 (fixture
    # RescaledOutputHead); 0.5 before it leaves 512 / 4 = 128
    assert check_source(UNSCALED_HEAD.replace("SCALE", "512 ** -0.5"), "m.py") == []
    (finding,) = check_source(UNSCALED_HEAD.replace("SCALE", "0.5"), "m.py")
    assert finding.message == (
        "N(0, 1^2) on `self.lm_head.weight` gives E[W^2] = 1; at fan-in 512 (dim) the variance gain is "
        "128 per layer (std x11); PyTorch's default gives 0.33"
    )


DECORATED_INIT = '''
import functools

import torch.nn as nn


def register_to_config(init):
    @functools.wraps(init)
    def inner_init(self, *args, **kwargs):
        init_kwargs = {k: v for k, v in kwargs.items() if not k.startswith("_")}
        self._internal_dict = dict(init_kwargs)
        init(self, *args, **init_kwargs)

    return inner_init


class MLP(nn.Module):
    @register_to_config
    def __init__(self, width=512, depth=3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        for layer in self.layers:
            nn.init.normal_(layer.weight, std=1.0)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x).relu()
        return x
'''


def test_a_decorator_of_the_project_that_wraps_init_is_run():
    # diffusers' @register_to_config: the decorator returns a function that calls __init__, so
    # the model is built through it and its layers have sizes
    (finding,) = check_source(DECORATED_INIT, "mlp.py")
    assert (finding.code, finding.location.line) == ("IL202", 23)
    assert finding.message == (
        "N(0, 1^2) on `layer.weight` (`layers.0.weight`) gives E[W^2] = 1; "
        "at fan-in 512 (width) the variance gain is 512 per layer (std x23), x1.7e7 over 3 layers (`layers.*` x3) with "
        "no normalization between them; PyTorch's default gives 0.33"
    )


def test_a_decorator_factory_of_the_project_is_run():
    text = DECORATED_INIT.replace("def register_to_config(init):", "def configured(name):\n  def register_to_config(init):")
    text = text.replace("    @functools.wraps(init)\n    def inner_init", "    @functools.wraps(init)\n    def inner_init")
    text = text.replace("    return inner_init\n", "    return inner_init\n  return register_to_config\n")
    text = text.replace("    @register_to_config\n", "    @configured('mlp')\n")
    (finding,) = check_source(text, "mlp.py")
    assert (finding.code, finding.location.line) == ("IL202", 25)


def test_a_decorator_that_returns_no_function_leaves_the_method_open():
    # what a decorator returning something else makes of __init__ is unknown: no model, no finding
    text = DECORATED_INIT.replace("    return inner_init\n", "    return None\n")
    assert check_source(text, "mlp.py") == []


def test_a_decorator_past_its_steps_leaves_the_method_open_and_the_file_linted(monkeypatch):
    # the decorator's own steps are counted apart from the module body's: past them the method
    # is left open (no model, no finding), and the rest of the file is still evaluated
    from initlint.model.interp import calls

    second = DECORATED_INIT.replace("class MLP(nn.Module):", "class Plain(nn.Module):").replace(
        "    @register_to_config\n", "")
    text = DECORATED_INIT + second.split("import torch.nn as nn\n", 1)[1].split("return inner_init\n", 1)[1]
    assert [(f.code, f.location.line) for f in check_source(text, "mlp.py")] == [("IL202", 23), ("IL202", 36)]
    monkeypatch.setattr(calls, "DECORATOR_BUDGET", 2)
    assert [(f.code, f.location.line) for f in check_source(text + "# again\n", "mlp.py")] == [("IL202", 36)]


def test_a_decorator_past_its_steps_is_not_run_again_in_the_file(monkeypatch):
    # transformers' @auto_docstring on every forward: once it has run out of its steps, the next
    # method it decorates is left open at once instead of spending them again
    from initlint.model.interp import calls

    ran = []
    original = calls.Calls.call_function

    def counting(self, function, args, kwargs, place, open_=False):
        if function.name == "register_to_config":
            ran.append(function.name)
        return original(self, function, args, kwargs, place, open_)

    monkeypatch.setattr(calls.Calls, "call_function", counting)
    second = DECORATED_INIT.replace("class MLP(nn.Module):", "class Wide(nn.Module):")
    text = DECORATED_INIT + second.split("return inner_init\n", 1)[1] + "# twice\n"
    assert [f.code for f in check_source(text, "mlp.py")] == ["IL202", "IL202"]
    assert len(ran) == 2  # each class body applies it once
    ran.clear()
    monkeypatch.setattr(calls, "DECORATOR_BUDGET", 2)
    assert check_source(text + "# past its steps\n", "mlp.py") == []
    assert len(ran) == 1


DECORATED_ELSEWHERE = '''
import torch.nn as nn
from .compat import dataclass
from .registry import register


@dataclass
class Cfg:
    width: int = 64


@register
def make(width):
    return nn.Linear(width, width)


@register
class Net(nn.Module):
    def __init__(self, cfg=Cfg(width=512)):
        super().__init__()
        self.fc = nn.Linear(cfg.width, cfg.width)
        nn.init.normal_(self.fc.weight, std=1.0)

    def forward(self, x):
        return self.fc(x)
'''


def test_a_decorator_from_another_file_is_loaded_only_when_its_name_is_asked_about(tmp_path):
    """A class's and a module-level function's decorators are only asked whether they are a
    library's (``dataclass``, ``torch.no_grad``, ...): a project decorator's file is not
    loaded for that, a re-export under such a name is."""
    from initlint.config import Settings
    from initlint.engine import lint_text, rules_for

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "compat.py").write_text("from dataclasses import dataclass\n")
    (package / "registry.py").write_text("MODELS = {}\n\n\ndef register(obj):\n    MODELS[obj.__name__] = obj\n    return obj\n")
    model = package / "model.py"
    model.write_text(DECORATED_ELSEWHERE)
    settings = Settings()

    result = lint_text(model.read_text(), str(model), rules_for(settings), settings)

    (finding,) = result.findings
    assert (finding.code, finding.location.line) == ("IL202", 22)
    assert "at fan-in 512 (cfg.width)" in finding.message  # Cfg(width=512): the dataclass's __init__
    assert sorted(Path(path).name for path in result.dependencies) == ["compat.py"]
