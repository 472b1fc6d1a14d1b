"""restore: after a crash, as of any moment, never outside the target, nothing overwritten."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SCRIPT, Vault, base_env, git


def _two_versions(vault: Vault) -> tuple[str, str]:
    """memory.json v1 then v2, one second apart; returns the two commit shas."""
    vault.write("memory.json", '{"v": 1}', age=10)
    vault.write("gpt4_memories.json", '{"g": 1}', age=10)
    assert vault.sync().returncode == 0
    time.sleep(1.1)
    vault.write("memory.json", '{"v": 2}')
    assert vault.sync().returncode == 0
    second, first = vault.remote_commits()
    return first, second


def test_restore_after_deletion(vault: Vault) -> None:
    _two_versions(vault)
    (vault.source / "memory.json").unlink()
    (vault.source / "gpt4_memories.json").unlink()

    result = vault.run("restore")

    assert result.returncode == 0, result.stderr
    assert (vault.source / "memory.json").read_bytes() == b'{"v": 2}'
    assert (vault.source / "gpt4_memories.json").read_bytes() == b'{"g": 1}'
    assert "Restart the agent system" in result.stdout.strip().splitlines()[-1]


def test_restore_at_a_time_between_two_syncs(vault: Vault) -> None:
    first, _second = _two_versions(vault)
    first_time = int(vault.remote_git("log", "-1", "--format=%ct", first))
    between = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first_time))

    result = vault.run("restore", "memory.json", "--at", between)

    assert result.returncode == 0, result.stderr
    assert (vault.source / "memory.json").read_bytes() == b'{"v": 1}'
    assert first[:12] in result.stdout


def test_restore_at_with_an_offset_and_a_date(vault: Vault) -> None:
    first, _ = _two_versions(vault)
    first_time = int(vault.remote_git("log", "-1", "--format=%ct", first))
    local = time.strftime("%Y-%m-%dT%H:%M:%S+02:00", time.gmtime(first_time + 2 * 3600))
    result = vault.run("restore", "memory.json", "--at", local, "--to", str(vault.tmp / "o"))
    assert result.returncode == 0, result.stderr
    assert (vault.tmp / "o/memory.json").read_bytes() == b'{"v": 1}'

    too_early = vault.run("restore", "--at", "2001-01-01")
    assert too_early.returncode == 2
    assert "no backup at or before" in too_early.stderr
    bad = vault.run("restore", "--at", "last tuesday")
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr


def test_restore_by_commit(vault: Vault) -> None:
    first, _ = _two_versions(vault)
    result = vault.run("restore", "--commit", first[:10], "memory.json")
    assert result.returncode == 0, result.stderr
    assert (vault.source / "memory.json").read_bytes() == b'{"v": 1}'
    unknown = vault.run("restore", "--commit", "deadbeef")
    assert unknown.returncode == 2 and "no such commit" in unknown.stderr


def test_restore_to_another_dir_leaves_source_alone(vault: Vault) -> None:
    _two_versions(vault)
    vault.write("memory.json", '{"v": "local edit"}', age=1)
    out = vault.tmp / "elsewhere/nested"

    result = vault.run("restore", "--to", str(out))

    assert result.returncode == 0, result.stderr
    assert (out / "memory.json").read_bytes() == b'{"v": 2}'
    assert (out / "gpt4_memories.json").read_bytes() == b'{"g": 1}'
    assert (vault.source / "memory.json").read_bytes() == b'{"v": "local edit"}'


def test_restore_keeps_the_file_it_replaces(vault: Vault) -> None:
    first, _ = _two_versions(vault)
    result = vault.run("restore", "--commit", first)
    assert result.returncode == 0, result.stderr
    kept = list(vault.source.glob("memory.json.pre-restore-*"))
    assert len(kept) == 1
    assert re.fullmatch(r"memory\.json\.pre-restore-\d{8}T\d{6}Z", kept[0].name)
    assert kept[0].read_bytes() == b'{"v": 2}'
    assert (vault.source / "memory.json").read_bytes() == b'{"v": 1}'
    # an identical file is left alone, with no backup copy
    assert not list(vault.source.glob("gpt4_memories.json.pre-restore-*"))


def test_dry_run_prints_the_plan_and_changes_nothing(vault: Vault) -> None:
    first, _ = _two_versions(vault)
    (vault.source / "gpt4_memories.json").unlink()
    before = sorted(p.name for p in vault.source.iterdir())

    result = vault.run("restore", "--commit", first, "--dry-run")

    assert result.returncode == 0, result.stderr
    assert re.search(r"replace\s+memory\.json", result.stdout)
    assert re.search(r"restore\s+gpt4_memories\.json", result.stdout)
    assert first[:12] in result.stdout
    assert sorted(p.name for p in vault.source.iterdir()) == before
    assert (vault.source / "memory.json").read_bytes() == b'{"v": 2}'


def test_dry_run_on_a_fresh_machine_leaves_no_clone(vault: Vault) -> None:
    _two_versions(vault)
    shutil.rmtree(vault.data)
    result = vault.run("restore", "--dry-run", "--to", str(vault.tmp / "new"))
    assert result.returncode == 0, result.stderr
    assert "restore   memory.json" in result.stdout
    assert not vault.clone.exists()
    assert not (vault.tmp / "new").exists()


def test_restore_on_a_fresh_machine_with_only_the_remote_url(vault: Vault,
                                                             tmp_path: Path) -> None:
    _two_versions(vault)
    shutil.rmtree(vault.data)  # the machine crashed: data folder gone
    new_home = tmp_path / "new-home"
    new_home.mkdir()
    env = base_env(new_home)
    env["MEMORY_VAULT_REMOTE"] = str(vault.remote)
    env["MEMORY_VAULT_LOG_FILE"] = str(tmp_path / "new.log")
    target = tmp_path / "agents-restored"

    result = subprocess.run(
        [sys.executable, str(SCRIPT), "restore", "--to", str(target)],
        cwd=new_home, env=env, capture_output=True, text=True, check=False,
    )

    assert result.returncode == 0, result.stderr
    assert (target / "memory.json").read_bytes() == b'{"v": 2}'
    assert (target / "gpt4_memories.json").read_bytes() == b'{"g": 1}'


def test_restore_after_data_folder_deleted_uses_the_source_dir(vault: Vault) -> None:
    _two_versions(vault)
    shutil.rmtree(vault.data)
    for f in vault.source.iterdir():
        f.unlink()
    result = vault.run("restore")
    assert result.returncode == 0, result.stderr
    assert (vault.source / "memory.json").read_bytes() == b'{"v": 2}'
    assert (vault.clone / ".git").is_dir()


def test_unknown_name_exits_2(vault: Vault) -> None:
    _two_versions(vault)
    result = vault.run("restore", "nope.json")
    assert result.returncode == 2
    assert "nope.json" in result.stderr and "not in the vault" in result.stderr
    assert "memory.json" in result.stderr  # says what there is


def test_restore_from_embedded_vault_with_nothing_backed_up(embedded: Vault) -> None:
    result = embedded.run("restore")
    assert result.returncode == 1
    assert "nothing was backed up" in result.stderr


def _push_crafted_commit(vault: Vault, tmp_path: Path, tree_lines: list[str]) -> None:
    """Commit a hand-made rAgentShared tree on top of the remote, as an attacker could."""
    work = tmp_path / "crafted"
    git("clone", "-q", str(vault.remote), str(work))
    root_entries = git("ls-tree", "HEAD", cwd=work).splitlines()
    shared = git("ls-tree", "HEAD:rAgentShared", cwd=work).splitlines()
    inner = _mktree(work, shared + tree_lines)
    root = _mktree(work, [e for e in root_entries if not e.endswith("\trAgentShared")]
                   + [f"040000 tree {inner}\trAgentShared"])
    commit = git("-c", "user.name=x", "-c", "user.email=x@x", "commit-tree", root, "-p", "HEAD",
                 "-m", "crafted", cwd=work).strip()
    git("push", "-q", "origin", f"{commit}:refs/heads/main", cwd=work)


def _mktree(work: Path, lines: list[str]) -> str:
    return subprocess.run(["git", "mktree"], cwd=work, input="\n".join(lines) + "\n",
                          capture_output=True, text=True, check=True).stdout.strip()


def _blob(work_or_remote: Path, content: bytes) -> str:
    return subprocess.run(["git", f"--git-dir={work_or_remote}", "hash-object", "-w", "--stdin"],
                          input=content, capture_output=True, check=True).stdout.decode().strip()


def test_symlink_in_the_vault_is_refused(vault: Vault, tmp_path: Path) -> None:
    _two_versions(vault)
    target = tmp_path / "secret-outside"
    link = _blob(vault.remote, str(target).encode())
    _push_crafted_commit(vault, tmp_path, [f"120000 blob {link}\tevil.json"])
    restore_to = tmp_path / "restored"

    result = vault.run("restore", "--to", str(restore_to))

    assert result.returncode == 3
    assert re.search(r"refused\s+evil\.json\s+\(it is a symbolic link", result.stdout)
    assert not os.path.lexists(restore_to / "evil.json")
    assert not target.exists()
    assert (restore_to / "memory.json").read_bytes() == b'{"v": 2}'


def test_dotdot_entry_in_the_vault_is_refused(vault: Vault, tmp_path: Path) -> None:
    _two_versions(vault)
    escape = _blob(vault.remote, b'{"escaped": true}')
    work = tmp_path / "mk"
    work.mkdir()
    git("init", "-q", cwd=work)
    git("remote", "add", "origin", str(vault.remote), cwd=work)
    git("fetch", "-q", "origin", cwd=work)
    inner = subprocess.run(["git", f"--git-dir={vault.remote}", "mktree"],
                           input=f"100644 blob {escape}\tescape.json\n", capture_output=True,
                           text=True, check=True).stdout.strip()
    _push_crafted_commit(vault, tmp_path, [f"040000 tree {inner}\t.."])
    restore_to = tmp_path / "inside" / "restored"

    result = vault.run("restore", "--to", str(restore_to))

    assert result.returncode == 3, result.stdout + result.stderr
    assert "../escape.json" in result.stdout and "unsafe path" in result.stdout
    assert not (tmp_path / "inside" / "escape.json").exists()
    assert not list(tmp_path.rglob("escape.json"))
    assert (restore_to / "memory.json").read_bytes() == b'{"v": 2}'


def test_restore_through_a_symlinked_folder_in_the_target_is_refused(vault: Vault,
                                                                     tmp_path: Path) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "memory.json,sub/*.json"
    vault.write("memory.json", "{}", age=10)
    vault.write("sub/a.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    restore_to = tmp_path / "restored"
    restore_to.mkdir()
    (restore_to / "sub").symlink_to(outside)

    result = vault.run("restore", "--to", str(restore_to))

    assert result.returncode == 3
    assert "outside the target" in result.stdout
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("name", ["memory.json", "rAgentShared/memory.json", "./memory.json"])
def test_names_may_carry_the_subdir(vault: Vault, name: str) -> None:
    _two_versions(vault)
    (vault.source / "memory.json").unlink()
    assert vault.run("restore", name).returncode == 0
    assert (vault.source / "memory.json").read_bytes() == b'{"v": 2}'


def _run_on_a_terminal(vault: Vault, *args: str) -> tuple[int, str]:
    """Run the program with a pseudo-terminal as stdout and stderr; return (code, output)."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, str(SCRIPT), *args], cwd=vault.source,
                            env=vault.env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_first_clone_shows_progress_on_a_terminal_only(vault: Vault) -> None:
    _two_versions(vault)
    shutil.rmtree(vault.data)
    code, shown = _run_on_a_terminal(vault, "restore", "--to", str(vault.tmp / "tty"))
    assert code == 0, shown
    assert "objects" in shown.lower()  # git's meter: "Unpacking/Receiving objects"

    shutil.rmtree(vault.data)
    quiet = vault.run("restore", "--to", str(vault.tmp / "cron"))
    assert quiet.returncode == 0
    assert "objects" not in (quiet.stderr + quiet.stdout).lower()


def test_a_push_shows_progress_on_a_terminal_and_nothing_under_cron(vault: Vault) -> None:
    vault.write("memory.json", json.dumps({"pad": os.urandom(1_000_000).hex()}), age=10)
    code, shown = _run_on_a_terminal(vault, "--now")
    assert code == 0, shown
    assert "writing objects" in shown.lower()
    vault.write("memory.json", json.dumps({"pad": os.urandom(1_000_000).hex()}), age=5)
    quiet = vault.sync()
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
