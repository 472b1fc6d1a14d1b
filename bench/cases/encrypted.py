"""The encrypted case: an encrypted remote (MEMORY_VAULT_ENCRYPT=age) beside a plain one, on
the same history, in the same run.

1. N syncs of a 5 MB JSON file, ~1% of its records changed each time, into two bare remotes,
   one plain and one encrypted: each remote as a host keeps it (its reachable objects in one
   pack, `git gc`), the encrypted one also as uploaded in all; the time of a sync, as cron
   runs it, encrypted against plain; restic beside them when it is installed.
2. A year of 15-minute syncs of the seed's files (the year case's history, built with git
   fast-import) in an encrypted remote: all but its last days pushed at once, as when a
   vault is switched to encryption, then each sync of the last 36 days (--all; 3.6 days
   otherwise) pushed by the program's own push: the encrypted remote against the plain
   history fully packed. Run with the year (--year, --all).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import MB, SCRIPT, Plan, Results, Setup, disk_bytes, fully_packed_mb, git
from harness import run as run_command
from workloads import Memory

YEAR = 35_040


def _identity(folder: Path) -> Path:
    from pyrage import x25519

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "identity.txt"
    path.write_text(f"{x25519.Identity.generate()}\n")
    path.chmod(0o600)
    return path


def _installation(base: Path, encrypted: bool) -> tuple[Setup, Path]:
    remote = base / "remote.git"
    base.mkdir(parents=True)
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    settings = {"MEMORY_VAULT_REMOTE": str(remote), "MEMORY_VAULT_FILES": "memory.json"}
    if encrypted:
        settings.update(MEMORY_VAULT_ENCRYPT="age",
                        MEMORY_VAULT_IDENTITY=str(_identity(base / "keys")))
    return Setup(base, **settings), remote


def _restic_mb(tmp: Path, paths: list[Path]) -> float | None:
    """restic's repository after backing up the same versions (None: not installed)."""
    if not shutil.which("restic"):
        return None
    env = {**os.environ, "RESTIC_PASSWORD": "bench", "RESTIC_REPOSITORY": str(tmp / "restic")}
    subprocess.run(["restic", "init", "--quiet"], env=env, check=True, capture_output=True)
    for path in paths:
        subprocess.run(["restic", "backup", "--quiet", str(path)], env=env, check=True,
                       capture_output=True)
    return disk_bytes(tmp / "restic") / MB


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    syncs = 100 if plan.syncs >= 50 else plan.syncs
    plain, plain_remote = _installation(tmp / "enc-plain", encrypted=False)
    sealed, sealed_remote = _installation(tmp / "enc-sealed", encrypted=True)
    memory = Memory(5 * MB, random.Random(4))
    versions = tmp / "enc-versions"
    versions.mkdir()
    times: dict[str, list[float]] = {"plain": [], "sealed": []}
    kept = []
    for i in range(syncs):
        memory.evolve()
        memory.write(plain.source / "memory.json", sealed.source / "memory.json")
        for setup in (plain, sealed):
            past = time.time() - 120
            os.utime(setup.source / "memory.json", (past, past))
        order = [("plain", plain), ("sealed", sealed)]
        for name, setup in order if i % 2 == 0 else order[::-1]:
            sample = run_command([sys.executable, str(SCRIPT)], setup.env, setup.home)
            if sample.code != 0:
                raise RuntimeError(f"the {name} sync {i + 1} exited {sample.code}")
            times[name].append(sample.seconds)
        if i < 100:
            kept.append(versions / f"{i:03d}" / "memory.json")
            kept[-1].parent.mkdir()
            shutil.copyfile(plain.source / "memory.json", kept[-1])
    plain_mb = fully_packed_mb(plain_remote, git("rev-parse", "main", cwd=plain_remote).strip(),
                               tmp / "enc-plain-packed")
    sealed_mb = fully_packed_mb(sealed_remote,
                                git("rev-parse", "main", cwd=sealed_remote).strip(),
                                tmp / "enc-sealed-packed")
    restic_mb = _restic_mb(tmp, kept)
    sync_plain, sync_sealed = statistics.median(times["plain"]), statistics.median(times["sealed"])
    results.add(f"encrypted_{syncs}_syncs_of_5_MB", syncs=syncs,
                plain_mb=plain_mb, encrypted_mb=sealed_mb, ratio=sealed_mb / plain_mb,
                encrypted_links=len(git("rev-list", "main", cwd=sealed_remote).split()),
                encrypted_raw_disk_mb=disk_bytes(sealed_remote) / MB,
                plain_raw_disk_mb=disk_bytes(plain_remote) / MB,
                sync_plain_s=sync_plain, sync_encrypted_s=sync_sealed,
                change_ratio=sync_sealed / sync_plain, restic_mb=restic_mb,
                restic_vs_plain=(restic_mb / plain_mb) if restic_mb else None)


def measure_year(tmp: Path, results: Results, plan: Plan) -> None:
    """A year's history in an encrypted remote: all but its last `syncs` commits pushed at
    once (a vault switched to encryption), then each of those pushed by its own sync. Every
    push is the program's own (`Vault.remote.push`, in process): 35,040 cron runs would take
    hours, and the remote's chain after the last of them is what a year of syncs leaves."""
    from cases.year import build_history

    syncs = YEAR // 10 if plan.format_syncs >= 100 else YEAR // 100  # --all: 36 days
    history = tmp / "enc-year-plain.git"
    build_history(history, YEAR)
    setup, remote = _installation(tmp / "enc-year", encrypted=True)
    commits = git("rev-list", "--reverse", "main", cwd=history).split()
    from memory_vault.logfile import RunLog
    from memory_vault.settings.load import load_config
    from memory_vault.store.crypt.chain import load_chain
    from memory_vault.store.vault import Vault

    config = load_config(environ=setup.env, cwd=str(setup.home), search_env_file=False)
    vault = Vault(config, RunLog(str(setup.base / "log"), str(setup.base / "err")))
    vault.prepare()
    vault.repo.git.run("fetch", "-q", str(history), "main:refs/year")
    uploaded, times = 0, []
    for commit in [commits[-syncs - 1], *commits[-syncs:]]:
        started = time.perf_counter()
        vault.repo.git.run("update-ref", "refs/heads/main", commit)
        vault.remote.push()
        times.append(time.perf_counter() - started)
        uploaded += load_chain(vault.repo.git_dir).links[-1].size
    plain_mb = fully_packed_mb(history, commits[-1], tmp / "enc-year-plain-packed")
    sealed_mb = fully_packed_mb(remote, git("rev-parse", "main", cwd=remote).strip(),
                                tmp / "enc-year-sealed-packed")
    results.add("encrypted_a_year_of_the_seed_files", commits=len(commits), synced=syncs,
                plain_mb=plain_mb, encrypted_mb=sealed_mb, ratio=sealed_mb / plain_mb,
                encrypted_links=len(git("rev-list", "main", cwd=remote).split()),
                uploaded_by_the_syncs_mb=(uploaded - load_chain(vault.repo.git_dir)
                                          .links[0].size) / MB,
                push_median_s=statistics.median(times[1:]))

