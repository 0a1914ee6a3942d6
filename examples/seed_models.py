"""The two models of the seed Q&A: identical architectures, default vs. U(-100, 100) init.

`initlint examples/` flags UnstableModel: at hidden 128 each Linear multiplies the variance by
about 4.3e5 (std x650), so two layers give outputs four orders of magnitude too large.
"""

import torch
import torch.nn as nn


class SimpleModel(nn.Module):
    """Stable: PyTorch's default init (kaiming_uniform with a=sqrt(5), variance gain 1/3)."""

    def __init__(self, input_dim, hidden_dim=128, output_dim=2):
        super().__init__()
        self.layer1 = nn.Linear(input_dim, hidden_dim)  # default init
        self.layer2 = nn.Linear(hidden_dim, output_dim)

    def forward(self, inputs):
        with torch.amp.autocast(enabled=False, device_type="cuda"):
            x = self.layer1(inputs)
            x = self.layer2(x)
        return x


class UnstableModel(nn.Module):
    """Unstable: weights drawn from U(-100, 100)."""

    def __init__(self, input_dim, hidden_dim=128, output_dim=2):
        super().__init__()
        self.layer1 = nn.Linear(input_dim, hidden_dim)
        self.layer2 = nn.Linear(hidden_dim, output_dim)
        # Extreme initialization
        nn.init.uniform_(self.layer1.weight, -100, 100)  # range >> typical
        nn.init.zeros_(self.layer1.bias)
        nn.init.uniform_(self.layer2.weight, -100, 100)
        nn.init.zeros_(self.layer2.bias)

    def forward(self, inputs):
        x = self.layer1(inputs)  # no stability measures
        x = self.layer2(x)
        return x
