"""Letta: Letta Code's memory files per agent, and the legacy server's SQLite database."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "letta", "Letta",
    folders=("${LETTA_DIR:-~/.letta}",),
    files=("agents/*/memory/**/*.md", "sqlite.db"),
    exclude=("settings.json", "**/settings.local.json", "pg_uri", "logs", "tool_execution_dir",
             ".persist"),
    formats=("text", "sqlite"),
    deletes="the agent rewrites its memory files (Letta Code keeps them in its own git)",
    docs="https://docs.letta.com/letta-code/memfs",
)
