"""removed_names.py: the collections ABC aliases Python 3.10 removed, restored with a note."""

from __future__ import annotations

import collections
import collections.abc

import pytest

from initlint.probe.removed_names import restore_removed_name


@pytest.fixture
def restored():
    yield
    for name in ("Sequence", "Mapping"):
        if name in vars(collections):
            delattr(collections, name)


def test_an_import_of_a_removed_abc_alias_is_restored_with_a_note(restored):
    try:
        from collections import Sequence  # noqa: F401
    except ImportError as error:
        note = restore_removed_name(error)
    assert note == ("import: `collections.Sequence` is `collections.abc.Sequence`, removed from collections in "
                    "Python 3.10; restored under the old name")
    from collections import Sequence  # noqa: F811

    assert Sequence is collections.abc.Sequence


def test_an_attribute_read_of_a_removed_alias_is_restored(restored):
    try:
        collections.Mapping  # noqa: B018
    except AttributeError as error:
        assert restore_removed_name(error).startswith("import: `collections.Mapping` is `collections.abc.Mapping`")
    assert collections.Mapping is collections.abc.Mapping


def test_other_import_errors_are_left_alone():
    assert restore_removed_name(ImportError("cannot import name 'Missing' from 'collections' (x.py)")) is None
    assert restore_removed_name(ImportError("cannot import name 'Sequence' from 'typing_extras' (x.py)")) is None
    assert restore_removed_name(ModuleNotFoundError("No module named 'collections.foo'")) is None
    assert restore_removed_name(ValueError("cannot import name 'Sequence' from 'collections' ")) is None
