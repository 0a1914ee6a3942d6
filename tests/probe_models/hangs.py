"""A model whose forward never returns: the probe stops it at --probe-timeout."""

import time

import torch.nn as nn


class Hangs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        nn.init.uniform_(self.fc.weight, -100, 100)

    def forward(self, x):
        while True:
            time.sleep(0.01)
