"""Property tests over random model files (a small budget for CI; benchmarks/fuzz.py runs tens
of thousands): initlint never raises or says "bug in initlint", never hangs, gives the same
findings with and without the cache and with one or two workers, and the same findings for a
file and its CRLF, BOM and coding-line variants. The guard's reading of code is checked against
CPython's tokenizer on programs hypothesmith writes from Python's grammar.
"""

from __future__ import annotations

import ast
import io
import json
import random
import subprocess
import sys
import tokenize
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzz_inputs
from conftest import FIXTURES
from initlint.config import Settings
from initlint.engine import decode_source, lint_text, rules_for
from initlint.nesting import MAX_PATH, code_view, may_nest_deeply

SETTINGS = Settings()
RULES = rules_for(SETTINGS)
#: deterministic in CI: the same examples every run (breadth comes from benchmarks/fuzz.py)
quick = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow])
thorough = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _outcome(data: bytes) -> tuple[list[tuple], str | None]:
    """Findings (code, place, message) and the error, of a file's bytes linted in this process."""
    try:
        text = decode_source(data)
    except ValueError as error:
        return [], str(error)
    result = lint_text(text, "case.py", RULES, SETTINGS)
    findings = sorted(
        (f.code, f.location.line, f.location.column, f.location.end_line, f.location.end_column, f.message)
        for f in result.findings
    )
    error = result.error.reason if result.error else None
    assert error is None or "bug in initlint" not in error, error
    return findings, error


def _check_model(rng: random.Random) -> None:
    source = fuzz_inputs.model_source(rng)
    data = source.encode("utf-8")
    original = _outcome(data)
    variants = {"crlf": fuzz_inputs.crlf(data), "bom": fuzz_inputs.bom(data),
                "cookie": fuzz_inputs.coding_cookie(source)}
    for name, variant in variants.items():
        if variant is not None:
            assert _outcome(variant) == original, name


@quick
@given(st.randoms(use_true_random=False))
def test_random_models_never_crash_and_their_variants_agree(rng):
    _check_model(rng)


@pytest.mark.slow
@thorough
@given(st.randoms(use_true_random=False))
def test_random_models_never_crash_and_their_variants_agree_thoroughly(rng):
    _check_model(rng)


FIXTURE_BYTES = [path.read_bytes() for path in sorted(FIXTURES.glob("*.py"))]


@quick
@given(st.randoms(use_true_random=False))
def test_mutants_of_real_model_files_never_crash(rng):
    _, data = fuzz_inputs.mutate(rng, rng.choice(FIXTURE_BYTES))
    _outcome(data)


def _run(args: list[str], cwd) -> list:
    done = subprocess.run([sys.executable, "-m", "initlint", *args, "--format", "json", "."],
                          cwd=cwd, capture_output=True, text=True, timeout=300)  # a hang fails here
    assert done.returncode in (0, 1, 2) and "Traceback" not in done.stderr, done.stderr
    return sorted(json.loads(done.stdout), key=json.dumps)


def _check_runs_agree(folder, seeds) -> None:
    for seed in seeds:
        (folder / f"case_{seed}.py").write_text(fuzz_inputs.model_source(random.Random(f"ci/{seed}")))
    runs = [
        _run(["--no-cache", "--jobs", "1"], folder),
        _run(["--no-cache", "--jobs", "2"], folder),
        _run(["--jobs", "2", "--cache-dir", "cache"], folder),  # cold
        _run(["--jobs", "2", "--cache-dir", "cache"], folder),  # warm
    ]
    assert sum(1 for entry in runs[0] if entry["code"]) >= 5  # the sample has findings to compare
    for run in runs[1:]:
        assert run == runs[0]


@pytest.mark.slow
def test_cached_uncached_and_parallel_runs_agree(tmp_path):
    """20 files: more than one process lints alone, so --jobs 2 really starts workers."""
    _check_runs_agree(tmp_path, range(20))


@pytest.mark.slow
def test_cached_uncached_and_parallel_runs_agree_on_more_files(tmp_path):
    _check_runs_agree(tmp_path, range(20, 120))


def _tokenizer_structure(source: str) -> list[str] | None:
    """The brackets, commas and semicolons CPython's tokenizer sees (None if it refuses)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    if any(t.type == tokenize.STRING and "f" in t.string.split("'")[0].split('"')[0].lower() for t in tokens):
        return None  # f-strings: the view keeps their fields, the 3.11 tokenizer does not
    return [t.string for t in tokens if t.type == tokenize.OP and t.string in "()[]{},;"]


def _max_expression_depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in ast.iter_child_nodes(node):
            stack.append((child, 0 if isinstance(child, ast.stmt) else depth + 1))
    return deepest


def _check_guard(source: str) -> None:
    expected = _tokenizer_structure(source)
    view = code_view(source)
    if expected is not None and view is not None:
        assert [c for c in view if c in "()[]{},;"] == expected
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # hypothesmith's '"a"()' and the like
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    if not may_nest_deeply(source):  # cleared for libcst: the bound must hold
        assert _max_expression_depth(tree) <= MAX_PATH


@quick
@given(st.randoms(use_true_random=False))
def test_the_guard_reads_generated_models_as_the_tokenizer_does(rng):
    _check_guard(fuzz_inputs.model_source(rng))


try:
    import hypothesmith
except ImportError:  # an optional dev dependency: the test below says so
    hypothesmith = None


@pytest.mark.slow
@pytest.mark.skipif(hypothesmith is None, reason="hypothesmith is not installed")
# hypothesmith compiles what it generates ('0()' and the like warn), outside _check_guard's filter
@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar() if hypothesmith is not None else st.just(""))
def test_the_guard_reads_any_python_as_the_tokenizer_does(source):
    _check_guard(source)


# --- what benchmarks/fuzz.py found, kept as generated cases ---------------------------------


def _nested_call(depth: int, function, *args):
    return _nested_call(depth - 1, function, *args) if depth else function(*args)


def test_a_str_repeated_by_a_float_is_no_value_not_a_bug():
    """Generated case 1131: ``'x' * 0.5`` reached ``str * float`` in the evaluator."""
    text = fuzz_inputs.model_source(random.Random("0/generated/1131"))
    result = lint_text(text, "case.py", rules_for(SETTINGS), SETTINGS)
    assert result.error is None


def test_cpythons_verdict_on_deep_code_does_not_depend_on_the_callers_stack():
    """Generated case 326: alone it was "nested more than 250 levels", in the program's forked
    child "Python's own parser gives up": CPython's room depended on the stack above it."""
    from initlint.parsing import parse

    text = fuzz_inputs.model_source(random.Random("0/generated/326"))
    verdicts = {_nested_call(depth, parse, text) for depth in (0, 20, 200)}
    assert verdicts == {"code nested more than 250 levels deep (line 32): too deep for initlint's parser to read safely"}
