"""The no_change case: a cron run that finds nothing to do (8 seed files), against
`python3 -c pass`, with the installed cron line, git processes, imports and peak memory."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

from harness import (
    SCRIPT,
    SEED_FILES,
    Plan,
    Results,
    Setup,
    installed_commands,
    interleaved_ms,
    measure_peaks,
    run,
)
from workloads import Memory, age


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    repeat = plan.repeat * 10
    rng = random.Random(1)
    setup = Setup(tmp / "seed")
    for name in SEED_FILES:
        Memory(20_000, rng).write(setup.source / name)
    age(setup.source)
    assert setup.sync().code == 0
    cron, console = installed_commands(setup)
    commands = {"baseline": [sys.executable, "-c", "pass"],
                "ours": [sys.executable, str(SCRIPT)]}
    if cron is not None:
        commands.update(cron=cron, console=console)
    ms = interleaved_ms(commands, setup, repeat)
    instructions = {name: _instructions(command, setup) for name, command in commands.items()
                    if name in ("baseline", "cron", "console")}
    git_calls = _git_started(setup)
    imported = _imports(setup)
    peaks = measure_peaks([], setup.env, setup.home)
    cron_ms, console_ms = ms.get("cron"), ms.get("console")
    results.add("no_change_8_seed_files",
                baseline_a_ms=ms["baseline"], ours_ms=ms["ours"],
                ratio=ms["ours"] / ms["baseline"], runs_each=repeat,
                cron_line=" ".join(cron) if cron else None, cron_line_ms=cron_ms,
                cron_line_ratio=cron_ms / ms["baseline"] if cron_ms else None,
                console_script_ms=console_ms,
                console_script_ratio=console_ms / ms["baseline"] if console_ms else None,
                cron_line_instructions_ratio=_ratio(instructions, "cron"),
                console_script_instructions_ratio=_ratio(instructions, "console"),
                git_processes=git_calls, gitpython_imported="git" in imported,
                click_imported="click" in imported, peak_mb=peaks.tree_mb,
                python_peak_mb=peaks.python_mb)


def _ratio(instructions: dict[str, int | None], name: str) -> float | None:
    counted, baseline = instructions.get(name), instructions.get("baseline")
    return counted / baseline if counted and baseline else None


def _instructions(command: list[str], setup: Setup) -> int | None:
    """Instructions one run executes, counted by callgrind: unlike time, the same figure
    whatever else the machine is doing (None without valgrind)."""
    if shutil.which("valgrind") is None:
        return None
    out = setup.base / "callgrind.out"
    result = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                             *command], env=setup.env, cwd=setup.home, capture_output=True,
                            text=True, check=False)
    found = [line.split()[-1] for line in result.stderr.splitlines() if "Collected" in line]
    return int(found[-1].replace(",", "")) if found else None


def _git_started(setup: Setup) -> int:
    """Run once with a `git` on PATH that counts its calls before running the real one."""
    trip = setup.base / "tripwire"
    trip.mkdir(exist_ok=True)
    real = shutil.which("git") or "/usr/bin/git"
    (trip / "git").write_text(f'#!/bin/sh\necho x >> "{trip}/calls"\nexec "{real}" "$@"\n')
    (trip / "git").chmod(0o755)
    env = {**setup.env, "PATH": f"{trip}:{setup.env['PATH']}"}
    run([sys.executable, str(SCRIPT)], env, setup.home)
    calls = trip / "calls"
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def _imports(setup: Setup) -> set[str]:
    """The modules a no-change run imports (GitPython and click must not be among them)."""
    out = subprocess.run([sys.executable, "-X", "importtime", str(SCRIPT)], env=setup.env,
                         cwd=setup.home, capture_output=True, text=True, check=False).stderr
    return {line.rsplit("|", 1)[-1].strip() for line in out.splitlines() if "|" in line}
