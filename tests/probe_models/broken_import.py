import torch.nn as nn

import a_module_that_does_not_exist  # noqa: F401


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        nn.init.uniform_(self.fc.weight, -100, 100)

    def forward(self, x):
        return self.fc(x)
