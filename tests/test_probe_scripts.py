"""scripts.py: a script's definitions keep their line numbers; which failures they avoid."""

from __future__ import annotations

from initlint.probe.scripts import failed_in_definition, failed_in_top_level, imported_names, main_constants, script_definitions

SCRIPT = '''"""A training script."""
import torch.nn as nn
try:
    import apex
except ImportError:
    apex = None
SIZES = [64, 32]
device = torch.device("cuda")


class Net(nn.Module):
    pass


for epoch in range(10):
    train(Net())
if __name__ == "__main__":
    main()
'''


def test_script_definitions_blank_every_other_statement_and_keep_line_numbers():
    found = script_definitions(SCRIPT)
    lines = found.text.splitlines()
    assert len(lines) == len(SCRIPT.splitlines())
    assert [n + 1 for n, line in enumerate(lines) if line] == [1, 2, 3, 4, 5, 6, 7, 11, 12]
    assert found.skipped == (8, 15, 17)


def test_failed_in_top_level_only_for_statements_the_definitions_leave_out():
    assert failed_in_top_level(SCRIPT, 16)  # inside the training loop
    assert failed_in_top_level(SCRIPT, 8)  # torch.device(...) calls
    assert not failed_in_top_level(SCRIPT, 2)  # an import: running only definitions fails too
    assert not failed_in_top_level(SCRIPT, 12)  # the class body itself
    assert not failed_in_top_level(SCRIPT, None)


MAIN = '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(n_class, d_model)


if __name__ == "__main__":
    sentences = ["i like dog", "i love coffee"]
    word_list = " ".join(sentences).split()
    word_dict = {w: i for i, w in enumerate(sorted(set(word_list)))}
    n_class = len(word_dict)
    d_model, n_heads = 64, 4
    device = torch.device("cuda")
    model = Net()
    train(model)
'''


def test_main_constants_are_the_side_effect_free_assignments_of_the_main_block():
    assert [names for names, _ in main_constants(MAIN)] == [
        ("sentences",), ("word_list",), ("word_dict",), ("n_class",), ("d_model", "n_heads"),
    ]
    assert main_constants("x = 1\n") == []


RL = '''import argparse
import gym
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--hidden", default=32, type=int)
args = parser.parse_args()
env = gym.make("CartPole-v0").unwrapped
n_state = env.observation_space.shape[0]
env.seed(1)
out = run_episode(env)
buffer = ReplayBuffer()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(n_state, args.hidden)

    def forward(self, x):
        out = self.fc(x)
        return out


for episode in range(1000):
    train(Net(), env)
'''


def test_setup_is_what_the_definitions_read_transitively_and_the_calls_that_configure_it():
    found = script_definitions(RL)
    # parser (read by args), its add_argument, args (read by Net), env (read by the constant
    # n_state) and env.seed; not ``out`` (only a method's local of that name) nor ``buffer``
    assert found.setup == (5, 6, 7, 8, 10)
    assert found.skipped == (11, 12, 25)
    lines = found.text.splitlines()
    assert [n + 1 for n, line in enumerate(lines) if line.strip()] == [1, 2, 3, 5, 6, 7, 8, 9, 10, 15, 16, 17, 18, 20, 21, 22]


FAILING_SETUP = '''import gym

env = gym.make("Pendulum-v0")  # an id the installed library no longer has
state_dim = env.observation_space.shape[0]
WIDTH = 16


class Critic:
    def __init__(self):
        self.size = state_dim


class Head:
    def __init__(self):
        self.size = WIDTH


class Policy:
    def __init__(self, size=state_dim):  # the default is read when the class is defined
        self.size = size
'''


def test_a_setup_that_fails_leaves_out_the_constants_that_read_it_and_nothing_else(monkeypatch):
    import sys
    import types

    from initlint.probe.setup import run_definitions

    def make(name):
        raise LookupError(f"Environment {name} doesn't exist")

    monkeypatch.setitem(sys.modules, "gym", types.SimpleNamespace(make=make))
    source = script_definitions(FAILING_SETUP)
    assert (source.setup, source.assignments) == ((3,), (4, 5))
    namespace: dict = {}
    outcome = run_definitions(source, "script.py", namespace)
    assert outcome.ran == ()
    assert outcome.failed == (
        (3, "LookupError: Environment Pendulum-v0 doesn't exist"),
        (4, "NameError: name 'env' is not defined"),
        (18, "NameError: name 'state_dim' is not defined"),
    )
    assert namespace["Head"]().size == 16 and "state_dim" not in namespace and "Policy" not in namespace


def test_failed_in_definition_names_the_class_or_function_that_holds_the_line():
    text = "import os\n\n\n@decorate(os.sep)\nclass Net:\n    def f(self, d=load()):\n        pass\n\n\nx = load()\n"
    assert failed_in_definition(text, 4) == "Net"  # the decorator
    assert failed_in_definition(text, 6) == "Net"  # a default evaluated in the class body
    assert failed_in_definition(text, 10) is None  # an assignment: failed_in_top_level's case
    assert failed_in_definition(text, 1) is None  # an import
    assert failed_in_definition(text, None) is None
    assert failed_in_definition("def (:\n", 1) is None


def test_imported_names_reads_the_from_import_holding_the_line():
    text = "import os\nfrom pkg.video import (\n    Unet3D,\n    resize as r,\n)\nx = 1\n"
    assert imported_names(text, 3) == {"Unet3D", "resize"}
    assert imported_names(text, 1) == set()  # a plain import
    assert imported_names(text, 6) == set()
    assert imported_names(text, None) == set()
