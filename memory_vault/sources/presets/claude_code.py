"""Claude Code's home folder: user memory, auto memory, transcripts and prompt history."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "claude-code", "Claude Code",
    folders=("${CLAUDE_CONFIG_DIR:-~/.claude}",),
    files=("CLAUDE.md", "rules/**/*.md", "projects/*/memory/**/*.md", "projects/*/*.jsonl",
           "projects/*/*/subagents/*.jsonl", "history.jsonl", "agents/*.md",
           "commands/**/*.md", "skills/**/SKILL.md"),
    exclude=(".credentials.json", "**/settings.local.json", "backups", "projects/*/*/tool-results",
             "file-history", "paste-cache", "image-cache", "shell-snapshots", "session-env",
             "sessions", "debug", "todos", "tasks", "plans", "statsig", "telemetry", "cache",
             "plugins", "ide", "stats-cache.json"),
    formats=("text", "jsonl"),
    deletes=("`cleanupPeriodDays` (settings.json, default 30): at startup, transcripts "
             "`projects/*/<session>.jsonl` older than that are deleted; auto memory is kept"),
    docs="https://code.claude.com/docs/en/claude-directory",
)
