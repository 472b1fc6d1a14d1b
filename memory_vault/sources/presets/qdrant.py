"""A Qdrant local-mode folder (`QdrantClient(path=...)`): meta.json and collections (a store)."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "qdrant", "Qdrant (local mode)",
    folders=("",), project=True,
    files=("meta.json", "collection/*/storage.sqlite"),
    exclude=(".lock",),
    formats=("json", "sqlite"),
    store=True,
    deletes="mem0's default path `/tmp/qdrant` is wiped at reboot",
    docs="qdrant/qdrant-client: qdrant_client/local/qdrant_local.py, local/persistence.py",
)
