"""The no_change case: a cron run that finds nothing to do (8 seed files), against
`python3 -c pass`, with the installed cron line, git processes, imports and peak memory."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

from harness import SCRIPT, SEED_FILES, Plan, Results, Sample, Setup, measure_peaks, median, run
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
    ms = _interleaved_ms(commands, setup, repeat)
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


def _interleaved_ms(commands: dict[str, list[str]], setup: Setup,
                    repeat: int) -> dict[str, float]:
    """Median milliseconds of each command.

    A run costs a few milliseconds, so the machine's drift is as large as what is measured:
    every command runs once per round, in turn, and each round starts with another one."""
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    names = list(commands)
    for i in range(repeat):
        for name in names[i % len(names):] + names[:i % len(names)]:
            samples[name].append(run(commands[name], setup.env, setup.home))
    return {name: median(found) * 1000 for name, found in samples.items()}


def installed_commands(setup: Setup) -> tuple[list[str] | None, list[str]]:
    """The command of the cron line `schedule install` writes for the installed program
    (asked of the installed program itself), and `memory-vault`, the command a person
    types (into a crontab too)."""
    import shlex

    console = Path(sys.executable).parent / "memory-vault"
    if not console.exists():
        return None, []
    out = subprocess.run([str(console), "schedule", "show", "--with", "cron"], env=setup.env,
                         cwd=setup.home, capture_output=True, text=True, check=False).stdout
    line = next(x for x in out.splitlines() if x.endswith("# memory-vault"))
    words = shlex.split(line.split(" ", 5)[5].rsplit(" # memory-vault", 1)[0])
    words = [w for w in words if not w.startswith("PATH=")] if words[0].startswith("PATH=") \
        else words
    env_at = words.index("--env-file")
    return words[:env_at], [str(console)]


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
