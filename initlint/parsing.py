"""Source text to a tree, or a one-line reason why not: safely, and no slower than needed.

``parse`` gives the evaluator's tree (tree/): CPython parses, build.py gives the nodes
libcst's shapes, about a quarter of a libcst parse. ``parse_lossless`` gives libcst's own tree,
every space and comment kept, for the fixes' edits.

Safely: libcst's native parser takes minutes on, or overflows the C stack with (a segfault),
code that nests thousands of levels deep: a 3,000-term ``1+1+...`` chain, a thousand nested
brackets, a 10,000-branch ``elif`` chain; the evaluator's recursion would fail on it too.
CPython's parser refuses the worst of it cleanly, and the tree it returns is measured
(nesting.py) before either tree is built.
"""

from __future__ import annotations

import ast
import sys
import threading
import warnings
from typing import TYPE_CHECKING

from initlint.nesting import may_nest_deeply, too_deep
from initlint.tree import nodes
from initlint.tree.build import build_module
from initlint.tuning import is_own_process

if TYPE_CHECKING:
    import libcst as cst


def parse(text: str, lazy: bool = False) -> nodes.Module | str:
    """The module's tree for the evaluator (tree/nodes.py), or why it cannot be parsed (one
    line, CPython's words). CPython parses it; code nested too deep for initlint to read
    safely is refused here, as libcst would be refused it (nesting.py). With ``lazy``, each
    function's body is built when first read (a file read for its definitions)."""
    tree = python_tree(text)
    if isinstance(tree, str):
        return _newer_syntax(text, tree)
    if may_nest_deeply(text):
        reason = too_deep(tree)
        if reason is not None:
            return reason
    try:
        module = build_module(tree, text, lazy)
    except (RecursionError, MemoryError) as error:
        return f"file too deeply nested to parse ({type(error).__name__})"
    if _SETTLING:
        import gc

        gc.freeze()  # see settle_after_file
    return module


def _newer_syntax(text: str, reason: str) -> nodes.Module | str:
    """A file CPython refuses may be written for a newer Python (``class Box[T]:`` read by
    3.11): libcst reads every version it knows, and its tree is copied into the evaluator's.
    If libcst refuses it too, CPython's reason stands."""
    module = parse_lossless(text)
    if isinstance(module, str):
        return reason
    from initlint.tree.from_libcst import from_libcst

    try:
        return from_libcst(module, text)
    except (RecursionError, MemoryError) as error:
        return f"file too deeply nested to parse ({type(error).__name__})"


def parse_lossless(text: str) -> "cst.Module | str":
    """libcst's tree of the file, every space and comment kept, for the fixes' edits and for
    source newer than the running Python (``_newer_syntax``); or why it cannot be parsed."""
    import libcst as cst

    _tune_libcst()
    if may_nest_deeply(text):
        tree = python_tree(text)
        if isinstance(tree, str):
            return tree
        reason = too_deep(tree)
        if reason is not None:
            return reason
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        reason = python_syntax_problem(text)  # CPython's words are the clearest
        if reason is None:
            message = " ".join((error.message or "invalid syntax").split())
            where = f"line {error.editor_line}, column {error.editor_column}"
            reason = f"libcst cannot parse {where}: {message}"
        return reason
    except (RecursionError, MemoryError) as error:
        return f"file too deeply nested to parse ({type(error).__name__})"


#: whether this process lints file after file (settle_after_file ran): each tree is frozen as
#: soon as it is parsed
_SETTLING = False


def settle_after_file() -> None:
    """After each file, in initlint's own processes: collect the cyclic garbage that file's
    evaluation left, then freeze what survives, so no later collection scans it again.
    Everything older is frozen already, so this collection scans only the objects made while
    linting that one file.

    From then on ``parse`` freezes each tree as soon as it is made: every tree stays alive for
    the run (a file is a dependency of others) and holds no cycles, and scanning the trees was
    most of the collections' work: on 181 transformers files linted in one process, collecting
    took 6-8% of the CPU time with each tree scanned once and 2% without. A dependency parsed
    while a file is evaluated freezes that evaluation's objects of the moment with it; those of
    them that end as cyclic garbage are never reclaimed (the speed corpus, two workers: peak
    memory 1807-1839 MB instead of 1743-1791). Not in the language server: it parses every edit
    of a document and keeps none of the old trees."""
    global _SETTLING
    if is_own_process():
        import gc

        gc.collect()
        gc.freeze()
        _SETTLING = True


def trust_parser_output() -> bool:
    """From now on, build parsed nodes without libcst's per-node validation; True if done.

    libcst validates every node as it is constructed (``CSTNode.__post_init__`` calls
    ``_validate``), also the nodes its own parser builds from source it has just accepted,
    where validation cannot fail; its source says so ("PERF: ... avoid validating the tree when
    parsing a file"). That is ~12% of a parse. This changes libcst for the whole process, so
    only processes that are initlint's own call it (the command line and its workers), never
    the Python API; and only while ``__post_init__`` does nothing but validate.
    """
    from libcst._nodes.base import CSTNode

    hook = CSTNode.__dict__.get("__post_init__")
    if hook is None or getattr(hook, "__code__", None) is None:
        return False
    if hook.__code__.co_names != ("_validate",):
        return False  # a libcst whose hook does more than validate: leave it alone
    CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
    return True


def _no_validation(self: "cst.CSTNode") -> None:
    """Stands in for ``CSTNode.__post_init__`` after ``trust_parser_output``."""


def python_syntax_problem(text: str) -> str | None:
    """Why CPython's own parser rejects the file, or None."""
    tree = python_tree(text)
    return tree if isinstance(tree, str) else None


def python_tree(text: str) -> ast.Module | str:
    """CPython's tree of the file, or why its parser rejects it (one line).

    CPython's syntax errors are the clearest, and its parser refuses pathologically deep code
    (more than 200 nested brackets, thousands of nested operators) cleanly. How deep a tree it
    builds depends on the recursion room its thread has left, which the caller's frames (and
    C-level calls that count against the limit without being frames) use up. So it parses in a
    thread of its own that starts with exactly ``_PARSER_ROOM``: the answer depends on the text
    alone, and every way of linting a file (in-process after a thousand other files, a
    worker, a forked child, a test) agrees, also at the boundary (a 2,999-term ``1+1+...``).
    """
    outcome: list[ast.Module | str] = []

    def parse_here() -> None:
        try:
            with warnings.catch_warnings():  # "'int' object is not callable": not ours to print
                warnings.simplefilter("ignore")
                outcome.append(ast.parse(text))
        except SyntaxError as error:
            outcome.append(f"syntax error at line {error.lineno}, column {error.offset}: {error.msg}")
        except (RecursionError, MemoryError) as error:
            outcome.append(f"too deeply nested to analyse (Python's own parser gives up: {type(error).__name__})")
        except ValueError as error:  # e.g. source with NUL bytes that slipped past decoding
            outcome.append(f"cannot parse: {error}")

    limit = sys.getrecursionlimit()
    # a new thread's room is the limit in force when it starts; the caller keeps what it needs
    sys.setrecursionlimit(max(_PARSER_ROOM, _depth() + 50))
    stack = threading.stack_size(_PARSER_STACK)  # CPython's parser recurses in C as deep as it may
    try:
        worker = threading.Thread(target=parse_here, name="initlint-python-parse")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(stack)
        sys.setrecursionlimit(limit)
    return outcome[0] if outcome else "cannot parse: CPython's parser stopped without an answer"


#: recursion limit while CPython builds its tree in its own thread: Python's default at the top
#: of a program (CPython nests three tree levels per unit of the limit)
_PARSER_ROOM = 1000
#: that thread's C stack: what a main thread has on Linux (other systems give threads less)
_PARSER_STACK = 8 << 20


def _depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _tune_libcst() -> None:
    """In initlint's own processes, libcst (imported only to edit) trusts its parser's output."""
    global _LIBCST_TUNED
    if is_own_process() and not _LIBCST_TUNED:
        _LIBCST_TUNED = trust_parser_output() or True


_LIBCST_TUNED = False
