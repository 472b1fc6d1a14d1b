"""ruff and strict mypy are part of the test run, so CI holds the code to them."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("tool", [["ruff", "check", "."], ["mypy"]], ids=["ruff", "mypy"])
def test_static_checks_are_clean(tool: list[str]) -> None:
    if shutil.which(tool[0]) is None and not _module_available(tool[0]):
        pytest.fail(f"{tool[0]} is not installed: install the test extra (pip install '.[test]')")
    result = subprocess.run([sys.executable, "-m", *tool], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _module_available(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
