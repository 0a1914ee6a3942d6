"""``--probe=all`` and real project layouts: packages, src/ layouts, dotted targets, factories,
measured findings of their own, one line per model that cannot be built, a user tree unchanged."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT

pytest.importorskip("torch")
pytestmark = pytest.mark.probe

NETS = '''
import os

import torch
import torch.nn as nn

from .layers import Block
from ..util import WIDTH


class Net(nn.Module):
    def __init__(self, depth=3):
        super().__init__()
        assert os.path.exists("pyproject.toml"), "the working directory is the project root"
        self.blocks = nn.Sequential(*[Block(WIDTH) for _ in range(depth)])
        self.head = nn.Linear(WIDTH, 10)
        nn.init.uniform_(self.head.weight, -100, 100)

    def forward(self, x):
        return self.head(self.blocks(x))


class Boosted(nn.Module):
    """No init call a static rule could read: the scale is multiplied in at runtime."""

    def __init__(self, width=WIDTH, depth=4, boost=8.0):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        for layer in self.layers:
            layer.weight.data.mul_(boost)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Quiet(Boosted):  # noqa: IL901
    pass


class NeedsBlock(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.body = block(WIDTH)

    def forward(self, x):
        return self.body(x)


def make_net():
    return Net(depth=2)
'''


@pytest.fixture
def project(tmp_path):
    """A src/ layout whose package __init__ needs a dependency that is not installed."""
    root = tmp_path / "proj"
    models = root / "src" / "demo" / "models"
    models.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (root / "src" / "demo" / "__init__.py").write_text("import a_dependency_that_is_not_installed\n")
    (root / "src" / "demo" / "util.py").write_text("WIDTH = 32\n")
    (models / "__init__.py").write_text("")
    (models / "layers.py").write_text(textwrap.dedent('''
        import torch.nn as nn


        class Block(nn.Module):
            def __init__(self, width):
                super().__init__()
                self.fc = nn.Linear(width, width)

            def forward(self, x):
                return x + self.fc(x).relu()
    '''))
    (models / "nets.py").write_text(NETS)
    return root


def _tree(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.stat().st_mtime_ns) for p in root.rglob("*"))


@pytest.mark.slow
def test_probe_all_on_a_package_in_a_src_layout(cli, project):
    before = _tree(project)
    # a fixed batch: the measured gain depends on the sample, and the default batch on the time budget
    result = cli(["--no-cache", "--format", "json", "--probe=all", "--device", "cpu", "--probe-batch", "64", "src"], project)
    findings = json.loads(result.stdout)
    got = [(f["path"], f["line"], f["code"], f["probe"]["status"]) for f in findings]
    assert got == [
        ("src/demo/models/nets.py", 17, "IL201", "confirmed"),  # the static finding, measured
        ("src/demo/models/nets.py", 23, "IL901", "measured"),  # Boosted: only the probe sees it
    ]
    boosted = findings[1]
    # 4 layers of 32 x 64 / (3 x 32) = 21: x2e5 (the three to layers.3's input give 9.5e3)
    assert boosted["message"] == "Boosted: activation variance x2e5 from input to output (measured on x Bx32 float32, seed 0)"
    assert boosted["column"] == 1 and boosted["end_column"] == len("class Boosted") + 1
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "initlint: src/demo/models/nets.py:42: NeedsBlock: not probed (build: the constructor needs `block`, "
        "whose value cannot be inferred from its name or use; pass --probe-arg NeedsBlock.block=VALUE or a factory)"
    )
    assert lines[-1] == "initlint: probe: 5 of 6 models measured; 4 of 5 nn.Module classes built and run; 1 not probed"
    assert result.exit_code == 1  # the findings count, the model that was not probed does not
    assert _tree(project) == before  # nothing written: no __pycache__, no cache in the tree


@pytest.mark.slow
def test_unprobed_models_fail_the_run_only_when_asked(cli, project):
    args = ["--no-cache", "--probe=all", "--device", "cpu", "--select", "IL9", "--ignore", "IL901", "src"]
    assert cli(args, project).exit_code == 0
    failing = cli([*args, "--fail-on", "unprobed"], project)
    assert failing.exit_code == 1 and "NeedsBlock: not probed" in failing.stderr


def test_probe_targets_by_path_dotted_name_and_factory(cli, project):
    by_path = cli(["probe", "--device", "cpu", "--format", "json", "src/demo/models/nets.py:Net"], project)
    assert by_path.exit_code == 1, by_path.output
    assert json.loads(by_path.stdout)["inputs"] == {"x": "Bx32 float32"}
    factory = cli(["probe", "--device", "cpu", "--format", "json", "src/demo/models/nets.py:make_net"], project)
    assert [layer["name"] for layer in json.loads(factory.stdout)["layers"] if layer["has_weight"]] == [
        "blocks.0.fc", "blocks.1.fc", "head",
    ]
    dotted = cli(["probe", "--device", "cpu", "--format", "json", "demo.models.nets:Boosted"], project / "src")
    assert [v["kind"] for v in json.loads(dotted.stdout)["verdicts"]] == ["exploding"]


@pytest.mark.slow
def test_probe_all_on_legitimate_designs_measures_every_model_and_finds_nothing(cli):
    result = cli(["--no-cache", "--format", "json", "--probe=all", "--device", "cpu", "tests/probe_models/legit.py"], ROOT)
    assert json.loads(result.stdout) == []
    assert result.stderr.splitlines()[-1] == (
        "initlint: probe: 6 of 6 models measured; 6 of 6 nn.Module classes built and run; 0 not probed"
    )


@pytest.mark.slow
def test_probe_all_on_the_legit_zoo(cli):
    # 31 designs written the way real projects write them (tests/probe_models/legit_zoo.py); its
    # ViTs' trunc_normal_(std=.02) carries IL209 (bounds at 100 std), a misuse note, not measured
    result = cli(["--no-cache", "--format", "json", "--probe=all", "--device", "cpu", "--extend-ignore", "IL209",
                  "tests/probe_models/legit_zoo.py"], ROOT)
    assert json.loads(result.stdout) == [], result.stdout[-3000:]
    assert result.stderr.splitlines()[-1] == (
        "initlint: probe: 32 of 32 models measured; 31 of 31 nn.Module classes built and run; 0 not probed"
    ), result.stderr
    assert result.exit_code == 0



SCRIPT = '''import torch
import torch.nn as nn

try:
    from apex import amp
except ImportError:
    amp = None

HIDDEN = 16


class Net(nn.Module):
    def __init__(self, hidden=HIDDEN):
        super().__init__()
        self.fc = nn.Linear(8, hidden)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x):
        return self.out(self.fc(x).relu())


net = Net()
'''


@pytest.mark.parametrize("top, why", [
    ('data = torch.load("data/train.pt")\n', "its top-level code raised FileNotFoundError at line 23"),
    pytest.param("while True:  # the training loop\n    pass\n", "its top-level code ran past the time limit before",
                 marks=pytest.mark.slow),  # waits out the 10 s limit
])
def test_probe_all_runs_only_the_definitions_of_a_script(cli, tmp_path, top, why):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "train.py").write_text(SCRIPT + top)
    before = _tree(root)
    args = ["--no-cache", "--format", "json", "--probe=all", "--device", "cpu", "--probe-timeout", "10", "train.py"]
    result = cli(args, root)
    assert json.loads(result.stdout) == []
    assert result.stderr.splitlines()[-1] == (
        "initlint: probe: 1 of 1 models measured; 1 of 1 nn.Module classes built and run; 0 not probed"
    ), result.stderr
    if top.startswith("data"):  # a single target is imported once: only a raising top level falls back
        probed = cli(["probe", "--device", "cpu", "--format", "json", "train.py:Net"], root)
        assert json.loads(probed.stdout)["notes"][0] == (
            f"script: ran only its definitions (imports, def, class, constants), since {why}; "
            "the top-level statements at line(s) 22, 23 were not run"
        )
    assert _tree(root) == before


RL_SCRIPT = '''import torch.nn as nn


class Env:
    observation_space = type("Box", (), {"shape": (6,)})


def make_env(name):
    return Env()


env = make_env("Toy-v0")
n_state = env.observation_space.shape[0]
env.seed(1)  # the environment API has no seed() any more: the import raises here


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(n_state, 4)

    def forward(self, x):
        return self.fc(x)


for episode in range(10 ** 9):
    pass
'''


def test_a_script_class_reads_a_constant_computed_from_the_scripts_setup(cli, tmp_path):
    """``n_state = env.observation_space.shape[0]`` is kept as a constant; the ``env = ...`` it
    reads runs too (setup), and ``env.seed(1)`` that raised is left out with its reason."""
    (tmp_path / "dqn.py").write_text(RL_SCRIPT)
    before = _tree(tmp_path)
    result = cli(["--no-cache", "--probe=all", "--device", "cpu", "dqn.py"], tmp_path)
    assert result.stderr.splitlines()[-1] == (
        "initlint: probe: 1 of 1 models measured; 1 of 1 nn.Module classes built and run; 0 not probed"
    ), result.stderr
    probed = cli(["probe", "--device", "cpu", "--format", "json", "dqn.py:Net"], tmp_path)
    report = json.loads(probed.stdout)
    assert report["inputs"] == {"x": "Bx6 float32"}
    assert report["notes"][:3] == [
        "script: ran only its definitions (imports, def, class, constants), since its top-level code raised "
        "AttributeError at line 14; the top-level statements at line(s) 26 were not run",
        "script: ran the assignments its definitions read, at line(s) 12",
        "script: left out line 14 (AttributeError: 'Env' object has no attribute 'seed')",
    ]
    assert _tree(tmp_path) == before


FUSED = '''import os

import torch.nn as nn
import torch.nn.functional as F


def load(name, sources):
    for source in sources:
        open(source).close()  # the compiled op's sources are not there: FileNotFoundError


fused = load("fused", sources=[os.path.join(os.path.dirname(__file__), "fused_act.cpp")])


class FusedLeakyReLU(nn.Module):
    def forward(self, x):
        if x.is_cuda:
            return fused.fused_bias_act(x)
        return F.leaky_relu(x, 0.2)
'''


def test_a_project_module_whose_import_fails_at_a_statement_is_loaded_with_its_definitions(cli, tmp_path):
    """stylegan2's ``op`` package builds a CUDA extension at import; the model file imports it.
    The op module runs with its definitions only, its package's ``__init__`` then imports it,
    and the model is built (its CPU path needs no extension)."""
    root = tmp_path / "gan"
    (root / "op").mkdir(parents=True)
    (root / "LICENSE").write_text("MIT\n")
    (root / "op" / "__init__.py").write_text("from .fused_act import FusedLeakyReLU\nfrom .upfirdn2d import FusedLeakyReLU as Up\n")
    (root / "op" / "fused_act.py").write_text(FUSED)
    (root / "op" / "upfirdn2d.py").write_text(FUSED.replace("fused_act.cpp", "upfirdn2d.cpp"))  # a second one
    (root / "model.py").write_text(
        "import torch.nn as nn\n\nfrom op import FusedLeakyReLU\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(8, 8)\n"
        "        self.act = FusedLeakyReLU()\n\n    def forward(self, x):\n        return self.act(self.fc(x))\n"
    )
    before = _tree(root)
    result = cli(["--no-cache", "--probe=all", "--device", "cpu", "model.py"], root)
    assert result.stderr.splitlines()[-1] == (
        "initlint: probe: 1 of 1 models measured; 1 of 1 nn.Module classes built and run; 0 not probed"
    ), result.stderr
    probed = cli(["probe", "--device", "cpu", "--format", "json", "model.py:Net"], root)
    assert json.loads(probed.stdout)["notes"][:2] == [
        "import: ran only the definitions of op/fused_act.py (FileNotFoundError at line 12), whose top-level code failed",
        "import: ran only the definitions of op/upfirdn2d.py (FileNotFoundError at line 12), whose top-level code failed",
    ]
    assert _tree(root) == before


UNDEFINED = (
    "import torch.nn as nn\n\nenv = make_env()\nn_state = env.n\n\n\nclass Policy(nn.Module):\n"
    "    def __init__(self, size=n_state):\n        super().__init__()\n        self.fc = nn.Linear(size, 2)\n\n\n"
    "class Head(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n\n"
    "    def forward(self, x):\n        return self.fc(x)\n"
)


def test_a_class_whose_definition_fails_alone_costs_one_line_and_the_others_are_built(cli, tmp_path):
    (tmp_path / "rl.py").write_text(UNDEFINED)
    result = cli(["--no-cache", "--probe=all", "--device", "cpu", "rl.py"], tmp_path)
    assert result.stderr.splitlines()[-2:] == [
        "initlint: rl.py:7: Policy: not probed (import: its definition raised (line 7: NameError: name 'n_state' "
        "is not defined) when the script's definitions ran alone)",
        "initlint: probe: 1 of 1 models measured; 1 of 2 nn.Module classes built and run; 1 not probed",
    ], result.stderr


def test_a_class_reads_the_constants_of_its_scripts_main_block(cli, tmp_path):
    (tmp_path / "seq2seq.py").write_text(
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(n_in, n_hidden)\n\n    def forward(self, x):\n        return self.fc(x)\n\n\n"
        "if __name__ == '__main__':\n    vocab = {'a': 0, 'b': 1, 'c': 2}\n    n_in = len(vocab)\n    n_hidden = 8\n"
        "    model = Net()\n    model.train_forever()\n"
    )
    probed = cli(["probe", "--device", "cpu", "--format", "json", "seq2seq.py:Net"], tmp_path)
    report = json.loads(probed.stdout)
    assert report["inputs"] == {"x": "Bx3 float32"}
    assert report["notes"][0] == (
        'script: took vocab, n_in, n_hidden from its `if __name__ == "__main__":` block (values computed without side effects)'
    )


def test_a_script_that_saves_and_downloads_at_import_leaves_the_tree_unchanged(cli, tmp_path):
    root = tmp_path / "tutorial"
    root.mkdir()
    (root / "LICENSE").write_text("MIT\n")
    (root / "save_reload.py").write_text(SCRIPT + (
        "import os\n"
        "os.makedirs('./mnist/raw', exist_ok=True)  # a dataset download\n"
        "torch.save(net.state_dict(), 'net_params.pkl')\n"
        "with open('log.txt', 'w') as log:\n    log.write('trained')\n"
    ))
    before = _tree(root)
    result = cli(["--no-cache", "--probe=all", "--device", "cpu", "save_reload.py"], root)
    assert result.stderr.splitlines()[-1] == (
        "initlint: probe: 1 of 1 models measured; 1 of 1 nn.Module classes built and run; 0 not probed"
    ), result.stderr
    assert _tree(root) == before
    probed = cli(["probe", "--device", "cpu", "--format", "json", "save_reload.py:Net"], root)
    assert json.loads(probed.stdout)["notes"][0].startswith(
        "script: ran only its definitions (imports, def, class, constants), since its top-level code raised PermissionError at line 24;"
    )
    assert _tree(root) == before


WRAPPERS = '''
import torch
import torch.nn as nn


class Gate(nn.Module):
    def __init__(self, dim, table):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.register_buffer("table", torch.tensor(table))

    def forward(self, x):
        return self.fc(x) * self.table.mean()


class Base(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        raise NotImplementedError


class FeedForward(Base):
    def __init__(self, dim):
        super().__init__(dim)
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        return self.fc(x).relu()


class Tower(nn.Module):
    def __init__(self, dim=32, weights=(1.0, 2.0)):
        super().__init__()
        self.layers = nn.ModuleList([FeedForward(dim) for _ in range(2)])
        self.gate = Gate(dim, list(weights))

    def forward(self, x):
        for layer in self.layers:
            x = x + layer(x)
        return self.gate(x)


class Factory(nn.Module):
    def __init__(self, make):
        super().__init__()
        self.net = make()

    def forward(self, x):
        return self.net(x)
'''


@pytest.mark.slow
def test_a_class_built_and_run_inside_a_measured_model_counts_and_costs_no_line(cli, tmp_path):
    """Gate needs a table no name or caller tells, so it cannot be built alone, but Tower
    builds and runs it; Base's own forward raises, and its code ran only as FeedForward's base,
    which the line says; Factory ran nowhere."""
    (tmp_path / "blocks.py").write_text(WRAPPERS)
    result = cli(["--no-cache", "--probe=all", "--device", "cpu", "--probe-batch", "64", "blocks.py"], tmp_path)
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "initlint: blocks.py:16: Base: not probed (its code ran as a base class of FeedForward, which was measured; "
        "on its own: forward: NotImplementedError (at blocks.py:22); the probe fed x=Bx64 float32; "
        "pass --probe-input x=SHAPE[:dtype])"
    )
    assert lines[1].startswith("initlint: blocks.py:46: Factory: not probed (build: the constructor needs `make`")
    assert lines[-1] == (
        "initlint: probe: 2 of 5 models measured; 3 of 5 nn.Module classes built and run "
        "(1 of them inside another model); 2 not probed"
    )
    assert not any("Gate" in line for line in lines)
    assert result.exit_code == 0


DOWNLOADS_IN_A_DEFAULT = '''
import torch.nn as nn


def encoded_dim(name):
    raise OSError(f"We couldn't connect to 'https://huggingface.co' to load the config of {name}")


class Attention(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return (q * k).softmax(-1) * v


class Unet(nn.Module):
    def __init__(self, dim=32, text_dim=encoded_dim("t5-base")):
        super().__init__()
        self.attn = Attention(dim)
'''


def test_a_definition_that_downloads_at_import_costs_only_its_own_class(cli, tmp_path):
    """Unet's default reads a config from the hub while the file is imported; the file is then
    loaded with its definitions one by one, so Attention is still built and measured."""
    (tmp_path / "unet.py").write_text(DOWNLOADS_IN_A_DEFAULT)
    result = cli(["--no-cache", "--probe=all", "--device", "cpu", "--probe-batch", "64", "unet.py"], tmp_path)
    assert result.stderr.splitlines()[-2:] == [
        "initlint: unet.py:19: Unet: not probed (import: its definition raised (line 19: needs the network "
        "(https://huggingface.co, not in the local cache)) when the script's definitions ran alone)",
        "initlint: probe: 1 of 1 models measured; 1 of 2 nn.Module classes built and run; 1 not probed",
    ], result.stderr
    assert result.exit_code == 0


def test_a_project_module_importing_a_removed_collections_alias_is_built_with_a_note(cli, tmp_path):
    (tmp_path / "misc.py").write_text("from collections import Sequence\n\nWIDTHS = (16, 8)\n")
    (tmp_path / "net.py").write_text(
        "import torch.nn as nn\n\nfrom misc import WIDTHS\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc = nn.Linear(*WIDTHS)\n\n    def forward(self, x):\n        return self.fc(x)\n"
    )
    result = cli(["probe", "--device", "cpu", "--format", "json", "net.py:Net"], tmp_path)
    report = json.loads(result.stdout)
    assert "import: `collections.Sequence` is `collections.abc.Sequence`, removed from collections in " \
        "Python 3.10; restored under the old name" in report["notes"], report["notes"]
    assert report["inputs"] == {"x": "Bx16 float32"}


ACTOR_CRITIC = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class ActorCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.data = []
        self.fc1 = nn.Linear(4, 256)
        self.fc_pi = nn.Linear(256, 2)
        self.fc_v = nn.Linear(256, 1)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=0.0002)

    def pi(self, x, softmax_dim=0):
        x = F.relu(self.fc1(x))
        return F.softmax(self.fc_pi(x), dim=softmax_dim)

    def v(self, x):
        return self.fc_v(F.relu(self.fc1(x)))

    def put_data(self, transition):
        self.data.append(transition)


class Policy(nn.Module):
    def __init__(self, state_dim=8, action_dim=2):
        super().__init__()
        self.actor = nn.Sequential(nn.Linear(state_dim, 64), nn.Tanh(), nn.Linear(64, action_dim))
        self.critic = nn.Sequential(nn.Linear(state_dim, 64), nn.Tanh(), nn.Linear(64, 1))

    def forward(self):
        raise NotImplementedError

    def act(self, state):
        return self.actor(state).argmax(-1)

    def evaluate(self, state):
        return self.actor(state).log_softmax(-1), self.critic(state)
'''


@pytest.mark.parametrize("model, note, inputs", [
    ("ActorCritic", "no forward of its own: measured through `pi(x, softmax_dim=0)`, the method that calls the most "
     "of its layers (also: v)", {"x": "Bx4 float32"}),
    ("Policy", "no forward of its own: measured through `evaluate(state)`, the method that calls the most "
     "of its layers (also: act)", {"state": "Bx8 float32"}),
])
def test_a_model_without_a_forward_is_measured_through_the_method_that_runs_its_layers(cli, tmp_path, model, note, inputs):
    _assert_healthy_with_note(cli, tmp_path, "rl.py", ACTOR_CRITIC, model, note, inputs)


def _assert_healthy_with_note(cli, tmp_path, name, text, model, note, inputs):
    """``initlint probe`` on ``model`` of a file ``name`` holding ``text``: measured on
    ``inputs``, no verdict, and ``note`` among the report's notes."""
    (tmp_path / name).write_text(text)
    result = cli(["probe", "--device", "cpu", "--format", "json", f"{name}:{model}"], tmp_path)
    report = json.loads(result.stdout)
    assert note in report["notes"], report["notes"]
    assert report["inputs"] == inputs
    assert report["verdicts"] == []


def test_an_import_of_a_name_whose_definition_was_left_out_binds_the_other_names(cli, tmp_path):
    """As in a package whose video module's Unet3D downloads a config in a default: image.py
    imports Unet3D with a block it uses; its own classes are still built."""
    package = tmp_path / "gen"
    package.mkdir()
    (package / "__init__.py").write_text("from gen.image import Unet\nfrom gen.video import Unet3D\n")
    (package / "video.py").write_text(
        "import torch.nn as nn\n\n\ndef encoded_dim(name):\n"
        "    raise OSError(f\"We couldn't connect to 'https://huggingface.co' to load the config of {name}\")\n\n\n"
        "class Block(nn.Module):\n    def __init__(self, dim=16):\n        super().__init__()\n        self.fc = nn.Linear(dim, dim)\n\n"
        "    def forward(self, x):\n        return self.fc(x).relu()\n\n\n"
        "class Unet3D(nn.Module):\n    def __init__(self, dim=16, text_dim=encoded_dim('t5')):\n        super().__init__()\n"
    )
    (package / "image.py").write_text(
        "import torch.nn as nn\n\nfrom gen.video import Unet3D, Block\n\n\n"
        "class Unet(nn.Module):\n    def __init__(self, dim=16):\n        super().__init__()\n        self.blocks = nn.Sequential(Block(dim), Block(dim))\n\n"
        "    def forward(self, x):\n        return self.blocks(x)\n"
    )
    result = cli(["probe", "--device", "cpu", "--format", "json", "gen/image.py:Unet"], tmp_path)
    report = json.loads(result.stdout)
    assert report["inputs"] == {"x": "Bx16 float32"}
    assert report["notes"][:2] == [
        "script: ran only its definitions (imports, def, class, constants), since it imports `Unet3D` at line 3, "
        "whose definition was left out",
        "script: did not import `Unet3D` at line 3: its definition in video.py was left out (line 17: needs the network "
        "(https://huggingface.co, not in the local cache))",
    ], report["notes"]
    swept = cli(["--no-cache", "--probe=all", "--device", "cpu", "--probe-batch", "64", "gen/image.py"], tmp_path)
    assert swept.stderr.splitlines()[-1] == (
        "initlint: probe: 1 of 1 models measured; 1 of 1 nn.Module classes built and run; 0 not probed"
    ), swept.stderr


PASSED_MODULES = """
import torch.nn as nn


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x, **kwargs):
        return self.fn(self.norm(x), **kwargs)


class DuelingHead(nn.Module):
    def __init__(self, action_dim, body):
        super().__init__()
        self.value = nn.Linear(body.feature_dim, 1)
        self.advantage = nn.Linear(body.feature_dim, action_dim)
        self.body = body

    def forward(self, x):
        phi = self.body(x)
        advantage = self.advantage(phi)
        return self.value(phi) + advantage - advantage.mean(1, keepdim=True)


class Stage(nn.Module):
    def __init__(self, norm_layer, dim=16):
        super().__init__()
        self.norm_layer = norm_layer
        self.norm = self.norm_layer(dim)

    def forward(self, x):
        return self.norm(x)
"""


@pytest.mark.parametrize("model, note, inputs", [
    ("PreNorm", "`fn` is a pass-through stand-in module (it returns its input; attributes get sizes by name): only "
     "the class's own layers are measured", {"x": "Bx16x64 float32"}),
    ("DuelingHead", "`body` is a pass-through stand-in module (it returns its input; attributes get sizes by name): "
     "only the class's own layers are measured", {"x": "Bx64 float32"}),
])
def test_a_module_the_class_only_stores_and_calls_is_a_pass_through_stand_in(cli, tmp_path, model, note, inputs):
    _assert_healthy_with_note(cli, tmp_path, "wrappers.py", PASSED_MODULES, model, note, inputs)


def test_a_module_class_the_constructor_calls_is_never_a_pass_through(cli, tmp_path):
    (tmp_path / "wrappers.py").write_text(PASSED_MODULES)
    result = cli(["probe", "--device", "cpu", "wrappers.py:Stage"], tmp_path)
    assert "the constructor needs `norm_layer`, whose value cannot be inferred" in result.stderr, result.stderr
