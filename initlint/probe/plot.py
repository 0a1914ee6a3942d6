"""``initlint probe --plot FILE.png``: activation std and gradient norm per layer, log axis."""

from __future__ import annotations

from pathlib import Path

from initlint.probe.report import ModelReport


class PlotError(Exception):
    pass


def plot_report(report: ModelReport, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError("--plot needs matplotlib: pip install 'initlint[plot]'") from None
    layers = [layer for layer in report.layers if layer.out_std is not None]
    names = [layer.name for layer in layers]
    figure, axis = plt.subplots(figsize=(max(6, 0.4 * len(names)), 4))
    axis.plot(names, [max(layer.out_std or 0, 1e-30) for layer in layers], marker="o", label="activation std")
    grads = [(n, layer.grad_norm) for n, layer in zip(names, layers) if layer.grad_norm]
    if grads:
        axis.plot([n for n, _ in grads], [g for _, g in grads], marker="s", label="weight gradient norm")
    axis.set_yscale("log")
    axis.set_title(report.target)
    axis.tick_params(axis="x", rotation=90)
    axis.legend()
    figure.tight_layout()
    try:
        figure.savefig(path)
    except OSError as error:
        raise PlotError(f"cannot write {path}: {error}") from None
    finally:
        plt.close(figure)
