"""The legitimate idioms of fixtures/legit_idioms.py are silent because the engine evaluated
them, not because it gave up: changing the fact that makes each one legitimate gives a finding."""

from __future__ import annotations

import pytest

from conftest import FIXTURES
from initlint import check_source

LEGIT = (FIXTURES / "legit_idioms.py").read_text()

TWINS = {
    # the starred helper's bounds are evaluated: wide bounds from it explode
    "starred bounds": ("    lim = 1.0 / np.sqrt(fan_in)\n", "    lim = 100.0\n", ("IL201", 28), ("IL201", 29)),
    # the isinstance guard decides per module: matching the hidden conv zeroes a hidden layer
    "isinstance guard": (
        "            if isinstance(m, nn.Linear):\n                nn.init.zeros_(m.weight)",
        "            if isinstance(m, nn.Conv2d):\n                nn.init.zeros_(m.weight)",
        ("IL101", 104),
    ),
    # a zero branch that is not added to its input is a dead hidden layer
    "residual add": ("        return x + self.fc2(F.relu(self.fc1(x)))\n",
                     "        return self.fc1(self.fc2(x))\n", ("IL101", 74)),
}


@pytest.mark.parametrize("name", sorted(TWINS))
def test_changing_what_makes_an_idiom_legitimate_gives_a_finding(name):
    old, new, *expected = TWINS[name]
    assert LEGIT.count(old) == 1
    found = [(f.code, f.location.line) for f in check_source(LEGIT.replace(old, new), "legit_idioms.py")]
    assert found == expected
