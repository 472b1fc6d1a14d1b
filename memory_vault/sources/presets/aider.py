"""Aider's history files at a git repository's root."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "aider", "Aider",
    folders=("",), project=True,
    files=(".aider.chat.history.md", ".aider.input.history", "CONVENTIONS.md"),
    exclude=(".env", ".aider.conf.yml", ".aider.tags.cache.v*"),
    formats=("text",),
    docs="Aider-AI/aider: aider/args.py (default chat and input history files)",
)
