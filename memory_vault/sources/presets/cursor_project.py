"""Cursor's rules in a project: `.cursor/rules/*.mdc` and the legacy `.cursorrules`."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "cursor-project", "Cursor (project rules)",
    folders=("",), project=True,
    files=(".cursor/rules/**/*.mdc", ".cursor/rules/**/*.md", ".cursorrules"),
    exclude=(".cursor/mcp.json",),
    formats=("text",),
    docs="https://docs.cursor.com/context/rules",
)
