"""Cursor's agent (CLI) transcripts and chats in ~/.cursor.

The IDE's chats sit in `state.vscdb`, the database that also holds the sign-in tokens: left
out until secrets inside SQLite can be redacted.
"""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "cursor", "Cursor (agent transcripts)",
    folders=("~/.cursor",),
    files=("projects/*/agent-transcripts/**/*.jsonl", "projects/*/agent-transcripts/**/*.txt",
           "chats/*/*/store.db"),
    exclude=("mcp.json", "cli-config.json", "extensions", "**/*.vscdb", "**/*.vscdb.backup"),
    formats=("jsonl", "text", "sqlite"),
    docs="nick-fullpath/cursor-history: README.md (third-party; not in Cursor's docs)",
)
