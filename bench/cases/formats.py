"""The sqlite and jsonl cases: N syncs, as cron runs them, of a 10 MB SQLite database or a
5 MB JSON Lines graph with ~1% changed each time: vault size against a fully packed copy and
restic, time a sync, peak memory."""

from __future__ import annotations

import random
import statistics
import subprocess
from pathlib import Path

from harness import (
    MB,
    Plan,
    Results,
    Sample,
    Setup,
    disk_bytes,
    fully_packed_mb,
    git,
    measure_peaks,
)
from workloads import Database, Graph, age

CHECKPOINTS = (1, 10, 50, 100)  # where the vault's size is recorded


def measure_sqlite(tmp: Path, results: Results, plan: Plan) -> None:
    _measure(tmp, results, "sqlite", plan)


def measure_jsonl(tmp: Path, results: Results, plan: Plan) -> None:
    _measure(tmp, results, "jsonl", plan)


def _measure(tmp: Path, results: Results, kind: str, plan: Plan) -> None:
    syncs = plan.format_syncs
    restic_syncs = syncs if plan.restic else 0
    name, size = ("agent.db", 10 * MB) if kind == "sqlite" else ("memory.jsonl", 5 * MB)
    setup = Setup(tmp / kind, MEMORY_VAULT_FILES=name)
    path = setup.source / name
    rng = random.Random(11)
    store: Database | Graph = Database(path, size, rng) if kind == "sqlite" else Graph(
        path, size, rng)

    def change() -> None:
        store.evolve()
        if isinstance(store, Graph):
            store.write()
        age(setup.source)

    if isinstance(store, Graph):
        store.write()
    restic_env = {**setup.env, "RESTIC_PASSWORD": "bench",
                  "RESTIC_REPOSITORY": str(tmp / f"restic-{kind}")}
    if restic_syncs:
        subprocess.run(["restic", "init", "--quiet"], env=restic_env, check=True,
                       capture_output=True)
    vault_git, clone_git = setup.data / "vault.git", setup.data / "clone" / ".git"
    seconds, ours, restic = [], {}, 0.0
    for i in range(1, syncs + 1):
        if i > 1:
            change()
        sample = _sync(setup, kind, i)
        seconds.append(sample.seconds)
        if i in CHECKPOINTS or i == syncs:
            ours[i] = (disk_bytes(vault_git) + disk_bytes(clone_git)) / MB
        if i <= restic_syncs:
            subprocess.run(["restic", "backup", "--quiet", str(path)], env=restic_env,
                           check=True, capture_output=True)
            restic = disk_bytes(tmp / f"restic-{kind}") / MB
    tip = git("rev-parse", "main", cwd=vault_git).strip()
    packed = fully_packed_mb(vault_git, tip, tmp / f"ref-{kind}")
    peaks = measure_peaks([], setup.env, setup.home, before_each=change)
    values: dict[str, object] = {
        "syncs": syncs, "file_mb": path.stat().st_size / MB,
        "sync_median_s": statistics.median(seconds[1:]), "first_sync_s": seconds[0],
        "ours_final_mb": ours[syncs], "fully_packed_final_mb": packed,
        "ratio_vs_packed": ours[syncs] / packed, "ours_by_sync": ours,
        "peak_mb": peaks.tree_mb, "python_peak_mb": peaks.python_mb,
    }
    if restic_syncs:
        values.update(restic_syncs=restic_syncs, restic_mb=restic,
                      ours_mb_at_restic_syncs=ours.get(restic_syncs, ours[syncs]))
    results.add(f"{syncs}_syncs_of_{kind}", **values)


def _sync(setup: Setup, kind: str, i: int) -> Sample:
    sample = setup.sync()
    if sample.code != 0:
        raise RuntimeError(f"{kind} sync {i} exited {sample.code}")
    return sample
