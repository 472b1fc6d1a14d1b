"""The syncs case: N successive syncs of a 5 MB JSON file, ~1% of its records changed each
time: the vault's size against a fully packed copy (and restic), loose objects, time a sync.

The long run drives syncs from one Python process (`memory_vault.entry.main`, exactly what the
script runs) so 1,000 syncs fit the benchmark's time budget; the last SUBPROCESS_TAIL syncs
run as cron runs them, as separate processes, for an honest time per sync.
"""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import MB, ROOT, Plan, Results, Setup, fully_packed_mb

SUBPROCESS_TAIL = 10
# Where the history is also packed from scratch for reference (in between: interpolated).
CHECKPOINTS = (1, 2, 5, 10, 25, 50, 100, 250)
RESTIC_SYNCS = 100  # restic backs up the first 100 syncs only: beyond, it is minutes a run
# The driver imports the harness and the workloads from bench/, as the cases do.
DRIVER = """
import json, os, random, subprocess, sys, time
from pathlib import Path
bench_dir, root = sys.argv[1], sys.argv[2]
syncs, tail, restic_syncs = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sys.path[:0] = [bench_dir, root]
from harness import MB, SCRIPT, disk_bytes, loose_objects
from workloads import Memory
from memory_vault.entry import main
memory = Memory(5 * MB, random.Random(4))
source = os.environ["MEMORY_VAULT_SOURCE_DIR"]
path = os.path.join(source, "memory.json")
data = os.path.join(os.environ["HOME"], ".local/share/memory-vault")
vault_git, clone_git = os.path.join(data, "vault.git"), os.path.join(data, "clone", ".git")
for i in range(1, syncs + 1):
    memory.evolve()
    memory.write(Path(path))
    started = time.perf_counter()
    if i > syncs - tail:
        code = subprocess.run([sys.executable, str(SCRIPT)], check=False).returncode
    else:
        code = main([])
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"sync {i} exited {code}")
    ours = disk_bytes(Path(vault_git)) + disk_bytes(Path(clone_git))
    loose = loose_objects(Path(vault_git)) + loose_objects(Path(clone_git))
    restic_s = restic_mb = None
    if i <= restic_syncs:
        t = time.perf_counter()
        subprocess.run(["restic", "backup", "--quiet", path], check=True, capture_output=True)
        restic_s = time.perf_counter() - t
        restic_mb = disk_bytes(Path(os.environ["RESTIC_REPOSITORY"])) / MB
    print(json.dumps({"sync": i, "seconds": seconds, "subprocess": i > syncs - tail,
                      "ours_mb": ours / MB, "loose": loose, "restic_s": restic_s,
                      "restic_mb": restic_mb,
                      "commit": subprocess.run(["git", "rev-parse", "main"], cwd=vault_git,
                                               capture_output=True, text=True).stdout.strip()}),
          flush=True)
"""


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    syncs = plan.syncs
    restic_syncs = min(RESTIC_SYNCS, syncs) if plan.restic else 0
    setup = Setup(tmp / "many", MEMORY_VAULT_FILES="memory.json")
    restic_repo = tmp / "restic-repo"
    env = {**setup.env, "RESTIC_PASSWORD": "bench", "RESTIC_REPOSITORY": str(restic_repo)}
    if restic_syncs:
        subprocess.run(["restic", "init", "--quiet"], env=env, check=True, capture_output=True)
    vault_git = setup.data / "vault.git"
    started = time.perf_counter()
    series = _drive(setup, env, syncs, restic_syncs)
    checkpoints = sorted({c for c in (*CHECKPOINTS, restic_syncs, syncs) if 0 < c <= syncs})
    loop_s = time.perf_counter() - started
    started = time.perf_counter()
    packed = {i: fully_packed_mb(vault_git, series[i - 1]["commit"], tmp / f"ref{i}")
              for i in checkpoints}
    ratios = {i: series[i - 1]["ours_mb"] / packed[i] for i in packed}
    worst_any = max(s["ours_mb"] / _interpolate(packed, s["sync"]) for s in series)
    in_process = [s["seconds"] for s in series if not s["subprocess"]]
    as_cron = [s["seconds"] for s in series if s["subprocess"]]
    final = series[-1]
    values: dict[str, object] = {
        "syncs": syncs, "file_mb": (setup.source / "memory.json").stat().st_size / MB,
        "ours_final_mb": final["ours_mb"], "fully_packed_final_mb": packed[syncs],
        "worst_ratio_at_checkpoints": max(ratios.values()),
        "worst_ratio_any_sync_interpolated": worst_any,
        "max_loose_objects": max(s["loose"] for s in series),
        "sync_in_process_median_s": statistics.median(in_process) if in_process else None,
        "sync_in_process_p90_s": (sorted(in_process)[int(len(in_process) * 0.9) - 1]
                                  if in_process else None),
        "sync_in_process_max_s": max(in_process) if in_process else None,
        "sync_as_cron_median_s": statistics.median(as_cron),
        "sync_loop_s": loop_s, "reference_packing_s": time.perf_counter() - started,
        "checkpoints": {i: {"ours_mb": round(series[i - 1]["ours_mb"], 3),
                            "packed_mb": round(packed[i], 3), "ratio": round(ratios[i], 3)}
                        for i in packed},
        "series": [{k: s[k] for k in ("sync", "seconds", "ours_mb", "loose")} for s in series],
    }
    if restic_syncs:
        at = series[restic_syncs - 1]
        values.update(restic_syncs=restic_syncs, restic_mb=at["restic_mb"],
                      ours_mb_at_restic_syncs=at["ours_mb"],
                      restic_vs_ours=at["restic_mb"] / at["ours_mb"],
                      restic_backup_median_s=statistics.median(
                          s["restic_s"] for s in series[:restic_syncs]))
    results.add(f"{syncs}_syncs_of_5_MB_1pct_changes", **values)


def _drive(setup: Setup, env: dict[str, str], syncs: int,
           restic_syncs: int) -> list[dict[str, Any]]:
    """Run the driver, one JSON line a sync, showing progress every 100 syncs."""
    tail = min(SUBPROCESS_TAIL, syncs)
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(ROOT / "bench"), str(ROOT), str(syncs), str(tail),
         str(restic_syncs)],
        env=env, cwd=setup.home, stdout=subprocess.PIPE, text=True)
    assert driver.stdout is not None
    series = []
    for line in driver.stdout:
        point = json.loads(line)
        series.append(point)
        if point["sync"] % 100 == 0:
            print(f"    {point['sync']} syncs, vault {point['ours_mb']:.1f} MB", flush=True)
    if driver.wait() != 0:
        raise RuntimeError("the sync driver failed")
    return series


def _interpolate(packed: dict[int, float], sync: int) -> float:
    points = sorted(packed.items())
    for (a, pa), (b, pb) in itertools.pairwise(points):
        if a <= sync <= b:
            return pa + (pb - pa) * (sync - a) / (b - a)
    return points[-1][1]
