"""transformers' modular files read the way its code generator reads them.

A ``modular_<model>.py`` file is no module anyone imports: transformers' generator turns it into
``modeling_<model>.py``. A class of it that inherits a class of another model's
``modeling_<source>.py`` (or ``configuration_<source>.py``) gets a copy of that class's code in
which the source model's name is replaced by the new one, in its case variants, on identifier
word boundaries: inherited code that names ``OlmoDecoderLayer`` or subclasses
``OlmoPreTrainedModel`` means ``Olmo2DecoderLayer`` and ``Olmo2PreTrainedModel``, the class of
that name in the modular file where it defines or imports one, else a renamed copy of the
source's class (whose own names are renamed the same way). Plain Python would run Olmo's layers
and Olmo's ``_init_weights`` instead, and the modular file's own never.

So each such base is replaced by a copy of the base class whose methods run in a renamed view of
the source file's globals. The rename comes from the code, one per source file as the generator
makes it: the source model is the file the base class was defined in, the new model the modular
file's name, and each class inheriting from that file proposes the part of its name before the
suffix it shares with its base (``Olmo2Model(OlmoModel)``: ``Olmo`` -> ``Olmo2``;
``Multimodal1TextModel(LlamaModel)``: ``Llama`` -> ``Multimodal1Text``); the most proposed wins.
A method whose body only raises ``AttributeError`` (or ``NotImplementedError``) drops the
inherited one. A renamed name that neither file defines stays unknown.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from initlint.lean import dataclass
from initlint.model.interp.calls import Property
from initlint.model.values import UNKNOWN, ClassValue, FunctionValue, Namespace
from initlint.tree import nodes

#: the evaluator's ``force``: a name's value, loading the file a lazy import names
Force = Callable[[dict, str], Any]

#: the file kinds of another model a modular file's classes inherit from
SOURCE_KINDS = ("modeling_", "configuration_")
MODULAR = "modular_"


def modular_model(namespace: Namespace) -> str | None:
    """The model a ``modular_<model>.py`` file generates, else None."""
    stem = Path(namespace.source.path).stem
    return stem[len(MODULAR):] or None if stem.startswith(MODULAR) else None


def source_model(cls: ClassValue) -> str | None:
    """The model whose ``modeling_<model>.py`` (or configuration file) defines ``cls``."""
    namespace = cls.namespace
    if namespace is None:
        return None
    stem = Path(namespace.source.path).stem
    for kind in SOURCE_KINDS:
        if stem.startswith(kind) and len(stem) > len(kind):
            return stem[len(kind):]
    return None


@dataclass(frozen=True)
class Rename:
    """The source model's class-name prefix and the new one (``Olmo`` -> ``Olmo2``)."""

    old: str
    new: str

    def __post_init__(self) -> None:
        # the spelling of the class names first: ``CLIP`` -> ``CLIPSeg`` is not its upper case
        variants = {self.old: self.new}
        snake_old, snake_new = _snake(self.old), _snake(self.new)
        for old, new in ((self.old.lower(), self.new.lower()), (self.old.upper(), self.new.upper()),
                         (snake_old, snake_new), (snake_old.upper(), snake_new.upper())):
            variants.setdefault(old, new)
        variants = {old: new for old, new in variants.items() if old and old != new}
        # a variant starts a name or follows ``_``, and ends it, or is followed by ``_`` or a
        # capital (``OlmoDecoderLayer``, ``OLMO_INPUTS``, ``olmo_rotary``), never inside a word
        alternatives = "|".join(re.escape(old) for old in sorted(variants, key=len, reverse=True))
        pattern = re.compile(rf"(?:(?<=^)|(?<=_))({alternatives})(?=$|_|[A-Z])") if variants else None
        object.__setattr__(self, "_variants", variants)
        object.__setattr__(self, "_pattern", pattern)

    def __call__(self, name: str) -> str:
        if self._pattern is None:
            return name
        return self._pattern.sub(lambda match: self._variants[match.group(1)], name)


def _snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", camel).lower()


def _squash(text: str) -> str:
    return text.replace("_", "").lower()


def rename_of(base: str, source: str, child: str, new: str) -> Rename | None:
    """The rename ``class child(base)`` implies, for a base of model ``source`` in the modular
    file of model ``new``; None when the names share no suffix the prefixes can be cut at."""
    old_prefix = next((base[:end] for end in range(len(base), 0, -1) if _squash(base[:end]) == _squash(source)), None)
    if old_prefix is None:
        old_prefix = _common_suffix_prefix(base, child)
        if old_prefix is None:
            return None
    suffix = base[len(old_prefix):]
    if suffix and child.endswith(suffix) and len(child) > len(suffix):
        new_prefix = child[: len(child) - len(suffix)]
    else:
        # ``class Olmo2Foo(OlmoBar)``: the new model's own name, as the class spells it
        new_prefix = next((child[:end] for end in range(len(child), 0, -1) if _squash(child[:end]) == _squash(new)), None)
        if new_prefix is None:
            return None
    return Rename(old_prefix, new_prefix) if old_prefix != new_prefix else None


def _common_suffix_prefix(base: str, child: str) -> str | None:
    """The part of ``base`` before the longest suffix it shares with ``child`` that starts at a
    capital letter, when both keep a non-empty prefix."""
    size = 0
    while size < min(len(base), len(child)) and base[-1 - size] == child[-1 - size]:
        size += 1
    for start in range(len(base) - size, len(base)):
        if base[start].isupper() and 0 < start and len(child) - (len(base) - start) > 0:
            return base[:start]
    return None


class RenamedNames(dict):
    """The source file's globals as the generated file sees them: a name the rename changes is
    the modular file's (or its generated file's) class of the new name; a class or function the
    source file defines is a copy that runs in this view. Entries are made on first lookup and
    kept, so a class has one identity (``isinstance`` and the MRO compare by identity)."""

    def __init__(self, rename: Rename, source: Namespace, target: Namespace, force: Force) -> None:
        super().__init__()
        self.rename, self.source, self.target, self.force = rename, source, target, force
        self.view = Namespace(source.source, self)
        self.copies: dict[int, Any] = {}
        #: names neither file defines (builtins, mostly): both files are complete when it is read
        self.missing: set[str] = set()

    def __contains__(self, name: object) -> bool:
        if dict.__contains__(self, name):
            return True
        if not isinstance(name, str) or name in self.missing:
            return False
        new = self.rename(name)
        if name in self.source.names or (new != name and new in self.target.names):
            return True
        self.missing.add(name)
        return False

    def __getitem__(self, name: str) -> Any:
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        value = self._resolve(name)
        dict.__setitem__(self, name, value)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    def _resolve(self, name: str) -> Any:
        new = self.rename(name)
        if new != name and new in self.target.names:
            return self.target.names[new]  # a lazy import is forced by the lookup that reads it
        if name not in self.source.names:
            raise KeyError(name)
        value = self.source.names[name]
        if self._defined_here(value):
            return self.copy(value)
        if new != name:
            return UNKNOWN  # a renamed name from another file that the modular file lacks
        return value

    def _defined_here(self, value: Any) -> bool:
        return isinstance(value, (ClassValue, FunctionValue)) and value.namespace is self.source

    def mapped(self, value: Any) -> Any:
        """A value the source's code holds (a base, a class attribute), as the view sees it."""
        if self._defined_here(value):
            found = self.force(self, value.name) if value.name in self.source.names and self.source.names[value.name] is value else None
            return found if found is not None else self.copy(value)
        if isinstance(value, ClassValue) and self.rename(value.name) != value.name:
            new = self.rename(value.name)
            return self.force(self.target.names, new) if new in self.target.names else UNKNOWN
        return value

    def copy(self, value: Any, own: bool = False) -> Any:
        """``value`` of the source file, renamed, running in this view; ``own``: a copy of its
        own, not the one the view's names share (a modular class's base is merged into it)."""
        key = id(value)
        if key in self.copies and not own:
            return self.copies[key]
        if isinstance(value, FunctionValue):
            copied = replace(value, name=self.rename(value.name), namespace=self.view)
            self.copies[key] = copied
            return copied
        copied = ClassValue(value.node, self.rename(value.name), self.view)
        if not own:
            self.copies[key] = copied
        copied.bases = tuple(self.mapped(base) for base in value.bases)
        copied.earlier = value.earlier  # outside classes: the view maps them to themselves
        copied.body = {name: self._member(item, value, copied) for name, item in value.body.items()}
        copied.declared = {name: self.mapped(item) for name, item in value.declared.items()}
        return copied

    def _member(self, item: Any, owner: ClassValue, copied: ClassValue) -> Any:
        if isinstance(item, FunctionValue) and item.namespace is self.source:
            return replace(item, namespace=self.view, cls=copied if item.cls is owner else item.cls)
        if isinstance(item, Property) and item.function.namespace is self.source:
            function = item.function
            return Property(replace(function, namespace=self.view, cls=copied if function.cls is owner else function.cls))
        return self.mapped(item)


def adapt_modular(namespace: Namespace, classes: list[ClassValue], force: Force) -> None:
    """Rebase the classes of a modular file (see the module docstring); nothing for other files.
    A method whose body only raises ``AttributeError`` or ``NotImplementedError`` is the
    generator's way to drop an inherited method: the merged class has neither it nor the base's."""
    new = modular_model(namespace)
    if new is None:
        return
    inherits: list[tuple[ClassValue, ClassValue, Rename | None]] = []
    for cls in classes:
        bases = [base for base in cls.bases if isinstance(base, ClassValue) and source_model(base) not in (None, new)]
        if len(bases) == 1:  # the generator merges one other model's class, no more
            inherits.append((cls, bases[0], rename_of(bases[0].name, source_model(bases[0]), cls.name, new)))
    views = _views(namespace, new, inherits, force)
    changed = False
    for cls, base, _ in inherits:
        view = views.get(id(base.namespace))
        if view is None:
            continue
        copied = view.copy(base, own=True)
        copied.name = cls.name  # the generator merges the two into one class of the child's name
        cls.bases = tuple(copied if item is base else item for item in cls.bases)
        for name in [name for name, item in cls.body.items() if isinstance(item, FunctionValue) and dropped(item.node)]:
            del cls.body[name]
            copied.body.pop(name, None)
        changed = True
    if changed:
        for cls in classes:
            cls.__dict__.pop("_mro", None)


def _views(namespace: Namespace, new: str, inherits: list, force: Force) -> dict[int, RenamedNames]:
    """One rename per source file, as the generator chooses it: the prefix most of the modular
    classes inheriting from that file give (on a tie the model's own name, when it is one of
    them, else the last), and the model's own name when the chosen prefix would collide with a
    class the source file already has (``Gemma2Text...`` in gemma2 for ``MuseGlimmerText``)."""
    default = _cased(namespace, new)
    prefixes: dict[int, list[str]] = {}
    olds: dict[int, str] = {}
    sources: dict[int, Namespace] = {}
    for cls, base, rename in inherits:
        key = id(base.namespace)
        sources[key] = base.namespace
        if rename is not None:
            olds.setdefault(key, rename.old)
        prefixes.setdefault(key, []).append(rename.new if rename is not None else default)
    views = {}
    for key, found in prefixes.items():
        old = olds.get(key)
        if old is None:
            continue
        counts = {prefix: found.count(prefix) for prefix in found}
        top = max(counts.values())
        tied = [prefix for prefix in found if counts[prefix] == top]
        prefix = default if default in tied else tied[-1]
        if prefix != default and prefix.startswith(default):
            clash = old + prefix[len(default):]
            if any(isinstance(value, ClassValue) and value.namespace is sources[key] and value.name.startswith(clash)
                   for value in sources[key].names.values()):
                prefix = default
        if prefix != old:
            views[key] = RenamedNames(Rename(old, prefix), sources[key], namespace, force)
    return views


def _cased(namespace: Namespace, model: str) -> str:
    """The model's name as the file's class names spell it (``muse_glimmer``: ``MuseGlimmer``),
    else each word capitalised."""
    for value in namespace.names.values():
        if isinstance(value, ClassValue) and value.namespace is namespace:
            name = value.name
            for end in range(len(name), 0, -1):
                if _squash(name[:end]) == _squash(model) and (end == len(name) or not name[end].islower()):
                    return name[:end]
    return "".join(word.title() for word in model.split("_"))


def dropped(node: Any) -> bool:
    """``def f(...): raise AttributeError(...)`` or ``NotImplementedError`` (a docstring allowed
    before it): the generator's way to drop an inherited method."""
    body = list(getattr(node.body, "body", ()))
    if body and isinstance(body[0], nodes.SimpleStatementLine) and len(body[0].body) == 1 \
            and isinstance(body[0].body[0], nodes.Expr) and isinstance(body[0].body[0].value, (nodes.SimpleString, nodes.ConcatenatedString)):
        body = body[1:]
    if len(body) != 1:
        return False
    statement = body[0]
    if isinstance(statement, nodes.SimpleStatementLine):
        statement = statement.body[0] if len(statement.body) == 1 else None
    if not isinstance(statement, nodes.Raise) or statement.exc is None:
        return False
    exc = statement.exc.func if isinstance(statement.exc, nodes.Call) else statement.exc
    return isinstance(exc, nodes.Name) and exc.value in ("AttributeError", "NotImplementedError")


__all__ = ["Rename", "RenamedNames", "adapt_modular", "dropped", "modular_model", "rename_of"]
