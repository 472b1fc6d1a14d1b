"""The model: refs read from a real repository's files as git itself reads them (loose,
packed, symbolic), and a clone's facts from its config as git parses it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from memory_vault.store.git import model
from memory_vault.store.git.runner import GitRunner
from memory_vault.urls import Redactor


def _git(*args: str, cwd: Path) -> str:
    """Real git in `cwd`, never in a repository named by the environment (a rebase's
    `exec` sets GIT_DIR)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True, env={**env, "GIT_CONFIG_NOSYSTEM": "1"}).stdout.strip()


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git("init", "-q", "--initial-branch=main", cwd=repo)
    (repo / "f").write_text("x")
    _git("add", "f", cwd=repo)
    _git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "one", cwd=repo)
    return repo


def _runner(path: Path) -> GitRunner:
    return GitRunner(str(path), redactor=Redactor.for_remote(""), timeout=None)


def test_refs_are_read_as_git_reads_them(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    tip = _git("rev-parse", "HEAD", cwd=repo)
    _git("update-ref", "refs/memory-vault/shown", tip, cwd=repo)
    assert model.read_ref(str(repo), "refs/heads/main") == tip
    assert model.read_ref(str(repo), "HEAD") == tip  # symbolic, followed
    _git("pack-refs", "--all", cwd=repo)
    assert not (repo / ".git/refs/heads/main").exists()
    assert model.read_ref(str(repo), "refs/heads/main") == tip  # packed
    assert model.read_ref(str(repo), "refs/memory-vault/shown") == tip
    assert model.read_ref(str(repo), "refs/heads/other") is None
    assert model.read_ref(str(repo), "refs/heads") is None  # a folder of refs is no ref
    assert model.read_ref(str(tmp_path / "nowhere"), "refs/heads/main") is None
    bare = tmp_path / "bare.git"
    _git("clone", "-q", "--bare", str(repo), str(bare), cwd=tmp_path)
    assert model.read_ref(str(bare), "refs/heads/main") == tip


def test_a_clone_is_described_by_its_config_and_head(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _git("remote", "add", "origin", "/some/where.git", cwd=repo)
    _git("config", "memory-vault.tuning", "5", cwd=repo)
    _git("config", "memory-vault.sealed", "true", cwd=repo)
    facts = model.inspect_clone(_runner(repo), str(repo))
    assert facts.problem is None and not facts.bare
    assert facts.origin_url == "/some/where.git" and facts.head_ref == "refs/heads/main"
    assert facts.tuning == "5" and facts.sealed
    assert model.tuning_version(_runner(repo), str(repo)) == "5"
    _git("checkout", "-q", "--detach", cwd=repo)
    assert model.inspect_clone(_runner(repo), str(repo)).head_ref is None
    bare = tmp_path / "bare.git"
    _git("init", "-q", "--bare", str(bare), cwd=tmp_path)
    assert model.inspect_clone(_runner(bare), str(bare)).bare
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / ".git").write_text("garbage: not a repository\n")
    found = model.inspect_clone(_runner(garbage), str(garbage))
    assert found.problem == "it is not a git repository"
    (repo / ".git/config").write_text("[core\nbroken")
    broken = model.inspect_clone(_runner(repo), str(repo))
    assert broken.problem is not None and broken.problem.startswith("it cannot be read")
