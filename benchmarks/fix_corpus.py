"""``--fix --unsafe-fixes`` over a copy of a corpus: every file still parses, a second run
changes nothing. Never writes into the corpus itself (it copies it to a temporary folder).

    python benchmarks/fix_corpus.py [../shared/corpus]

Prints the fixes applied per rule, the files changed, the files that no longer parse (must be 0),
the files a second run changes (must be 0) and the notebooks that stopped being valid JSON.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path


def _digests(root: Path) -> dict[Path, str]:
    return {p: hashlib.blake2b(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file() and ".initlint_cache" not in p.parts}


def _fix(root: Path) -> tuple[str, int]:
    run = subprocess.run(
        [sys.executable, "-m", "initlint", "--fix", "--unsafe-fixes", "--show-fixes", "--no-cache", "."],
        cwd=root, capture_output=True, text=True,
    )
    return run.stdout, run.returncode


def _parses(path: Path) -> bool:
    if path.suffix == ".ipynb":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return False
        return isinstance(data.get("cells"), list)
    try:
        ast.parse(path.read_bytes())
    except SyntaxError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = next((p / "shared" / "corpus" for p in Path(__file__).resolve().parents if (p / "shared" / "corpus").is_dir()), None)
    parser.add_argument("corpus", nargs="?", type=Path, default=default)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "corpus"
        shutil.copytree(args.corpus, copy, symlinks=True)
        before = _digests(copy)
        parsed_before = {p for p in before if p.suffix in (".py", ".ipynb") and _parses(p)}
        output, _ = _fix(copy)
        after = _digests(copy)
        changed = [p for p in before if before[p] != after.get(p)]
        broken = [p for p in changed if p in parsed_before and not _parses(p)]
        counts = Counter()
        for match in re.finditer(r"^\s+(\d+) x (IL\d+)", output, re.M):
            counts[match.group(2)] += int(match.group(1))
        second, _ = _fix(copy)
        again = [p for p, digest in _digests(copy).items() if after.get(p) != digest]
    print(f"corpus: {args.corpus} ({sum(1 for p in before if p.suffix == '.py')} .py, {sum(1 for p in before if p.suffix == '.ipynb')} .ipynb)")
    print(f"fixes applied: {sum(counts.values())} ({', '.join(f'{code} {n}' for code, n in sorted(counts.items())) or 'none'})")
    print(f"files changed: {len(changed)} ({', '.join(str(p.relative_to(copy)) for p in changed[:10])})")
    print(f"files that parsed before and not after: {len(broken)} {[str(p.relative_to(copy)) for p in broken]}")
    print(f"files changed by a second run: {len(again)} {[str(p.relative_to(copy)) for p in again]}")


if __name__ == "__main__":
    main()
