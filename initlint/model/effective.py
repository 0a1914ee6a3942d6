"""Each tensor's effective initial values: the last write that holds on every path.

A tensor's storage keeps the alternatives for its last write (more than one when a write ran
under an undecided test, or when code the evaluator cannot see may have changed it). Its init
is established only when one alternative remains and it is not an unknown change.
"""

from __future__ import annotations

from typing import Any

from initlint.model.tensors import Tensor, Write


def established(tensor: Tensor) -> Write | None:
    """The write that decides the tensor's initial values, when there is exactly one.

    A checkpoint loaded on some paths only (``if pretrained: model.load_state_dict(...)``) is
    left out: on the other paths the model trains from its init, which is what rules judge.
    """
    state = tensor.root.storage.state
    if len(state) > 1:
        state = [write for write in state if not (write.kind == "loaded" and write.conditional)]
    if len(state) != 1:
        return None
    write = state[0]
    return None if write.kind in ("unknown", "loaded") else write


def by_author(write: Write) -> bool:
    """A write the code made (not PyTorch's own default init)."""
    return write.kind in ("init", "arithmetic")


def trainable(tensor: Tensor) -> bool:
    """A parameter the optimizer updates: created as one and never frozen (as far as known)."""
    root = tensor.root
    return root.parameter and root.requires_grad is True


def second_moment(tensor: Tensor, write: Write) -> float | None:
    """E[W^2] of the write's values for the tensor's shape (None when not established)."""
    if tensor.derived is not None:
        return tensor.derived.second_moment(tensor.root.shape)
    try:
        return write.dist.second_moment(tensor.root.shape)
    except (ArithmeticError, ValueError, TypeError):
        return None


def possible_writes(tensor: Tensor) -> list[Write]:
    return list(tensor.root.storage.state)


__all__ = ["Any", "by_author", "established", "possible_writes", "second_moment", "trainable"]
