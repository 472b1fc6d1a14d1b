"""discover, in process, over the real on-disk layouts of the agents in a temporary HOME."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memory_vault.logfile import RunLog
from memory_vault.settings.load import Config, load_config
from memory_vault.sources import discover, registry
from memory_vault.sources.discover import Found, run_discover

SECRET = "sk-ant-api03-never-printed-0123456789"
SERVER = "@modelcontextprotocol/server-memory"
NPX = ".npm/_npx/4f1c2d/node_modules/@modelcontextprotocol/server-memory/dist"
AGENT_ENV = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME", "MEM0_DIR", "LETTA_DIR",
             "npm_config_cache")


def put(path: Path, content: str | bytes = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def memory_server(env: dict[str, str]) -> dict[str, object]:
    return {"command": "npx", "args": ["-y", SERVER], "env": env}


@pytest.fixture
def home(isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in AGENT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(discover, "GLOBAL_MODULES", ())
    monkeypatch.setattr(discover, "MEM0_QDRANT", str(tmp_path / "no-qdrant"))
    h = isolated_home
    put(h / ".claude/CLAUDE.md", "# me\n")
    put(h / ".claude/projects/-home-u-proj/0b6c.jsonl", '{"type":"user"}\n')
    put(h / ".claude/projects/-home-u-proj/memory/x.md", "fact\n")
    put(h / ".claude/.credentials.json", json.dumps({"token": SECRET}))
    put(h / ".claude/settings.local.json", "{}")
    put(h / ".claude/debug/log.txt", "debug\n")
    put(h / ".codex/AGENTS.md", "# agents\n")
    put(h / ".codex/auth.json", json.dumps({"OPENAI_API_KEY": SECRET}))
    put(h / ".codex/sessions/2026/11/24/rollout-x.jsonl", '{"a":1}\n')
    put(h / ".gemini/GEMINI.md", "# gemini\n")
    put(h / ".gemini/oauth_creds.json", json.dumps({"refresh_token": SECRET}))
    put(h / ".gemini/tmp/9f86d08/chats/session-x.jsonl", '{"b":2}\n')
    graph = h / "kg/graph.jsonl"
    put(graph, '{"type":"entity","name":"a","entityType":"t","observations":[]}\n')
    put(h / ".config/Claude/claude_desktop_config.json", json.dumps({"mcpServers": {
        "memory": memory_server({"MEMORY_FILE_PATH": str(graph), "API_KEY": SECRET}),
        "other": {"command": "uvx", "args": ["mcp-server-git"], "env": {"TOKEN": SECRET}}}}))
    put(h / NPX / "memory.jsonl", '{"type":"relation","from":"a","to":"b","relationType":"r"}\n')
    put(h / NPX / "index.js", "// code\n")
    return h


@pytest.fixture
def project(tmp_path: Path) -> Path:
    proj = tmp_path / "work/proj"
    put(proj / "CLAUDE.md", "# project\n")
    put(proj / "memory-bank/activeContext.md", "now\n")
    put(proj / "memory-bank/progress.md", "done\n")
    put(proj / "src/main.py", "print()\n")
    return proj


def config_for(home: Path, tmp_path: Path, **settings: str) -> Config:
    source = tmp_path / "agents"
    source.mkdir(exist_ok=True)
    environ = {"HOME": str(home), "MEMORY_VAULT_SOURCE_DIR": str(source),
               "MEMORY_VAULT_LOG_FILE": str(tmp_path / "vault.log"),
               "MEMORY_VAULT_ERR_FILE": str(tmp_path / "vault.err"), **settings}
    return load_config(environ=environ, cwd=str(tmp_path))


def run(home: Path, tmp_path: Path, dirs: list[str], *, add: bool = False,
        **settings: str) -> tuple[list[Found], list[str], str]:
    config = config_for(home, tmp_path, **settings)
    log = RunLog(str(tmp_path / "vault.log"), str(tmp_path / "vault.err"))
    result = run_discover(config, log, dirs, add=add)
    text = json.dumps(result.as_dict())
    assert result.exit_code == 0
    logs = "".join(p.read_text() for p in tmp_path.glob("vault.*"))
    assert SECRET not in text and SECRET not in logs  # nothing else of a config is kept
    return result.found, result.added, logs


def by(found: list[Found], preset: str) -> list[Found]:
    return [f for f in found if f.preset == preset]


def test_finds_the_agents_of_home_projects_and_the_memory_server(
        home: Path, project: Path, tmp_path: Path) -> None:
    found, added, _ = run(home, tmp_path, [str(project.parent)])
    assert added == []
    (claude,) = by(found, "claude-code")
    assert (claude.folder, claude.files, claude.found_by) == (str(home / ".claude"), 3, "home")
    assert claude.size == len("# me\n") + len('{"type":"user"}\n') + len("fact\n")
    assert claude.command == f"memory-vault source add {home / '.claude'} --preset claude-code"
    assert not claude.tracked and "cleanupPeriodDays" in claude.deletes
    (codex,) = by(found, "codex")
    assert (codex.files, codex.size) == (2, len("# agents\n") + len('{"a":1}\n'))
    (gemini,) = by(found, "gemini-cli")
    assert (gemini.files, gemini.formats) == (2, ("text", "jsonl", "json"))
    (bank,) = by(found, "memory-bank")
    assert (bank.folder, bank.files, bank.found_by) == (str(project), 2, str(project.parent))
    (claude_project,) = by(found, "claude-code-project")
    assert (claude_project.folder, claude_project.files) == (str(project), 1)
    servers = {(f.folder, f.found_by) for f in by(found, "mcp-memory")}
    assert servers == {
        (str(home / "kg"), str(home / ".config/Claude/claude_desktop_config.json")),
        (str(home / NPX), "the npx cache")}
    for item in by(found, "mcp-memory"):
        assert item.files == 1 and "--files" in item.command
    assert {f.preset for f in found} == {"claude-code", "codex", "gemini-cli", "memory-bank",
                                         "claude-code-project", "mcp-memory"}
    assert all(set(f.as_dict()) >= {"preset", "agent", "folder", "files", "size", "formats",
                                     "tracked", "command"} for f in found)


def test_credentials_are_never_counted(home: Path, tmp_path: Path) -> None:
    for name in (".claude/.credentials.json", ".codex/auth.json", ".gemini/oauth_creds.json"):
        put(home / name, "{}" + " " * 100_000)
    found, _, _ = run(home, tmp_path, [])
    for item in found:
        assert item.size < 1_000, item.preset


def test_add_writes_a_sources_file_that_reads_back(home: Path, project: Path,
                                                   tmp_path: Path) -> None:
    other = tmp_path / "work/other"
    put(other / "memory-bank/brief.md", "b\n")
    found, added, _ = run(home, tmp_path, [str(tmp_path / "work")], add=True)
    assert sorted(added) == sorted(["claude-code", "codex", "gemini-cli", "memory-bank",
                                    "memory-bank-2", "claude-code-project", "mcp-memory",
                                    "mcp-memory-2"])
    assert all(f.tracked for f in found)
    config = config_for(home, tmp_path)
    sources = {s.name: s for s in registry.load_sources(registry.sources_file(config), config)}
    assert set(sources) == set(added)
    claude = sources["claude-code"]
    assert (claude.folder, claude.preset) == (str(home / ".claude"), "claude-code")
    assert ".credentials.json" in claude.exclude and "CLAUDE.md" in claude.files
    assert {sources[n].folder for n in ("memory-bank", "memory-bank-2")} == {str(project),
                                                                            str(other)}
    graph = next(s for s in sources.values() if s.folder == str(home / "kg"))
    assert (graph.files, graph.preset, graph.store) == (("graph.jsonl",), "mcp-memory", False)
    again, added_again, _ = run(home, tmp_path, [str(tmp_path / "work")], add=True)
    assert added_again == [] and all(f.tracked for f in again)


def test_a_source_already_there_counts_as_tracked(home: Path, project: Path,
                                                  tmp_path: Path) -> None:
    found, _, _ = run(home, tmp_path, [str(project)], MEMORY_VAULT_SOURCE_DIR=str(project),
                      MEMORY_VAULT_FILES="CLAUDE.md")
    assert by(found, "claude-code-project")[0].tracked  # the default source's patterns
    assert not by(found, "memory-bank")[0].tracked  # the same folder, other files
    assert not by(found, "claude-code")[0].tracked


def test_an_unreadable_config_is_a_warning_naming_it(home: Path, tmp_path: Path) -> None:
    broken = put(home / ".cursor/mcp.json", '{"mcpServers": {"k": "' + SECRET + '"')
    put(home / ".codeium/windsurf/mcp_config.json", b"\xff\xfe")
    put(home / ".claude.json", json.dumps(["not", "a", "table"]))
    found, _, logs = run(home, tmp_path, [])
    assert f"cannot read {broken}" in logs
    assert "mcp_config.json" in logs
    assert len(by(found, "mcp-memory")) == 2


def test_every_client_config_is_read_for_the_file(home: Path, tmp_path: Path) -> None:
    files = {name: put(home / f"graphs/{name}.jsonl", "{}\n")
             for name in ("code", "vscode", "codex", "cursor", "project")}
    put(home / ".claude.json", json.dumps({"projects": {"/p": {"mcpServers": {
        "m": memory_server({"MEMORY_FILE_PATH": str(files["code"])})}}}}))
    put(home / ".config/Code/User/mcp.json", (
        '{\n // VS Code allows comments\n "servers": {"memory": {"command": "npx", '
        '"args": ["<server>"], /* here too */ "env": {"MEMORY_FILE_PATH": "<path>",},},},\n}'
    ).replace("<server>", SERVER).replace("<path>", str(files["vscode"])))
    put(home / ".codex/config.toml", (
        '[mcp_servers.memory]\ncommand = "npx"\nargs = ["<server>"]\n'
        '[mcp_servers.memory.env]\nMEMORY_FILE_PATH = "<path>"\n'
    ).replace("<server>", SERVER).replace("<path>", str(files["codex"])))
    put(home / ".cursor/mcp.json", json.dumps({"mcpServers": {"m": {
        "command": "mcp-server-memory", "env": {"MEMORY_FILE_PATH": str(files["cursor"])}}}}))
    proj = tmp_path / "proj"
    put(proj / "AGENTS.md")
    put(proj / ".mcp.json", json.dumps({"mcpServers": {"m": memory_server(
        {"MEMORY_FILE_PATH": str(files["project"])})}}))
    put(home / NPX / "relative.jsonl", "{}\n")
    put(home / ".gemini/settings.json", json.dumps({"mcpServers": {"m": memory_server(
        {"MEMORY_FILE_PATH": "relative.jsonl"})}}))  # the server reads it from its folder
    found, _, _ = run(home, tmp_path, [str(proj)])
    named = {f.names for f in by(found, "mcp-memory")}
    assert {(f"{name}.jsonl",) for name in files} <= named
    assert ("relative.jsonl",) in named
    assert by(found, "agents-md")[0].folder == str(proj)


def test_projects_below_a_folder_are_found_within_bounds(home: Path, tmp_path: Path) -> None:
    root = tmp_path / "code"
    put(root / "a/b/GEMINI.md")
    put(root / "a/.aider.chat.history.md", "# aider\n")
    put(root / "a/b/c/d/CLAUDE.md")  # deeper than MAX_DEPTH
    put(root / "node_modules/pkg/CLAUDE.md")
    put(root / ".hidden/CLAUDE.md")
    put(root / "app/.cursor/rules/style.mdc")
    put(root / "app/.goose/memory/notes.txt")
    put(root / "app/chroma/chroma.sqlite3", b"SQLite format 3\x00")
    put(root / "app/vectors/items.lance/_versions/1.manifest", b"\x00")
    put(root / "app/qdrant/meta.json", "{}")
    put(root / "app/qdrant/collection/mem0/storage.sqlite", b"SQLite format 3\x00")
    put(root / "app/notqdrant/meta.json", "{}")
    found, _, _ = run(home, tmp_path, [str(root)])
    projects = {(f.preset, Path(f.folder).relative_to(root).as_posix()) for f in found
                if f.folder.startswith(str(root))}
    assert projects == {("gemini-cli-project", "a/b"), ("aider", "a"),
                        ("cursor-project", "app"), ("goose-project", "app"),
                        ("chroma", "app/chroma"), ("lancedb", "app/vectors"),
                        ("qdrant", "app/qdrant")}
    assert by(found, "qdrant")[0].files == 2


def test_mem0_and_its_default_qdrant(home: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    put(home / ".mem0/history.db", b"SQLite format 3\x00")
    put(home / ".mem0/config.json", '{"user_id": "anon"}')
    qdrant = tmp_path / "qdrant"
    put(qdrant / "meta.json", "{}")
    put(qdrant / "collection/mem0/storage.sqlite", b"SQLite format 3\x00")
    put(qdrant / ".lock", "")
    monkeypatch.setattr(discover, "MEM0_QDRANT", str(qdrant))
    found, _, _ = run(home, tmp_path, [])
    assert by(found, "mem0")[0].files == 1
    (vectors,) = by(found, "qdrant")
    assert (vectors.folder, vectors.files) == (str(qdrant), 2)


def test_a_missing_folder_is_a_warning(home: Path, tmp_path: Path) -> None:
    _, _, logs = run(home, tmp_path, [str(tmp_path / "nowhere")])
    assert "nowhere is not a folder" in logs
