"""Goose's memory extension, a project's local memories."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "goose-project", "Goose memory extension (project)",
    folders=("",), project=True,
    files=(".goose/memory/*.txt",),
    formats=("text",),
    deletes="the agent's own `remove_memory_category` tool deletes a category's file",
    docs="block/goose: crates/goose-mcp/src/memory/mod.rs",
)
