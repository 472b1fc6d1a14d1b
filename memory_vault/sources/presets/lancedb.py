"""A LanceDB database folder: each table's `*.lance` folder, data and manifests (a store)."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "lancedb", "LanceDB",
    folders=("",), project=True,
    files=("*.lance/**",),
    formats=("bytes",),
    store=True,
    deletes=("`table.optimize()` / `cleanup_old_versions` delete versions older than "
             "`cleanup_older_than` (7 days by default) and their files"),
    docs="https://lancedb.github.io/lance/format/table",
)
