"""Instructions executed to lint a fixed sample of the speed corpus, counted by valgrind.

    python benchmarks/instructions.py [--every 28] [--against REV]

Wall and CPU time on a shared machine move by +-20% within an hour (RESULTS.md): two runs of the
same code minutes apart differ more than most changes to the engine do. The number of
instructions a process executes does not depend on the machine's load: under valgrind's
callgrind, with Python's hash seed fixed, two runs of the same code agree to a few parts per
million. This script counts them for linting every ``--every``-th file with init-related text
(the files the speed benchmark's bare parse reads), in one process the way a worker lints
(``--no-cache``, the GC tuned and settled after each file), imports included. With ``--against``
it counts the same for another revision (a temporary git worktree) and prints the ratio.

A count is a proxy: it weighs every instruction alike (a cache miss costs more), and it runs
about 50 times slower than Python alone (2-3 minutes for the default 36 files). Two trees of the
same code at different paths (this checkout and the ``--against`` worktree) differ by up to
~0.4%: the paths' lengths change allocations and the order of sets keyed by ``id``. Read a ratio
within that as "no change"; measured twice, ae8b3f5 gave 13,451.6 M and 13,399.8 M instructions
on the same 19 files, once as the worktree and once as a clone. speed.py
measures the goals; this compares two versions of the engine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from speed import SOURCES  # the speed benchmark's corpus (benchmarks/ is this script's path)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: lints the files listed in argv[1] in this process and prints how many findings they gave
CHILD = """
import sys
from pathlib import Path
from initlint import tuning
from initlint.batch import _lint_item
from initlint.config import Settings
from initlint.discover import SourceFile
tuning.tune_own_process()
findings = 0
for line in Path(sys.argv[1]).read_text().splitlines():
    path = Path(line).resolve()
    findings += len(_lint_item((SourceFile(path, line), None), Settings(), True).findings)
print(findings)
"""


def sample(every: int) -> list[Path]:
    """Every ``every``-th file (sorted) of the speed corpus that holds a rule's token."""
    sys.path.insert(0, str(ROOT))
    from initlint.rules import all_rules

    tokens = {token for rule in all_rules() for token in rule.tokens}
    with_text = [p for p in sorted(SOURCES.rglob("*.py")) if any(t in p.read_text(encoding="utf-8") for t in tokens)]
    return with_text[::every]


def count(tree: Path, listing: Path) -> tuple[int, str]:
    """(instructions, the child's output) of linting ``listing`` with the initlint in ``tree``."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(tree)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "initlint")], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / "child.py"
        script.write_text(CHILD)
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(script), str(listing)],
            env=env, cwd=ROOT, capture_output=True, text=True, check=False,
        )
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the count under valgrind failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1)), done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=28, help="lint every N-th init-text file (default 28: 36 files)")
    parser.add_argument("--against", metavar="REV", help="also count a git revision, and print the ratio")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    if not SOURCES.is_dir():
        raise SystemExit(f"{SOURCES} is missing: run benchmarks/speed.py once to fetch the corpus")
    files = sample(args.every)
    with tempfile.TemporaryDirectory() as work:
        listing = Path(work) / "files.txt"
        listing.write_text("\n".join(str(p) for p in files) + "\n")
        here, findings = count(ROOT, listing)
        print(f"this tree: {here:,} instructions for {len(files)} files ({here / len(files) / 1e6:,.0f} M per file), {findings} findings")
        if args.against:
            other = Path(work) / "other"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(other), args.against], check=True)
            try:
                theirs, their_findings = count(other, listing)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=False)
            print(f"{args.against}: {theirs:,} instructions, {their_findings} findings")
            print(f"this tree / {args.against}: {here / theirs:.4f}")


if __name__ == "__main__":
    main()
