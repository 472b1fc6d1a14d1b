"""Gemini CLI's memory in a project: its GEMINI.md."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "gemini-cli-project", "Gemini CLI (project)",
    folders=("",), project=True,
    files=("GEMINI.md",),
    exclude=(".gemini/.env", ".gemini/settings.json", ".env"),
    formats=("text",),
    docs="google-gemini/gemini-cli: packages/core/src/tools/memoryTool.ts",
)
