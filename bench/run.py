#!/usr/bin/env python3
"""Memory Vault benchmark: what a cron run costs, against what a user would run instead.

    python bench/run.py              # the everyday run: every case but the year, smaller
    python bench/run.py --quick      # a smoke run: fewer repeats, 30 syncs

Standard library plus the project's own dependencies. Builds all its data in a temporary
folder, runs every case several times, quotes medians, and measures every ratio against
baselines taken in the same run:

- baseline A: `python3 -c pass` (interpreter start-up), same interpreter;
- baseline B: `bench/peer_sync.sh` (cp into a clone, git add, commit if changed, push).

Peak memory ("peak_mb") is the largest resident set of any process of the run (Python or a git
it starts), read with wait4(2) by a small launcher so the benchmark's own size does not leak
in; "python_peak_mb" is our Python process alone. Timed runs are separate from measured ones.
Results: a table on stdout and bench/out/results.json.

This module only reads the command line and runs the cases in order: the machinery is in
harness.py and workloads.py, each case in cases/, the targets in targets.py, the written
report in report.py. Nothing imports this module.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import targets
from cases import (
    change,
    diff_history,
    encrypted,
    file_100mb,
    fleet,
    formats,
    no_change,
    store,
    syncs,
    tracked_10k,
    watch,
    whole_machine,
    year,
)
from harness import ROOT, Plan, Results, machine

# Every case, in the order it runs (and results.json and the table list it).
CASES: dict[str, Callable[[Path, Results, Plan], None]] = {
    "no_change": no_change.measure,
    "change": change.measure,
    "10k": tracked_10k.measure,
    "100mb": file_100mb.measure,
    "diff": diff_history.measure,
    "sqlite": formats.measure_sqlite,
    "jsonl": formats.measure_jsonl,
    "syncs": syncs.measure,
    "fleet": fleet.measure,
    "store": store.measure,
    "watch": watch.measure,
    "encrypted": encrypted.measure,
    "machine": whole_machine.measure,
    "year": year.measure,
    "encrypted_year": encrypted.measure_year,
}
YEARS = ("year", "encrypted_year")
EVERYDAY = [name for name in CASES if name not in YEARS]  # the years: --year or --all


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and syncs")
    parser.add_argument("--all", action="store_true",
                        help="every case at full size, the year and the fleet included, and "
                             "write bench/RESULTS.md and the README's cost table (about 40 "
                             "minutes)")
    parser.add_argument("--year", action="store_true", help="add a year of history (35,040 "
                                                          "syncs; about 10 minutes)")
    parser.add_argument("--syncs", type=int, help="successive syncs in the long case")
    parser.add_argument("--machine-scale", type=float,
                        help="the machine case's share of its full size (5,000 files, 1.5 GB; "
                             "the default: 1 with --all, 0.1, 0.02 with --quick)")
    parser.add_argument("--no-restic", action="store_true",
                        help="skip restic even with --all (the only mode that runs it)")
    parser.add_argument("--only", help=f"comma-separated case names ({', '.join(CASES)})")
    return parser.parse_args()


def plan_of(args: argparse.Namespace) -> Plan:
    """The sizes the flags ask for; each case derives its repeats from them."""
    return Plan(repeat=5 if args.quick else 15 if args.all else 9,
                syncs=args.syncs or (1000 if args.all else 30 if args.quick else 50),
                format_syncs=100 if args.all else 10,
                fleet_rounds=50 if args.all else 4,
                restic=args.all and bool(shutil.which("restic")) and not args.no_restic,
                watch_idle_s=600.0 if args.all else 30.0 if args.quick else 120.0,
                watch_writer_s=20.0 if args.quick else 60.0,
                machine_scale=args.machine_scale or (1.0 if args.all else 0.02 if args.quick
                                                     else 0.1))


def chosen(args: argparse.Namespace) -> set[str]:
    only = set(args.only.split(",")) if args.only else set(EVERYDAY)
    if args.year or args.all:
        only.update(YEARS)
    return only


def run_cases(only: set[str], results: Results, plan: Plan) -> None:
    """Each chosen case in order, all in one temporary folder removed at the end."""
    with tempfile.TemporaryDirectory(prefix="memory-vault-bench-") as scratch:
        for name, measure in CASES.items():
            if name in only:
                print(f"{name}...", flush=True)
                started = time.perf_counter()
                measure(Path(scratch), results, plan)
                print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)


def main() -> int:
    args = arguments()
    plan, only = plan_of(args), chosen(args)
    # Cron runs the program from its cached bytecode: compiled once, before anything is timed.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "memory_vault")],
                   check=True, env={k: v for k, v in os.environ.items()
                                    if k != "PYTHONDONTWRITEBYTECODE"})
    results = Results(machine=machine(), limits=targets.limits)
    print("machine: " + ", ".join(f"{k} {v}" for k, v in results.machine.items()), flush=True)
    started = time.perf_counter()
    run_cases(only, results, plan)
    elapsed = time.perf_counter() - started
    results.machine["benchmark_seconds"] = f"{elapsed:.0f}"
    results.machine["date"] = time.strftime("%Y-%m-%d")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(
        {"machine": results.machine, "cases": results.cases}, indent=1))
    print()
    print(targets.table(results.cases))
    if args.all:
        import report

        report.write(results, "python bench/run.py --all", elapsed)
        print("wrote bench/RESULTS.md and the README's cost table")
    print(f"\nwhole benchmark: {elapsed:.0f} s; details in {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
