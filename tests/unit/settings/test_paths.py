"""Paths: XDG variables, relative values ignored."""

from __future__ import annotations

from memory_vault.settings import paths


def test_xdg_paths_ignore_relative_values() -> None:
    env = {"HOME": "/home/u", "XDG_DATA_HOME": "relative", "XDG_STATE_HOME": "/st"}
    assert paths.data_home(env) == "/home/u/.local/share/memory-vault"
    assert paths.state_dir(env) == "/st/memory-vault"
    assert paths.config_env_file(env) == "/home/u/.config/memory-vault/.env"

