"""Small models whose forward inputs only their forward's code tells: bare weights, shapes read
from the input, arguments reshaped to sizes another argument sets, RNN states, masks, lists.

Written as research code writes them (StyleGAN-style equalized layers, attention blocks taking
q/k/v, tutorial RNNs with an explicit hidden state); the input fitter must find inputs for each.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class EqualConv(nn.Module):
    """A convolution with its own scaled weight (no nn.Conv2d): the input's rank and channels
    come from the errors F.conv2d raises."""

    def __init__(self, in_channel=12, out_channel=16, kernel_size=3):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channel, in_channel, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(in_channel * kernel_size ** 2)

    def forward(self, input):
        return F.conv2d(input, self.weight * self.scale, padding=1)


class EqualLinear(nn.Module):
    """``F.linear`` with a bare (out, in) weight: the input is ``in`` wide, not ``out``."""

    def __init__(self, in_dim=48, out_dim=10):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim))

    def forward(self, input):
        return F.linear(input, self.weight / math.sqrt(self.weight.shape[1]))


class AxisSwap(nn.Module):
    """No layer says the rank; ``x.transpose(2, 3)`` in forward says at least 4 dimensions."""

    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x.transpose(2, 3).contiguous() * self.gain


class Modulated(nn.Module):
    """The style is projected to the input's channel count and reshaped with it: the input's
    channels come from ``view``'s error, not from the style."""

    def __init__(self, in_channel=6, style_dim=20):
        super().__init__()
        self.modulation = nn.Linear(style_dim, in_channel)
        self.weight = nn.Parameter(torch.randn(8, in_channel, 3, 3))

    def forward(self, input, style):
        batch, in_channel, height, width = input.shape
        style = self.modulation(style).view(batch, in_channel, 1, 1)
        return F.conv2d(input * style, self.weight / math.sqrt(9 * in_channel), padding=1)


class HeadsAttention(nn.Module):
    """q, k and v are sequences: ``len_q = q.size(1)`` feeds a reshape to heads."""

    def __init__(self, d_model=32, n_head=4):
        super().__init__()
        self.n_head, self.d_k = n_head, d_model // n_head
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)

    def forward(self, q, k, v):
        b, len_q, len_k = q.size(0), q.size(1), k.size(1)
        q = self.w_q(q).view(b, len_q, self.n_head, self.d_k).transpose(1, 2)
        k = self.w_k(k).view(b, len_k, self.n_head, self.d_k).transpose(1, 2)
        v = self.w_v(v).view(b, len_k, self.n_head, self.d_k).transpose(1, 2)
        attn = (q @ k.transpose(2, 3) / math.sqrt(self.d_k)).softmax(-1)
        return (attn @ v).transpose(1, 2).reshape(b, len_q, -1)


class TutorialRNN(nn.Module):
    """An RNN regressor called with its hidden state (``forward(x, h_state)``)."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(input_size=1, hidden_size=24, num_layers=1, batch_first=True)
        self.out = nn.Linear(24, 1)

    def forward(self, x, h_state):
        r_out, h_state = self.rnn(x, h_state)
        return self.out(r_out), h_state


class LSTMWithState(nn.Module):
    """A language model whose forward takes the LSTM's (h, c) pair."""

    def __init__(self, vocab=50, embed=16, hidden=24, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, h):
        out, (h, c) = self.lstm(self.embed(x), h)
        return self.head(out), (h, c)


class MaskedBlock(nn.Module):
    """Two arguments on the failing line; the one named like a mask is the boolean mask."""

    def __init__(self, dim=16):
        super().__init__()
        self.proj = nn.Linear(dim, dim)

    def forward(self, a, mask):
        return self.proj(a).masked_fill(mask, 0.0)


class StyleList(nn.Module):
    """``[self.norm(s) for s in styles]``: a list of style vectors, each normalised over dim 1."""

    def __init__(self, style_dim=32):
        super().__init__()
        self.mapping = nn.Linear(style_dim, style_dim)

    def forward(self, styles):
        styles = [s / s.pow(2).mean(dim=1, keepdim=True).add(1e-8).sqrt() for s in styles]
        return self.mapping(styles[0])


class ConditionedGenerator(nn.Module):
    """A label vector (``c``, as wide as ``c_dim``) tiled over the image and concatenated to it
    before the first conv: the conv's in_channels are the image's plus the label's."""

    def __init__(self, c_dim=5, conv_dim=16):
        super().__init__()
        self.c_dim = c_dim
        self.conv = nn.Conv2d(3 + c_dim, conv_dim, kernel_size=7, padding=3)

    def forward(self, x, c):
        c = c.view(c.size(0), c.size(1), 1, 1).repeat(1, 1, x.size(2), x.size(3))
        return self.conv(torch.cat([x, c], dim=1))


class DistanceLogit(nn.Module):
    """Two distance maps combined element-wise and concatenated: they have one shape."""

    def __init__(self, chn_mid=8):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, chn_mid, 1), nn.LeakyReLU(0.2), nn.Conv2d(chn_mid, 1, 1))

    def forward(self, d0, d1, eps=0.1):
        return self.net(torch.cat((d0, d1, d0 - d1), dim=1))


class StarredHeads(nn.Module):
    """``b, n, _, h = *x.shape, self.heads``: x has 3 dimensions."""

    def __init__(self, dim=32, heads=4):
        super().__init__()
        self.heads = heads
        self.to_qkv = nn.Linear(dim, dim * 3)

    def forward(self, x):
        b, n, _, h = *x.shape, self.heads
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(b, n, h, -1).transpose(1, 2) for t in (q, k, v))
        return ((q @ k.transpose(-1, -2)).softmax(-1) @ v).transpose(1, 2).reshape(b, n, -1)


class StateFirstRNN(nn.Module):
    """``forward(hidden, X)``: the initial state comes first; the signal is measured from X."""

    def __init__(self, n_class=7, n_hidden=5):
        super().__init__()
        self.rnn = nn.RNN(input_size=n_class, hidden_size=n_hidden)
        self.W = nn.Linear(n_hidden, n_class, bias=False)

    def forward(self, hidden, X):
        outputs, hidden = self.rnn(X.transpose(0, 1), hidden)
        return self.W(outputs[-1])


class LockedDropout(nn.Module):
    """Identity in eval mode; in training one mask per sequence (``x.size(1), x.size(2)``):
    x is a (T, B, D) sequence though eval mode runs on anything."""

    def forward(self, x, dropout=0.5):
        if not self.training or not dropout:
            return x
        m = x.new_empty(1, x.size(1), x.size(2)).bernoulli_(1 - dropout)
        return x * m / (1 - dropout)


class TokenGridBlock(nn.Module):
    """A block over a token grid as window transformers write it: the tokens come flat
    (B, H*W, C) and forward asserts their count against the resolution it was built for."""

    def __init__(self, dim=24, input_resolution=(6, 4)):
        super().__init__()
        self.input_resolution = input_resolution
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        H, W = self.input_resolution
        B, L, C = x.shape
        assert L == H * W, "input feature has wrong size"
        x = self.norm(x).view(B, H, W, C)
        return self.proj(x).view(B, H * W, C)


class TokenGridStage(nn.Module):
    """Blocks in a list, the input passed down unchanged: the assert sits one module deeper."""

    def __init__(self, dim=24, input_resolution=(6, 4), depth=2):
        super().__init__()
        self.blocks = nn.ModuleList([TokenGridBlock(dim, input_resolution) for _ in range(depth)])

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x



class RepeatedMaskAttention(nn.Module):
    """Attention whose mask comes per sample (B, Lq, Lk) and is repeated over the heads, as
    tutorial transformers write it; the mask named like one first becomes a 4-D guess."""

    def __init__(self, d_model=32, n_heads=4):
        super().__init__()
        self.n_heads = n_heads
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model)

    def forward(self, x, attn_mask):
        B, L, D = x.shape
        q = self.q(x).view(B, L, self.n_heads, -1).transpose(1, 2)
        k = self.k(x).view(B, L, self.n_heads, -1).transpose(1, 2)
        scores = q @ k.transpose(-1, -2)
        attn_mask = attn_mask.unsqueeze(1).repeat(1, self.n_heads, 1, 1)
        scores = scores.masked_fill(attn_mask, -1e9)
        return scores.softmax(-1).mean(1)


class MergeNeighbours(nn.Module):
    """Patch merging: four neighbouring tokens concatenated (4C), then normed and reduced; the
    layers state 4 * dim, the input has dim features."""

    def __init__(self, input_resolution=(4, 4), dim=8):
        super().__init__()
        self.input_resolution = input_resolution
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        H, W = self.input_resolution
        B, L, C = x.shape
        assert L == H * W, "input feature has wrong size"
        x = x.view(B, H, W, C)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x.view(B, -1, 4 * C)))


class MergeNeighboursReduceFirst(MergeNeighbours):
    """The same merge, reduced before the norm (v2 order): the Linear sees the 4C features."""

    def __init__(self, input_resolution=(4, 4), dim=8):
        super().__init__(input_resolution, dim)
        self.norm = nn.LayerNorm(2 * dim)

    def forward(self, x):
        H, W = self.input_resolution
        B, L, C = x.shape
        assert L == H * W, "input feature has wrong size"
        x = x.view(B, H, W, C)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.norm(self.reduction(x.view(B, -1, 4 * C)))


class FlatViewAttention(nn.Module):
    """Attention that takes its sequence length from ``view(batch, -1, heads, d)``: a flat
    (B, D) input runs as one token, and a softmax over one key is 1 whatever the input."""

    def __init__(self, d_model=32, n_heads=4):
        super().__init__()
        self.n_heads = n_heads
        self.W_Q = nn.Linear(d_model, d_model)
        self.W_K = nn.Linear(d_model, d_model)
        self.W_V = nn.Linear(d_model, d_model)

    def forward(self, Q, K, V):
        batch = Q.size(0)
        q = self.W_Q(Q).view(batch, -1, self.n_heads, 8).transpose(1, 2)
        k = self.W_K(K).view(batch, -1, self.n_heads, 8).transpose(1, 2)
        v = self.W_V(V).view(batch, -1, self.n_heads, 8).transpose(1, 2)
        attn = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        return (attn @ v).transpose(1, 2).reshape(batch, -1, 32)


class DenseGraphAttention(nn.Module):
    """Graph attention over the batch's nodes: scores for every pair of nodes, masked where the
    adjacency matrix has no edge (``torch.where(adj > 0, ...)``)."""

    def __init__(self, in_features=16, out_features=8):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.attend = nn.Parameter(torch.empty(2 * out_features, 1))
        nn.init.xavier_uniform_(self.weight, gain=1.414)
        nn.init.xavier_uniform_(self.attend, gain=1.414)
        self.out_features = out_features

    def forward(self, h, adj):
        wh = h @ self.weight
        source, target = self.attend[: self.out_features], self.attend[self.out_features:]
        scores = F.leaky_relu(wh @ source + (wh @ target).T, 0.2)
        scores = torch.where(adj > 0, scores, torch.full_like(scores, -9e15))
        return F.elu(torch.softmax(scores, dim=1) @ wh)


class SparseGraphAttention(nn.Module):
    """The same over the adjacency's edges only: ``adj.nonzero()`` indexes the nodes."""

    def __init__(self, in_features=16, out_features=8):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        nn.init.xavier_normal_(self.weight, gain=1.414)

    def forward(self, x, adj):
        wh = x @ self.weight
        edges = adj.nonzero().t()
        messages = wh[edges[1]] * torch.sigmoid((wh[edges[0]] * wh[edges[1]]).sum(-1, keepdim=True))
        return torch.zeros_like(wh).index_add(0, edges[0], messages)
