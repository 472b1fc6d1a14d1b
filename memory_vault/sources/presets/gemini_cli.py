"""Gemini CLI's home folder: GEMINI.md, project memory, chat recordings."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "gemini-cli", "Gemini CLI",
    folders=("${GEMINI_CLI_HOME:-~}/.gemini",),
    files=("GEMINI.md", "tmp/*/memory/**/*.md", "tmp/*/chats/*.jsonl", "tmp/*/chats/*.json",
           "tmp/*/logs.json", "tmp/*/checkpoint-*.json"),
    exclude=("oauth_creds.json", "google_accounts.json", "mcp-oauth-tokens.json",
             "a2a-oauth-tokens.json", "gemini-credentials.json", "installation_id", "**/.env",
             "settings.json", "history", "tmp/*/checkpoints", "tmp/*/shell_history",
             "tmp/*/logs", "tmp/bin", "extensions"),
    formats=("text", "jsonl", "json"),
    deletes=("`general.sessionRetention` (settings.json; enabled, `maxAge` 30d by default): "
             "chats older than that are deleted"),
    docs="google-gemini/gemini-cli: packages/core/src/config/storage.ts, "
         "docs/cli/session-management.md",
)
