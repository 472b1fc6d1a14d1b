"""schedule: exactly one crontab line, marked `# memory-vault`, with absolute paths."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from memory_vault import paths
from memory_vault.config import Config
from memory_vault.errors import EXIT_FAILED, EXIT_OK, UsageError, VaultError
from memory_vault.logfile import RunLog
from memory_vault.results import Done

MARK = "# memory-vault"
_CRON_PATH = ("/usr/bin", "/bin")


def cron_schedule(every: int) -> str:
    """`*/15 * * * *` for every 15 minutes; whole hours up to a day as `0 */H * * *`."""
    if 1 <= every <= 59:
        return "* * * * *" if every == 1 else f"*/{every} * * * *"
    if every % 60 == 0 and 60 <= every <= 1440 and 24 % (every // 60) == 0:
        hours = every // 60
        return "0 * * * *" if hours == 1 else ("0 0 * * *" if hours == 24
                                                else f"0 */{hours} * * *")
    raise UsageError(f"--every {every}: expected 1 to 59 minutes, or whole hours that divide "
                     "a day (60, 120, 180, 240, 360, 480, 720, 1440)")


def program_command() -> list[str]:
    """Absolute paths that run this same program from cron's bare environment."""
    argv0 = str(Path(sys.argv[0]).absolute()) if sys.argv and sys.argv[0] else ""
    if Path(argv0).name == "memory-vault" and os.access(argv0, os.X_OK):
        return [argv0]  # the console script: its shebang names the right interpreter
    if argv0.endswith("sync_memory_vault.py"):
        return [sys.executable, argv0]
    return [sys.executable, "-m", "memory_vault"]


def cron_line(every: int, env_file: str) -> str:
    command = [*program_command(), "--env-file", str(Path(env_file).absolute())]
    text = " ".join(shlex.quote(part) for part in command).replace("%", "\\%")
    git_dir = str(Path(shutil.which("git") or "/usr/bin/git").parent)
    if git_dir not in _CRON_PATH:  # cron's PATH is /usr/bin:/bin
        text = f"PATH={shlex.quote(git_dir)}:/usr/bin:/bin {text}"
    return f"{cron_schedule(every)} {text} {MARK}"


def read_crontab() -> list[str]:
    result = _crontab(["-l"])
    if result.returncode != 0:
        if "no crontab" in result.stderr.lower():
            return []
        raise VaultError(f"crontab -l failed: {result.stderr.strip()}")
    return result.stdout.splitlines()


def _write_crontab(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n" if lines else ""
    result = _crontab(["-"], text)
    if result.returncode != 0:
        raise VaultError(f"crontab could not be written: {result.stderr.strip()}")


def _crontab(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["crontab", *args], input=stdin, capture_output=True, text=True,
                              check=False, timeout=30)
    except FileNotFoundError:
        raise VaultError("the crontab command is not installed (Debian/Ubuntu: apt install "
                         "cron); add the line of `memory-vault schedule show` to your "
                         "scheduler by hand") from None


def _ours(line: str) -> bool:
    return line.rstrip().endswith(MARK)


def install(line: str) -> bool:
    """Put `line` in the crontab in place of any earlier one; True when something changed."""
    current = read_crontab()
    others = [entry for entry in current if not _ours(entry)]
    wanted = [*others, line]
    if wanted == current:
        return False
    _write_crontab(wanted)
    return True


def remove() -> bool:
    current = read_crontab()
    others = [entry for entry in current if not _ours(entry)]
    if others == current:
        return False
    _write_crontab(others)
    return True


def installed() -> str | None:
    ours = [entry for entry in read_crontab() if _ours(entry)]
    return ours[-1] if ours else None


def settings_file(config: Config, *, must_exist: bool = True) -> str:
    """The env file the scheduled line names: the one in use, else the one `init` writes."""
    path = config.env_file or paths.config_env_file(dict(os.environ))
    if must_exist and not Path(path).is_file():
        raise UsageError(f"no settings file at {path}: run `memory-vault init` first "
                         "(cron runs with a bare environment and needs one)")
    return path


def run_install(config: Config, log: RunLog, every: int) -> Done:
    line = cron_line(every, settings_file(config))
    changed = install(line)
    log.info(f"schedule: {'installed' if changed else 'unchanged'}: {line}")
    return Done(EXIT_OK, [("Installed" if changed else "Already installed") + ":", line])


def run_remove(config: Config, log: RunLog) -> Done:
    removed = remove()
    if removed:
        log.info("schedule: removed the memory-vault line")
    return Done(EXIT_OK, ["Removed the memory-vault line." if removed
                          else "There was no memory-vault line in the crontab."])


def run_show(config: Config, log: RunLog) -> Done:
    """The installed line; else the line `install` would write (exit 1: not installed)."""
    wanted = cron_line(15, settings_file(config, must_exist=False))
    try:
        line = installed()
    except VaultError as exc:
        log.warning(str(exc))
        return Done(EXIT_FAILED, [wanted])
    if line is None:
        return Done(EXIT_FAILED, ["No memory-vault line in the crontab; `memory-vault "
                                  "schedule install` adds this one:", wanted])
    return Done(EXIT_OK, [line])
