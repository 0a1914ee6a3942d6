"""initlint: find weight-initialization bugs in PyTorch model code before they cost a run.

``import initlint`` stays light (no torch, no libcst) so the CLI starts fast under pre-commit;
the API below is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "check_source", "probe"]


def __getattr__(name: str) -> Any:
    if name == "check_source":
        from initlint.engine import check_source

        return check_source
    if name == "probe":
        import importlib

        return importlib.import_module("initlint.probe")  # a callable module: initlint.probe(model, x)
    raise AttributeError(f"module 'initlint' has no attribute {name!r}")
