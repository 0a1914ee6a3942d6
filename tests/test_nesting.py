"""The deep-code guard: what reaches libcst's native parser must not crash it or take minutes.

Each pathological shape is generated here (nothing large is kept in the repository); the
subprocess tests run the real ``initlint`` program, where a segfault would show as exit -11.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from initlint.nesting import MAX_DEPTH, code_view, may_nest_deeply, too_deep
from initlint.parsing import parse

HEADER = "import torch.nn as nn\nnn.init.zeros_(w)\n"  # init text, so the file is parsed


@pytest.mark.parametrize(
    "text, risky",
    [
        ("x = (1 + 2)\nnn.init.normal_(w)\n", False),
        ("x = " + "(" * 101 + ")" * 101 + "\n", True),
        ("x = " + "+".join(["1"] * 2500) + "\n", True),
        ("x = 1 + \\\n" * 2000 + "1\n", True),
        ("x = (\n" + "    1 +\n" * 600 + "    1)\n", True),
        ("s = '('\n", False),  # brackets in strings and comments are not code
        ("s = ')'  # (\n", False),
        ('def f():\n    """Values in [0, 1)."""\n', False),
        ("s = '''\n(\n'''\nb = rb'\\\\)'\n", False),
        ("s = ')'\nx = " + "(" * 101 + ")" * 101 + "\n", True),  # deep code after a string
        ('s = "#"\nx = ' + "(" * 101 + ")" * 101 + "\n", True),  # a '#' in a string is no comment
        ('# noqa: RUF\n"""(PTQ\n"""\n', False),  # a letter before the line break is no prefix
        ("s = f'({x}'\n", False),  # an f-string's literal text is no code, its fields are
        ("s = f'{" + "~" * 400 + "x}'\n", True),
        ('s = f"{x["a"]}" + ")"\n', True),  # a nested quote (3.12) cuts the f-string short
        ("s = 'a\\\n)'\n", False),  # a backslash-newline continues a plain string
        ("table = [\n" + "    1,\n" * 100 + "]\n", False),
        # issue 14: brackets closed inside comments or strings are still open for the tokenizer
        ("x = f(  # )\n" * 2000, True),
        ("x = f(  ')'\n" * 2000, True),
        ('x = f(  """)"""\n' * 2000, True),
        # issue 14: deep code without brackets, and line continuations with any line end
        ("x = 1" + " + \\\r\n1" * 3000 + "\r\n", True),
        ("x = 1" + " + \\\r1" * 3000 + "\r", True),
        ("x = " + "~" * 3990 + "1\n", True),
        ("x = a" + "[0]" * 400 + "\n", True),
        ("x = f(\n" + ")(\n" * 400 + ")\n", True),  # a call chain across lines
        ("x = f" + "(1, 2)" * 400 + "\n", True),  # commas inside the trailers change nothing
        ("if a:\n    pass\n" + "elif a:\n    pass\n" * 200, True),
        (("x = a" + "[0]" * 90 + "\n") * 100, True),  # moderate depth, many times
        (("x = a" + "[0]" * 20 + "\n") * 100, False),
    ],
)
def test_the_guard_is_conservative(text, risky):
    """Only files this cheap check clears skip CPython's parser before libcst."""
    assert may_nest_deeply(text) is risky


def test_the_code_view_is_what_the_tokenizer_sees():
    source = textwrap.dedent(
        '''\
        x = f("a(", 'b)')  # c)
        y = f"{g(1)} (" + rb"\\)"
        z = """
        ]
        """ \\
            + 1
        '''
    )
    assert code_view(source) == 'x = f(\x01, \x01)  \ny = f\x01(g(1)) + rb\x01\nz = \x01      + 1\n'
    assert code_view("x = 'unterminated\n") is None
    assert code_view("x = 1 \\ 2\n") is None


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.py")), ids=lambda p: p.name)
def test_real_model_code_is_not_sent_to_cpython(fixture):
    assert may_nest_deeply(fixture.read_text()) is False


def test_too_deep_measures_what_libcst_nests():
    assert too_deep(ast.parse("x = " + "+".join(["1"] * 100) + "\n")) is None
    chain = " and ".join(["a"] * (MAX_DEPTH + 5))  # one BoolOp node for CPython, 1,004 for libcst
    assert too_deep(ast.parse(f"x = ({chain})\n")) == (
        f"code nested more than {MAX_DEPTH} levels deep (line 1): "
        "too deep for initlint's parser to read safely"
    )
    assert too_deep(ast.parse("x = a" + "[0]" * 700 + "\n")) == (
        f"code nested more than {MAX_DEPTH} levels deep (line 1): too deep for initlint's parser to read safely"
    )
    many = ("x = a" + "[0]" * 90 + "\n") * 100
    assert too_deep(ast.parse(many)) == (
        "at least 48 expressions nested over 30 levels deep (up to 92, line 1): "
        "too slow for initlint's parser to read"
    )


@pytest.mark.parametrize(
    "body, reason",
    [
        ("x = f(  # )\n" * 2000, "syntax error at line 203, column 6: too many nested parentheses"),
        ("x = f(  ')'\n" * 2000, "syntax error at line 203, column 6: too many nested parentheses"),
        ("x = " + "+".join(["1"] * 1999) + "\n", "code nested more than 250 levels deep (line 3): too deep for initlint's parser to read safely"),
        ("x = " + "~" * 3990 + "1\n", "too deeply nested to analyse (Python's own parser gives up: RecursionError)"),
        ("x = 1" + " + \\\r\n1" * 3000 + "\r\n", "too deeply nested to analyse (Python's own parser gives up: RecursionError)"),
        ("if a:\n    pass\n" + "elif a:\n    pass\n" * 10_000, "too deeply nested to analyse (Python's own parser gives up: MemoryError)"),
        ("if a:\n    pass\n" + "elif a:\n    pass\n" * 1_500, "code nested more than 250 levels deep (line 499): too deep for initlint's parser to read safely"),
    ],
    ids=["comment", "string", "plus-chain", "tilde", "crlf-continuations", "elif-chain", "elif-1500"],
)
def test_pathological_shapes_get_a_reason_not_the_parser(body, reason):
    assert parse(HEADER + body) == reason


def test_a_parser_crash_shape_is_one_error_and_the_other_files_keep_their_findings(tmp_path):
    """Issue 14, item 1: this file segfaulted libcst (exit 139, no output at all)."""
    (tmp_path / "crash.py").write_text(HEADER + "x = f(  # )\n" * 2000)
    (tmp_path / "model.py").write_text((FIXTURES / "bad_inits.py").read_text())
    expected = subprocess.run(
        [sys.executable, "-m", "initlint", "--no-cache", "model.py"], cwd=tmp_path, capture_output=True, text=True
    )
    done = subprocess.run(
        [sys.executable, "-m", "initlint", "--no-cache", "crash.py", "model.py"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "initlint: error: crash.py: syntax error at line 203, column 6: too many nested parentheses\n"
    )
    findings = [line for line in expected.stdout.splitlines() if line.startswith("model.py:")]
    assert len(findings) > 3
    assert [line for line in done.stdout.splitlines() if line.startswith("model.py:")] == findings


CRASHING_RUN = """
import os, sys
import initlint.engine as engine

real_parse = engine.parse

def parse_or_crash(text):
    if "CRASH HERE" in text:
        os.kill(os.getpid(), 11)  # what a libcst stack overflow does
    return real_parse(text)

engine.parse = parse_or_crash
sys.argv = ["initlint", *sys.argv[1:]]
from initlint.cli import run
run()
"""


def test_a_crash_in_an_in_process_run_costs_only_its_file(tmp_path):
    """Issue 14, item 1: with 16 files or fewer (no worker pool), a crash lost every result."""
    bad = (FIXTURES / "bad_inits.py").read_text()
    (tmp_path / "a.py").write_text(bad)
    (tmp_path / "b.py").write_text(bad + "# CRASH HERE\n")
    (tmp_path / "c.py").write_text(bad)
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN, "--no-cache", "a.py", "b.py", "c.py"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "initlint: error: b.py: the worker process linting this file died "
        "(a crash in the parser, or out of memory)\n"
    )
    paths = {line.split(":")[0] for line in done.stdout.splitlines() if ":" in line}
    assert paths == {"a.py", "c.py"}
    assert sum(line.startswith("a.py:") for line in done.stdout.splitlines()) > 3


def test_a_recursion_error_that_libcst_turns_into_another_error_is_still_too_deep(monkeypatch):
    """libcst's position codegen records positions in context managers: a RecursionError inside
    comes out as a KeyError whose message is a whole subtree (and whose str() recursed too)."""
    from initlint import engine
    from initlint.config import Settings

    class Unprintable(KeyError):
        def __str__(self):
            raise RecursionError("repr of a deep tree")

    def facts_that_recurse(source, project, syntax):
        try:
            raise RecursionError("maximum recursion depth exceeded")
        except RecursionError:
            raise Unprintable("node")

    monkeypatch.setattr(engine, "evaluate_file", facts_that_recurse)
    settings = Settings()
    result = engine.lint_text(HEADER, "x.py", engine.rules_for(settings), settings)
    assert result.error.reason == "file too deeply nested to analyse (RecursionError)"


def test_a_bug_whose_message_cannot_be_printed_is_still_one_line(monkeypatch):
    from initlint import engine
    from initlint.config import Settings

    class Unprintable(KeyError):
        def __str__(self):
            raise ValueError("no")

    def broken(source, project, syntax):
        raise Unprintable("node")

    monkeypatch.setattr(engine, "evaluate_file", broken)
    settings = Settings()
    result = engine.lint_text(HEADER, "x.py", engine.rules_for(settings), settings)
    assert result.error.reason.startswith("initlint failed reading this file (Unprintable: (no description) at ")


ONE_FILE_RUN = """
import atexit
import sys
sys.argv = ["initlint", "--no-cache", sys.argv[1]]
heavy = ["multiprocessing", "concurrent.futures", "tempfile", "initlint.probe"]
atexit.register(lambda: print("loaded", [name for name in heavy if name in sys.modules]))
from initlint.cli import run
run()
"""


def test_the_program_isolates_one_file_without_pool_machinery(tmp_path):
    """The pre-commit case pays for a fork, not for importing a process pool. The program ends
    without the interpreter's teardown (cli._exit_promptly): the report is flushed, the exit
    handlers run and the exit code is the report's."""
    (tmp_path / "m.py").write_text("import torch.nn as nn\nnn.init.normal(w)\n")
    done = subprocess.run([sys.executable, "-c", ONE_FILE_RUN, str(tmp_path / "m.py")], capture_output=True, text=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "m.py:2:1: IL501" in done.stdout
    assert done.stdout.strip().endswith("loaded []"), done.stdout + done.stderr


def _refused(terms: int) -> bool:
    from initlint.parsing import python_tree

    return isinstance(python_tree("x = " + "+".join(["1"] * terms) + "\n"), str)


def _refused_under_comparisons(levels: int, terms: int) -> bool:
    # each level is a Python frame and a C-level recursive call (a rich comparison): room that
    # counting frames does not see
    class Level:
        def __eq__(self, other):
            return _refused_under_comparisons(levels - 1, terms)

    return _refused(terms) if levels == 0 else Level() == Level()


def test_cpythons_verdict_on_deep_code_does_not_depend_on_the_callers_stack():
    # the fuzzer found a 3,000-term `1+1+...` that CPython parsed in one process and refused in
    # another: the parse now runs in a thread of its own with a fixed recursion room
    low, high = 500, 20_000
    while low < high:  # the shortest chain CPython refuses, called from the top
        middle = (low + high) // 2
        low, high = (low, middle) if _refused(middle) else (middle + 1, high)
    assert 2000 < low < 4000
    for terms in (low - 300, low - 150, low - 1, low, low + 100):
        assert _refused_under_comparisons(200, terms) == _refused(terms) == (terms >= low), terms
