"""The import and build stages on real layouts: sizes used as sequences elsewhere, a
constructor's own asserts, downloads (offline), modules found where the project's layout puts
them, and a library module that was made private."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import types
import urllib.error
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
pytestmark = pytest.mark.probe

from initlint.probe.construct import BuildError, build  # noqa: E402
from initlint.probe.offline import OFFLINE_ENV, go_offline, network_reason  # noqa: E402
from initlint.probe.pool import close_shared  # noqa: E402


def _module(tmp_path: Path, name: str, source: str) -> types.ModuleType:
    """A module written to a file (the probe reads constructors' source; ``inspect`` finds a
    class's file through ``sys.modules``, so the module stays there under its unique name)."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    sys.path.insert(0, str(tmp_path))
    try:
        __import__(name)
    finally:
        sys.path.remove(str(tmp_path))
    return sys.modules[name]


WINDOWS = '''
import torch.nn as nn


class Merge(nn.Module):
    """Swin's PatchMerging: the resolution is stored, and unpacked only in forward."""

    def __init__(self, input_resolution, dim):
        super().__init__()
        self.input_resolution = input_resolution
        self.reduction = nn.Linear(4 * dim, 2 * dim)

    def forward(self, x):
        H, W = self.input_resolution
        return self.reduction(x.view(x.shape[0], H // 2, W // 2, -1))


class Block(nn.Module):
    def __init__(self, dim, input_resolution, window_size=7):
        super().__init__()
        self.input_resolution = input_resolution
        self.window_size = window_size
        if min(self.input_resolution) <= self.window_size:
            self.window_size = min(self.input_resolution)
        self.fc = nn.Linear(dim, dim)


class Layer(nn.Module):
    """Only passes the resolution on: the block it is passed to says it is a pair."""

    def __init__(self, dim, input_resolution, depth):
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim, input_resolution=input_resolution) for _ in range(depth)])


def pair(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x, x)


class Stem(nn.Module):
    """A helper that takes either kind says nothing: the size stays a number."""

    def __init__(self, width):
        super().__init__()
        self.size = pair(width)
        self.fc = nn.Linear(width, width)
'''


def test_a_size_iterated_in_another_method_or_by_the_layer_it_is_passed_to_is_a_sequence(tmp_path):
    windows = _module(tmp_path, "windows", WINDOWS)
    assert build(windows.Merge, {}, "Merge").assumed == {"input_resolution": [32, 32], "dim": 64}
    assert build(windows.Block, {}, "Block").assumed == {"dim": 64, "input_resolution": [32, 32]}
    assert build(windows.Layer, {}, "Layer").assumed == {"dim": 64, "input_resolution": [32, 32], "depth": 2}


def test_a_size_passed_to_a_helper_that_takes_either_kind_stays_a_number(tmp_path, monkeypatch):
    windows = _module(tmp_path, "windows_helper", WINDOWS)
    # the helper counts as a library's when its code lives in site-packages
    monkeypatch.setattr(windows.pair, "__code__", windows.pair.__code__.replace(co_filename="/x/site-packages/lib/pair.py"))
    assert build(windows.Stem, {}, "Stem").assumed == {"width": 64}


ASSERTS = '''
import torch.nn as nn


class WideNet(nn.Module):
    def __init__(self, depth, num_classes, widen_factor=1):
        super().__init__()
        assert (depth - 4) % 6 == 0
        n = (depth - 4) // 6
        self.body = nn.Sequential(*[nn.Linear(16, 16) for _ in range(n)])
        self.fc = nn.Linear(16, num_classes)


class Grouped(nn.Module):
    def __init__(self, in_features, out_features, groups=1):
        super().__init__()
        assert groups > 1
        self.layer = nn.Conv1d(in_features, out_features, kernel_size=1, groups=groups)


class SamePad(nn.Module):
    def __init__(self, in_channels, image_size=None, opt=None):
        super().__init__()
        assert image_size is not None
        self.pad = image_size // 8
        self.conv = nn.Conv2d(in_channels, 8, 3)


class Called(nn.Module):
    def __init__(self, depth):
        super().__init__()
        assert check(depth)


def check(depth):
    return depth > 100
'''


def test_a_constructor_assert_on_an_assumed_or_default_value_gets_the_nearest_value_it_allows(tmp_path):
    nets = _module(tmp_path, "asserting", ASSERTS)
    wide = build(nets.WideNet, {}, "WideNet")
    assert wide.assumed == {"depth": 10, "num_classes": 10}  # 4 holds too, but builds no blocks
    assert wide.notes[-1] == "`depth` 2->10: the nearest value the constructor's `assert (depth - 4) % 6 == 0` (line 8) allows"
    assert len(wide.model.body) == 1
    grouped = build(nets.Grouped, {}, "Grouped")
    assert grouped.model.layer.groups == 2
    assert grouped.notes[-1] == "`groups` 1->2: the nearest value the constructor's `assert groups > 1` (line 17) allows"
    with pytest.raises(AssertionError):  # the user's value is kept, and the assert stands
        build(nets.Grouped, {"groups": 1}, "Grouped")
    with pytest.raises(AssertionError):  # a test that calls the project's own function is not evaluated
        build(nets.Called, {}, "Called")


def test_a_parameter_the_constructor_asserts_is_not_none_is_required(tmp_path):
    nets = _module(tmp_path, "asserting_none", ASSERTS)
    built = build(nets.SamePad, {}, "SamePad")
    assert built.assumed == {"in_channels": 3, "image_size": 32}  # ``opt`` is not asserted: its None stays
    assert built.model.pad == 4


DOWNLOADS = '''
import urllib.request

import torch.nn as nn


def fetch():
    urllib.request.urlopen("https://example.invalid/weights.pth")


class Backbone(nn.Module):
    def __init__(self, requires_grad=False, pretrained=True):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        if pretrained:
            fetch()


class Fixed(nn.Module):
    def __init__(self):
        super().__init__()
        fetch()
'''


def test_a_download_switch_is_turned_off_and_a_download_without_one_costs_one_line(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    nets = _module(tmp_path, "downloads", DOWNLOADS)
    built = build(nets.Backbone, {}, "Backbone")
    assert built.notes == ["built with pretrained=False: with its default the constructor downloads weights, "
                           "and the probe measures the init"]
    with pytest.raises(BuildError) as error:
        build(nets.Fixed, {}, "Fixed")
    assert str(error.value) == (
        "needs the network ([Errno -2] Name or service not known): its constructor downloads files, and the probe "
        "runs offline (it measures the code's own init); pass a factory that builds it without the download"
    )


def test_network_errors_are_recognised_through_their_causes_and_offline_keeps_the_users_choice(monkeypatch):
    hub = OSError("We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them in the cached files.")
    assert network_reason(hub) == "needs the network (https://huggingface.co, not in the local cache)"
    try:
        try:
            raise urllib.error.URLError("no route")
        except urllib.error.URLError as inner:
            raise RuntimeError("load failed") from inner
    except RuntimeError as outer:
        assert network_reason(outer) == "needs the network (no route)"
    assert network_reason(ValueError("shape mismatch")) is None
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    for name in OFFLINE_ENV[1:]:
        monkeypatch.delenv(name, raising=False)
    go_offline()
    assert [os.environ[n] for n in OFFLINE_ENV] == ["0", "1", "1"]


NET = '''
import torch.nn as nn

{imports}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.extra = {extra}

    def forward(self, x):
        return self.fc(x)
'''


def test_a_module_in_a_folder_between_the_file_and_the_project_root_is_found(cli, tmp_path):
    """``seg/backbone/net.py`` imports ``helpers``, which lives in ``seg/helpers/``: the
    repository runs that part from ``seg/``."""
    root = tmp_path / "repo"
    (root / "seg" / "backbone").mkdir(parents=True)
    (root / "seg" / "helpers").mkdir()
    (root / "LICENSE").write_text("MIT\n")
    (root / "seg" / "helpers" / "__init__.py").write_text("SCALE = 2\n")
    (root / "seg" / "backbone" / "net.py").write_text(NET.format(imports="from helpers import SCALE", extra="SCALE"))
    result = cli(["probe", "--device", "cpu", "--format", "json", "seg/backbone/net.py:Net"], root)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["notes"][0] == (
        "import: `helpers` is in seg/, put on sys.path (the folder the repository runs that part from)"
    )


@pytest.mark.slow
def test_a_library_module_made_private_is_imported_under_its_old_name(cli, tmp_path, monkeypatch):
    """timm 0.9 renamed ``timm.models.efficientnet_blocks`` to ``_efficientnet_blocks``; code
    written for the old layout imports the old name."""
    library = tmp_path / "site" / "zoolib" / "models"
    library.mkdir(parents=True)
    (library.parent / "__init__.py").write_text("__version__ = '2.0'\n")
    (library / "__init__.py").write_text("")
    (library / "_blocks.py").write_text("WIDTH = 3\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "LICENSE").write_text("MIT\n")
    (root / "net.py").write_text(NET.format(imports="from zoolib.models.blocks import WIDTH", extra="WIDTH"))
    close_shared()  # the library is installed for a fresh worker only, and gone after this test
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    try:
        result = cli(["probe", "--device", "cpu", "--format", "json", "net.py:Net"], root)
    finally:
        close_shared()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["notes"][0] == (
        "import: `zoolib.models.blocks` is `zoolib.models._blocks` in the installed zoolib 2.0 (made private there); "
        "imported under the old name"
    )


SIZES = '''
import numpy as np
import torch.nn as nn


class GroupNormed(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.norm = nn.GroupNorm(32, channels)


def mlp(sizes, activation):
    layers = []
    for j in range(len(sizes) - 1):
        act = activation if j < len(sizes) - 2 else nn.Identity
        layers += [nn.Linear(sizes[j], sizes[j + 1]), act()]
    return nn.Sequential(*layers)


class Actor(nn.Module):
    def __init__(self, obs_dim, act_dim, activation):
        super().__init__()
        self.pi = mlp([obs_dim, 32, act_dim], activation)


class Critic(nn.Module):
    def __init__(self, obs_dim=4, act_dim=2, activation=nn.ReLU):
        super().__init__()
        self.pi = Actor(obs_dim, act_dim, activation)
        self.q = QFunction(obs_dim, act_dim, activation)


class QFunction(nn.Module):
    """The sizes list is built around the number, then passed: the number stays a number."""

    def __init__(self, obs_dim, act_dim, activation):
        super().__init__()
        sizes = [obs_dim + act_dim] + [32]
        self.q = mlp(sizes + [1], activation)


class AtariNet(nn.Module):
    def __init__(self, c, h, w, action_shape):
        super().__init__()
        self.conv = nn.Conv2d(c, 8, 3)
        self.fc = nn.Linear(8 * (h - 2) * (w - 2), int(np.prod(action_shape)))


class GPTBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.drop = nn.Dropout(cfg.attn_pdrop)
        self.fc = nn.Linear(cfg.n_embd, cfg.n_embd)
'''


def test_a_layers_divisibility_check_raises_an_assumed_size_to_the_nearest_multiple(tmp_path):
    nets = _module(tmp_path, "sizes_divisible", SIZES)
    built = build(nets.GroupNormed, {}, "GroupNormed")
    assert built.model.norm.num_channels == 32
    assert built.notes[-1] == ("`channels` 3->32: a layer needs it divisible by 32 (ValueError: num_channels (3) "
                               "must be divisible by num_groups (32))")
    with pytest.raises(ValueError):  # the user's value stays
        build(nets.GroupNormed, {"channels": 3}, "GroupNormed")


def test_an_argument_a_helper_calls_is_never_a_number_and_names_give_sizes(tmp_path):
    nets = _module(tmp_path, "sizes_names", SIZES)
    actor = build(nets.Actor, {}, "Actor")
    assert actor.assumed["activation"] == "ReLU"  # what Critic passes, not 0
    assert build(nets.QFunction, {}, "QFunction").assumed == {"obs_dim": 64, "act_dim": 10, "activation": "ReLU"}
    assert build(nets.AtariNet, {}, "AtariNet").assumed == {"c": 64, "h": 64, "w": 64, "action_shape": [8, 8]}  # np.prod iterates it
    block = build(nets.GPTBlock, {}, "GPTBlock")
    assert block.model.drop.p == 0.0 and block.model.fc.in_features == 64


@pytest.mark.slow
def test_a_missing_package_imported_at_the_top_of_a_project_module_gets_a_stand_in_that_fails_when_used(cli, tmp_path):
    """A normalizer imports ``baselines``, which is not installed; the network never uses it.
    A class that does use the missing package fails with a line that names it."""
    root = tmp_path / "rl"
    (root / "rl" / "utils").mkdir(parents=True)
    (root / "setup.py").write_text("")
    (root / "rl" / "__init__.py").write_text("")
    (root / "rl" / "utils" / "__init__.py").write_text("from .normalizer import RunningNorm\n")
    (root / "rl" / "utils" / "normalizer.py").write_text(
        "from a_missing_rl_library.common.running_mean_std import RunningMeanStd\n\n\n"
        "class RunningNorm:\n    def __init__(self):\n        self.rms = RunningMeanStd()\n"
    )
    (root / "rl" / "nets.py").write_text(textwrap.dedent('''
        import torch.nn as nn

        from .utils import RunningNorm


        class Body(nn.Module):
            def __init__(self, state_dim=4):
                super().__init__()
                self.fc = nn.Linear(state_dim, 8)

            def forward(self, x):
                return self.fc(x)


        class Normed(nn.Module):
            def __init__(self):
                super().__init__()
                self.norm = RunningNorm()
                self.fc = nn.Linear(4, 8)

            def forward(self, x):
                return self.fc(x)
    '''))
    result = cli(["probe", "--device", "cpu", "--format", "json", "rl/nets.py:Body"], root)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["notes"][0] == (
        "import: `a_missing_rl_library` is not installed; a stand-in that fails when used took its place "
        "(imported at normalizer.py:1, and nothing the model ran used it)"
    )
    failed = cli(["probe", "--device", "cpu", "--format", "json", "rl/nets.py:Normed"], root)
    assert "No module named 'a_missing_rl_library.common.running_mean_std': the model uses " \
           "`a_missing_rl_library.common.running_mean_std.RunningMeanStd`" in failed.output, failed.output
