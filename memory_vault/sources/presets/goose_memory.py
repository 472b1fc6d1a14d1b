"""Goose's memory extension, global memories: one text file per category."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "goose-memory", "Goose memory extension",
    folders=("${XDG_CONFIG_HOME:-~/.config}/goose",),
    files=("memory/*.txt",),
    exclude=("secrets.yaml", "config.yaml"),
    formats=("text",),
    deletes="the agent's own `remove_memory_category` tool deletes a category's file",
    docs="block/goose: crates/goose-mcp/src/memory/mod.rs",
)
