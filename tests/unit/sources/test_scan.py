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
    ("memory.json", "memory.json", True),
    ("memory.json", "memory.jso", False),
    ("rollout-*", "rollout-", True),
    ("ab*ba", "aba", False),
    ("*.jsonl", "x.jsonl.tmp", False),
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



def test_excludes_by_their_first_name_and_by_a_wildcard_alike(tmp_path: Path) -> None:
    for name in ("projects/a/s.jsonl", "projects/a/t/tool-results/x.jsonl", "backups/b.jsonl",
                 "deep/settings.local.json", "projects/settings.local.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    found = patterns.Matches(str(tmp_path), ("**/*.jsonl", "**/*.json"),
                             ("backups", "projects/*/*/tool-results", "**/settings.local.json"))
    assert list(found.found) == ["projects/a/s.jsonl"]


def test_a_folder_linked_inside_the_source_is_followed_and_one_outside_refused(
        tmp_path: Path) -> None:
    (tmp_path / "source/real").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    for name in ("source/real/a.json", "source/real/b.json", "outside/c.json"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "source/alias").symlink_to("real")
    (tmp_path / "source/away").symlink_to(tmp_path / "outside")
    result = sources.scan(("alias/*.json", "away/*.json"), str(tmp_path / "source"), {},
                          read_all=True)
    assert result.candidates == ["alias/a.json", "alias/b.json"]
    assert [(s.name, s.reason) for s in result.skips] == [("away/c.json", sources.OUTSIDE)]
