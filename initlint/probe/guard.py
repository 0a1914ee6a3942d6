"""The user's tree stays unchanged: in a task child, writes under the project root are refused.

Importing a script runs its top level, and scripts save checkpoints (``torch.save(net,
'net.pkl')``), download datasets (``MNIST(root='./mnist', download=True)``) and make folders
for samples. The task child works with the project root as its working directory, so those
writes would land in the user's tree. Before the import, ``refuse_writes(root)`` wraps the few
functions through which Python writes files (``open`` for writing, ``os.open`` with a write
flag, ``mkdir``, ``remove``, ``rename``, ``rmdir``): below ``root`` they raise
``PermissionError`` naming the path, so the import fails in the script's own top level and the
probe runs its definitions only (scripts.py). Writes elsewhere (``/tmp``, caches) pass. This is
a guard against accidents in the child that dies after the task, not a sandbox.
"""

from __future__ import annotations

import builtins
import io
import os
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _inside(path: Any, root: str) -> bool:
    if isinstance(path, int):
        return False  # a file descriptor: opened already
    try:
        resolved = os.path.realpath(os.fspath(path))
    except (TypeError, ValueError):
        return False
    return resolved == root or resolved.startswith(root + os.sep)


def _refused(path: Any) -> PermissionError:
    return PermissionError(f"initlint's probe does not write into the project: {os.fspath(path)}")


def refuse_writes(root: str) -> None:
    """Wrap the file-writing functions of this process (see the module docstring)."""
    root = os.path.realpath(root)
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in str(mode) for flag in "wax+") and _inside(file, root):
            raise _refused(file)
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & _WRITE_FLAGS and _inside(path, root):
            raise _refused(path)
        return real_os_open(path, flags, *args, **kwargs)

    builtins.open = io.open = guarded_open  # type: ignore[assignment]
    os.open = guarded_os_open  # type: ignore[assignment]
    for name in ("mkdir", "remove", "unlink", "rmdir", "rename", "replace"):
        original = getattr(os, name)

        def guarded(path, *args, _original=original, **kwargs):
            if _inside(path, root):
                raise _refused(path)
            return _original(path, *args, **kwargs)

        setattr(os, name, guarded)
    import torch  # torch.save writes a path through its C++ zip writer, not through open

    real_save = torch.save

    def guarded_save(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)) and _inside(f, root):
            raise _refused(f)
        return real_save(obj, f, *args, **kwargs)

    torch.save = guarded_save  # type: ignore[assignment]
