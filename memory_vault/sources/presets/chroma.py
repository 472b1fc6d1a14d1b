"""A Chroma persistent client's folder: chroma.sqlite3 and its HNSW segments (a store)."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "chroma", "Chroma (PersistentClient)",
    folders=("",), project=True,
    files=("chroma.sqlite3", "*/header.bin", "*/data_level0.bin", "*/length.bin",
           "*/link_lists.bin", "*/index_metadata.pickle"),
    formats=("sqlite", "bytes"),
    store=True,
    deletes="only `client.reset()` and `delete_collection`",
    docs="https://cookbook.chromadb.dev/core/storage-layout/",
)
