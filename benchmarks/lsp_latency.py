"""How long the warm language server takes to publish diagnostics after a ``didChange``.

Builds a 1,000-line model file (twelve kinds of blocks: MLPs, CNNs, residual blocks,
attention, RNNs, GAN parts, an embedding encoder; some with init bugs so diagnostics are not
empty; some reading what the file defines once at the top: constants, an init function applied
to many models, a base class with the init method, a building block), starts
``initlint server`` as an editor would (a separate process on stdio), opens the file, then sends
RUNS full-text changes, each one edit (a width constant changes), and times each from sending
the ``didChange`` to receiving the ``publishDiagnostics`` for that version. On Linux it also
prints the server's CPU time per change, which the load of a shared machine does not inflate.

    python benchmarks/lsp_latency.py [--runs 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from lsp_client import LspClient  # noqa: E402

BLOCKS = [
    '''class MLP{n}(nn.Module):
    """A plain MLP with ReLU."""

    def __init__(self, width={w}, depth=4):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.head = nn.Linear(width, 10)
        for layer in self.layers:
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        for layer in self.layers:
            x = F.relu(layer(x))
        return self.head(x)
''',
    '''class Conv{n}(nn.Module):
    def __init__(self, channels={w}):
        super().__init__()
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, 10)
        self._init_weights()

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.fc(self.pool(x).flatten(1))
''',
    '''class Unstable{n}(nn.Module):
    def __init__(self, hidden={w}):
        super().__init__()
        self.layer1 = nn.Linear(64, hidden)
        self.layer2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)
        nn.init.uniform_(self.layer2.weight, -100, 100)

    def forward(self, x):
        x = torch.relu(self.layer1(x))
        x = torch.relu(self.layer2(x))
        return self.out(x)
''',
    '''class Attention{n}(nn.Module):
    def __init__(self, dim={w}, heads=8):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)
        nn.init.xavier_uniform_(self.qkv.weight)
        nn.init.zeros_(self.proj.weight)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.norm(x)).chunk(3, dim=-1)
        attn = (q @ k.transpose(-2, -1)) * (c ** -0.5)
        y = attn.softmax(dim=-1) @ v
        return x + self.proj(y)
''',
    '''class Generator{n}(nn.Module):
    def __init__(self, nz=100, ngf={w}):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, 3, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)
''',
    '''class Recurrent{n}(nn.Module):
    def __init__(self, hidden={w}):
        super().__init__()
        self.rnn = nn.LSTM(32, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 2)
        nn.init.xavier_normal(self.fc.weight)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])
''',
    '''class Residual{n}(nn.Module):
    def __init__(self, channels={w}):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        nn.init.kaiming_normal_(self.conv1.weight, nonlinearity="relu")
        nn.init.kaiming_normal_(self.conv2.weight, nonlinearity="relu")
        nn.init.zeros_(self.bn2.weight)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))
''',
    '''class Tabular{n}(nn.Module):
    def __init__(self, features={w}):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(features, HIDDEN), nn.Tanh(), nn.Dropout(DROPOUT), nn.Linear(HIDDEN, 1))
        self.apply(init_linear)

    def forward(self, x):
        return self.net(x)
''',
    '''class Head{n}(Base):
    def __init__(self, dim={w}):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, HIDDEN)
        self.out = nn.Linear(HIDDEN, 10)
        self._init_weights()

    def forward(self, x):
        return self.out(F.gelu(self.fc(self.norm(x))))
''',
    '''class Discriminator{n}(nn.Module):
    def __init__(self, ndf={w}):
        super().__init__()
        self.blocks = nn.Sequential(ConvBlock(3, ndf), ConvBlock(ndf, ndf * 2))
        self.head = nn.Conv2d(ndf * 2, 1, 4)
        self.apply(weights_init)

    def forward(self, x):
        return self.head(self.blocks(x)).flatten(1)
''',
    '''class Encoder{n}(nn.Module):
    def __init__(self, vocab=1000, dim={w}):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.layer = nn.TransformerEncoderLayer(dim, 4, dim * 4, DROPOUT, batch_first=True)
        self._initialize_weights()

    def forward(self, tokens):
        return self.layer(self.embed(tokens))
''',
    '''class Gated{n}(nn.Module):
    """A GRU with a gated output, small init on the output layer."""

    def __init__(self, hidden={w}):
        super().__init__()
        self.gru = nn.GRU(16, hidden, batch_first=True)
        self.gate = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 4)
        nn.init.normal_(self.out.weight, std=0.001)
        nn.init.constant_(self.out.bias, 0.0)

    def forward(self, x):
        h, _ = self.gru(x)
        return self.out(h * torch.sigmoid(self.gate(h)))
''',
]
HEADER = '''import torch
import torch.nn as nn
import torch.nn.functional as F

HIDDEN = 256
DROPOUT = 0.1


def init_linear(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("tanh"))
        nn.init.zeros_(m.bias)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        m.weight.data.normal_(0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 4, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.leaky_relu(self.bn(self.conv(x)), 0.2)


class Base(nn.Module):
    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


'''


def model_file(lines: int = 1000) -> str:
    parts = [HEADER]
    count = HEADER.count("\n")
    n = 0
    while count < lines:
        block = BLOCKS[n % len(BLOCKS)].format(n=n, w=64 + 16 * (n % 5)) + "\n\n"
        parts.append(block)
        count += block.count("\n")
        n += 1
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    text = model_file()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "models.py"
        path.write_text(text)
        uri = path.as_uri()
        client = LspClient([sys.executable, "-m", "initlint", "server"], cwd=folder)
        started = time.perf_counter()
        client.request("initialize", {"processId": None, "rootUri": Path(folder).as_uri(), "capabilities": {}})
        client.notify("initialized", {})
        ready = time.perf_counter() - started
        sent = client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
        arrived, message = client.diagnostics(uri)
        first = arrived - sent
        findings = len(message["params"]["diagnostics"])
        times = []
        cpu_before = _cpu_seconds(client.process.pid)
        for run in range(args.runs):
            changed = text.replace("width=64,", f"width={64 + run + 1},", 1)
            sent = client.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": run + 2}, "contentChanges": [{"text": changed}],
            })
            arrived, message = client.wait(
                lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"].get("version") == run + 2
            )
            times.append(arrived - sent)
        cpu_after = _cpu_seconds(client.process.pid)
        client.close()
    times.sort()
    p90 = times[int(0.9 * (len(times) - 1))]
    print(f"file: {text.count(chr(10))} lines, {findings} diagnostics")
    print(f"server start + initialize (warm-up): {ready * 1000:.0f} ms; didOpen -> diagnostics: {first * 1000:.0f} ms")
    print(f"didChange -> publishDiagnostics over {len(times)} edits: median {statistics.median(times) * 1000:.0f} ms, "
          f"p90 {p90 * 1000:.0f} ms, min {times[0] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms")
    if cpu_before is not None and cpu_after is not None:  # what the load of the machine does not change
        print(f"server CPU time per didChange: mean {(cpu_after - cpu_before) / len(times) * 1000:.0f} ms")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux), or None."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
