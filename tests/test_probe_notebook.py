"""The probe on a model class defined in a Jupyter notebook: only the definition cells run
(imports, ``def``, ``class``, constants), never the training cells; locations name the cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from initlint.probe.notebook_loading import _instances
from initlint.notebook import read_notebook

IMPORTS = "import torch\nimport torch.nn as nn\nWIDTH = 256\ndevice = torch.device('cpu')\n"
DEEP = (
    "class Deep(nn.Module):\n"
    "    def __init__(self, n_in, width=WIDTH, depth=12):\n"
    "        super().__init__()\n"
    "        self.layers = nn.ModuleList(nn.Linear(n_in if i == 0 else width, width) for i in range(depth))\n"
    "        for layer in self.layers:\n"
    "            nn.init.normal_(layer.weight, std=0.001)\n"
    "\n"
    "    def forward(self, x):\n"
    "        for layer in self.layers:\n"
    "            x = torch.tanh(layer(x))\n"
    "        return x\n"
)
BOOSTED = (
    "class Boosted(nn.Module):\n"
    "    def __init__(self, width=32, depth=4):\n"
    "        super().__init__()\n"
    "        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])\n"
    "        for layer in self.layers:\n"
    "            layer.weight.data.mul_(8.0)\n"
    "\n"
    "    def forward(self, x):\n"
    "        for layer in self.layers:\n"
    "            x = layer(x)\n"
    "        return x\n"
)
BROKEN = (
    "class Broken(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.fc = nn.Linear(8, 8)\n"
    "        raise RuntimeError('no weights file')\n"
)
# if this cell ran, the probe would write into the user's tree and never return
TRAINING = (
    "open('TRAINING_RAN', 'w').write('x')\n"
    "model = Deep(64, width=WIDTH).to(device)\n"
    "while True:\n"
    "    pass\n"
)


def notebook(path: Path, *cells: tuple[str, str]) -> Path:
    data = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True),
         **({"outputs": [], "execution_count": None} if kind == "code" else {})}
        for kind, text in cells
    ]}
    path.write_text(json.dumps(data, indent=1))
    return path


@pytest.fixture
def deep(tmp_path) -> Path:
    return notebook(
        tmp_path / "deep.ipynb", ("markdown", "# a deep tanh net"), ("code", "%matplotlib inline\n" + IMPORTS),
        ("code", DEEP), ("code", BOOSTED), ("code", BROKEN), ("code", TRAINING),
    )


def test_instances_of_skipped_cells_name_their_class_and_arguments(deep):
    found = _instances(read_notebook(deep.read_text()))
    assert set(found) == {"model"}  # ``device = torch.device(...)`` makes no nn.Module call chain
    instance = found["model"]
    assert (instance.cls, instance.args, instance.kwargs, instance.cell) == ("Deep", ("64",), (("width", "WIDTH"),), 6)


@pytest.mark.probe
def test_probe_confirms_a_notebook_finding_without_running_training_cells(cli, deep):
    pytest.importorskip("torch")
    result = cli(["--no-cache", "--format", "json", "--probe", "--device", "cpu", "--probe-batch", "64", "--select", "IL2", "deep.ipynb"], deep.parent)
    findings = json.loads(result.stdout)
    assert [(f["code"], f["cell"], f["line"], f["probe"]["status"]) for f in findings] == [("IL203", 3, 6, "confirmed")]
    # built from cell 6's call, Deep(64, width=WIDTH): fan-in 64 into the first layer
    assert findings[0]["probe"]["measured"].startswith("measured signal variance x2.3e-4 per layer")
    assert not (deep.parent / "TRAINING_RAN").exists()


@pytest.mark.probe
@pytest.mark.slow
def test_probe_all_measures_notebook_classes_and_names_cells(cli, deep):
    pytest.importorskip("torch")
    before = sorted(p.name for p in deep.parent.iterdir())
    result = cli(["--no-cache", "--format", "json", "--probe=all", "--device", "cpu", "--probe-batch", "64", "deep.ipynb"], deep.parent)
    findings = json.loads(result.stdout)
    got = [(f["code"], f["cell"], f["line"], f["column"], f["probe"]["status"]) for f in findings]
    # Deep's vanishing is explained by the static IL203 on its instance `model`: no IL902 of its own
    assert got == [("IL203", 3, 6, 13, "confirmed"), ("IL401", 3, 6, 13, "not probed"), ("IL901", 4, 1, 1, "measured")]
    assert findings[2]["message"] == "Boosted: activation variance x2e5 from input to output (measured on x Bx32 float32, seed 0)"
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "initlint: deep.ipynb:cell 5:1: Broken: not probed (build: RuntimeError: no weights file "
        "(at deep.ipynb:cell 5:5); pass --probe-arg Broken.NAME=VALUE or a factory)"
    )
    assert lines[-1] == "initlint: probe: 3 of 4 models measured; 2 of 3 nn.Module classes built and run; 1 not probed"
    assert sorted(p.name for p in deep.parent.iterdir()) == before


@pytest.mark.probe
def test_probe_command_takes_a_notebook_class_and_says_what_ran(cli, deep):
    pytest.importorskip("torch")
    result = cli(["probe", "--device", "cpu", "--format", "json", f"{deep.name}:model"], deep.parent)
    report = json.loads(result.stdout)
    assert report["notes"][:2] == [
        "notebook: ran only its definitions (imports, def, class, constants); the other code of cell(s) 2, 6 was not run",
        "`model` is built as `Deep(...)` from cell 6, which the probe does not run",
    ]
    assert report["inputs"] == {"x": "Bx64 float32"}
    assert {v["kind"] for v in report["verdicts"]} == {"vanishing"}


@pytest.mark.probe
def test_a_notebook_import_of_a_module_that_is_not_installed_gets_a_stand_in(cli, tmp_path):
    pytest.importorskip("torch")
    path = notebook(
        tmp_path / "colab.ipynb", ("code", "!pip install pybullet\n"),
        ("code", "import torch.nn as nn\nimport a_physics_engine_that_is_not_installed\n"),
        ("code", "class Policy(nn.Module):\n    def __init__(self, state_dim=8):\n        super().__init__()\n"
                 "        self.fc = nn.Linear(state_dim, 2)\n\n    def forward(self, state):\n        return self.fc(state)\n"),
    )
    result = cli(["probe", "--device", "cpu", "--format", "json", f"{path.name}:Policy"], tmp_path)
    report = json.loads(result.stdout)
    assert report["notes"][:2] == [
        "notebook: ran only its definitions (imports, def, class, constants); the other code of cell(s) 1 was not run",
        "import: `a_physics_engine_that_is_not_installed` is not installed; a stand-in that fails when used took "
        "its place (imported at colab.ipynb:cell 2:2, and nothing the model ran used it)",
    ], report["notes"]
    assert report["inputs"] == {"state": "Bx8 float32"}


@pytest.mark.probe
def test_a_notebook_constant_that_reads_a_skipped_cell_is_left_out_and_the_classes_are_built(cli, tmp_path):
    """``train_data = dataset["train"]`` makes no call, so it is kept, but ``dataset`` comes from
    a cell that does not run; the model's ``device`` argument gets the probe's device."""
    pytest.importorskip("torch")
    path = notebook(
        tmp_path / "seq2seq.ipynb", ("code", "import torch\nimport torch.nn as nn\n"),
        ("code", "dataset = load_dataset('multi30k')\n"),
        ("code", "train_data = dataset['train']\nHIDDEN = 32\n"),
        ("code", "class Encoder(nn.Module):\n    def __init__(self, input_dim, device, hidden=HIDDEN):\n"
                 "        super().__init__()\n        self.device = device\n        self.fc = nn.Linear(input_dim, hidden)\n\n"
                 "    def forward(self, src):\n        return self.fc(src) + torch.zeros(1, device=self.device)\n"),
    )
    result = cli(["probe", "--device", "cpu", "--format", "json", f"{path.name}:Encoder"], tmp_path)
    report = json.loads(result.stdout)
    assert report["notes"][:3] == [
        "notebook: ran only its definitions (imports, def, class, constants); the other code of cell(s) 2 was not run",
        "notebook: left out seq2seq.ipynb:cell 3:1 (NameError: name 'dataset' is not defined)",
        "built with assumed input_dim=64, device='cpu' (--probe-arg Encoder.NAME=VALUE to change)",
    ], report["notes"]
    assert report["inputs"] == {"src": "Bx64 float32"}


@pytest.mark.probe
def test_a_notebook_class_reads_the_constants_of_its_main_block(cli, tmp_path):
    pytest.importorskip("torch")
    path = notebook(
        tmp_path / "transformer.ipynb",
        ("code", "import torch.nn as nn\n\n\nclass FeedForward(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                 "        self.fc = nn.Linear(d_model, d_ff)\n\n    def forward(self, x):\n        return self.fc(x)\n\n\n"
                 "if __name__ == '__main__':\n    d_model = 48\n    d_ff = 4 * d_model\n    model = FeedForward()\n"),
    )
    result = cli(["probe", "--device", "cpu", "--format", "json", f"{path.name}:FeedForward"], tmp_path)
    report = json.loads(result.stdout)
    assert "notebook: took d_model, d_ff from its `if __name__ == \"__main__\":` block (values computed without side effects)" \
        in report["notes"], report["notes"]
    assert report["inputs"] == {"x": "Bx48 float32"}
