"""Goose's sessions: one SQLite database (v1.20+), JSON Lines files before."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "goose", "Goose (sessions)",
    folders=("${XDG_DATA_HOME:-~/.local/share}/goose", "~/.goose"),
    files=("sessions/sessions.db", "sessions/*.jsonl"),
    exclude=("logs",),
    formats=("sqlite", "jsonl"),
    deletes="only `goose session remove` deletes a session",
    docs="block/goose: crates/goose/src/session/session_manager.rs",
)
