"""The year case: every everyday operation on a vault of 100 syncs and on one of a year.

A year is 35,040 syncs (one every 15 minutes): built with `git fast-import` under a fake
clock, 8 memory files of which one or two change at each sync, then used through the real
program exactly as a user would.
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
from collections.abc import Callable
from pathlib import Path

from harness import (
    MB,
    SCRIPT,
    SEED_FILES,
    Plan,
    Results,
    Sample,
    Setup,
    disk_bytes,
    fully_packed_mb,
    git,
)
from harness import run as run_command  # History.run is the program run on a vault
from workloads import age

YEAR = 35_040
QUARTER_HOUR = 900
FILE_RECORDS = 120


def build_history(remote: Path, commits: int) -> dict[str, list[str]]:
    """A bare repository holding the last `commits` of a year of sync commits, 15 minutes
    apart, ending now; returns the files' final records (one JSON object per record).

    Every size of history is cut from the same year: the files evolve through all its
    syncs whatever `commits` is, and only the last `commits` are written (the first of
    them holding every file). So a vault of 100 commits and one of 35,040 end with the same
    files, and the operations timed on both differ only by the history behind them (the
    files of a year have grown by what their agents learned, about 15 times the first day).
    """
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    rng = random.Random(YEAR)
    files = {name: [json.dumps({"id": i, "fact": f"{name} fact {i} {rng.random():.9f}"})
                    for i in range(FILE_RECORDS)] for name in SEED_FILES}
    first_written = YEAR - commits
    start = int(time.time()) - commits * QUARTER_HOUR
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=remote,
                            stdin=subprocess.PIPE)
    assert proc.stdin is not None
    out = proc.stdin
    for i in range(YEAR):
        changed = list(files) if i == 0 else rng.sample(list(files), rng.choice((1, 1, 2)))
        for name in changed if i else ():
            records = files[name]
            k = rng.randrange(len(records))
            records[k] = json.dumps({"id": k, "fact": f"revised {rng.random():.9f}"})
            if rng.random() < 0.3:
                records.append(json.dumps({"id": len(records), "fact": "learned"}))
        if i < first_written:
            continue
        if i == first_written:
            changed = list(files)
        when = start + (i - first_written) * QUARTER_HOUR
        message = f"Memory vault sync {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(when))}"
        out.write(f"commit refs/heads/main\ncommitter Memory Vault <mv@bench> {when} +0000\n"
                  f"data {len(message)}\n{message}\n".encode())
        for name in changed:
            data = ("\n".join(files[name]) + "\n").encode()
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


class History:
    """A vault with `commits` syncs behind it and a user whose clone was made from it."""

    def __init__(self, tmp: Path, commits: int) -> None:
        self.tmp, self.commits = tmp, commits
        self.remote = tmp / f"hist{commits}.git"
        started = time.perf_counter()
        files = build_history(self.remote, commits)
        self.build_s = time.perf_counter() - started
        self.setup = Setup(tmp / f"user{commits}", MEMORY_VAULT_REMOTE=str(self.remote))
        for name, records in files.items():
            (self.setup.source / name).write_text("\n".join(records) + "\n")
        age(self.setup.source)
        first = run_command([sys.executable, str(SCRIPT)], self.setup.env, self.setup.home)
        self.first_sync_s = first.seconds  # a new machine: clone, then compare every file
        self.clone_bytes = disk_bytes(self.setup.data / "clone" / ".git")

    def run(self, *args: str) -> Sample:
        sample = run_command([sys.executable, str(SCRIPT), *args], self.setup.env,
                             self.setup.home)
        if sample.code not in (0, 3):
            raise RuntimeError(f"{args} exited {sample.code} on {self.commits} commits")
        return sample

    def change_run(self, i: int) -> Sample:
        """One file changed, as an agent does between two cron runs, then a sync."""
        path = self.setup.source / "memory.json"
        path.write_text(path.read_text() + json.dumps({"id": 10_000 + i}) + "\n")
        past = time.time() - 120
        os.utime(path, (past, past))
        return self.run()

    def middle(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ",
                             time.gmtime(time.time() - self.commits * QUARTER_HOUR / 2))

    def new_machine_restore(self) -> float:
        fresh = Setup(self.tmp / f"newmachine{self.commits}",
                      MEMORY_VAULT_REMOTE=str(self.remote))
        return run_command([sys.executable, str(SCRIPT), "restore", "--to",
                            str(self.tmp / f"nm{self.commits}")], fresh.env, fresh.home).seconds


def _interleaved(small: History, year: History, repeat: int,
                 action: Callable[[History, int], Sample]) -> tuple[float, float]:
    """Medians of `action` on both vaults, taken in turn (the order swapped each round) so
    that whatever else the machine does weighs on both alike."""
    times: dict[int, list[float]] = {small.commits: [], year.commits: []}
    for i in range(repeat):
        for history in (small, year) if i % 2 == 0 else (year, small):
            times[history.commits].append(action(history, i).seconds)
    return statistics.median(times[small.commits]), statistics.median(times[year.commits])


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    """Every everyday operation on a vault of 100 syncs and on one of a year, whose files
    end the same: what the history alone costs."""
    small, year = History(tmp, 100), History(tmp, YEAR)
    # The builds and clones leave tens of MB to write back; flushed now, so that the fsyncs
    # of the runs timed below do not pay for them (a machine a year in is quiet).
    os.sync()
    values: dict[str, dict[str, object]] = {
        "small": {"commits": small.commits, "build_s": small.build_s,
                  "first_sync_s": small.first_sync_s},
        "year": {"commits": year.commits, "build_s": year.build_s,
                 "first_sync_s": year.first_sync_s},
    }
    ops: list[tuple[str, int, Callable[[History, int], Sample]]] = [
        ("no_change_s", 15, lambda h, _i: h.run()),
        ("change_s", 9, lambda h, i: h.change_run(i)),
        ("status_s", 5, lambda h, _i: h.run("status")),
        ("history_20_s", 5, lambda h, _i: h.run("history", "--limit", "20")),
        ("history_file_s", 3, lambda h, _i: h.run("history", "memory.json", "--limit", "50")),
        ("restore_at_middle_s", 5, lambda h, i: h.run(
            "restore", "--at", h.middle(), "--to", str(h.tmp / f"restored{h.commits}-{i}"))),
        ("verify_s", 3, lambda h, _i: h.run("verify")),
    ]
    for key, repeat, action in ops:
        values["small"][key], values["year"][key] = _interleaved(small, year, repeat, action)
    for history, where in ((small, "small"), (year, "year")):
        clone = history.setup.data / "clone"
        values[where].update(
            verify_parts=_verify_parts(history.setup),
            git_fsck_s=_git_fsck_seconds(clone),
            new_machine_restore_s=history.new_machine_restore(),
            clone_mb=history.clone_bytes / MB,
            remote_mb=disk_bytes(history.remote) / MB,
            fully_packed_mb=fully_packed_mb(
                history.remote, git("rev-parse", "main", cwd=history.remote).strip(),
                tmp / f"packed{history.commits}"))
        shutil.rmtree(history.remote)
    ratios = {key: float(values["year"][key]) / float(values["small"][key])  # type: ignore[arg-type]
              for key in ("no_change_s", "change_s")}
    results.add("a_year_of_history", small=values["small"], year=values["year"],
                no_change_ratio=ratios["no_change_s"], change_ratio=ratios["change_s"])


def _verify_parts(setup: Setup) -> int:
    """Into how many parts `verify` cut the content (1: it read all of it), as it says."""
    out = subprocess.run([sys.executable, str(SCRIPT), "verify"], env=setup.env,
                         cwd=setup.home, capture_output=True, text=True, check=False).stdout
    import re

    fsck = next(line for line in out.splitlines() if line.split()[1:2] == ["fsck"])
    part = re.search(r"content, \d+ of (\d+) \(", fsck)
    return int(part.group(1)) if part else 1


def _git_fsck_seconds(clone: Path) -> float:
    """A full `git fsck` of the clone: what verify would cost unbounded."""
    started = time.perf_counter()
    subprocess.run(["git", "fsck", "--no-progress", "--no-dangling"], cwd=clone,
                   capture_output=True, check=True)
    return time.perf_counter() - started
