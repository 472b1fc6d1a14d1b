"""Windsurf's rules in a project."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "windsurf-project", "Windsurf (project rules)",
    folders=("",), project=True,
    files=(".windsurf/rules/**/*.md", ".windsurfrules"),
    formats=("text",),
    docs="https://docs.windsurf.com/windsurf/cascade/memories",
)
