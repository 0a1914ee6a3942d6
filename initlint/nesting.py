"""How deeply can a file's code nest? A cheap, sound bound from the text, an exact one from CPython.

libcst's native parser overflows the C stack (a segfault, no Python exception) on code that nests
a few thousand levels deep, and its time grows with the square of an expression's depth well
before that (a 950-deep ``f(1,2)(1,2)...``: 5 s). Nesting comes from brackets and from
operators: ``1+1+...``, ``~~~x``, ``a.b.c``, ``f()()``, ``not not x``, ``a and b and ...``,
``elif`` chains.

The bound is read from what the tokenizer sees, not from raw text: strings and comments are
blanked first (``code_view``), so a ``)`` inside a string or comment can neither hide nor fake
a bracket; where the blanking could differ from the tokenizer (an unterminated string, a stray
backslash) the answer is "unsure". Every token is at least one character, so a segment of code
between separators (``,`` or ``;`` at its own bracket level, a line end outside brackets) nests
at most as many levels as it has characters, counting each bracket group inside it as one; a
path into nested groups, the sum of its segments. ``may_nest_deeply`` is False when every path
is short and the squares of the longer ones add up to little: then libcst is safe and fast.
When it is True, the caller asks CPython (``ast.parse``), whose parser refuses the worst cases
cleanly, and measures the tree it returns (``too_deep``) before libcst may see the file.
"""

from __future__ import annotations

import ast
import re

#: a path longer than this (in tokens) may nest as deep: libcst takes up to ~0.2 s on one such
#: statement in its slowest shape; real code stays below (torch, sympy and 48 research
#: repositories: longest path 167 tokens, 99% of files under 100)
MAX_PATH = 200
#: paths longer than this cost libcst time with the square of their length ...
COSTLY_PATH = 30
#: ... and their squares may add up to this in one file (about 2 s in the slowest shape)
MAX_PATH_COST = 400_000
#: brackets nested deeper than this go to CPython, which refuses more than 200
MAX_BRACKETS = 100
#: ``elif`` chains nest a level per branch (libcst crashes on ~10,000); more go to CPython
MAX_ELIFS = 100
#: the deepest nesting (CPython's tree, plus libcst's binary ``and``/``or``) libcst may see:
#: its native parser crashes at thousands of levels, and its Python code (positions, the
#: model walk) exceeds Python's default recursion limit at about 330
MAX_DEPTH = 250

#: what a string literal becomes in the code view: one token, one character
STRING = "\x01"
_STRING_OR_COMMENT = re.compile(
    r"#[^\r\n]*"
    r"""|(?P<body>'''[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''"""
    r'''|"""[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*"""'''
    r"""|'[^'\\\r\n]*(?:\\[\s\S][^'\\\r\n]*)*'|"[^"\\\r\n]*(?:\\[\s\S][^"\\\r\n]*)*")"""
)
_QUOTES_AND_BACKSLASHES = str.maketrans("", "", "'\"\\")
_BRACES = re.compile(r"[{}]")
_WORDS = re.compile(r"[A-Za-z_0-9]+ *")
_SPLIT = re.compile(r"([()\[\]{},;])")
_OPENERS = {")": "(", "]": "[", "}": "{"}


def code_view(text: str) -> str | None:
    """What the tokenizer sees as code: comments removed, each string literal one character,
    line continuations joined, line ends as ``\\n``; None when unsure.

    f-strings become their replacement fields (code) inside a bracket group of their own;
    fields whose braces do not pair keep the whole body, so an odd bracket there only makes
    the answer more careful. Unsure: an unterminated string or a stray backslash, where the
    blanking might not match the tokenizer.
    """

    def blank(match: re.Match[str]) -> str:
        body = match.group("body")
        if body is None:
            return ""  # a comment
        prefix = text[max(0, match.start() - 2) : match.start()]
        if "f" in prefix or "F" in prefix:  # an f-string, or (rarely) a word ending in f: careful
            return STRING + _fields(body.translate(_QUOTES_AND_BACKSLASHES))
        return STRING

    code = _STRING_OR_COMMENT.sub(blank, text)
    if "'" in code or '"' in code:
        return None
    if "\\" in code:
        code = code.replace("\\\r\n", " ").replace("\\\r", " ").replace("\\\n", " ")
        if "\\" in code:
            return None
    if "\r" in code:
        code = code.replace("\r\n", "\n").replace("\r", "\n")
    return code


def _fields(body: str) -> str:
    """The replacement fields of an f-string's body, as a bracket group of comma-separated
    expressions; the whole body when its braces do not pair (the bracket count then says
    "unsure")."""
    body = body.replace("{{", "").replace("}}", "")
    if "{" not in body and "}" not in body:
        return ""
    fields, depth, start = [], 0, 0
    for match in _BRACES.finditer(body):
        if match.group() == "{":
            if depth == 0:
                start = match.end()
            depth += 1
        elif depth == 0:
            return "(" + body + ")"
        else:
            depth -= 1
            if depth == 0:
                fields.append(body[start : match.start()])
    if depth:
        return "(" + body + ")"
    return "(" + ",".join(fields) + ")"


def may_nest_deeply(text: str) -> bool:
    """False when no statement in ``text`` can nest deep enough to hurt libcst; True when one
    might, or when unsure (then ask CPython, and ``too_deep``)."""
    code = code_view(text)
    if code is None or code.count("elif") > MAX_ELIFS:
        return True
    # each name and number one token (counting characters instead is as sound, and cheaper
    # only where it already answers: on the speed corpus, a third of the files)
    return _paths_too_long(_squeeze(_WORDS.sub("a", code)))


def _squeeze(code: str) -> str:
    code = code.replace(" ", "")
    if "\t" in code or "\f" in code:
        code = code.replace("\t", "").replace("\f", "")
    return code


def _paths_too_long(code: str) -> bool:
    """Whether a path through ``code`` (a squeezed ``code_view``) may be longer than
    ``MAX_PATH``, the squares of the costly ones add up to more than ``MAX_PATH_COST``, or
    brackets nest too deeply or pair badly."""
    cost = 0
    # the current bracket level: its opener, the length of its current segment, the longest
    # path into the groups closed in that segment, and the longest path of its finished
    # segments; the enclosing levels wait on ``stack``
    opener, length, inner, best = "", 0, 0, 0
    stack: list[tuple[str, int, int, int]] = []
    parts = _SPLIT.split(code)  # code, separator, code, ..., code
    for index in range(0, len(parts), 2):
        if index:
            char = parts[index - 1]
            if char in "([{":
                if len(stack) >= MAX_BRACKETS:
                    return True
                stack.append((opener, length, inner, best))
                opener, length, inner, best = char, 0, 0, 0
            else:
                path = length + inner
                if path > COSTLY_PATH:
                    cost += path * path
                    if path > MAX_PATH or cost > MAX_PATH_COST:
                        return True
                if char == "," or char == ";":
                    if path > best:
                        best = path
                    length = inner = 0
                else:
                    if not stack or _OPENERS[char] != opener:
                        return True  # unbalanced: CPython says where
                    group = path if path > best else best
                    opener, length, inner, best = stack.pop()
                    length += 1
                    if group > inner:
                        inner = group
        text = parts[index]
        if stack or "\n" not in text:
            length += len(text)
            continue
        # line ends outside brackets end statements: the one running, any lines with no
        # separator at all, and the start of the next one
        lines = text.split("\n")
        for size in (length + len(lines[0]) + inner, *map(len, lines[1:-1])):
            if size > COSTLY_PATH:
                cost += size * size
                if size > MAX_PATH or cost > MAX_PATH_COST:
                    return True
        length, inner, best = len(lines[-1]), 0, 0
    if stack:
        return True
    path = length + inner
    return path > MAX_PATH or cost + (path * path if path > COSTLY_PATH else 0) > MAX_PATH_COST


def too_deep(tree: ast.Module) -> str | None:
    """Why libcst must not parse the file CPython parsed into ``tree``, or None.

    Depth counts what libcst nests: CPython's tree, plus a level per extra operand of
    ``and``/``or`` (one node in ``ast``, a chain of binary nodes in libcst). Statements nested
    in statements (``elif`` chains) count towards the depth that can crash libcst; each
    statement's own expression depth costs libcst time with its square, and those squares may
    add up to ``MAX_PATH_COST``, as in the text's bound.
    """
    cost, costly, deepest, deepest_line = 0, 0, 0, 0
    expression_depths = [0]  # per statement, the depth of its deepest expression so far
    lines = [0]
    # node, depth in the file, depth inside its statement's expressions, its statement
    stack: list[tuple[ast.AST, int, int, int]] = [(tree, 0, 0, 0)]
    while stack:
        node, depth, inside, owner = stack.pop()
        if depth > MAX_DEPTH:
            return (
                f"code nested more than {MAX_DEPTH} levels deep (line {lines[owner]}): "
                "too deep for initlint's parser to read safely"
            )
        if inside > expression_depths[owner]:
            before = expression_depths[owner]
            expression_depths[owner] = inside
            if inside > COSTLY_PATH:
                if before <= COSTLY_PATH:
                    costly += 1
                cost += inside * inside - (before * before if before > COSTLY_PATH else 0)
                if inside > deepest:
                    deepest, deepest_line = inside, lines[owner]
                if cost > MAX_PATH_COST:
                    return _too_slow(costly, deepest, deepest_line)
        step = len(node.values) - 1 if isinstance(node, ast.BoolOp) else 1
        for child in reversed(list(ast.iter_child_nodes(node))):  # in source order
            if isinstance(child, ast.stmt):
                expression_depths.append(0)
                lines.append(child.lineno)
                stack.append((child, depth + 1, 0, len(lines) - 1))
            else:
                stack.append((child, depth + step, inside + step, owner))
    return None


def _too_slow(statements: int, deepest: int, line: int) -> str:
    return (
        f"at least {statements} expressions nested over {COSTLY_PATH} levels deep (up to {deepest}, "
        f"line {line}): too slow for initlint's parser to read"
    )
