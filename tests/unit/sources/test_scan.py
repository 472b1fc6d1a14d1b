"""The scan: wildcards, globs over subfolders, SQLite's sidecars."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_vault.content import formats
from memory_vault.sources import patterns
from memory_vault.sources import scan as sources


@pytest.mark.parametrize(("pattern", "name", "matches"), [
    ("*_memories.json", "gpt4_memories.json", True),
    ("*_memories.json", "memories.json", False),
    ("memory.json?", "memory.json", False),
    ("a*b*c", "axxbyyc", True),
    ("*", "", True),
])
def test_wildcards(pattern: str, name: str, matches: bool) -> None:
    assert patterns.wildcard_match(pattern, name) is matches



def test_expand_globs_subfolders_and_sidecars(tmp_path: Path) -> None:
    for name in ("memory.json", "a_memories.json", "bank/x.md", "deep/1/2/y.md", "agent.db",
                 "agent.db-wal", "folder_memories.json/inner"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    present, absent = sources.expand(
        ("memory.json", "gone.json", "*_memories.json", "bank/*.md", "deep/**/*.md", "agent.db*"),
        str(tmp_path))
    assert present == ["memory.json", "a_memories.json", "bank/x.md", "deep/1/2/y.md",
                       "agent.db"]
    assert absent == ["gone.json"]



def test_the_cron_path_spells_sqlite_as_formats_does() -> None:
    """`sources` names SQLite's format itself, so that a no-change run need not load
    `formats`; both must agree, or a database's `-wal` would stop counting as a change."""
    assert sources.SQLITE == formats.SQLITE

