"""The settings table is the one source of .env.example and the README's table."""

from __future__ import annotations

from memory_vault.settings import docs as settings_doc
from memory_vault.settings.schema import SETTINGS, VARIABLES


def test_settings_table_is_the_one_source() -> None:
    assert list(VARIABLES) == [s.name for s in SETTINGS]
    example = settings_doc.env_example()
    for setting in SETTINGS:
        assert f"# {setting.name}={setting.default}\n" in example
    table = settings_doc.readme_table()
    assert table.count("\n| `MEMORY_VAULT_") == len(SETTINGS) - 1  # name and email share a row

