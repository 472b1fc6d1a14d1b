"""Presets: one module per agent or store, each a `PRESET` naming its memory files, formats,
the credentials and caches left out, and when the agent deletes its own files; found by name,
so that adding an agent touches nothing else."""
