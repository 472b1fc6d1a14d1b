"""The diff case: `diff` of two 5 MB JSON Lines versions and `history FILE` over 50 of them,
as a person runs them (the first history run reads every version; later ones use the cache)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from harness import MB, SCRIPT, Plan, Results, Setup, median, run
from workloads import Graph, age

VERSIONS = 51  # 50 changes behind the newest version: what `history --limit 50` reads


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    setup = Setup(tmp / "diff", MEMORY_VAULT_FILES="memory.jsonl")
    graph = Graph(setup.source / "memory.jsonl", 5 * MB, random.Random(21))
    for i in range(VERSIONS):
        if i:
            graph.evolve()
        graph.write()
        age(setup.source)
        if setup.sync().code != 0:
            raise RuntimeError("a sync of the diff case failed")
    cli = [sys.executable, str(SCRIPT)]
    history = [*cli, "history", "memory.jsonl", "--limit", "50"]
    diffs = [run([*cli, "diff", "memory.jsonl", "--from", "main~1", "--to", "main"],
                 setup.env, setup.source) for _ in range(5)]
    cache = setup.home / ".cache/memory-vault/records.cache"
    cold = []
    for _ in range(3):
        cache.unlink(missing_ok=True)
        cold.append(run(history, setup.env, setup.source))
    warm = [run(history, setup.env, setup.source) for _ in range(5)]
    results.add("diff_and_history_5_MB_jsonl", file_mb=graph.path.stat().st_size / MB,
                diff_s=median(diffs), history_50_cold_s=median(cold),
                history_50_warm_s=median(warm))
