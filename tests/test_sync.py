"""The core sync run, end to end against a real bare remote."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from conftest import SCRIPT, Vault, git

SUBJECT = re.compile(r"^Memory vault sync \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \((\d+) files?\)$")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO|WARNING|ERROR) \S")


def test_first_sync_backs_up_every_present_file(vault: Vault) -> None:
    vault.write("memory.json", '{"facts": ["sky is blue"]}\n', age=10)
    vault.write("claude_opus_memories.json", b'{"opus": 1}', age=10)
    vault.write("my_agent_memories.json", '{"glob": true}', age=10)  # via *_memories.json
    vault.write("notes.txt", "not tracked", age=10)

    result = vault.sync()

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # cron: quiet on success
    assert vault.remote_file("memory.json") == b'{"facts": ["sky is blue"]}\n'
    assert vault.remote_file("claude_opus_memories.json") == b'{"opus": 1}'
    assert vault.remote_file("my_agent_memories.json") == b'{"glob": true}'
    tracked = vault.remote_git("ls-tree", "-r", "--name-only", "main").split()
    assert sorted(tracked) == ["rAgentShared/claude_opus_memories.json",
                               "rAgentShared/memory.json", "rAgentShared/my_agent_memories.json"]
    subjects = vault.subjects()
    assert len(subjects) == 1
    match = SUBJECT.match(subjects[0])
    assert match and match.group(1) == "3"


def test_commit_body_has_size_and_sha256_per_file(vault: Vault) -> None:
    content = b'{"k": "v"}'
    vault.write("memory.json", content, age=10)
    assert vault.sync().returncode == 0
    body = vault.remote_git("log", "-1", "--format=%b", "main")
    digest = hashlib.sha256(content).hexdigest()
    assert f"memory.json: {len(content)} bytes, sha256 {digest}" in body


def test_no_change_run_makes_no_commit_and_starts_no_git(vault: Vault, tmp_path: Path) -> None:
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    before = vault.remote_commits()

    tripwire = _git_tripwire(tmp_path)
    result = vault.sync(env={"PATH": f"{tripwire.parent}{os.pathsep}{vault.env['PATH']}"})

    assert result.returncode == 0, result.stderr
    assert vault.remote_commits() == before
    assert not (tmp_path / "git-calls").exists(), "git was started on a no-change run"
    assert vault.log_lines()[-1].endswith("sync: nothing changed, 1 file checked")

    vault.write("memory.json", '{"changed": 1}')  # the tripwire does see git when it runs
    assert vault.sync(env={"PATH": f"{tripwire.parent}{os.pathsep}{vault.env['PATH']}"}
                      ).returncode == 0
    assert (tmp_path / "git-calls").read_text().strip()


def test_no_change_run_does_not_import_gitpython(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from memory_vault.entry import main; rc = main([]);"
        "print(rc, 'git' in sys.modules, 'click' in sys.modules, 'dotenv' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(SCRIPT.parent)], env=vault.env,
                         cwd=vault.source, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "False", "False", "False"]


def test_change_makes_exactly_one_commit_with_exact_bytes(vault: Vault) -> None:
    vault.write("memory.json", '{"v": 1}', age=10)
    vault.write("gpt4_memories.json", '{"g": 1}', age=10)
    assert vault.sync().returncode == 0
    new = '{"v": 2, "unicode": "caf\u00e9 \u2603"}\n'.encode()
    vault.write("memory.json", new)

    result = vault.sync()

    assert result.returncode == 0, result.stderr
    assert len(vault.remote_commits()) == 2
    assert vault.remote_file("memory.json") == new
    assert SUBJECT.match(vault.subjects()[0]).group(1) == "1"  # type: ignore[union-attr]
    changed = vault.remote_git("show", "--name-only", "--format=", "main").split()
    assert changed == ["rAgentShared/memory.json"]
    assert vault.remote_file("memory.json", "main~1") == b'{"v": 1}'


def test_touch_without_change_makes_no_commit(vault: Vault, tmp_path: Path) -> None:
    path = vault.write("memory.json", '{"same": true}', age=10)
    assert vault.sync().returncode == 0
    os.utime(path, None)  # new mtime, same bytes

    tripwire = _git_tripwire(tmp_path)
    result = vault.sync(env={"PATH": f"{tripwire.parent}{os.pathsep}{vault.env['PATH']}"})

    assert result.returncode == 0
    assert len(vault.remote_commits()) == 1
    assert not (tmp_path / "git-calls").exists()


def test_same_size_same_mtime_edit_is_seen_when_written_just_after_a_sync(vault: Vault) -> None:
    """A file rewritten within the timestamp granularity must not be missed next time."""
    path = vault.write("memory.json", '{"n": 1}')
    assert vault.sync().returncode == 0
    stamp = path.stat().st_mtime_ns
    path.write_bytes(b'{"n": 2}')  # same size
    os.utime(path, ns=(stamp, stamp))  # and the same mtime

    assert vault.sync().returncode == 0
    assert vault.remote_file("memory.json") == b'{"n": 2}'


def test_a_same_size_rewrite_dated_back_is_backed_up(vault: Vault) -> None:
    """`cp -p`, `rsync -t`, a restore tool: same size, the old mtime, other bytes. Only the
    change time (which no program can set back) tells; git compares it too."""
    path = vault.write("memory.json", '{"a": 1}', age=3600)
    assert vault.sync().returncode == 0
    st = path.stat()
    path.write_text('{"a": 2}')
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns

    result = vault.sync("-v")
    assert result.returncode == 0, result.stderr
    assert vault.remote_file("memory.json") == b'{"a": 2}'
    assert len(vault.remote_commits()) == 2
    assert "its change time (" in result.stdout + result.stderr, result.stdout + result.stderr


def test_now_flag_prints_summary(vault: Vault) -> None:
    vault.write("memory.json", "[]", age=10)
    result = vault.run("--now")
    assert result.returncode == 0
    assert "memory.json: backed up" in result.stdout
    assert "sync: committed" in result.stdout


def test_custom_globs_in_subfolders(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "memory.json, agents/*.json, team-[ab].json"
    vault.write("memory.json", "{}", age=10)
    vault.write("agents/alpha.json", '{"a": 1}', age=10)
    vault.write("agents/beta.json", '{"b": 1}', age=10)
    vault.write("agents/ignored.txt", "x", age=10)
    vault.write("team-a.json", "{}", age=10)
    vault.write("team-c.json", "{}", age=10)
    assert vault.sync().returncode == 0
    tracked = vault.remote_git("ls-tree", "-r", "--name-only", "main").split()
    assert sorted(tracked) == [
        "rAgentShared/agents/alpha.json", "rAgentShared/agents/beta.json",
        "rAgentShared/memory.json", "rAgentShared/team-a.json",
    ]


def test_odd_file_names(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "*.json"
    vault.write("with space.json", '{"s": 1}', age=10)
    vault.write("caf\u00e9 \u65e5\u672c.json", '{"u": 1}', age=10)
    assert vault.sync().returncode == 0
    assert vault.remote_file("with space.json") == b'{"s": 1}'
    assert vault.remote_file("caf\u00e9 \u65e5\u672c.json") == b'{"u": 1}'
    assert vault.sync().returncode == 0
    assert len(vault.remote_commits()) == 1


def test_absent_file_is_reported_and_never_removed_from_vault(vault: Vault) -> None:
    path = vault.write("memory.json", '{"keep": "me"}', age=10)
    vault.write("gpt4_memories.json", '{"stays": 1}', age=10)
    assert vault.sync().returncode == 0
    path.unlink()

    result = vault.sync()

    assert result.returncode == 0
    assert vault.remote_file("memory.json") == b'{"keep": "me"}'
    assert len(vault.remote_commits()) == 1
    absent = [line for line in vault.log_lines() if "absent" in line]
    assert absent and " INFO " in absent[-1] and "memory.json" in absent[-1]


def test_dry_run_changes_nothing(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    result = vault.sync("sync", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would back up memory.json" in result.stdout
    assert vault.remote_commits() == []
    assert not vault.clone.exists()
    assert not vault.state_file.exists()


def test_no_push_commits_locally_and_next_run_pushes(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    result = vault.sync("sync", "--no-push")
    assert result.returncode == 0, result.stderr
    assert vault.remote_commits() == []
    assert git("log", "--format=%s", "main", cwd=vault.clone).startswith("Memory vault sync")

    result = vault.sync()  # nothing changed, but a push is owed
    assert result.returncode == 0
    assert vault.remote_file("memory.json") == b'{"a": 1}'


def test_push_disabled_by_setting(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_PUSH"] = "false"
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    assert vault.remote_commits() == []
    assert git("rev-list", "--count", "main", cwd=vault.clone).strip() == "1"


def test_embedded_remote_is_created_and_used(embedded: Vault) -> None:
    embedded.write("memory.json", '{"offline": true}', age=10)
    result = embedded.sync()
    assert result.returncode == 0, result.stderr
    assert (embedded.data / "vault.git" / "HEAD").is_file()
    assert embedded.remote_file("memory.json") == b'{"offline": true}'
    assert any("created the embedded vault" in line for line in embedded.log_lines())


def test_data_folder_and_clone_are_private(embedded: Vault) -> None:
    embedded.write("memory.json", "{}", age=10)
    assert embedded.sync().returncode == 0
    for folder in (embedded.data, embedded.clone, embedded.data / "vault.git"):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_log_lines_format_and_error_file_gets_warnings_only(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    vault.write("gpt4_memories.json", "{oops", age=10)
    result = vault.sync()
    assert result.returncode == 3
    lines = vault.log_lines()
    assert lines and all(LOG_LINE.match(line) for line in lines)
    assert sum(" sync: " in line for line in lines) == 1  # one summary line per run
    errs = vault.err_lines()
    assert errs and all(" ERROR " in line or " WARNING " in line for line in errs)
    assert any("gpt4_memories.json" in line for line in errs)
    assert (vault.log.stat().st_mode & 0o777) == 0o600
    assert "gpt4_memories.json" in result.stderr  # errors reach stderr under cron


def test_file_contents_never_reach_the_logs(vault: Vault) -> None:
    vault.write("memory.json", '{"secret_fact": "hunter2-content"}', age=10)
    vault.write("gpt4_memories.json", '{"secret_fact": "bad-json-content"', age=10)
    result = vault.run("--now", "-v")
    everything = vault.log.read_text() + vault.err.read_text() + result.stdout + result.stderr
    assert "hunter2-content" not in everything
    assert "bad-json-content" not in everything


def test_overlapping_run_leaves_at_once(vault: Vault) -> None:
    import fcntl

    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"new": 1}', age=10)
    lock_path = vault.data / "sync.lock"
    with open(lock_path, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        result = vault.sync()
        assert time.monotonic() - started < 10
    assert result.returncode == 0
    assert len(vault.remote_commits()) == 1  # the other run's business
    assert "another sync is running" in vault.log_lines()[-1]


def _git_tripwire(tmp_path: Path) -> Path:
    """A `git` early on PATH that records each call, then runs the real git."""
    real = subprocess.run(["which", "git"], capture_output=True, text=True, check=True)
    folder = tmp_path / "tripwire"
    folder.mkdir()
    wrapper = folder / "git"
    wrapper.write_text(
        f'#!/bin/sh\necho "$@" >> "{tmp_path}/git-calls"\nexec "{real.stdout.strip()}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper
