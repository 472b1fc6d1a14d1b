"""The unit layer: pure functions and in-process commands, every user folder isolated.

Like llm's test suite, an autouse fixture points HOME and every XDG folder at a temporary
one, so no unit test can read or touch the real user's settings, data or logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME",
                 "MEMORY_VAULT_ENV_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name in list(__import__("os").environ):
        if name.startswith("MEMORY_VAULT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MEMORY_VAULT_LOG_FILE", str(tmp_path / "vault.log"))
    monkeypatch.setenv("MEMORY_VAULT_ERR_FILE", str(tmp_path / "vault.err"))
    yield home
