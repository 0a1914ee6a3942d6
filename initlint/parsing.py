"""Source text to a libcst Module, or a one-line reason why not: safely, and no slower than needed.

Safely: libcst's native parser takes minutes on, or overflows the C stack with (a segfault),
pathologically deep code: a 3,000-term ``1+1+...`` chain, a thousand nested brackets. CPython's
parser refuses such code cleanly, but asking it costs a tenth of a libcst parse, so it is asked
only when a cheap look at the text cannot rule deep nesting out.

Fast: parsing is most of initlint's time; see ``trust_parser_output``.
"""

from __future__ import annotations

import ast
import re

import libcst as cst

#: a logical line or bracketed span this long could hold an expression deep enough to hurt
#: libcst (a 1+1+... chain needs two characters a level; libcst copes with 3,000 levels)
MAX_SAFE_SPAN = 4000
#: brackets nested deeper than this could too (libcst copes with 1,000)
MAX_SAFE_DEPTH = 100
_BRACKETS = re.compile(r"[()\[\]{}]")
_OPENERS = {")": "(", "]": "[", "}": "{"}
#: a comment or a string literal's quoted body (triple or single quotes); leftmost match wins,
#: so a '#' inside a string and a quote inside a comment are read as Python reads them
_STRING_OR_COMMENT = re.compile(
    r"#[^\r\n]*"
    r"""|(?P<body>'''[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''"""
    r'''|"""[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*"""'''
    r"""|'[^'\\\r\n]*(?:\\[\s\S][^'\\\r\n]*)*'|"[^"\\\r\n]*(?:\\[\s\S][^"\\\r\n]*)*")"""
)
_PREFIX = re.compile(r"[A-Za-z]{1,2}\Z")


def parse(text: str) -> cst.Module | str:
    """The module, or why it cannot be parsed (one line, CPython's words where it has them)."""
    reason = python_syntax_problem(text) if may_be_too_deep(text) else None
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


#: young-generation size for the cyclic GC while parsing: libcst allocates a node object per
#: token and its trees hold no cycles, so CPython's default (700) collects for nothing; measured
#: on model code, raising it (with the start-up objects frozen) saves ~5% of a lint
_GC_YOUNG = 10_000


def tune_own_process() -> None:
    """Process-wide settings that make parsing cheaper, for processes that are initlint's own
    (the command line and its workers; never the Python API): no node validation of parser
    output, and a cyclic GC that runs less often."""
    import gc

    trust_parser_output()
    gc.freeze()  # what start-up allocated stays alive: no need to scan it again and again
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, _GC_YOUNG), middle, old)


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


def _no_validation(self: cst.CSTNode) -> None:
    """Stands in for ``CSTNode.__post_init__`` after ``trust_parser_output``."""


def may_be_too_deep(text: str) -> bool:
    """False when no expression in the file can nest deeply: then libcst is safe to call.

    Conservative: long lines, long bracketed spans, deep or unbalanced brackets answer True,
    and the caller then asks CPython's parser. Brackets are first counted in the raw text (the
    common case: they balance); only when that fails are they counted again with comments and
    plain strings blanked out, since docstrings like ``values in [0, 1)`` unbalance the raw count.
    """
    if max(map(len, text.replace("\\\n", " ").splitlines()), default=0) > MAX_SAFE_SPAN:
        return True
    if not _brackets_may_nest_deeply(text):
        return False
    code = _without_strings_and_comments(text)
    return code is None or _brackets_may_nest_deeply(code)


def _brackets_may_nest_deeply(text: str) -> bool:
    stack: list[tuple[str, int]] = []
    for match in _BRACKETS.finditer(text):
        char, position = match.group(), match.start()
        if char in "([{":
            stack.append((char, position))
            if len(stack) > MAX_SAFE_DEPTH:
                return True
            continue
        if not stack or stack[-1][0] != _OPENERS[char]:
            return True
        if position - stack.pop()[1] > MAX_SAFE_SPAN:
            return True
    return bool(stack)


def _without_strings_and_comments(text: str) -> str | None:
    """``text`` with comments removed and plain string literals emptied; None when unsure.

    f-strings keep their text: their replacement fields are code. One whose braces do not
    balance was cut short by a nested quote of its own kind (Python 3.12 allows
    ``f"{x["a"]}"``), so what follows it may be misread: answer None and let CPython decide.
    """
    unsure = False

    def blank(match: re.Match[str]) -> str:
        nonlocal unsure
        body = match.group("body")
        if body is None:
            return ""
        prefix = _PREFIX.search(text, max(0, match.start() - 2), match.start())
        if prefix is not None and "f" in prefix.group().lower():
            if body.count("{") != body.count("}"):
                unsure = True
            return match.group()
        return '""'

    code = _STRING_OR_COMMENT.sub(blank, text)
    return None if unsure else code


def python_syntax_problem(text: str) -> str | None:
    """Why CPython's own parser rejects the file, or None.

    Run before libcst for two reasons: CPython's syntax errors are the clearest, and its parser
    refuses the pathologically deep code that libcst cannot survive (see the module docstring).
    """
    try:
        ast.parse(text)
    except SyntaxError as error:
        return f"syntax error at line {error.lineno}, column {error.offset}: {error.msg}"
    except (RecursionError, MemoryError) as error:
        return f"too deeply nested to analyse (Python's own parser gives up: {type(error).__name__})"
    except ValueError as error:  # e.g. source with NUL bytes that slipped past decoding
        return f"cannot parse: {error}"
    return None
