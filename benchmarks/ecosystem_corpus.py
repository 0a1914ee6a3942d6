"""The ecosystem corpus: which trees, at which pins, and where their files are.

Three kinds of tree:
- the model zoos and other PyPI packages, fetched with ``pip download --no-deps`` at the pins
  below (never installed) and unpacked (only ``.py`` files under ``keep``, tests left out) into
  ``benchmarks/corpus/ecosystem/src/<tree>/``;
- the 48 research repositories of ``/work/shared/corpus`` (``ECOSYSTEM_SHARED`` overrides),
  read in place and never written; initlint lints their notebooks itself and reports a
  finding in one as (cell, line in cell), cells numbered from 1 over all cells as stored.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "corpus" / "ecosystem"
DOWNLOADS = WORK / "downloads"
SOURCES = WORK / "src"


def _shared_corpus() -> Path:
    """``../shared/corpus`` beside the checkout (a worktree may sit one folder deeper)."""
    if "ECOSYSTEM_SHARED" in os.environ:
        return Path(os.environ["ECOSYSTEM_SHARED"])
    for folder in HERE.parent.parents:
        if (folder / "shared" / "corpus").is_dir():
            return folder / "shared" / "corpus"
    return HERE.parent.parent / "shared" / "corpus"


SHARED = _shared_corpus()


@dataclass(frozen=True)
class Pin:
    """One PyPI distribution at one version; ``keep`` are the archive prefixes that hold its code."""

    tree: str
    dist: str
    version: str
    keep: tuple[str, ...]
    why: str


PINS: tuple[Pin, ...] = (
    Pin("transformers", "transformers", "5.24.0", ("transformers/models/",), "model zoo"),
    Pin("timm", "timm", "1.0.31", ("timm/models/", "timm/layers/"), "model zoo"),
    Pin("torchvision", "torchvision", "0.29.1", ("torchvision/models/",), "model zoo"),
    Pin("torchaudio", "torchaudio", "2.11.0", ("torchaudio/",), "speech: wav2vec2, conformer, wavernn, tacotron2"),
    Pin("pfrl", "pfrl", "0.4.0", ("pfrl/",), "RL: LeCun init helpers, orthogonal, scaled last layers"),
    Pin("rl-games", "rl-games", "1.6.5", ("rl_games/",), "RL: initializers chosen from config dicts"),
    Pin("d3rlpy", "d3rlpy", "2.8.1", ("d3rlpy/",), "offline RL encoders"),
    Pin("sb3-contrib", "sb3-contrib", "2.9.2", ("sb3_contrib/",), "RL: orthogonal init with per-module gains"),
    Pin("nflows", "nflows", "0.14", ("nflows/",), "flows: zero-init last layers, identity init"),
    Pin("normflows", "normflows", "1.7.3", ("normflows/",), "flows: zero-init, ActNorm, structured params"),
    Pin("zuko", "zuko", "1.6.0", ("zuko/",), "flows: small modern code base"),
    Pin("demucs", "demucs", "4.1.0", ("demucs/",), "music separation: weight rescaling"),
    Pin("encodec", "encodec", "0.1.1", ("encodec/",), "audio codec: weight_norm, codebooks"),
    Pin("asteroid", "asteroid", "0.7.0", ("asteroid/",), "speech separation: filterbanks, masknets"),
    Pin("pytorch-forecasting", "pytorch-forecasting", "1.8.0", ("pytorch_forecasting/",), "time series: named_parameters loops"),
    Pin("vector-quantize-pytorch", "vector-quantize-pytorch", "1.32.0", ("vector_quantize_pytorch/",), "codebooks from torch.randn/empty"),
    Pin("perceiver-pytorch", "perceiver-pytorch", "0.11.0", ("perceiver_pytorch/",), "latents as nn.Parameter(torch.randn)"),
    Pin("schnetpack", "schnetpack", "2.1.1", ("schnetpack/",), "chemistry: init functions passed as arguments"),
    Pin("torchani", "torchani", "2.9.0", ("torchani/",), "chemistry: kaiming on CELU networks"),
    Pin("pytorch-metric-learning", "pytorch-metric-learning", "2.9.0", ("pytorch_metric_learning/",), "losses with proxy parameters"),
    Pin("pretrainedmodels", "pretrainedmodels", "0.7.4", ("pretrainedmodels/",), "older zoo: fill_/normal_ loops"),
    Pin("speechbrain", "speechbrain", "1.1.2", ("speechbrain/",), "speech: complex-valued layers, a DAC port with parametrizations.weight_norm"),
    Pin("flair", "flair", "0.15.1", ("flair/",), "NLP: models beside many dataset classes whose constructors read data"),
)


@dataclass(frozen=True)
class Tree:
    """One linted tree: ``root`` is passed to initlint; ``origin`` says where it came from."""

    name: str
    root: Path
    origin: str


def _normal(dist: str) -> str:
    return re.sub(r"[-_.]+", "_", dist).lower()


def _archive_pin(path: Path) -> tuple[str, str] | None:
    """(normalised distribution, version) of a wheel or sdist file name."""
    if path.name.endswith(".whl"):
        dist, version = path.name.split("-")[:2]
    elif path.name.endswith(".tar.gz"):
        dist, _, version = path.name.removesuffix(".tar.gz").rpartition("-")
    else:
        return None
    return _normal(dist), version


def _downloaded(pin: Pin) -> Path | None:
    want = (_normal(pin.dist), pin.version)
    return next((p for p in sorted(DOWNLOADS.glob("*")) if _archive_pin(p) == want), None)


def _is_test(relative: str) -> bool:
    parts = relative.split("/")
    name = parts[-1]
    return any(p in ("tests", "test") for p in parts[:-1]) or name.startswith("test_") or name.endswith("_test.py")


def _unpack(pin: Pin, archive: Path, target: Path) -> None:
    """Write the archive's kept .py files under target (sdists: after their top folder)."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zipped:
            members = [(name, lambda n=name: zipped.read(n)) for name in zipped.namelist()]
            _write_members(pin, members, target)
    else:
        with tarfile.open(archive) as tarred:
            members = []
            for info in tarred.getmembers():
                if info.isfile():
                    inner = info.name.split("/", 1)[1] if "/" in info.name else info.name
                    members.append((inner, lambda i=info: tarred.extractfile(i).read()))
            _write_members(pin, members, target)


def _write_members(pin: Pin, members: list, target: Path) -> None:
    for name, read in members:
        if name.endswith(".py") and name.startswith(pin.keep) and not _is_test(name):
            out = target / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(read())


def fetch(pins: tuple[Pin, ...] = PINS) -> None:
    """Download the pinned archives that are missing and unpack each tree once."""
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    missing = [f"{p.dist}=={p.version}" for p in pins if _downloaded(p) is None]
    if missing:
        print(f"ecosystem: pip download --no-deps {' '.join(missing)}", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(DOWNLOADS), *missing],
            check=True,
        )
    for pin in pins:
        archive = _downloaded(pin)
        if archive is None:
            raise SystemExit(f"ecosystem: {pin.dist}=={pin.version} was not downloaded")
        target = SOURCES / pin.tree
        stamp = target / ".unpacked-from"
        if stamp.exists() and stamp.read_text() == archive.name:
            continue
        print(f"ecosystem: unpacking {archive.name}", file=sys.stderr)
        _unpack(pin, archive, target)
        stamp.write_text(archive.name)


def cell_line(path: Path, cell: int, line: int) -> str:
    """The text of ``line`` of ``cell`` (numbered over all cells, as stored) in a notebook."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        source = cells[cell - 1].get("source", "")
    except (OSError, ValueError, IndexError, AttributeError):
        return ""
    lines = ("".join(source) if isinstance(source, list) else str(source)).splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def trees() -> list[Tree]:
    """Every tree, in report order: zoos and PyPI packages, then the shared repositories."""
    found = [Tree(p.tree, SOURCES / p.tree, f"PyPI {p.dist}=={p.version}") for p in PINS]
    if not SHARED.is_dir():
        raise SystemExit(f"ecosystem: shared corpus not found at {SHARED} (set ECOSYSTEM_SHARED)")
    manifest = {row["folder"]: row for row in json.loads((SHARED / "manifest.json").read_text())}
    for folder in sorted(SHARED.iterdir(), key=lambda p: p.name.lower()):
        if folder.is_dir():
            row = manifest.get(folder.name, {})
            origin = f"{row.get('repository', folder.name)}@{row.get('commit', '?')[:10]}"
            found.append(Tree(folder.name, folder, origin))
    return found
