"""The path rule: names git and the vault cannot hold."""

from __future__ import annotations

import pytest

from memory_vault.sources import names


@pytest.mark.parametrize("part", [".git", ".GIT", ".git.", "git~1", ".Git "])
def test_git_names(part: str) -> None:
    assert names.is_git_name(part)
    assert names.unholdable(f"a/{part}/b") is not None
    assert names.unholdable("a/.github/b") is None

