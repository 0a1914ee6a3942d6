"""The rule catalog: one Markdown page per rule, from the wheel or from a checkout.

The pages live in the top-level ``rules/`` folder; the wheel ships them as
``initlint/_catalog/`` (see pyproject.toml), so ``initlint rule CODE`` works when installed.
A page holds its rule's ``bad`` and ``good`` examples, which the test suite runs.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from initlint.lean import dataclass

_FENCE = re.compile(r"^## (?P<section>[^\n]+)\n(?P<body>.*?)(?=^## |\Z)", re.S | re.M)
_CODE = re.compile(r"```python\n(?P<code>.*?)```", re.S)


def catalog_dir() -> Path | None:
    """Where the pages are: packaged beside the code, else the checkout's ``rules/``."""
    packaged = resources.files("initlint") / "_catalog"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / "rules"
    return checkout if checkout.is_dir() else None


def page_path(code: str) -> Path | None:
    folder = catalog_dir()
    if folder is None:
        return None
    matches = sorted(folder.glob(f"{code.upper()}-*.md"))
    return matches[0] if matches else None


def read_page(code: str) -> str | None:
    path = page_path(code)
    return path.read_text(encoding="utf-8") if path is not None else None


@dataclass(frozen=True)
class Examples:
    bad: tuple[str, ...]
    good: tuple[str, ...]


def examples(page: str) -> Examples:
    """The python code blocks under the page's ``## Bad`` and ``## Good`` headings."""
    bad: list[str] = []
    good: list[str] = []
    for match in _FENCE.finditer(page):
        section = match.group("section").strip().lower()
        blocks = [m.group("code") for m in _CODE.finditer(match.group("body"))]
        if section.startswith("bad"):
            bad.extend(blocks)
        elif section.startswith("good"):
            good.extend(blocks)
    return Examples(tuple(bad), tuple(good))


def section(page: str, name: str) -> str | None:
    """The text under the page's ``## name`` heading (stripped), or None."""
    for match in _FENCE.finditer(page):
        if match.group("section").strip().lower() == name.lower():
            return match.group("body").strip()
    return None


#: where the catalog is published; a page's address is ``{CATALOG_URL}/{rule.page}``
CATALOG_URL = "https://github.com/initlint/initlint/blob/main/rules"
