"""``copy.deepcopy`` of the evaluator's values: modules and their tensors are copied, and the
copies keep the writes their originals had (a deep copy of a built model is initialised alike).
"""

from __future__ import annotations

import copy
from typing import Any

from initlint.model.tensors import Storage, Tensor
from initlint.model.values import DictObj, ListObj, Module, next_serial


def deep_copy(value: Any) -> Any:
    """A copy of a module, tensor, list or dict with everything inside it copied; any other
    value as it is."""
    if isinstance(value, (Module, Tensor, ListObj, DictObj)):
        return _deep_copy(value, {})
    return value


def _deep_copy(value: Any, memo: dict[int, Any]) -> Any:
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, Tensor):
        copied = copy.copy(value)
        copied.serial = next_serial()
        copied.storage = Storage(list(value.storage.state), list(value.storage.writes))
        memo[id(value)] = copied
        return copied
    if isinstance(value, Module):
        copied = copy.copy(value)
        copied.serial = next_serial()
        memo[id(value)] = copied
        copied.params = {k: _deep_copy(v, memo) if v is not None else None for k, v in value.params.items()}
        copied.buffers = {k: _deep_copy(v, memo) if v is not None else None for k, v in value.buffers.items()}
        copied.modules = {k: _deep_copy(v, memo) if isinstance(v, Module) else v for k, v in value.modules.items()}
        copied.attrs = {k: _deep_copy(v, memo) if isinstance(v, (Module, Tensor, ListObj, DictObj)) else v for k, v in value.attrs.items()}
        copied.path = ""
        for table in (copied.params, copied.buffers):
            for key, tensor in table.items():
                if isinstance(tensor, Tensor):
                    tensor.owner, tensor.name = copied, key
        return copied
    if isinstance(value, ListObj):
        copied = ListObj([], value.repeat)
        memo[id(value)] = copied
        copied.items = [_deep_copy(v, memo) for v in value.items]
        return copied
    if isinstance(value, DictObj):
        copied = DictObj({}, value.open)
        memo[id(value)] = copied
        copied.items = {k: _deep_copy(v, memo) for k, v in value.items.items()}
        return copied
    return value


__all__ = ["deep_copy"]
