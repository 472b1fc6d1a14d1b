"""Job: the one command every scheduler runs, with absolute paths, cheap to start.

The interpreter, `-P -c` importing the entry point (pip's console-script wrapper imports
`re`, which costs more than a whole no-change run), or the checkout's script; then
`--env-file`. A scheduler's environment is bare: git's folder goes on its PATH.
"""

import shutil
import sys
from pathlib import Path

from memory_vault.errors import UsageError

EVERY = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440)
ENTRY = "from memory_vault.entry import run; run()"
CRON_PATH = ("/usr/bin", "/bin")


def check_every(every: int) -> int:
    """Intervals that divide the hour (or the day, in whole hours): `*/7` would leave a
    4-minute gap at every hour."""
    if every not in EVERY:
        raise UsageError(f"--every {every}: expected minutes that divide an hour "
                         f"({', '.join(map(str, EVERY[:11]))}) or whole hours that divide a "
                         "day (60, 120, 180, 240, 360, 480, 720, 1440)")
    return every


def program_command() -> list[str]:
    """Absolute paths that run this same program from a scheduler's bare environment."""
    import memory_vault

    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    script = Path(memory_vault.__file__).resolve().parent.parent / "sync_memory_vault.py"
    return choose_command(sys.executable, str(Path(argv0).absolute()) if argv0 else "",
                          str(script) if script.is_file() else None)


def choose_command(python: str, argv0: str, checkout_script: str | None) -> list[str]:
    """The checkout's script when we run from a checkout (it puts the package on the path);
    else the interpreter importing the entry point, with no console-script wrapper.

    >>> choose_command("/v/bin/python", "/v/bin/memory-vault", None)[1:3]
    ['-P', '-c']
    """
    if argv0.endswith("sync_memory_vault.py"):
        return [python, argv0]
    if checkout_script is not None:
        return [python, checkout_script]
    return [python, "-P", "-c", ENTRY]


def job_command(env_file: str) -> list[str]:
    return [*program_command(), "--env-file", str(Path(env_file).absolute())]


def git_dir() -> str:
    return str(Path(shutil.which("git") or "/usr/bin/git").parent)


def search_path() -> str:
    return ":".join(dict.fromkeys([git_dir(), *CRON_PATH]))


