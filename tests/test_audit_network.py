"""The second audit (issue 25), on real git, real processes and real servers on 127.0.0.1:
credentials go to the remote's own origin only, a password never reaches ssh, a remote that
chatters forever meets a deadline, and a crawling monitor never holds a backup up."""

from __future__ import annotations

import base64
import os
import shutil
import time
from pathlib import Path

from servers import Endpoint, GitHttpServer, RedirectServer, TrickleServer

from conftest import Vault, git

TOKEN = "ghp_R3d1r3ctedT0kenValue"
PING_SECRET = "pushS3cretKuma"


def _served(vault: Vault, tmp_path: Path) -> Path:
    """Move the test's bare remote under a folder a server can export."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.move(str(vault.remote), served / "vault.git")
    vault.remote = served / "vault.git"
    return served


def _everything_shown(vault: Vault, *outputs: str) -> str:
    return "\n".join([*vault.log_lines(), *vault.err_lines(), *outputs])


def _decoded(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    return base64.b64decode(value).decode(errors="replace") if scheme == "Basic" else value


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


# -- 1. the token goes to the remote's own origin, never where a redirect points -------------

def test_the_token_never_follows_a_redirect_to_another_origin(vault: Vault,
                                                               tmp_path: Path) -> None:
    served = _served(vault, tmp_path)
    with GitHttpServer(served, token=TOKEN) as elsewhere, \
            RedirectServer(f"http://127.0.0.1:{elsewhere.server_address[1]}") as remote:
        vault.env["MEMORY_VAULT_REMOTE"] = remote.url("/vault.git", f"user:{TOKEN}")
        vault.write("memory.json", '{"a": 1}', age=10)
        result = vault.sync(timeout=60)
    assert remote.seen and elsewhere.requests  # git was sent there, and went
    assert not any(TOKEN in _decoded(auth) or TOKEN in auth for auth in elsewhere.authorizations)
    assert result.returncode == 3, result.stderr
    assert "push failed" in result.stderr
    assert vault.remote_commits() == []  # the other origin got nothing either
    assert TOKEN not in _everything_shown(vault, result.stdout, result.stderr)


# -- 2. the heartbeat's credentials stay on the monitor's origin ----------------------------

def test_ping_credentials_never_follow_a_redirect_to_another_origin(vault: Vault) -> None:
    with Endpoint() as elsewhere, RedirectServer(elsewhere.origin) as monitor:
        vault.env["MEMORY_VAULT_PING_URL"] = monitor.url("/ping/abc", f"kuma:{PING_SECRET}")
        vault.write("memory.json", '{"a": 1}', age=10)
        result = vault.sync(timeout=60)
    assert result.returncode == 0, result.stderr
    assert [_decoded(auth) for _, _, auth in monitor.seen] == [f"kuma:{PING_SECRET}"] * 2
    assert [path for _, path, _ in elsewhere.seen] == ["/ping/abc/start", "/ping/abc"]
    assert [auth for _, _, auth in elsewhere.seen] == ["", ""]
    assert PING_SECRET not in _everything_shown(vault, result.stdout, result.stderr)


def test_ping_credentials_may_follow_a_redirect_on_the_same_origin(vault: Vault) -> None:
    with Endpoint() as monitor:
        vault.env["MEMORY_VAULT_PING_URL"] = monitor.url("/moved/abc", f"kuma:{PING_SECRET}")
        vault.write("memory.json", '{"a": 1}', age=10)
        assert vault.sync(timeout=60).returncode == 0
    moved = [(path, _decoded(auth)) for _, path, auth in monitor.seen if path.startswith("/here")]
    assert moved == [("/here/abc/start", f"kuma:{PING_SECRET}"),
                     ("/here/abc", f"kuma:{PING_SECRET}")]


# -- 4. a password in an ssh URL reaches neither ssh nor .git/config ------------------------

def test_a_password_in_an_ssh_url_reaches_neither_ssh_nor_the_clone(vault: Vault,
                                                                     tmp_path: Path) -> None:
    argv_file = tmp_path / "ssh-argv"
    fake_ssh = _script(tmp_path / "fake-ssh", f'printf "%s\\n" "$0" "$@" >> {argv_file}\n'
                                               "exit 255\n")
    vault.env.update(MEMORY_VAULT_REMOTE="ssh://u:pw@127.0.0.1:1/x.git",
                     GIT_SSH_COMMAND=str(fake_ssh), GIT_SSH_VARIANT="ssh")
    vault.write("memory.json", '{"a": 1}', age=10)
    result = vault.sync(timeout=60)
    assert result.returncode == 3, result.stderr
    assert "push failed" in result.stderr
    argv = argv_file.read_text()
    assert "pw" not in argv
    assert "u@127.0.0.1" in argv  # ssh was run, as the URL's user
    config = (vault.clone / ".git" / "config").read_text()
    assert "ssh://u@127.0.0.1:1/x.git" in config and "pw" not in config
    assert "pw" not in _everything_shown(vault, result.stdout, result.stderr)
    warned = [line for line in vault.err_lines() if "ssh cannot use" in line]
    assert len(warned) == 1 and "key" in warned[0]


# -- 16. a remote that chatters forever meets the deadline all the same ----------------------

def _chattering_ssh(tmp_path: Path) -> tuple[Path, Path]:
    """A GIT_SSH_COMMAND whose "server" says `remote: Counting objects: N` every second and
    never speaks the protocol; it notes its pid and git's (its parent) in a file."""
    pids = tmp_path / "chatter-pids"
    script = _script(tmp_path / "chatter-ssh", f'echo "$$ $PPID" >> {pids}\nn=0\n'
                     'while :; do n=$((n+1)); echo "remote: Counting objects: $n" >&2; '
                     "sleep 1; done\n")
    return script, pids


def _local_ssh(tmp_path: Path) -> Path:
    """A GIT_SSH_COMMAND that runs the remote's git command here (git over a pipe)."""
    return _script(tmp_path / "local-ssh", 'for last; do :; done\nexec sh -c "git ${last#git-}"\n')


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _in_group(pgid: int) -> list[int]:
    """Live processes of process group `pgid` (git's, with every child it started)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry))
    return found


def test_a_remote_that_chatters_forever_is_cut_at_the_deadline(vault: Vault,
                                                               tmp_path: Path) -> None:
    vault.env.update(MEMORY_VAULT_REMOTE=f"ssh://u@127.0.0.1:1{vault.remote}",
                     GIT_SSH_COMMAND=str(_local_ssh(tmp_path)), GIT_SSH_VARIANT="ssh",
                     MEMORY_VAULT_GIT_TIMEOUT="3")
    vault.write("memory.json", '{"v": 1}', age=10)
    assert vault.sync(timeout=60).returncode == 0  # the clone, over a working "ssh"
    chatter, pids = _chattering_ssh(tmp_path)
    vault.env["GIT_SSH_COMMAND"] = str(chatter)
    vault.write("memory.json", '{"v": 2}', age=5)
    started = time.monotonic()
    result = vault.sync(timeout=60)  # one push, to a remote that never finishes
    took = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert "push failed" in result.stderr and "did not finish within 3 s" in result.stderr
    assert took < 3 + 5
    _assert_nothing_left(pids)
    assert git("show", "main:rAgentShared/memory.json", cwd=vault.clone) == '{"v": 2}'
    assert vault.remote_file("memory.json") == b'{"v": 1}'


def test_a_first_fetch_from_a_chattering_remote_is_cut_too(vault: Vault,
                                                           tmp_path: Path) -> None:
    chatter, pids = _chattering_ssh(tmp_path)
    vault.env.update(MEMORY_VAULT_REMOTE=f"ssh://u@127.0.0.1:1{vault.remote}",
                     GIT_SSH_COMMAND=str(chatter), GIT_SSH_VARIANT="ssh",
                     MEMORY_VAULT_GIT_TIMEOUT="3")
    vault.write("memory.json", '{"v": 1}', age=10)
    started = time.monotonic()
    result = vault.sync(timeout=60)  # the clone's fetch, then the push: 3 s each
    took = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert "push failed" in result.stderr
    assert took < 2 * 3 + 5
    _assert_nothing_left(pids)
    assert git("show", "main:rAgentShared/memory.json", cwd=vault.clone) == '{"v": 1}'


def _assert_nothing_left(pids: Path) -> None:
    """Neither the fake ssh nor git (its parent, the group's leader) nor anything of their
    process group outlived the run."""
    started = [int(pid) for line in pids.read_text().splitlines() for pid in line.split()]
    assert started
    deadline = time.monotonic() + 2  # a killed process may take a moment to be reaped
    while time.monotonic() < deadline and any(_alive(pid) for pid in started):
        time.sleep(0.1)
    assert not [pid for pid in started if _alive(pid)]
    git_pids = started[1::2]
    assert not [pid for group in git_pids for pid in _in_group(group)]


# -- 17. a crawling monitor never holds the backup up ---------------------------------------

def test_a_monitor_that_trickles_never_holds_up_the_backup(vault: Vault) -> None:
    with TrickleServer(interval=2) as monitor:
        vault.env["MEMORY_VAULT_PING_URL"] = monitor.url("/ping/abc")
        vault.write("memory.json", '{"a": 1}', age=10)
        started = time.monotonic()
        result = vault.sync(timeout=60)
        took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert took < 15
    assert vault.remote_file("memory.json") == b'{"a": 1}'
    assert any("heartbeat" in line and "failed" in line for line in vault.err_lines())
