"""AGENTS.md in a project: the instructions Codex (and Cursor, Windsurf...) read."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "agents-md", "Codex CLI and others (project AGENTS.md)",
    folders=("",), project=True,
    files=("AGENTS.md", "AGENTS.override.md"),
    formats=("text",),
    docs="https://developers.openai.com/codex/guides/agents-md",
)
