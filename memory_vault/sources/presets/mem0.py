"""mem0's local folder: the history database, and a Qdrant store kept there (a store)."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "mem0", "mem0 (local Memory())",
    folders=("${MEM0_DIR:-~/.mem0}",),
    files=("history.db", "*/meta.json", "*/collection/*/storage.sqlite"),
    exclude=("config.json", "migrations_*", "**/.lock"),
    formats=("sqlite", "json"),
    store=True,
    deletes=("the default vector store is Qdrant at `/tmp/qdrant`, gone at reboot (track it "
             "with the `qdrant` preset); before 1.0.8 mem0 deleted it at every start"),
    docs="mem0ai/mem0: mem0/configs/base.py, mem0/configs/vector_stores/qdrant.py",
)
