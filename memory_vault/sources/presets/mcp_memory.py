"""The MCP memory server's knowledge graph: one JSON Lines file (even when named .json).

Its folder is the one `MEMORY_FILE_PATH` names in a client's config; unset, the file sits in
the package's own `dist/` folder (the npx cache), which `discover` finds.
"""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "mcp-memory", "MCP memory server (@modelcontextprotocol/server-memory)",
    folders=("",),
    files=("memory.jsonl", "memory.json"),
    exclude=("*.tmp",),
    formats=("jsonl",),
    deletes=("unset `MEMORY_FILE_PATH`, the file lives inside the npx package folder, which an "
             "update or a cleared npm cache deletes (modelcontextprotocol/servers#220)"),
    docs="modelcontextprotocol/servers: src/memory/index.ts, src/memory/README.md",
)
