"""Running a script's definitions: the definitions as one block each, setup statements alone.

scripts.py keeps, besides a script's definitions, the assignments they read (``env =
gym.make(...)``) and the calls that configure those values. Such setup is the script's own
code with its own failures (an environment id the installed library no longer has, a
download the guard refuses, ``env.seed`` gone from an API): a setup statement that raises, or
runs past its share of time, is left out and reported, and the module is built from the rest.
So is a constant assignment that fails (it read a setup value that failed): the classes that
need its name fail on their own, with a NameError, and the others are built; and a class or
function whose definition fails (a default that reads such a name). Imports run as before: an
error there is the module's error, except one name a module loaded so left out
(``from .video import Unet3D`` where Unet3D's definition failed): the import binds the other
names, and the left-out one is left out here too, with the reason.
"""

from __future__ import annotations

import __future__
import ast
import importlib.util
import signal
import sys
import threading
import time
from dataclasses import field
from pathlib import Path

from initlint.lean import dataclass
from initlint.probe.offline import network_reason
from initlint.probe.scripts import ScriptDefinitions

#: seconds all setup statements of one script may take together (a dataset load, a training
#: run started by an assignment); the one running when they are spent is stopped and left out
SETUP_SECONDS = 15.0


@dataclass(frozen=True)
class SetupOutcome:
    """Which setup statements ran (first lines) and which raised: (line, one-line reason)."""

    ran: tuple[int, ...]
    failed: tuple[tuple[int, str], ...]
    #: the classes and functions among ``failed``: name -> "line N: reason"
    undefined: dict[str, str] = field(default_factory=dict)
    #: names an import left out because their module left them out: name -> (line, reason)
    not_imported: dict[str, tuple[int, str]] = field(default_factory=dict)


class _SetupTimeout(Exception):
    pass


def run_definitions(source: ScriptDefinitions, file: str, namespace: dict) -> SetupOutcome:
    """Execute ``source`` (line numbers as on disk) into ``namespace``; see the module docstring."""
    tree = ast.parse(source.text)
    flags = 0
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            for alias in statement.names:
                feature = getattr(__future__, alias.name, None)
                flags |= getattr(feature, "compiler_flag", 0)
    setup = set(source.setup)
    tolerant = setup | set(source.assignments)
    # a class or function whose definition fails (a default read from a constant that failed:
    # ``def __init__(self, action_dim=action_dim)``) is left out; the others are still defined
    tolerant |= {_first(s) for s in tree.body if isinstance(s, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}
    ran, failed, block = [], [], []
    undefined: dict[str, str] = {}
    not_imported: dict[str, tuple[int, str]] = {}
    deadline = time.monotonic() + SETUP_SECONDS

    def flush() -> None:
        if block:
            code = compile(ast.Module(body=list(block), type_ignores=[]), file, "exec", flags=flags, dont_inherit=True)
            exec(code, namespace)  # noqa: S102 - the user's own file, asked for
            block.clear()

    for statement in tree.body:
        first = _first(statement)
        if isinstance(statement, ast.ImportFrom) and first not in tolerant:
            flush()
            not_imported.update(_import_from(statement, file, namespace, flags))
            continue
        if first not in tolerant:
            block.append(statement)
            continue
        flush()
        code = compile(ast.Module(body=[statement], type_ignores=[]), file, "exec", flags=flags, dont_inherit=True)
        try:
            _run_limited(code, namespace, deadline - time.monotonic())
            if first in setup:
                ran.append(first)
        except KeyboardInterrupt:
            raise
        except _SetupTimeout:
            failed.append((first, f"ran past {SETUP_SECONDS:.0f} s"))
        except BaseException as error:  # noqa: BLE001 - the script's own code: SystemExit too
            reason = network_reason(error) or f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            failed.append((first, reason[:120]))
        if failed and failed[-1][0] == first and isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            undefined[statement.name] = f"line {first}: {failed[-1][1]}"
    flush()
    return SetupOutcome(tuple(ran), tuple(failed), undefined, not_imported)


def left_out(module_name: str, name: str) -> str | None:
    """Why ``name`` is not defined in the module ``module_name`` that was loaded with its
    definitions only (its definition raised), else None."""
    module = sys.modules.get(module_name)
    outcome = getattr(module, "__initlint_setup__", None)
    return outcome.undefined.get(name) if isinstance(outcome, SetupOutcome) else None


def _import_from(statement: ast.ImportFrom, file: str, namespace: dict, flags: int) -> dict[str, tuple[int, str]]:
    """Run ``from M import a, b``; when M left one of the names out (``left_out``), bind the
    others and return the left-out names with the line and the reason. Any other error
    propagates."""
    code = compile(ast.Module(body=[statement], type_ignores=[]), file, "exec", flags=flags, dont_inherit=True)
    try:
        exec(code, namespace)  # noqa: S102 - the user's own file, asked for
        return {}
    except ImportError as error:
        package = namespace.get("__package__") or ""
        source = importlib.util.resolve_name("." * statement.level + (statement.module or ""), package) if statement.level else statement.module
        missing = {alias.name: left_out(source or "", alias.name) for alias in statement.names}
        missing = {name: why for name, why in missing.items() if why}
        if not missing or source not in sys.modules:
            raise error from None
    module = sys.modules[source]
    for alias in statement.names:
        if alias.name not in missing:
            namespace[alias.asname or alias.name] = getattr(module, alias.name)
    where = Path(getattr(module, "__file__", "") or source).name
    return {alias.asname or alias.name: (statement.lineno, f"its definition in {where} was left out ({missing[alias.name]})")
            for alias in statement.names if alias.name in missing}


def _first(statement: ast.stmt) -> int:
    return min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])


def _run_limited(code, namespace: dict, seconds: float) -> None:
    if seconds <= 0:
        raise _SetupTimeout
    if threading.current_thread() is not threading.main_thread():
        exec(code, namespace)  # noqa: S102 - no timer off the main thread; the task's timeout still holds
        return

    def stop(signum, frame):
        raise _SetupTimeout

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        exec(code, namespace)  # noqa: S102 - the user's own file, asked for
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
