"""Several sources, one job (issue 26): the sources file and its commands, excludes, memory
no pattern tracks, files an agent deleted, a file too large, a transcript with a torn line in
the middle. Each through the real program, against a real bare remote."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import Vault, git


def _agent(tmp: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp / name
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
        past = (folder / rel).stat().st_mtime - 30
        os.utime(folder / rel, (past, past))
    return folder


def test_sources_are_backed_up_in_one_commit_and_restored_where_they_live(
        vault: Vault, tmp_path: Path) -> None:
    vault.write("memory.json", '{"default": 1}', age=30)
    claude = _agent(tmp_path, "claude", {"CLAUDE.md": "# rules\n", "projects/p/s1.jsonl":
                                         '{"a": 1}\n', ".credentials.json": '{"token": "x"}'})
    added = vault.run("source", "add", str(claude), "--name", "claude-code",
                      "--files", "CLAUDE.md,projects/*/*.jsonl", "--exclude", ".credentials.json")
    assert added.returncode == 0, added.stderr
    assert "claude-code/" in added.stdout
    listed = json.loads(vault.run("source", "list", "--json").stdout)
    assert listed["schema"] == 1
    assert [s["name"] for s in listed["sources"]] == ["claude-code"]

    assert vault.sync().returncode == 0
    assert len(vault.remote_commits()) == 1  # every source in one commit
    assert vault.remote_file("memory.json") == b'{"default": 1}'
    assert vault.remote_file("claude-code/CLAUDE.md") == b"# rules\n"
    assert vault.remote_file("claude-code/projects/p/s1.jsonl") == b'{"a": 1}\n'
    names = vault.remote_git("ls-tree", "-r", "--name-only", "main")
    assert ".credentials.json" not in names

    (claude / "CLAUDE.md").write_text("# wiped\n")
    restore = vault.run("restore", str(claude / "CLAUDE.md"))  # its path on disk
    assert restore.returncode == 0, restore.stderr
    assert (claude / "CLAUDE.md").read_text() == "# rules\n"
    history = vault.run("history", "claude-code/CLAUDE.md")
    assert history.returncode == 0 and "records" in history.stdout

    removed = vault.run("source", "remove", "claude-code")
    assert removed.returncode == 0 and "keeps its history" in removed.stdout
    assert vault.sync("--now").returncode == 0
    assert vault.remote_file("claude-code/CLAUDE.md") == b"# rules\n"  # kept


def test_a_source_name_that_collides_or_a_bad_sources_file_is_exit_2(
        vault: Vault, tmp_path: Path) -> None:
    vault.write("memory.json", "{}", age=30)
    folder = _agent(tmp_path, "a", {"x.md": "x\n"})
    collide = vault.run("source", "add", str(folder), "--name", "memory.json")
    assert collide.returncode == 2
    assert "collides with a path of the default source" in collide.stderr
    assert vault.run("source", "add", str(folder), "--name", "notes").returncode == 0
    twice = vault.run("source", "add", str(folder), "--name", "notes")
    assert twice.returncode == 2 and "exists already" in twice.stderr
    sources = vault.home / ".config/memory-vault/sources.toml"
    sources.write_text('[notes]\nfolder = "relative/path"\nfiles = ["x.md"]\n')
    bad = vault.sync()
    assert bad.returncode == 2
    assert str(sources) in bad.stderr and "[notes]" in bad.stderr
    assert "absolute path" in bad.stderr


def test_excluded_files_are_never_read(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "*.json"
    vault.env["MEMORY_VAULT_EXCLUDE"] = "auth.json,pipe.json"
    vault.write("memory.json", "{}", age=30)
    vault.write("auth.json", '{"token": "secret"}', age=30)
    os.mkfifo(vault.source / "pipe.json")  # read, it would be "not a regular file"
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    assert "pipe.json" not in result.stderr
    assert "auth.json" not in vault.remote_git("ls-tree", "-r", "--name-only", "main")


def test_memory_no_pattern_tracks_makes_status_unhealthy(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=30)
    vault.write("CLAUDE.md", "# mine\n", age=30)
    vault.write("notes.txt", "not memory by its name\n", age=30)
    assert vault.sync().returncode == 0
    status = json.loads(vault.run("status", "--json").stdout)
    untracked = [p for p in status["problems"] if p["kind"] == "untracked"]
    assert len(untracked) == 1 and "CLAUDE.md" in untracked[0]["message"]
    assert "notes.txt" not in untracked[0]["message"]
    vault.env["MEMORY_VAULT_EXCLUDE"] = "CLAUDE.md"  # knowingly left out
    assert vault.run("status").returncode == 0


def test_deleted_files_are_kept_and_a_named_one_raises_the_alarm(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "memory.json,bank/*.md"
    vault.write("memory.json", json.dumps({"facts": ["a", "b", "c"]}), age=30)
    vault.write("bank/old.md", "# old\n", age=30)
    vault.write("bank/keep.md", "# keep\n", age=30)
    assert vault.sync().returncode == 0
    (vault.source / "bank/old.md").unlink()  # an agent's own cleanup
    assert vault.sync().returncode == 0
    status = vault.run("status", "--json")
    report = json.loads(status.stdout)
    assert status.returncode == 0, report["problems"]
    assert report["gone"][0].startswith("bank/old.md")
    assert vault.remote_file("bank/old.md") == b"# old\n"  # the vault keeps it

    (vault.source / "memory.json").unlink()  # named explicitly: an alarm
    result = vault.sync()
    assert result.returncode == 0
    assert "memory.json: shrink alarm: deleted from its source" in result.stderr
    status = vault.run("status", "--json")
    assert [p["kind"] for p in json.loads(status.stdout)["problems"]] == ["shrink"]
    assert vault.run("restore", "memory.json").returncode == 0
    assert vault.run("ack", "memory.json").returncode == 0
    assert vault.sync().returncode == 0
    assert vault.run("status").returncode == 0


def test_a_file_too_large_is_skipped_not_never_synced(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_MAX_FILE_MB"] = "0.001"
    vault.write("memory.json", "{}", age=30)
    vault.write("gpt4_memories.json", json.dumps({"x": "y" * 5000}), age=30)
    assert vault.sync().returncode == 3
    report = json.loads(vault.run("status", "--json").stdout)
    kinds = [p["kind"] for p in report["problems"]]
    assert "never-synced" not in kinds and "never-backed-up" in kinds
    assert report["last_success"] is not None
    vault.env["MEMORY_VAULT_EXCLUDE"] = "gpt4_memories.json"  # an exclude silences it
    assert vault.sync().returncode == 0
    assert vault.run("status").returncode == 0


def test_a_torn_middle_line_does_not_block_a_transcript(vault: Vault) -> None:
    lines = [json.dumps({"n": i}) for i in range(200)]
    lines[99] = '{"n": 99, "torn'
    vault.env["MEMORY_VAULT_FILES"] = "session.jsonl,memory.json"
    vault.write("memory.json", "{}", age=30)
    vault.write("session.jsonl", "\n".join(lines) + "\n", age=30)
    first = vault.sync()
    assert first.returncode == 3 and "line 100 is not JSON" in first.stderr
    second = vault.sync()  # the same torn line seen again: backed up, with a warning
    assert second.returncode == 0, second.stderr
    assert "line 100 is not JSON" in vault.err.read_text()
    assert vault.remote_file("session.jsonl").count(b"\n") == 200
    with open(vault.source / "session.jsonl", "a") as out:  # the agent goes on appending
        out.write(json.dumps({"n": 200}) + "\n")
    assert vault.sync().returncode == 0
    assert vault.remote_file("session.jsonl").count(b"\n") == 201
    with open(vault.source / "session.jsonl", "a") as out:  # a torn last line still waits
        out.write('{"n": 201, "half')
    os.utime(vault.source / "session.jsonl", (1, 1))
    assert vault.sync().returncode == 3
    assert git("status", "--porcelain", cwd=vault.clone) == ""


def test_init_discovers_every_agent_and_takes_files_and_excludes(vault: Vault) -> None:
    claude = vault.home / ".claude"
    (claude / "projects/p").mkdir(parents=True)
    (claude / "CLAUDE.md").write_text("# my rules\n")
    (claude / ".credentials.json").write_text('{"token": "never"}')
    vault.write("notes.json", '{"n": 1}', age=30)
    vault.write("private.json", '{"p": 1}', age=30)
    result = vault.run("init", "--source", str(vault.source), "--files", "*.json",
                       "--exclude", "private.json", "--discover")
    assert result.returncode == 0, result.stderr
    assert "tracking claude-code" in result.stdout
    settings = (vault.home / ".config/memory-vault/.env").read_text()
    assert "MEMORY_VAULT_FILES='*.json'" in settings
    assert "MEMORY_VAULT_EXCLUDE=private.json" in settings
    assert "[claude-code]" in (vault.home / ".config/memory-vault/sources.toml").read_text()
    assert vault.run("--now").returncode == 0
    names = vault.remote_git("ls-tree", "-r", "--name-only", "main")
    assert "rAgentShared/claude-code/CLAUDE.md" in names
    assert "rAgentShared/notes.json" in names
    assert "private.json" not in names and ".credentials.json" not in names
