"""The second audit (issue 25), on real git, real processes and real servers on 127.0.0.1:
credentials go to the remote's own origin only, a password never reaches ssh, a remote that
chatters forever meets a deadline, and a crawling monitor never holds a backup up."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

from servers import GitHttpServer, RedirectServer

from conftest import Vault

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
