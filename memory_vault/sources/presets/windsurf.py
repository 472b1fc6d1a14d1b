"""Windsurf's Cascade memories and global rules (the memories are opaque protobuf)."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "windsurf", "Windsurf (Cascade)",
    folders=("~/.codeium/windsurf",),
    files=("memories/*.md", "memories/*.pb"),
    exclude=("mcp_config.json", "code_tracker", "context_state", "logs", "cascade"),
    formats=("text", "bytes"),
    docs="https://docs.windsurf.com/windsurf/cascade/memories",
)
