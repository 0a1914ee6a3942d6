"""Legitimate designs written the way real projects write them: ``--probe=all`` must build and run
every one with no argument and report no measured problem.

Each class is a small version of a known idiom: zero-init residual branches, zero heads and gates,
conditioning arguments (``t``, ``c``, ``hint``, ``offsets``), tuple and multi-argument forwards,
distributions as outputs, first layers that are norms or bare matrices, seeds, configs.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    """torchvision's BasicBlock with zero_init_residual (bn2.weight = 0)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.down = None
        if stride != 1 or inplanes != planes:
            self.down = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        nn.init.constant_(self.bn2.weight, 0)

    def forward(self, x):
        identity = x if self.down is None else self.down(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + identity)


class TinyResNet(nn.Module):
    """An ImageNet-style ResNet: it pools 32x, so a 32x32 input ends at 1x1."""

    def __init__(self, num_classes=10, widths=(16, 32, 64, 128)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 7, 2, 3, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        layers, inplanes = [], widths[0]
        for i, width in enumerate(widths):
            layers.append(BasicBlock(inplanes, width, 1 if i == 0 else 2))
            inplanes = width
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(widths[-1], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1))


class VGG(nn.Module):
    """VGG-style: its classifier expects 512 x 7 x 7 after adaptive pooling."""

    def __init__(self, cfg=(64, "M", 128, "M", 256, "M", 512, "M"), num_classes=1000):
        super().__init__()
        layers, channels = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(channels, v, 3, padding=1), nn.ReLU(inplace=True)]
                channels = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 1024), nn.ReLU(True), nn.Dropout(), nn.Linear(1024, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@dataclass
class GPTConfig:
    block_size: int = 256
    vocab_size: int = 50304
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.n_head = config.n_head

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class GPTBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x))))


class NanoGPT(nn.Module):
    """nanoGPT: a config dataclass, tied embeddings, c_proj scaled by 1/sqrt(2 n_layer)."""

    def __init__(self, config):
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.h = nn.ModuleList([GPTBlock(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x)), None


def timestep_embedding(t, dim, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class DiT(nn.Module):
    """DiT: patchify, timestep and label embedders, adaLN-Zero blocks, a zero final layer."""

    def __init__(self, input_size=16, patch_size=2, in_channels=4, hidden_size=96, depth=3, num_classes=10):
        super().__init__()
        self.patch = patch_size
        self.x_embedder = nn.Conv2d(in_channels, hidden_size, patch_size, patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, (input_size // patch_size) ** 2, hidden_size), requires_grad=False)
        self.t_mlp = nn.Sequential(nn.Linear(64, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size))
        self.y_embedder = nn.Embedding(num_classes + 1, hidden_size)
        self.blocks = nn.ModuleList([AdaLNBlock(hidden_size) for _ in range(depth)])
        self.final_mod = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))
        self.final = nn.Linear(hidden_size, patch_size * patch_size * in_channels)
        nn.init.normal_(self.y_embedder.weight, std=0.02)
        for block in self.blocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        for layer in (self.final_mod[-1], self.final):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x, t, y):
        h = self.x_embedder(x).flatten(2).transpose(1, 2) + self.pos_embed
        c = self.t_mlp(timestep_embedding(t, 64)) + self.y_embedder(y)
        for block in self.blocks:
            h = block(h, c)
        shift, scale = self.final_mod(c).chunk(2, dim=1)
        return self.final(F.layer_norm(h, h.shape[-1:]) * (1 + scale[:, None]) + shift[:, None])


class AdaLNBlock(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.attn = nn.MultiheadAttention(hidden_size, 4, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(hidden_size, 4 * hidden_size), nn.GELU(), nn.Linear(4 * hidden_size, hidden_size))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(self, x, c):
        s1, sc1, g1, s2, sc2, g2 = self.adaLN_modulation(c).chunk(6, dim=1)
        h = F.layer_norm(x, x.shape[-1:]) * (1 + sc1[:, None]) + s1[:, None]
        x = x + g1[:, None] * self.attn(h, h, h, need_weights=False)[0]
        h = F.layer_norm(x, x.shape[-1:]) * (1 + sc2[:, None]) + s2[:, None]
        return x + g2[:, None] * self.mlp(h)


class ControlNetBlock(nn.Module):
    """ControlNet: a trainable copy fed through zero convolutions; its output is zero by design."""

    def __init__(self, channels=32):
        super().__init__()
        self.zero_in = nn.Conv2d(3, channels, 1)
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1))
        self.zero_out = nn.Conv2d(channels, channels, 1)
        for conv in (self.zero_in, self.zero_out):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, x, hint):
        return self.zero_out(self.body(x + self.zero_in(hint)))


class LoRAAttention(nn.Module):
    """LoRA on q and v: B = 0, the base projection carries the signal."""

    def __init__(self, dim=64, rank=4):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.lora_a = nn.Parameter(torch.empty(rank, dim))
        self.lora_b = nn.Parameter(torch.zeros(dim, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q + x @ self.lora_a.t() @ self.lora_b.t()
        attention = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
        return self.proj(attention @ v)


class LSTMLanguageModel(nn.Module):
    """AWD-LSTM style: U(-0.1, 0.1) embeddings and decoder, sequence-first LSTM."""

    def __init__(self, ntoken, ninp=64, nhid=128, nlayers=2):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers)
        self.decoder = nn.Linear(nhid, ntoken)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, input, hidden=None):
        output, hidden = self.rnn(self.encoder(input), hidden)
        return self.decoder(output), hidden


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class LlamaMLPBlock(nn.Module):
    """Pre-norm RMSNorm and a SwiGLU MLP; the first thing forward does is a norm."""

    def __init__(self, dim=64, hidden_dim=172):
        super().__init__()
        self.norm = RMSNorm(dim)
        self.w1 = nn.Linear(dim, hidden_dim, bias=False)
        self.w3 = nn.Linear(dim, hidden_dim, bias=False)
        self.w2 = nn.Linear(hidden_dim, dim, bias=False)

    def forward(self, x):
        h = self.norm(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class CLIPHead(nn.Module):
    """CLIP: two projections and a learned temperature initialised to log(1 / 0.07)."""

    def __init__(self, image_dim=96, text_dim=64, embed_dim=32):
        super().__init__()
        self.visual_proj = nn.Parameter(torch.randn(image_dim, embed_dim) * image_dim ** -0.5)
        self.text_proj = nn.Parameter(torch.randn(text_dim, embed_dim) * text_dim ** -0.5)
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))

    def forward(self, image_features, text_features):
        image = F.normalize(image_features @ self.visual_proj, dim=-1)
        text = F.normalize(text_features @ self.text_proj, dim=-1)
        return self.logit_scale.exp() * image @ text.t()


class IRNN(nn.Module):
    """Le et al.'s IRNN: identity recurrent matrix, ReLU, small input weights."""

    def __init__(self, input_size=16, hidden_size=64, num_classes=10):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, nonlinearity="relu", batch_first=True)
        nn.init.eye_(self.rnn.weight_hh_l0)
        nn.init.normal_(self.rnn.weight_ih_l0, std=0.001)
        nn.init.zeros_(self.rnn.bias_hh_l0)
        nn.init.zeros_(self.rnn.bias_ih_l0)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


class DiracNet(nn.Module):
    """Dirac-initialised convolutions: each starts as the identity map."""

    def __init__(self, channels=16, depth=6):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.convs = nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=1) for _ in range(depth)])
        for conv in self.convs:
            nn.init.dirac_(conv.weight)
            nn.init.zeros_(conv.bias)
        self.head = nn.Linear(channels, 10)

    def forward(self, x):
        x = self.stem(x)
        for conv in self.convs:
            x = F.relu(conv(x))
        return self.head(x.mean((2, 3)))


class GaussianActor(nn.Module):
    """A PPO policy: orthogonal init, a 0.01 policy head, returns a distribution."""

    def __init__(self, obs_dim, act_dim, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.mu = nn.Linear(hidden, act_dim)
        self.log_std = nn.Parameter(torch.zeros(act_dim))
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.orthogonal_(m.weight, math.sqrt(2))
                nn.init.zeros_(m.bias)
        nn.init.orthogonal_(self.mu.weight, 0.01)
        nn.init.zeros_(self.mu.bias)

    def forward(self, obs):
        return torch.distributions.Normal(self.mu(self.net(obs)), self.log_std.exp())


class Critic(nn.Module):
    """TD3's critic: forward(state, action), concatenated."""

    def __init__(self, state_dim, action_dim):
        super().__init__()
        self.l1 = nn.Linear(state_dim + action_dim, 256)
        self.l2 = nn.Linear(256, 256)
        self.l3 = nn.Linear(256, 1)

    def forward(self, state, action):
        sa = torch.cat([state, action], 1)
        return self.l3(F.relu(self.l2(F.relu(self.l1(sa)))))


class SeededQNetwork(nn.Module):
    """A DQN whose constructor takes a seed it only stores and hands to torch.manual_seed."""

    def __init__(self, state_size, action_size, seed, fc1_units=64, fc2_units=64):
        super().__init__()
        self.seed = torch.manual_seed(seed)
        self.fc1 = nn.Linear(state_size, fc1_units)
        self.fc2 = nn.Linear(fc1_units, fc2_units)
        self.fc3 = nn.Linear(fc2_units, action_size)

    def forward(self, state):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(state)))))


class WN(nn.Module):
    """WaveGlow's WN: forward takes a tuple, kernel_size must be odd, the end conv is zero."""

    def __init__(self, n_in_channels, n_mel_channels, n_layers=2, n_channels=32, kernel_size=3):
        super().__init__()
        assert kernel_size % 2 == 1
        self.start = nn.Conv1d(n_in_channels, n_channels, 1)
        self.cond = nn.Conv1d(n_mel_channels, 2 * n_channels * n_layers, 1)
        self.in_layers = nn.ModuleList(
            [nn.Conv1d(n_channels, 2 * n_channels, kernel_size, dilation=2**i, padding=(kernel_size * 2**i - 2**i) // 2) for i in range(n_layers)]
        )
        self.end = nn.Conv1d(n_channels, 2 * n_in_channels, 1)
        self.end.weight.data.zero_()
        self.end.bias.data.zero_()
        self.n_channels = n_channels

    def forward(self, forward_input):
        audio, spect = forward_input
        audio = self.start(audio)
        cond = self.cond(spect)
        output = torch.zeros_like(audio)
        for i, layer in enumerate(self.in_layers):
            acts = layer(audio) + cond[:, i * 2 * self.n_channels:(i + 1) * 2 * self.n_channels]
            acts = torch.tanh(acts[:, :self.n_channels]) * torch.sigmoid(acts[:, self.n_channels:])
            audio = audio + acts
            output = output + acts
        return self.end(output)


class ConditionalMLP(nn.Module):
    """forward(x, c): a conditioning vector it concatenates (c's size is the constructor's)."""

    def __init__(self, x_dim=32, c_dim=8, hidden=64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(x_dim + c_dim, hidden), nn.ReLU(), nn.Linear(hidden, x_dim))

    def forward(self, x, c):
        return self.net(torch.cat([x, c], dim=-1))


class EmbeddingBagClassifier(nn.Module):
    """forward(text, offsets): the PyTorch text tutorial's classifier."""

    def __init__(self, vocab_size, embed_dim=64, num_class=4):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim)
        self.fc = nn.Linear(embed_dim, num_class)
        self.embedding.weight.data.uniform_(-0.5, 0.5)
        self.fc.weight.data.uniform_(-0.5, 0.5)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        return self.fc(self.embedding(text, offsets))


class BareMatrix(nn.Module):
    """No layers at all: ``x @ self.W`` with a Glorot-scaled matrix."""

    def __init__(self, n_in=48, n_out=32):
        super().__init__()
        self.W = nn.Parameter(torch.randn(n_in, n_out) * math.sqrt(2.0 / (n_in + n_out)))
        self.b = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.tanh(x @ self.W + self.b)


class NormFirst(nn.Module):
    """The first layer is a LayerNorm (a tabular model's input normalisation)."""

    def __init__(self, n_features=20, hidden=64):
        super().__init__()
        self.norm = nn.LayerNorm(n_features)
        self.mlp = nn.Sequential(nn.Linear(n_features, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.mlp(self.norm(x))


class TransformerClassifier(nn.Module):
    """nn.TransformerEncoder on token ids with a learned positional table."""

    def __init__(self, ntoken=1000, d_model=64, nhead=4, nlayers=2, max_len=128):
        super().__init__()
        self.embed = nn.Embedding(ntoken, d_model)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, nlayers)
        self.head = nn.Linear(d_model, 2)
        nn.init.trunc_normal_(self.pos, std=0.02)

    def forward(self, src):
        h = self.encoder(self.embed(src) + self.pos[:, : src.shape[1]])
        return self.head(h.mean(1))


class PatchViT(nn.Module):
    """A small ViT: it asserts its image size, zero head, trunc_normal(0.02) everywhere else."""

    def __init__(self, img_size=64, patch_size=8, dim=64, depth=2, num_classes=10):
        super().__init__()
        self.img_size = img_size
        self.patch_embed = nn.Conv2d(3, dim, patch_size, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (img_size // patch_size) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[nn.TransformerEncoderLayer(dim, 4, 2 * dim, batch_first=True, norm_first=True) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        assert x.shape[-1] == self.img_size, f"Wrong image width! Expected {self.img_size} but got {x.shape[-1]}!"
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


class DCGANGenerator(nn.Module):
    """DCGAN: N(0, 0.02) convolutions and BatchNorm weights N(1, 0.02), a latent input."""

    def __init__(self, nz=32, ngf=16, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False), nn.Tanh(),
        )
        for m in self.modules():
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, input):
        return self.main(input)


class GCNLayer(nn.Module):
    """forward(x, adj): Kipf's GCN layer with a Glorot-uniform weight."""

    def __init__(self, in_features=32, out_features=16):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x, adj):
        return F.relu(adj @ (x @ self.weight))


class ReZeroBlock(nn.Module):
    """ReZero: a residual branch scaled by a gate that starts at 0."""

    def __init__(self, dim=64):
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        self.alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x + self.alpha * self.fc2(F.gelu(self.fc1(x)))


class SqueezeExcite(nn.Module):
    """An SE block alone: global pooling, two 1x1 convs, a sigmoid gate."""

    def __init__(self, channels=64, reduction=16):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x):
        w = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        return x * w


class UNetDown(nn.Module):
    """A diffusion U-Net stage: forward(x, timesteps) with a GroupNorm'ed residual block."""

    def __init__(self, in_channels=3, channels=32, time_dim=64):
        super().__init__()
        self.inp = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.norm = nn.GroupNorm(8, channels)
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.time = nn.Linear(time_dim, channels)
        self.out = nn.Conv2d(channels, channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.time_dim = time_dim

    def forward(self, x, timesteps):
        h = self.inp(x)
        t = self.time(timestep_embedding(timesteps, self.time_dim))
        r = self.conv(F.silu(self.norm(h))) + t[:, :, None, None]
        return h + self.out(F.silu(r))


def resnet_tiny(num_classes=10):
    """A factory, as torchvision writes them."""
    return TinyResNet(num_classes=num_classes)
