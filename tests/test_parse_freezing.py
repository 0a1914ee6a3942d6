"""Parsed trees are frozen out of the cyclic GC's reach only in a process that lints file after
file (parsing.settle_after_file); the Python API and a single parse leave the GC alone."""

import gc
import subprocess
import sys

SCRIPT = """
import gc
from initlint import parsing, tuning

text = "import torch.nn as nn\\nclass Net(nn.Module):\\n    def __init__(self):\\n        self.fc = nn.Linear(4, 4)\\n"
gc.unfreeze()
parsing.parse(text)
api = gc.get_freeze_count()
tuning.tune_own_process()
tuned = gc.get_freeze_count()
parsing.parse(text)
single = gc.get_freeze_count()
parsing.settle_after_file()
settled = gc.get_freeze_count()
tree = parsing.parse(text)
print(api, tuned == single, settled, gc.get_freeze_count() > settled, type(tree).__name__)
"""


def test_only_a_settling_process_freezes_each_tree():
    # a fresh process: tune_own_process changes the GC and libcst for the whole process
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "0"  # the API: nothing frozen
    assert out[1] == "True"  # tuned, but not settling: a parse freezes nothing
    assert out[3] == "True"  # settling: the next tree is frozen as it is parsed
    assert out[4] == "Module"


def test_this_process_is_left_alone():
    before = gc.get_freeze_count()
    from initlint.parsing import parse

    parse("x = 1\n")
    assert gc.get_freeze_count() == before
