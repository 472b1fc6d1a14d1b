"""The watch case: `memory-vault watch` as a real process against a local bare remote.

- latency: a writer writes a file a few times and stops; the time until the remote's branch
  holds its last version (committed and pushed), 20 times;
- idle: the process left alone (10 minutes with --all), its CPU time (every thread, from
  /proc) and its memory;
- a writer that rewrites a file every 100 ms for a minute: when commits reach the remote, and
  whether every version committed is one the writer wrote.

Linux only (it reads /proc); elsewhere the case says so and adds nothing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness import SCRIPT, Plan, Results, Setup, git

LATENCY_ROUNDS = 20
POLL = 0.01  # how often the remote's branch is looked at
WRITER = """
import json, sys, time
path, count, every, record = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
with open(record, "w") as log:
    for n in range(count):
        body = json.dumps({"version": n, "facts": ["fact %d" % i for i in range(n % 40)]})
        with open(path, "w") as out:
            out.write(body)
        log.write(body + "\\n")
        log.flush()
        time.sleep(every)
"""


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    if not Path("/proc/self/stat").exists():
        print("  watch: skipped (needs Linux's /proc)")
        return
    idle_s, writer_s = plan.watch_idle_s, plan.watch_writer_s
    remote = tmp / "watch-remote.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(remote))
    setup = Setup(tmp / "watch", MEMORY_VAULT_REMOTE=str(remote))
    target = setup.source / "memory.json"
    target.write_text('{"version": "first"}')
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "watch"], env=setup.env,
                            cwd=setup.home, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=(tmp / "watch.err").open("w"))
    try:
        _wait(lambda: _tip(remote) is not None, 60)
        latencies = [_latency(setup, remote, round_) for round_ in range(LATENCY_ROUNDS)]
        time.sleep(3)  # the last sync's child has ended; the watcher alone remains
        cpu_s, rss_mb, peak_mb = _idle(proc.pid, idle_s)
        burst = _steady_writer(setup, remote, writer_s)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    latencies.sort()
    results.add("watch_a_local_remote",
                latency_median_s=latencies[len(latencies) // 2], latency_max_s=latencies[-1],
                latency_rounds=len(latencies), idle_s=idle_s,
                idle_cpu_percent=100 * cpu_s / idle_s, idle_rss_mb=rss_mb,
                idle_peak_mb=peak_mb, stopped_with=code, **burst)


def _tip(remote: Path) -> str | None:
    """The remote's branch, read from its files (no process started per look)."""
    loose = remote / "refs/heads/main"
    try:
        return loose.read_text().strip()
    except FileNotFoundError:
        pass
    try:
        packed = (remote / "packed-refs").read_text()
    except FileNotFoundError:
        return None
    return next((line.split()[0] for line in packed.splitlines()
                 if line.endswith(" refs/heads/main")), None)


def _wait(check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not (callable(check) and check()):
        if time.monotonic() > deadline:
            raise RuntimeError("watch: the remote did not get the change in time")
        time.sleep(POLL)


def _shown(remote: Path, commit: str) -> str:
    return git(f"--git-dir={remote}", "show", f"{commit}:rAgentShared/memory.json")


def _latency(setup: Setup, remote: Path, round_: int) -> float:
    """Seconds from the writer's last write to its version on the remote."""
    time.sleep(1.5)  # a quiet start: the last round's sync is over
    target = setup.source / "memory.json"
    last = ""
    for n in range(3):
        last = json.dumps({"round": round_, "write": n})
        target.write_text(last)
        time.sleep(0.05)
    stopped = time.monotonic() - 0.05
    seen = _tip(remote)
    deadline = stopped + 60
    while time.monotonic() < deadline:
        tip = _tip(remote)
        if tip != seen:
            seen = tip
            if tip and _shown(remote, tip) == last:
                return time.monotonic() - stopped
        time.sleep(POLL)
    raise RuntimeError("watch: the remote did not get the change in a minute")


def _cpu_seconds(pid: int) -> float:
    """CPU time of every thread of `pid` (schedstat: nanoseconds)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def _status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _idle(pid: int, seconds: float) -> tuple[float, float, float]:
    """(CPU seconds, resident MB, peak MB) of the watcher left alone for `seconds`."""
    before = _cpu_seconds(pid)
    time.sleep(seconds)
    return (_cpu_seconds(pid) - before, _status_mb(pid, "VmRSS"), _status_mb(pid, "VmHWM"))


def _steady_writer(setup: Setup, remote: Path, seconds: float) -> dict[str, object]:
    """A writer every 100 ms for `seconds`: when commits arrived, and what they hold."""
    record = setup.base / "written.txt"
    first = _tip(remote)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(setup.source / "memory.json"),
                               str(int(seconds * 10)), "0.1", str(record)])
    arrivals: list[float] = []
    seen = first
    started = time.monotonic()
    while writer.poll() is None:
        tip = _tip(remote)
        if tip != seen:
            arrivals.append(time.monotonic() - started)
            seen = tip
        time.sleep(POLL)
    writing_s = time.monotonic() - started
    written = set(record.read_text().splitlines())
    _wait(lambda: _tip(remote) is not None and _shown(remote, _tip(remote) or "") in written,
          30)
    commits = git(f"--git-dir={remote}", "rev-list", f"{first}..main").split()
    versions = [_shown(remote, commit) for commit in commits]
    gaps = [b - a for a, b in zip([0.0, *arrivals], arrivals, strict=False)]
    return {"writer_s": round(writing_s, 1), "writer_writes": len(written),
            "writer_commits": len(commits), "writer_commits_while_writing": len(arrivals),
            "writer_gap_min_s": min(gaps) if gaps else None,
            "writer_gap_max_s": max(gaps) if gaps else None,
            "writer_versions_all_written": all(v in written for v in versions)}

