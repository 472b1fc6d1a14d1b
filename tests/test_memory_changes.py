"""What did my agent learn or forget? `diff`, `history FILE` and the shrink alarm, on vaults
built by real syncs."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import SCRIPT, Vault


def _json(result: Any) -> Any:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def _graph(*entities: tuple[str, list[str]], relations: tuple[tuple[str, str, str], ...] = ()
           ) -> str:
    lines = [json.dumps({"type": "entity", "name": n, "entityType": "topic",
                         "observations": obs}) for n, obs in entities]
    lines += [json.dumps({"type": "relation", "from": a, "to": b, "relationType": t})
              for a, t, b in relations]
    return "\n".join(lines)


def test_the_knowledge_graph_diff_names_what_was_learned_and_forgotten(vault: Vault) -> None:
    vault.write("memory.json", _graph(("Ada", ["prefers Python", "works on Atlas"]),
                                      ("Atlas", ["ships in December"]),
                                      relations=(("Ada", "works_on", "Atlas"),)), age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", _graph(("Ada", ["prefers Python", "likes tea"]),
                                      ("Bo", ["new hire"]),
                                      relations=(("Bo", "reports_to", "Ada"),)))

    text = vault.run("diff", "memory.json")
    report = _json(vault.run("diff", "memory.json", "--json"))

    assert text.returncode == 0
    assert text.stdout.splitlines()[0] == (
        "memory.json: +3 -3 records (3 -> 3); 1 changed in place (~), each counted as one "
        "record removed and one added")
    assert "+ entity Bo: topic: new hire" in text.stdout
    assert "- relation Ada -works_on-> Atlas" in text.stdout
    assert "    + likes tea" in text.stdout and "    - works on Atlas" in text.stdout
    assert "\x1b[" not in text.stdout  # colour only on a terminal
    assert [c["key"] for c in report["added"]] == ["entity Bo", "relation Bo -reports_to-> Ada"]
    assert [c["key"] for c in report["removed"]] == ["entity Atlas",
                                                     "relation Ada -works_on-> Atlas"]
    assert report["changed"][0]["details"] == ["+ likes tea", "- works on Atlas"]
    assert report["records"] == {"before": 3, "after": 3, "added": 3, "removed": 3}


def test_json_changes_by_key_path_between_two_commits_and_times(vault: Vault) -> None:
    doc = {"records": [{"text": "first"}, {"text": "second"}], "owner": "ada"}
    vault.write("claude_opus_memories.json", json.dumps(doc), age=10)
    assert vault.sync().returncode == 0
    time.sleep(1.1)
    doc["records"][1]["text"] = "second, revised"  # type: ignore[index]
    doc["records"].append({"text": "third"})  # type: ignore[attr-defined]
    del doc["owner"]
    vault.write("claude_opus_memories.json", json.dumps(doc), age=5)
    assert vault.sync().returncode == 0
    newer, older = vault.remote_commits()
    first_time = int(vault.remote_git("log", "-1", "--format=%ct", older))
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first_time))

    by_commit = _json(vault.run("diff", "claude_opus_memories.json", "--from", older[:10],
                                "--to", newer, "--json"))
    by_time = _json(vault.run("diff", "claude_opus_memories.json", "--from", at, "--to",
                              newer[:8], "--json"))

    for report in (by_commit, by_time):
        assert [c["key"] for c in report["added"]] == ["records[2].text"]
        assert [c["key"] for c in report["removed"]] == ["owner"]
        assert report["changed"] == [{"key": "records[1].text", "old": '"second"',
                                      "new": '"second, revised"', "details": []}]
    bad = vault.run("diff", "claude_opus_memories.json", "--from", "last tuesday")
    assert bad.returncode == 2 and "--from" in bad.stderr


def test_markdown_by_section(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "CLAUDE.md"
    vault.write("CLAUDE.md", "# Project\n- use uv\n\n## Style\n- short functions\n", age=10)
    assert vault.sync().returncode == 0
    vault.write("CLAUDE.md", "# Project\n- use uv\n- tests first\n\n## Style\n")
    report = _json(vault.run("diff", "CLAUDE.md", "--json"))
    assert [(c["key"], c["new"]) for c in report["added"]] == [("# Project", "- tests first")]
    assert [(c["key"], c["old"]) for c in report["removed"]] == [
        ("## Style", "- short functions")]


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_sqlite_rows_by_primary_key_and_schema(vault: Vault, journal: str) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "agent.db"
    path = vault.source / "agent.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA journal_mode={journal}")
    db.execute("CREATE TABLE facts (id INTEGER PRIMARY KEY, text TEXT)")
    db.executemany("INSERT INTO facts VALUES (?, ?)", [(i, f"fact {i}") for i in range(1, 6)])
    db.commit()
    db.close()
    assert vault.sync().returncode == 0
    db = sqlite3.connect(path)
    db.execute("UPDATE facts SET text = 'fact 3, revised' WHERE id = 3")
    db.execute("DELETE FROM facts WHERE id = 5")
    db.execute("INSERT INTO facts VALUES (9, 'fact 9')")
    db.execute("CREATE TABLE notes (body TEXT)")
    db.commit()
    db.close()

    report = _json(vault.run("diff", "agent.db", "--json"))

    assert report["format"] == "sqlite"
    assert [c["key"] for c in report["added"]] == ["schema notes", "facts[9]"]
    assert [c["key"] for c in report["removed"]] == ["facts[5]"]
    assert [c["key"] for c in report["changed"]] == ["facts[3]"]
    assert report["records"] == {"before": 5, "after": 5, "added": 2, "removed": 2}
    assert vault.remote_file("agent.db")[18:20] == (b"\x02\x02" if journal == "wal"
                                                    else b"\x01\x01")  # stored as it is


def test_a_wal_database_counts_its_rows_and_raises_the_shrink_alarm(vault: Vault) -> None:
    """mem0 and LangGraph keep WAL databases: their versions must count like any other."""
    vault.env["MEMORY_VAULT_FILES"] = "mem0.db"
    path = vault.source / "mem0.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=wal")
    writer.execute("CREATE TABLE memories (id INTEGER PRIMARY KEY, text TEXT)")
    writer.executemany("INSERT INTO memories VALUES (?, ?)",
                       [(i, f"memory {i}") for i in range(10)])
    assert vault.sync().returncode == 0
    writer.execute("DELETE FROM memories WHERE id >= 4")  # the writer stays open, in WAL

    run = vault.sync()
    entries = _json(vault.run("history", "mem0.db", "--json"))
    writer.close()

    assert run.returncode == 0
    assert "mem0.db: shrink alarm: 10 records -> 4 (60% lost)" in run.stderr
    assert [(e["records"], e["added"], e["removed"]) for e in entries] == [
        (4, 0, 6), (10, 10, 0)]


def test_a_binary_file_compares_sizes_and_hashes(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "weights.bin"
    vault.write("weights.bin", b"\xff\x00" * 10, age=10)
    assert vault.sync().returncode == 0
    vault.write("weights.bin", b"\xff\x01" * 12)
    result = vault.run("diff", "weights.bin")
    assert result.returncode == 0
    assert "only sizes and hashes can be compared (20 bytes" in result.stdout


def test_history_of_a_file_counts_records_per_version(vault: Vault) -> None:
    vault.write("memory.jsonl", _graph(("A", ["x"]), ("B", ["y"])), age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.jsonl", _graph(("A", ["x"]), ("B", ["y", "z"]), ("C", [])), age=8)
    assert vault.sync().returncode == 0
    vault.write("memory.jsonl", _graph(("C", [])), age=6)
    vault.sync()

    entries = _json(vault.run("history", "memory.jsonl", "--json"))

    assert [(e["records"], e["added"], e["removed"]) for e in entries] == [
        (1, 0, 2), (3, 2, 1), (2, 2, 0)]
    again = _json(vault.run("history", "memory.jsonl", "--json"))  # from the cache now
    assert again == entries
    text = vault.run("history", "memory.jsonl", "--limit", "2").stdout.splitlines()
    assert len(text) == 3 and "1 records  +0 -2" in text[0] and "--limit" in text[2]


@pytest.mark.parametrize(("keep", "alarm"), [(5, True), (6, False)])
def test_the_shrink_alarm_at_the_threshold_and_not_below(vault: Vault, keep: int,
                                                         alarm: bool) -> None:
    vault.write("memory.jsonl", "\n".join(json.dumps({"id": i}) for i in range(10)), age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.jsonl", "\n".join(json.dumps({"id": i}) for i in range(keep)), age=5)

    run = vault.sync()  # as cron runs it

    assert run.returncode == 0
    assert vault.remote_file("memory.jsonl").count(b"\n") == keep - 1  # committed anyway
    status = vault.run("status", "--json")
    if not alarm:
        assert run.stderr == "" and status.returncode == 0
        return
    previous = vault.remote_commits()[1]
    assert "shrink alarm: 10 records -> 5 (50% lost)" in run.stderr
    assert f"{SCRIPT} restore memory.jsonl --commit {previous[:12]}" in run.stderr
    report = json.loads(status.stdout)
    assert status.returncode == 1
    assert [(p["kind"], p["file"]) for p in report["problems"]] == [("shrink", "memory.jsonl")]
    later = vault.sync()  # mailed once: the next cron run says nothing
    assert later.returncode == 0 and later.stderr == ""
    ack = vault.run("ack", "memory.jsonl")
    assert ack.returncode == 0 and "Closed" in ack.stdout
    assert vault.run("status").returncode == 0
    assert any("ack: closed the shrink alarm of memory.jsonl" in line
               for line in vault.log_lines())
    assert vault.run("ack", "memory.jsonl").returncode == 2  # none open any more


def test_a_file_that_empties_raises_the_alarm_and_the_restore_brings_it_back(
        vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "CLAUDE.md"
    vault.write("CLAUDE.md", "# Memory\n- one\n- two\n", age=10)
    assert vault.sync().returncode == 0
    vault.write("CLAUDE.md", "", age=5)
    run = vault.sync()
    assert run.returncode == 0 and "3 records -> 0 (100% lost)" in run.stderr
    command = run.stderr.split("`")[1]
    assert command.startswith(f"{SCRIPT} restore CLAUDE.md --commit ")  # as it was run
    restored = vault.run(*command.split()[1:])
    assert restored.returncode == 0, restored.stderr
    assert (vault.source / "CLAUDE.md").read_text() == "# Memory\n- one\n- two\n"


def test_the_alarm_can_be_turned_off(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_SHRINK_ALERT"] = "0"
    vault.write("memory.jsonl", "\n".join(json.dumps({"id": i}) for i in range(10)), age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.jsonl", "", age=5)
    run = vault.sync()
    assert run.returncode == 0 and run.stderr == ""
    assert vault.run("status").returncode == 0


def test_the_real_mcp_server_graph_diff(vault: Vault, tmp_path: Path) -> None:
    from mcp import MemoryServer, server_script

    script = server_script()
    if isinstance(script, str):
        pytest.skip(script)
    memory = vault.source / "memory.jsonl"
    with MemoryServer(script, memory) as server:
        server.call("create_entities", entities=[
            {"name": "Ada", "entityType": "person", "observations": ["prefers Python"]},
            {"name": "Atlas", "entityType": "project", "observations": []}])
        server.call("create_relations", relations=[
            {"from": "Ada", "to": "Atlas", "relationType": "works_on"}])
        assert vault.run("--now").returncode == 0
        server.call("add_observations", observations=[
            {"entityName": "Ada", "contents": ["likes tea"]}])
        server.call("delete_entities", entityNames=["Atlas"])
    report = _json(vault.run("diff", "memory.jsonl", "--json"))
    assert [c["key"] for c in report["removed"]] == ["entity Atlas",
                                                     "relation Ada -works_on-> Atlas"]
    assert report["changed"][0]["details"] == ["+ likes tea"]
