"""The lint child, forked as the program starts: it imports the engine while the parent reads
the command line.

A one-file run (pre-commit, an editor's save) lints in a forked child anyway (isolation.py),
and before it can start, one process used to import the command line (click, ~60 ms) and then
the engine (~55 ms) one after the other. Forked before either, the child imports the engine on
a second core while the parent imports click, reads the options, the config and the files;
then the parent hands it the work through a pipe. The child is taken at most once; where the
parent does not lint through it (a worker pool, every file from the cache, an error), it is
killed and reaped (``discard``), at the latest when the program exits.

Only os, pickle and signal: this module is imported before anything else.
"""

from __future__ import annotations

import os
import pickle
import signal
from typing import Any, Callable, NoReturn, Sequence

#: the commands of ``initlint`` other than ``check``: none of them lints through the child
#: (tests/test_prefork.py holds this equal to cli.main's commands)
OTHER_COMMANDS = frozenset({"rules", "rule", "server", "probe"})
#: options after which ``check`` lints nothing in a child: it prints and exits, or lints stdin
#: in-process
_NO_CHILD_OPTIONS = frozenset({"-h", "--help", "--version", "--show-files", "--show-settings", "-"})
#: what the child says once it has read its work: from then on, its death costs the item it was on
STARTED = "started"


class ReadyChild:
    """A forked child waiting for its work: ``send`` it, then read results from ``results``."""

    __slots__ = ("pid", "_work", "results")

    def __init__(self, pid: int, work: int, results: int) -> None:
        self.pid = pid
        self._work = work  # write end: the pickled work
        self.results = results  # read end: STARTED, then one pickled result per item

    def send(self, work: Any) -> bool:
        """Hand the child its work; False if it is gone (it never started it)."""
        try:
            with os.fdopen(self._work, "wb") as stream:
                pickle.dump(work, stream, protocol=pickle.HIGHEST_PROTOCOL)
        except (OSError, pickle.PicklingError):
            return False
        finally:
            self._work = -1
        return True

    def close(self) -> None:
        """Kill the child (it may still be importing) and reap it."""
        for end in (self._work, self.results):
            if end >= 0:
                try:
                    os.close(end)
                except OSError:
                    pass
        self._work = self.results = -1
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


_ready: ReadyChild | None = None


def lints_in_child(args: list[str]) -> bool:
    """Whether ``initlint ARGS`` may lint files through the child: a ``check`` run (the
    default command) that names files and no folder (a folder, ``.`` by default, is mostly
    linted by a worker pool), does not read stdin, and neither prints help nor lists files."""
    if not args or args[0] in OTHER_COMMANDS:
        return False
    if any(arg in _NO_CHILD_OPTIONS or arg.startswith("--stdin-filename") or os.path.isdir(arg) for arg in args):
        return False
    return any(os.path.isfile(arg) for arg in args)


def start(args: list[str]) -> None:
    """Fork the lint child now when ``args`` may lint through it (where there is fork)."""
    global _ready
    if _ready is not None or not hasattr(os, "fork") or not lints_in_child(args):
        return
    work_read, work_write = os.pipe()
    results_read, results_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(work_write)
        os.close(results_read)
        _serve(work_read, results_write)  # never returns
    os.close(work_read)
    os.close(results_write)
    _ready = ReadyChild(pid, work_write, results_read)
    import atexit

    atexit.register(discard)


def take() -> ReadyChild | None:
    """The waiting child, now the caller's to send work to and to reap; None if there is none."""
    global _ready
    child, _ready = _ready, None
    return child


def waiting() -> bool:
    """Whether the child forked at start-up waits for work."""
    return _ready is not None


def discard() -> None:
    """No lint will go through the child: kill and reap it."""
    child = take()
    if child is not None:
        child.close()


def _serve(work: int, results: int) -> None:
    """The child: import the engine, wait for ``(function, items)``, and send back STARTED and
    then the results (``send_results``). Silent until its work comes: a parent that never
    sends any has nothing to hear from it."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent reports, the child just ends
        import initlint.batch  # noqa: F401  what a lint imports, while the parent reads the command line
        import initlint.documents  # noqa: F401
        import initlint.engine  # noqa: F401
        import initlint.stack_room  # noqa: F401

        with os.fdopen(work, "rb") as stream:
            function, items = pickle.load(stream)
    except BaseException:
        os._exit(0)
    send_results(function, items, results, first=STARTED)


def send_results(function: Callable[[Any], Any], items: Sequence[Any], results: int, first: Any = None) -> NoReturn:
    """In a forked child: ``first`` (when given), then ``function(item)`` for each item, each
    pickled into ``results`` as soon as it is done; then the child ends. A crash prints its
    traceback and ends it with 70: the parent marks the item it was on lost."""
    code = 0
    try:
        with os.fdopen(results, "wb") as stream:
            if first is not None:
                pickle.dump(first, stream, protocol=pickle.HIGHEST_PROTOCOL)
                stream.flush()
            for item in items:
                pickle.dump(function(item), stream, protocol=pickle.HIGHEST_PROTOCOL)
                stream.flush()
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 70
    finally:
        os._exit(code)


__all__ = ["OTHER_COMMANDS", "STARTED", "ReadyChild", "discard", "lints_in_child", "send_results", "start", "take", "waiting"]
