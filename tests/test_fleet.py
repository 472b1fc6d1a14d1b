"""A fleet on one vault: machines with their own data folders and source dirs back up into one
remote served by `git daemon`, all at once, each under its own subdir. Every version of every
machine reaches the remote, no run fails because of another's push, each machine restores
its own files. (`bench/run.py --only fleet` runs 8 machines for 50 rounds.)"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pyrage import x25519
from servers import GitDaemon

from conftest import SCRIPT, assert_fsck_clean, base_env, git

MACHINES = 4
ROUNDS = 5


def _machine(tmp: Path, n: int, url: str) -> tuple[Path, dict[str, str]]:
    home, source = tmp / f"m{n}" / "home", tmp / f"m{n}" / "agents"
    home.mkdir(parents=True)
    source.mkdir(parents=True)
    env = base_env(home)
    env.update(MEMORY_VAULT_SOURCE_DIR=str(source), MEMORY_VAULT_REMOTE=url,
               MEMORY_VAULT_SUBDIR=f"rAgentShared/machine{n}",
               MEMORY_VAULT_LOG_FILE=str(tmp / f"m{n}" / "log"),
               MEMORY_VAULT_ERR_FILE=str(tmp / f"m{n}" / "err"),
               MEMORY_VAULT_GIT_TIMEOUT="30")
    return source, env


def _encrypt(tmp: Path, machines: list[tuple[Path, dict[str, str]]]) -> None:
    """Each machine its own age identity, every other machine's public key a recipient."""
    keys = [x25519.Identity.generate() for _ in machines]
    for n, (_source, env) in enumerate(machines):
        path = tmp / f"m{n}" / "identity.txt"
        path.write_text(f"{keys[n]}\n")
        path.chmod(0o600)
        env.update(MEMORY_VAULT_ENCRYPT="age", MEMORY_VAULT_IDENTITY=str(path),
                   MEMORY_VAULT_RECIPIENTS=",".join(str(k.to_public()) for i, k in
                                                    enumerate(keys) if i != n))


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_machines_sharing_one_vault_lose_nothing(tmp_path: Path, encrypted: bool) -> None:
    served = tmp_path / "served"
    served.mkdir()
    remote = served / "vault.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    with GitDaemon(served) as daemon:
        machines = [_machine(tmp_path, n, daemon.url("vault.git")) for n in range(MACHINES)]
        if encrypted:
            _encrypt(tmp_path, machines)
        written: dict[int, set[str]] = {n: set() for n in range(MACHINES)}
        codes: list[int] = []
        for round_ in range(ROUNDS):
            for n, (source, _env) in enumerate(machines):
                data = json.dumps({"machine": n, "round": round_}).encode()
                (source / "memory.json").write_bytes(data)
                written[n].add(hashlib.sha256(data).hexdigest())
            procs = [subprocess.Popen([sys.executable, str(SCRIPT), "--now"], env=env,
                                      cwd=source, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True)
                     for source, env in machines]
            codes += [proc.wait(timeout=120) for proc in procs]
        catch_up = 0
        while any(_pending(env) for _source, env in machines) and catch_up < 5:
            catch_up += 1
            for source, env in machines:
                subprocess.run([sys.executable, str(SCRIPT)], env=env, cwd=source,
                               capture_output=True, check=False)
        restored = []
        for n, (source, env) in enumerate(machines):
            out = tmp_path / f"restored{n}"
            result = subprocess.run([sys.executable, str(SCRIPT), "restore", "--to", str(out)],
                                    env=env, cwd=source, capture_output=True, text=True,
                                    check=False)
            assert result.returncode == 0, result.stderr
            restored.append(sorted(p.name for p in out.iterdir()))
    assert 1 not in codes and set(codes) <= {0, 3}, codes
    assert catch_up <= 2
    # The plain history the remote holds: as is, or as machine 0's restore decrypted it.
    plain = (tmp_path / "m0/home/.local/share/memory-vault/clone/.git", "origin/main") if (
        encrypted) else (remote, "main")
    if encrypted:
        assert git(f"--git-dir={remote}", "ls-tree", "--name-only", "main").split() == [
            "bundle.age"]
    for n in range(MACHINES):
        versions = _versions(*plain, f"rAgentShared/machine{n}/memory.json")
        assert versions == written[n], n  # every version of every machine, nothing else
    assert restored == [["memory.json"]] * MACHINES  # each machine its own files only
    assert_fsck_clean(remote)


def _pending(env: dict[str, str]) -> bool:
    result = subprocess.run([sys.executable, str(SCRIPT), "status", "--json"], env=env,
                            capture_output=True, text=True, check=False)
    return bool(json.loads(result.stdout)["pending_push"])


def _versions(remote: Path, branch: str, path: str) -> set[str]:
    shas = git(f"--git-dir={remote}", "log", "--format=%H", branch, "--", path).split()
    return {hashlib.sha256(subprocess.run(["git", f"--git-dir={remote}", "show", f"{s}:{path}"],
                                          capture_output=True, check=True).stdout).hexdigest()
            for s in shas}
