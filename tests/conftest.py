"""Shared fixtures: a real source folder, a real bare remote, and the real program.

Every test runs `sync_memory_vault.py` as a separate process, the way cron does, in an
isolated HOME, and asserts on what a user would check: bytes in the vault, `git log`, exit
codes, messages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "sync_memory_vault.py"


def git(*args: str, cwd: Path | str | None = None, check: bool = True) -> str:
    """Run real git and return its stdout (text)."""
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def assert_fsck_clean(*repos: Path) -> None:
    """`git fsck` finds nothing wrong (dangling objects from a replay are not wrong)."""
    for repo in repos:
        result = subprocess.run(["git", "fsck", "--no-progress", "--no-dangling"], cwd=repo,
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{repo}: {result.stdout}{result.stderr}"


def sync_beside_writer(vault: Vault, writer: subprocess.Popen[bytes], stop: Path,
                       versions: Callable[[], int], *, enough: int = 3,
                       least_s: float = 6, most_s: float = 120) -> list[int]:
    """`--now` runs, one after another, while `writer` writes: for `least_s`, then until
    the remote holds `enough` versions (`versions()`) or `most_s` have passed (a loaded
    machine makes each run slower, not the test wrong); then `stop` tells the writer to end.
    The runs' exit codes."""
    import time

    started, codes = time.monotonic(), []
    try:
        while writer.poll() is None:
            codes.append(vault.run("--now").returncode)
            spent = time.monotonic() - started
            if spent >= least_s and (spent >= most_s or versions() >= enough):
                break
    finally:
        stop.touch()
        writer.wait(timeout=60)
    return codes


@dataclass
class Vault:
    """One isolated Memory Vault installation: folders, settings, and ways to run it."""

    tmp: Path
    source: Path
    home: Path
    data: Path
    remote: Path
    log: Path
    err: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def clone(self) -> Path:
        return self.data / "clone"

    @property
    def state_file(self) -> Path:
        return self.data / ".last_sync"

    def run(self, *args: str, env: Mapping[str, str | None] | None = None,
            cwd: Path | None = None, timeout: float = 120,
            stdin: int | None = None) -> subprocess.CompletedProcess[str]:
        """The program as cron or a person runs it; `env` values of None unset a variable."""
        merged: dict[str, str | None] = {**self.env, **(env or {})}
        clean = {k: v for k, v in merged.items() if v is not None}
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args], cwd=cwd or self.source, env=clean,
            capture_output=True, text=True, timeout=timeout, check=False, stdin=stdin,
        )

    def sync(self, *args: str, env: Mapping[str, str | None] | None = None,
             cwd: Path | None = None, timeout: float = 120,
             stdin: int | None = None) -> subprocess.CompletedProcess[str]:
        return self.run(*args, env=env, cwd=cwd, timeout=timeout, stdin=stdin)

    def write(self, name: str, content: str | bytes, *, age: float | None = None) -> Path:
        """Write a source file; `age` seconds in the past for its mtime (skips the settle wait)."""
        path = self.source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
        if age is not None:
            past = path.stat().st_mtime - age
            os.utime(path, (past, past))
        return path

    def remote_git(self, *args: str, check: bool = True) -> str:
        return git(f"--git-dir={self.remote}", *args, check=check)

    def remote_file(self, name: str, rev: str = "main") -> bytes:
        return subprocess.run(
            ["git", f"--git-dir={self.remote}", "show", f"{rev}:rAgentShared/{name}"],
            capture_output=True, check=True,
        ).stdout

    def remote_commits(self) -> list[str]:
        out = self.remote_git("log", "--format=%H", "main", check=False)
        return out.split()

    def subjects(self) -> list[str]:
        return self.remote_git("log", "--format=%s", "main").splitlines()

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def err_lines(self) -> list[str]:
        return self.err.read_text().splitlines() if self.err.exists() else []


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEMORY_VAULT_", "XDG_", "GIT_"))}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", LC_ALL="C.UTF-8")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    """A source folder, a bare remote made by the test, and settings pointing at them."""
    source = tmp_path / "agents"
    home = tmp_path / "home"
    remote = tmp_path / "remote.git"
    for folder in (source, home):
        folder.mkdir()
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    v = Vault(tmp=tmp_path, source=source, home=home, data=home / ".local/share/memory-vault",
              remote=remote, log=tmp_path / "logs/sync.log", err=tmp_path / "logs/sync.err")
    v.env = base_env(home)
    v.env.update(
        MEMORY_VAULT_SOURCE_DIR=str(source),
        MEMORY_VAULT_REMOTE=str(remote),
        MEMORY_VAULT_LOG_FILE=str(v.log),
        MEMORY_VAULT_ERR_FILE=str(v.err),
    )
    yield v


@pytest.fixture
def embedded(vault: Vault) -> Vault:
    """The same installation with no remote configured: the embedded default."""
    del vault.env["MEMORY_VAULT_REMOTE"]
    vault.remote = vault.data / "vault.git"
    return vault
