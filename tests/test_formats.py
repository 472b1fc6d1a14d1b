"""Agent memory as it really is: JSON Lines (the real MCP memory server), Markdown memory
banks, live SQLite databases in WAL mode. Every committed version is one the agent wrote, and
every restored file loads back into the agent."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import SCRIPT, Vault, assert_fsck_clean, git


def _versions(vault: Vault, name: str) -> dict[str, bytes]:
    """Every version of `name` in the remote's history: commit -> bytes."""
    shas = vault.remote_git("log", "--format=%H", "main", "--", f"rAgentShared/{name}").split()
    return {sha: vault.remote_file(name, sha) for sha in shas}


def _syncs_until(vault: Vault, done: threading.Event) -> list[int]:
    codes = []
    while not done.is_set():
        codes.append(vault.run("--now").returncode)
    codes.append(vault.run("--now").returncode)
    return codes


# -- the real MCP memory server ----------------------------------------------------------------

@pytest.fixture
def mcp_script() -> Path:
    from mcp import server_script

    script = server_script()
    if isinstance(script, str):
        pytest.skip(script)
    return script


def _agent_session(script: Path, memory_file: Path, written: set[str],
                   done: threading.Event) -> None:
    """An agent learning, correcting and forgetting; each version the server writes is
    recorded (its sha256) as soon as the call that wrote it returns."""
    from mcp import MemoryServer

    def record() -> None:
        written.add(hashlib.sha256(memory_file.read_bytes()).hexdigest())

    try:
        with MemoryServer(script, memory_file) as server:
            for n in range(40):
                server.call("create_entities", entities=[{
                    "name": f"topic-{n}", "entityType": "topic",
                    "observations": [f"first fact about {n}"]}])
                record()
                server.call("add_observations", observations=[{
                    "entityName": f"topic-{n}", "contents": [f"learned {n}.{k}" for k in
                                                             range(3)]}])
                record()
                if n:
                    server.call("create_relations", relations=[{
                        "from": f"topic-{n}", "to": f"topic-{n - 1}",
                        "relationType": "follows"}])
                    record()
                if n % 7 == 6:
                    server.call("delete_entities", entityNames=[f"topic-{n - 3}"])
                    record()
                time.sleep(0.1)  # the agent thinks between two things it learns
    finally:
        done.set()


@pytest.mark.parametrize("name", ["memory.json", "memory.jsonl"])
def test_the_mcp_memory_server_is_backed_up_version_by_version(
        vault: Vault, mcp_script: Path, name: str, tmp_path: Path) -> None:
    from mcp import MemoryServer

    memory_file = vault.source / name
    written: set[str] = set()
    done = threading.Event()
    agent = threading.Thread(target=_agent_session,
                             args=(mcp_script, memory_file, written, done))
    agent.start()
    while not memory_file.exists() and not done.is_set():
        time.sleep(0.01)  # before the agent's first write there is nothing to back up
    codes = _syncs_until(vault, done)
    agent.join()

    assert set(codes) <= {0, 3}, codes
    versions = _versions(vault, name)
    assert len(versions) >= 3, codes
    for sha, data in versions.items():  # never a version the server did not write
        assert hashlib.sha256(data).hexdigest() in written, sha
    assert vault.remote_file(name) == memory_file.read_bytes()  # the last one is there
    status = json.loads(vault.run("status", "--json").stdout)
    assert {f["name"]: f["format"] for f in status["files"]}[name] == "jsonl"

    # a crash: the graph is gone; restore it and load it into a fresh server
    expected = _graph_of(memory_file.read_bytes())
    memory_file.unlink()
    restored = vault.run("restore", name)
    assert restored.returncode == 0, restored.stderr
    with MemoryServer(mcp_script, memory_file) as fresh:
        graph = fresh.read_graph()
    assert _names(graph["entities"]) == _names(expected["entities"])
    assert graph == expected
    # and an older version, restored elsewhere, loads too
    oldest = list(versions)[-1]
    out = tmp_path / "old"
    assert vault.run("restore", name, "--commit", oldest, "--to", str(out)).returncode == 0
    with MemoryServer(mcp_script, out / name) as old:
        assert old.read_graph() == _graph_of(versions[oldest])
    assert_fsck_clean(vault.clone, vault.remote)


def _graph_of(data: bytes) -> dict[str, list[dict[str, object]]]:
    graph: dict[str, list[dict[str, object]]] = {"entities": [], "relations": []}
    for line in data.decode().splitlines():
        if line.strip():
            item = json.loads(line)
            kind = item.pop("type")
            graph["entities" if kind == "entity" else "relations"].append(item)
    return graph


def _names(entities: list[dict[str, object]]) -> list[object]:
    return sorted(e["name"] for e in entities)  # type: ignore[type-var]


# -- JSON Lines written by hand ---------------------------------------------------------------

GRAPH = ('{"type":"entity","name":"Ada","entityType":"person","observations":["likes tea"]}\n'
         '{"type":"relation","from":"Ada","to":"Atlas","relationType":"works_on"}')


def test_a_json_file_holding_json_lines_is_backed_up(vault: Vault) -> None:
    vault.write("memory.json", GRAPH, age=10)
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    assert vault.remote_file("memory.json") == GRAPH.encode()


def test_a_torn_json_lines_tail_is_skipped_and_read_again(vault: Vault) -> None:
    vault.write("memory.jsonl", GRAPH, age=10)
    assert vault.sync().returncode == 0
    torn = GRAPH + '\n{"type":"entity","name":"Bo'
    vault.write("memory.jsonl", torn, age=10)

    result = vault.sync()

    assert result.returncode == 3
    assert "memory.jsonl: skipped, JSON Lines: last line incomplete: being written, read " \
           "again next run" in result.stderr
    assert vault.remote_file("memory.jsonl") == GRAPH.encode()
    whole = torn + 'b","entityType":"person","observations":[]}\n'
    vault.write("memory.jsonl", whole, age=5)
    assert vault.sync().returncode == 0  # read again, whole now
    assert vault.remote_file("memory.jsonl") == whole.encode()


def test_a_bad_line_in_the_middle_is_named(vault: Vault) -> None:
    vault.write("memory.jsonl", GRAPH.replace("\n", "\nnot json\n"), age=10)
    result = vault.sync()
    assert result.returncode == 3
    assert "line 2 is not JSON" in result.stderr
    assert "it has never been backed up" in result.stderr


# -- Markdown memory banks and patterns -------------------------------------------------------

def test_a_markdown_memory_bank_in_subfolders(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "CLAUDE.md,memory-bank/*.md,notes/**/*.md"
    vault.write("CLAUDE.md", "# Project\n\n- use uv\n", age=10)
    vault.write("memory-bank/activeContext.md", "# Active context\n\nrefactoring\n", age=10)
    vault.write("memory-bank/progress.md", "# Progress\n\n- [x] tests\n", age=10)
    vault.write("memory-bank/skip.txt", "not matched", age=10)
    vault.write("notes/top.md", "top\n", age=10)
    vault.write("notes/a/b/deep.md", "deep\n", age=10)

    result = vault.sync()

    assert result.returncode == 0, result.stderr
    tracked = vault.remote_git("ls-tree", "-r", "--name-only", "main").split()
    assert sorted(tracked) == [
        "rAgentShared/CLAUDE.md", "rAgentShared/memory-bank/activeContext.md",
        "rAgentShared/memory-bank/progress.md", "rAgentShared/notes/a/b/deep.md",
        "rAgentShared/notes/top.md"]
    status = json.loads(vault.run("status", "--json").stdout)
    assert {f["format"] for f in status["files"]} == {"text"}
    (vault.source / "memory-bank/progress.md").unlink()
    out = vault.tmp / "restored"
    assert vault.run("restore", "--to", str(out)).returncode == 0
    assert (out / "memory-bank/progress.md").read_text() == "# Progress\n\n- [x] tests\n"
    assert (out / "notes/a/b/deep.md").read_text() == "deep\n"


def test_markdown_that_is_not_utf8_is_skipped(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "CLAUDE.md,memory.json"
    vault.write("memory.json", "{}", age=10)
    vault.write("CLAUDE.md", b"# notes\n\xff\xfe broken\n", age=10)
    result = vault.sync()
    assert result.returncode == 3
    assert "CLAUDE.md: skipped, not valid UTF-8 text (byte 8)" in result.stderr


def test_other_bytes_are_stored_as_they_are(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "embeddings.bin"
    blob = bytes(range(256)) * 40
    vault.write("embeddings.bin", blob, age=10)
    assert vault.sync().returncode == 0
    assert vault.remote_file("embeddings.bin") == blob


def test_a_pattern_through_a_symlinked_folder_out_of_the_source_is_refused(
        vault: Vault, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text('{"not": "yours"}')
    (vault.source / "sub").symlink_to(outside)
    vault.env["MEMORY_VAULT_FILES"] = "memory.json,sub/*.json"
    vault.write("memory.json", "{}", age=10)

    result = vault.sync()

    assert result.returncode == 3
    assert "sub/secret.json: skipped, symlink resolves outside the source dir" in result.stderr
    tracked = vault.remote_git("ls-tree", "-r", "--name-only", "main").split()
    assert tracked == ["rAgentShared/memory.json"]


def test_old_setting_name_validate_json_is_still_read(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_VALIDATE_JSON"] = "false"
    vault.write("memory.json", "{half", age=10)
    assert vault.sync().returncode == 0
    assert vault.remote_file("memory.json") == b"{half"
    assert not any("MEMORY_VAULT_VALIDATE_JSON" in line for line in vault.err_lines())


# -- live SQLite ------------------------------------------------------------------------------

WRITER = r"""
import sqlite3, sys, time
path, count = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path, isolation_level=None, timeout=30)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA wal_autocheckpoint=50")
db.execute("CREATE TABLE IF NOT EXISTS facts (n INTEGER PRIMARY KEY, text TEXT)")
db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, last INTEGER)")
db.execute("INSERT OR IGNORE INTO meta VALUES ('last', 0)")
db.execute("PRAGMA user_version=7")
start = db.execute("SELECT last FROM meta").fetchone()[0]
for n in range(start + 1, start + count + 1):
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO facts VALUES (?, ?)", (n, "fact %d " % n + "x" * 300))
    db.execute("UPDATE meta SET last = ?", (n,))
    db.execute("COMMIT")
    time.sleep(0.002)
db.close()
"""


def _writer(db: Path, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(count)])


def _check_prefix(data: bytes, scratch: Path) -> int:
    """The snapshot opens, passes integrity_check and holds transactions 1..k exactly."""
    scratch.write_bytes(data)
    db = sqlite3.connect(scratch)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        last = db.execute("SELECT last FROM meta").fetchone()[0]
        rows = [r[0] for r in db.execute("SELECT n FROM facts ORDER BY n")]
        assert rows == list(range(1, last + 1))
        assert db.execute("PRAGMA user_version").fetchone() == (7,)
        return int(last)
    finally:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)


def test_a_live_sqlite_database_in_wal_mode(vault: Vault, tmp_path: Path) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "agent.db"
    db = vault.source / "agent.db"
    setup = _writer(db, 1)
    assert setup.wait() == 0
    writer = _writer(db, 1500)
    codes = []
    while writer.poll() is None:
        codes.append(vault.run("--now").returncode)
    assert writer.returncode == 0
    codes.append(vault.run("--now").returncode)
    assert set(codes) == {0}, codes

    versions = _versions(vault, "agent.db")
    assert len(versions) >= 3
    lasts = [_check_prefix(data, tmp_path / "check.db") for data in versions.values()]
    assert lasts == sorted(lasts, reverse=True) and lasts[0] == 1501
    status = json.loads(vault.run("status", "--json").stdout)
    assert status["healthy"] and status["files"][0]["format"] == "sqlite"
    assert vault.run("verify").returncode == 0

    # the machine loses the database: restore it, and the agent writes on
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    restored = vault.run("restore", "agent.db")
    assert restored.returncode == 0, restored.stderr
    assert not Path(f"{db}-wal").exists() and not Path(f"{db}-shm").exists()
    assert _writer(db, 5).wait() == 0
    check = sqlite3.connect(db)
    assert check.execute("SELECT last FROM meta").fetchone() == (1506,)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    check.close()
    assert_fsck_clean(vault.clone, vault.remote)


def test_a_change_only_in_the_wal_is_seen(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "agent.db"
    db_path = vault.source / "agent.db"
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE facts (n INTEGER PRIMARY KEY)")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    time.sleep(3.2)  # older than the racy window: the next scan trusts the timestamps
    assert vault.sync().returncode == 0
    before = db_path.stat()

    db.execute("INSERT INTO facts VALUES (42)")  # lands in agent.db-wal only
    after = db_path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    result = vault.sync()  # a plain cron run, not --now
    db.close()

    assert result.returncode == 0, result.stderr
    assert len(vault.remote_commits()) == 2
    image = vault.tmp / "image.db"
    image.write_bytes(vault.remote_file("agent.db"))
    assert sqlite3.connect(image).execute("SELECT n FROM facts").fetchall() == [(42,)]


def test_an_unchanged_database_makes_no_commit(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "agent.db"
    assert _writer(vault.source / "agent.db", 20).wait() == 0
    assert vault.run("--now").returncode == 0
    assert vault.run("--now").returncode == 0
    assert len(vault.remote_commits()) == 1


def test_restoring_over_a_live_database_keeps_it_with_its_wal(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "agent.db"
    db_path = vault.source / "agent.db"
    assert _writer(db_path, 10).wait() == 0
    assert vault.run("--now").returncode == 0
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("INSERT INTO facts VALUES (99, 'only in the wal')")
    assert Path(f"{db_path}-wal").stat().st_size > 0

    result = vault.run("restore", "agent.db")
    db.close()

    assert result.returncode == 0, result.stderr
    kept = [p for p in vault.source.iterdir() if ".pre-restore-" in p.name]
    main = [p for p in kept if not p.name.endswith(("-wal", "-shm"))]
    assert len(main) == 1
    old = sqlite3.connect(main[0])  # the kept copy still holds what only its WAL had
    assert old.execute("SELECT text FROM facts WHERE n = 99").fetchone() == ("only in the wal",)
    old.close()
    restored = sqlite3.connect(db_path)
    assert restored.execute("SELECT count(*) FROM facts WHERE n = 99").fetchone() == (0,)
    assert restored.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    restored.close()


def test_a_corrupt_database_is_skipped(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "agent.db,memory.json"
    vault.write("memory.json", "{}", age=10)
    db_path = vault.source / "agent.db"
    assert _writer(db_path, 200).wait() == 0
    data = bytearray(db_path.read_bytes())
    data[4096:4096 + 64] = b"\x0d" + os.urandom(63)  # a b-tree page's header, garbled
    db_path.write_bytes(bytes(data))
    os.utime(db_path, (time.time() - 10, time.time() - 10))

    result = subprocess.run([sys.executable, str(SCRIPT)], cwd=vault.source, env=vault.env,
                            capture_output=True, text=True, check=False)

    assert result.returncode == 3
    assert "agent.db: skipped, SQLite:" in result.stderr
    assert git("ls-tree", "-r", "--name-only", "main", cwd=vault.clone).split() == [
        "rAgentShared/memory.json"]
