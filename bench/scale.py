"""Benchmark cases at scale: a year of history, and a fleet of machines on one vault.

Imported by bench/run.py (which owns the measuring helpers). A year is 35,040 syncs (one
every 15 minutes): built with `git fast-import` under a fake clock, 8 memory files of which
one or two change at each sync, then used through the real program exactly as a user would.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import run as bench
from run import MB, SCRIPT, SEED_FILES, Results, Setup, age, disk_bytes, git, median

YEAR = 35_040
QUARTER_HOUR = 900
FILE_RECORDS = 120


def build_history(remote: Path, commits: int, rng: random.Random) -> dict[str, list[str]]:
    """A bare repository holding `commits` sync commits 15 minutes apart, ending now; returns
    the files' final records (one JSON object per record)."""
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    files = {name: [json.dumps({"id": i, "fact": f"{name} fact {i} {rng.random():.9f}"})
                    for i in range(FILE_RECORDS)] for name in SEED_FILES}
    start = int(time.time()) - commits * QUARTER_HOUR
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=remote,
                            stdin=subprocess.PIPE)
    assert proc.stdin is not None
    out = proc.stdin
    for i in range(commits):
        changed = list(files) if i == 0 else rng.sample(list(files), rng.choice((1, 1, 2)))
        when = start + i * QUARTER_HOUR
        message = f"Memory vault sync {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(when))}"
        out.write(f"commit refs/heads/main\ncommitter Memory Vault <mv@bench> {when} +0000\n"
                  f"data {len(message)}\n{message}\n".encode())
        for name in changed:
            records = files[name]
            if i:
                k = rng.randrange(len(records))
                records[k] = json.dumps({"id": k, "fact": f"revised {rng.random():.9f}"})
                if rng.random() < 0.3:
                    records.append(json.dumps({"id": len(records), "fact": "learned"}))
            data = ("\n".join(records) + "\n").encode()
            out.write(f"M 100644 inline rAgentShared/{name}\ndata {len(data)}\n".encode())
            out.write(data + b"\n")
    out.write(b"done\n")
    out.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    # Packed as a vault that kept itself compact would be (fast-import stores each version
    # whole): a full delta search once, then every case measures the program on it.
    git("repack", "-a", "-d", "-f", "-q", cwd=remote)
    return files


def _timed(setup: Setup, *args: str, repeat: int = 3, cwd: Path | None = None) -> float:
    samples = [bench.run([sys.executable, str(SCRIPT), *args], setup.env, cwd or setup.source)
               for _ in range(repeat)]
    bad = [s.code for s in samples if s.code not in (0, 3)]
    if bad:
        raise RuntimeError(f"{args} exited {bad}")
    return median(samples)


def measure_history(tmp: Path, commits: int) -> dict[str, object]:
    """Everyday operations on a vault with `commits` syncs behind it."""
    rng = random.Random(commits)
    remote = tmp / f"hist{commits}.git"
    started = time.perf_counter()
    files = build_history(remote, commits, rng)
    build_s = time.perf_counter() - started
    setup = Setup(tmp / f"user{commits}", MEMORY_VAULT_REMOTE=str(remote))
    for name, records in files.items():
        (setup.source / name).write_text("\n".join(records) + "\n")
    age(setup.source)
    first = bench.run([sys.executable, str(SCRIPT)], setup.env, setup.home)  # a new machine
    clone_bytes = disk_bytes(setup.data / "clone" / ".git")
    # The build and the clone leave tens of MB to write back; flushed now, so that the
    # fsyncs of the runs timed below do not pay for them (a machine a year in is quiet).
    os.sync()
    no_change = _timed(setup, repeat=9)
    changes = []
    for i in range(3):
        path = setup.source / "memory.json"
        path.write_text(path.read_text() + json.dumps({"id": 10_000 + i}) + "\n")
        age(setup.source)
        changes.append(bench.run([sys.executable, str(SCRIPT)], setup.env, setup.home))
    middle = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                           time.gmtime(time.time() - commits * QUARTER_HOUR / 2))
    restore_dir = tmp / f"restored{commits}"
    fresh = Setup(tmp / f"newmachine{commits}", MEMORY_VAULT_REMOTE=str(remote))
    new_machine = bench.run([sys.executable, str(SCRIPT), "restore", "--to",
                             str(tmp / f"nm{commits}")], fresh.env, fresh.home)
    packed = bench.fully_packed_mb(remote, git("rev-parse", "main", cwd=remote).strip(),
                                   tmp / f"packed{commits}")
    values: dict[str, object] = {
        "commits": commits, "build_s": build_s, "first_sync_s": first.seconds,
        "no_change_s": no_change, "change_s": median(changes),
        "status_s": _timed(setup, "status"),
        "history_20_s": _timed(setup, "history", "--limit", "20"),
        "history_file_s": _timed(setup, "history", "memory.json", "--limit", "50", repeat=1),
        "restore_at_middle_s": _timed(setup, "restore", "--at", middle, "--to",
                                      str(restore_dir)),
        "verify_s": _timed(setup, "verify", repeat=1),
        "new_machine_restore_s": new_machine.seconds,
        "clone_mb": clone_bytes / MB,
        "remote_mb": disk_bytes(remote) / MB, "fully_packed_mb": packed,
    }
    shutil.rmtree(remote)
    return values


def case_year(tmp: Path, results: Results) -> None:
    small = measure_history(tmp, 100)
    year = measure_history(tmp, YEAR)
    ratios = {key: float(year[key]) / float(small[key])  # type: ignore[arg-type]
              for key in ("no_change_s", "change_s") if float(small[key]) > 0}  # type: ignore[arg-type]
    results.add("a_year_of_history", small=small, year=year,
                no_change_ratio=ratios["no_change_s"], change_ratio=ratios["change_s"])


def case_fleet(tmp: Path, results: Results, machines: int = 8, rounds: int = 50) -> None:
    """Eight machines back up into one remote served by git daemon, all at once."""
    sys.path.insert(0, str(bench.ROOT / "tests"))
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
                bench.run([sys.executable, str(SCRIPT)], s.env, s.home)
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
