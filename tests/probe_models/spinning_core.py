"""Actor-critic classes written as spinningup writes them: the activation is a constructor
argument that only the outer class gives a value (its own default)."""

import torch.nn as nn


def mlp(sizes, activation, output_activation=nn.Identity):
    layers = []
    for j in range(len(sizes) - 1):
        act = activation if j < len(sizes) - 2 else output_activation
        layers += [nn.Linear(sizes[j], sizes[j + 1]), act()]
    return nn.Sequential(*layers)


class MLPActor(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden_sizes, activation):
        super().__init__()
        self.pi = mlp([obs_dim] + list(hidden_sizes) + [act_dim], activation, nn.Tanh)

    def forward(self, obs):
        return self.pi(obs)


class MLPActorCritic(nn.Module):
    def __init__(self, obs_dim=8, act_dim=2, hidden_sizes=(64, 64), activation=nn.Tanh):
        super().__init__()
        self.pi = MLPActor(obs_dim, act_dim, hidden_sizes, activation)

    def forward(self, obs):
        return self.pi(obs)


class Stage(nn.Module):
    def __init__(self, block, width):
        super().__init__()
        self.body = block(width)

    def forward(self, x):
        return self.body(x)


def make_stage(block):
    return Stage(block, 16)
