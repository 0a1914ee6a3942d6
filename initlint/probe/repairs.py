"""Calling a constructor again after a failure the probe's own guesses caused.

A guessed value can break a constructor in ways its code states: a download switch
(``pretrained=True``, offline.py), an ``assert`` on the value (asserts.py), a layer's
divisibility check (``GroupNorm(32, channels)`` with 3 channels). Each repair changes only a
value the user did not give, and says what it changed; anything else fails as before.
"""

from __future__ import annotations

import inspect
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from initlint.probe.asserts import failed_assert, satisfying_value
from initlint.probe.offline import download_switches, network_reason


#: constructor calls tried again after a repair (an assert's value, a download switch)
_REPAIRS = 4


def call_repairing(function: Callable[..., Any], kwargs: dict[str, Any], given: dict[str, Any],
                   notes: list[str], assumed: dict[str, Any], parameters: set[str]) -> Any:
    """``function(**kwargs)``; when it fails on a download it has a switch for, or on its own
    ``assert`` about a value the user did not give, the call is made again with the switch off
    or the value the assert allows (asserts.py), and noted."""
    target = function.__init__ if inspect.isclass(function) else function
    code = getattr(target, "__code__", None)
    for attempt in range(_REPAIRS + 1):
        try:
            with _uninitialised_memory_filled():
                return function(**kwargs)
        except Exception as error:
            if attempt == _REPAIRS:
                raise
            switches = download_switches(function, given) if network_reason(error) else {}
            switches = {k: v for k, v in switches.items() if kwargs.get(k) is not False}
            if switches:
                kwargs.update(switches)  # ``pretrained=False``: the init, as a user measuring it builds it
                shown = ", ".join(f"{k}=False" for k in switches)
                notes.append(f"built with {shown}: with its default the constructor downloads weights, and the probe measures the init")
                continue
            divisible = _divisible(error, kwargs, assumed, given)
            if divisible is not None:
                name, value, note = divisible
                kwargs[name] = assumed[name] = value
                notes.append(note)
                continue
            failed = failed_assert(error, code)
            found = satisfying_value(failed, parameters - set(given)) if failed else None
            if found is None:
                raise
            name, value = found
            old = failed.local.get(name)
            kwargs[name] = assumed[name] = value
            notes.append(f"`{name}` {old!r}->{value!r}: the nearest value the constructor's `assert {failed.text}` "
                         f"(line {failed.line}) allows")
    raise AssertionError("unreachable")  # pragma: no cover


_DIVISIBLE = re.compile(r"\((\d+)\)[^()]*divisible by[^()]*\((\d+)\)")


def _divisible(error: Exception, kwargs: dict[str, Any], assumed: dict[str, Any],
               given: dict[str, Any]) -> tuple[str, int, str] | None:
    """A layer that refuses an assumed size for divisibility (``GroupNorm(32, channels)``:
    "num_channels (3) must be divisible by num_groups (32)"): the assumed parameter of that
    value, raised to the nearest multiple; None when no assumed value is the one refused."""
    match = _DIVISIBLE.search(str(error))
    if match is None:
        return None
    refused, divisor = int(match.group(1)), int(match.group(2))
    names = [n for n, v in assumed.items() if n not in given and type(kwargs.get(n)) is int and kwargs[n] == refused]
    if not names or divisor <= 0:
        return None
    value = -(-refused // divisor) * divisor
    note = (f"`{names[0]}` {refused}->{value}: a layer needs it divisible by {divisor} "
            f"({type(error).__name__}: {str(error).splitlines()[0][:120]})")
    return names[0], value, note


@contextmanager
def _uninitialised_memory_filled() -> Iterator[None]:
    """While the model is built, ``torch.empty`` memory is filled (NaN; integers their max),
    as torch does in deterministic mode: otherwise a parameter nothing writes holds whatever
    the memory held (zeros on fresh pages, old values after reuse), and the same model is
    measured healthy in one run and exploding in the next."""
    import torch

    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    torch.utils.deterministic.fill_uninitialized_memory = True
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = fill
