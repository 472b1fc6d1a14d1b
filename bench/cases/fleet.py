"""The fleet case: eight machines back up into one remote served by git daemon, all at
once, round after round: every version must reach the remote and no run may fail."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import ROOT, SCRIPT, Plan, Results, Setup, git, run
from workloads import age

MACHINES = 8


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    machines, rounds = MACHINES, plan.fleet_rounds
    sys.path.insert(0, str(ROOT / "tests"))
    from servers import GitDaemon

    served = tmp / "fleet-served"
    served.mkdir()
    git("init", "-q", "--bare", "--initial-branch=main", str(served / "vault.git"))
    with GitDaemon(served) as daemon:
        setups = []
        for n in range(machines):
            setup = Setup(tmp / f"fleet{n}", MEMORY_VAULT_REMOTE=daemon.url("vault.git"),
                          MEMORY_VAULT_SUBDIR=f"rAgentShared/machine{n}",
                          MEMORY_VAULT_FILES="memory.json")
            setups.append(setup)
        round_s, codes = [], []
        for r in range(rounds):
            for n, setup in enumerate(setups):
                (setup.source / "memory.json").write_text(json.dumps({"m": n, "round": r}))
                age(setup.source)
            started = time.perf_counter()
            procs = [subprocess.Popen([sys.executable, str(SCRIPT), "--now"], env=s.env,
                                      cwd=s.home, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for s in setups]
            codes += [p.wait() for p in procs]
            round_s.append(time.perf_counter() - started)
        extra_runs = 0
        while extra_runs < 10 and any(_pending(s) for s in setups):
            extra_runs += 1
            for s in setups:
                run([sys.executable, str(SCRIPT)], s.env, s.home)
        remote = served / "vault.git"
        versions = len(git("rev-list", "main", cwd=remote).split())
    results.add("fleet_8_machines_50_rounds", machines=machines, rounds=rounds,
                round_median_s=statistics.median(round_s),
                partial_runs=sum(c == 3 for c in codes), failed_runs=sum(c == 1 for c in codes),
                catch_up_runs=extra_runs, commits_on_remote=versions,
                expected_commits=machines * rounds)


def _pending(setup: Setup) -> bool:
    out = subprocess.run([sys.executable, str(SCRIPT), "status", "--json"], env=setup.env,
                         cwd=setup.home, capture_output=True, text=True, check=False).stdout
    return bool(json.loads(out)["pending_push"])
