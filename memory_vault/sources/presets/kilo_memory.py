"""Kilo Code's Memory feature: Markdown files per project in its data folder."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "kilo-memory", "Kilo Code Memory",
    folders=("${XDG_DATA_HOME:-~/.local/share}/kilo/memory",),
    files=("*/project.md", "*/environment.md", "*/corrections.md", "*/sessions/*.md"),
    formats=("text",),
    docs="https://kilo.ai/docs/customize/context/memory",
)
