"""Confirmations from measured numbers (pure Python: reports built by hand, no torch)."""

from __future__ import annotations

from initlint.findings import Effect, Finding, Location, Prediction
from initlint.probe.confirm import confirm
from initlint.probe.measured import measured_findings
from initlint.probe.candidates import Definition, module_classes
from initlint.probe.report import LayerStats, ModelReport, Verdict


def finding(effect=Effect.EXPLODING, **prediction):
    return Finding("IL999", "x", effect, "m", Location("m.py", 3, 5, 3, 9), prediction=Prediction(model="Net", **prediction))


def test_an_uninitialised_tensor_is_confirmed_by_nan_or_an_off_scale_signal():
    empty = finding(uninitialised=True, layers=("fc",))
    layer = LayerStats("fc", "Linear", has_weight=True, signal_gain=3e-9)
    assert confirm(empty, ModelReport("Net", layers=[layer])) == {
        "status": "confirmed", "measured": "fc: variance x3e-9, off-scale for any init",
    }
    layer.signal_gain, layer.nonfinite = 0.4, True
    assert confirm(empty, ModelReport("Net", layers=[layer]))["measured"] == "NaN or Inf in the forward pass at fc"
    layer.nonfinite = False
    assert confirm(empty, ModelReport("Net", layers=[layer])) == {
        "status": "refuted", "measured": "finite and on scale (fc x0.4): the memory happened to hold sane values",
    }
    whole = finding(uninitialised=True)  # a parameter that is no layer's weight: judged at the output
    assert confirm(whole, ModelReport("Net", output_gain=6.7e33))["measured"] == "the output: variance x6.7e33, off-scale for any init"


def test_a_measured_problem_becomes_a_finding_unless_a_static_one_explains_it():
    report = ModelReport("Net", verdicts=[Verdict("exploding", "activation variance x2e5 from input to output"),
                                          Verdict("dead", "80% of units dead (ReLU) (fc1)")],
                         inputs={"x": "Bx32 float32"})
    definition = Definition("Net", 4, 1, 10, True)
    codes = {"IL901", "IL905"}
    found = measured_findings("m.py", definition, report, [], codes)
    assert [(f.code, f.location.line, f.message) for f in found] == [
        ("IL901", 4, "Net: activation variance x2e5 from input to output (measured on x Bx32 float32, seed 0)"),
        ("IL905", 4, "Net: 80% of units dead (ReLU) (fc1) (measured on x Bx32 float32, seed 0)"),
    ]
    static = finding(Effect.EXPLODING)
    static.probe = {"status": "confirmed"}
    assert [f.code for f in measured_findings("m.py", definition, report, [static], codes)] == ["IL905"]
    static.probe = {"status": "refuted"}  # a refuted prediction explains nothing
    assert [f.code for f in measured_findings("m.py", definition, report, [static], codes)] == ["IL901", "IL905"]
    assert measured_findings("m.py", definition, report, [], {"IL905"}, lambda code, line: True) == []


def test_module_classes_follow_bases_across_files():
    texts = {
        "a.py": "import torch.nn as nn\nclass Base(nn.Module):\n    pass\nclass Plain:\n    pass\n",
        "b.py": "from a import Base\nclass Net(Base):\n    pass\nclass Seq(nn.Sequential):\n    pass\nclass P(nn.Parameter):\n    pass\n",
        "c.py": "def broken(:\n",
    }
    found = module_classes(texts)
    assert {path: [d.name for d in defs] for path, defs in found.items()} == {"a.py": ["Base"], "b.py": ["Net", "Seq"], "c.py": []}


def test_a_class_is_a_module_by_its_own_bases_generic_bases_resolve_and_data_modules_are_not():
    texts = {
        "a.py": "import torch.nn as nn\nclass PPO(nn.Module):\n    pass\nclass Net(nn.Module, Generic[T]):\n    pass\n",
        "b.py": "class PPO:\n    pass\nclass Solver(object):\n    pass\nclass Head(Net[Any]):\n    pass\n",
        "c.py": "class Data(LightningDataModule):\n    pass\nclass Model(LightningModule):\n    pass\n",
    }
    found = module_classes(texts)
    assert {path: [d.name for d in defs] for path, defs in found.items()} == {
        "a.py": ["PPO", "Net"], "b.py": ["Head"], "c.py": ["Model"],
    }
