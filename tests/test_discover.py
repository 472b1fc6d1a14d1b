"""`discover` through the real program: the agents' on-disk layouts in a temporary HOME, found,
printed as JSON with the `source add` line for each, added with `--add`, then backed up."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from conftest import Vault

SECRET = "sk-ant-api03-never-printed-0123456789"
NPX = ".npm/_npx/4f1c2d/node_modules/@modelcontextprotocol/server-memory/dist"
AGENT_ENV: dict[str, str | None] = {name: None for name in (
    "CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME", "MEM0_DIR", "LETTA_DIR",
    "npm_config_cache")}


def put(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def machine(vault: Vault) -> Path:
    """Claude Code, Codex and Gemini CLI in HOME, a project with a memory bank, the MCP
    memory server's file named by Claude Desktop's config and another in the npx cache."""
    h = vault.home
    put(h / ".claude/CLAUDE.md", "# me\n")
    put(h / ".claude/projects/-home-u-proj/0b6c.jsonl", '{"type":"user"}\n')
    put(h / ".claude/projects/-home-u-proj/memory/MEMORY.md", "- fact\n")
    put(h / ".claude/.credentials.json", json.dumps({"accessToken": SECRET}))
    put(h / ".codex/AGENTS.md", "# agents\n")
    put(h / ".codex/auth.json", json.dumps({"OPENAI_API_KEY": SECRET}))
    put(h / ".codex/sessions/2026/11/24/rollout-x.jsonl", '{"a":1}\n')
    put(h / ".gemini/GEMINI.md", "# gemini\n")
    put(h / ".gemini/oauth_creds.json", json.dumps({"refresh_token": SECRET}))
    put(h / ".gemini/tmp/9f86d08/chats/session-x.jsonl", '{"b":2}\n')
    graph = h / "kg/memory.jsonl"
    put(graph, '{"type":"entity","name":"a","entityType":"t","observations":[]}\n')
    put(h / ".config/Claude/claude_desktop_config.json", json.dumps({"mcpServers": {"memory": {
        "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"],
        "env": {"MEMORY_FILE_PATH": str(graph), "GITHUB_TOKEN": SECRET}}}}))
    put(h / NPX / "memory.jsonl", '{"type":"relation","from":"a","to":"b","relationType":"r"}\n')
    project = vault.tmp / "work/proj"
    put(project / "CLAUDE.md", "# project\n")
    put(project / "memory-bank/activeContext.md", "now\n")
    return project


def test_discover_prints_each_store_and_the_line_that_tracks_it(vault: Vault) -> None:
    project = machine(vault)
    result = vault.run("discover", "--json", str(project), env=AGENT_ENV)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    document = json.loads(result.stdout)
    found = {(f["preset"], f["folder"]): f for f in document["found"]
             if f["folder"].startswith(str(vault.tmp))}  # not a global npm install's
    home = vault.home
    assert set(found) == {
        ("claude-code", str(home / ".claude")), ("codex", str(home / ".codex")),
        ("gemini-cli", str(home / ".gemini")), ("memory-bank", str(project)),
        ("claude-code-project", str(project)), ("mcp-memory", str(home / "kg")),
        ("mcp-memory", str(home / NPX))}
    claude = found[("claude-code", str(home / ".claude"))]
    assert (claude["files"], claude["tracked"]) == (3, False)
    assert claude["command"].endswith(f"source add {home / '.claude'} --preset claude-code")
    assert found[("codex", str(home / ".codex"))]["files"] == 2  # never auth.json
    assert document["added"] == []
    text = vault.run("discover", str(project), env=AGENT_ENV)
    assert text.returncode == 0 and "--preset memory-bank" in text.stdout


def test_discover_add_tracks_them_and_the_next_run_backs_them_up(vault: Vault) -> None:
    project = machine(vault)
    added = vault.run("discover", "--add", "--json", str(project), env=AGENT_ENV)
    assert added.returncode == 0, added.stderr
    names = json.loads(added.stdout)["added"]
    assert set(names) >= {"claude-code", "claude-code-project", "codex", "gemini-cli",
                          "mcp-memory", "mcp-memory-2", "memory-bank"}
    sources_file = vault.home / ".config/memory-vault/sources.toml"
    tables = tomllib.loads(sources_file.read_text())
    assert set(tables) == set(names)
    assert tables["claude-code"]["folder"] == str(vault.home / ".claude")
    assert ".credentials.json" in tables["claude-code"]["exclude"]
    again = json.loads(vault.run("discover", "--json", str(project), env=AGENT_ENV).stdout)
    assert all(f["tracked"] for f in again["found"]) and again["added"] == []

    synced = vault.run("--now", env=AGENT_ENV)
    assert synced.returncode == 0, synced.stderr
    assert vault.remote_file("claude-code/CLAUDE.md") == b"# me\n"
    assert vault.remote_file("memory-bank/memory-bank/activeContext.md") == b"now\n"
    tree = vault.remote_git("ls-tree", "-r", "--name-only", "main")
    assert "codex/sessions/2026/11/24/rollout-x.jsonl" in tree
    for secret_file in (".credentials.json", "auth.json", "oauth_creds.json"):
        assert secret_file not in tree
    assert SECRET not in vault.remote_git("log", "-p", "main")
