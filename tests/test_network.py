"""A remote that is down, hangs, or asks for credentials; tokens that must never show."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from servers import GitDaemon, GitHttpServer, SilentServer

from conftest import Vault, assert_fsck_clean, git

TOKEN = "ghp_S3cr3tT0k3nValue42"


def _served(vault: Vault, tmp_path: Path) -> Path:
    """Move the test's bare remote under a folder a server can export."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.move(str(vault.remote), served / "vault.git")
    vault.remote = served / "vault.git"
    return served


def test_remote_down_for_several_runs_then_back(vault: Vault, tmp_path: Path) -> None:
    served = _served(vault, tmp_path)
    daemon = GitDaemon(served).start()
    try:
        vault.env["MEMORY_VAULT_REMOTE"] = daemon.url("vault.git")
        vault.env["MEMORY_VAULT_GIT_TIMEOUT"] = "10"
        vault.write("memory.json", '{"v": 0}', age=10)
        assert vault.sync().returncode == 0
        daemon.stop()

        for version in (1, 2, 3):  # three runs while the remote is down
            vault.write("memory.json", f'{{"v": {version}}}', age=10 - version)
            result = vault.sync()
            assert result.returncode == 3, result.stderr
            assert "push failed" in result.stderr
        assert len(vault.remote_commits()) == 1  # nothing reached the remote...
        assert git("rev-list", "--count", "main", cwd=vault.clone).strip() == "4"  # ...or is lost
        status = vault.run("status", "--json")
        assert status.returncode == 1
        assert json.loads(status.stdout)["pending_push"] == 3

        daemon.start()  # the remote is back, on the same port
        result = vault.sync()  # nothing changed locally: it just pushes
        assert result.returncode == 0, result.stderr
        assert len(vault.remote_commits()) == 4
        assert [vault.remote_file("memory.json", f"main~{n}") for n in range(4)] == [
            b'{"v": 3}', b'{"v": 2}', b'{"v": 1}', b'{"v": 0}']
        assert vault.run("status").returncode == 0
        assert_fsck_clean(vault.clone, vault.remote)
    finally:
        daemon.stop()


def test_first_run_with_remote_down_commits_locally_then_catches_up(
    vault: Vault, tmp_path: Path
) -> None:
    """A new machine offline: back up locally now, join the remote's history later."""
    served = _served(vault, tmp_path)
    with GitDaemon(served) as daemon:
        url = daemon.url("vault.git")
        other = tmp_path / "other"
        git("clone", "-q", url, str(other))
        (other / "rAgentShared").mkdir()
        (other / "rAgentShared/other_memories.json").write_text('{"from": "elsewhere"}')
        git("add", ".", cwd=other)
        git("-c", "user.name=o", "-c", "user.email=o@x", "commit", "-qm", "elsewhere", cwd=other)
        git("push", "-q", "origin", "HEAD:main", cwd=other)
    vault.env["MEMORY_VAULT_REMOTE"] = url
    vault.write("memory.json", '{"offline": 1}', age=10)
    result = vault.sync()
    assert result.returncode == 3
    with GitDaemon(served, port=daemon.port):
        assert vault.sync().returncode == 0
    assert vault.remote_file("memory.json") == b'{"offline": 1}'
    assert vault.remote_file("other_memories.json") == b'{"from": "elsewhere"}'
    assert_fsck_clean(vault.clone, vault.remote)


def test_hanging_remote_is_cut_off_by_the_timeout(vault: Vault) -> None:
    with SilentServer() as silent:
        vault.env["MEMORY_VAULT_REMOTE"] = f"git://127.0.0.1:{silent.port}/vault.git"
        vault.env["MEMORY_VAULT_GIT_TIMEOUT"] = "2"
        vault.write("memory.json", '{"a": 1}', age=10)
        started = time.monotonic()
        result = vault.sync(timeout=60)
        elapsed = time.monotonic() - started
    assert result.returncode == 3
    assert "made no progress for 2 s" in result.stderr
    assert elapsed < 20
    assert git("show", "main:rAgentShared/memory.json", cwd=vault.clone) == '{"a": 1}'
    assert_fsck_clean(vault.clone)


def test_the_embedded_vault_is_no_network_and_has_no_deadline(embedded: Vault) -> None:
    """A first sync of a whole machine spends minutes in git's own delta search before its
    push sends a byte; into the embedded vault (this machine's disk) MEMORY_VAULT_GIT_TIMEOUT
    never cut it (it did: every run exited 3 with the commit kept in the clone)."""
    embedded.write("memory.json", '{"a": 1}', age=10)
    assert embedded.sync().returncode == 0
    hook = embedded.remote / "hooks" / "pre-receive"  # a push that takes 3 s
    hook.write_text("#!/bin/sh\nsleep 3\n")
    hook.chmod(0o755)
    embedded.env["MEMORY_VAULT_GIT_TIMEOUT"] = "1"
    embedded.write("memory.json", '{"a": 2}', age=10)
    result = embedded.sync(timeout=60)
    assert result.returncode == 0, result.stderr
    assert embedded.remote_file("memory.json") == b'{"a": 2}'


def test_push_over_http_with_a_token_never_shows_it(vault: Vault, tmp_path: Path) -> None:
    served = _served(vault, tmp_path)
    with GitHttpServer(served, token=TOKEN) as server:
        vault.env["MEMORY_VAULT_REMOTE"] = server.url("vault.git", f"vault:{TOKEN}")
        vault.write("memory.json", '{"over": "http"}', age=10)
        synced = vault.run("--now", "-v")
        assert synced.returncode == 0, synced.stderr
        assert vault.remote_file("memory.json") == b'{"over": "http"}'
        status = vault.run("status", "--json")
        history = vault.run("history")
        verify = vault.run("verify")
        assert verify.returncode == 0, verify.stdout
    report = json.loads(status.stdout)
    assert report["remote"] == server.url("vault.git", "vault:***")
    _assert_no_token(vault, synced, status, history, verify)


def test_wrong_token_fails_fast_and_never_shows_it(vault: Vault, tmp_path: Path) -> None:
    served = _served(vault, tmp_path)
    with GitHttpServer(served, token="the-right-one") as server:
        vault.env["MEMORY_VAULT_REMOTE"] = server.url("vault.git", f"vault:{TOKEN}")
        vault.write("memory.json", "{}", age=10)
        started = time.monotonic()
        result = vault.sync(timeout=60)
        assert time.monotonic() - started < 30
        status = vault.run("status", "--json")
    assert result.returncode == 3
    assert "push failed" in result.stderr
    assert json.loads(status.stdout)["pending_push"] == 1
    _assert_no_token(vault, result, status)


def test_remote_asking_for_credentials_never_prompts(vault: Vault, tmp_path: Path) -> None:
    served = _served(vault, tmp_path)
    with GitHttpServer(served, token="needed") as server:
        vault.env["MEMORY_VAULT_REMOTE"] = server.url("vault.git")
        vault.write("memory.json", "{}", age=10)
        result = vault.sync(timeout=60, stdin=None)
    assert result.returncode == 3
    assert "push failed" in result.stderr
    assert "Username" not in result.stdout


@pytest.mark.parametrize("url", [
    f"http://vault:{TOKEN}@127.0.0.1:1/vault.git",
    f"https://{TOKEN}@127.0.0.1:1/vault.git",
])
def test_token_against_a_closed_port(vault: Vault, url: str) -> None:
    vault.env["MEMORY_VAULT_REMOTE"] = url
    vault.write("memory.json", "{}", age=10)
    synced = vault.run("--now", "-v")
    assert synced.returncode == 3
    status = vault.run("status", "--json")
    assert "***" in json.loads(status.stdout)["remote"]
    verify = vault.run("verify")
    restore = vault.run("restore", "--dry-run")
    _assert_no_token(vault, synced, status, verify, restore)


def _assert_no_token(vault: Vault, *results: object) -> None:
    seen = [vault.log.read_text() if vault.log.exists() else "",
            vault.err.read_text() if vault.err.exists() else ""]
    for result in results:
        seen += [getattr(result, "stdout", ""), getattr(result, "stderr", "")]
    everything = "\n".join(seen)
    assert everything.strip()
    assert TOKEN not in everything


def test_a_long_push_over_a_slow_link_is_not_cut_while_it_moves(vault: Vault,
                                                                tmp_path: Path) -> None:
    """The deadline is stretched by the bytes we upload ourselves: 400 KB at 40 KB/s takes
    about 10 s, five times the timeout, and still arrives."""
    import os

    from servers import ThrottledProxy

    served = _served(vault, tmp_path)
    with GitDaemon(served) as daemon, ThrottledProxy(daemon.port, 40_000) as slow:
        vault.env["MEMORY_VAULT_REMOTE"] = f"git://127.0.0.1:{slow.port}/vault.git"
        vault.env["MEMORY_VAULT_GIT_TIMEOUT"] = "2"
        payload = json.dumps({"pad": os.urandom(200_000).hex()})
        vault.write("memory.json", payload, age=10)
        started = time.monotonic()
        result = vault.sync(timeout=120)
        took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert took > 4  # longer than the timeout: it was kept alive by progress
    assert vault.remote_file("memory.json") == payload.encode()
