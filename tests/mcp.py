"""The real MCP memory server (`@modelcontextprotocol/server-memory`), driven over stdio.

`.ci/run` installs the pinned package into `.ci/node`; `server_script()` finds it there (or
installs it with npm when node is present but the package is not). Messages are MCP's
JSON-RPC 2.0, one per line: `initialize`, `notifications/initialized`, then `tools/call`.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

PACKAGE = "@modelcontextprotocol/server-memory"
VERSION = "2026.8.31"
NODE_DIR = Path(__file__).resolve().parent.parent / ".ci" / "node"


@functools.cache
def server_script() -> Path | str:
    """The server's entry script, or the reason it cannot run here (a string); asked once
    per test process, since an npm that cannot reach its registry takes a minute to say so."""
    if shutil.which("node") is None:
        return "node is not installed: the MCP memory server cannot run here"
    script = NODE_DIR / "node_modules" / PACKAGE / "dist" / "index.js"
    if not script.exists():
        if shutil.which("npm") is None:
            return "npm is not installed: cannot install the MCP memory server"
        installed = subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR),
             f"{PACKAGE}@{VERSION}"], capture_output=True, text=True, check=False, timeout=300)
        if installed.returncode != 0 or not script.exists():  # no registry: skipped here
            last = (installed.stderr.strip().splitlines() or ["no message"])[-1]
            return f"npm could not install {PACKAGE}@{VERSION} ({last})"
    return script


class MemoryServer:
    """One server process writing its knowledge graph to `memory_file`."""

    def __init__(self, script: Path, memory_file: Path) -> None:
        self.proc = subprocess.Popen(
            ["node", str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env={"PATH": "/usr/local/bin:/usr/bin:/bin",
                                            "MEMORY_FILE_PATH": str(memory_file)},
            text=True, bufsize=1)
        self.next_id = 0
        self._request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                     "clientInfo": {"name": "memory-vault-tests",
                                                    "version": "1"}})
        self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def _request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the MCP memory server exited")
            message = json.loads(line)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(message["error"])
                result: dict[str, Any] = message["result"]
                return result

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = self._request("tools/call", {"name": tool, "arguments": arguments})
        if result.get("isError"):
            raise RuntimeError(result)
        return result

    def read_graph(self) -> dict[str, Any]:
        result = self.call("read_graph")
        if "structuredContent" in result:
            graph: dict[str, Any] = result["structuredContent"]
            return graph
        loaded: dict[str, Any] = json.loads(result["content"][0]["text"])
        return loaded

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> MemoryServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
