"""The benchmark's shared machinery: an installation to sync, a command run as cron runs it,
medians, peak memory, disk usage, and the results every case adds to.

Cases and the report import this module; it imports none of them, so nothing in bench/
imports run.py and there is no cycle. Standard library plus the project's own constants.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "sync_memory_vault.py"
PEER = ROOT / "bench" / "peer_sync.sh"
MB = 1024 * 1024
sys.path.insert(0, str(ROOT))
from memory_vault.settings.schema import SEED_FILES  # noqa: E402, F401  (for the cases)

# wait4(2) reports a child's peak RSS from the memory of the process that forked it, so the
# measured command is started by this small launcher, not by the (large) benchmark itself.
LAUNCH = (
    "import os, subprocess, sys\n"
    "proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(proc.pid, 0)\n"
    "sys.stderr.write(f'TREE_PEAK_KB {usage.ru_maxrss}\\n')\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)
# Peak RSS of our own Python process: run the script in-process under this wrapper.
PY_PEAK = (
    "import resource, runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    "code = 0\n"
    "try:\n"
    "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
    "except SystemExit as exc:\n"
    "    code = exc.code if isinstance(exc.code, int) else 1\n"
    "sys.stderr.write(f'PEAK_KB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')\n"
    "sys.exit(code)\n"
)


@dataclass(frozen=True)
class Plan:
    """How big a run the command line asked for; each case derives its own repeats from it,
    so that the sizes of a case sit next to the case."""

    repeat: int  # the base number of timed runs of a case
    syncs: int  # successive syncs in the long case
    format_syncs: int  # syncs of the SQLite and JSON Lines cases
    fleet_rounds: int
    restic: bool  # restic is run beside us (only with --all)
    watch_idle_s: float = 120.0  # `watch` left alone (10 minutes with --all)
    watch_writer_s: float = 60.0  # a writer every 100 ms beside `watch`
    machine_scale: float = 1.0  # the machine case's share of its full size (5,000 files)


# -- running ---------------------------------------------------------------------------------

@dataclass
class Sample:
    seconds: float
    peak_kb: int
    code: int


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> Sample:
    """Run `cmd`, returning its wall time and exit code."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(f"warning: {' '.join(cmd)} exited {proc.returncode}: "
                         f"{proc.stderr.decode(errors='replace')[-400:]}\n")
    return Sample(elapsed, 0, proc.returncode)


def median(samples: list[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


def interleaved_ms(commands: dict[str, list[str]], setup: Setup,
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


@dataclass
class Peaks:
    tree_mb: float  # the largest process of the run: Python or one of its git children
    python_mb: float  # our Python process alone


def measure_peaks(args: list[str], env: dict[str, str], cwd: Path,
                  before_each: Callable[[], None] = lambda: None) -> Peaks:
    """Peak RSS of two runs of the program (the workload is re-made before each)."""
    before_each()
    tree = _peak_line([sys.executable, "-c", LAUNCH, sys.executable, str(SCRIPT), *args],
                      env, cwd, "TREE_PEAK_KB")
    before_each()
    own = _peak_line([sys.executable, "-c", LAUNCH, sys.executable, "-c", PY_PEAK,
                      str(SCRIPT), *args], env, cwd, "PEAK_KB")
    return Peaks(max(tree, own) / 1024, own / 1024)


def peer_peak_mb(peer: Peer) -> float:
    return _peak_line([sys.executable, "-c", LAUNCH, "/bin/sh", str(PEER), str(peer.source),
                       str(peer.clone)], peer.env, peer.clone, "TREE_PEAK_KB") / 1024


def _peak_line(cmd: list[str], env: dict[str, str], cwd: Path, key: str) -> int:
    result = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    for line in result.stderr.splitlines():
        if line.startswith(key + " "):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} from {cmd}: {result.stderr[-500:]}")


# -- installations ---------------------------------------------------------------------------

class Setup:
    """One isolated Memory Vault installation (embedded vault) in `base`."""

    def __init__(self, base: Path, **settings: str) -> None:
        self.base = base
        self.source = base / "agents"
        self.home = base / "home"
        for folder in (self.source, self.home):
            folder.mkdir(parents=True, exist_ok=True)
        self.env = clean_env(self.home)
        self.env.update(MEMORY_VAULT_SOURCE_DIR=str(self.source),
                        MEMORY_VAULT_LOG_FILE=str(base / "sync.log"),
                        MEMORY_VAULT_ERR_FILE=str(base / "sync.err"), **settings)

    @property
    def data(self) -> Path:
        return self.home / ".local/share/memory-vault"

    def sync(self, *args: str) -> Sample:
        return run([sys.executable, str(SCRIPT), *args], self.env, self.home)


class Peer:
    """Baseline B's world: a bare remote and a clone of it, synced by peer_sync.sh."""

    def __init__(self, base: Path) -> None:
        self.source = base / "agents"
        self.remote = base / "remote.git"
        self.clone = base / "clone"
        self.source.mkdir(parents=True)
        self.env = clean_env(base)
        self.env.update(GIT_AUTHOR_NAME="peer", GIT_AUTHOR_EMAIL="peer@localhost",
                        GIT_COMMITTER_NAME="peer", GIT_COMMITTER_EMAIL="peer@localhost")
        git("init", "-q", "--bare", "--initial-branch=main", str(self.remote))
        git("clone", "-q", str(self.remote), str(self.clone))

    def sync(self) -> Sample:
        return run(["/bin/sh", str(PEER), str(self.source), str(self.clone)], self.env,
                   self.clone)


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEMORY_VAULT_", "XDG_", "GIT_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # cron runs with cached bytecode
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", LC_ALL="C.UTF-8")
    return env


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout


# -- disk ------------------------------------------------------------------------------------

def disk_bytes(path: Path) -> int:
    """Bytes on disk (allocated blocks) under `path`."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


def loose_objects(git_dir: Path) -> int:
    objects = git_dir / "objects"
    return sum(1 for d in objects.iterdir() if len(d.name) == 2 and d.is_dir()
               for _ in d.iterdir()) if objects.is_dir() else 0


def fully_packed_mb(vault_git: Path, sha: str, scratch: Path) -> float:
    """Size of the history up to `sha` in one pack, as `git gc` would make it from scratch
    (git repack -a -d -F: every delta recomputed and every object recompressed, with git's
    default window, depth and compression)."""
    git("init", "-q", "--bare", str(scratch))
    git("fetch", "-q", "--no-tags", str(vault_git), f"{sha}:refs/heads/main", cwd=scratch)
    git("repack", "-a", "-d", "-F", "-q", "--no-write-bitmap-index", cwd=scratch)
    git("prune-packed", cwd=scratch)
    size = disk_bytes(scratch / "objects")
    shutil.rmtree(scratch)
    return size / MB


# -- results ---------------------------------------------------------------------------------

def _no_limits(name: str, values: dict[str, object]) -> dict[str, object]:
    return {}


@dataclass
class Results:
    """Every case's figures by case name, and the machine they were measured on.

    `limits` adds to a case the limits it is held to (bench/targets.py's, handed in by
    run.py), so that results.json carries them without a case writing a limit itself.
    """

    machine: dict[str, str] = field(default_factory=dict)
    cases: dict[str, dict[str, object]] = field(default_factory=dict)
    limits: Callable[[str, dict[str, object]], dict[str, object]] = _no_limits

    def add(self, name: str, **values: object) -> None:
        self.cases[name] = {**values, **self.limits(name, values)}
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in self.cases[name].items()
                          if k != "series")
        print(f"  {name}: {shown}", flush=True)


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def machine() -> dict[str, str]:
    """What the figures were measured on, for the report."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": str(os.cpu_count()), "python": platform.python_version(),
        "git": git("--version").strip(), "kernel": platform.release(),
        "restic": (subprocess.run(["restic", "version"], capture_output=True, text=True,
                                  check=False).stdout.split(" compiled")[0]
                   if shutil.which("restic") else "not installed"),
    }
