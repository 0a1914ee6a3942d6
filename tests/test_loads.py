"""loads.py: a dependency's body evaluated twice in a process is copied for later files.

Each test lints files of one project in this process, with copies and without them, and asserts
the same findings; then whether the last file got a copy.
"""

from __future__ import annotations

import pytest

from initlint import check_source
from initlint.model.interp import loads

NET = '''
import torch.nn as nn
from .layers import WIDTH, make


class Net{n}(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = make(WIDTH)
        nn.init.normal_(self.fc.weight, std=1.0)

    def forward(self, x):
        return self.fc(x)
'''

LAYERS = '''
import torch.nn as nn
{extra}
SIZES = {{name: width for name, width in [("small", 64), ("large", {width})]}}
WIDTH = SIZES["large"]


def make(width):
    return nn.Linear(width, width)
'''


@pytest.fixture
def fresh(monkeypatch):
    """Empty records, and each file asked for: (its name, whether it was a copy)."""
    monkeypatch.setattr(loads, "_groups", {})
    monkeypatch.setattr(loads, "_evaluated", {})
    monkeypatch.setattr(loads, "_tried", {})
    monkeypatch.setattr(loads, "_MIN_STEPS", 0)
    copies = []
    original = loads.copy

    def copy(evaluator, key):
        made = original(evaluator, key)
        copies.append((key.name, made is not None))
        return made

    monkeypatch.setattr(loads, "copy", copy)
    return copies


def _project(tmp_path, layers: str, nets: int = 3):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "layers.py").write_text(layers)
    paths = []
    for n in range(nets):
        path = tmp_path / "pkg" / f"net{n}.py"
        path.write_text(NET.format(n=n))
        paths.append(path)
    return paths


def _lint(paths) -> list[list[tuple]]:
    found = []
    for path in paths:
        found.append([(f.code, f.location.line, f.message) for f in check_source(path.read_text(), str(path))])
    return found


def _without_copies(paths, monkeypatch) -> list[list[tuple]]:
    with monkeypatch.context() as patch:
        patch.setattr(loads, "_groups", {})
        patch.setattr(loads, "_RECORD_AT", 10**9)
        return _lint(paths)


def test_the_third_file_gets_a_copy_of_the_body_the_second_recorded(tmp_path, fresh, monkeypatch):
    paths = _project(tmp_path, LAYERS.format(extra="", width=512))
    found = _lint(paths)
    assert fresh == [("layers.py", False), ("layers.py", False), ("layers.py", True)]  # the second recorded
    assert found == _without_copies(paths, monkeypatch)
    assert [[(code, line) for code, line, _ in each] for each in found] == [[("IL202", 10)]] * 3
    assert all("at fan-in 512" in each[0][2] for each in found)


def test_a_changed_dependency_is_evaluated_again(tmp_path, fresh):
    paths = _project(tmp_path, LAYERS.format(extra="", width=512))
    _lint(paths[:2])
    (tmp_path / "pkg" / "layers.py").write_text(LAYERS.format(extra="# changed", width=96))
    (found,) = _lint(paths[2:])
    assert fresh[-1] == ("layers.py", False)  # the record read another file
    assert "at fan-in 96" in found[0][2]


def test_a_body_that_changes_a_file_loaded_before_it_is_not_recorded(tmp_path, fresh, monkeypatch):
    # layers.py appends to registry.py's list (and keeps no name for it); net.py loads
    # registry.py first, so the append changes an object the body did not make: a copy would
    # miss it
    layers = LAYERS.format(extra="from .registry import MODELS\nMODELS.append('layers')\ndel MODELS", width=512)
    paths = _project(tmp_path, layers)
    (tmp_path / "pkg" / "registry.py").write_text("MODELS = []\n")
    for path in paths:
        path.write_text(path.read_text().replace("from .layers", "from .registry import MODELS\nfrom .layers")
                        .replace("self.fc = make(WIDTH)", "self.count = len(MODELS)\n        self.fc = make(WIDTH)"))
    found = _lint(paths)
    assert ("layers.py", True) not in fresh and ("registry.py", True) in fresh
    assert found == _without_copies(paths, monkeypatch)


def test_a_body_that_reads_a_file_loaded_before_it_is_not_recorded(tmp_path, fresh):
    # layers.py takes WIDTH from consts.py, which net0 and net1 load first: recorded there, a
    # copy would leave consts.py unloaded for net2, which reaches it only through layers.py
    from initlint.config import Settings
    from initlint.engine import lint_text, rules_for

    layers = LAYERS.format(extra="from .consts import BASE", width="BASE")
    paths = _project(tmp_path, layers)
    (tmp_path / "pkg" / "consts.py").write_text("BASE = 512\n")
    for path in paths[:2]:
        path.write_text(path.read_text().replace("from .layers", "from .consts import BASE\nfrom .layers")
                        .replace("self.fc = make(WIDTH)", "self.base = BASE\n        self.fc = make(WIDTH)"))
    settings = Settings()
    results = [lint_text(path.read_text(), str(path), rules_for(settings), settings) for path in paths]
    assert ("layers.py", True) not in fresh
    assert str((tmp_path / "pkg" / "consts.py").resolve()) in results[2].dependencies
    assert ["at fan-in 512" in result.findings[0].message for result in results] == [True] * 3


NET_LOADING_IN_CLASS_BODY = '''
import torch.nn as nn
from .layers import WIDTH, make


class Net{n}(nn.Module):
    width = WIDTH  # the class body is where layers.py is first needed

    def __init__(self):
        super().__init__()
        self.fc = make(self.width)
        nn.init.normal_(self.fc.weight, std=1.0)

    def forward(self, x):
        return self.fc(x)
'''


def test_a_body_loaded_from_a_class_body_is_copied_like_any_other(tmp_path, fresh, monkeypatch):
    # a module body runs outside the class body that loads it, so its record holds plain
    # functions and serves a load from a class body as well as one from a function
    paths = _project(tmp_path, LAYERS.format(extra="", width=512))
    for n, path in enumerate(paths):
        path.write_text(NET_LOADING_IN_CLASS_BODY.format(n=n))
    found = _lint(paths)
    assert fresh == [("layers.py", False), ("layers.py", False), ("layers.py", True)]
    assert found == _without_copies(paths, monkeypatch)
    assert [[(code, line) for code, line, _ in each] for each in found] == [[("IL202", 12)]] * 3
    assert all("at fan-in 512" in each[0][2] for each in found)


LIBRARY_BLOCKS = '''
import torch.nn as nn
from fancylib import CheckpointLayer


class Gate(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, width)


class Block(CheckpointLayer):
    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, width)
        self.gate = Gate(width)

    def forward(self, x):
        return self.proj(x)


WIDTH = 512


def make(width):
    return Block(width)
'''

NET_OF_BLOCKS = '''
import torch.nn as nn
from .layers import WIDTH, Block, Gate, make


def init(m):
    if isinstance(m, Gate):
        nn.init.zeros_(m.proj.weight)
    elif isinstance(m, Block):
        nn.init.normal_(m.proj.weight, std=1.0)


class Net{n}(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = make(WIDTH)
        self.apply(init)

    def forward(self, x):
        return self.block(x)
'''


def test_a_copied_body_still_knows_which_library_bases_came_before_its_classes(tmp_path, fresh, monkeypatch):
    # the copy's Block and Gate are new objects: that the library's class existed before Gate
    # (so a Block is no Gate) holds in the copy as in the evaluated body
    paths = _project(tmp_path, LIBRARY_BLOCKS)
    for n, path in enumerate(paths):
        path.write_text(NET_OF_BLOCKS.format(n=n))
    found = _lint(paths)
    assert fresh == [("layers.py", False), ("layers.py", False), ("layers.py", True)]
    assert found == _without_copies(paths, monkeypatch)
    assert [[(code, line) for code, line, _ in each] for each in found] == [[("IL202", 10)]] * 3
