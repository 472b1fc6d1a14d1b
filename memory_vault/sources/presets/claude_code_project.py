"""Claude Code's memory in a project: CLAUDE.md, CLAUDE.local.md and the project's rules."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "claude-code-project", "Claude Code (project)",
    folders=("",), project=True,
    files=("CLAUDE.md", "CLAUDE.local.md", ".claude/CLAUDE.md", ".claude/rules/**/*.md"),
    exclude=(".claude/settings.local.json", ".claude/settings.json", ".mcp.json"),
    formats=("text",),
    docs="https://code.claude.com/docs/en/memory",
)
