"""Models whose user code fails in every way the probe must survive (one finding each)."""

import ctypes
import os

import torch
import torch.nn as nn


class Healthy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        nn.init.uniform_(self.fc.weight, -100, 100)

    def forward(self, x):
        return self.fc(x)


class RaisesInInit(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        nn.init.uniform_(self.fc.weight, -100, 100)
        if not os.path.exists("checkpoint-that-is-not-there.pt"):
            raise ValueError("checkpoint not found")

    def forward(self, x):
        return self.fc(x)


class RaisesInForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        nn.init.uniform_(self.fc.weight, -100, 100)

    def forward(self, x):
        return self.fc(x.view(3, -1, 7))


class EatsMemory(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        nn.init.uniform_(self.fc.weight, -100, 100)

    def forward(self, x):
        hoard = []
        while True:
            hoard.append(torch.ones(64, 1024, 1024))  # 256 MiB at a time


class ExitsProcess(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        nn.init.uniform_(self.fc.weight, -100, 100)

    def forward(self, x):
        os._exit(3)


class Segfaults(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        nn.init.uniform_(self.fc.weight, -100, 100)

    def forward(self, x):
        return ctypes.string_at(0)


class NeedsConfig(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.fc = nn.Linear(config["in"], 64)
        nn.init.uniform_(self.fc.weight, -100, 100)

    def forward(self, x):
        return self.fc(x)
