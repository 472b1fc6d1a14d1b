"""The 100mb case: one JSON memory file of 100 MB, its first sync, a change, peak memory."""

from __future__ import annotations

import random
from pathlib import Path

from harness import MB, Plan, Results, Setup, measure_peaks, median
from workloads import Memory

REPEAT = 3  # a sync of 100 MB takes seconds: three are enough, whatever the run's size


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    rng = random.Random(3)
    setup = Setup(tmp / "100mb", MEMORY_VAULT_MAX_FILE_MB="200", MEMORY_VAULT_FILES="memory.json")
    memory = Memory(100 * MB, rng)
    path = setup.source / "memory.json"
    memory.write(path)
    size_mb = path.stat().st_size / MB
    first = setup.sync()
    assert first.code == 0

    def change_it() -> None:
        memory.evolve()
        memory.write(path)

    changes = []
    for _ in range(REPEAT):
        change_it()
        changes.append(setup.sync())
    peaks = measure_peaks([], setup.env, setup.home, before_each=change_it)
    results.add("one_file_of_100_MB", file_mb=size_mb, first_sync_s=first.seconds,
                change_s=median(changes), peak_mb=peaks.tree_mb,
                python_peak_mb=peaks.python_mb)
