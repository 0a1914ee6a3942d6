"""Secondary measurements never fail a model (issue 12 item 5): the learning rate falls back to
finite differences where torch has no double backward, unused parameters are allowed, a step that
raises becomes one note, and tied embeddings skip the first/last gradient ratio. In-process: the
Python API, no worker (the norm test runs `initlint probe`)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
pytestmark = pytest.mark.probe

import initlint  # noqa: E402


def seeded(cls, *args):
    torch.manual_seed(0)
    return cls(*args)


class HardSigmoidNet(nn.Module):
    """Hardsigmoid has no double backward on CPU (mobilenet_v3's case)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(32, 64), nn.Linear(64, 8)

    def forward(self, x):
        return self.fc2(nn.functional.hardsigmoid(self.fc1(x)))


class UnusedPooler(nn.Module):
    """A parameter the loss never reaches (BERT's pooler when only the sequence output is used)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.pooler = nn.Linear(32, 64), nn.Linear(64, 8), nn.Linear(8, 8)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class TiedLM(nn.Module):
    def __init__(self, vocab=50, width=32):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.mix = nn.Linear(width, width)
        self.head = nn.Linear(width, vocab, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, ids):
        return self.head(torch.tanh(self.mix(self.embed(ids))))


class BreaksAfterOneCall(nn.Module):
    """The measurement's forward works; every later call (SGD steps, learning rate) raises."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(16, 16), nn.Linear(16, 4)
        nn.init.zeros_(self.fc1.weight)  # identical units: the SGD steps would run
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls > 3:  # the forward, the signal pass and the backward pass
            raise RuntimeError("the data loader is gone")
        return self.fc2(torch.relu(self.fc1(x)))


def test_no_double_backward_falls_back_to_finite_differences():
    report = initlint.probe(seeded(HardSigmoidNet), torch.randn(64, 32))
    assert report.lr_method is not None and report.lr_method.startswith("finite differences Hessian-vector products")
    assert report.max_stable_lr is not None and report.max_stable_lr > 0
    assert report.verdicts == []


def test_unused_parameters_keep_the_learning_rate():
    report = initlint.probe(seeded(UnusedPooler), torch.randn(64, 32))
    assert report.lr_method is not None and report.lr_method.startswith("exact Hessian-vector products")
    assert report.max_stable_lr is not None and not [n for n in report.notes if n.startswith("learning rate")]


def test_tied_embeddings_skip_the_gradient_ratio_with_a_note():
    report = initlint.probe(seeded(TiedLM), torch.randint(0, 50, (8, 12)))
    assert report.first_last_grad is None
    assert "head shares its weight with another layer (tied embeddings): the first/last gradient ratio is skipped" in report.notes


def test_a_failing_secondary_measurement_is_one_note_and_the_rest_stays():
    report = initlint.probe(seeded(BreaksAfterOneCall), torch.randn(64, 16))
    assert [n for n in report.notes if ": not measured (" in n] == [
        "SGD steps: not measured (RuntimeError: the data loader is gone)",
        "learning rate: not measured (RuntimeError: the data loader is gone)",
    ]
    assert [layer.name for layer in report.layers if layer.has_weight] == ["fc1", "fc2"]
    assert report.signal_gain is not None


NECK = '''
import torch.nn as nn


class ReIdNet(nn.Module):
    """A BatchNorm1d neck after global pooling sees one value per sample and channel."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.neck = nn.BatchNorm1d(16)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.neck(self.pool(self.stem(x)).flatten(1)))
'''


@pytest.mark.slow
def test_a_norm_layer_that_sees_too_few_values_runs_in_eval_mode_and_says_so(cli, tmp_path):
    import json

    (tmp_path / "reid.py").write_text(NECK)
    result = cli(["probe", "--device", "cpu", "--probe-batch", "2", "--format", "json", "reid.py:ReIdNet"], tmp_path)
    report = json.loads(result.stdout)
    assert report["norm_eval"] is True and report["verdicts"] == []
    assert (
        "BatchNorm measured in eval mode (its initial statistics): in train mode it would see 2 values per "
        "channel (fewer than 32); verdicts on this input are warnings"
    ) in report["notes"]
    assert result.exit_code == 0


DEAD_IN_EVAL = NECK.replace("ReIdNet", "ShiftedReIdNet").replace(
    "        self.head = nn.Linear(16, 10)\n",
    "        self.head = nn.Linear(16, 10)\n        nn.init.constant_(self.stem[0].bias, -5.0)\n",
)


@pytest.mark.slow
def test_dead_units_behind_batchnorm_in_eval_mode_are_a_warning_not_a_verdict(cli, tmp_path):
    """Eval-mode BatchNorm at its initial statistics does not center: the stem's channels, all
    shifted by -5, are off on every input; train mode would center them."""
    import json

    (tmp_path / "reid.py").write_text(DEAD_IN_EVAL)
    result = cli(["probe", "--device", "cpu", "--probe-batch", "2", "--format", "json", "reid.py:ShiftedReIdNet"], tmp_path)
    report = json.loads(result.stdout)
    assert report["norm_eval"] is True and report["verdicts"] == []
    assert [(w["kind"], w["reason"]) for w in report["warnings"]] == [
        ("vanishing", "signal variance x4.5e-9 from input to the last layer (at head's input)"),
        ("dead", "100% of units dead (ReLU) (stem.2)"),
    ]
    assert result.exit_code == 0


class NegativeBias(nn.Module):
    """Every ReLU unit of fc1 is negative on every input: dead, when enough values show it."""

    def __init__(self):
        super().__init__()
        self.fc1, self.relu, self.fc2 = nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)
        nn.init.constant_(self.fc1.bias, -100.0)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


def test_dead_units_need_enough_values_per_unit():
    from initlint.probe.tensors import MIN_DEAD_ROWS, dead_share

    assert MIN_DEAD_ROWS == 16
    assert dead_share(-torch.ones(15, 8)) is None and dead_share(-torch.ones(16, 8)) == 1.0
    wide = initlint.probe(seeded(NegativeBias), torch.randn(32, 16), learning_rate=False)
    assert [(v.kind, v.reason) for v in wide.verdicts if v.kind == "dead"] == [("dead", "100% of units dead (ReLU) (2 layers, most in fc1)")]
    # two samples (a squeeze-excitation unit after global pooling at batch 2) cannot tell
    narrow = initlint.probe(seeded(NegativeBias), torch.randn(2, 16), learning_rate=False)
    assert [layer.dead for layer in narrow.layers] == [None, None, None]
    assert [v.kind for v in narrow.verdicts if v.kind == "dead"] == []


class _Attend(nn.Module):
    def forward(self, query, key, value):
        return torch.matmul((query @ key.transpose(-2, -1)).softmax(dim=-1), value)


class SingleKeyAttention(nn.Module):
    """Fed one position, softmax over a single key is 1 whatever the query: the output does not
    depend on the query at all (the forward's math), which is no vanishing signal."""

    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.out = (nn.Linear(16, 16) for _ in range(4))
        self.attend = _Attend()

    def forward(self, query, key, value):
        q, k, v = (layer(x).unsqueeze(1) for layer, x in ((self.q, query), (self.k, key), (self.v, value)))
        return self.out(self.attend(q, k, v).squeeze(1))


class DeadRelu(nn.Module):
    """A bias of -100 kills every ReLU unit: the signal is cut by the init, a real collapse."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(32, 32), nn.Linear(32, 32), nn.Linear(32, 32)
        nn.init.constant_(self.a.bias, -100.0)

    def forward(self, x):
        return self.c(self.b(nn.functional.relu(self.a(x))))


def test_an_input_the_output_does_not_depend_on_is_no_vanishing_signal():
    model = seeded(SingleKeyAttention)
    report = initlint.probe(model, (torch.randn(32, 16), torch.randn(32, 16), torch.randn(32, 16)))
    assert report.verdicts == []
    assert report.signal_cut == "attend" and report.signal_gain is None and report.first_last_grad is None
    assert (
        "the output does not depend on the input through attend (its JVP tangent is exactly 0 there, and no "
        "weight on the way is zero): the forward's math, not an init scale; signal gains omitted"
    ) in report.notes
    assert (
        "q gets a gradient of exactly 0 with no zero weight after it: the output does not depend on it "
        "(the forward's math, not an init scale); the first/last gradient ratio is skipped"
    ) in report.notes


def test_a_signal_cut_by_dead_units_stays_a_verdict():
    report = initlint.probe(seeded(DeadRelu), torch.randn(64, 32))
    assert report.signal_cut is None
    assert [v.kind for v in report.verdicts] == ["vanishing", "vanishing", "dead"]


class LongKernels(nn.Module):
    """Kernels of 41 with stride 4 (an audio discriminator), Kaiming init for its leaky ReLU: on
    a short input most taps see padding, which alone shrinks the signal."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv1d(1 if i == 0 else 32, 32, 41, 4, padding=20) for i in range(5)])
        for conv in self.convs:
            nn.init.kaiming_normal_(conv.weight, a=0.1, nonlinearity="leaky_relu")
        self.post = nn.Conv1d(32, 1, 3, 1, padding=1)

    def forward(self, x):
        for conv in self.convs:
            x = nn.functional.leaky_relu(conv(x), 0.1)
        return self.post(x)


def test_a_collapse_the_padding_of_long_kernels_explains_is_a_warning():
    report = initlint.probe(seeded(LongKernels), torch.randn(16, 1, 128))
    assert report.verdicts == []
    assert [v.kind for v in report.warnings] == ["vanishing"]
    note = next(n for n in report.notes if n.startswith("the input reached"))
    assert note.startswith("the input reached convs.1 and 4 more shorter than its kernel (41,): only x")
    assert note.endswith("a warning, not a verdict (pass --probe-input with the size the model is used at)")


def test_a_lanczos_run_that_never_settled_reports_an_upper_bound_on_the_rate():
    from initlint.probe.measure import _Call
    from initlint.probe.report import ModelReport
    from initlint.probe.training import stable_learning_rate

    call = _Call(seeded(UnusedPooler), (torch.randn(64, 32),), {})
    settled, one_step = ModelReport("m"), ModelReport("m")
    stable_learning_rate(call, settled, seed=0)
    stable_learning_rate(call, one_step, seed=0, iterations=1)
    assert not settled.lr_upper_bound and "had not settled" not in settled.lr_method
    assert one_step.lr_upper_bound
    assert one_step.lr_method == (
        "exact Hessian-vector products, 1 Lanczos steps; the top Ritz value had not settled, so lambda_max is at "
        "least this and the rate at most"
    )
    # one Ritz value is a lower bound on the curvature: the rate it gives is above the settled one
    assert one_step.hessian_max <= settled.hessian_max and one_step.max_stable_lr >= settled.max_stable_lr


class FractionProposal(nn.Module):
    """FQF's fraction proposal: one Linear at xavier gain .01 by design, softmax then cumsum."""

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(64, 32)
        nn.init.xavier_uniform_(self.net.weight, gain=0.01)
        nn.init.zeros_(self.net.bias)

    def forward(self, x):
        return torch.cumsum(torch.softmax(self.net(x), dim=1), dim=1)


class TinyHidden(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden, self.out = nn.Linear(64, 64), nn.Linear(64, 32)
        nn.init.normal_(self.hidden.weight, std=1e-4)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


def test_a_single_weight_layer_is_the_output_layer_judged_at_its_input():
    report = initlint.probe(seeded(FractionProposal), torch.randn(64, 64))
    assert report.judged_at == "net" and report.hidden_signal_gain == pytest.approx(1.0)
    assert [v.kind for v in report.verdicts] == []
    # a small hidden layer before the output is still judged: the signal dies before the head
    report = initlint.probe(seeded(TinyHidden), torch.randn(64, 64))
    assert report.judged_at == "out" and [v.kind for v in report.verdicts] == ["vanishing"]


class ZeroHidden(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(16, 16), nn.Linear(16, 4)
        nn.init.zeros_(self.fc1.weight)  # identical units: the SGD steps run

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def test_sgd_steps_stop_before_a_step_that_would_pass_the_deadline(monkeypatch):
    from initlint.probe import training
    from initlint.probe.measure import _Call

    model = seeded(ZeroHidden)
    report = initlint.probe(model, torch.randn(64, 16))
    assert report.sgd_steps == 3 and [l.identical_after_sgd is not None for l in report.layers if l.name == "fc1"] == [True]
    ticks = iter(range(1, 100))  # a clock that moves one second per reading
    monkeypatch.setattr(training.time, "monotonic", lambda: next(ticks))
    training.symmetry_after_sgd(model, _Call(model, (torch.randn(64, 16),), {}), report, 0, 3, deadline=4.5)
    assert report.sgd_steps == 1  # the first step took one tick: a second would end past 4.5
    assert "SGD steps: 1 of 3 (the time budget was spent)" in report.notes
    with pytest.raises(RuntimeError, match="no room for one step"):
        training.symmetry_after_sgd(model, _Call(model, (torch.randn(64, 16),), {}), report, 0, 3,
                                    deadline=4.5, step_seconds=10.0)


@pytest.mark.parametrize("idle, workers, expected", [
    (2.0, "1", 2),   # a quiet 2-core machine, one worker: both cores
    (1.8, "1", 2),   # noise on an otherwise idle machine
    (1.4, "1", 1),   # one core busy elsewhere
    (2.0, "2", 1),   # two workers share the two cores
    (15.0, "1", 4),  # never more than 4
])
def test_task_threads_follow_the_idle_cores_now_and_the_pool_size(monkeypatch, idle, workers, expected):
    from initlint.probe import worker

    monkeypatch.setattr(worker.os, "cpu_count", lambda: 16 if idle > 2 else 2)
    monkeypatch.setattr(worker, "_idle_cores", lambda cores: idle)
    monkeypatch.setenv("INITLINT_PROBE_WORKERS", workers)
    assert worker.threads() == expected


def test_a_learning_rate_step_that_would_pass_the_memory_cap_is_skipped_with_its_reason():
    report = initlint.probe(seeded(UnusedPooler), torch.randn(64, 32))
    assert report.max_stable_lr is not None
    from initlint.probe.measure import _lr_memory_room

    assert _lr_memory_room(seeded(UnusedPooler), 1e6) is None  # a terabyte cap
    why = _lr_memory_room(nn.Linear(4096, 4096), 1.0)  # 64 MiB of parameters under a 1 MiB cap
    assert why.startswith("it needs about ") and why.endswith(
        "MiB (8 copies of 64 MiB of parameters), above 90% of the 1 MiB cap (--probe-memory)")


class GaussianKL(nn.Module):
    """A loss with no parameters: its output's variance grows with the input's, no init involved."""

    def forward(self, mu, logvar):
        return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())


def test_a_module_without_parameters_gets_no_verdict_and_says_what_was_measured():
    torch.manual_seed(0)
    report = initlint.probe(GaussianKL(), (10 * torch.randn(64, 16), 10 * torch.randn(64, 16)))
    assert report.verdicts == [] and report.warnings == []
    [note] = [n for n in report.notes if n.startswith("no parameters")]
    assert note == "no parameters, so no initialization to judge (measured: activation variance x5.2e26 from input to output)"


class ClassAttentionBlock(nn.Module):
    """CaiT's class-attention block: patch tokens ``x`` reach the output only through a branch
    gated by LayerScale (1e-5 by design); the class token ``x_cls`` passes through its residual."""

    def __init__(self, dim=32):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, 4, batch_first=True)
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(1e-5 * torch.ones(dim))

    def forward(self, x, x_cls):
        u = self.norm(torch.cat([x_cls, x], dim=1))
        x_cls = x_cls + self.gamma * self.attn(u[:, :1], u, u, need_weights=False)[0]
        return x_cls + self.gamma * self.fc2(torch.relu(self.fc1(self.norm(x_cls))))


def test_every_floating_point_argument_carries_the_signal():
    report = initlint.probe(seeded(ClassAttentionBlock), (torch.randn(8, 16, 32), torch.randn(8, 1, 32)))
    assert report.verdicts == []
    assert 0.9 < report.signal_gain < 1.1
    assert "the first argument's signal alone reaches the output at x1.8e-12; measured from all 2 floating-point arguments together, as they enter the model" in report.notes
