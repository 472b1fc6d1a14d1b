"""Cron: one crontab line marked `# memory-vault`, put in place of any earlier one of ours."""

import shlex
import subprocess

from memory_vault.errors import VaultError
from memory_vault.results import command_name
from memory_vault.triggers.job import CRON_PATH, check_every, git_dir, job_command, search_path

MARK = "# memory-vault"


def cron_schedule(every: int) -> str:
    """`*/15 * * * *` for every 15 minutes; whole hours as `0 */H * * *`."""
    check_every(every)
    if every < 60:
        return "* * * * *" if every == 1 else f"*/{every} * * * *"
    hours = every // 60
    return {1: "0 * * * *", 24: "0 0 * * *"}.get(hours, f"0 */{hours} * * *")


def cron_line(every: int, env_file: str) -> str:
    text = " ".join(shlex.quote(part) for part in job_command(env_file)).replace("%", "\\%")
    if git_dir() not in CRON_PATH:  # cron's PATH is /usr/bin:/bin
        text = f"PATH={shlex.quote(search_path())} {text}"
    return f"{cron_schedule(every)} {text} {MARK}"


def _crontab(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["crontab", *args], input=stdin, capture_output=True, text=True,
                              check=False, timeout=30)
    except FileNotFoundError:
        raise VaultError("the crontab command is not installed (Debian/Ubuntu: apt install "
                         f"cron); add the line of `{command_name()} schedule show` to your "
                         "scheduler by hand") from None


def read_crontab() -> list[str]:
    result = _crontab(["-l"])
    if result.returncode != 0:
        if "no crontab" in result.stderr.lower():
            return []
        raise VaultError(f"crontab -l failed: {result.stderr.strip()}")
    return result.stdout.splitlines()


def _write_crontab(lines: list[str]) -> None:
    result = _crontab(["-"], "\n".join(lines) + "\n" if lines else "")
    if result.returncode != 0:
        raise VaultError(f"crontab could not be written: {result.stderr.strip()}")


def _ours(line: str) -> bool:
    return line.rstrip().endswith(MARK)


def install(line: str) -> bool:
    """Put `line` in the crontab in place of any earlier one; True when something changed."""
    current = read_crontab()
    wanted = [*[entry for entry in current if not _ours(entry)], line]
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


