"""The 10k case: 10,000 small tracked files, a run with no change and one with one change."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from harness import Plan, Results, Setup, measure_peaks, median
from workloads import age


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    repeat = max(3, plan.repeat // 3)
    setup = Setup(tmp / "10k")
    for i in range(10_000):
        (setup.source / f"agent{i:05d}_memories.json").write_text(
            json.dumps({"agent": i, "facts": [f"fact {i}"]}))
    age(setup.source)
    first = setup.sync()
    assert first.code == 0
    no_change = [setup.sync() for _ in range(repeat)]
    one_change = []
    for i in range(repeat):
        changed = setup.source / f"agent{i * 7:05d}_memories.json"
        changed.write_text(json.dumps({"agent": i, "facts": [f"fact {i}", f"new {time.time()}"]}))
        os.utime(changed, (time.time() - 60, time.time() - 60))
        one_change.append(setup.sync())
    counter = iter(range(10**6))

    def change_one() -> None:
        n = next(counter)
        (setup.source / f"agent{n:05d}_memories.json").write_text(json.dumps({"n": n}))

    peaks = measure_peaks([], setup.env, setup.home, before_each=change_one)
    results.add("tracked_10000_files", first_sync_s=first.seconds,
                no_change_s=median(no_change), one_change_s=median(one_change),
                peak_mb=peaks.tree_mb, python_peak_mb=peaks.python_mb)
