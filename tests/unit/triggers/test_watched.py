"""What `watch` counts as a change: a tracked path of a source, by its own patterns."""

from __future__ import annotations

from pathlib import Path

from memory_vault.settings.load import load_config
from memory_vault.triggers.watched import Watched


def test_only_tracked_paths_count(isolated_home: Path, tmp_path: Path) -> None:
    source = tmp_path / "claude"
    (source / "projects/app").mkdir(parents=True)
    (source / "debug").mkdir()
    config = load_config(environ={
        "HOME": str(isolated_home), "MEMORY_VAULT_SOURCE_DIR": str(source),
        "MEMORY_VAULT_FILES": "CLAUDE.md,projects/*/*.jsonl,projects/*/memory/**/*.md,*.db",
        "MEMORY_VAULT_EXCLUDE": "debug", "MEMORY_VAULT_LOG_FILE": str(tmp_path / "log"),
        "MEMORY_VAULT_ERR_FILE": str(tmp_path / "err")})
    watched = Watched(config)
    root = str(source.resolve())
    assert watched.roots == [root]
    assert watched.counts(f"{root}/CLAUDE.md")
    assert watched.counts(f"{root}/projects/app/0f3a.jsonl")
    assert watched.counts(f"{root}/projects/app/memory/deep/MEMORY.md")
    assert watched.counts(f"{root}/store.db-wal")  # a database's sidecar
    assert not watched.counts(f"{root}/projects/app/0f3a.txt")
    assert not watched.counts(f"{root}/debug/CLAUDE.md")  # excluded
    assert not watched.counts(root)
    assert watched.counts(f"{root}/projects/app", added=True)  # a new folder a pattern reaches
    assert not watched.counts(f"{root}/debug", added=True)
    assert not watched.counts(f"{config.home}/clone/CLAUDE.md")
