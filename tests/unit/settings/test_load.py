"""Settings: defaults, precedence, and one line naming a bad value and its source."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_vault.errors import ConfigError
from memory_vault.settings.load import load_config


def _load(tmp_path: Path, environ: dict[str, str], **kw: object) -> object:
    base = {"HOME": str(tmp_path), "MEMORY_VAULT_SOURCE_DIR": str(tmp_path)}
    return load_config(environ={**base, **environ}, cwd=str(tmp_path), **kw)  # type: ignore[arg-type]



def test_defaults_and_precedence(tmp_path: Path) -> None:
    env_file = tmp_path / "v.env"
    env_file.write_text("MEMORY_VAULT_SUBDIR=from-file\nMEMORY_VAULT_BRANCH=from-file\n")
    config = _load(tmp_path, {"MEMORY_VAULT_BRANCH": "from-env"},
                   env_file_option=str(env_file),
                   options={"MEMORY_VAULT_PUSH": "false"})
    assert config.subdir == "from-file"  # type: ignore[attr-defined]
    assert config.branch == "from-env"  # type: ignore[attr-defined]
    assert config.push is False  # type: ignore[attr-defined]
    assert config.embedded  # type: ignore[attr-defined]
    assert config.remote == str(tmp_path / ".local/share/memory-vault/vault.git")  # type: ignore[attr-defined]



@pytest.mark.parametrize(("name", "value", "where"), [
    ("MEMORY_VAULT_PUSH", "maybe", "the environment"),
    ("MEMORY_VAULT_VALIDATE_JSON", "perhaps", "the environment"),
    ("MEMORY_VAULT_BRANCH", "x.lock", "the environment"),
])
def test_a_bad_value_names_itself_and_where_it_came_from(tmp_path: Path, name: str,
                                                         value: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, {name: value})
    assert str(caught.value).startswith(f"{name}={value!r} (from {where}): ")



def test_the_old_validate_name_still_counts(tmp_path: Path) -> None:
    assert _load(tmp_path, {"MEMORY_VAULT_VALIDATE_JSON": "false"}).validate is False  # type: ignore[attr-defined]

