"""Presets: each loads, names memory files in one spelling, and leaves every credential out."""

from __future__ import annotations

import pytest

from memory_vault.settings.validate import normalised
from memory_vault.sources import preset as presets
from memory_vault.sources import presets_doc
from memory_vault.sources.patterns import excluded

REQUIRED = {"claude-code", "codex", "gemini-cli", "mcp-memory", "memory-bank", "aider", "goose",
            "windsurf", "cursor", "mem0", "letta", "chroma", "lancedb", "qdrant"}
STORES = {"chroma", "lancedb", "qdrant", "mem0"}
FORMATS = {"json", "jsonl", "sqlite", "text", "bytes"}
# Every credential (or secret-bearing config) the research notes name, by preset, as a path
# inside the preset's folder: never read, whatever the patterns say.
CREDENTIALS = {
    "claude-code": [".credentials.json", "settings.local.json", "projects/x/settings.local.json",
                    "backups/.claude.json.backup"],
    "claude-code-project": [".claude/settings.local.json", ".mcp.json"],
    "codex": ["auth.json", ".credentials.json", "config.toml"],
    "gemini-cli": ["oauth_creds.json", "google_accounts.json", "mcp-oauth-tokens.json",
                   "a2a-oauth-tokens.json", "gemini-credentials.json", "installation_id",
                   ".env", "settings.json"],
    "gemini-cli-project": [".gemini/.env", ".gemini/settings.json", ".env"],
    "aider": [".env", ".aider.conf.yml"],
    "goose-memory": ["secrets.yaml", "config.yaml"],
    "windsurf": ["mcp_config.json"],
    "cursor": ["mcp.json", "cli-config.json", "User/globalStorage/state.vscdb"],
    "cursor-project": [".cursor/mcp.json"],
    "mem0": ["config.json"],
    "letta": ["settings.json", "pg_uri", ".letta/settings.local.json"],
    "qdrant": [".lock"],
}
CACHES = {
    "claude-code": ["projects/p/s/tool-results/x.json", "file-history/s/x", "debug/x.txt",
                    "shell-snapshots/x.sh", "todos/x.json", "statsig/x", "plugins/x/SKILL.md"],
    "codex": ["log/codex-tui.log", "state_5.sqlite", "tmp/x"],
    "gemini-cli": ["history/abc/HEAD", "tmp/abc/checkpoints/x.json", "tmp/abc/logs/x.json",
                   "tmp/abc/shell_history"],
    "aider": [".aider.tags.cache.v4/cache.db"],
    "letta": ["logs/Letta.log", "tool_execution_dir/x.py"],
}


def every() -> list[presets.Preset]:
    loaded = [presets.load(name) for name in presets.names()]
    assert all(p is not None for p in loaded)
    return [p for p in loaded if p is not None]


def test_every_required_preset_exists_and_loads() -> None:
    assert set(presets.names()) >= REQUIRED
    for p in every():
        assert p.name in presets.names()
        assert p.files and p.agent and p.docs and p.formats
        assert set(p.formats) <= FORMATS, p.name
        assert p.store == (p.name in STORES), p.name
        if p.project:
            assert p.folders == ("",), p.name
        else:
            assert p.folders and all(f.startswith(("~", "$", "/")) for f in p.folders if f)


def test_patterns_are_written_in_their_one_spelling() -> None:
    for p in every():
        assert normalised(p.files) == p.files, p.name
        if p.exclude:
            assert normalised(p.exclude) == p.exclude, p.name


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
def test_every_credential_is_left_out(name: str) -> None:
    p = presets.load(name)
    assert p is not None
    for path in CREDENTIALS[name] + CACHES.get(name, []):
        assert excluded(path, p.exclude), f"{name} would read {path}"


def test_folders_expand_from_the_environment() -> None:
    env = {"HOME": "/h", "CODEX_HOME": "/c", "XDG_DATA_HOME": ""}
    folders = {p.name: [presets.expand(f, env) for f in p.folders] for p in every()}
    assert folders["claude-code"] == ["/h/.claude"]
    assert folders["codex"] == ["/c"]
    assert folders["gemini-cli"] == ["/h/.gemini"]
    assert folders["goose"] == ["/h/.local/share/goose", "/h/.goose"]
    assert presets.expand("${GEMINI_CLI_HOME:-~}/.gemini", {"HOME": "/h",
                                                          "GEMINI_CLI_HOME": "/g"}) == "/g/.gemini"


def test_the_readme_table_is_up_to_date() -> None:
    """As the settings table: `python -m memory_vault.sources.presets_doc` rewrites it."""
    assert presets_doc.main(["--check"]) == 0
    table = presets_doc.table()
    for name in presets.names():
        assert f"| `{name}` |" in table
    assert table.count("\n| `") == len(presets.names())
