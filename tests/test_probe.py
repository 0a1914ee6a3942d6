"""The probe: seeded measurements of the seeds' models, confirmations, faults, CLI and API.

Needs torch (CI installs the CPU build); GPU tests skip without CUDA.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.probe
nn = torch.nn

import initlint  # noqa: E402
from conftest import ROOT  # noqa: E402

MODELS = Path(__file__).parent / "probe_models"
sys.path.insert(0, str(MODELS))
sys.path.insert(0, str(ROOT / "examples"))

from seed_models import SimpleModel, UnstableModel  # noqa: E402
from tanh_models import HeTanh, NormalTanh  # noqa: E402


def probe(model, x):
    torch.manual_seed(0)
    return initlint.probe(model, x)


def seeded(cls, *args):
    torch.manual_seed(0)
    return cls(*args)


def weight_layers(report):
    return [layer for layer in report.layers if layer.has_weight]


@pytest.mark.slow
def test_unstable_model_output_std_is_about_3e5_times_the_input():
    report = probe(seeded(UnstableModel, 64), torch.randn(64, 64))
    ratio = math.sqrt(report.output_gain)
    assert 1e5 < ratio < 1e6  # the seeds' "about 3e5" at input 64, hidden 128
    assert [v.kind for v in report.verdicts] == ["exploding"]
    assert report.max_stable_lr < 1e-5


def test_simple_model_gets_no_verdict_and_a_normal_learning_rate():
    report = probe(seeded(SimpleModel, 64), torch.randn(64, 64))
    assert report.verdicts == []
    assert 0.1 < report.max_stable_lr < 10
    assert [round(l.signal_gain, 1) for l in weight_layers(report)] == [0.3, 0.3]


def test_ten_layers_at_std_001_vanish_although_biases_keep_the_activations_alive():
    layers = [nn.Linear(100, 100) for _ in range(10)]
    torch.manual_seed(0)
    for layer in layers:
        nn.init.normal_(layer.weight, std=0.01)
    report = probe(nn.Sequential(*layers), torch.randn(100, 100))
    assert 1e-3 < report.output_gain < 1e-2  # activation variance plateaus near 3e-3
    assert report.signal_gain < 1e-19  # while the output no longer depends on the input
    assert all(0.005 < l.signal_gain < 0.02 for l in weight_layers(report))
    assert {v.kind for v in report.verdicts} == {"vanishing"}


@pytest.mark.slow
def test_he_before_tanh_grows_per_layer_without_saturating():
    for depth, low, high in ((8, 1.4, 2.0), (32, 4.5, 6.5)):
        report = probe(seeded(HeTanh, 256, depth), torch.randn(64, 256))
        gains = [l.signal_gain for l in weight_layers(report)]
        assert all(1.8 < g < 2.2 for g in gains)  # pre-activation std x1.41 per layer
        assert low < report.first_last_grad < high  # about 1.7 at 8 layers, 5.6 at 32
        assert max(l.saturated for l in weight_layers(report)) < 0.1  # ~6% at most
        assert report.verdicts == []


def test_std_one_before_tanh_saturates_and_explodes_gradients():
    report = probe(seeded(NormalTanh, 256, 8), torch.randn(64, 256))
    saturated = [l.saturated for l in weight_layers(report)]
    assert all(0.8 < s < 0.95 for s in saturated)  # about 87% at |y| > 0.99
    assert 1e3 < report.first_last_grad < 5e3  # ~2e3 at 8 layers
    kinds = [v.kind for v in report.verdicts]
    assert "saturation" in kinds and "exploding" in kinds


def test_the_same_seed_gives_the_same_numbers():
    first = probe(seeded(HeTanh, 64, 4), torch.randn(8, 64)).to_dict()
    second = probe(seeded(HeTanh, 64, 4), torch.randn(8, 64)).to_dict()
    first.pop("seconds"), second.pop("seconds")
    assert first == second


@pytest.fixture
def probed(cli):
    def run(paths, *options, cwd=ROOT):
        # a fixed batch: measured numbers depend on the sample, the default batch on the time budget
        result = cli(["--no-cache", "--format", "json", "--probe", "--device", "cpu", "--probe-batch", "64", *options, *paths], cwd)
        return result, json.loads(result.stdout or "[]")

    return run


@pytest.mark.slow
def test_cli_confirms_the_seeds_findings(probed):
    result, findings = probed(["examples", "tests/fixtures/seeds_signal.py"])
    status = {(Path(f["path"]).name, f["line"], f["code"]): f["probe"]["status"] for f in findings}
    assert status == {
        ("seed_models.py", 34, "IL201"): "confirmed",
        ("seed_models.py", 36, "IL201"): "confirmed",
        ("zero_init.py", 18, "IL101"): "confirmed",
        ("zero_init.py", 19, "IL101"): "confirmed",
        ("zero_init.py", 46, "IL102"): "confirmed",
        ("seeds_signal.py", 10, "IL203"): "confirmed",
        ("seeds_signal.py", 27, "IL301"): "confirmed",
        ("seeds_signal.py", 48, "IL302"): "confirmed",
    }
    unstable = next(f for f in findings if f["line"] == 36)
    assert unstable["probe"]["measured"].startswith("measured signal variance x5")
    assert "predicted x4.3e5" in unstable["probe"]["measured"]
    zero = next(f for f in findings if f["code"] == "IL102")
    assert zero["probe"]["measured"] == "weight rows after 3 SGD steps: 0 rank 0 of 256, 2 rank 0 of 10"
    assert result.exit_code == 1


@pytest.mark.slow
def test_refuted_findings_do_not_fail_the_run(probed, tmp_path):
    # the finding holds for the constructor's defaults; built with low=-1 the weights are centred
    (tmp_path / "m.py").write_text(
        "import torch.nn as nn\n\n"
        "class M(nn.Module):\n"
        "    def __init__(self, low=0.0):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(64, 64)\n"
        "        nn.init.uniform_(self.fc.weight, low, 1.0)\n\n"
        "    def forward(self, x):\n"
        "        return self.fc(x)\n"
    )
    result, findings = probed(["m.py"], "--select", "IL204", cwd=tmp_path)
    assert [(f["code"], f["probe"]["status"]) for f in findings] == [("IL204", "confirmed")]
    assert result.exit_code == 1
    result, findings = probed(["m.py"], "--select", "IL204", "--probe-arg", "M.low=-1.0", cwd=tmp_path)
    assert [(f["code"], f["probe"]["status"]) for f in findings] == [("IL204", "refuted")]
    assert result.exit_code == 0


@pytest.mark.slow
def test_every_fault_of_user_code_is_one_error_and_the_run_goes_on(probed):
    # limits generous enough for a loaded machine; the hang gets its own short limit below
    result, findings = probed(
        ["tests/probe_models/faults.py", "tests/probe_models/broken_import.py"],
        "--probe-timeout", "120", "--probe-memory", "1500",
    )
    got = {f["line"]: (f["probe"]["status"], f["probe"].get("reason", f["probe"].get("measured"))) for f in findings}
    # a package that is not installed, imported at the top and never used by the model, gets a
    # stand-in (probe/standins.py): the model is measured, and a use of it would be the error
    assert got[10] == ("confirmed", "measured signal variance x2.1e5 per layer (std x460) on fc; predicted x2.1e5; its file "
                       "was imported with a stand-in for a module that is not installed, unused by the model")
    assert got[14][0] == "confirmed"
    assert got[24] == ("error", "build: ValueError: checkpoint not found (at faults.py:26)")
    assert got[36][0] == "error" and got[36][1].startswith("forward: RuntimeError: shape '[3, -1, 7]' is invalid")
    assert got[36][1].endswith("(at faults.py:39); the probe fed x=Bx64 float32; pass --probe-input x=SHAPE[:dtype]")
    assert got[46][0] == "error" and got[46][1].startswith("memory: the model used ")
    assert got[58] == ("error", "worker: the worker process exited with code 3")
    assert got[68] == ("error", "worker: the worker process crashed (SIGSEGV)")
    assert got[78] == ("not probed", "NeedsConfig.config.in has no value the probe can infer; pass --probe-arg NeedsConfig.config=VALUE or a factory")
    assert result.exit_code == 1  # errors are not refutations: the findings still count
    # a forward that never returns is stopped at the limit (it would be at any limit)
    result, findings = probed(["tests/probe_models/hangs.py"], "--probe-timeout", "3")
    assert [(f["line"], f["probe"]["status"], f["probe"]["reason"]) for f in findings] == [
        (12, "error", "timeout: no result after 3 s (--probe-timeout); the model was stopped"),
    ]
    assert result.exit_code == 1


def test_probe_arg_builds_a_model_that_needs_one(probed, tmp_path):
    (tmp_path / "needs.py").write_text(
        "import torch.nn as nn\n\n\n"
        "class NeedsConfig(nn.Module):\n"
        "    def __init__(self, config):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(config['in'], 64)\n"
        "        nn.init.uniform_(self.fc.weight, -100, 100)\n\n"
        "    def forward(self, x):\n"
        "        return self.fc(x)\n"
    )
    _, findings = probed(["needs.py"], "--probe-arg", "NeedsConfig.config={'in': 64}", cwd=tmp_path)
    assert [(f["line"], f["code"], f["probe"]["status"]) for f in findings] == [(8, "IL201", "confirmed")]
    assert findings[0]["probe"]["measured"].startswith("measured signal variance x")


@pytest.mark.slow
def test_legitimate_models_get_no_verdict(cli):
    # torchvision's zero-init residual BN, nanoGPT's scaled c_proj, DiT's adaLN-Zero, LoRA's B = 0
    for name in ("ResNet", "GPT", "DiTBlock", "LoRALinear"):
        target = f"tests/probe_models/legit.py:{name}"
        result = cli(["probe", "--device", "cpu", "--probe-batch", "16", "--format", "json", target], ROOT)
        report = json.loads(result.stdout)
        assert (target, report["verdicts"]) == (target, []), result.stdout[-2000:]
        assert result.exit_code == 0


def test_probe_command_text_and_errors(cli, tmp_path):
    result = cli(["probe", "--device", "cpu", "--probe-batch", "64", "examples/seed_models.py:UnstableModel"], ROOT)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[2].split() == ["layer", "type", "out", "std", "gain", "signal", "grad/w", "sat", "%", "dead", "%"]
    assert lines[0].startswith("examples/seed_models.py:UnstableModel: input inputs 64x64 float32, device cpu, seed 0, ")
    assert "verdict: exploding: activation variance x2.2e5 from input to the last layer (at layer2's input)" in result.stdout
    assert "largest stable SGD learning rate at init: 2.3e-7 (2 / lambda_max, lambda_max = 8.6e6; exact Hessian-vector products, 12 Lanczos steps" in result.stdout
    bad = cli(["probe", "examples/seed_models.py"], ROOT)
    assert bad.exit_code == 2 and "TARGET must be path.py:Class, notebook.ipynb:Class or package.module:Class" in bad.output
    missing = cli(["probe", "examples/seed_models.py:Nope"], ROOT)
    assert missing.exit_code == 2
    assert "probe: error (build: `Nope` is not defined at the top level of the module)" in missing.output


@pytest.mark.slow
def test_plot_needs_matplotlib_or_draws(cli, tmp_path):
    result = cli(["probe", "--device", "cpu", "--plot", str(tmp_path / "p.png"), "examples/seed_models.py:SimpleModel"], ROOT)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert result.exit_code == 2 and "--plot needs matplotlib" in result.output
    else:
        assert result.exit_code == 0 and (tmp_path / "p.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_asked_for_without_a_gpu_is_a_clear_error(cli):
    result = cli(["probe", "--device", "cuda", "examples/seed_models.py:SimpleModel"], ROOT)
    assert result.exit_code == 2
    assert "--device cuda was asked for, but torch" in result.output


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_probe_matches_cpu(cli):
    cpu = json.loads(cli(["probe", "--device", "cpu", "--format", "json", "examples/seed_models.py:UnstableModel"], ROOT).stdout)
    gpu = json.loads(cli(["probe", "--device", "cuda", "--format", "json", "examples/seed_models.py:UnstableModel"], ROOT).stdout)
    assert gpu["device"] == "cuda"
    assert math.isclose(gpu["output_gain"], cpu["output_gain"], rel_tol=0.05)


def test_static_lint_never_imports_torch_even_with_models_around(tmp_path):
    import subprocess

    code = (
        "import sys; from initlint.cli import main; sys.argv=['initlint','--no-cache','examples'];\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_probe_table_in_pyproject(cli, tmp_path):
    (tmp_path / "models.py").write_text(
        "import torch.nn as nn\n\n"
        "class Encoder(nn.Module):\n"
        "    def __init__(self, config):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(config['channels'], 8, 3)\n"
        "        nn.init.uniform_(self.conv.weight, -100, 100)\n\n"
        "    def forward(self, x):\n"
        "        return self.conv(x)\n"
    )
    (tmp_path / "factories.py").write_text(
        "from models import Encoder\n\ndef make():\n    return Encoder({'channels': 4})\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        "[tool.initlint.probe]\n"
        "device = 'cpu'\n"
        "factory = { Encoder = 'factories:make' }\n"
        "input-shape = { Encoder = [4, 16, 16] }\n"
    )
    result = cli(["--no-cache", "--format", "json", "--probe", "models.py"], tmp_path)
    (finding,) = json.loads(result.stdout)
    assert finding["probe"]["status"] == "confirmed", finding["probe"]
    assert "predicted x1.2e5" in finding["probe"]["measured"]  # 36 x 3.3e3 at fan-in 4 x 3 x 3
    (tmp_path / "pyproject.toml").write_text("[tool.initlint.probe]\nmemory = 1\n")
    bad = cli(["--probe", "models.py"], tmp_path)
    assert bad.exit_code == 2
    assert "[tool.initlint.probe] unknown key 'memory'; known keys: device, timeout, memory-mb" in bad.output


@pytest.mark.slow
def test_tiny_policy_head_and_zero_head_are_not_vanishing():
    class Actor(nn.Module):
        def __init__(self, head_bound=3e-3):
            super().__init__()
            self.fc1, self.fc2, self.mu = nn.Linear(8, 256), nn.Linear(256, 256), nn.Linear(256, 2)
            nn.init.uniform_(self.mu.weight, -head_bound, head_bound)

        def forward(self, x):
            return torch.tanh(self.mu(torch.relu(self.fc2(torch.relu(self.fc1(x))))))

    report = probe(seeded(Actor), torch.randn(64, 8))
    assert report.verdicts == []
    assert 0.1 < report.first_last_grad < 10  # fc1 against fc2: the hidden path
    zero_head = seeded(Actor, 0.0)
    report = probe(zero_head, torch.randn(64, 8))
    # judged at fc2's input: the zero head is a design, judged by what feeds it
    assert report.verdicts == [] and report.judged_at == "fc2" and 0.1 < report.hidden_signal_gain < 0.3


@pytest.mark.slow
def test_verdict_thresholds_come_from_the_probe_table(tmp_path):
    from initlint.probe.options import build_options

    options = build_options({"max-grad-ratio": 1.5})
    assert options.thresholds == {"max_grad_ratio": 1.5}
    from initlint.probe.verdicts import ProbeThresholds, judge

    report = probe(seeded(HeTanh, 256, 8), torch.randn(64, 256))
    assert judge(report, ProbeThresholds(**options.thresholds))[0].reason == "first/last gradient ratio 1.7 > 1.5"


@pytest.mark.slow
def test_probe_results_reach_github_and_sarif(cli):
    github = cli(["--no-cache", "--probe", "--device", "cpu", "--format", "github", "examples/seed_models.py"], ROOT)
    assert github.stdout.count("%0Aprobe: confirmed (measured signal variance x") == 2
    sarif = json.loads(cli(["--no-cache", "--probe", "--device", "cpu", "--format", "sarif", "examples/seed_models.py"], ROOT).stdout)
    results = sarif["runs"][0]["results"]
    assert [r["properties"]["probe"]["status"] for r in results] == ["confirmed", "confirmed"]
    assert results[1]["message"]["text"].endswith("predicted x4.3e5)")


@pytest.mark.slow
def test_the_initlint_process_never_imports_torch_or_user_code_with_probe():
    import subprocess

    code = (
        "import sys; from initlint.cli import main\n"
        "sys.argv = ['initlint', '--no-cache', '--probe', '--device', 'cpu', 'examples/seed_models.py']\n"
        "try:\n    main()\nexcept SystemExit as done:\n    code = done.code\n"
        "leaked = [m for m in sys.modules if m == 'torch' or 'seed_models' in m]\n"
        "assert code == 1 and not leaked, (code, leaked)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("probe: confirmed") == 2


@pytest.mark.slow
def test_findings_that_predict_an_error_are_confirmed_by_it(probed, tmp_path):
    (tmp_path / "m.py").write_text(
        "import torch.nn as nn\n\n"
        "class InPlace(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(8, 8)\n"
        "        self.fc.weight.normal_(0.0, 0.1)\n\n"
        "    def forward(self, x):\n"
        "        return self.fc(x)\n\n"
        "class Reversed(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(8, 8)\n"
        "        nn.init.uniform_(self.fc.weight, 0.1, -0.1)\n\n"
        "    def forward(self, x):\n"
        "        return self.fc(x)\n"
    )
    _, findings = probed(["m.py"], "--select", "IL502,IL206", cwd=tmp_path)
    assert [(f["code"], f["probe"]["status"]) for f in findings] == [("IL502", "confirmed"), ("IL206", "confirmed")]
    assert findings[0]["probe"]["measured"].startswith(
        "building the model raised RuntimeError: a leaf Variable that requires grad"
    )
    assert findings[1]["probe"]["measured"].startswith(
        "building the model raised RuntimeError: uniform_ expects to return a [from, to) range"
    )


def test_cli_confirms_a_reset_parameters_override_that_writes_nothing(probed):
    # issue 11 kind 10: the subclass's no-op override leaves torch.empty memory in the layer
    result, findings = probed(["tests/fixtures/shipped_reset_noop.py"])
    assert [(f["line"], f["code"], f["probe"]["status"]) for f in findings] == [(37, "IL208", "confirmed")]
    assert result.exit_code == 1
