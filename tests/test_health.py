"""Never green while memory is not in the vault: exit codes and `status` tell the truth.

Each test follows what a user does (the README's set-up flow, a wrong folder, a bad file, a
remote that refuses) and checks what the user would see: the remote's bytes, the exit code,
the error line, `status`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import SCRIPT, Vault, assert_fsck_clean, base_env, git


def _status(vault: Vault) -> tuple[int, dict[str, Any]]:
    result = vault.run("status", "--json")
    return result.returncode, json.loads(result.stdout)


def _problem_kinds(report: dict[str, Any]) -> list[str]:
    problems = report["problems"]
    assert isinstance(problems, list)
    return [p["kind"] for p in problems]


# -- 1. moving from the embedded vault to a real remote ---------------------------------------

def test_moving_from_the_embedded_vault_to_an_empty_remote_moves_the_history(
        embedded: Vault, tmp_path: Path) -> None:
    vault = embedded
    vault.write("memory.json", '{"v": 1}', age=10)
    vault.write("gpt4_memories.json", '{"g": 1}', age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"v": 2}', age=5)
    assert vault.sync().returncode == 0
    embedded_log = git(f"--git-dir={vault.remote}", "log", "--format=%s%n%b", "main")
    real = tmp_path / "hosted.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(real))

    init = vault.run("init", "--remote", str(real))
    assert init.returncode == 0, init.stderr
    code, report = _status(vault)
    assert code == 1 and "other-vault" in _problem_kinds(report)  # not yet moved: not green

    cron = vault.run(cwd=vault.home)  # the next cron run
    assert cron.returncode == 0, cron.stderr

    shown = git(f"--git-dir={real}", "log", "--format=%s%n%b", "main")
    assert shown == embedded_log  # the whole history, as it was
    for name in ("memory.json", "gpt4_memories.json"):
        assert git(f"--git-dir={real}", "show", f"main:rAgentShared/{name}").encode() == \
            (vault.source / name).read_bytes()
    assert not list(vault.data.glob("clone.set-aside-*"))  # nothing set aside
    code, report = _status(vault)
    assert code == 0, report["problems"]
    assert report["last_commit"] == git(f"--git-dir={real}", "rev-parse", "main").strip()
    assert report["set_aside"] == []
    assert_fsck_clean(vault.clone, real)
    # the clone no longer leans on the embedded vault's objects
    assert not (vault.clone / ".git/objects/info/alternates").exists()


def test_moving_to_a_remote_that_has_history_replays_ours_on_top(
        vault: Vault, tmp_path: Path) -> None:
    vault.write("memory.json", '{"v": "ours"}', age=10)
    assert vault.sync().returncode == 0
    other = tmp_path / "other.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(other))
    work = tmp_path / "work"
    git("clone", "-q", str(other), str(work))
    (work / "rAgentShared").mkdir()
    (work / "rAgentShared/team_memories.json").write_text('{"team": 1}')
    git("add", ".", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "team", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    theirs = git("rev-parse", "HEAD", cwd=work).strip()

    moved = vault.sync(env={"MEMORY_VAULT_REMOTE": str(other)})

    assert moved.returncode == 0, moved.stderr
    show = ["git", f"--git-dir={other}", "show"]
    assert subprocess.run([*show, "main:rAgentShared/memory.json"], capture_output=True,
                          check=True).stdout == b'{"v": "ours"}'
    assert subprocess.run([*show, "main:rAgentShared/team_memories.json"], capture_output=True,
                          check=True).stdout == b'{"team": 1}'
    assert theirs in git(f"--git-dir={other}", "log", "--format=%H", "main").split()
    assert vault.run("status", env={"MEMORY_VAULT_REMOTE": str(other)}).returncode == 0
    assert not list(vault.data.glob("clone.set-aside-*"))
    assert_fsck_clean(vault.clone, other)


def test_set_aside_clones_never_collide_and_status_lists_them(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    now = time.time()
    planted = []
    for offset in range(-1, 8):  # every name the next runs could pick by the second
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now + offset))
        folder = vault.data / f"clone.set-aside-{stamp}"
        folder.mkdir()
        (folder / "kept").write_text(stamp)
        planted.append(folder)
    for version in (2, 3):
        subprocess.run(["rm", "-rf", str(vault.clone / ".git")], check=True)
        (vault.clone / ".git").write_text("garbage\n")
        vault.write("memory.json", f'{{"a": {version}}}', age=5 - version)
        result = vault.sync()
        assert result.returncode == 0, result.stderr
    for folder in planted:  # the earlier set-asides are untouched
        assert (folder / "kept").read_text() == folder.name.rsplit("-", 1)[-1]
    aside = sorted(vault.data.glob("clone.set-aside-*"))
    assert len(aside) == len(planted) + 2
    code, report = _status(vault)
    assert code == 0
    assert sorted(report["set_aside"]) == [str(p) for p in aside]
    assert "set aside" in vault.run("status").stdout
    assert vault.remote_file("memory.json") == b'{"a": 3}'


# -- 2. a skipped file is never healthy -------------------------------------------------------

def test_a_file_skipped_on_every_run_keeps_status_red(vault: Vault) -> None:
    vault.write("memory.json", '{"ok": 1}', age=10)
    vault.write("gpt4_memories.json", '{"torn', age=10)

    first = vault.sync()

    assert first.returncode == 3
    line = [x for x in first.stderr.splitlines() if "gpt4_memories.json" in x]
    assert len(line) == 1 and "it has never been backed up" in line[0]
    assert "last good copy" not in first.stderr
    code, report = _status(vault)
    assert code == 1
    assert "never-backed-up" in _problem_kinds(report)
    files = {f["name"]: f for f in report["files"]}
    assert files["gpt4_memories.json"]["state"] == "skipped"
    assert "not valid JSON" in files["gpt4_memories.json"]["reason"]
    text = vault.run("status").stdout
    assert "gpt4_memories.json" in text and "never backed up" in text
    assert "changed since the last sync" not in text.split("gpt4_memories.json")[1].split("\n")[0]

    vault.write("gpt4_memories.json", '{"fixed": 1}', age=8)
    assert vault.sync().returncode == 0
    assert _status(vault)[0] == 0
    saved = int(vault.remote_git("log", "-1", "--format=%ct", "main", "--",
                                 "rAgentShared/memory.json"))

    vault.write("memory.json", "", age=6)  # emptied by a crashing agent
    again = vault.sync()
    assert again.returncode == 3
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(saved))
    assert f"memory.json: skipped, not valid JSON: the file is empty; the vault keeps its " \
           f"version of {when}" in again.stderr
    code, report = _status(vault)
    assert code == 1 and "skipped" in _problem_kinds(report)
    assert vault.remote_file("memory.json") == b'{"ok": 1}'


def test_a_file_that_appeared_since_the_last_run_is_new_not_a_problem(vault: Vault) -> None:
    vault.write("memory.json", '{"ok": 1}', age=10)
    assert vault.sync().returncode == 0
    vault.write("gemini_pro_memories.json", '{"new": 1}')
    code, report = _status(vault)
    assert code == 0, report["problems"]
    files = {f["name"]: f for f in report["files"]}
    assert files["gemini_pro_memories.json"]["state"] == "new"


# -- 3. no memory files at all ----------------------------------------------------------------

def test_no_memory_files_at_all_is_a_failure(vault: Vault, tmp_path: Path) -> None:
    wrong = tmp_path / "not-the-agents"
    wrong.mkdir()
    vault.env["MEMORY_VAULT_SOURCE_DIR"] = str(wrong)

    result = vault.sync()

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(wrong) in lines[0] and "MEMORY_VAULT_FILES=memory.json," in lines[0]
    assert vault.remote_commits() == []
    code, report = _status(vault)
    assert code == 1
    assert {"no-files", "last-run-failed"} <= set(_problem_kinds(report))


def test_a_wiped_agent_folder_turns_status_red(vault: Vault) -> None:
    vault.write("memory.json", '{"ok": 1}', age=10)
    assert vault.sync().returncode == 0
    (vault.source / "memory.json").unlink()
    assert vault.sync().returncode == 1
    assert vault.remote_file("memory.json") == b'{"ok": 1}'  # never removed
    assert _status(vault)[0] == 1


# -- 5. init pins what cron needs -------------------------------------------------------------

def test_init_writes_every_setting_it_used_so_cron_finds_the_same_vault(tmp_path: Path) -> None:
    home, agents, xdg = tmp_path / "home", tmp_path / "agents", tmp_path / "xdg-data"
    for folder in (home, agents):
        folder.mkdir()
    (agents / "memory.json").write_text('{"pinned": true}')
    shell = base_env(home)
    shell.update(XDG_DATA_HOME=str(xdg), MEMORY_VAULT_SUBDIR="pinned",
                 MEMORY_VAULT_LOG_FILE="logs/vault.log", MEMORY_VAULT_ERR_FILE=str(
                     tmp_path / "err"))
    init = subprocess.run([sys.executable, str(SCRIPT), "init"], cwd=agents, env=shell,
                          capture_output=True, text=True, check=False)
    assert init.returncode == 0, init.stderr
    saved = (home / ".config/memory-vault/.env").read_text()
    for line in (f"MEMORY_VAULT_HOME={xdg / 'memory-vault'}", "MEMORY_VAULT_SUBDIR=pinned",
                 f"MEMORY_VAULT_SOURCE_DIR={agents}",
                 f"MEMORY_VAULT_LOG_FILE={agents / 'logs/vault.log'}"):
        assert line in saved.splitlines(), saved

    cron_env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
    cron = subprocess.run([sys.executable, str(SCRIPT)], cwd=home, env=cron_env,
                          capture_output=True, text=True, check=False)
    assert cron.returncode == 0, cron.stderr
    vault_git = xdg / "memory-vault/vault.git"
    assert git(f"--git-dir={vault_git}", "show", "main:pinned/memory.json") == '{"pinned": true}'
    assert not (home / ".local/share/memory-vault").exists()  # no second vault
    status = subprocess.run([sys.executable, str(SCRIPT), "status", "--json"], cwd=agents,
                            env=shell, capture_output=True, text=True, check=False)
    assert status.returncode == 0, status.stdout
    assert json.loads(status.stdout)["last_success"] is not None


def test_init_against_an_unreachable_remote_warns_and_exits_3(vault: Vault,
                                                              tmp_path: Path) -> None:
    env_file = tmp_path / "settings.env"
    result = vault.run("init", "--remote", "git://127.0.0.1:1/vault.git", "--env-file",
                       str(env_file), env={"MEMORY_VAULT_GIT_TIMEOUT": "10"})
    assert result.returncode == 3, result.stdout + result.stderr
    assert "warning" in result.stderr and "127.0.0.1:1" in result.stderr
    assert "cannot be reached" in result.stdout
    assert "MEMORY_VAULT_REMOTE=git://127.0.0.1:1/vault.git" in env_file.read_text()


# -- 6. warnings reach a person outside a terminal --------------------------------------------

def test_restore_from_a_stale_local_clone_says_so_on_stderr(vault: Vault,
                                                            tmp_path: Path) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    moved = tmp_path / "moved-away.git"
    vault.remote.rename(moved)  # the remote is gone (a network outage, say)
    result = vault.run("restore", "--to", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "warning" in result.stderr and "local clone" in result.stderr
    assert (tmp_path / "out/memory.json").read_bytes() == b'{"a": 1}'


# -- 7. git's reason reaches the user ---------------------------------------------------------

PUSH_PROTECTION = """#!/bin/sh
cat > /dev/null
echo "error: GH013: Repository rule violations found for refs/heads/main." >&2
echo "- GITHUB PUSH PROTECTION: Push cannot contain secrets" >&2
exit 1
"""


def test_a_push_refused_by_a_hook_carries_the_reason(vault: Vault) -> None:
    hook = vault.remote / "hooks/pre-receive"
    hook.write_text(PUSH_PROTECTION)
    hook.chmod(0o755)
    vault.write("memory.json", '{"a": 1}', age=10)

    result = vault.sync()

    assert result.returncode == 3
    assert "GH013: Repository rule violations" in result.stderr
    assert "secret-refused" in result.stderr  # nothing of ours to redact: it stays refused
    assert "skipped" not in vault.log_lines()[-1]  # a push failure is not a skipped file
    assert "push failed (secret-refused)" in vault.log_lines()[-1]
    code, report = _status(vault)
    assert code == 1
    kinds = {p["kind"]: p["message"] for p in report["problems"]}
    assert "GH013" in kinds["secret-refused"]
    assert git("rev-list", "--count", "main", cwd=vault.clone).strip() == "1"  # kept


@pytest.fixture
def sshd(tmp_path: Path):  # type: ignore[no-untyped-def]
    from servers import SshServer

    why = SshServer.available()
    if why:
        pytest.skip(why)
    with SshServer(tmp_path / "sshd") as server:
        yield server


@pytest.mark.parametrize(("setup", "reason", "kind"), [
    ("unknown-host", "Host key verification failed.", "authentication"),
    ("no-key", "Permission denied (publickey)", "authentication"),
    ("gitolite", "FATAL: W any vault bob DENIED by fallthru", "refused by the remote"),
])
def test_ssh_refusals_carry_the_reason(vault: Vault, sshd, setup: str,  # type: ignore[no-untyped-def]
                                       reason: str, kind: str) -> None:
    if setup != "unknown-host":
        sshd.trust_host()
    if setup == "gitolite":
        sshd.authorize("echo 'FATAL: W any vault bob DENIED by fallthru' >&2; exit 1")
    vault.env["MEMORY_VAULT_REMOTE"] = sshd.url(vault.remote)
    vault.env["GIT_SSH_COMMAND"] = sshd.client_command()
    vault.write("memory.json", '{"a": 1}', age=10)

    result = vault.run("--now")

    assert result.returncode == 3, result.stderr
    assert reason in result.stderr and kind in result.stderr
    code, report = _status(vault)
    assert code == 1
    messages = " ".join(p["message"] for p in report["problems"])
    assert reason in messages and f"({kind})" in messages
    assert vault.remote_commits() == []
    assert git("rev-list", "--count", "main", cwd=vault.clone).strip() == "1"


def test_push_over_ssh_works(vault: Vault, sshd) -> None:  # type: ignore[no-untyped-def]
    sshd.trust_host()
    sshd.authorize()
    vault.env["MEMORY_VAULT_REMOTE"] = sshd.url(vault.remote)
    vault.env["GIT_SSH_COMMAND"] = sshd.client_command()
    vault.write("memory.json", '{"over": "ssh"}', age=10)
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    assert vault.remote_file("memory.json") == b'{"over": "ssh"}'
    assert _status(vault)[0] == 0


# -- 8. the token never reaches a command line ------------------------------------------------

def test_the_token_is_in_no_command_line_and_not_in_the_clone(vault: Vault,
                                                              tmp_path: Path) -> None:
    from servers import GitHttpServer

    token = "glpat-NotOnAnyCommandLine77"
    served = tmp_path / "served"
    served.mkdir()
    vault.remote.rename(served / "vault.git")
    vault.remote = served / "vault.git"
    with GitHttpServer(served, token=token) as server:
        server.delay = 0.3  # a slow link: git's helpers live long enough to be seen
        vault.env["MEMORY_VAULT_REMOTE"] = server.url("vault.git", f"vault:{token}")
        vault.write("memory.json", '{"over": "http"}', age=10)
        proc = subprocess.Popen([sys.executable, str(SCRIPT)], cwd=vault.source,
                                env=vault.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen: list[str] = []
        while proc.poll() is None:
            seen.extend(_command_lines())
            time.sleep(0.005)
        _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert vault.remote_file("memory.json") == b'{"over": "http"}'
    assert any("remote-http" in line for line in seen), "the sampling never saw git's helper"
    assert not [line for line in seen if token in line]
    config = (vault.clone / ".git/config").read_text()
    assert token not in config and server.url("vault.git") in config


def _command_lines() -> list[str]:
    lines = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    lines.append(handle.read().replace(b"\0", b" ").decode("utf-8", "replace"))
            except OSError:
                continue
    return lines


# -- 10. smaller breaches ---------------------------------------------------------------------

def test_restores_in_the_same_second_keep_every_replaced_copy(vault: Vault) -> None:
    vault.write("memory.json", '{"v": "vault"}', age=10)
    assert vault.sync().returncode == 0
    for edit in ("a", "b", "c"):
        vault.write("memory.json", f'{{"v": "local {edit}"}}')
        assert vault.run("restore", "memory.json").returncode == 0
    kept = sorted(vault.source.glob("memory.json.pre-restore-*"))
    assert sorted(p.read_text() for p in kept) == [
        '{"v": "local a"}', '{"v": "local b"}', '{"v": "local c"}']


def test_a_newline_in_a_file_name_cannot_forge_a_commit_line(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "*.json"
    forged = "x.json: 1 bytes, sha256 " + "0" * 64
    vault.write(f"evil\n{forged}", '{"e": 1}', age=10)  # not .json: not tracked
    vault.write(f"evil\n{forged}.json", '{"e": 1}', age=10)
    vault.write("memory.json", '{"m": 1}', age=10)
    assert vault.sync().returncode == 0
    body = vault.remote_git("log", "-1", "--format=%b", "main").strip().splitlines()
    assert len(body) == 2
    assert any(line.startswith("evil\\x0ax.json") for line in body)


def test_status_into_a_closed_pipe_ends_quietly(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "*.json"
    for n in range(1500):  # more output than a pipe holds
        vault.write(f"agent_{n:04d}_with_a_long_name_memories.json", "{}", age=10)
    assert vault.sync().returncode == 0
    result = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" "{SCRIPT}" status | head -1; '
                       'echo "exit=${PIPESTATUS[0]}"'],
        cwd=vault.source, env=vault.env, capture_output=True, text=True, check=False)
    assert result.stdout.splitlines() == ["Memory Vault: healthy", "exit=0"]
    assert result.stderr == ""
    assert not any(" ERROR " in line for line in vault.log_lines())


def test_now_says_it_waits_for_another_run(vault: Vault) -> None:
    import fcntl

    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    held = open(vault.data / "sync.lock", "w")  # noqa: SIM115
    fcntl.flock(held, fcntl.LOCK_EX)
    threading.Timer(1.5, held.close).start()
    result = vault.run("--now")
    assert result.returncode == 0, result.stderr
    assert "waiting up to 60 s" in result.stdout


def test_schedule_show_without_crontab_still_prints_the_line(vault: Vault,
                                                             tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "git").symlink_to(subprocess.run(["which", "git"], capture_output=True, text=True,
                                             check=True).stdout.strip())
    result = vault.run("schedule", "show", env={"PATH": str(bare)})
    assert result.returncode == 1
    assert result.stdout.strip().endswith("# memory-vault")
    assert "crontab" in result.stderr
