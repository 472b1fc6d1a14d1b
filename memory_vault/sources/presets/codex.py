"""Codex CLI's home folder: AGENTS.md, session rollouts, prompt history, Memories."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "codex", "Codex CLI",
    folders=("${CODEX_HOME:-~/.codex}",),
    files=("AGENTS.md", "AGENTS.override.md", "sessions/**/rollout-*.jsonl",
           "archived_sessions/rollout-*.jsonl", "history.jsonl", "session_index.jsonl",
           "memories/**/*.md"),
    exclude=("auth.json", ".credentials.json", "config.toml", "log", "*.sqlite", "packages",
             "tmp", "shell_snapshots"),
    formats=("text", "jsonl"),
    deletes=("sessions are kept; `[history] max_bytes` may trim history.jsonl; the Memories "
             "feature rewrites `memories/` and `codex debug clear-memories` empties it"),
    docs="https://developers.openai.com/codex/config-advanced",
)
