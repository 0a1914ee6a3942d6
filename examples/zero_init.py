"""Zero and constant init: every unit of a layer computes the same thing and learns the same.

`ZeroHiddenMLP` zeroes a hidden layer (IL101); `zero_initialization` sets every parameter of a
model to zero (IL102), as the seed article's first example does. `ZeroHeadResidual` zeroes only
the last layer of its branch, the legitimate zero-init-residual idiom, and is not flagged.
"""

import torch
import torch.nn as nn


class ZeroHiddenMLP(nn.Module):
    def __init__(self, in_features=784, hidden=256, classes=10):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.head = nn.Linear(hidden, classes)
        nn.init.zeros_(self.fc1.weight)  # every hidden unit identical, forever
        self.fc2.weight.data.fill_(0.5)  # a constant is no better than zero

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.head(x)


class ZeroHeadResidual(nn.Module):
    """A residual MLP block whose output layer starts at zero: the block starts as identity."""

    def __init__(self, dim=256):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        nn.init.ones_(self.norm.weight)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(self.norm(x))))


def zero_initialization(model):
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()


model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
zero_initialization(model)
