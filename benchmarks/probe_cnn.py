"""A 25M-parameter CNN for timing the probe on CPU (``python benchmarks/probe_time.py``)."""

import torch.nn as nn
import torch.nn.functional as F


class CNN25M(nn.Module):
    """VGG-style: five 3x3 conv stages and a 16.8M-parameter classifier (25.2M parameters)."""

    def __init__(self, num_classes=10):
        super().__init__()
        widths = [3, 64, 128, 256, 512, 512]
        self.convs = nn.ModuleList(
            [nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:])]
        )
        self.fc1 = nn.Linear(512 * 4 * 4, 2048)
        self.fc2 = nn.Linear(2048, 2048)
        self.head = nn.Linear(2048, num_classes)
        for conv in self.convs:
            nn.init.normal_(conv.weight, std=0.01)  # too small, but the max-pools end static chains
        nn.init.normal_(self.fc1.weight, std=0.01)
        nn.init.uniform_(self.fc2.weight, -1.0, 1.0)  # IL201: variance gain 2048/3 = 683

    def forward(self, x):
        for index, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if index < 3:
                x = F.max_pool2d(x, 2)
        x = F.relu(self.fc1(x.flatten(1)))
        x = F.relu(self.fc2(x))
        return self.head(x)
