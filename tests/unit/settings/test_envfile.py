"""The env file: values read back exactly, other lines kept."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from dotenv import dotenv_values

from memory_vault.settings.envfile import quote, update_env_file


@pytest.mark.parametrize("value", ["/srv/agents\\", "a\\\\b", "x${y}z", "it's", "", "plain",
                                   "sp ace", "${A:-b}", "tab\tin", "ünï"])
def test_env_file_quoting_reads_back(value: str) -> None:
    parsed = dotenv_values(stream=io.StringIO(f"K={quote(value)}\n"), interpolate=True)
    assert parsed["K"] == value



def test_env_file_update_keeps_other_lines(tmp_path: Path) -> None:
    path = tmp_path / "conf/.env"
    path.parent.mkdir()
    path.write_text("# mine\nOTHER=1\nMEMORY_VAULT_SUBDIR=old\n")
    update_env_file(str(path), {"MEMORY_VAULT_SUBDIR": "new dir", "MEMORY_VAULT_PUSH": "true"})
    assert path.read_text() == ("# mine\nOTHER=1\nMEMORY_VAULT_SUBDIR='new dir'\n"
                                "MEMORY_VAULT_PUSH=true\n")
    assert os.stat(path).st_mode & 0o777 == 0o600

