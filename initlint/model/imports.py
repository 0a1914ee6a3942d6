"""Which module each local name stands for, from the file's own import statements.

A small table of our own instead of libcst's qualified-name metadata, which costs several times
the parse itself (DESIGN.md section 8). ``from torch import nn`` binds ``nn`` to ``torch.nn``;
relative imports keep their leading dots (``from .. import initialization as init`` binds
``init`` to ``..initialization``), so wrappers such as transformers' ``initialization`` module
and timm's ``weight_init`` resolve by their last component.
"""

from __future__ import annotations

from initlint.tree import nodes


def dotted_name(node: nodes.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of Name/Attribute nodes, else None."""
    parts: list[str] = []
    while type(node) is nodes.Attribute:  # exact types: cheaper than isinstance
        parts.append(node.attr.value)
        node = node.value
    if type(node) is nodes.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _module_text(node: nodes.BaseExpression | None) -> str:
    return dotted_name(node) or "" if node is not None else ""


class ImportTable:
    """Local name -> fully qualified dotted name, filled in while the file is walked."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def add_import(self, node: nodes.Import) -> None:
        if isinstance(node.names, nodes.ImportStar):  # pragma: no cover - not valid for Import
            return
        for alias in node.names:
            full = _module_text(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, nodes.Name):
                self.names[alias.asname.name.value] = full
            else:
                head = full.split(".", 1)[0]
                self.names[head] = head

    def add_import_from(self, node: nodes.ImportFrom) -> None:
        module = "." * len(node.relative) + _module_text(node.module)
        if isinstance(node.names, nodes.ImportStar):
            if module in {"torch.nn.init", "torch.nn"}:
                self.names.setdefault("*" + module, module)
            return
        for alias in node.names:
            name = _module_text(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, nodes.Name):
                local = alias.asname.name.value
            sep = "" if module.endswith(".") else "."
            self.names[local] = f"{module}{sep}{name}" if module else name

    def qualify(self, node: nodes.BaseExpression) -> str | None:
        """Qualified name of a Name/Attribute chain, through the aliases; None if not a chain."""
        text = dotted_name(node)
        if text is None:
            return None
        head, _, rest = text.partition(".")
        if head in self.names:
            base = self.names[head]
            return f"{base}.{rest}" if rest else base
        for star in ("*torch.nn.init", "*torch.nn"):
            if star in self.names and not rest:
                return f"{star[1:]}.{head}"
        return text
