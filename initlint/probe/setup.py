"""Running a script's definitions: the definitions as one block each, setup statements alone.

scripts.py keeps, besides a script's definitions, the assignments they read (``env =
gym.make(...)``) and the calls that configure those values. Such setup is the script's own
code with its own failures (an environment id the installed library no longer has, a
download the guard refuses, ``env.seed`` gone from an API): a setup statement that raises, or
runs past its share of time, is left out and reported, and the module is built from the rest.
So is a constant assignment that fails (it read a setup value that failed): the classes that
need its name fail on their own, with a NameError, and the others are built; and a class or
function whose definition fails (a default that reads such a name). Imports run as before: an
error there is the module's error.
"""

from __future__ import annotations

import __future__
import ast
import signal
import threading
import time
from dataclasses import dataclass, field

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
    deadline = time.monotonic() + SETUP_SECONDS

    def flush() -> None:
        if block:
            code = compile(ast.Module(body=list(block), type_ignores=[]), file, "exec", flags=flags, dont_inherit=True)
            exec(code, namespace)  # noqa: S102 - the user's own file, asked for
            block.clear()

    for statement in tree.body:
        first = _first(statement)
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
    return SetupOutcome(tuple(ran), tuple(failed), undefined)


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
