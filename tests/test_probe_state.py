"""CleanState (probe/state.py): what one model changes in a worker is put back (issue 14,
item 9), in this process, one change at a time."""

from __future__ import annotations

import os
import sys

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.probe

from initlint.probe.state import CleanState  # noqa: E402


@pytest.fixture
def clean():
    state = CleanState.take()
    yield state
    state.restore()


def test_the_working_directory_and_sys_path_come_back(clean, tmp_path):
    here = os.getcwd()
    os.chdir(tmp_path)
    sys.path.insert(0, str(tmp_path))
    clean.restore()
    assert os.getcwd() == here and str(tmp_path) not in sys.path


def test_patched_and_added_torch_attributes_come_back(clean):
    relu, call = torch.nn.functional.relu, torch.nn.Module.__call__
    torch.nn.functional.relu = lambda x, inplace=False: x * 0
    torch.nn.Module.__call__ = lambda self, *args: 0
    torch.Tensor.initlint_test_extra = 1
    del torch.nn.functional.gelu
    clean.restore()
    assert torch.nn.functional.relu is relu and torch.nn.Module.__call__ is call
    assert not hasattr(torch.Tensor, "initlint_test_extra") and callable(torch.nn.functional.gelu)


def test_torch_defaults_and_the_environment_come_back(clean):
    torch.set_default_dtype(torch.float64)
    os.environ["INITLINT_TEST_LEAK"] = "1"
    clean.restore()
    assert torch.get_default_dtype() is torch.float32 and "INITLINT_TEST_LEAK" not in os.environ


def test_the_users_modules_are_forgotten_installed_ones_kept(clean, tmp_path):
    (tmp_path / "users_helper.py").write_text("VALUE = 1\n")
    sys.path.insert(0, str(tmp_path))
    import users_helper  # noqa: F401
    import xml.dom.minidom  # noqa: F401  - from the standard library: stays loaded

    clean.restore()
    assert "users_helper" not in sys.modules and "xml.dom.minidom" in sys.modules
